//! Why a gate stayed shut, from the last observation: the API's own error
//! fields, the sub-jobs in a failure status, or what was still pending when
//! time ran out.
//!
//! A pure function of an [`Observation`], so every rule is unit-tested here
//! and the engine only attaches the result to the report (where the redactor
//! sees it before any output does).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::model::Outcome;
use crate::api::model::{Item, JobState, Observation};
use crate::condition::is_failure_status;

/// How many items the report keeps per list; the rest are counted.
pub const MAX_ITEMS: usize = 20;

/// What the last observation says about a wait that was not met.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The cause in one line, in the API's own words where it gave some,
    /// e.g. `sub-job 11 (CREATE_SERVER_IMAGE) FAILED — WKS.00129901 The
    /// service is now unavailable to process the request.` Every output
    /// leads with it.
    pub cause: String,
    /// The job's own state and error fields, for job waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobState>,
    /// The first [`MAX_ITEMS`] sub-jobs or items in a failure status (or,
    /// when none is, those the failing condition blamed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Item>,
    /// How many such items there were in all.
    #[serde(skip_serializing_if = "is_zero")]
    pub failed_total: u64,
    /// For a timeout: the items that had not ended, longest-running first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Item>,
    /// How many items had not ended, in all.
    #[serde(skip_serializing_if = "is_zero")]
    pub pending_total: u64,
    /// The pending items per status.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pending_counts: BTreeMap<String, u64>,
    /// Meaning and remedy of the error codes seen that the documentation
    /// explains (see [`known_code`]).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub known_codes: BTreeMap<String, String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Error codes whose meaning or remedy the documentation gives.
///
/// Sources: Huawei Cloud Workspace API reference, appendix "Workspace Error
/// Codes" (api-workspace/ErrorCode.html) and "Application Error Codes"
/// (api-workspace/ErrorCode_0.html); the API gateway's throttling codes as
/// the API notes describe them. Add a row when the docs explain a code that
/// users meet; unknown codes are shown as they came.
const KNOWN_CODES: &[(&str, &str)] = &[
    (
        "WKS.0001",
        "the request message was empty: check the request that started the job",
    ),
    (
        "WKS.00010109",
        "the desktop's custom computer name is empty: configure the computer name and try again",
    ),
    (
        "WKS.00010110",
        "the desktop could not obtain a valid IP address: check DHCP and the network (VPC, subnet) of the desktops",
    ),
    (
        "WKS.00081105",
        "the number of policy groups exceeds the quota: ask the administrator to raise it",
    ),
    (
        "WKS.00131104",
        "the number of application groups exceeds the quota: ask the administrator to raise it",
    ),
    (
        "APIG.0308",
        "the API gateway throttled the account (per-user flow limit or daily quota): retry after a few seconds, and spread pipelines sharing the account",
    ),
    (
        "APIGW.0308",
        "the API gateway throttled the account (per-user flow limit or daily quota): retry after a few seconds, and spread pipelines sharing the account",
    ),
];

/// What the documentation says a code means, if it says anything.
pub fn known_code(code: &str) -> Option<&'static str> {
    KNOWN_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, meaning)| *meaning)
}

/// Whether an item has ended: succeeded, or in a failure status.
fn has_ended(item: &Item) -> bool {
    item.status.as_str() == "SUCCESS" || is_failure_status(&item.status)
}

/// The evidence for a wait that ended `outcome` on `obs`; `blame` is what
/// the verdict blamed. `None` for outcomes an observation does not explain
/// (met, API and auth errors, not found, skipped, cancelled): their reason
/// and `last_error` say it.
pub fn extract(obs: &Observation, outcome: Outcome, blame: &[Item]) -> Option<Evidence> {
    match outcome {
        Outcome::Failed | Outcome::UnexpectedState => failure(obs, blame),
        Outcome::TimedOut => timeout(obs),
        _ => None,
    }
}

/// `evidence` led by `note` when there is one: the note becomes the cause
/// (what was pending follows it), so every output opens with it.
pub fn led_by(
    evidence: Option<Evidence>,
    note: Option<&str>,
    obs: &Observation,
) -> Option<Evidence> {
    let Some(note) = note else {
        return evidence;
    };
    Some(match evidence {
        Some(mut e) => {
            e.cause = format!("{note}; {}", e.cause);
            e
        }
        None => empty(note.to_owned(), obs.job.clone()),
    })
}

