//! Output plumbing for the sample generator: files that count their bytes, and the text of
//! timestamps and ids in the shapes AWS writes them.
//!
//! Every byte the generator writes goes through [`Out`], so the summary's file and byte
//! counts are exact and no file is left half-written on success.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Timelike};
use serde::{Serialize, Serializer};

use crate::quarter::Quarter;

/// Milliseconds in a day, an hour, a minute.
pub(crate) const DAY: i64 = 86_400_000;
pub(crate) const HOUR: i64 = 3_600_000;
pub(crate) const MIN: i64 = 60_000;

/// The output tree: root folder and running totals.
pub(crate) struct Out {
    root: PathBuf,
    /// The quarter written: every time and date is written through [`Quarter::at`].
    pub(crate) quarter: Quarter,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    pub(crate) job_rows: u64,
}

impl Out {
    pub(crate) fn new(root: &Path, quarter: Quarter) -> Self {
        Out { root: root.to_path_buf(), quarter, files: 0, bytes: 0, job_rows: 0 }
    }

    /// Creates `rel` (and its folders) for writing.
    pub(crate) fn create(&self, rel: &str) -> io::Result<Sink> {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        Ok(Sink { w: BufWriter::with_capacity(1 << 16, Counted { file: File::create(&path)?, n: 0 }) })
    }

    /// Flushes a file opened with [`Out::create`] and counts it.
    pub(crate) fn finish(&mut self, mut sink: Sink) -> io::Result<()> {
        sink.w.flush()?;
        self.files += 1;
        self.bytes += sink.w.get_ref().n;
        Ok(())
    }

    /// Writes a whole small file.
    pub(crate) fn write_file(&mut self, rel: &str, bytes: &[u8]) -> io::Result<()> {
        let mut sink = self.create(rel)?;
        sink.write_all(bytes)?;
        self.finish(sink)
    }

    /// Writes a small JSON document pretty-printed with four spaces, as the AWS CLI does.
    pub(crate) fn write_json<T: Serialize>(&mut self, rel: &str, value: &T) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1024);
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
        value.serialize(&mut ser).map_err(io::Error::other)?;
        buf.push(b'\n');
        self.write_file(rel, &buf)
    }
}

/// A buffered output file that counts what reaches the disk.
pub(crate) struct Sink {
    w: BufWriter<Counted>,
}

/// The file under the buffer, counting bytes (so small writes stay on the buffer's fast path).
struct Counted {
    file: File,
    n: u64,
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let k = self.file.write(buf)?;
        self.n += k as u64;
        Ok(k)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Write for Sink {
    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.w.write(buf)
    }

    #[inline]
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.w.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

/// How a timestamp is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TsStyle {
    /// Backup Audit Manager reports: `2026-07-14T23:53:47.229Z`.
    Report,
    /// Whole seconds, as in report periods and file names: `2026-07-14T00:00:00Z`.
    Seconds,
    /// AWS CLI v2 (Python `isoformat`): `2026-07-14T23:53:47.229000+00:00`, no fraction when zero.
    CliV2,
    /// AWS CLI v1: epoch seconds as a float, `1784073227.229`.
    Epoch,
}

/// A formatted timestamp held on the stack.
pub(crate) struct TsText {
    buf: [u8; 40],
    len: usize,
}

