//! Malware scans of backups: are the recovery points of the resources with a target scanned
//! for malware in the period (Amazon GuardDuty Malware Protection for AWS Backup), and did a
//! scan find any? Evidence of the integrity of backup data (DORA Art. 9(3), 12(2), 12(7)).
//!
//! Only resource types GuardDuty can scan count: EBS volumes, EC2 instances and S3 buckets
//! (AWS's `ScanResourceType`); a database with a target is not expected to have scans. A scan
//! belongs to the period by its creation time (its completion time when that is missing).
//! Clean means COMPLETED with NO_THREATS_FOUND; a scan COMPLETED_WITH_ISSUES left part of its
//! recovery point unscanned, so it is reported with the failed ones and proves nothing clean.

use std::collections::{BTreeMap, BTreeSet};

use super::{CheckId, CheckResult, CheckStatus, Inputs, count};
use crate::assess::ScanFacts;
use crate::evidence::ArtifactKind;
use crate::evidence::model::MalwareScan;

/// The AWS Backup resource types GuardDuty Malware Protection scans.
const SCANNABLE: [&str; 3] = ["EBS", "EC2", "S3"];

/// What the period's scans say about the targeted scannable resources.
#[derive(Debug, Default)]
struct Tally<'a> {
    /// Targeted resources of a scannable type.
    resources: usize,
    /// Those with a clean scan.
    clean: usize,
    /// Infected recovery points: recovery point → (resource, scan job ids).
    infected: BTreeMap<&'a str, (&'a str, Vec<&'a str>)>,
    /// Scans that failed, were canceled or ended with issues (infected ones aside).
    failed: Vec<&'a MalwareScan>,
    /// Targeted scannable resources without a clean scan.
    unscanned: Vec<&'a str>,
}

/// `malware_scans`: `fail` when a recovery point of a targeted resource was found infected;
/// `warn` when scans failed (or ended with issues) or a targeted resource GuardDuty can scan
/// has no clean scan in the period; `pass` when every one has one; `no_data` without scan
/// evidence from the period (a scan, or a scan report or `list-scan-jobs` snapshot that may
/// list none) or without a targeted resource of a type GuardDuty scans.
pub(super) fn malware_scans(cx: &Inputs<'_>) -> CheckResult {
    let scans = &cx.acc.scans;
    let evidence = scans.in_period > 0
        || cx.collected(ArtifactKind::ScanJobsSnapshot)
        || cx.collected(ArtifactKind::ScanJobReport);
    let targets: Vec<&str> = cx.derived.targeted.iter().map(String::as_str).filter(|a| scannable(a)).collect();
    let tally = tally(&targets, scans);
    let status = if !evidence || targets.is_empty() {
        CheckStatus::NoData
    } else if !tally.infected.is_empty() {
        CheckStatus::Fail
    } else if !tally.failed.is_empty() || !tally.unscanned.is_empty() {
        CheckStatus::Warn
    } else {
        CheckStatus::Pass
    };
    CheckResult {
        resources: Vec::new(),
        id: CheckId::MalwareScans,
        title: "Recovery points are scanned for malware",
        status,
        summary: summary(status, evidence, &tally),
        key_figure: format!("{}/{} scannable targets scanned clean", tally.clean, tally.resources),
        figures: BTreeMap::from([
            ("targeted_scannable", tally.resources.to_string()),
            ("scanned_clean", tally.clean.to_string()),
            ("infected_recovery_points", tally.infected.len().to_string()),
            ("failed_scans", tally.failed.len().to_string()),
            ("without_clean_scan", tally.unscanned.len().to_string()),
            ("scans_in_period", scans.in_period.to_string()),
        ]),
        exceptions: if status == CheckStatus::NoData { Vec::new() } else { exceptions(&tally) },
        records: scans.in_period,
        artifacts: scans.artifacts.clone(),
    }
}

/// Whether GuardDuty can scan the resource's recovery points (by its ARN).
fn scannable(arn: &str) -> bool {
    crate::arn::backup_resource_type(arn).is_some_and(|t| SCANNABLE.contains(&t))
}

/// Sorts the period's scans of the `targets` into clean, infected, failed and missing.
fn tally<'a>(targets: &[&'a str], scans: &'a ScanFacts) -> Tally<'a> {
    let wanted: BTreeSet<&str> = targets.iter().copied().collect();
    let mut t = Tally { resources: wanted.len(), ..Tally::default() };
    for s in &scans.notable {
        let Some(resource) = s.resource_arn.as_deref().filter(|r| wanted.contains(r)) else { continue };
        if s.infected() {
            let point = s.recovery_point_arn.as_deref().unwrap_or("(recovery point not named)");
            let entry = t.infected.entry(point).or_insert((resource, Vec::new()));
            entry.1.push(&s.scan_job_id);
        } else {
            t.failed.push(s);
        }
    }
    let clean: BTreeSet<&str> = wanted.iter().copied().filter(|r| scans.clean.contains(*r)).collect();
    t.clean = clean.len();
    t.unscanned = wanted.into_iter().filter(|r| !clean.contains(r)).collect();
    t
}

