//! Field names as formats spell them, and feeding a parsed JSON object into a record.
//!
//! AWS spells one field many ways: `backupJobId` in JSON reports, `Backup Job ID` or
//! `"Backup Job ID [..]"` in CSV reports, `backup_job_id` in Athena exports, `BackupJobId` in
//! the API. All of them normalise to one key (`backupjobid`, [`NormKey`]): ASCII letters and
//! digits only, lower-cased, anything from a `[` on dropped. Each record kind lists the keys of
//! its fields in its declaration (`evidence::model`, see `evidence::table`), so a new spelling
//! needs no code, and unknown columns (such as `path_to_root`) are ignored. The values and the
//! [`FieldSink`] trait the declarations implement live in `evidence::recognise`.

pub(crate) use crate::evidence::recognise::{FieldSink, Scalar};

/// A normalised field name, kept on the stack.
#[derive(Clone, Copy)]
pub(crate) struct NormKey {
    buf: [u8; 48],
    len: u8,
}

impl NormKey {
    /// Normalises a raw field name.
    pub(crate) fn new(raw: &str) -> Self {
        let mut k = NormKey { buf: [0; 48], len: 0 };
        for b in raw.bytes() {
            if b == b'[' {
                break;
            }
            if b.is_ascii_alphanumeric() && (k.len as usize) < k.buf.len() {
                k.buf[k.len as usize] = b.to_ascii_lowercase();
                k.len += 1;
            }
        }
        k
    }

