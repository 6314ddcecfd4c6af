//! The layer table in `src/lib.rs` is the real import graph: every `crate::<module>` a
//! top-level module names (outside its tests and comments) is in a lower layer, or, in the
//! foundation, an earlier-listed one. A new import that points up fails here, naming the file.

use std::collections::BTreeMap;
use std::path::Path;

/// Top to bottom, as in `src/lib.rs`; a module may import from later rows only (within the
/// foundation row: from modules listed after it).
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["rebuild"],
    &["build", "collect", "renew"],
    &["archive", "compare"],
    &["verify", "source"],
    &["output"],
    &["package"],
    &["render", "sign"],
    &["assess"],
    &["ingest"],
    &["evidence"],
    &["config", "artifact", "s3", "pdf", "arn", "alarm_rule", "schedule", "time", "progress", "direct", "ablation"],
];

/// Module → its rank: lower rank may import higher rank.
fn ranks() -> BTreeMap<&'static str, usize> {
    let mut ranks = BTreeMap::new();
    let foundation = LAYERS.len() - 1;
    for (i, row) in LAYERS.iter().enumerate() {
        for (j, m) in row.iter().enumerate() {
            // In the foundation each module is its own layer, in listed order.
            ranks.insert(*m, if i == foundation { i * 100 + j } else { i * 100 });
        }
    }
    ranks
}

/// `crate::<name>` uses in code, not in comments or `#[cfg(test)] mod tests`.
fn crate_uses(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let mut uses = Vec::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + 7..];
            if rest.starts_with('{') {
                let group = &rest[1..rest.find('}').unwrap_or(rest.len())];
                uses.extend(group.split(',').map(|p| p.trim().split("::").next().unwrap_or("").to_owned()));
            } else {
                uses.push(rest.split(|c: char| !c.is_alphanumeric() && c != '_').next().unwrap_or("").to_owned());
            }
        }
    }
    uses
}

#[test]
fn every_import_points_down_the_layer_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let ranks = ranks();
    let mut upward = Vec::new();
    for entry in walkdir::WalkDir::new(&src).into_iter().map(Result::unwrap) {
        let rel = entry.path().strip_prefix(&src).unwrap();
        if !entry.file_type().is_file() || rel.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let module = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&rank) = ranks.get(module.as_str()) else {
            panic!("src/{} belongs to module {module}, which is not in the layer table", rel.display());
        };
        for used in crate_uses(&std::fs::read_to_string(entry.path()).unwrap()) {
            match ranks.get(used.as_str()) {
                Some(&r) if used != module && r <= rank => upward.push(format!("src/{}: crate::{used}", rel.display())),
                _ => {}
            }
        }
    }
    upward.sort();
    upward.dedup();
    assert!(upward.is_empty(), "imports that point up (or sideways) the layer table:\n{}", upward.join("\n"));
}

#[test]
fn the_scanner_sees_grouped_and_inline_uses_but_not_comments() {
    let text = "use crate::{time::Timestamp, evidence};\n// crate::cli\nlet x = crate::s3::b64(y);\n";
    assert_eq!(crate_uses(text), ["time", "evidence", "s3"]);
}
