//! The evidence of alert paths and vault protection, read from what AWS returns as JSON text
//! inside JSON: a vault access policy (does it deny deleting recovery points?), an
//! EventBridge event pattern (does it match failed backup, copy or restore jobs?), and SNS
//! subscription endpoints (masked: subscriber addresses are personal data).
//!
//! The three derivations are small pure functions with their rules in their docs; the
//! `*_field` / `*_arrays` functions are the hooks the `table!` declarations in
//! [`super::model`] name, so a record is built in one pass and the raw endpoint never reaches
//! a record.

use serde_json::Value;

use super::model::{EventRule, SnsSubscription, VaultAccessPolicy, VaultNotification};
use super::recognise::Scalar;

/// The action whose denial protects recovery points from deletion.
const DELETE_RECOVERY_POINT: &str = "backup:DeleteRecoveryPoint";

/// What a vault access policy says about deleting recovery points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeletionDeny {
    /// No statement denies it to everyone.
    None,
    /// Only statements with a `Condition` deny it (they may not apply to every caller).
    Conditional,
    /// At least one statement denies it to everyone without a condition.
    Unconditional,
}

/// Whether a vault access policy denies `backup:DeleteRecoveryPoint` to every principal.
///
/// A statement counts when its `Effect` is `Deny`, its `Principal` is `*` or `{"AWS": "*"}`
/// (or a list holding `*`), and its `Action` (a string or a list) names the action exactly,
/// as `backup:*` or `*`, or by a pattern with `*` / `?` (`backup:Delete*`); IAM compares
/// actions case-insensitively. `NotAction` and `NotPrincipal` statements are not counted:
/// they deny everything *but* what they name, which is no statement about this action.
/// `Resource` is not read (a vault policy's resources are the vault's recovery points).
/// A counted statement with a `Condition` makes the deny [`DeletionDeny::Conditional`],
/// unless another counted statement has none.
///
/// # Errors
/// When the document is not an object with a `Statement` object or list.
pub(crate) fn deletion_deny(policy: &Value) -> Result<DeletionDeny, String> {
    let statements = match policy.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err("the policy has no Statement object or list".into()),
    };
    let mut found = DeletionDeny::None;
    for s in statements {
        let deny = s.get("Effect").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case("Deny"));
        if !deny || !to_everyone(s.get("Principal")) || !names_action(s.get("Action"), DELETE_RECOVERY_POINT) {
            continue;
        }
        if s.get("Condition").is_some_and(|c| c.as_object().is_none_or(|m| !m.is_empty())) {
            found = DeletionDeny::Conditional;
        } else {
            return Ok(DeletionDeny::Unconditional);
        }
    }
    Ok(found)
}

/// `Principal` is everyone: `"*"`, `{"AWS": "*"}` or `{"AWS": [.., "*", ..]}`.
fn to_everyone(principal: Option<&Value>) -> bool {
    match principal {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => match m.get("AWS") {
            Some(Value::String(s)) => s == "*",
            Some(Value::Array(items)) => items.iter().any(|i| i.as_str() == Some("*")),
            _ => false,
        },
        _ => false,
    }
}

/// `Action` (a string or a list of strings) covers `action`.
fn names_action(actions: Option<&Value>, action: &str) -> bool {
    let covers = |pattern: &str| glob(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase());
    match actions {
        Some(Value::String(s)) => covers(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(covers),
        _ => false,
    }
}

/// IAM-style wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The kinds of AWS Backup job whose failure must reach a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum FailureKind {
    /// A backup job.
    Backup,
    /// A copy job.
    Copy,
    /// A restore job.
    Restore,
}

impl FailureKind {
    /// Every kind, in the order files list them.
    pub(crate) const ALL: [FailureKind; 3] = [FailureKind::Backup, FailureKind::Copy, FailureKind::Restore];