impl TsText {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits and punctuation are ever written.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl TsText {
    /// Appends `bytes`.
    fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `sep` (if any) and the two last digits of `v`.
    fn push2(&mut self, sep: &[u8], v: u32) {
        self.push(sep);
        self.push(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
    }
}

/// Formats `ms` (milliseconds since the epoch) in `style`.
pub(crate) fn ts(ms: i64, style: TsStyle) -> TsText {
    let mut out = TsText { buf: [0u8; 40], len: 0 };
    if style == TsStyle::Epoch {
        let mut text = format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000));
        while text.ends_with('0') && !text.ends_with(".0") {
            text.pop();
        }
        out.push(text.as_bytes());
        return out;
    }
    let dt = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let year = dt.year().clamp(0, 9999) as u32;
    out.push2(b"", year / 100);
    out.push2(b"", year % 100);
    out.push2(b"-", dt.month());
    out.push2(b"-", dt.day());
    out.push2(b"T", dt.hour());
    out.push2(b":", dt.minute());
    out.push2(b":", dt.second());
    let millis = ms.rem_euclid(1000) as u32;
    let with_millis = |out: &mut TsText| {
        out.push2(b".", millis / 10);
        out.push(&[b'0' + (millis % 10) as u8]);
    };
    match style {
        TsStyle::Report => {
            with_millis(&mut out);
            out.push(b"Z");
        }
        TsStyle::Seconds => out.push(b"Z"),
        _ => {
            // Python's isoformat: microseconds, and no fraction at all when it is zero.
            if millis != 0 {
                with_millis(&mut out);
                out.push(b"000");
            }
            out.push(b"+00:00");
        }
    }
    out
}

/// `YYYY-MM-DD` of a day number (days since the epoch).
pub(crate) fn date(day: i64) -> String {
    ts(day * DAY, TsStyle::Seconds).as_str()[..10].to_string()
}

/// A timestamp that serialises in its style (string, or a number for epoch seconds).
#[derive(Clone, Copy)]
pub(crate) struct Ts(pub i64, pub TsStyle);

impl Serialize for Ts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            TsStyle::Epoch => s.serialize_f64(self.0 as f64 / 1000.0),
            style => s.serialize_str(ts(self.0, style).as_str()),
        }
    }
}

/// `HH:MM:SS` of a duration.
pub(crate) fn hms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A GUID-shaped id (8-4-4-4-12 hex digits): upper-case job ids as AWS Backup prints them,
/// or a lower-case version-4 UUID.
pub(crate) fn guid(v: u128, upper: bool) -> String {
    let h = if upper {
        format!("{v:032X}")
    } else {
        let v4 = (v & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
        format!("{v4:032x}")
    };
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// The 17 hex digits of an EC2-style id (`i-…`, `vol-…`, `ami-…`, `snap-…`).
pub(crate) fn hex17(v: u128) -> String {
    format!("{:017x}", v & ((1u128 << 68) - 1))
}

/// SplitMix64 finaliser: derives independent, stable seeds from a few numbers.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        h ^= p.wrapping_add(0x9E37_79B9_7F4A_7C15).wrapping_add(h << 6).wrapping_add(h >> 2);
        h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        h ^= h >> 31;
    }
    h
}

/// A random 128-bit value.
pub(crate) fn u128_of(rng: &mut fastrand::Rng) -> u128 {
    (u128::from(rng.u64(..)) << 64) | u128::from(rng.u64(..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_shapes() {
        let t = 1_783_000_000_120; // 2026-07-02T13:46:40.120Z
        assert_eq!(ts(t, TsStyle::Report).as_str(), "2026-07-02T13:46:40.120Z");
        assert_eq!(ts(t, TsStyle::Seconds).as_str(), "2026-07-02T13:46:40Z");
        assert_eq!(ts(t, TsStyle::CliV2).as_str(), "2026-07-02T13:46:40.120000+00:00");
        assert_eq!(ts(t - 120, TsStyle::CliV2).as_str(), "2026-07-02T13:46:40+00:00");
        assert_eq!(ts(t, TsStyle::Epoch).as_str(), "1783000000.12");
        assert_eq!(ts(t - 120, TsStyle::Epoch).as_str(), "1783000000.0");
        assert_eq!(serde_json::to_string(&Ts(t, TsStyle::Epoch)).unwrap(), "1783000000.12");
        assert_eq!(date(20_636), "2026-07-02");
        assert_eq!(hms(3_723_000), "01:02:03");
        assert_eq!(guid(0xABCDEF, true), "00000000-0000-0000-0000-000000ABCDEF");
    }
}
