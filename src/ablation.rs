//! A switch for benchmarks only (`bench/ablation.sh`): in a binary built with the `ablation`
//! feature, `DORA_EVIDENCE_ABLATION=noparse|nospill` leaves one stage of `build` out, so the
//! others can be timed without it. Without the feature [`left_out`] is a `const fn` that says
//! no, and release and image builds carry no trace of the switch.
//!
//! A build with a stage left out writes a package with evidence missing, which can only turn
//! checks into `no_data`, never into a pass; it says in a warning that it is not evidence.

/// A stage of `build` that a benchmark may leave out ([`left_out`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Parsing: every input is still read, hashed and copied into the package.
    Parse,
    /// The spill: records are parsed and built, then dropped instead of stored and merged.
    Spill,
}

/// Whether `stage` is left out, as `DORA_EVIDENCE_ABLATION` says (read once). A value it does
/// not know leaves nothing out and says so, so a misspelt mode is not timed as a full build
/// unnoticed.
#[cfg(feature = "ablation")]
pub(crate) fn left_out(stage: Stage) -> bool {
    static LEFT_OUT: std::sync::OnceLock<Option<Stage>> = std::sync::OnceLock::new();
    let left = LEFT_OUT.get_or_init(|| {
        let value = std::env::var("DORA_EVIDENCE_ABLATION").unwrap_or_default();
        let stage = match value.as_str() {
            "noparse" => Some(Stage::Parse),
            "nospill" => Some(Stage::Spill),
            "" => None,
            other => {
                tracing::warn!("DORA_EVIDENCE_ABLATION={other:?} is not noparse or nospill; nothing left out");
                None
            }
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