    /// Name in files (`backup`, `copy`, `restore`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FailureKind::Backup => "backup",
            FailureKind::Copy => "copy",
            FailureKind::Restore => "restore",
        }
    }

    /// The EventBridge `detail-type` of the kind's job events and the `detail` member holding
    /// the job's state (restore job events use `status`).
    fn event(self) -> (&'static str, &'static str) {
        match self {
            FailureKind::Backup => ("Backup Job State Change", "state"),
            FailureKind::Copy => ("Copy Job State Change", "state"),
            FailureKind::Restore => ("Restore Job State Change", "status"),
        }
    }

    /// The vault notification event (`BackupVaultEvents`) that tells of the kind's failures.
    ///
    /// AWS's list of supported events (API `PutBackupVaultNotifications` and the developer
    /// guide's "Notification options with AWS Backup") has `BACKUP_JOB_COMPLETED` — sent
    /// for every finished backup job, failed ones included, with the job's `State` —
    /// `COPY_JOB_FAILED`, and `RESTORE_JOB_COMPLETED` (likewise with the state). The guide
    /// lists `BACKUP_JOB_FAILED`, `BACKUP_JOB_SUCCESSFUL`, `BACKUP_JOB_EXPIRED`,
    /// `RESTORE_JOB_FAILED` and `RESTORE_JOB_SUCCESSFUL` as deprecated: the API still accepts
    /// them but they "do not return statuses or notifications", so they do not count.
    /// `S3_BACKUP_OBJECT_FAILED` / `S3_RESTORE_OBJECT_FAILED` tell of single objects, not jobs.
    pub(crate) fn vault_event(self) -> &'static str {
        match self {
            FailureKind::Backup => "BACKUP_JOB_COMPLETED",
            FailureKind::Copy => "COPY_JOB_FAILED",
            FailureKind::Restore => "RESTORE_JOB_COMPLETED",
        }
    }
}

/// The kinds of failed job a vault's notification events (`;`-joined, as
/// [`VaultNotification::events`] holds them) tell of ([`FailureKind::vault_event`]).
pub(crate) fn notified_failures(events: &str) -> Vec<FailureKind> {
    FailureKind::ALL.into_iter().filter(|k| events.split(';').any(|e| e.trim() == k.vault_event())).collect()
}

/// The kinds of failed AWS Backup job an EventBridge event pattern matches: those for which
/// the pattern's `source`, `detail-type` and `detail.state` / `detail.status` all accept the
/// failure event (`{"source": "aws.backup", "detail-type": "Backup Job State Change",
/// "detail": {"state": "FAILED"}}`, restore jobs with `status`). A member the pattern does
/// not name accepts anything; one it names but the event lacks (`detail.status` on a backup
/// job) accepts only `{"exists": false}`. Other `detail` members (vault names, resource
/// types) narrow the rule to some jobs and are not judged here. `$or` is followed. Values
/// accept exact strings and the filters `prefix`, `suffix`, `equals-ignore-case`,
/// `wildcard`, `anything-but` and `exists`; numeric and CIDR filters never accept a name.
pub(crate) fn failure_kinds(pattern: &Value) -> Vec<FailureKind> {
    FailureKind::ALL
        .into_iter()
        .filter(|kind| {
            let (detail_type, member) = kind.event();
            let event = serde_json::json!({
                "source": "aws.backup",
                "detail-type": detail_type,
                "detail": { member: "FAILED" },
            });
            accepts(pattern, &event)
        })
        .collect()
}

/// Kinds `;`-joined, as files hold them.
pub(crate) fn join_kinds(kinds: &[FailureKind]) -> String {
    kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(";")
}

/// A pattern object accepts the synthetic event: every named member it holds accepts the
/// event's value; members under `detail` other than the state are not judged.
fn accepts(pattern: &Value, event: &Value) -> bool {
    let Value::Object(members) = pattern else { return false };
    members.iter().all(|(key, rule)| match (key.as_str(), rule) {
        ("$or", Value::Array(alternatives)) => alternatives.iter().any(|alt| accepts(alt, event)),
        ("source" | "detail-type", _) => value_accepts(rule, event.get(key)),
        ("detail", Value::Object(inner)) => inner.iter().all(|(k, r)| match k.as_str() {
            "state" | "status" => value_accepts(r, event.pointer(&format!("/detail/{k}"))),
            "$or" => r
                .as_array()
                .is_some_and(|alts| alts.iter().any(|alt| accepts(&serde_json::json!({ "detail": alt }), event))),
            _ => true,
        }),
        _ => true,
    })
}

/// A member's rule (a list of values and filters, or one value) accepts `value` (absent:
/// `None`).
fn value_accepts(rule: &Value, value: Option<&Value>) -> bool {
    let text = value.and_then(Value::as_str);
    let one = |r: &Value| match (r, text) {
        (Value::String(s), Some(t)) => s == t,
        (Value::Object(filter), _) => filter_accepts(filter, text),
        _ => false,
    };
    match rule {
        Value::Array(items) => items.iter().any(one),
        other => one(other),
    }
}

