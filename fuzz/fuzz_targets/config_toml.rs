//! Fuzz target: `Config::parse` (dora-evidence.toml); errors must name a line inside the text.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err((Some(line), _)) = dora_evidence::config::Config::parse(text)
    {
        assert!(line >= 1 && line <= text.lines().count().max(1) + 1, "line {line} outside the text");
    }
});
