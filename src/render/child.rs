//! The report laid out in a child process: this program again, as the hidden `render-report`
//! command.
//!
//! Typst's fonts, layout and PDF export take 100–200 MiB whatever the quarter's size. In a
//! child process that memory is not added to the build's own peak (which comes earlier, while
//! observations are merged), and the fonts are parsed while the build still reads its inputs:
//! the child is started first and waits for its request on stdin.
//!
//! The request is one JSON line (attachments, template folder, time, document id, length of
//! the data) followed by `data.json`'s bytes; the answer is the PDF on stdout. A failure comes
//! back on stderr as one tagged line, so the parent reports it as [`RenderError`] with the same
//! words an in-process render would use.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde::{Deserialize, Serialize};

use super::{RenderError, RenderOptions, Sources};
use crate::time::Timestamp;

/// The hidden subcommand the child runs.
pub const COMMAND: &str = "render-report";

/// What the parent sends before the data bytes.
#[derive(Debug, Serialize, Deserialize)]
struct Request {
    files: Vec<(String, PathBuf)>,
    templates: Option<PathBuf>,
    generated_at_ms: i64,
    ident: String,
    data_len: usize,
}

/// A started child, waiting for its request.
#[derive(Debug)]
pub(super) struct Started {
    child: Option<Child>,
}

/// Starts `exe render-report`.
pub(super) fn start(exe: &std::path::Path) -> Result<Started, RenderError> {
    let child = Command::new(exe)
        .arg(COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RenderError::Child(format!("cannot start {} {COMMAND}: {e}", exe.display())))?;
    Ok(Started { child: Some(child) })
}

impl Started {
    /// Sends the request and waits for the PDF.
    pub(super) fn render(mut self, opts: &RenderOptions<'_>) -> Result<Vec<u8>, RenderError> {
        let mut child = self.child.take().ok_or_else(|| RenderError::Child("render child already used".into()))?;
        let request = Request {
            files: opts.attachments.iter().map(|a| (a.name.clone(), a.path.clone())).collect(),
            templates: opts.templates.map(std::path::Path::to_path_buf),
            generated_at_ms: opts.generated_at.0,
            ident: opts.ident.clone(),
            data_len: opts.data.len(),
        };
        let mut stdin = child.stdin.take().ok_or_else(|| RenderError::Child("render child has no stdin".into()))?;
        let sent = serde_json::to_writer(&mut stdin, &request)
            .map_err(io::Error::other)
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.write_all(&opts.data));
        drop(stdin);
        let out = child.wait_with_output().map_err(|e| RenderError::Child(format!("render child: {e}")))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // A child that got no request (the parent's write failed at once) exits 0 with no PDF.
        if out.status.success() && !out.stdout.is_empty() {
            if let Some(kib) = stderr.lines().find_map(|l| l.strip_prefix("peak-rss-kib ")) {
                tracing::info!("render child process peak RSS: {} MiB", kib.trim().parse::<u64>().unwrap_or(0) / 1024);
            }
            return Ok(out.stdout);
        }
        Err(failure(&stderr).unwrap_or_else(|| {
            let why = sent.err().map(|e| format!(" (sending the request: {e})")).unwrap_or_default();
            RenderError::Child(format!("render child exited with {} and no PDF{why}: {}", out.status, stderr.trim()))
        }))
    }
}

impl Drop for Started {
    /// A build that fails before its report closes the child's stdin: it exits at once.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

/// The error a child reported, from its tagged stderr line.
fn failure(stderr: &str) -> Option<RenderError> {
    let (tag, rest) = stderr.split_once('\t')?;
    match tag {
        "read" => {
            let (path, message) = rest.split_once('\t')?;
            Some(RenderError::Read { path: path.into(), source: io::Error::other(message.trim_end().to_owned()) })
        }
        "template" => Some(RenderError::Template(rest.trim_end().to_owned())),
        _ => None,
    }
}

/// The child's side: reads the request from stdin, writes the PDF to stdout. Returns the
/// process exit code (0, or 3 after a tagged failure line on stderr).
pub fn serve() -> u8 {
    // The fonts are parsed while the parent is still reading its inputs.
    super::preload();
    let mut input = Vec::new();
    if io::stdin().lock().read_to_end(&mut input).is_err() || input.is_empty() {
        return 0; // the build ended before its report
    }
    let result = split_request(&input).and_then(|(req, data)| {
        let files: Vec<(&str, &std::path::Path)> = req.files.iter().map(|(n, p)| (n.as_str(), p.as_path())).collect();
        let sources = Sources { data, files: &files, templates: req.templates.as_deref() };
        super::compile(&sources, Timestamp(req.generated_at_ms), &req.ident)
    });
    match result {
        Ok(pdf) => {
            if io::stdout().lock().write_all(&pdf).and_then(|()| io::stdout().flush()).is_err() {
                eprintln!("template\tcannot write the PDF to the parent process");
                return 3;
            }
            if let Some(kib) = crate::progress::peak_rss_kib() {
                eprintln!("peak-rss-kib {kib}");
            }
            0
        }
        Err(RenderError::Read { path, source }) => {
            eprintln!("read\t{}\t{source}", path.display());
            3
        }
        Err(e) => {
            let message = match e {
                RenderError::Template(m) | RenderError::Child(m) => m,
                other => other.to_string(),
            };
            eprintln!("template\t{message}");
            3
        }
    }
}

fn split_request(input: &[u8]) -> Result<(Request, &[u8]), RenderError> {
    let bad = |why: &str| RenderError::Child(format!("bad request from the parent process: {why}"));
    let end = input.iter().position(|&b| b == b'\n').ok_or_else(|| bad("no header line"))?;
    let req: Request = serde_json::from_slice(&input[..end]).map_err(|e| bad(&e.to_string()))?;
    let data = &input[end + 1..];
    if data.len() != req.data_len {
        return Err(bad(&format!("{} data bytes, {} announced", data.len(), req.data_len)));
    }
    Ok((req, data))
}