/// One content filter (`{"prefix": "FAIL"}`, `{"anything-but": ["COMPLETED"]}`, …).
fn filter_accepts(filter: &serde_json::Map<String, Value>, text: Option<&str>) -> bool {
    filter.iter().all(|(op, arg)| match (op.as_str(), text) {
        ("exists", _) => arg.as_bool() == Some(text.is_some()),
        ("prefix", Some(t)) => arg.as_str().is_some_and(|p| t.starts_with(p)),
        ("suffix", Some(t)) => arg.as_str().is_some_and(|p| t.ends_with(p)),
        ("equals-ignore-case", Some(t)) => arg.as_str().is_some_and(|p| p.eq_ignore_ascii_case(t)),
        ("wildcard", Some(t)) => arg.as_str().is_some_and(|p| glob_no_question(p, t)),
        ("anything-but", Some(t)) => !match arg {
            Value::String(s) => s == t,
            Value::Array(items) => items.iter().any(|i| i.as_str() == Some(t)),
            Value::Object(inner) => filter_accepts(inner, Some(t)),
            _ => false,
        },
        _ => false,
    })
}

/// EventBridge's `wildcard` filter: only `*` is special.
fn glob_no_question(pattern: &str, text: &str) -> bool {
    // `?` is literal here: compare it through a character `glob` treats as plain.
    let (p, t) = (pattern.replace('?', "\u{1}"), text.replace('?', "\u{1}"));
    glob(&p, &t)
}

/// A subscription endpoint as the package may show it. Subscriber addresses are personal
/// data, so only enough to tell subscribers apart stays: an e-mail address keeps the first
/// character of its local part and its domain (`j***@example.com`); a phone number its last
/// two digits (`***42`); a URL its scheme and host (`https://hooks.example.com`, no
/// user, port, path or query); an ARN (SQS, Lambda, Firehose, platform application) is a
/// resource name and is kept. Anything else becomes `***`. Masking a masked endpoint gives
/// it back unchanged, so `collect` can store it masked and ingest mask it again.
pub(crate) fn mask_endpoint(endpoint: &str) -> String {
    let e = endpoint.trim();
    if e.starts_with("arn:") {
        return e.to_owned();
    }
    if let Some((scheme, rest)) = e.split_once("://") {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit('@').next().unwrap_or("");
        let host = if host.starts_with('[') { host } else { host.split(':').next().unwrap_or("") };
        return format!("{}://{host}", scheme.to_ascii_lowercase());
    }
    if let Some((local, domain)) = e.rsplit_once('@') {
        let first: String = local.chars().next().filter(|c| *c != '*').into_iter().collect();
        return format!("{first}***@{domain}");
    }
    let phone_like = e.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '*'));
    let digits: Vec<char> = e.chars().filter(char::is_ascii_digit).collect();
    if phone_like && digits.len() >= 2 {
        return format!("***{}", digits[digits.len() - 2..].iter().collect::<String>());
    }
    "***".into()
}

/// Parses JSON text that AWS returns inside JSON (a policy, an event pattern) and gives it
/// back compact: as written, member order kept, only the whitespace between tokens removed.
/// `what` names it in the error.
fn inner_json(text: &str, what: &str) -> Result<(Value, String), String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{what} is not JSON: {e}"))?;
    Ok((value, compact(text)))
}

/// Valid JSON text without the whitespace between its tokens (strings untouched).
fn compact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// `Policy` of a vault access policy: kept compact, with its deletion deny derived. A policy
/// that cannot be read is kept as given, with the derived columns empty and the error
/// reported at `/Policy`.
pub(crate) fn policy_field(p: &mut VaultAccessPolicy, key: &[u8], v: Scalar<'_>) -> Option<Result<(), String>> {
    if key != b"policy" {
        return None;
    }
    let text = v.text()?.into_owned();
    p.denies_recovery_point_deletion = None;
    p.deletion_deny_conditional = None;
    let read = inner_json(&text, "Policy").and_then(|(value, compact)| {
        p.policy = Some(compact);
        deletion_deny(&value).map_err(|e| format!("Policy: {e}"))
    });
    Some(match read {
        Ok(deny) => {
            p.denies_recovery_point_deletion = Some(deny != DeletionDeny::None);
            p.deletion_deny_conditional = match deny {
                DeletionDeny::None => None,
                d => Some(d == DeletionDeny::Conditional),
            };
            Ok(())
        }
        Err(e) => {
            p.policy.get_or_insert(text);
            Err(e)
        }
    })
}

