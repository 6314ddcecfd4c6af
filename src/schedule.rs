//! AWS schedule expressions, evaluated: how often a backup rule (or an EventBridge rule) runs.
//!
//! Two forms, as AWS Backup and EventBridge write them:
//! * `cron(Minutes Hours Day-of-month Month Day-of-week Year)` — six fields with AWS's
//!   rules: weekdays `1-7` are `SUN-SAT` (or the names), exactly one of day-of-month and
//!   day-of-week is `?`, and `L`, `W`, `#`, ranges, lists and `/` steps are allowed. It is
//!   read in the rule's IANA time zone (`ScheduleExpressionTimezone`; UTC when absent), so a
//!   daily 05:00 Europe/Berlin rule is 23 or 25 hours apart across a DST change.
//! * `rate(Value Unit)` — a fixed interval in minutes, hours or days.
//!
//! The expression is matched by `croner` (Quartz weekday mode, seconds fixed at 0) and the
//! zone data is `chrono-tz`'s bundled IANA database, so the answer does not depend on the
//! machine's tzdata. [`Schedule::cadence`] gives what the RPO check needs: how many runs fall
//! in a window and the longest time between consecutive runs, the window's edges included.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Direction};

use crate::time::Timestamp;

/// A parsed schedule expression with its time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    every: Every,
    zone: Tz,
}

#[derive(Debug, Clone)]
enum Every {
    Cron(Box<Cron>),
    /// A fixed interval, milliseconds.
    Rate(i64),
}

/// An expression AWS would not accept, or a zone that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression.
    #[error("schedule expression {expr:?}: {reason}")]
    Expression {
        /// As written.
        expr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The time zone.
    #[error("schedule time zone {0:?} is not an IANA time zone name")]
    Zone(String),
}

/// How a schedule runs over a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cadence {
    /// Runs at or after the window's start and before its end.
    pub runs: u64,
    /// The longest time between consecutive runs, counting the last run before the window and
    /// the first at or after its end, milliseconds; `None` when it never runs in ten years.
    pub longest_gap_ms: Option<i64>,
}

/// How far to look for a run outside the window before calling a schedule "never".
const HORIZON_MS: i64 = 10 * 366 * 86_400_000;

impl Schedule {
    /// Parses `expr` (`cron(…)` or `rate(…)`) in `zone` (an IANA name; UTC when `None` or
    /// empty).
    pub fn parse(expr: &str, zone: Option<&str>) -> Result<Self, ScheduleError> {
        let zone = match zone.map(str::trim).filter(|z| !z.is_empty()) {
            None => Tz::UTC,
            Some(z) => Tz::from_str(z).map_err(|_| ScheduleError::Zone(z.to_owned()))?,
        };
        let bad = |reason: String| ScheduleError::Expression { expr: expr.to_owned(), reason };
        let text = expr.trim();
        let every = if let Some(body) = inner(text, "cron") {
            Every::Cron(Box::new(parse_cron(body).map_err(bad)?))
        } else if let Some(body) = inner(text, "rate") {
            Every::Rate(parse_rate(body).map_err(bad)?)
        } else {
            return Err(bad("expected cron(…) or rate(…)".into()));
        };
        Ok(Schedule { every, zone })
    }

    /// Runs in `[from, to)` and the longest gap between runs around and inside it.
    pub fn cadence(&self, from: Timestamp, to: Timestamp) -> Cadence {
        match &self.every {
            // A rate runs every interval from whenever the rule was created.
            Every::Rate(ms) => {
                let span = (to.millis() - from.millis()).max(0);
                Cadence { runs: (span / ms) as u64, longest_gap_ms: Some(*ms) }
            }
            Every::Cron(cron) => self.cron_cadence(cron, from, to),
        }
    }

