//! Every reason a wait gives for its outcome, and the hint that comes with
//! it, in one place: what went wrong, where, and how to fix it.

use std::time::Duration;

use crate::api::Status;
use crate::api::client::ApiError;
use crate::spec::duration;

/// The success condition held on enough polls in a row.
pub(crate) fn met(success: &str, stable_for: u32, found: &str) -> String {
    let held = if stable_for > 1 {
        format!(" on {stable_for} polls in a row")
    } else {
        String::new()
    };
    format!("{success}{held} ({found})")
}

/// The success condition held, but a declared output has no value.
pub(crate) fn outputs_missing(found: &str, missing: &[String]) -> String {
    format!(
        "the success condition held ({found}), but the answer has no value for output {}: its path selects nothing or only null; check the path with `jobgate eval` on a saved answer",
        missing.join(", ")
    )
}

/// `blamed` items (none: the job itself) reached a status the wait neither
/// waits through nor expects.
pub(crate) fn unexpected(blamed: usize, status: &Status) -> String {
    let whose = match blamed {
        0 => "the job".to_owned(),
        1 => "a sub-job".to_owned(),
        n => format!("{n} sub-jobs"),
    };
    format!(
        "{whose} reached status {status}, which the wait neither waits through (pending) nor expects (target or conditions): add {status} to `pending:` to wait through it, to `target:` or a condition to expect it, or set `unknown_status: wait` to keep polling"
    )
}

/// A list stayed empty for the whole not-found grace.
pub(crate) fn no_sub_jobs(grace: Duration) -> String {
    format!(
        "no sub-jobs appeared within the not-found grace of {}",
        duration::format(grace)
    )
}

/// A job (`job`) or a JSON resource kept answering 404 for the whole
/// not-found grace.
pub(crate) fn not_found(job: bool, grace: Duration, error: &ApiError) -> String {
    let (what, check) = if job {
        ("the job was not found", "check the job id and project id")
    } else {
        (
            "the resource was not found",
            "check the path, the ids in it and the project id",
        )
    };
    format!(
        "{what} within the not-found grace of {} ({error}); {check}",
        duration::format(grace)
    )
}

/// The credentials were refused (401, or no credentials to send) or not
/// permitted (403).
pub(crate) fn auth(error: &ApiError) -> String {
    let hint = if error.status == Some(403) {
        "the credentials are valid but not permitted to read these jobs: check the IAM policy (Workspace read access) and the project id"
    } else {
        "check the credentials jobgate read (HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK, JOBGATE_AUTH_TOKEN, or the keyless identity provider or agency and its token file; `jobgate plan` names the source); not retried, because the gateway locks an access key after 5 failed signatures"
    };
    format!("{error}: {hint}")
}

/// The API refused the request itself (a 4xx other than 401/403/404/429).
pub(crate) fn rejected(error: &ApiError) -> String {
    format!("the API rejected the request: {error}")
}

/// An answer jobgate will not use (a redirect, an untrusted certificate, a
/// body too large): the error says which.
pub(crate) fn refused(error: &ApiError) -> String {
    error.to_string()
}

/// A 404 for an endpoint that answers lists or counts: the path is wrong.
pub(crate) fn no_endpoint(error: &ApiError) -> String {
    format!("the endpoint does not exist: {error}")
}

/// The run's shared retry budget ran dry.
pub(crate) fn retries_spent(error: &ApiError) -> String {
    format!(
        "the run's retry budget is spent ({error}): the API failed or throttled far more often than it answered, so no wait retries further; check the API's health and quota, or run fewer waits at once"
    )
}

/// `failed` polls in a row failed, more than the wait's `error_budget`.
pub(crate) fn errors_exhausted(failed: u32, error: &ApiError, error_budget: u32) -> String {
    format!(
        "gave up after {failed} failed polls in a row: {error}; check that the endpoint is reachable and healthy, or raise `error_budget` (now {error_budget}) to ride out longer outages"
    )
}

/// The deadline came before an outcome. `global`: the run's deadline, not
/// the wait's `timeout`; `unmatched`: why the success condition's `where`
/// selected nothing; `last_state`: the last state seen (empty: none).
pub(crate) fn timed_out(
    global: bool,
    timeout: Duration,
    unmatched: Option<&str>,
    last_state: &str,
) -> String {
    let which = if global {
        "the global deadline".to_owned()
    } else {
        format!("the timeout of {}", duration::format(timeout))
    };
    let state = if last_state.is_empty() {
        "nothing observed".to_owned()
    } else {
        format!("last seen: {last_state}")
    };
    let why = unmatched.map(|u| format!(": {u}")).unwrap_or_default();
    format!("{which} ran out before the outcome was known{why} ({state})")
}