/// `EventPattern` of a rule: kept compact, with `failure_kinds` and `matches_backup_failures`
/// derived; an unreadable pattern is kept as given and reported at `…/EventPattern`.
pub(crate) fn rule_field(r: &mut EventRule, key: &[u8], v: Scalar<'_>) -> Option<Result<(), String>> {
    if key != b"eventpattern" {
        return None;
    }
    let text = v.text()?.into_owned();
    Some(match inner_json(&text, "EventPattern") {
        Ok((value, compact)) => {
            let kinds = failure_kinds(&value);
            r.matches_backup_failures = Some(!kinds.is_empty());
            r.failure_kinds = Some(join_kinds(&kinds));
            r.event_pattern = Some(compact);
            Ok(())
        }
        Err(e) => {
            r.matches_backup_failures = None;
            r.failure_kinds = None;
            r.event_pattern = Some(text);
            Err(e)
        }
    })
}

/// `Endpoint` of a subscription, masked as it is read ([`mask_endpoint`]).
pub(crate) fn subscription_field(s: &mut SnsSubscription, key: &[u8], v: Scalar<'_>) -> Option<Result<(), String>> {
    if key != b"endpoint" {
        return None;
    }
    s.endpoint = v.text().map(|e| mask_endpoint(&e));
    Some(Ok(()))
}

/// The final check of a subscription: a topic, and `confirmed` from the subscription ARN
/// (`PendingConfirmation` and `Deleted` are not subscriptions that deliver).
pub(crate) fn finish_subscription(s: &mut SnsSubscription) -> Result<(), String> {
    if s.topic_arn.is_empty() {
        return Err("no TopicArn".into());
    }
    s.confirmed = s.subscription_arn.as_deref().map(|a| a.starts_with("arn:"));
    Ok(())
}

/// `BackupVaultEvents` of a vault's notifications: sorted, `;`-joined.
pub(crate) fn notification_arrays(n: &mut VaultNotification, key: &[u8], items: &[Value]) -> Result<(), String> {
    if key != b"backupvaultevents" {
        return Ok(());
    }
    let mut events = items
        .iter()
        .map(|i| i.as_str().ok_or("BackupVaultEvents items must be strings"))
        .collect::<Result<Vec<_>, _>>()?;
    events.sort_unstable();
    events.dedup();
    n.events = Some(events.join(";"));
    Ok(())
}

/// The record a `list-targets-by-rule` output gives: the rule (by the name its file gives;
/// empty when it gives none) and its targets' ARNs, sorted and `;`-joined.
///
/// # Errors
/// When `Targets` is not a list of objects with an `Arn` string, naming the item.
pub(crate) fn targets_of(rule_name: Option<&str>, targets: &[Value]) -> Result<EventRule, (String, String)> {
    let mut arns = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let arn = t.get("Arn").and_then(Value::as_str).filter(|a| !a.is_empty());
        arns.push(arn.ok_or_else(|| (format!("/Targets/{i}"), "a target needs an Arn string".to_owned()))?);
    }
    arns.sort_unstable();
    arns.dedup();
    Ok(EventRule {
        rule_name: rule_name.unwrap_or_default().to_owned(),
        target_count: Some(targets.len() as u64),
        targets: Some(arns.join(";")),
        ..EventRule::default()
    })
}

