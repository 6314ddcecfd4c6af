//! The report's charts (section "Backups and restores over the period"), read back with
//! `pdftotext -layout` from the sample package and checked against the package's own evidence
//! CSVs and `samples/ground-truth.json`: the weekly chart has a y-axis with round ticks,
//! counts on its bars and its partial weeks marked; the restore-duration chart gives p50, p95
//! and max per resource and flags, in words, the resources with tests over their RTO
//! (issue 16, item 6).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::util::{col, read_csv, sample_package, samples, tool};

/// The layout text of the report between two headings.
fn section(from: &str, to: &str) -> String {
    let (ok, text) = tool("pdftotext", &["-layout", "report.pdf", "-"], sample_package());
    assert!(ok, "{text}");
    let start = text.find(from).unwrap_or_else(|| panic!("{from:?} not in the report"));
    let end = start + text[start..].find(to).unwrap_or_else(|| panic!("{to:?} not after {from:?}"));
    text[start..end].to_owned()
}

/// The whole-number tokens of `text`, split into axis ticks (those starting in the first
/// columns, left of the plot) and the others (labels on the bars).
fn ticks_and_labels(text: &str) -> (Vec<u64>, Vec<u64>) {
    let (mut ticks, mut labels) = (Vec::new(), Vec::new());
    for line in text.lines() {
        let mut column = 0;
        for token in line.split(' ') {
            if let Ok(n) = token.parse::<u64>() {
                if column < 12 { ticks.push(n) } else { labels.push(n) }
            }
            column += token.chars().count() + 1;
        }
    }
    (ticks, labels)
}

/// Ticks (read top down) run from 0 in steps of 1, 2 or 5 × 10^k; they are sorted.
fn assert_round_ticks(ticks: &mut [u64], what: &str) {
    ticks.sort_unstable();
    assert!(ticks.len() >= 2, "{what}: ticks {ticks:?}");
    let step = ticks[1];
    let mut m = step;
    while m.is_multiple_of(10) {
        m /= 10;
    }
    assert!([1, 2, 5].contains(&m), "{what}: step {step} is not round");
    let expected: Vec<u64> = (0..ticks.len() as u64).map(|i| i * step).collect();
    assert_eq!(ticks, expected, "{what}: ticks from 0 in equal steps");
}

/// Backup jobs of the period per week (Monday) from `evidence/backup_jobs.csv`: completed, and
/// not completed (failed, aborted, expired, partial or still running); parents left out.
fn weekly_from_csv() -> BTreeMap<NaiveDate, (u64, u64)> {
    let (h, rows) = read_csv(&sample_package().join("evidence/backup_jobs.csv"));
    let mut weeks: BTreeMap<NaiveDate, (u64, u64)> = BTreeMap::new();
    for r in rows.iter().filter(|r| col(&h, r, "in_period") == "true" && col(&h, r, "is_parent") != "true") {
        let day = NaiveDate::parse_from_str(&col(&h, r, "creation_date")[..10], "%Y-%m-%d").unwrap();
        let monday = day - chrono::Days::new(u64::from(day.weekday().num_days_from_monday()));
        let e = weeks.entry(monday).or_default();
        if col(&h, r, "state") == "COMPLETED" { e.0 += 1 } else { e.1 += 1 }
    }
    weeks
}

#[test]
fn weekly_chart_has_round_y_ticks_bar_counts_and_marked_partial_weeks() {
    let text = section("Backup outcomes per week", "Restore-test durations against the RTO");
    let weeks = weekly_from_csv();
    assert_eq!(weeks.len(), 14, "2026-Q3 touches 14 weeks");

    // Completed jobs: a y-axis up to at least the busiest week, each week's count on its bar.
    let top_panel = &text[..text.find("Jobs that did not complete").expect("failure panel")];
    let (mut ticks, mut labels) = ticks_and_labels(top_panel);
    assert_round_ticks(&mut ticks, "completed");
    assert!(ticks.len() <= 7, "{ticks:?}");
    let busiest = weeks.values().map(|w| w.0).max().unwrap();
    assert!(*ticks.last().unwrap() >= busiest, "axis {ticks:?} below the busiest week ({busiest})");
    // The partial weeks carry their pace (completed jobs scaled to 7 days) as "pace N".
    let mut paces: Vec<u64> =
        top_panel.split("pace ").skip(1).map(|s| s.split_whitespace().next().unwrap().parse().unwrap()).collect();
    let (first, last) = (weeks.values().next().unwrap().0, weeks.values().last().unwrap().0);
    let mut want = [(first * 7).div_ceil(5), (last * 7).div_ceil(3)]; // 06-29 holds 5 days, 09-28 3
    paces.sort_unstable();
    want.sort_unstable();
    assert_eq!(paces, want, "the paces of the first and last week");
    for p in &paces {
        labels.remove(labels.iter().position(|x| x == p).unwrap());
    }
    let mut expected: Vec<u64> = weeks.values().map(|w| w.0).collect();
    labels.sort_unstable();
    expected.sort_unstable();
    assert_eq!(labels, expected, "one count per week, those of backup_jobs.csv");

    // Jobs that did not complete: their own axis, and the counts add up to the CSV's.
    let bottom_panel = &text[text.find("Jobs that did not complete").unwrap()..text.find("06-29").unwrap()];
    let (mut ticks, labels) = ticks_and_labels(bottom_panel);
    assert_round_ticks(&mut ticks, "not completed");
    let worst = weeks.values().map(|w| w.1).max().unwrap();
    assert!(worst > 0 && *ticks.last().unwrap() >= worst && *ticks.last().unwrap() < busiest / 10, "{ticks:?}");
    assert_eq!(labels.iter().sum::<u64>(), weeks.values().map(|w| w.1).sum::<u64>());

    // Every week is labelled; the two the period cuts say so.
    for monday in weeks.keys() {
        assert!(text.contains(&monday.format("%m-%d").to_string()), "week {monday} not labelled");
    }
    assert!(text.contains("partial: 5 days") && text.contains("partial: 3 days"), "{text}");
    assert_eq!(text.matches("partial: ").count(), 2);
}

