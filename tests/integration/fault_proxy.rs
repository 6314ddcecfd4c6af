//! A fault-injecting HTTP/1.1 proxy between the binary and moto, for the flaky-network tests.
//!
//! It listens on 127.0.0.1:0 (threads and `std::net` only) and forwards each request to the
//! upstream server on a fresh connection. On a fixed share of requests it injects one fault
//! instead:
//! * `SlowDown`: HTTP 503 with an S3 XML error body (`<Code>SlowDown</Code>`);
//! * `Internal`: HTTP 500 with `<Code>InternalError</Code>`;
//! * `Reset`: the connection is closed with the request unread (the kernel answers RST);
//! * `Truncate`: the real response, with its full Content-Length, but only the first half
//!   of the body, then the connection closes.
//!
//! Which requests fail is decided by a hash of the seed, the request line (method and URI) and
//! how often that request line has been seen, never by timing or thread order: the same
//! request gets the same treatment in every run, however the binary's concurrent downloads
//! interleave. `max_consecutive` bounds the faults in a row for one request line, so a plan
//! can be flaky yet survivable (or, with [`Plan::always`], fail everything). Every injected
//! fault is counted. The proxy stops accepting when dropped; every socket has a timeout.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 SlowDown.
    SlowDown,
    /// 500 InternalError.
    Internal,
    /// Connection reset, no response.
    Reset,
    /// Body cut off halfway, Content-Length announcing the whole.
    Truncate,
}

const KINDS: [Fault; 4] = [Fault::SlowDown, Fault::Internal, Fault::Reset, Fault::Truncate];

/// What to inject.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Seed of the choices.
    pub seed: u64,
    /// Requests faulted, per thousand.
    pub per_mille: u64,
    /// At most this many faults in a row for one request line.
    pub max_consecutive: u32,
    /// Fault every request with this kind instead of choosing.
    pub always: Option<Fault>,
    /// Only requests for an object (path-style `/bucket/key`), never bucket-level calls
    /// such as ListObjectsV2.
    pub objects_only: bool,
}

impl Plan {
    /// `per_mille` of the requests fail, with kinds chosen evenly; at most
    /// `max_consecutive` faults in a row for the same request line.
    pub fn flaky(seed: u64, per_mille: u64, max_consecutive: u32) -> Self {
        Plan { seed, per_mille, max_consecutive, always: None, objects_only: false }
    }

    /// Every request fails with `fault`.
    pub fn always(fault: Fault) -> Self {
        Plan { seed: 0, per_mille: 1000, max_consecutive: u32::MAX, always: Some(fault), objects_only: false }
    }
}

/// What the proxy did.
#[derive(Debug, Default)]
pub struct Counts {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests forwarded and answered unchanged.
    pub forwarded: AtomicU64,
    /// 503 SlowDown injected.
    pub slow_down: AtomicU64,
    /// 500 InternalError injected.
    pub internal: AtomicU64,
    /// Connections reset.
    pub reset: AtomicU64,
    /// Bodies cut off.
    pub truncated: AtomicU64,
}

/// A snapshot of [`Counts`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub requests: u64,
    pub forwarded: u64,
    pub slow_down: u64,
    pub internal: u64,
    pub reset: u64,
    pub truncated: u64,
}

impl Tally {
    /// Faults injected, all kinds.
    pub fn faults(&self) -> u64 {
        self.slow_down + self.internal + self.reset + self.truncated
    }
}

struct Shared {
    plan: Plan,
    upstream: SocketAddr,
    counts: Counts,
    /// Times each request line was seen.
    seen: Mutex<HashMap<String, u32>>,
}

/// The running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    accept: Option<std::thread::JoinHandle<()>>,
}

