//! What went wrong with an S3 call, in our own words: [`StoreError`] names the object, the
//! operation and S3's error code, and says whether another attempt may help. [`chain`] writes
//! an error with its causes, for the SDK errors here and the AWS API errors of `collect`.

use std::path::PathBuf;

/// How an S3 call failed, as far as the callers' logic cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The key (or bucket) does not exist (`NoSuchKey`, HTTP 404).
    NotFound,
    /// A condition (`If-Match`, `If-None-Match`) did not hold (HTTP 412).
    PreconditionFailed,
    /// Worth another attempt: no connection, a timeout, an unreadable response, HTTP 5xx,
    /// throttling.
    Transient,
    /// Anything else (access denied, a bad request, …).
    Other,
}

/// An S3 step that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An S3 call failed.
    #[error("{url}: {code}{message} ({operation})")]
    S3 {
        /// `s3://bucket/key`.
        url: String,
        /// The S3 operation.
        operation: &'static str,
        /// The S3 error code (or what stood in for one: `endpoint unreachable`, `HTTP 503`, …).
        code: String,
        /// `: the service's message`, or empty.
        message: String,
        /// What the callers may do about it.
        kind: FailureKind,
    },
    /// A local file problem (an upload's source, a download's destination).
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// No AWS Region or credentials.
    #[error("{0}")]
    Setup(String),
}

impl StoreError {
    /// An error of `operation` on `s3://bucket/key`; `message` is empty or starts with `: `.
    pub(crate) fn s3(
        bucket: &str,
        key: &str,
        operation: &'static str,
        code: impl Into<String>,
        message: impl Into<String>,
        kind: FailureKind,
    ) -> StoreError {
        StoreError::S3 {
            url: format!("s3://{bucket}/{key}"),
            operation,
            code: code.into(),
            message: message.into(),
            kind,
        }
    }

    /// A local file error.
    pub(crate) fn io(path: &std::path::Path, e: impl std::fmt::Display) -> StoreError {
        StoreError::Io { path: path.to_path_buf(), message: e.to_string() }
    }

    /// What the callers may do about it ([`FailureKind::Other`] for local and setup errors).
    pub fn kind(&self) -> FailureKind {
        match self {
            StoreError::S3 { kind, .. } => *kind,
            _ => FailureKind::Other,
        }
    }

    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind() == FailureKind::Transient
    }

    /// `Code: message` (the whole error when it is not an S3 one).
    pub fn describe(&self) -> String {
        match self {
            StoreError::S3 { code, message, .. } => format!("{code}{message}"),
            other => other.to_string(),
        }
    }

    /// `Code: message (Operation)` without the URL (the whole error when it is not an S3 one).
    pub fn detail(&self) -> String {
        match self {
            StoreError::S3 { code, message, operation, .. } => format!("{code}{message} ({operation})"),
            other => other.to_string(),
        }
    }

    /// The same error, of another kind.
    pub(crate) fn with_kind(self, kind: FailureKind) -> StoreError {
        match self {
            StoreError::S3 { url, operation, code, message, .. } => {
                StoreError::S3 { url, operation, code, message, kind }
            }
            other => other,
        }
    }

    /// The error after `attempts` attempts: `; gave up after N attempts` when there were several.
    pub(crate) fn gave_up(self, attempts: u32) -> StoreError {
        match self {
            StoreError::S3 { url, operation, code, message, kind } if attempts > 1 => StoreError::S3 {
                url,
                operation,
                code,
                message: format!("{message}; gave up after {attempts} attempts"),
                kind,
            },
            other => other,
        }
    }
}

/// An error and its causes, `outer: inner: …`, without debug dumps.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_operation_and_attempts() {
        let e = StoreError::s3("b", "k", "GetObject", "SlowDown", ": slow", FailureKind::Transient);
        assert_eq!(e.to_string(), "s3://b/k: SlowDown: slow (GetObject)");
        assert!(e.is_transient());
        let e = e.gave_up(5);
        assert_eq!(e.describe(), "SlowDown: slow; gave up after 5 attempts");
        assert_eq!(e.detail(), "SlowDown: slow; gave up after 5 attempts (GetObject)");
        let once = StoreError::s3("b", "", "ListObjectsV2", "AccessDenied", "", FailureKind::Other).gave_up(1);
        assert_eq!(once.to_string(), "s3://b/: AccessDenied (ListObjectsV2)");
    }

    #[test]
    fn chains_skip_repeated_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] Middle);
        #[derive(Debug, thiserror::Error)]
        #[error("io error: connection refused")]
        struct Middle(#[source] std::io::Error);
        let e = Outer(Middle(std::io::Error::other("connection refused")));
        assert_eq!(chain(&e), "dispatch failure: io error: connection refused");
    }
}
