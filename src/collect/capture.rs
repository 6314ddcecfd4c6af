//! What AWS sent: an interceptor on the client that keeps the response bodies, the SDK's
//! paginators (or, where the SDK has none, the page tokens) driving the pages, their merge
//! into one AWS CLI-shaped document, and errors that say which action failed and why.
//!
//! The JSON services (Backup, Audit Manager, Resource Groups Tagging, EventBridge) are
//! snapshotted from the bodies themselves rather than re-serialised SDK structs, so every
//! field AWS returns is kept, including fields newer than this build, and timestamps stay as
//! on the wire (epoch seconds, what `aws … ` prints with `cli_timestamp_format = wire`).

use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use crate::s3::chain;

/// Keeps the bodies of the successful HTTP responses of the client it is attached to, in
/// order. A scope calls one operation at a time, so what [`Capture::take`] returns belongs
/// to the call (or the pages) just made.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Vec<Vec<u8>>>>);

impl Capture {
    /// The bodies captured since the last call, oldest first.
    pub(crate) fn take(&self) -> Vec<Vec<u8>> {
        self.0.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default()
    }
}

impl Intercept for Capture {
    fn name(&self) -> &'static str {
        "dora-evidence-capture"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        if response.status().is_success()
            && let Some(bytes) = response.body().bytes()
            && let Ok(mut bodies) = self.0.lock()
        {
            bodies.push(bytes.to_vec());
        }
        Ok(())
    }
}

/// A client of SDK crate `$krate` for `$cfg` whose response bodies go to `$capture` (when
/// given), retrying in the retry partition of its service and scope `$partition`
/// (`account/region`). AWS throttles per account and Region, so the SDK's client-side rate
/// limiter and retry tokens are kept per scope too: by default they are shared by every client
/// of a service in the process, and one account's throttling would slow every other account.
macro_rules! client {
    ($krate:ident, $cfg:expr, $partition:expr) => {
        $krate::Client::from_conf($crate::collect::capture::partitioned!($krate, $cfg, $partition).build())
    };
    ($krate:ident, $cfg:expr, $capture:expr, $partition:expr) => {
        $krate::Client::from_conf(
            $crate::collect::capture::partitioned!($krate, $cfg, $partition).interceptor($capture.clone()).build(),
        )
    };
}

/// The config builder of SDK crate `$krate` for `$cfg` in retry partition `$partition`.
macro_rules! partitioned {
    ($krate:ident, $cfg:expr, $partition:expr) => {
        $krate::config::Builder::from($cfg).retry_partition($krate::config::retry::RetryPartition::new(format!(
            "{}/{}",
            stringify!($krate),
            $partition
        )))
    };
}

/// One call of a non-paginated operation (on a [`client!`] of `$capture`) → its JSON
/// document, or an [`OpError`].
macro_rules! one {
    ($capture:expr, $action:expr, $request:expr) => {{
        $capture.take();
        match $request.send().await {
            Ok(_) => match $capture.take().pop() {
                Some(body) => $crate::collect::capture::merge_pages($action, &[body]),
                None => Err($crate::collect::capture::OpError::no_body($action)),
            },
            Err(e) => Err($crate::collect::capture::op_error($action, &e)),
        }
    }};
}

/// Every page of a paginated operation (the SDK's paginator, on a [`client!`] of
/// `$capture`) → one document with the lists concatenated, or an [`OpError`].
macro_rules! pages {
    ($capture:expr, $action:expr, $request:expr) => {{
        $capture.take();
        let mut merged = $crate::collect::capture::Pages::default();
        let mut stream = $request.into_paginator().send();
        'pages: {
            while let Some(page) = stream.next().await {
                if let Err(e) = page {
                    break 'pages Err($crate::collect::capture::op_error($action, &e));
                }
                if let Err(e) = merged.add_all($action, $capture.take()) {
                    break 'pages Err(e);
                }
            }
            Ok(merged.finish())
        }
    }};
}

/// Every page of an operation the SDK has no paginator for (EventBridge's `ListRules` and
/// `ListTargetsByRule`): `$request` is sent with each `NextToken` the previous page gave
/// until one gives none (or repeats it) → one document with the lists concatenated, or an
/// [`OpError`].
macro_rules! token_pages {
    ($capture:expr, $action:expr, $request:expr) => {{
        $capture.take();
        let mut merged = $crate::collect::capture::Pages::default();
        let mut token: Option<String> = None;
        'pages: loop {
            let out = match $request.set_next_token(token.clone()).send().await {
                Ok(out) => out,
                Err(e) => break 'pages Err($crate::collect::capture::op_error($action, &e)),
            };
            if let Err(e) = merged.add_all($action, $capture.take()) {
                break 'pages Err(e);
            }
            match out.next_token() {
                Some(next) if !next.is_empty() && token.as_deref() != Some(next) => token = Some(next.to_owned()),
                _ => break 'pages Ok(merged.finish()),
            }
        }
    }};
}

pub(crate) use {client, one, pages, partitioned, token_pages};

/// Page-token members, dropped from merged documents (the AWS CLI drops them too).
const TOKEN_KEYS: [&str; 3] = ["NextToken", "nextToken", "PaginationToken"];

/// Merges the JSON bodies of an operation's pages as they arrive (each body is dropped once
/// read): lists are concatenated in page order, other members come from the first page that
/// has them; page tokens are dropped.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    merged: serde_json::Map<String, Value>,
    count: usize,
}

