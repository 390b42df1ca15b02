//! `JOBGATE_TIME_SCALE`: for benchmarks against a time-compressed
//! simulator. Read here and nowhere else; it divides jobgate's built-in time
//! constants (the default priors, the vague part of the model, the default
//! poll bounds), never a value the spec sets.

/// The variable's name.
pub(crate) const VAR: &str = "JOBGATE_TIME_SCALE";

/// The largest factor accepted: beyond it the default floor falls under a
/// millisecond.
pub(crate) const MAX: f64 = 10_000.0;

/// The factor the process environment asks for. Read from the process,
/// not from the spec's variables: `--var` sets values the spec
/// interpolates, not jobgate's own settings.
pub(crate) fn from_process() -> Result<f64, String> {
    parse(std::env::var(VAR).ok().as_deref())
}

/// The factor `value` asks for: 1 when unset or empty; an error in words for
/// anything but a number from 1 to [`MAX`].
pub(crate) fn parse(value: Option<&str>) -> Result<f64, String> {
    let Some(text) = value.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(1.0);
    };
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && (1.0..=MAX).contains(&f) => Ok(f),
        _ => Err(format!(
            "{VAR}=`{text}` is not a number from 1 to {MAX}: it divides jobgate's built-in time constants for benchmarks against a time-compressed simulator; unset it for real runs"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_is_real_time_and_junk_is_refused() {
        assert_eq!(parse(None), Ok(1.0));
        assert_eq!(parse(Some(" ")), Ok(1.0));
        assert_eq!(parse(Some("60")), Ok(60.0));
        for bad in ["0", "0.5", "-1", "NaN", "inf", "fast", "1e9"] {
            let e = parse(Some(bad)).unwrap_err();
            assert!(e.contains(VAR) && e.contains(bad), "{e}");
        }
    }
}
