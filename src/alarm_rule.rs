//! CloudWatch composite-alarm rules, read far enough to know which alarms they watch and
//! whether they fire on those alarms' ALARM state. Used by `collect` (which composite
//! alarms to keep) and by the alerting check (which alarm paths reach a person).
//!
//! The rule language: `ALARM(name)`, `OK(name)`, `INSUFFICIENT_DATA(name)` with a name or
//! ARN, quoted or bare; `AND`, `OR`, `NOT`, parentheses, `TRUE`/`FALSE`; and
//! `AT_LEAST(M, STATE, (alarm, alarm, …))` (M a number or a percentage).

/// One alarm a rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The alarm's name (an ARN is reduced to the name after `:alarm:`).
    pub name: String,
    /// The rule reacts to that alarm's ALARM state (not its OK or missing-data state, and
    /// not under a `NOT`).
    pub on_alarm: bool,
}

/// The alarm name of a rule argument (`"name"`, `name` or an alarm ARN).
fn name_of(arg: &str) -> String {
    let arg = arg.trim().trim_matches('"').trim();
    match arg.rsplit_once(":alarm:") {
        Some((prefix, name)) if prefix.starts_with("arn:") => name.to_owned(),
        _ => arg.to_owned(),
    }
}

/// The text up to the parenthesis that closes the one just opened (quotes respected), and
/// the rest after it.
fn until_close(s: &str) -> Option<(&str, &str)> {
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth == 0 => return Some((&s[..i], &s[i + 1..])),
            ')' if !quoted => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits on commas outside quotes and parentheses.
fn split_args(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut depth, mut quoted) = (Vec::new(), 0, 0usize, false);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            ',' if !quoted && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Every alarm the rule names, in order of appearance.
pub fn references(rule: &str) -> Vec<Reference> {
    let mut out = Vec::new();
    scan(rule, false, &mut out);
    out
}

fn scan(rule: &str, negated: bool, out: &mut Vec<Reference>) {
    let mut rest = rule;
    let mut not = false;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        let word_len = trimmed.find(|c: char| !(c.is_ascii_alphabetic() || c == '_')).unwrap_or(trimmed.len());
        let word = &trimmed[..word_len];
        let after = trimmed[word_len..].trim_start();
        if word.is_empty() {
            // A parenthesised group inherits a pending NOT; anything else is skipped.
            let mut chars = trimmed.chars();
            let c = chars.next().unwrap_or(' ');
            if c == '(' {
                let Some((inner, tail)) = until_close(&trimmed[1..]) else { return };
                scan(inner, negated ^ not, out);
                not = false;
                rest = tail;
            } else if c == '"' {
                let end = trimmed[1..].find('"').map_or(trimmed.len(), |i| i + 2);
                rest = &trimmed[end..];
            } else {
                rest = chars.as_str();
            }
            continue;
        }
        let state = match word.to_ascii_uppercase().as_str() {
            "NOT" => {
                not = !not;
                rest = after;
                continue;
            }
            s @ ("ALARM" | "OK" | "INSUFFICIENT_DATA" | "AT_LEAST") if after.starts_with('(') => s.to_owned(),
            _ => {
                not = false;
                rest = &trimmed[word_len..];
                continue;
            }
        };
        let Some((inner, tail)) = until_close(&after[1..]) else { return };
        let negated_here = negated ^ not;
        if state == "AT_LEAST" {
            // AT_LEAST(M, STATE, (a, b, …))
            let args = split_args(inner);
            if let [_, cond, list] = args.as_slice() {
                let on_alarm = cond.trim().eq_ignore_ascii_case("ALARM") && !negated_here;
                let list = list.trim().trim_start_matches('(').trim_end_matches(')');
                out.extend(
                    split_args(list)
                        .into_iter()
                        .filter(|a| !a.trim().is_empty())
                        .map(|a| Reference { name: name_of(a), on_alarm }),
                );
            }
        } else {
            out.push(Reference { name: name_of(inner), on_alarm: state == "ALARM" && !negated_here });
        }
        not = false;
        rest = tail;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs(rule: &str) -> Vec<(String, bool)> {
        references(rule).into_iter().map(|r| (r.name, r.on_alarm)).collect()
    }

    #[test]
    fn names_arns_states_and_negation() {
        assert_eq!(
            refs(r#"ALARM("backup-failed") OR ALARM(arn:aws:cloudwatch:eu-west-1:111122223333:alarm:copy failed)"#),
            [("backup-failed".to_owned(), true), ("copy failed".to_owned(), true)]
        );
        assert_eq!(
            refs(r#"ALARM(a) AND NOT (ALARM("maintenance") OR OK(b)) AND INSUFFICIENT_DATA("c")"#),
            [
                ("a".to_owned(), true),
                ("maintenance".to_owned(), false),
                ("b".to_owned(), false),
                ("c".to_owned(), false)
            ]
        );
        assert_eq!(refs("NOT ALARM(x)"), [("x".to_owned(), false)]);
        assert_eq!(refs(r#"ALARM("has \"quotes\" (and parens)")"#).len(), 1);
    }

    #[test]
    fn at_least_lists_and_garbage() {
        assert_eq!(
            refs(r#"AT_LEAST(2, ALARM, ("a", b, arn:aws:cloudwatch:eu-west-1:1:alarm:c))"#),
            [("a".to_owned(), true), ("b".to_owned(), true), ("c".to_owned(), true)]
        );
        assert_eq!(refs("AT_LEAST(50%, OK, (a))"), [("a".to_owned(), false)]);
        assert!(refs("TRUE").is_empty());
        assert!(refs("ALARM(unclosed").is_empty());
        assert!(refs(")))((( \"").is_empty());
    }
}
