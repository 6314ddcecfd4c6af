//! Progress for long steps: an indicatif bar when stderr is a terminal, nothing otherwise
//! (callers then print a plain line now and then, which is what scheduled runs log); and the
//! process's peak memory, which `-v` logs after each step of a build.

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
