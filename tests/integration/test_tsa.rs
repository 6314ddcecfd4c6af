//! The test TSA: `scripts/test_tsa.py` (a real `openssl ts -reply` behind a small HTTP
//! server, with its own throw-away CA) started on a free 127.0.0.1 port for one test and
//! stopped when the test drops it.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use super::util::{shared_dir, tool};

/// A running test TSA. Its URL paths ask for faults (`/503`, `/slow`, `/no-eku`, …; see the
/// script's header).
pub struct TestTsa {
    child: Child,
    /// Held open: the server stops when this closes (`--exit-on-stdin-eof`), so even a
    /// test that panics before `drop` leaves nothing running.
    _stdin: ChildStdin,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    dir: PathBuf,
    /// Removes `dir` on drop; `None` for a TSA held by a `static` (see [`TestTsa::shared`]).
    _temp: Option<tempfile::TempDir>,
}

impl TestTsa {
    /// Starts a TSA whose `/slow` path answers after `slow_secs`.
    pub fn start_with_slow(slow_secs: u32) -> TestTsa {
        TestTsa::spawn(slow_secs, false, None)
    }

    /// As [`TestTsa::start`], for a TSA a `static` holds: its PKI goes to a shared folder
    /// (`util::shared_dir`), since a `static` is never dropped.
    pub fn shared(name: &str) -> TestTsa {
        TestTsa::spawn(30, false, Some(shared_dir(name)))
    }

    /// Starts a TSA that speaks HTTPS only (certificate `tls.pem` for 127.0.0.1) and requires
    /// a client certificate issued by its CA (`client.pem` / `client.key`).
    pub fn start_tls() -> TestTsa {
        TestTsa::spawn(30, true, None)
    }

    fn spawn(slow_secs: u32, tls: bool, shared: Option<PathBuf>) -> TestTsa {
        let (dir, temp) = match shared {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::tempdir().unwrap();
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test_tsa.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(dir.join("pki"))
            .args(["--slow", &slow_secs.to_string(), "--exit-on-stdin-eof"])
            .args(if tls { &["--tls"][..] } else { &[] })
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("python3 is needed for the test TSA: {e}"));
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().to_owned();
        assert!(
            url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
            "the test TSA did not start: {url:?}"
        );
        TestTsa { child, _stdin: stdin, url, dir, _temp: temp }
    }

    /// Starts a TSA whose `/slow` path answers after 30 s.
    pub fn start() -> TestTsa {
        TestTsa::start_with_slow(30)
    }

    /// A file of the TSA's test PKI (`client.pem`, `client.key`, …).
    pub fn pki(&self, name: &str) -> PathBuf {
        self.dir.join("pki").join(name)
    }

    /// The URL of fault `path` (`"/no-eku"`), or of the correct TSA for `"/"`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// The TSA's CA certificate (PEM): the trust anchor for `--tsa-ca` and `openssl ts -verify`.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("pki/ca.pem")
    }

    /// The TSA's own certificate (PEM).
    pub fn cert(&self) -> PathBuf {
        self.dir.join("pki/tsa.pem")
    }

    /// A document signer issued by the same CA, naming the server's CRL: (key, chain PEM).
    pub fn signer(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("pki/signer.key"), self.dir.join("pki/signer-chain.pem"))
    }

    /// The CA's CRL (DER), as the server serves it at `/crl/ca.crl`.
    pub fn crl(&self) -> PathBuf {
        self.dir.join("pki/ca.crl")
    }
}

impl Drop for TestTsa {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unused 127.0.0.1 URL: nothing listens there (a TSA that is down).
pub fn down_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}/")
}

/// The test TSA is a real RFC 3161 TSA for openssl, and each fault path is a fault openssl
/// names too — so the fault tests of our client test real faults, not our own idea of them.
#[test]
fn the_test_tsa_answers_openssl_and_its_faults_are_real() {
    let tsa = TestTsa::start();
    let work = tempfile::tempdir().unwrap();
    let cwd = work.path();
    std::fs::write(cwd.join("data"), b"hello").unwrap();
    let (ok, out) = tool("openssl", &["ts", "-query", "-data", "data", "-sha256", "-cert", "-out", "q.tsq"], cwd);
    assert!(ok, "{out}");
    let (ca, cert) = (tsa.ca(), tsa.cert());
    let query = std::fs::read(cwd.join("q.tsq")).unwrap();
    for (path, expected) in [
        ("/", "Verification: OK"),
        ("/wrong-imprint", "message imprint mismatch"),
        ("/no-nonce", "nonce not returned"),
        ("/no-eku", "unsuitable certificate purpose"),
        ("/bad-signature", "signature failure"),
        ("/reject", "rejection"),
    ] {
        let reply = post(&tsa.at(path), &query);
        std::fs::write(cwd.join("r.tsr"), reply).unwrap();
        let args = ["ts", "-verify", "-queryfile", "q.tsq", "-in", "r.tsr", "-CAfile"];
        let mut args: Vec<&str> = args.to_vec();
        args.extend([ca.to_str().unwrap(), "-untrusted", cert.to_str().unwrap()]);
        let (_, out) = tool("openssl", &args, cwd);
        assert!(out.contains(expected), "{path}: {out}");
    }
}

/// POSTs a query with curl (an independent client) and returns the body.
fn post(url: &str, query: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("q"), query).unwrap();
    let o = Command::new("curl")
        .args(["-sf", "-H", "Content-Type: application/timestamp-query", "--data-binary", "@q", url])
        .current_dir(dir.path())
        .output()
        .expect("curl runs");
    assert!(o.status.success(), "curl {url}: {}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}
