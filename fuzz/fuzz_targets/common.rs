//! Shared by the ingest targets: parse bytes as the build would, under a file name that
//! steers classification, in memory and streamed from a file; both must agree.

use dora_evidence::evidence::Record;
use dora_evidence::ingest::{self, Context, Input, PathHint, Sink};

#[derive(Default)]
pub struct Count {
    pub records: usize,
    pub errors: usize,
}

impl Sink for Count {
    fn record(&mut self, _record: Record) {
        self.records += 1;
    }
    fn error(&mut self, _locator: String, _message: String) {
        self.errors += 1;
    }
}

pub fn parse_as(bytes: &[u8], relative: &str) {
    let name = relative.rsplit('/').next().unwrap_or("").to_owned();
    let ctx = Context { artifact: 0, file_name: name, hint: PathHint::from_path(relative) };
    let mut memory = Count::default();
    let kind = ingest::parse(Input::Bytes(bytes), &ctx, &mut memory).expect("no I/O in memory");
    // The streaming path (large files) must classify the same way.
    let dir = std::env::temp_dir().join(format!("dora-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input");
    if std::fs::write(&path, bytes).is_ok() {
        let mut streamed = Count::default();
        if let Ok(k) = ingest::parse(Input::File(&path), &ctx, &mut streamed) {
            assert_eq!(k, kind, "streaming and in-memory disagree on the kind");
            assert_eq!(streamed.records, memory.records, "streaming and in-memory disagree on records");
        }
    }
}
