//! Fuzz target: `Schedule::parse` and `cadence` (AWS cron/rate expressions with a time zone):
//! any text gives a schedule or an error, never a panic, and a cadence over a quarter whose
//! longest gap is positive.
#![no_main]

use dora_evidence::schedule::Schedule;
use dora_evidence::time::Timestamp;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (expr, zone) = text.split_once('\n').map_or((text, None), |(e, z)| (e, Some(z)));
    if let Ok(s) = Schedule::parse(expr, zone) {
        // 2026-Q3.
        let c = s.cadence(Timestamp(1_782_864_000_000), Timestamp(1_790_812_800_000));
        assert!(c.longest_gap_ms.is_none_or(|g| g > 0), "{expr:?}: gap {c:?}");
    }
});