    fn cron_cadence(&self, cron: &Cron, from: Timestamp, to: Timestamp) -> Cadence {
        let at = |t: Timestamp| self.zone.from_utc_datetime(&t.to_datetime().naive_utc());
        let ms = |d: DateTime<Tz>| d.with_timezone(&Utc).timestamp_millis();
        let before = cron.find_previous_occurrence(&at(from), false).ok().map(ms);
        let mut previous = before.filter(|t| from.millis() - t <= HORIZON_MS);
        let (mut runs, mut longest) = (0u64, None::<i64>);
        let mut gap = |prev: Option<i64>, next: i64| {
            if let Some(p) = prev {
                longest = Some(longest.map_or(next - p, |l| l.max(next - p)));
            }
        };
        for run in cron.iter_from(at(from), Direction::Forward).map(ms) {
            if run - from.millis() > HORIZON_MS {
                break;
            }
            if previous == Some(run) {
                continue; // a local time that occurs twice (DST ending) may be matched twice
            }
            gap(previous, run);
            previous = Some(run);
            if run >= to.millis() {
                break;
            }
            runs += 1;
        }
        Cadence { runs, longest_gap_ms: longest }
    }
}

/// `name(body)` → `body`.
fn inner<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(name)?.trim_start().strip_prefix('(')?;
    rest.strip_suffix(')').map(str::trim)
}

/// AWS's six fields, checked for the `?` rule, handed to croner as Quartz with second 0.
fn parse_cron(body: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = body.split_whitespace().collect();
    let [_min, _hour, dom, _month, dow, _year] = fields[..] else {
        return Err(format!(
            "a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), found {}",
            fields.len()
        ));
    };
    if (dom == "?") == (dow == "?") {
        return Err("exactly one of day-of-month and day-of-week must be `?`".into());
    }
    let parser = CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build();
    parser.parse(&format!("0 {body}")).map_err(|e| e.to_string())
}