fn empty(cause: String, job: Option<JobState>) -> Evidence {
    Evidence {
        cause,
        job,
        failed: Vec::new(),
        failed_total: 0,
        pending: Vec::new(),
        pending_total: 0,
        pending_counts: BTreeMap::new(),
        known_codes: BTreeMap::new(),
    }
}

/// `None` when the answer has neither a job nor an item to show (a `get`
/// wait's document): the reason says what the condition found.
fn failure(obs: &Observation, blame: &[Item]) -> Option<Evidence> {
    let mut failed: Vec<&Item> = obs
        .items
        .iter()
        .filter(|i| is_failure_status(&i.status))
        .collect();
    if failed.is_empty() {
        failed = blame.iter().collect();
    }
    let job = obs.job.as_ref();
    let job_has_error = job.is_some_and(|j| j.error_code.is_some() || j.error_message.is_some());
    let item_with_error = failed
        .iter()
        .find(|i| i.error_code.is_some() || i.error_message.is_some());
    // The API's own words first: a sub-job's error is the most precise, the
    // job's error next; a status alone says least.
    let mut cause = match (item_with_error, job) {
        (Some(item), _) => item_cause(item),
        (None, Some(j)) if job_has_error => job_cause(j),
        (None, _) if !failed.is_empty() => item_cause(failed[0]),
        (None, Some(j)) => job_cause(j),
        (None, None) => return None,
    };
    let others = failed.len().saturating_sub(1);
    if !cause.is_empty() && others > 0 && (item_with_error.is_some() || !job_has_error) {
        let s = if others == 1 { "" } else { "s" };
        let _ = write!(cause, " (and {others} more failed item{s})");
    }
    let mut evidence = empty(cause, obs.job.clone());
    evidence.failed_total = failed.len() as u64;
    evidence.failed = failed.into_iter().take(MAX_ITEMS).cloned().collect();
    evidence.known_codes = codes(&evidence);
    Some(evidence)
}

fn timeout(obs: &Observation) -> Option<Evidence> {
    let mut pending: Vec<&Item> = obs.items.iter().filter(|i| !has_ended(i)).collect();
    // Longest-running first: earliest start; items without a start last.
    pending.sort_by(|a, b| {
        let start = |i: &Item| i.begin_time.as_ref().and_then(|t| t.parsed);
        match (start(a), start(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.id.cmp(&b.id))
    });
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for item in &pending {
        *counts.entry(item.status.to_string()).or_default() += 1;
    }
    let cause = if let Some(first) = pending.first() {
        let list: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let mut cause = format!(
            "{} of {} items had not ended ({}); longest running: {}",
            pending.len(),
            obs.items.len(),
            list.join(", "),
            item_cause(first)
        );
        if let Some(begin) = &first.begin_time {
            let _ = write!(cause, ", started {}", begin.raw);
        }
        cause
    } else if let Some(job) = obs.job.as_ref().filter(|j| {
        let s = j.status.as_str();
        s != "SUCCESS" && !is_failure_status(&j.status)
    }) {
        format!("{} had not ended", job_cause(job))
    } else {
        return None;
    };
    let mut evidence = empty(cause, obs.job.clone());
    evidence.pending_total = pending.len() as u64;
    evidence.pending = pending.into_iter().take(MAX_ITEMS).cloned().collect();
    evidence.pending_counts = counts;
    evidence.known_codes = codes(&evidence);
    Some(evidence)
}

/// `sub-job ID (TYPE) STATUS 40% on NAME — CODE MESSAGE`.
fn item_cause(item: &Item) -> String {
    let mut out = format!("sub-job {}", clip(&item.id));
    if let Some(t) = &item.job_type {
        let _ = write!(out, " ({})", clip(t));
    }
    let _ = write!(out, " {}", clip(item.status.as_str()));
    if let Some(p) = item.progress
        && !has_ended(item)
    {
        let _ = write!(out, " {p}%");
    }
    if let Some(name) = item.resource_name.as_ref().or(item.resource_id.as_ref()) {
        let _ = write!(out, " on {}", clip(name));
    }
    if let Some(user) = &item.user_name {
        let _ = write!(out, " (user {})", clip(user));
    }
    push_error(
        &mut out,
        item.error_code.as_deref(),
        item.error_message.as_deref(),
    );
    out
}

/// `job ID (TYPE) STATUS — CODE MESSAGE`.
fn job_cause(job: &JobState) -> String {
    let mut out = format!("job {}", clip(&job.id));
    if let Some(t) = &job.job_type {
        let _ = write!(out, " ({})", clip(t));
    }
    let _ = write!(out, " {}", clip(job.status.as_str()));
    push_error(
        &mut out,
        job.error_code.as_deref(),
        job.error_message.as_deref(),
    );
    out
}

/// How much of one server text the cause quotes; the items keep it whole.
const MAX_QUOTE: usize = 300;

/// `text` cut to [`MAX_QUOTE`] characters, with `…` when cut, so one long
/// server message cannot flood every output's first line.
fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_QUOTE) {
        Some((at, _)) => format!("{}…", &text[..at]).into(),
        None => text.into(),
    }
}

