//! `diff` subcommand: what changed between two packages, as text or as the JSON of
//! [`Changes`] (the `changes.json` that `build --previous` writes).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::compare::{self, Changes, DeltaUnit, Direction, ExceptionItem, MetricDelta};

/// Items named per list (new, resolved, persisting) in the text output.
const SHOWN: usize = 5;

/// Arguments of `dora-evidence diff`.
#[derive(Debug, Args)]
#[command(after_help = "Exit codes: 0 compared; 2 usage or input error: a package fails verification \
    (hash checks as `verify` makes them, signatures when present, trust with --ca), cannot be read, \
    or OLD's period is not before NEW's.")]
pub(super) struct DiffArgs {
    /// The earlier package: a folder or s3://bucket/prefix/…/<package-id>/.
    #[arg(value_name = "OLD")]
    old: String,
    /// The later package.
    #[arg(value_name = "NEW")]
    new: String,
    /// Print the JSON of the comparison (as `changes.json`).
    #[arg(long)]
    json: bool,
    /// Trust anchor(s), PEM: both signers must chain to one (default: signatures are checked
    /// when present, their signer is not).
    #[arg(long, value_name = "FILE")]
    ca: Vec<PathBuf>,
    /// Path-style S3 addressing (automatic when AWS_ENDPOINT_URL[_S3] is set).
    #[arg(long)]
    path_style: bool,
}

/// Runs `diff`.
pub(super) fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let anchors = super::verify::anchors(&args.ca)?;
    let (old_dir, new_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let old = compare::load_verified(&args.old, anchors.clone(), args.path_style, old_dir.path())?;
    let new = compare::load_verified(&args.new, anchors, args.path_style, new_dir.path())?;
    let changes = compare::compare(&old, &new)?;
    if args.json {
        print!("{}", String::from_utf8_lossy(&changes.to_bytes()));
    } else {
        print!("{}", to_text(&changes));
    }
    Ok(ExitCode::SUCCESS)
}

/// The comparison for a reader: status changes, then metric deltas, then exceptions.
pub(crate) fn to_text(c: &Changes) -> String {
    let mut out = format!(
        "changes from {} ({}) to {} ({})\n",
        c.previous.period, c.previous.package_id, c.current.period, c.current.package_id
    );
    requirements_text(c, &mut out);
    metrics_text(c, &mut out);
    let moved: Vec<_> = c.checks.iter().filter(|x| x.direction != Direction::Unchanged).collect();
    let _ = writeln!(out, "\nchecks: {} changed, {} unchanged", moved.len(), c.checks.len() - moved.len());
    for x in moved {
        let _ = writeln!(
            out,
            "  {:<9} {:<28} {} → {}",
            x.direction.as_str(),
            x.id.as_str(),
            x.old.as_str(),
            x.new.as_str()
        );
    }
    let _ = writeln!(out, "\nexceptions (new / resolved / persisting):");
    if c.exceptions.is_empty() {
        out.push_str("  none in either package\n");
    }
    for e in &c.exceptions {
        let _ = writeln!(
            out,
            "  {} ({}): {} new, {} resolved, {} persisting",
            e.id.as_str(),
            e.title,
            e.new.len(),
            e.resolved.len(),
            e.persisting.len()
        );
        for (label, items) in [("new", &e.new), ("resolved", &e.resolved), ("persisting", &e.persisting)] {
            if !items.is_empty() {
                let _ = writeln!(out, "    {label}: {}", first_few(items));
            }
        }
    }
    out
}

fn requirements_text(c: &Changes, out: &mut String) {
    let count = |d: Direction| c.requirements.iter().filter(|r| r.direction == d).count();
    let _ = writeln!(
        out,
        "\nrequirement status: {} worsened, {} improved, {} changed, {} unchanged",
        count(Direction::Worsened),
        count(Direction::Improved),
        count(Direction::Changed),
        count(Direction::Unchanged)
    );
    for r in c.moved() {
        let _ = writeln!(
            out,
            "  {:<9} {:<10} {:<24} {} → {}",
            r.direction.as_str(),
            r.id,
            r.requirement,
            r.old.as_str(),
            r.new.as_str()
        );
    }
    for (label, list) in [("added", &c.requirements_added), ("removed", &c.requirements_removed)] {
        for r in list {
            let _ = writeln!(out, "  {label:<9} {:<10} {:<24} {}", r.id, r.requirement, r.status.as_str());
        }
    }
}

fn metrics_text(c: &Changes, out: &mut String) {
    let changed: Vec<&MetricDelta> = c.metrics.iter().filter(|m| m.old != m.new).collect();
    let _ = writeln!(out, "\nmetrics: {} changed, {} unchanged", changed.len(), c.metrics.len() - changed.len());
    for m in changed {
        let delta = match (m.delta, m.unit) {
            (None, _) => String::new(),
            (Some(d), DeltaUnit::PercentagePoints) => format!("  ({d:+.2} pp)"),
            (Some(d), DeltaUnit::Value) => format!("  ({})", signed(d)),
        };
        let _ = writeln!(out, "  {:<36} {} → {}{delta}", m.key, value(m.old, m.unit), value(m.new, m.unit));
    }
}

/// A metric's value as read: rates in per cent, whole numbers without decimals.
fn value(v: Option<f64>, unit: DeltaUnit) -> String {
    match (v, unit) {
        (None, _) => "–".into(),
        (Some(x), DeltaUnit::PercentagePoints) => format!("{:.2} %", x * 100.0),
        (Some(x), DeltaUnit::Value) if x.fract() == 0.0 => format!("{x:.0}"),
        (Some(x), DeltaUnit::Value) => format!("{x:.2}"),
    }
}

fn signed(d: f64) -> String {
    if d.fract() == 0.0 { format!("{d:+.0}") } else { format!("{d:+.2}") }
}

/// The first [`SHOWN`] items, then how many more.
fn first_few(items: &[ExceptionItem]) -> String {
    let mut shown: Vec<String> = items
        .iter()
        .take(SHOWN)
        .map(|i| match (&i.what, &i.scope) {
            (Some(what), Some(scope)) => format!("{} ({scope}: {what})", i.key),
            (Some(what), None) => format!("{} ({what})", i.key),
            (None, _) => i.key.clone(),
        })
        .collect();
    if items.len() > SHOWN {
        shown.push(format!("… and {} more", items.len() - SHOWN));
    }
    shown.join("; ")
}