/// `5 minutes`, `1 hour`, `12 hours`, `1 day` → milliseconds.
fn parse_rate(body: &str) -> Result<i64, String> {
    let (value, unit) = body.split_once(char::is_whitespace).ok_or("expected `rate(Value Unit)`")?;
    let value: i64 =
        value.parse().ok().filter(|v| *v > 0).ok_or(format!("{value:?} is not a positive whole number"))?;
    let unit_ms = match unit.trim() {
        "minute" | "minutes" => 60_000,
        "hour" | "hours" => 3_600_000,
        "day" | "days" => 86_400_000,
        other => return Err(format!("unknown unit {other:?} (minutes, hours or days)")),
    };
    value.checked_mul(unit_ms).ok_or_else(|| "interval too long".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn q3(expr: &str, zone: Option<&str>) -> Cadence {
        Schedule::parse(expr, zone).unwrap().cadence(ts("2026-07-01T00:00:00Z"), ts("2026-10-01T00:00:00Z"))
    }

    /// The runs of `expr` from `from`, as RFC 3339 UTC.
    fn runs(expr: &str, zone: Option<&str>, from: &str, n: usize) -> Vec<String> {
        let Every::Cron(cron) = Schedule::parse(expr, zone).unwrap().every else { panic!("not a cron") };
        let tz: Tz = zone.map_or(Tz::UTC, |z| z.parse().unwrap());
        let start = tz.from_utc_datetime(&ts(from).to_datetime().naive_utc());
        cron.iter_from(start, Direction::Forward)
            .take(n)
            .map(|d| d.with_timezone(&Utc).format("%Y-%m-%dT%H:%MZ").to_string())
            .collect()
    }

    #[test]
    fn daily_in_utc_is_24_hours_apart() {
        let c = q3("cron(0 5 ? * * *)", None);
        assert_eq!(c, Cadence { runs: 92, longest_gap_ms: Some(24 * H) });
    }

    #[test]
    fn daily_in_a_zone_with_dst_has_a_25_hour_gap_in_autumn() {
        // Berlin leaves summer time on 25 October 2026: 05:00 local is 03:00Z, then 04:00Z.
        let c = Schedule::parse("cron(0 5 ? * * *)", Some("Europe/Berlin"))
            .unwrap()
            .cadence(ts("2026-10-20T00:00:00Z"), ts("2026-10-30T00:00:00Z"));
        assert_eq!(c.longest_gap_ms, Some(25 * H));
        assert_eq!(
            runs("cron(0 5 ? * * *)", Some("Europe/Berlin"), "2026-10-24T00:00:00Z", 2),
            ["2026-10-24T03:00Z", "2026-10-25T04:00Z"]
        );
        // The whole third quarter is summer time: 24 hours.
        assert_eq!(q3("cron(0 5 ? * * *)", Some("Europe/Berlin")).longest_gap_ms, Some(24 * H));
    }

    #[test]
    fn weekdays_are_aws_numbers_one_is_sunday() {
        // 2026-07-05 is a Sunday.
        assert_eq!(
            runs("cron(0 1 ? * 1 *)", None, "2026-07-01T00:00:00Z", 2),
            ["2026-07-05T01:00Z", "2026-07-12T01:00Z"]
        );
        assert_eq!(runs("cron(0 1 ? * SUN *)", None, "2026-07-01T00:00:00Z", 1), ["2026-07-05T01:00Z"]);
        // Monday to Friday: the weekend is the longest gap (Friday 22:00 → Monday 22:00).
        assert_eq!(q3("cron(0 22 ? * 2-6 *)", None).longest_gap_ms, Some(72 * H));
        assert_eq!(q3("cron(0 22 ? * MON-FRI *)", None).longest_gap_ms, Some(72 * H));
    }

    #[test]
    fn last_and_nth_day_forms() {
        // L: the last day of the month.
        assert_eq!(
            runs("cron(0 3 L * ? *)", None, "2026-07-01T00:00:00Z", 3),
            ["2026-07-31T03:00Z", "2026-08-31T03:00Z", "2026-09-30T03:00Z"]
        );
        // 6L: the last Friday; 2#1: the first Monday.
        assert_eq!(runs("cron(0 3 ? * 6L *)", None, "2026-07-01T00:00:00Z", 1), ["2026-07-31T03:00Z"]);
        assert_eq!(
            runs("cron(0 3 ? * 2#1 *)", None, "2026-07-01T00:00:00Z", 2),
            ["2026-07-06T03:00Z", "2026-08-03T03:00Z"]
        );
        // Monthly on the 1st: the longest gap in the quarter is 31 days (July, August).
        assert_eq!(q3("cron(0 5 1 * ? *)", None).longest_gap_ms, Some(31 * 24 * H));
    }

    #[test]
    fn ranges_lists_steps_and_years() {
        // Every 12 hours from 00:00: two runs a day.
        assert_eq!(q3("cron(0 0/12 * * ? *)", None), Cadence { runs: 184, longest_gap_ms: Some(12 * H) });
        assert_eq!(q3("cron(0 8,20 * * ? *)", None).longest_gap_ms, Some(12 * H));
        assert_eq!(q3("cron(30 1-3 ? * * *)", None).longest_gap_ms, Some(22 * H));
        // A year that is over: never runs.
        assert_eq!(q3("cron(0 5 ? * * 2020)", None), Cadence { runs: 0, longest_gap_ms: None });
        // Only in 2026: runs in the quarter, then never again — the gap after it is open.
        let c = q3("cron(0 5 1 7 ? 2026)", None);
        assert_eq!((c.runs, c.longest_gap_ms), (1, None));
    }

    #[test]
    fn rate_expressions() {
        assert_eq!(q3("rate(12 hours)", None), Cadence { runs: 184, longest_gap_ms: Some(12 * H) });
        assert_eq!(q3("rate(1 day)", None).longest_gap_ms, Some(24 * H));
        assert_eq!(q3("rate(30 minutes)", None).longest_gap_ms, Some(H / 2));
    }

    #[test]
    fn bad_expressions_and_zones_are_named() {
        let err = |e: &str, z: Option<&str>| Schedule::parse(e, z).unwrap_err().to_string();
        assert!(err("cron(0 5 * * * *)", None).contains("exactly one of day-of-month and day-of-week"));
        assert!(err("cron(0 5 ? * ? *)", None).contains("exactly one"));
        assert!(err("cron(0 5 ? * *)", None).contains("6 fields"));
        assert!(err("cron(0 25 ? * * *)", None).contains("cron(0 25 ? * * *)"));
        assert!(err("rate(0 hours)", None).contains("positive"));
        assert!(err("rate(2 weeks)", None).contains("unknown unit"));
        assert!(err("every day", None).contains("cron(…) or rate(…)"));
        assert_eq!(
            err("cron(0 5 ? * * *)", Some("Mars/Olympus")),
            "schedule time zone \"Mars/Olympus\" is not an IANA time zone name"
        );
    }
}