impl Pages {
    /// Adds the next page's body.
    pub(crate) fn add(&mut self, action: &'static str, body: &[u8]) -> Result<(), OpError> {
        self.count += 1;
        let page: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Object(serde_json::Map::new())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| OpError::internal(action, format!("page {} is not JSON: {e}", self.count)))?
        };
        let Value::Object(page) = page else {
            return Err(OpError::internal(action, format!("page {} is not a JSON object", self.count)));
        };
        for (key, value) in page {
            if TOKEN_KEYS.contains(&key.as_str()) {
                continue;
            }
            match (self.merged.get_mut(&key), value) {
                (Some(Value::Array(have)), Value::Array(more)) => have.extend(more),
                (Some(_), _) => {}
                (None, value) => {
                    self.merged.insert(key, value);
                }
            }
        }
        Ok(())
    }

    /// Adds the bodies one page's call captured; none at all is an error (the body was not
    /// available to record).
    pub(crate) fn add_all(&mut self, action: &'static str, bodies: Vec<Vec<u8>>) -> Result<(), OpError> {
        if bodies.is_empty() {
            return Err(OpError::no_body(action));
        }
        bodies.iter().try_for_each(|body| self.add(action, body))
    }

    /// The merged document.
    pub(crate) fn finish(self) -> Value {
        Value::Object(self.merged)
    }
}

/// [`Pages`] over bodies already at hand.
pub(crate) fn merge_pages(action: &'static str, bodies: &[Vec<u8>]) -> Result<Value, OpError> {
    let mut pages = Pages::default();
    for body in bodies {
        pages.add(action, body)?;
    }
    Ok(pages.finish())
}

/// How a call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The caller lacks a permission (AccessDenied and relatives).
    Denied,
    /// No answer: DNS, connection, TLS or timeout.
    Unreachable,
    /// Anything else the service said.
    Other,
}

/// A failed call: the IAM action, the error code and AWS's message.
#[derive(Debug, Clone)]
pub struct OpError {
    /// The IAM action, e.g. `backup:ListBackupJobs`.
    pub action: &'static str,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The AWS error code (or HTTP status / transport cause).
    pub code: String,
    /// AWS's message, or the transport error.
    pub message: String,
}

impl OpError {
    pub(crate) fn internal(action: &'static str, message: impl Into<String>) -> Self {
        OpError { action, kind: FailureKind::Other, code: "InvalidResponse".into(), message: message.into() }
    }

    pub(crate) fn no_body(action: &'static str) -> Self {
        Self::internal(action, "the response body was not available to record")
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FailureKind::Denied => write!(
                f,
                "{}: access denied ({}: {}); grant {} to the collecting identity (README: IAM policy)",
                self.action, self.code, self.message, self.action
            ),
            FailureKind::Unreachable => write!(f, "{}: endpoint unreachable: {}", self.action, self.message),
            FailureKind::Other => write!(f, "{}: {}: {}", self.action, self.code, self.message),
        }
    }
}

fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "UnauthorizedOperation"
            | "UnauthorizedException"
            | "AuthorizationError"
            | "AccessDeniedForDependencyException"
    )
}

/// Classifies an SDK error of the call for `action`.
pub(crate) fn op_error<E>(action: &'static str, e: &SdkError<E, HttpResponse>) -> OpError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => OpError {
            action,
            kind: FailureKind::Unreachable,
            code: if matches!(e, SdkError::TimeoutError(_)) { "Timeout" } else { "DispatchFailure" }.into(),
            message: chain(e),
        },
        _ => {
            let code = e
                .code()
                .map(str::to_owned)
                .unwrap_or_else(|| status.map(|s| format!("HTTP {s}")).unwrap_or_else(|| "Unknown".into()));
            let denied = is_denied(&code) || (status == Some(403) && e.code().is_none());
            let message = e.message().map(str::to_owned).unwrap_or_else(|| chain(e));
            OpError { action, kind: if denied { FailureKind::Denied } else { FailureKind::Other }, code, message }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_concatenate_lists_and_drop_tokens() {
        let a = br#"{"BackupJobs":[{"BackupJobId":"1"}],"NextToken":"t1"}"#.to_vec();
        let b = br#"{"BackupJobs":[{"BackupJobId":"2"},{"BackupJobId":"3"}],"NextToken":"t2"}"#.to_vec();
        let c = br#"{"BackupJobs":[]}"#.to_vec();
        let merged = merge_pages("backup:ListBackupJobs", &[a, b, c]).unwrap();
        let ids: Vec<_> = merged["BackupJobs"].as_array().unwrap().iter().map(|j| j["BackupJobId"].clone()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert!(merged.get("NextToken").is_none());
    }

    #[test]
    fn bad_page_names_the_action_and_page() {
        let e = merge_pages("backup:ListCopyJobs", &[b"{}".to_vec(), b"<html>".to_vec()]).unwrap_err();
        assert_eq!(e.action, "backup:ListCopyJobs");
        assert!(e.message.contains("page 2"), "{}", e.message);
        let e = merge_pages("backup:ListCopyJobs", &[b"[1]".to_vec()]).unwrap_err();
        assert!(e.message.contains("not a JSON object"));
    }

    #[test]
    fn denied_message_says_what_to_grant() {
        let e = OpError {
            action: "backup:ListBackupJobs",
            kind: FailureKind::Denied,
            code: "AccessDeniedException".into(),
            message: "not authorized".into(),
        };
        let text = e.to_string();
        assert!(text.contains("grant backup:ListBackupJobs"), "{text}");
    }
}