fn push_error(out: &mut String, code: Option<&str>, message: Option<&str>) {
    let (code, message) = (code.map(clip), message.map(clip));
    let (code, message) = (code.as_deref(), message.as_deref());
    let text = match (code, message) {
        (Some(c), Some(m)) => format!("{c} {m}"),
        (Some(c), None) => c.to_owned(),
        (None, Some(m)) => m.to_owned(),
        (None, None) => return,
    };
    let _ = write!(out, " — {text}");
    if let Some(meaning) = code.and_then(known_code) {
        let _ = write!(out, " ({meaning})");
    }
}

/// The documented meaning of every code in the evidence.
fn codes(evidence: &Evidence) -> BTreeMap<String, String> {
    let job = evidence.job.iter().filter_map(|j| j.error_code.as_deref());
    let items =
        (evidence.failed.iter().chain(&evidence.pending)).filter_map(|i| i.error_code.as_deref());
    job.chain(items)
        .filter_map(|c| known_code(c).map(|m| (c.to_owned(), m.to_owned())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{parse_item, parse_job};
    use serde_json::json;

    fn list(items: Vec<serde_json::Value>) -> Observation {
        Observation {
            items: items.into_iter().map(|v| parse_item(v).unwrap()).collect(),
            source: crate::api::model::Source::List,
            ..Observation::default()
        }
    }

    fn image_job_failed() -> Observation {
        let body = json!({
            "id": "800000000000000001", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED",
            "sub_jobs": [
                {"id": "800000000000000010", "job_type": "CREATE_SERVER", "status": "SUCCESS"},
                {"id": "800000000000000011", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED",
                 "job_resource_info": {"resource_id": "r-1", "resource_name": "golden"},
                 "job_execute_info": {"error_code": "WKS.00129901",
                     "error_message": "The service is now unavailable to process the request."},
                 "begin_time": "2024-05-20T10:39:49.61Z", "end_time": "2024-05-20T10:49:49Z"}
            ]
        });
        parse_job(serde_json::to_vec(&body).unwrap().into()).unwrap()
    }

    #[test]
    fn a_failed_sub_job_leads_with_its_own_error() {
        let e = extract(&image_job_failed(), Outcome::Failed, &[]).unwrap();
        assert_eq!(
            e.cause,
            "sub-job 800000000000000011 (CREATE_SERVER_IMAGE) FAILED on golden — WKS.00129901 The service is now unavailable to process the request."
        );
        assert_eq!(e.failed_total, 1);
        assert_eq!(e.failed[0].id, "800000000000000011");
        assert_eq!(e.job.as_ref().unwrap().status.as_str(), "FAILED");
        assert!(e.pending.is_empty());
    }

    #[test]
    fn a_job_error_is_the_cause_when_no_sub_job_has_one() {
        let body = json!({
            "id": "j1", "job_type": "CREATE_DESKTOP", "status": "FAILED",
            "job_error_code": "WKS.00010110", "fail_reason": "no IP",
            "sub_jobs": [{"id": "s1", "status": "FAILED", "entities": {"desktop_name": "d1", "user_name": "alice"}}]
        });
        let obs = parse_job(serde_json::to_vec(&body).unwrap().into()).unwrap();
        let e = extract(&obs, Outcome::Failed, &[]).unwrap();
        assert!(
            e.cause.starts_with(
                "job j1 (CREATE_DESKTOP) FAILED — WKS.00010110 no IP (the desktop could not obtain"
            ),
            "{}",
            e.cause
        );
        assert_eq!(e.failed[0].user_name.as_deref(), Some("alice"));
        assert!(e.known_codes.contains_key("WKS.00010110"));
    }

    #[test]
    fn a_failed_job_without_error_fields_still_names_itself() {
        let body = json!({"id": "j1", "status": "ROLLBACK"});
        let obs = parse_job(serde_json::to_vec(&body).unwrap().into()).unwrap();
        let e = extract(&obs, Outcome::UnexpectedState, &[]).unwrap();
        assert_eq!(e.cause, "job j1 ROLLBACK");
    }

    #[test]
    fn unknown_codes_are_shown_as_they_came() {
        let obs = list(vec![
            json!({"id": "a", "status": "FAIL", "error_code": "WKS.99", "error_message": "odd"}),
        ]);
        let e = extract(&obs, Outcome::Failed, &[]).unwrap();
        assert_eq!(e.cause, "sub-job a FAIL — WKS.99 odd");
        assert!(e.known_codes.is_empty());
    }

    #[test]
    fn large_fleets_keep_the_first_items_and_count_the_rest() {
        let items = (0..2000)
            .map(|n| json!({"id": format!("d{n:04}"), "status": "ABNORMAL", "fail_reason": "boom"}))
            .collect();
        let e = extract(&list(items), Outcome::Failed, &[]).unwrap();
        assert_eq!(e.failed.len(), MAX_ITEMS);
        assert_eq!(e.failed_total, 2000);
        assert_eq!(
            e.cause,
            "sub-job d0000 ABNORMAL — boom (and 1999 more failed items)"
        );
    }

    #[test]
    fn blame_is_used_when_no_item_is_in_a_failure_status() {
        let obs = list(vec![json!({"id": "a", "status": "RUNNING"})]);
        let blame = obs.items.clone();
        let e = extract(&obs, Outcome::Failed, &blame).unwrap();
        assert_eq!(e.cause, "sub-job a RUNNING");
        assert_eq!(e.failed_total, 1);
    }

    #[test]
    fn a_timeout_lists_the_longest_running_items_first() {
        let obs = list(vec![
            json!({"id": "done", "status": "SUCCESS", "begin_time": "2024-05-20 06:00:00"}),
            json!({"id": "late", "status": "RUNNING", "process": 80, "begin_time": "2024-05-20 06:30:00"}),
            json!({"id": "early", "status": "RUNNING", "process": 40, "begin_time": "2024-05-20 06:10:00"}),
            json!({"id": "queued", "status": "WAITING"}),
        ]);
        let e = extract(&obs, Outcome::TimedOut, &[]).unwrap();
        let ids: Vec<&str> = e.pending.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["early", "late", "queued"]);
        assert_eq!(e.pending_total, 3);
        assert_eq!(e.pending_counts.get("RUNNING"), Some(&2));
        assert_eq!(
            e.cause,
            "3 of 4 items had not ended (2 RUNNING, 1 WAITING); longest running: sub-job early RUNNING 40%, started 2024-05-20 06:10:00"
        );
    }

    #[test]
    fn a_timeout_on_a_job_without_sub_jobs_names_the_job() {
        let body = json!({"id": "j1", "job_type": "X", "status": "RUNNING"});
        let obs = parse_job(serde_json::to_vec(&body).unwrap().into()).unwrap();
        let e = extract(&obs, Outcome::TimedOut, &[]).unwrap();
        assert_eq!(e.cause, "job j1 (X) RUNNING had not ended");
    }

    #[test]
    fn outcomes_an_observation_does_not_explain_have_no_evidence() {
        let obs = image_job_failed();
        for o in [
            Outcome::Met,
            Outcome::ApiError,
            Outcome::AuthError,
            Outcome::NotFound,
            Outcome::Cancelled,
        ] {
            assert_eq!(extract(&obs, o, &[]), None, "{o:?}");
        }
        // A document with neither job nor items: the reason says it all.
        let doc = Observation::default();
        assert_eq!(extract(&doc, Outcome::Failed, &[]), None);
        // A timeout where everything had ended has nothing pending to show.
        let done = list(vec![json!({"id": "a", "status": "SUCCESS"})]);
        assert_eq!(extract(&done, Outcome::TimedOut, &[]), None);
    }

    #[test]
    fn a_long_server_message_is_cut_in_the_cause_and_kept_in_the_items() {
        let long = "é".repeat(5000);
        let obs = list(vec![
            json!({"id": "a", "status": "FAILED", "error_message": long}),
        ]);
        let e = extract(&obs, Outcome::Failed, &[]).unwrap();
        assert!(e.cause.chars().count() < 400, "{}", e.cause.len());
        assert!(e.cause.ends_with('…'));
        assert_eq!(e.failed[0].error_message.as_deref(), Some(long.as_str()));
    }

    #[test]
    fn known_codes_have_a_meaning() {
        assert!(known_code("APIG.0308").unwrap().contains("throttled"));
        assert_eq!(known_code("WKS.nope"), None);
    }
}
