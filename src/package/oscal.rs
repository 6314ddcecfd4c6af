//! The package's results in OSCAL, the open format GRC tools import: `oscal/dora-catalog.json`
//! (the DORA requirements of the mapping as an OSCAL catalog) and
//! `oscal/assessment-results.json` (the period's findings, checks and artifacts as OSCAL
//! assessment results).
//!
//! **Version.** OSCAL 1.2.1 JSON ([`OSCAL_VERSION`]): the newest version compliance-trestle 5.x
//! reads (it accepts 1.2.0 to 1.2.1; NIST has released later 1.2.x versions since). The tests validate both files against
//! NIST's published JSON schemas (`tests/fixtures/oscal/`) and load them with trestle's models
//! (`scripts/oscal_check.py`).
//!
//! **Mapping.** [`catalog`]: one control per requirement of the mapping (id = requirement id,
//! title = citation, a `statement` part `<id>_smt` with our paraphrase, a `guidance` part with
//! what to attach). [`assessment_results`]: one result for the period; one *finding* per
//! requirement, targeting its statement, `satisfied` only when we say `satisfied` (every other
//! status is `not-satisfied`, never flattered; our finer status is the `dora-status` property);
//! one *observation* per check (method `TEST`, the resources it names as inventory items, the
//! artifacts it read as relevant evidence); one *risk* per failing check; one back-matter
//! *resource* per artifact, linking to its stored copy by path and SHA-256, plus one for the
//! catalog. Our own properties carry the namespace [`NS`].
//!
//! **Bytes.** Same inputs, same bytes: every UUID is a name-based (v5) UUID of what it stands
//! for, the catalog depends on the mapping only (its version is the mapping's SHA-256, its
//! `last-modified` the constant [`CATALOG_LAST_MODIFIED`]) and the results on the manifest,
//! findings and artifacts (their `last-modified` is `generated_at`). Members come in the order
//! OSCAL's model lists them; strings meet OSCAL's datatypes (one line, no outer blanks).

mod catalog;
mod results;

use serde::Serialize;

pub(crate) use catalog::catalog;
pub(crate) use results::assessment_results;

/// The OSCAL version both documents conform to.
pub(crate) const OSCAL_VERSION: &str = "1.2.1";

/// Namespace of the properties dora-evidence defines (`dora-status`, `check`, …).
pub(crate) const NS: &str = "urn:dora-evidence:oscal";

/// The catalog's `last-modified`: when this catalog format was defined. A constant, so the
/// catalog depends on the mapping only; its `version` (the mapping's SHA-256) tells mappings
/// apart.
pub(crate) const CATALOG_LAST_MODIFIED: &str = "2026-12-05T00:00:00Z";

/// A name-based UUID for `parts` (joined by newlines) in dora-evidence's OSCAL namespace.
fn uuid(parts: &[&str]) -> String {
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, NS.as_bytes());
    uuid::Uuid::new_v5(&ns, parts.join("\n").as_bytes()).to_string()
}

/// `s` on one line with single spaces and no outer blanks (OSCAL's string and markup-line
/// datatypes); `None` when nothing is left.
fn line(s: &str) -> Option<String> {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
}

/// Whether `s` is an OSCAL token (`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`): what names and ids must be.
fn is_token(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The first non-empty of `texts`, as [`line`] gives it (`-` when all are empty).
fn line_or(texts: &[&str]) -> String {
    texts.iter().find_map(|t| line(t)).unwrap_or_else(|| "-".into())
}

/// Pretty JSON with a final newline.
fn to_bytes<T: Serialize>(doc: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(doc).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A document's metadata.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Metadata {
    title: String,
    last_modified: String,
    version: String,
    oscal_version: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    parties: Vec<Party>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remarks: Option<String>,
}

/// A property: OSCAL's own (`ns` absent) or ours ([`NS`]).
#[derive(Debug, Clone, Serialize)]
struct Prop {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    ns: Option<&'static str>,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<&'static str>,
}

impl Prop {
    /// Our property `name` = `value`; `None` when the value is blank.
    fn ours(name: &str, value: &str) -> Option<Prop> {
        Some(Prop { name: name.into(), ns: Some(NS), value: line(value)?, class: None })
    }

    /// OSCAL's property `name` = `value`; `None` when the value is blank.
    fn oscal(name: &str, value: &str) -> Option<Prop> {
        Some(Prop { name: name.into(), ns: None, value: line(value)?, class: None })
    }
}

/// A link.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Link {
    href: String,
    rel: &'static str,
    text: String,
}

/// A party (the reporting entity).
#[derive(Debug, Serialize)]
struct Party {
    uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
}

/// A back-matter resource: an artifact or the catalog.
#[derive(Debug, Serialize)]
struct Resource {
    uuid: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    props: Vec<Prop>,
    rlinks: Vec<Rlink>,
}

/// A resource's link with its digest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct Rlink {
    href: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    media_type: Option<&'static str>,
    hashes: Vec<Hash>,
}

/// A SHA-256 digest.
#[derive(Debug, Serialize)]
struct Hash {
    algorithm: &'static str,
    value: String,
}

impl Hash {
    fn sha256(hex: &str) -> Vec<Hash> {
        vec![Hash { algorithm: "SHA-256", value: hex.to_owned() }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_stable_v5_and_distinct() {
        let a = uuid(&["finding", "dora-12-6"]);
        assert_eq!(a, uuid(&["finding", "dora-12-6"]));
        assert_ne!(a, uuid(&["finding", "dora-12-7"]));
        assert_eq!(a.as_bytes()[14], b'5', "{a}");
    }

    #[test]
    fn lines_meet_oscal_string_datatypes() {
        assert_eq!(line("  a\n b\tc  ").as_deref(), Some("a b c"));
        assert_eq!(line(" \n "), None);
        assert_eq!(line_or(&["", " x "]), "x");
        assert!(Prop::ours("p", "\n").is_none());
        assert!(is_token("jobs_in_period") && is_token("dora-12-6_smt") && is_token("_x.1"));
        assert!(!is_token("") && !is_token("1x") && !is_token("a b") && !is_token("a/b"));
    }
}