/// Infected recovery points, failed scans and resources without a clean scan (`run` sorts them).
fn exceptions(t: &Tally<'_>) -> Vec<String> {
    let infected = t.infected.iter().map(|(point, (resource, jobs))| {
        format!("{resource} recovery point {point} infected: GuardDuty found malware (scan job {})", jobs.join(", "))
    });
    let failed = t.failed.iter().map(|s| {
        let (resource, state) = (s.resource_arn.as_deref().unwrap_or(""), s.state.as_deref().unwrap_or(""));
        let point = s.recovery_point_arn.as_deref().unwrap_or("(recovery point not named)");
        let message = s.status_message.as_deref().filter(|m| !m.is_empty()).map(|m| format!(": {m}"));
        format!("{resource} scan job {} of {point} {state}{}", s.scan_job_id, message.unwrap_or_default())
    });
    let unscanned = t.unscanned.iter().map(|r| format!("{r} no completed clean malware scan in the period"));
    infected.chain(failed).chain(unscanned).collect()
}

/// The sentence a risk officer reads.
fn summary(status: CheckStatus, evidence: bool, t: &Tally<'_>) -> String {
    if !evidence {
        return "No malware scan evidence from the period (MALWARE_JOB_REPORT or list-scan-jobs): whether \
                backups are scanned for malware cannot be told."
            .to_owned();
    }
    if t.resources == 0 {
        return "No resource with a target is of a type GuardDuty scans for malware (EBS, EC2, S3).".to_owned();
    }
    let lead = if status == CheckStatus::Fail {
        "Malware was found in backups of resources with a target: restoring an infected recovery point \
         would bring the malware back. "
    } else {
        ""
    };
    format!(
        "{lead}{} of {} with a target that GuardDuty can scan (EBS, EC2, S3) have a recovery point \
         from the period scanned clean; {} found infected, {} failed or ended with issues and {} no completed \
         clean scan.",
        t.clean,
        count(t.resources, "resource", "resources"),
        count(t.infected.len(), "recovery point was", "recovery points were"),
        count(t.failed.len(), "scan", "scans"),
        count(t.unscanned.len(), "resource has", "resources have")
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{artifact, ts};
    use super::*;
    use crate::assess::MetricsAccumulator;
    use crate::config::Config;
    use crate::evidence::model::{Job, JobKind, ScanResultStatus, ScanState};
    use crate::evidence::{Evidence, Record};

    const VOLUME: &str = "arn:aws:ec2:eu-central-1:111122223333:volume/vol-1";
    const INSTANCE: &str = "arn:aws:ec2:eu-central-1:111122223333:instance/i-1";
    const BUCKET: &str = "arn:aws:s3:::statements";
    const DATABASE: &str = "arn:aws:rds:eu-central-1:111122223333:db:ledger";
    const ALL: &str = "[[target]]\nname = \"all\"\nrpo_hours = 24\n";

    /// A scan of `resource`'s recovery point `<resource>-rp` on 5 August (or `at`).
    fn scan(id: &str, resource: &str, state: &str, result: Option<&str>) -> MalwareScan {
        MalwareScan {
            scan_job_id: id.into(),
            state: Some(ScanState::from(state)),
            scan_result_status: result.map(ScanResultStatus::from),
            resource_arn: Some(resource.into()),
            recovery_point_arn: Some(format!("{resource}-rp")),
            creation_date: ts("2026-08-05T03:00:00Z"),
            ..MalwareScan::default()
        }
    }

    /// The check over a quarter with a completed backup of every resource (so each is
    /// considered, and targeted under `config`).
    fn check(scans: Vec<MalwareScan>, kinds: &[ArtifactKind], config: &str) -> CheckResult {
        let mut acc = MetricsAccumulator::new("2026-Q3".parse().unwrap());
        for (i, arn) in [VOLUME, INSTANCE, BUCKET, DATABASE].into_iter().enumerate() {
            acc.observe(&Record::Job(Job {
                kind: Some(JobKind::Backup),
                job_id: format!("j{i}"),
                state: Some("COMPLETED".into()),
                account_id: Some("111122223333".into()),
                region: Some("eu-central-1".into()),
                resource_arn: Some(arn.into()),
                creation_date: ts("2026-08-05T01:00:00Z"),
                completion_date: ts("2026-08-05T01:30:00Z"),
                ..Job::default()
            }));
        }
        for s in scans {
            acc.observe(&Record::MalwareScan(s));
        }
        let mut ev = Evidence::empty();
        ev.artifacts = kinds.iter().map(|&kind| artifact(kind)).collect();
        let config = Config::parse(config).unwrap();
        let derived = acc.derive(&config, &ev.tagged_resources);
        super::super::run(&acc, &derived, &config, &ev).into_iter().find(|c| c.id == CheckId::MalwareScans).unwrap()
    }

    fn clean_all() -> Vec<MalwareScan> {
        vec![
            scan("s1", VOLUME, "COMPLETED", Some("NO_THREATS_FOUND")),
            scan("s2", INSTANCE, "COMPLETED", Some("NO_THREATS_FOUND")),
            scan("s3", BUCKET, "COMPLETED", Some("NO_THREATS_FOUND")),
        ]
    }

    #[test]
    fn without_scan_evidence_or_targets_there_is_no_data() {
        let c = check(Vec::new(), &[], ALL);
        assert_eq!((c.status, c.exceptions.len()), (CheckStatus::NoData, 0));
        assert!(c.summary.starts_with("No malware scan evidence from the period"), "{}", c.summary);
        // A listing from before the period is no evidence either; no target, nothing to judge.
        let mut old = clean_all();
        old.iter_mut().for_each(|s| s.creation_date = ts("2026-06-20T00:00:00Z"));
        assert_eq!(check(old, &[], ALL).status, CheckStatus::NoData);
        assert_eq!(check(clean_all(), &[], "").status, CheckStatus::NoData);
    }

    #[test]
    fn an_empty_listing_from_the_period_names_every_scannable_target() {
        let c = check(Vec::new(), &[ArtifactKind::ScanJobsSnapshot], ALL);
        assert_eq!(c.status, CheckStatus::Warn);
        let unscanned = |r: &str| format!("{r} no completed clean malware scan in the period");
        let want = [unscanned(INSTANCE), unscanned(VOLUME), unscanned(BUCKET)];
        assert_eq!(c.exceptions, want, "the database is not scannable");
        assert_eq!(c.figures["targeted_scannable"], "3");
    }

    #[test]
    fn a_clean_scan_of_every_scannable_target_passes() {
        let c = check(clean_all(), &[], ALL);
        assert_eq!((c.status, c.records), (CheckStatus::Pass, 3));
        assert_eq!(c.key_figure, "3/3 scannable targets scanned clean");
    }

    #[test]
    fn an_infected_recovery_point_fails_and_is_named_once() {
        let mut scans = clean_all();
        scans.push(scan("s4", INSTANCE, "COMPLETED", Some("THREATS_FOUND")));
        scans.push(scan("s5", INSTANCE, "COMPLETED_WITH_ISSUES", Some("THREATS_FOUND")));
        let c = check(scans, &[], ALL);
        assert_eq!(c.status, CheckStatus::Fail);
        assert_eq!(
            c.exceptions,
            [format!("{INSTANCE} recovery point {INSTANCE}-rp infected: GuardDuty found malware (scan job s4, s5)")]
        );
        assert!(c.summary.starts_with("Malware was found in backups"), "{}", c.summary);
        // An infected point of a resource without a target does not rate the estate.
        let mut scans = clean_all();
        scans.push(scan("s6", INSTANCE, "COMPLETED", Some("THREATS_FOUND")));
        let only_volumes = "[[target]]\nname = \"volumes\"\narn = \"arn:aws:ec2:*:*:volume/*\"\nrpo_hours = 24\n";
        assert_eq!(check(scans, &[], only_volumes).status, CheckStatus::Pass);
    }

    #[test]
    fn failed_or_partial_scans_warn_and_prove_nothing_clean() {
        let mut scans = clean_all();
        scans[2] = scan("s3", BUCKET, "FAILED", None);
        scans[2].status_message = Some("access denied".into());
        scans[1] = scan("s2", INSTANCE, "COMPLETED_WITH_ISSUES", Some("NO_THREATS_FOUND"));
        scans.push(scan("s7", VOLUME, "RUNNING", None));
        let c = check(scans, &[], ALL);
        assert_eq!(c.status, CheckStatus::Warn);
        assert_eq!(
            c.exceptions,
            [
                format!("{INSTANCE} no completed clean malware scan in the period"),
                format!("{INSTANCE} scan job s2 of {INSTANCE}-rp COMPLETED_WITH_ISSUES"),
                format!("{BUCKET} no completed clean malware scan in the period"),
                format!("{BUCKET} scan job s3 of {BUCKET}-rp FAILED: access denied"),
            ]
        );
        assert_eq!((c.figures["failed_scans"].as_str(), c.figures["scanned_clean"].as_str()), ("2", "1"));
    }
}
