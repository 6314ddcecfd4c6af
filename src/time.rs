//! Timestamps and reporting periods.
//!
//! Every time in the evidence model is a UTC instant with millisecond precision
//! ([`Timestamp`]). AWS writes times in several shapes — ISO 8601 strings with `Z` or an
//! offset, with or without fractions, and epoch seconds as numbers — and this module is the
//! one place that reads them. Output is always RFC 3339 UTC (`2026-07-01T05:00:00Z`, with
//! milliseconds only when they are not zero), so CSVs are byte-stable.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A UTC instant, milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Timestamp(pub i64);

/// Epoch values at or above this are taken as milliseconds (1e12 s would be year 33658).
const MILLIS_THRESHOLD: f64 = 1e12;

impl Timestamp {
    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// From epoch seconds (fractions allowed); values ≥ 1e12 are read as milliseconds.
    pub fn from_epoch(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        let ms = if value.abs() >= MILLIS_THRESHOLD { value } else { value * 1000.0 };
        // Keep to years chrono can print (±262 000).
        if ms.abs() > 8.0e15 {
            return None;
        }
        Some(Timestamp(ms.round() as i64))
    }

    /// Parses an ISO 8601 / RFC 3339 date-time (`T` or space between date and time; `Z`
    /// or a numeric offset; any fraction) or epoch seconds written as a string.
    ///
    /// A date-time without a zone is refused: guessing UTC could shift a job across a
    /// period boundary.
    pub fn parse(text: &str) -> Result<Self, String> {
        let s = text.trim();
        if s.is_empty() {
            return Err("empty timestamp".into());
        }
        if let Some(t) = parse_fast_utc(s.as_bytes()) {
            return Ok(t);
        }
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            && s.len() <= 20
            && let Ok(v) = s.parse::<f64>()
        {
            return Timestamp::from_epoch(v).ok_or_else(|| format!("timestamp out of range: {s:?}"));
        }
        let normalised;
        let candidate = if s.len() > 10 && s.as_bytes()[10] == b' ' {
            normalised = format!("{}T{}", &s[..10], &s[11..]);
            normalised.as_str()
        } else {
            s
        };
        DateTime::parse_from_rfc3339(candidate)
            .map(|d| Timestamp(d.timestamp_millis()))
            .map_err(|_| format!("not an ISO 8601 date-time with zone or epoch seconds: {s:?}"))
    }

    /// What a command-line option takes: a date `YYYY-MM-DD` (00:00 UTC) or anything
    /// [`Timestamp::parse`] reads.
    pub fn parse_date_or_time(text: &str) -> Result<Self, String> {
        match chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(d) => d
                .and_hms_opt(0, 0, 0)
                .map(|t| Timestamp(t.and_utc().timestamp_millis()))
                .ok_or_else(|| format!("bad date {text:?}")),
            Err(_) => Timestamp::parse(text),
        }
    }

    /// RFC 3339 in UTC; milliseconds are printed only when non-zero.
    pub fn to_rfc3339(self) -> String {
        let mut buf = [0u8; 32];
        self.write_rfc3339(&mut buf).to_owned()
    }

    /// [`Timestamp::to_rfc3339`] into a caller's buffer, without allocating (CSV hot path).
    pub fn write_rfc3339(self, buf: &mut [u8; 32]) -> &str {
        let (days, ms) = (self.0.div_euclid(86_400_000), self.0.rem_euclid(86_400_000));
        let date = i32::try_from(days + 719_163).ok().and_then(NaiveDate::from_num_days_from_ce_opt);
        let Some(date) = date.filter(|d| (0..=9999).contains(&d.year())) else {
            // Outside what RFC 3339 can show: print the raw milliseconds.
            let text = self.0.to_string();
            let n = text.len().min(buf.len());
            buf[..n].copy_from_slice(&text.as_bytes()[..n]);
            return std::str::from_utf8(&buf[..n]).unwrap_or("");
        };
        fn put(buf: &mut [u8; 32], at: usize, mut v: u32, width: usize) {
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        let ms = ms as u32;
        put(buf, 0, date.year() as u32, 4);
        put(buf, 5, date.month(), 2);
        put(buf, 8, date.day(), 2);
        put(buf, 11, ms / 3_600_000, 2);
        put(buf, 14, ms / 60_000 % 60, 2);
        put(buf, 17, ms / 1000 % 60, 2);
        buf[4] = b'-';
        buf[7] = b'-';
        buf[10] = b'T';
        buf[13] = b':';
        buf[16] = b':';
        let len = if ms.is_multiple_of(1000) {
            buf[19] = b'Z';
            20
        } else {
            buf[19] = b'.';
            put(buf, 20, ms % 1000, 3);
            buf[23] = b'Z';
            24
        };
        // Only ASCII digits and separators were written.
        std::str::from_utf8(&buf[..len]).unwrap_or("")
    }

    /// The date-time as chrono's type.
    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.0).single().unwrap_or_default()
    }

    /// The current time (used only for `fetched_at` and defaults, never for verdicts).
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Fast path for the common `YYYY-MM-DDTHH:MM:SS[.fff…](Z|+00:00)` shape.
fn parse_fast_utc(b: &[u8]) -> Option<Timestamp> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let mut v = 0i64;
        for &c in &b[r] {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut i = 19;
    let mut millis = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return None;
        }
        for _ in digits..3 {
            millis *= 10;
        }
    }
    let rest = &b[i..];
    if !(rest == b"Z" || rest == b"z" || rest == b"+00:00" || rest == b"+0000") {
        return None;
    }
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y as i32, mo as u32, d as u32)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163; // days from 0001-01-01 to 1970-01-01
    Some(Timestamp((((days * 24 + h) * 60 + mi) * 60 + s) * 1000 + millis))
}

