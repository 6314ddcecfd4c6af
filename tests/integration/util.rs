//! Test helpers: parse bytes into records, run the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub use dora_evidence::ingest::VecSink;
use dora_evidence::ingest::{self, ArtifactKind, Context, Format, Input, PathHint};

/// Every file below `dir`, as sorted relative paths.
pub fn files_under(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Parses bytes as the build would, with a path for hints.
pub fn parse_bytes(bytes: &[u8], relative: &str) -> (ArtifactKind, Format, VecSink) {
    let mut sink = VecSink::default();
    let ctx = Context {
        artifact: 0,
        file_name: relative.rsplit('/').next().unwrap_or("").to_owned(),
        hint: PathHint::from_path(relative),
    };
    let (kind, format) = ingest::parse(Input::Bytes(bytes), &ctx, &mut sink).expect("no I/O in memory");
    (kind, format, sink)
}

/// Parses a fixture file; also parses it in streaming mode and checks both agree.
/// [`parse_fixture`] for a valid fixture: it must be recognised as `kind` and give no error.
pub fn parse_clean(rel: &str, kind: ArtifactKind) -> VecSink {
    let (got, _, sink) = parse_fixture(rel);
    assert_eq!(got, kind, "{rel}: kind");
    assert!(sink.errors.is_empty(), "{rel}: {:?}", sink.errors);
    sink
}

pub fn parse_fixture(rel: &str) -> (ArtifactKind, Format, VecSink) {
    let path = fixture(rel);
    let bytes = std::fs::read(&path).unwrap();
    let (kind, format, sink) = parse_bytes(&bytes, rel);
    let mut streamed = VecSink::default();
    let ctx = Context {
        artifact: 0,
        file_name: rel.rsplit('/').next().unwrap_or("").to_owned(),
        hint: PathHint::from_path(rel),
    };
    let (k2, f2) = ingest::parse(Input::File(&path), &ctx, &mut streamed).unwrap();
    assert_eq!((kind, format), (k2, f2), "{rel}: streaming and in-memory disagree on kind");
    assert_eq!(sink.records, streamed.records, "{rel}: streaming and in-memory records differ");
    assert_eq!(sink.errors.len(), streamed.errors.len(), "{rel}: streaming and in-memory errors differ");
    (kind, format, sink)
}

/// Runs an external tool in `cwd`; returns (success, stdout + stderr). A missing tool fails
/// the test (scripts/test.sh installs them).
pub fn tool(cmd: &str, args: &[&str], cwd: &Path) -> (bool, String) {
    let o = Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is needed by this test (scripts/test.sh installs it): {e}"));
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// Fails (never skips) when a Python module the test needs is missing.
pub fn require_python_module(module: &str, install: &str) {
    let ok = Command::new("python3").args(["-c", &format!("import {module}")]).status().is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 module '{module}' is needed by this test: run scripts/test.sh or `python3 -m pip install {install}`"
    );
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dora-evidence"))
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

/// `dora-evidence build --input <input> --period 2026-Q3 --out <out> <extra…>`.
/// The bundled sample folder (`samples/`).
pub fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// Builds the sample quarter into `out` with its config, generated at a fixed time.
pub fn build_sample(out: &Path) {
    let config = samples().join("dora-evidence.toml");
    let args = ["--config", config.to_str().unwrap(), "--generated-at", "2026-10-05T08:00:00Z"];
    let o = build_q3(&samples().join("input"), out, &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// A folder for a fixture the tests of this process share (held by a `static`, which a
/// `TempDir` must not be: it would never be removed); see `dora_evidence_samples::scratch`.
pub fn shared_dir(name: &str) -> PathBuf {
    dora_evidence_samples::scratch::shared_dir(name).unwrap()
}

/// One unsigned sample package shared by every test that only reads it.
pub fn sample_package() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let pkg = shared_dir("sample-package").join("pkg");
        build_sample(&pkg);
        pkg
    })
}

pub fn build_q3(input: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args =
        vec!["build", "--input", input.to_str().unwrap(), "--period", "2026-Q3", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Reads a CSV into header + rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = r.headers().unwrap().iter().map(str::to_owned).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(str::to_owned).collect()).collect();
    (header, rows)
}

/// Column value by name.
pub fn col<'a>(header: &[String], row: &'a [String], name: &str) -> &'a str {
    let i = header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    &row[i]
}

