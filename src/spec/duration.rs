//! Durations as people write them: `90s`, `5m`, `1h30m`, `250ms`.

use std::time::Duration;

/// Parses a duration. A bare number is refused because its unit would be a
/// guess; the message says what to write instead.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty duration: write a number with a unit, e.g. `90s`, `5m`, `1h30m`".into());
    }
    if text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "`{text}` has no unit: write e.g. `{text}s` for seconds or `{text}m` for minutes"
        ));
    }
    humantime::parse_duration(text).map_err(|error| {
        format!("`{text}` is not a duration ({error}): write e.g. `90s`, `5m`, `1h30m`, `250ms`")
    })
}

/// Formats a duration compactly for messages and reports (`1h30m`, `2.5s`).
pub fn format(duration: Duration) -> String {
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
    fn refuses_unitless_and_garbage() {
        assert!(parse("30").unwrap_err().contains("no unit"));
        assert!(parse("fast").unwrap_err().contains("not a duration"));
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