/// The rule a `list-targets-by-rule` file is about, from its name
/// (`list-targets-by-rule-<rule name>.json`, as `collect` stores it; rule names are
/// letters, digits, `.`, `-` and `_`, so the file name holds them unchanged).
pub(crate) fn rule_of_targets_file(file_name: &str) -> Option<&str> {
    let stem = file_name.rsplit(['/', '\\']).next()?.strip_suffix(".json")?;
    let name = stem.strip_prefix("list-targets-by-rule-")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deny(policy: Value) -> DeletionDeny {
        deletion_deny(&policy).unwrap()
    }

    #[test]
    fn a_deny_to_everyone_of_the_action_or_a_pattern_covering_it_counts() {
        let st = |action: Value, principal: Value| {
            json!({"Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "backup:*"},
                {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": "*"}
            ]})
        };
        for action in [
            json!("backup:DeleteRecoveryPoint"),
            json!(["backup:UpdateRecoveryPointLifecycle", "backup:deleterecoverypoint"]),
            json!("backup:*"),
            json!("*"),
            json!("backup:Delete*"),
            json!("backup:DeleteRecovery?oint"),
        ] {
            assert_eq!(deny(st(action.clone(), json!("*"))), DeletionDeny::Unconditional, "{action}");
            assert_eq!(deny(st(action.clone(), json!({"AWS": "*"}))), DeletionDeny::Unconditional, "{action}");
        }
        for action in [json!("backup:DeleteBackupVault"), json!("backup:Delete"), json!(["s3:*"]), json!(7)] {
            assert_eq!(deny(st(action.clone(), json!("*"))), DeletionDeny::None, "{action}");
        }
        // Only some principals: not a deny to everyone.
        let one = json!({"AWS": "arn:aws:iam::111122223333:root"});
        assert_eq!(deny(st(json!("backup:DeleteRecoveryPoint"), one)), DeletionDeny::None);
        assert_eq!(
            deny(st(json!("backup:DeleteRecoveryPoint"), json!({"AWS": ["x", "*"]}))),
            DeletionDeny::Unconditional
        );
        // A single statement object is read too; an Allow never counts.
        let single = json!({"Statement": {"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint"}});
        assert_eq!(deny(single), DeletionDeny::Unconditional);
        let allow =
            json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "backup:DeleteRecoveryPoint"}]});
        assert_eq!(deny(allow), DeletionDeny::None);
    }

    #[test]
    fn not_action_is_no_deny_and_a_condition_is_said() {
        let not_action = json!({"Statement": [
            {"Effect": "Deny", "Principal": "*", "NotAction": "backup:DeleteRecoveryPoint"}
        ]});
        assert_eq!(deny(not_action), DeletionDeny::None);
        let conditional = json!({"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint",
            "Condition": {"StringNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/breakglass"}}});
        assert_eq!(deny(json!({"Statement": [conditional.clone()]})), DeletionDeny::Conditional);
        // An unconditional deny beside it wins, in either order.
        let plain = json!({"Effect": "Deny", "Principal": "*", "Action": "backup:*"});
        assert_eq!(deny(json!({"Statement": [conditional.clone(), plain.clone()]})), DeletionDeny::Unconditional);
        assert_eq!(deny(json!({"Statement": [plain, conditional]})), DeletionDeny::Unconditional);
        assert!(deletion_deny(&json!({"Version": "2012-10-17"})).is_err());
        assert!(deletion_deny(&json!("text")).is_err());
    }

    #[test]
    fn event_patterns_match_failures_unless_they_exclude_them() {
        let m = |p: Value| !failure_kinds(&p).is_empty();
        assert!(m(json!({"source": ["aws.backup"]})), "no detail filter");
        assert!(m(json!({"source": ["aws.backup"], "detail-type": ["Backup Job State Change"],
            "detail": {"state": ["FAILED"]}})));
        assert!(!m(json!({"source": ["aws.backup"], "detail-type": ["Backup Job State Change"],
            "detail": {"state": ["COMPLETED"]}})));
        // Restore jobs carry `status`: a `status` filter catches them, a `state` one does not.
        assert!(m(json!({"source": ["aws.backup"], "detail-type": ["Restore Job State Change"],
            "detail": {"status": ["FAILED", "ABORTED"]}})));
        assert!(!m(json!({"source": ["aws.backup"], "detail-type": ["Restore Job State Change"],
            "detail": {"state": ["FAILED"]}})));
        assert!(!m(json!({"source": ["aws.ec2"]})), "another source");
        assert!(!m(json!({"source": ["aws.backup"], "detail-type": ["Backup Vault State Change"]})));
        assert!(m(json!({"source": [{"prefix": "aws."}], "detail": {"state": [{"anything-but": ["COMPLETED"]}]}})));
        assert!(!m(json!({"source": ["aws.backup"], "detail": {"state": [{"anything-but": "FAILED"}],
            "status": [{"anything-but": "FAILED"}]}})));
        assert!(m(json!({"source": ["aws.backup"], "detail": {"state": [{"equals-ignore-case": "failed"}]}})));
        assert!(m(json!({"source": ["aws.backup"], "detail-type": [{"wildcard": "Copy Job *"}]})));
        // A vault filter narrows the rule, not the failure: it still matches.
        assert!(m(json!({"source": ["aws.backup"], "detail": {"backupVaultName": ["central"], "state": ["FAILED"]}})));
        // `$or`: one alternative catching failures is enough.
        assert!(m(json!({"source": ["aws.backup"], "$or": [
            {"detail": {"state": ["COMPLETED"]}}, {"detail": {"status": ["FAILED"]}}]})));
        assert!(!m(json!({"source": ["aws.backup"], "detail": {"state": [{"numeric": [">", 0]}]}})));
        assert!(!m(json!(["aws.backup"])));
    }

    #[test]
    fn failure_kinds_say_which_failed_jobs_a_pattern_matches() {
        let kinds = |p: Value| join_kinds(&failure_kinds(&p));
        assert_eq!(kinds(json!({"source": ["aws.backup"]})), "backup;copy;restore");
        assert_eq!(kinds(json!({"source": ["aws.backup"], "detail": {"state": ["FAILED"]}})), "backup;copy");
        assert_eq!(kinds(json!({"source": ["aws.backup"], "detail": {"status": ["FAILED"]}})), "restore");
        assert_eq!(
            kinds(
                json!({"source": ["aws.backup"], "detail-type": ["Copy Job State Change", "Restore Job State Change"],
                "$or": [{"detail": {"state": ["FAILED"]}}, {"detail": {"status": ["FAILED"]}}]})
            ),
            "copy;restore"
        );
        assert_eq!(kinds(json!({"source": ["aws.backup"], "detail": {"state": ["COMPLETED"]}})), "");
        // The record's bool says the same as the list.
        let mut r = EventRule::default();
        let pattern = r#"{"source":["aws.backup"],"detail-type":["Copy Job State Change"]}"#;
        rule_field(&mut r, b"eventpattern", Scalar::Str(pattern)).unwrap().unwrap();
        assert_eq!((r.failure_kinds.as_deref(), r.matches_backup_failures), (Some("copy"), Some(true)));
    }

    #[test]
    fn vault_notifications_tell_of_failures_only_through_events_aws_still_sends() {
        let kinds = |events: &str| join_kinds(&notified_failures(events));
        assert_eq!(kinds("BACKUP_JOB_COMPLETED;COPY_JOB_FAILED;RESTORE_JOB_COMPLETED"), "backup;copy;restore");
        // Deprecated events send nothing; started / successful events are no failure.
        assert_eq!(kinds("BACKUP_JOB_FAILED;RESTORE_JOB_FAILED;BACKUP_JOB_EXPIRED"), "");
        assert_eq!(kinds("BACKUP_JOB_STARTED;COPY_JOB_SUCCESSFUL;RECOVERY_POINT_MODIFIED"), "");
        assert_eq!(kinds("COPY_JOB_FAILED"), "copy");
        assert_eq!(kinds(""), "");
    }

    #[test]
    fn endpoints_are_masked_and_masking_twice_changes_nothing() {
        for (raw, masked) in [
            ("jane.doe@example.com", "j***@example.com"),
            ("+49 170 1234567", "***67"),
            ("https://ops:secret@hooks.example.com:8443/services/T0/B1?token=x", "https://hooks.example.com"),
            ("HTTP://10.0.0.1/alert", "http://10.0.0.1"),
            ("arn:aws:sqs:eu-west-1:111122223333:backup-events", "arn:aws:sqs:eu-west-1:111122223333:backup-events"),
            ("something-else", "***"),
            ("7", "***"),
        ] {
            assert_eq!(mask_endpoint(raw), masked, "{raw}");
            assert_eq!(mask_endpoint(masked), masked, "{masked} again");
        }
    }

    #[test]
    fn compact_keeps_order_and_strings() {
        let text = "{ \"b\" : [1, 2],\n \"a\": \"x \\\" y\" }";
        assert_eq!(compact(text), r#"{"b":[1,2],"a":"x \" y"}"#);
        assert_eq!(inner_json(text, "P").unwrap().1, compact(text));
        assert!(inner_json("{", "P").unwrap_err().starts_with("P is not JSON"));
    }

    #[test]
    fn targets_name_their_rule_by_file_name() {
        assert_eq!(rule_of_targets_file("store/a/list-targets-by-rule-backup-failed.json"), Some("backup-failed"));
        assert_eq!(rule_of_targets_file("list-targets-by-rule-.json"), None);
        assert_eq!(rule_of_targets_file("targets.json"), None);
        let r =
            targets_of(Some("r"), &[json!({"Id": "1", "Arn": "arn:b"}), json!({"Id": "2", "Arn": "arn:a"})]).unwrap();
        assert_eq!((r.rule_name.as_str(), r.targets.as_deref(), r.target_count), ("r", Some("arn:a;arn:b"), Some(2)));
        let e = targets_of(None, &[json!({"Id": "1"})]).unwrap_err();
        assert_eq!(e.0, "/Targets/0");
    }
}