/// One row of the restore-duration chart: (p50, p95, max, RTO, verdict).
fn duration_row<'a>(text: &'a str, resource: &str, tests: usize) -> (Vec<f64>, &'a str, &'a str) {
    let line = text
        .lines()
        .find(|l| l.replace('\u{200b}', "").contains(&format!("{resource} ({tests})")))
        .unwrap_or_else(|| panic!("no row for {resource} ({tests} tests):\n{text}"));
    let figures = line.split_once(&format!("({tests})")).unwrap().1.trim();
    let (numbers, verdict) = figures.split_once("  ").unwrap();
    let p: Vec<f64> = numbers.split(" · ").map(|n| n.trim().parse().unwrap()).collect();
    let (rto, verdict) = verdict.trim().split_once(' ').unwrap();
    (p, rto, verdict.trim())
}

/// The ⌈p/100 · n⌉-th smallest (README "Metrics", `restore_test_duration_minutes_p95`).
fn nearest_rank(sorted: &[f64], p: usize) -> f64 {
    sorted[(p * sorted.len()).div_ceil(100).max(1) - 1]
}

#[test]
fn rto_chart_gives_p50_p95_max_and_flags_each_resource_over_its_rto() {
    let text = section("Restore-test durations against the RTO", "Completed restore tests per tested resource");
    assert!(text.contains("p50 · p95 · max") && text.contains("Tests over RTO"), "{text}");
    // Completed restore tests of the period per resource, from the evidence CSV.
    let (h, rows) = read_csv(&sample_package().join("evidence/restore_jobs.csv"));
    let mut minutes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|r| {
        col(&h, r, "in_period") == "true" && col(&h, r, "restore_test") == "true" && col(&h, r, "state") == "COMPLETED"
    }) {
        let name = col(&h, r, "source_resource_arn").rsplit([':', '/']).next().unwrap().to_owned();
        minutes.entry(name).or_default().push(col(&h, r, "duration_minutes").parse().unwrap());
    }
    // The sample's ground truth: how many completed tests of the period took over 120 minutes.
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(samples().join("ground-truth.json")).unwrap()).unwrap();
    let over_120: usize = minutes.values().map(|m| m.iter().filter(|x| **x > 120.0).count()).sum();
    assert_eq!(Some(over_120 as u64), truth["restore_tests"]["in_period_completed_longer_than_120_minutes"].as_u64());

    let (mut flagged, mut breaches) = (Vec::new(), 0);
    for (resource, m) in &mut minutes {
        m.sort_by(f64::total_cmp);
        let (p, rto, verdict) = duration_row(&text, resource, m.len());
        let want = [nearest_rank(m, 50), nearest_rank(m, 95), *m.last().unwrap()];
        for (got, want) in p.iter().zip(want) {
            assert!((got - want).abs() <= 0.051, "{resource}: {p:?} against p50/p95/max {want}");
        }
        let rto: f64 = rto.parse().unwrap_or_else(|_| panic!("{resource}: RTO {rto:?}"));
        let over = m.iter().filter(|x| **x > rto).count();
        if over > 0 {
            assert_eq!(verdict, format!("over RTO: {over} of {}", m.len()), "{resource}");
            flagged.push(resource.as_str());
            breaches += over;
        } else {
            assert_eq!(verdict, "within RTO", "{resource}");
        }
    }
    // The three resources the sample was built to break their RTO (120 min), and the metric.
    flagged.sort_unstable();
    assert_eq!(flagged, ["core-accounts-aurora", "core-ledger-db", "payments-clearing-aurora"]);
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_package().join("metrics.json")).unwrap()).unwrap();
    assert_eq!(Some(breaches as u64), metrics["rto_breaches"].as_u64());
    // The x-axis has values in minutes.
    assert!(text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>().starts_with(&["0", "60", "120"])), "{text}");
}
