//! `--log-format json` and `completions`: what schedulers, log pipelines and shells read.

use super::util::{fixture, run, stderr, stdout};

#[test]
fn json_logs_are_one_object_per_line_with_time_level_message_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("pkg");
    let o = run(&[
        "build",
        "--input",
        fixture("api").to_str().unwrap(),
        "--period",
        "2026-Q3",
        "--out",
        out.to_str().unwrap(),
        "--allow-partial",
        "--log-format",
        "json",
        "-v",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let json: Vec<serde_json::Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert!(json.len() >= 3, "{err}");
    for line in &json {
        let time = line["time"].as_str().unwrap_or_else(|| panic!("{line}"));
        assert!(time.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{line}");
        assert!(["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].contains(&line["level"].as_str().unwrap()), "{line}");
        assert!(!line["message"].as_str().unwrap().is_empty(), "{line}");
        assert!(line["fields"].is_object(), "{line}");
    }
    assert!(json.iter().any(|l| l["message"].as_str().unwrap().contains("rendered report.pdf")), "{err}");
    let o = run(&["--log-format", "xml", "completions", "bash"]);
    assert_eq!(o.status.code(), Some(2), "an unknown format is a usage error");
}

#[test]
fn completions_for_each_shell_name_the_subcommands() {
    let o = run(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let script = stdout(&o);
    for sub in ["build", "collect", "verify", "archive", "csr", "keygen", "samples", "completions"] {
        assert!(script.contains(sub), "bash completion lacks {sub}");
    }
    assert!(script.contains("--log-format") && script.contains("complete -F"), "bash completion");
    let marks = [
        ("zsh", "#compdef dora-evidence"),
        ("fish", "complete -c dora-evidence"),
        ("powershell", "Register-ArgumentCompleter"),
    ];
    for (shell, mark) in marks {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}: {}", stderr(&o));
        assert!(stdout(&o).contains(mark), "{shell}");
    }
    assert_eq!(run(&["completions", "tcsh"]).status.code(), Some(2));
}