/// A reporting period: a calendar quarter `[start, end)` in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Quarter 1–4.
    pub quarter: u32,
    /// First instant of the quarter.
    pub start: Timestamp,
    /// First instant of the next quarter (exclusive).
    pub end: Timestamp,
}

impl Period {
    /// Whether an instant falls in `[start, end)`.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

impl FromStr for Period {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("period must look like 2026-Q3, got {s:?}");
        let (y, q) = s.trim().split_once(['-']).ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let q = q.strip_prefix(['Q', 'q']).ok_or_else(bad)?;
        let quarter: u32 = q.parse().map_err(|_| bad())?;
        if !(1..=4).contains(&quarter) || !(1970..=9999).contains(&year) {
            return Err(bad());
        }
        let first = |y: i32, m: u32| {
            Timestamp(Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().expect("valid date").timestamp_millis())
        };
        let start = first(year, (quarter - 1) * 3 + 1);
        let end = if quarter == 4 { first(year + 1, 1) } else { first(year, quarter * 3 + 1) };
        Ok(Period { year, quarter, start, end })
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.quarter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_times() {
        let day = Timestamp::parse_date_or_time("2026-07-01").unwrap();
        assert_eq!(day, Timestamp::parse("2026-07-01T00:00:00Z").unwrap());
        let t = Timestamp::parse_date_or_time("2026-07-01T06:30:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-07-01T04:30:00Z");
        assert!(Timestamp::parse_date_or_time("2026-13-01").is_err());
        assert!(Timestamp::parse_date_or_time("2026-07-01T06:30:00").is_err(), "no zone");
    }

    fn p(s: &str) -> i64 {
        Timestamp::parse(s).unwrap().0
    }

    #[test]
    fn parses_the_shapes_aws_writes() {
        let base = 1_783_000_000_000; // 2026-07-02T13:46:40Z
        assert_eq!(p("2026-07-02T13:46:40Z"), base);
        assert_eq!(p("2026-07-02T13:46:40.000Z"), base);
        assert_eq!(p("2026-07-02T13:46:40.5Z"), base + 500);
        assert_eq!(p("2026-07-02T13:46:40.123456+00:00"), base + 123);
        assert_eq!(p("2026-07-02 13:46:40Z"), base);
        assert_eq!(p("2026-07-02T15:46:40+02:00"), base);
        assert_eq!(p("1783000000"), base);
        assert_eq!(p("1783000000.25"), base + 250);
        assert_eq!(p("1783000000000"), base);
        assert_eq!(Timestamp::from_epoch(1_783_000_000.0).unwrap().0, base);
    }

    #[test]
    fn refuses_ambiguous_or_broken_times() {
        for bad in
            ["", "yesterday", "2026-07-02T13:46:40", "2026-13-02T13:46:40Z", "2026-07-02T25:00:00Z", "07/02/2026"]
        {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prints_rfc3339_utc() {
        assert_eq!(Timestamp(1_783_000_000_000).to_string(), "2026-07-02T13:46:40Z");
        assert_eq!(Timestamp(1_783_000_000_120).to_string(), "2026-07-02T13:46:40.120Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
        for ms in [0, 951_782_400_000, 4_102_444_799_999, 1_783_000_000_001] {
            let t = Timestamp(ms);
            assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
            let chrono = t.to_datetime().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            assert_eq!(t.to_string(), chrono);
        }
    }

    #[test]
    fn quarters() {
        let q: Period = "2026-Q3".parse().unwrap();
        assert_eq!(q.start, Timestamp::parse("2026-07-01T00:00:00Z").unwrap());
        assert_eq!(q.end, Timestamp::parse("2026-10-01T00:00:00Z").unwrap());
        assert!(q.contains(q.start));
        assert!(!q.contains(q.end));
        let q4: Period = "2026-Q4".parse().unwrap();
        assert_eq!(q4.end, Timestamp::parse("2027-01-01T00:00:00Z").unwrap());
        for bad in ["2026", "2026-Q5", "2026-Q0", "Q3-2026", "2026-3"] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
