//! The DORA catalog: the requirements of a mapping as OSCAL controls, in our own words.
//!
//! `report-templates/dora-catalog.json` is this catalog for the built-in mapping (a test holds
//! it to `dora-mapping.toml`; `dora-evidence catalog -o report-templates/dora-catalog.json`
//! writes it); every package holds the one of the mapping it was built with.

use serde::Serialize;

use super::{CATALOG_LAST_MODIFIED, Link, Metadata, OSCAL_VERSION, Prop, line, line_or, to_bytes, uuid};
use crate::assess::mapping::{Mapping, Requirement};

const REMARKS: &str = "The statements are dora-evidence's one-line paraphrases of Regulation (EU) 2022/2554 (DORA) \
and Commission Delegated Regulation (EU) 2024/1774, not the legal text, which is on EUR-Lex (CELEX 32022R2554 and \
32024R1774). Each control is one requirement of the DORA mapping (report-templates/dora-mapping.toml or the file \
given with --mapping); its `check` properties name the dora-evidence checks that evidence it, and `rule` how their \
results combine. The version is the SHA-256 of that mapping file.";

#[derive(Serialize)]
struct CatalogDoc {
    catalog: Catalog,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Catalog {
    uuid: String,
    metadata: Metadata,
    // OSCAL wants at least one when present; a mapping without requirements has none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    controls: Vec<Control>,
}

#[derive(Serialize)]
struct Control {
    id: String,
    title: String,
    props: Vec<Prop>,
    parts: Vec<Part>,
}

#[derive(Serialize)]
struct Part {
    id: String,
    name: &'static str,
    prose: String,
}

/// The catalog of `mapping`, as the file is written: depends on the mapping only.
pub(crate) fn catalog(mapping: &Mapping) -> Vec<u8> {
    let eur_lex = |celex: &str, text: &str| Link {
        href: format!("https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:{celex}"),
        rel: "reference",
        text: text.into(),
    };
    let metadata = Metadata {
        title: "DORA backup and recovery requirements (dora-evidence paraphrases, not the legal text)".into(),
        last_modified: CATALOG_LAST_MODIFIED.into(),
        version: mapping.sha256.clone(),
        oscal_version: OSCAL_VERSION,
        props: Prop::ours("mapping-sha256", &mapping.sha256).into_iter().collect(),
        links: vec![
            eur_lex("32022R2554", "Regulation (EU) 2022/2554 (DORA)"),
            eur_lex("32024R1774", "Commission Delegated Regulation (EU) 2024/1774 (RTS on ICT risk management)"),
        ],
        parties: Vec::new(),
        remarks: Some(REMARKS.into()),
    };
    let controls = mapping.requirements.iter().map(control).collect();
    to_bytes(&CatalogDoc { catalog: Catalog { uuid: uuid(&["catalog", &mapping.sha256]), metadata, controls } })
}

/// The statement part's id of requirement `id`: what a finding targets.
pub(crate) fn statement_id(id: &str) -> String {
    format!("{id}_smt")
}

fn control(r: &Requirement) -> Control {
    let mut props: Vec<Prop> = [
        Prop::oscal("label", &r.citation),
        r.applies_to.and_then(|f| Prop::ours("applies-to", f.as_str())),
        Prop::ours("rule", r.rule.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect();
    props.extend(r.checks.iter().filter_map(|c| Prop::ours("check", c.as_str())));
    let mut parts =
        vec![Part { id: statement_id(&r.id), name: "statement", prose: line_or(&[&r.paraphrase, &r.citation]) }];
    if let Some(attach) = r.attach.as_deref().and_then(line) {
        parts.push(Part { id: format!("{}_gdn", r.id), name: "guidance", prose: format!("Attach: {attach}") });
    }
    Control { id: r.id.clone(), title: line_or(&[&r.citation, &r.id]), props, parts }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &[u8] = include_bytes!("../../../report-templates/dora-catalog.json");

    #[test]
    fn the_committed_catalog_is_the_builtin_mappings() {
        assert!(
            catalog(&Mapping::builtin()) == COMMITTED,
            "report-templates/dora-catalog.json is out of step with dora-mapping.toml; regenerate it with \
             `cargo run -- catalog -o report-templates/dora-catalog.json`"
        );
    }

    #[test]
    fn every_requirement_is_a_control_with_its_statement() {
        let mapping = Mapping::builtin();
        let doc: serde_json::Value = serde_json::from_slice(&catalog(&mapping)).unwrap();
        let controls = doc["catalog"]["controls"].as_array().unwrap();
        assert_eq!(controls.len(), mapping.requirements.len());
        for (c, r) in controls.iter().zip(&mapping.requirements) {
            assert_eq!(c["id"], r.id.as_str());
            assert_eq!(c["parts"][0]["id"], format!("{}_smt", r.id));
            assert_eq!(c["parts"][0]["prose"], r.paraphrase.as_str());
            let checks: Vec<&str> = c["props"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["name"] == "check")
                .map(|p| p["value"].as_str().unwrap())
                .collect();
            assert_eq!(checks, r.checks.iter().map(|c| c.as_str()).collect::<Vec<_>>());
        }
        assert_eq!(doc["catalog"]["metadata"]["version"], mapping.sha256.as_str());
    }

    #[test]
    fn a_mapping_without_requirements_gives_a_catalog_without_controls() {
        let empty = Mapping { requirements: Vec::new(), sha256: "0".repeat(64), text: String::new() };
        let doc: serde_json::Value = serde_json::from_slice(&catalog(&empty)).unwrap();
        assert!(doc["catalog"].get("controls").is_none(), "{doc}");
    }

    #[test]
    fn an_edited_mapping_gives_another_catalog() {
        let text = crate::assess::mapping::DEFAULT_MAPPING.replace("Recovery time and recovery point", "RTO and RPO");
        let edited = Mapping::parse(&text).unwrap();
        let (a, b) = (catalog(&Mapping::builtin()), catalog(&edited));
        assert_ne!(a, b);
        assert!(String::from_utf8(b).unwrap().contains("RTO and RPO objectives are set"));
    }
}
