//! A tiny HTTP replay server for the AWS APIs moto does not have (Backup jobs, restore
//! testing, Audit Manager, account:ListRegions) or not in the shape a test needs (EventBridge
//! pages, SNS refusals): each request is answered by a test-supplied function from its
//! method, path, query, `X-Amz-Target`, body and SigV4 Region, with the bodies AWS sends.
//! Every request is recorded so tests can count calls (retries after throttling, pages).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// What the handler sees of a request.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The Region of the SigV4 credential scope.
    pub region: String,
    /// The access key id that signed the request.
    pub access_key: String,
    /// `X-Amz-Target` (JSON 1.1 services such as EventBridge: `AWSEvents.ListRules`).
    pub target: String,
    pub body: String,
}

/// A canned answer.
pub struct Resp {
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(body: impl Into<String>) -> Self {
        Resp { status: 200, error_type: None, content_type: "application/json", body: body.into().into_bytes() }
    }
    /// A Smithy RPC v2 CBOR answer (CloudWatch).
    pub fn cbor(body: Vec<u8>) -> Self {
        Resp { status: 200, error_type: None, content_type: "application/cbor", body }
    }
    /// An AWS Query (STS) answer or error.
    pub fn xml(status: u16, body: String) -> Self {
        Resp { status, error_type: None, content_type: "text/xml", body: body.into_bytes() }
    }
    pub fn error(status: u16, code: &'static str, message: &str) -> Self {
        let body = format!(r#"{{"__type":"{code}","message":"{message}"}}"#).into_bytes();
        Resp { status, error_type: Some(code), content_type: "application/json", body }
    }
}

type Handler = dyn Fn(&Req, usize) -> Resp + Send + Sync;

/// The running server; dropped with the test process.
pub struct Replay {
    pub url: String,
    pub log: Arc<Mutex<Vec<Req>>>,
}

impl Replay {
    /// Starts the server; `handler(request, n)` gets the request and how many requests with
    /// the same method and path came before it (for "throttle once, then answer").
    pub fn start(handler: impl Fn(&Req, usize) -> Resp + Send + Sync + 'static) -> Replay {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("replay server binds");
        let url = format!("http://{}", server.server_addr().to_ip().expect("ip address"));
        let log: Arc<Mutex<Vec<Req>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for mut request in server.incoming_requests() {
                let raw = request.url().to_owned();
                let (path, query) = raw.split_once('?').unwrap_or((&raw, ""));
                let query = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
                let header = |name: &'static str| {
                    request
                        .headers()
                        .iter()
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.as_str().to_owned())
                        .unwrap_or_default()
                };
                let (auth, target) = (header("authorization"), header("x-amz-target"));
                // Credential=AKID/date/region/service/aws4_request
                let scope: Vec<&str> =
                    auth.split("Credential=").nth(1).unwrap_or("").split(',').next().unwrap_or("").split('/').collect();
                let mut bytes = Vec::new();
                let _ = std::io::Read::read_to_end(request.as_reader(), &mut bytes);
                let body = String::from_utf8_lossy(&bytes).into_owned();
                let req = Req {
                    method: request.method().to_string(),
                    path: percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned(),
                    query,
                    region: scope.get(2).unwrap_or(&"").to_string(),
                    access_key: scope.first().unwrap_or(&"").to_string(),
                    target,
                    body,
                };
                let n = {
                    let mut log = log2.lock().unwrap();
                    let n = log
                        .iter()
                        .filter(|r| r.method == req.method && r.path == req.path && r.region == req.region)
                        .count();
                    log.push(req.clone());
                    n
                };
                let resp = handler(&req, n);
                let mut response = tiny_http::Response::from_data(resp.body)
                    .with_status_code(resp.status)
                    .with_header(format!("Content-Type: {}", resp.content_type).parse::<tiny_http::Header>().unwrap())
                    .with_header(
                        "x-amzn-RequestId: 00000000-0000-0000-0000-000000000000".parse::<tiny_http::Header>().unwrap(),
                    );
                if resp.content_type == "application/cbor" {
                    response =
                        response.with_header("smithy-protocol: rpc-v2-cbor".parse::<tiny_http::Header>().unwrap());
                }
                if let Some(t) = resp.error_type {
                    response =
                        response.with_header(format!("x-amzn-ErrorType: {t}").parse::<tiny_http::Header>().unwrap());
                }
                let _ = request.respond(response);
            }
        });
        Replay { url, log }
    }

    /// Requests so far matching method and path (any Region).
    pub fn count(&self, method: &str, path: &str, region: &str) -> usize {
        self.log.lock().unwrap().iter().filter(|r| r.method == method && r.path == path && r.region == region).count()
    }

    /// All requests so far.
    pub fn requests(&self) -> Vec<Req> {
        self.log.lock().unwrap().clone()
    }
}
