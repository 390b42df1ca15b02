//! The primitive readers every part of a scenario shares: where a problem
//! is, durations, ranges, counts, ids and job types.

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::sim::error::ScenarioError;

/// Fleets beyond this size are almost certainly a typo and would only eat
/// memory.
const MAX_FLEET: u64 = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRange {
    min: String,
    max: String,
}

/// Where a problem is: the source, the node's position and its path.
pub(super) struct Place<'a> {
    origin: &'a str,
    at: Option<(u64, u64)>,
    path: String,
}

impl Place<'_> {
    pub(super) fn error(
        &self,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            origin: self.origin.to_owned(),
            at: self.at,
            path: self.path.clone(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

pub(super) fn place<'a, T>(origin: &'a str, node: &Spanned<T>, path: String) -> Place<'a> {
    let location = node.referenced;
    let at = (location.line() > 0).then(|| (location.line(), location.column()));
    Place { origin, at, path }
}

pub(super) fn job_type(
    given: Option<&str>,
    default: &str,
    here: &Place<'_>,
) -> Result<String, ScenarioError> {
    match given.map(str::trim) {
        None => Ok(default.to_owned()),
        Some("") => Err(here.error(
            "job_type is empty",
            format!("name a type such as {default}, or leave job_type out"),
        )),
        Some(value) => Ok(value.to_owned()),
    }
}

pub(super) fn duration(
    text: &str,
    field: &str,
    here: &Place<'_>,
) -> Result<Duration, ScenarioError> {
    // The spec's duration parser, so a duration means the same everywhere.
    crate::spec::duration::parse_at_most(text, crate::spec::duration::LONGEST_SIMULATED).map_err(
        |error| {
            here.error(
                format!("{field}: {error}"),
                "write an offset such as 0s, 1500ms, 2s or 1m 30s",
            )
        },
    )
}

/// A generated count, within what fits in memory.
pub(super) fn check_count(count: u64, what: &str, here: &Place<'_>) -> Result<(), ScenarioError> {
    if count == 0 || count > MAX_FLEET {
        return Err(here.error(
            format!("count is {count}"),
            format!("generate between 1 and {MAX_FLEET} {what}"),
        ));
    }
    Ok(())
}

/// A `{min, max}` range of durations, in order.
pub(super) fn range(
    raw: &RawRange,
    field: &str,
    here: &Place<'_>,
) -> Result<(Duration, Duration), ScenarioError> {
    let min = duration(&raw.min, &format!("{field}.min"), here)?;
    let max = duration(&raw.max, &format!("{field}.max"), here)?;
    if min > max {
        return Err(here.error(
            format!("{field}.min is longer than {field}.max"),
            "swap them, or make them equal for a fixed duration",
        ));
    }
    Ok((min, max))
}

pub(super) fn optional_duration(
    text: Option<&str>,
    field: &str,
    here: &Place<'_>,
) -> Result<Duration, ScenarioError> {
    text.map_or(Ok(Duration::ZERO), |text| duration(text, field, here))
}

/// Ids end up in URL paths, so they are limited to characters that need no
/// escaping there.
pub(super) fn check_id(id: &str, here: &Place<'_>) -> Result<(), ScenarioError> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if id.is_empty() || !id.chars().all(unreserved) {
        return Err(here.error(
            format!("id `{id}` is empty or has characters that need escaping in a URL"),
            "use letters, digits, `-`, `_`, `.` and `~` only (UUIDs are fine)",
        ));
    }
    Ok(())
}