const IO_TIMEOUT: Duration = Duration::from_secs(30);

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, plan: Plan) -> FaultProxy {
        let hostport = upstream.trim_start_matches("http://").trim_end_matches('/');
        let upstream: SocketAddr = hostport.parse().unwrap_or_else(|e| panic!("upstream {hostport}: {e}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared { plan, upstream, counts: Counts::default(), seen: Mutex::new(HashMap::new()) });
        let (stop2, shared2) = (stop.clone(), shared.clone());
        let accept = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let shared = shared2.clone();
                        std::thread::spawn(move || {
                            let _ = serve(conn, &shared);
                        });
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FaultProxy { addr, stop, shared, accept: Some(accept) }
    }

    /// `http://127.0.0.1:port`, for AWS_ENDPOINT_URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What was done so far.
    pub fn tally(&self) -> Tally {
        let c = &self.shared.counts;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Tally {
            requests: l(&c.requests),
            forwarded: l(&c.forwarded),
            slow_down: l(&c.slow_down),
            internal: l(&c.internal),
            reset: l(&c.reset),
            truncated: l(&c.truncated),
        }
    }

    /// Requests whose request line, percent-decoded, contains `needle`.
    pub fn requests_matching(&self, needle: &str) -> u32 {
        let seen = self.shared.seen.lock().unwrap();
        let decoded = |line: &str| percent_encoding::percent_decode_str(line).decode_utf8_lossy().into_owned();
        seen.iter().filter(|(line, _)| decoded(line).contains(needle)).map(|(_, n)| *n).sum()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn mix(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    // splitmix64 finaliser
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The fault for the `nth` (0-based) occurrence of `line`, if any.
fn choose(plan: &Plan, line: &str, nth: u32) -> Option<Fault> {
    if plan.objects_only {
        let path = line.split(' ').nth(1).unwrap_or("").split('?').next().unwrap_or("");
        let segments = path.trim_start_matches('/').splitn(2, '/').filter(|s| !s.is_empty()).count();
        if segments < 2 {
            return None;
        }
    }
    if let Some(f) = plan.always {
        return Some(f);
    }
    if nth >= plan.max_consecutive {
        return None;
    }
    let h = mix(0xcbf2_9ce4_8422_2325 ^ plan.seed, format!("{line}#{nth}").as_bytes());
    (h % 1000 < plan.per_mille).then(|| KINDS[((h / 1000) % 4) as usize])
}

/// Position just past `\r\n\r\n` in `buf`.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

fn content_length(head: &str) -> usize {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Head with any `Connection` header replaced by `Connection: close`.
fn with_close(head: &str) -> String {
    let mut out = String::new();
    for line in head.trim_end_matches("\r\n").split("\r\n") {
        if line.split_once(':').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("connection")) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    out
}

fn xml_error(status: &str, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>FAULTPROXY</RequestId></Error>"
    );
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Serves one connection: one request, then close.
fn serve(mut conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(IO_TIMEOUT))?;
    conn.set_write_timeout(Some(IO_TIMEOUT))?;
    // Peek at the head without consuming it, so that a reset leaves it unread (RST, not FIN).
    let mut peek = vec![0u8; 64 * 1024];
    let mut end = None;
    for _ in 0..5_000 {
        let n = conn.peek(&mut peek)?;
        if n == 0 {
            return Ok(());
        }
        if let Some(e) = head_end(&peek[..n]) {
            end = Some(e);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let Some(end) = end else { return Ok(()) };
    let head = String::from_utf8_lossy(&peek[..end]).into_owned();
    let line = head.lines().next().unwrap_or("").to_owned();
    let line = line.rsplit_once(' ').map_or(line.as_str(), |(l, _)| l).to_owned();
    let counts = &shared.counts;
    counts.requests.fetch_add(1, Ordering::Relaxed);
    let nth = {
        let mut seen = shared.seen.lock().unwrap();
        let n = seen.entry(line.clone()).or_insert(0);
        *n += 1;
        *n - 1
    };
    let fault = choose(&shared.plan, &line, nth);
    if fault == Some(Fault::Reset) {
        counts.reset.fetch_add(1, Ordering::Relaxed);
        drop(conn);
        return Ok(());
    }
    // Consume the request: head and body.
    let mut request = vec![0u8; end];
    conn.read_exact(&mut request)?;
    let mut body = vec![0u8; content_length(&head)];
    conn.read_exact(&mut body)?;
    match fault {
        Some(Fault::SlowDown) => {
            counts.slow_down.fetch_add(1, Ordering::Relaxed);
            return conn.write_all(&xml_error("503 Slow Down", "SlowDown", "Please reduce your request rate."));
        }
        Some(Fault::Internal) => {
            counts.internal.fetch_add(1, Ordering::Relaxed);
            return conn.write_all(&xml_error(
                "500 Internal Server Error",
                "InternalError",
                "We encountered an internal error. Please try again.",
            ));
        }
        _ => {}
    }
    let mut up = TcpStream::connect_timeout(&shared.upstream, IO_TIMEOUT)?;
    up.set_read_timeout(Some(IO_TIMEOUT))?;
    up.set_write_timeout(Some(IO_TIMEOUT))?;
    up.write_all(with_close(&head).as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let Some(rend) = head_end(&response) else {
        return conn.write_all(&response);
    };
    let rhead = String::from_utf8_lossy(&response[..rend]).into_owned();
    let rbody = &response[rend..];
    let head_out = with_close(&rhead);
    if fault == Some(Fault::Truncate) {
        if rbody.len() >= 2 {
            counts.truncated.fetch_add(1, Ordering::Relaxed);
            conn.write_all(head_out.as_bytes())?;
            conn.write_all(&rbody[..rbody.len() / 2])?;
            conn.flush()?;
            return conn.shutdown(std::net::Shutdown::Both);
        }
        // Nothing to cut: fail it another way.
        counts.internal.fetch_add(1, Ordering::Relaxed);
        return conn.write_all(&xml_error("500 Internal Server Error", "InternalError", "Empty body to cut."));
    }
    counts.forwarded.fetch_add(1, Ordering::Relaxed);
    conn.write_all(head_out.as_bytes())?;
    conn.write_all(rbody)?;
    conn.flush()
}

#[test]
fn choices_are_deterministic_bounded_and_cover_every_kind() {
    let plan = Plan::flaky(7, 150, 2);
    let lines: Vec<String> = (0..2_000).map(|i| format!("GET /bucket/key-{i}?x-id=GetObject")).collect();
    let mut by_kind = HashMap::new();
    for line in &lines {
        let first: Vec<_> = (0..5).map(|n| choose(&plan, line, n)).collect();
        assert_eq!(first, (0..5).map(|n| choose(&plan, line, n)).collect::<Vec<_>>(), "not deterministic");
        assert!(first[2..].iter().all(Option::is_none), "more than 2 faults in a row: {first:?}");
        if let Some(f) = first[0] {
            *by_kind.entry(format!("{f:?}")).or_insert(0) += 1;
        }
    }
    let total: i32 = by_kind.values().sum();
    assert!((200..400).contains(&total), "{total} of 2000 faulted at 15 %");
    assert_eq!(by_kind.len(), 4, "{by_kind:?}");
    let only = Plan { objects_only: true, ..Plan::always(Fault::SlowDown) };
    assert_eq!(choose(&only, "GET /bucket?list-type=2&prefix=q%2F", 0), None);
    assert_eq!(choose(&only, "GET /bucket/q/a.csv?x-id=GetObject", 9), Some(Fault::SlowDown));
}