    /// The normalised name (ASCII).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}
/// Feeds a parsed JSON object into a sink, flattening nested objects
/// (`CreatedBy.RestoreTestingPlanArn` → `restoretestingplanarn`). Errors name the JSON
/// pointer below `pointer`. A bad non-essential field ([`FieldSink::essential`]) is left
/// empty and pushed to `soft` as (JSON pointer, message); reading goes on.
///
/// # Errors
/// The first essential field that cannot be read, as (JSON pointer, message).
pub(crate) fn feed_value(
    sink: &mut dyn FieldSink,
    value: &serde_json::Value,
    pointer: &str,
    soft: &mut Vec<(String, String)>,
) -> Result<(), (String, String)> {
    let serde_json::Value::Object(map) = value else {
        return Err((pointer.to_owned(), "expected an object".into()));
    };
    for (k, v) in map {
        let key = NormKey::new(k);
        let at = || format!("{pointer}/{k}");
        let result = match v {
            serde_json::Value::Null => sink.set(key.as_bytes(), Scalar::Null),
            serde_json::Value::Bool(b) => sink.set(key.as_bytes(), Scalar::Bool(*b)),
            serde_json::Value::Number(n) => sink.set(key.as_bytes(), number_scalar(n)),
            serde_json::Value::String(s) => sink.set(key.as_bytes(), Scalar::Str(s)),
            serde_json::Value::Array(items) => sink.set_array(key.as_bytes(), items),
            serde_json::Value::Object(_) => {
                feed_value(sink, v, &at(), soft)?;
                continue;
            }
        };
        match result {
            Err(e) if sink.essential(key.as_bytes()) => return Err((at(), e)),
            Err(e) => soft.push((at(), e)),
            Ok(()) => {}
        }
    }
    Ok(())
}

fn number_scalar(n: &serde_json::Number) -> Scalar<'static> {
    if let Some(u) = n.as_u64() {
        Scalar::U64(u)
    } else if let Some(i) = n.as_i64() {
        Scalar::I64(i)
    } else {
        Scalar::F64(n.as_f64().unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::model::{ControlResult, Job, JobKind, RecoveryPoint, TaggedResource};
    use crate::time::Timestamp;

    #[test]
    fn every_spelling_normalises_to_one_key() {
        for raw in [
            "backupJobId",
            "BackupJobId",
            "Backup Job ID",
            "\"Backup Job ID\"",
            "backup_job_id",
            "\u{feff}Backup Job Id [uuid]",
            " BACKUP-JOB-ID ",
        ] {
            assert_eq!(NormKey::new(raw).as_bytes(), b"backupjobid", "{raw}");
        }
    }

    #[test]
    fn values_convert_or_explain() {
        assert_eq!(Scalar::Str(" 42 ").count().unwrap(), Some(42));
        assert_eq!(Scalar::F64(42.0).count().unwrap(), Some(42));
        assert!(Scalar::Str("4 2").count().is_err());
        assert!(Scalar::I64(-1).count().is_err());
        assert_eq!(Scalar::Str("TRUE").flag().unwrap(), Some(true));
        assert!(Scalar::Str("yes").flag().is_err());
        assert_eq!(Scalar::Str("").timestamp().unwrap(), None);
        assert!(Scalar::Str("31/12/2026").timestamp().is_err());
        assert_eq!(Scalar::F64(1_783_000_000.5).timestamp().unwrap(), Some(Timestamp(1_783_000_000_500)));
    }

    #[test]
    fn job_fields_from_any_format() {
        let mut job = Job::default();
        let v = serde_json::json!({
            "RestoreJobId": "r-1", "Status": "Completed", "CreationDate": 1783000000,
            "CreatedBy": {"RestoreTestingPlanArn": "arn:plan"}, "SourceResourceArn": "arn:src",
            "ValidationStatus": "successful", "BackupSizeInBytes": "1024"
        });
        let mut soft = Vec::new();
        feed_value(&mut job, &v, "/RestoreJobs/0", &mut soft).unwrap();
        assert!(soft.is_empty());
        job.finish().unwrap();
        assert_eq!(job.kind, Some(JobKind::Restore));
        assert_eq!(job.state.as_deref(), Some("COMPLETED"));
        assert_eq!(job.validation_status.as_deref(), Some("SUCCESSFUL"));
        assert_eq!(job.restore_testing_plan_arn.as_deref(), Some("arn:plan"));
        assert_eq!(job.resource_arn.as_deref(), Some("arn:src"));
        assert_eq!(job.backup_size_bytes, Some(1024));
        assert!(job.is_restore_test());

        let mut bad = Job::default();
        let v = serde_json::json!({"BackupJobId": "b", "CreationDate": "soon"});
        let err = feed_value(&mut bad, &v, "/BackupJobs/7", &mut soft).unwrap_err();
        assert_eq!(err.0, "/BackupJobs/7/CreationDate");
        assert!(err.1.contains("\"soon\""), "{}", err.1);

        let mut old = Job::default();
        old.set(b"reporttimeperiod", Scalar::Str("2026-07-13T00:00:00Z - 2026-07-14T00:00:00Z")).unwrap();
        assert_eq!(old.observed_at, Some(Timestamp::parse("2026-07-14T00:00:00Z").unwrap()));
        assert!(old.set(b"reporttimeperiod", Scalar::Str("2026-07-13")).is_err());
        assert!(old.finish().is_err());
    }

    #[test]
    fn a_bad_auxiliary_field_is_left_empty_and_the_record_kept() {
        let v = serde_json::json!({
            "BackupJobId": "b-1", "State": "FAILED", "CreationDate": "2026-07-14T05:00:00Z",
            "BackupSizeInBytes": "N/A", "IsParent": "maybe", "ExpectedCompletionDate": "soon",
            "RecoveryPointLifecycle": {"DeleteAfterDays": 35}, "StatusMessage": "Access denied"
        });
        let (mut job, mut soft) = (Job::default(), Vec::new());
        feed_value(&mut job, &v, "/BackupJobs/4", &mut soft).unwrap();
        job.finish().unwrap();
        assert_eq!(job.state.as_deref(), Some("FAILED"));
        assert_eq!(job.creation_date, Some(Timestamp::parse("2026-07-14T05:00:00Z").unwrap()));
        assert_eq!((job.backup_size_bytes, job.is_parent, job.expected_completion_date), (None, None, None));
        assert_eq!(job.status_message.as_deref(), Some("Access denied"));
        soft.sort();
        let places: Vec<&str> = soft.iter().map(|(at, _)| at.as_str()).collect();
        let want =
            ["/BackupJobs/4/BackupSizeInBytes", "/BackupJobs/4/ExpectedCompletionDate", "/BackupJobs/4/IsParent"];
        assert_eq!(places, want);
        assert!(soft[0].1.contains("\"N/A\""), "{}", soft[0].1);
        // Essential fields still drop the record: an id of the wrong kind, an unreadable creation time.
        let mut soft = Vec::new();
        let v = serde_json::json!({"BackupJobId": "b", "CopyJobId": "c", "BackupSizeInBytes": "N/A"});
        assert!(feed_value(&mut Job::default(), &v, "", &mut soft).is_err());
        for key in [&b"copyjobid"[..], b"creationdate", b"status", b"state", b"jobstatus"] {
            assert!(Job::default().essential(key));
        }
        assert!(!Job::default().essential(b"backupsizeinbytes"));
        assert!(RecoveryPoint::default().essential(b"creationdate"));
        assert!(ControlResult::default().essential(b"lastevaluationtime"));
        assert!(!ControlResult::default().essential(b"numresourcescompliant"));
    }

    #[test]
    fn parent_flags_read_as_bool_or_text() {
        for v in [Scalar::Bool(true), Scalar::Str("TRUE"), Scalar::Str(" true ")] {
            let mut job = Job::default();
            job.set(b"isparentjob", v).unwrap();
            assert_eq!(job.is_parent, Some(true), "{v:?}");
        }
        let mut job = Job::default();
        job.set(b"isparent", Scalar::Str("False")).unwrap();
        assert_eq!(job.is_parent, Some(false));
        assert!(job.set(b"isparent", Scalar::Str("maybe")).is_err());
    }

    #[test]
    fn bad_tags_leave_none_behind() {
        let mut t = TaggedResource::default();
        let items = serde_json::json!([{"Key": "tier", "Value": "gold"}, {"Key": "x"}]);
        assert!(t.set_array(b"tags", items.as_array().unwrap()).is_err());
        assert!(t.tags.is_empty());
        assert!(!t.essential(b"tags"));
    }
}
