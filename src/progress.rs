//! Progress for long steps: an indicatif bar when stderr is a terminal, nothing otherwise
//! (callers then print a plain line now and then, which is what scheduled runs log); and the
//! process's peak memory, which `-v` logs after each step of a build; and, in a binary built
//! with the `ablation` feature (benchmarks only, `bench/ablation.sh`), a switch that leaves a
//! stage of the build out, to measure what the others cost.

use std::io::IsTerminal as _;

/// A bar with `template` (indicatif syntax) over `total` units, or `None` off a terminal.
pub(crate) fn bar(template: &str, total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    Some(bar)
}

/// This process's peak resident set (`VmHWM` in `/proc/self/status`), in KiB, where `/proc`
/// has it.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A stage of `build` that a benchmark may leave out ([`left_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Parsing: every input is still read, hashed and copied into the package.
    Parse,
    /// The spill: records are parsed and built, then dropped instead of stored and merged.
    Spill,
}

/// Whether `stage` is left out: `DORA_EVIDENCE_ABLATION=noparse|nospill`, read once, in a
/// binary built with the `ablation` feature. Such a build writes a package of missing
/// evidence (which never improves a finding) and says so in a warning.
#[cfg(feature = "ablation")]
pub(crate) fn left_out(stage: Stage) -> bool {
    static LEFT_OUT: std::sync::OnceLock<Option<Stage>> = std::sync::OnceLock::new();
    let left = LEFT_OUT.get_or_init(|| {
        let stage = match std::env::var("DORA_EVIDENCE_ABLATION").as_deref() {
            Ok("noparse") => Some(Stage::Parse),
            Ok("nospill") => Some(Stage::Spill),
            _ => None,
        };
        if let Some(s) = stage {
            tracing::warn!("benchmark ablation: {s:?} left out; this package is not evidence");
        }
        stage
    });
    *left == Some(stage)
}

/// Whether `stage` is left out: never, without the `ablation` feature.
#[cfg(not(feature = "ablation"))]
pub(crate) const fn left_out(_stage: Stage) -> bool {
    false
}
