//! Progress for long steps: an indicatif bar when stderr is a terminal, nothing otherwise
//! (callers then print a plain line now and then, which is what scheduled runs log).

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