/// The moto server for S3/KMS/STS tests: the one `scripts/test.sh` started
/// (`DORA_TEST_MOTO_ENDPOINT`), else one started here on a free 127.0.0.1 port that stops
/// when the test process ends. Fails (never skips) when moto is not installed.
/// An S3 client for the moto server at `endpoint` (path-style, test credentials).
pub fn moto_s3(endpoint: &str) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("eu-central-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "test"))
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// Creates a bucket in eu-central-1.
pub async fn create_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let cfg = CreateBucketConfiguration::builder()
        .location_constraint(BucketLocationConstraint::from("eu-central-1"))
        .build();
    s3.create_bucket().bucket(bucket).create_bucket_configuration(cfg).send().await.unwrap();
}

/// `parent/name`, created, holding one file `file` with `contents`.
pub fn dir_with_file(parent: &Path, name: &str, file: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(file), contents).unwrap();
    dir
}

/// Puts `body` at `bucket`/`key` (with a SHA-256 checksum, as an honest writer would).
pub async fn put_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
    let body = aws_sdk_s3::primitives::ByteStream::from(body.into());
    let sha = aws_sdk_s3::types::ChecksumAlgorithm::Sha256;
    s3.put_object().bucket(bucket).key(key).body(body).checksum_algorithm(sha).send().await.unwrap();
}

/// The binary, pointed at the moto server at `endpoint` with test credentials.
pub fn bin_on_moto(endpoint: &str) -> Command {
    let mut cmd = bin();
    cmd.envs([
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "eu-central-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    cmd
}

/// Uploads `samples/input` under `quarter/` of a new versioned bucket.
pub fn upload_sample_quarter(endpoint: &str, bucket: &str) {
    use futures_util::StreamExt as _;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let s3 = moto_s3(endpoint);
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/input");
    let files: Vec<_> = walkdir::WalkDir::new(&input)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(&input).unwrap().to_string_lossy().into_owned(), e.into_path()))
        .collect();
    rt.block_on(async {
        create_bucket(&s3, bucket).await;
        let versioning = aws_sdk_s3::types::VersioningConfiguration::builder()
            .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
            .build();
        s3.put_bucket_versioning().bucket(bucket).versioning_configuration(versioning).send().await.unwrap();
        futures_util::stream::iter(files.iter().map(|(rel, path)| {
            let s3 = &s3;
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("quarter/{rel}"))
                    .body(aws_sdk_s3::primitives::ByteStream::from_path(path).await.unwrap())
                    .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                    .send()
                    .await
                    .unwrap();
            }
        }))
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    });
}

/// `build` of the sample quarter from `url`, with the SDK's own retries off (AWS_MAX_ATTEMPTS=1):
/// every fault then reaches the program's retry loop, the stricter case, and the test needs
/// no SDK back-off (about a second per retry); the loop's back-off is shortened to 5 ms.
pub fn moto_endpoint() -> String {
    static ENDPOINT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ENDPOINT
        .get_or_init(|| {
            if let Ok(e) = std::env::var("DORA_TEST_MOTO_ENDPOINT") {
                return e;
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            // A watchdog shell stops moto when this process (its parent) is gone.
            let script = format!(
                "python3 -m moto.server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
                 while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $m",
                parent = std::process::id()
            );
            // Never waited for: it outlives this process by design and stops moto then.
            #[allow(clippy::zombie_processes)]
            Command::new("sh").args(["-c", &script]).spawn().expect("sh runs");
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..150 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return url;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            panic!("moto did not start on {url}: install it with `pip install 'moto[server]==5.2.5'` or run scripts/test.sh");
        })
        .clone()
}
