//! Durations as people write them: `90s`, `5m`, `1h30m`, `250ms`, `2d`.
//!
//! One parser serves the spec and the command line, so a duration means the
//! same wherever it is written. Only units that cannot be misread are
//! accepted: `ms`, `s`, `m`, `h`, `d` (and their spelled-out forms). `M`
//! (months or minutes?), `y`, `w` and sub-millisecond units are refused with
//! a hint, never guessed. Every duration has a ceiling, checked here, so no
//! later `Instant + Duration` can overflow.

use std::time::Duration;

/// The longest duration anywhere: timeouts, deadlines and grace periods. A
/// gate that waits longer than a week is a mistake, not a plan.
pub(crate) const LONGEST: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest delay between two polls (`poll.initial`, `poll.max`).
pub(crate) const LONGEST_POLL_DELAY: Duration = Duration::from_secs(3600);

/// The longest offset in a simulator scenario: scenarios write `1000h` for
/// "never", so its ceiling is a year rather than a week.
pub(crate) const LONGEST_SIMULATED: Duration = Duration::from_secs(365 * 24 * 3600);

/// The units, each as the milliseconds it stands for.
const UNITS: [(&[&str], u64); 5] = [
    (&["ms", "msec", "msecs"], 1),
    (&["s", "sec", "secs", "second", "seconds"], 1000),
    (&["m", "min", "mins", "minute", "minutes"], 60_000),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600_000),
    (&["d", "day", "days"], 86_400_000),
];

/// Units that are refused, and what to write instead.
fn refused_unit(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "M" | "month" | "months" | "mo" => {
            "months are not a duration unit (`M` could be read as minutes): write `m` for minutes or `d` for days"
        }
        "y" | "Y" | "yr" | "yrs" | "year" | "years" => {
            "years are not a duration unit: write days, e.g. `7d`"
        }
        "w" | "W" | "week" | "weeks" => "weeks are not a duration unit: write days, e.g. `7d`",
        "ns" | "nsec" | "us" | "usec" | "µs" => {
            "units below a millisecond are not supported: write `ms`, e.g. `250ms`"
        }
        _ => return None,
    })
}

/// Why a duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    /// Not a duration, or in a unit that could be misread; the message says
    /// what to write instead.
    #[error("{0}")]
    Invalid(String),
    /// Longer than the ceiling of the place it is written.
    #[error("`{text}` is longer than the longest allowed here, {}", format_limit(*.max))]
    TooLong { text: String, max: Duration },
}

const EXAMPLES: &str = "e.g. `90s`, `5m`, `1h30m`, `250ms`, `2d`";

/// Parses a duration of at most [`LONGEST`]. A bare number is refused because
/// its unit would be a guess; every message says what to write instead.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    parse_at_most(text, LONGEST)
}

/// Parses a duration of at most `max`.
pub(crate) fn parse_at_most(text: &str, max: Duration) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Invalid(format!(
            "empty duration: write a number with a unit, {EXAMPLES}"
        )));
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(DurationError::Invalid(format!(
            "`{text}` has no unit: write e.g. `{text}s` for seconds or `{text}m` for minutes"
        )));
    }
    let too_long = || DurationError::TooLong {
        text: text.to_owned(),
        max,
    };
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(DurationError::Invalid(format!(
                "`{text}` is not a duration: each part is a whole number and a unit, {EXAMPLES}"
            )));
        }
        let (number, after) = rest.split_at(digits);
        if after.starts_with(['.', ',']) {
            return Err(DurationError::Invalid(format!(
                "`{text}` has a fraction: combine whole units instead, e.g. `1h30m` or `1500ms`"
            )));
        }
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(DurationError::Invalid(format!(
                "`{text}`: `{number}` has no unit: write e.g. `{number}s` or `{number}m`"
            )));
        }
        let Some(&(_, per)) = UNITS.iter().find(|(names, _)| names.contains(&unit)) else {
            return Err(DurationError::Invalid(match refused_unit(unit) {
                Some(hint) => format!("`{text}`: {hint}"),
                None => format!(
                    "`{text}`: unknown unit `{unit}`: use `ms`, `s`, `m`, `h` or `d`, {EXAMPLES}"
                ),
            }));
        };
        // Any number too large for u64 is also too long.
        let part = number
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(per))
            .ok_or_else(too_long)?;
        total = total.checked_add(part).ok_or_else(too_long)?;
        rest = next.trim_start();
    }
    if total > max_ms {
        return Err(too_long());
    }
    Ok(Duration::from_millis(total))
}

/// A limit for messages: whole days as days (`7d`), anything else as
/// [`format`] writes it.
fn format_limit(limit: Duration) -> String {
    let secs = limit.as_secs();
    if secs >= 86_400 && secs.is_multiple_of(86_400) && limit.subsec_nanos() == 0 {
        format!("{}d", secs / 86_400)
    } else {
        format(limit)
    }
}

/// Formats a duration compactly for messages and reports (`1h30m`, `2.5s`).
pub(crate) fn format(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = duration.as_secs();
    if secs < 60 {
        let tenths = (ms % 1000) / 100;
        return if tenths == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenths}s")
        };
    }
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse(" 2m 5s "), Ok(Duration::from_secs(125)));
    }

    #[test]
    fn spelled_out_units_and_days() {
        assert_eq!(parse("2 days"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse("1hour 5mins"), Ok(Duration::from_secs(3900)));
        assert_eq!(parse("7d"), Ok(LONGEST));
    }

    #[test]
    fn refuses_ambiguous_units() {
        for (text, hint) in [
            ("30M", "months"),
            ("2months", "months"),
            ("1y", "years"),
            ("1w", "weeks"),
            ("500us", "below a millisecond"),
            ("5S", "unknown unit `S`"),
        ] {
            let error = parse(text).unwrap_err().to_string();
            assert!(error.contains(hint), "{text}: {error}");
        }
    }

    #[test]
    fn refuses_what_does_not_fit() {
        for text in [
            "18000000000000000000s",
            "99999999999999999999999999d",
            "8d",
            "6d24h1ms",
            "18446744073709551615ms",
        ] {
            let error = parse(text).unwrap_err();
            assert!(matches!(error, DurationError::TooLong { .. }), "{text}");
            assert!(
                error.to_string().ends_with("longest allowed here, 7d"),
                "{error}"
            );
        }
        assert!(parse_at_most("2h", LONGEST_POLL_DELAY).is_err());
        assert!(parse_at_most("1h", LONGEST_POLL_DELAY).is_ok());
    }

    #[test]
    fn refuses_fractions_and_stray_text() {
        assert!(parse("1.5h").unwrap_err().to_string().contains("fraction"));
        assert!(parse("5m30").unwrap_err().to_string().contains("no unit"));
        assert!(
            parse("h")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
    }

    #[test]
    fn refuses_unitless_and_garbage() {
        assert!(parse("30").unwrap_err().to_string().contains("no unit"));
        assert!(
            parse("fast")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
        assert!(parse("").is_err());
        assert!(parse("-5s").is_err());
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format(Duration::from_millis(40)), "40ms");
        assert_eq!(format(Duration::from_secs(61)), "1m1s");
    }
}
