//! One wait's polling loop: observe, judge, record, sleep, until an outcome.

#[path = "observe.rs"]
pub mod observe;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::fetch::Plan;
use super::gate::Gate;
use super::history::{self, History};
use super::rate::{Throttle, hard_stop};
use super::schedule::{self, ProgressSample, Schedule};
use super::{Event, Stop};
use crate::api::client::ApiError;
use crate::api::model::{self, Observation};
use crate::condition::{Verdict, is_failure_status, judge};
use crate::report::evidence;
use crate::report::model::{
    ApiErrorInfo, Estimate, EstimateBasis, HistoryEntry, LastObservation, Outcome, WaitReport,
};
use crate::spec::{Shape, Wait, duration};

/// Everything a wait needs from the run.
pub struct Context {
    pub gate: Arc<Gate>,
    /// Past durations per job type, shared by every wait of the run.
    pub history: Arc<History>,
    pub run_start: Instant,
    pub global_deadline: Option<Instant>,
    pub stop: watch::Receiver<Option<Stop>>,
    pub events: tokio::sync::mpsc::UnboundedSender<Event>,
    pub seed: u64,
    /// Keeps each answer for `--save-responses`, when asked.
    pub responses: Option<Arc<crate::report::responses::Responses>>,
}

/// How long to pause everyone after a 429 without `Retry-After`: Huawei
/// advises retrying after 2 to 5 seconds.
const THROTTLE_PAUSE: Duration = Duration::from_secs(3);

/// Runs one wait to its outcome, keeping `report` current all along so an
/// interruption never loses what was seen.
pub async fn run(wait: &Wait, plan: Plan, cx: Context, report: Arc<Mutex<WaitReport>>) {
    let mut cx = cx;
    let started = Instant::now();
    let own_deadline = super::later(started, wait.timeout);
    let (deadline, by_global) = match cx.global_deadline {
        Some(g) if g < own_deadline => (g, true),
        _ => (own_deadline, false),
    };
    let mut schedule = Schedule::new(wait.poll, cx.seed);
    let mut stable = 0u32;
    let mut consecutive_errors = 0u32;
    let mut missing_since: Option<Instant> = None;
    let mut last_state = String::new();
    // The last answer judged, for the evidence of a timeout.
    let mut last_seen: Option<Observation> = None;
    let mut progress: Vec<ProgressSample> = Vec::new();
    // At most one history read in flight; dropped (aborted) with the wait.
    let mut history_read: tokio::task::JoinSet<HistoryRead> = tokio::task::JoinSet::new();
    let base = |s| cx.gate.client().base(s).to_owned();
    update(&report, |r| r.requests = plan.describe(&base));
    let _ = cx.events.send(Event::Started {
        wait: wait.name.clone(),
        deadline,
    });

    // Records a history read's estimate; returns the delay it suggests for
    // `job` (none without one).
    let apply = |read: &HistoryRead, job: Option<&model::JobState>| {
        let estimate = read.estimate(job);
        update(&report, |r| r.estimate = estimate.report());
        estimate
            .delay(wait.poll.initial)
            .map(|d| d.min(wait.poll.max))
    };

    let finish = |outcome: Outcome, reason: String| {
        let mut shown = reason.clone();
        update(&report, |r| {
            r.outcome = outcome;
            r.reason = reason;
            r.elapsed_ms = started.elapsed().as_millis() as u64;
            // The live view leads with the cause too.
            if let Some(because) = r.because() {
                shown = format!("{} ({because})", r.headline());
            }
        });
        let _ = cx.events.send(Event::Finished {
            wait: wait.name.clone(),
            outcome,
            reason: shown,
        });
    };

    loop {
        if let Some(stop) = cx.stop.borrow().clone() {
            finish(Outcome::Cancelled, stop.reason());
            return;
        }
        update(&report, |r| r.polls += 1);
        let tally = |n: i64| {
            update(&report, |r| {
                r.requests_sent = r.requests_sent.saturating_add_signed(n)
            })
        };
        let observed = tokio::select! {
            result = observe::poll(&plan, wait, &cx.gate, deadline, &tally) => result,
            _ = stopped(&mut cx.stop) => continue,
        };
        let (result, sent) = observed;
        let mut delay = schedule.next_delay();
        // "In a row" means consecutive observations: the streak survives
        // only a poll judged met; an error, a poll cut short or a pending
        // answer ends it.
        let streak = std::mem::take(&mut stable);
        // The job a history estimate would time the next poll for: set only
        // by a pending poll that reads the history.
        let mut estimating: Option<model::JobState> = None;
        // A throttle asked this wait to hold off past its deadline: it
        // sits out the pause to the deadline instead of fitting one last
        // poll into it.
        let mut held_to_deadline = false;
        match result {
            // The gate could not send (the rest of) the poll's requests
            // before the deadline (this wait's, or that of the wait whose
            // identical request it joined). If nothing was sent it is no
            // poll; a count or paged poll cut short after some requests
            // still was one, only without an observation. The deadline
            // check below ends the wait, or it polls again.
            None if sent == 0 => update(&report, |r| r.polls -= 1),
            None => {}
            Some(Ok(obs)) => {
                consecutive_errors = 0;
                if let Some(responses) = &cx.responses {
                    responses.keep(&wait.name, &obs);
                }
                let state = summarize(&obs);
                let last = last_observation(&obs, String::new());
                let state_changed = state != last_state;
                if state_changed {
                    let at_ms = cx.run_start.elapsed().as_millis() as u64;
                    update(&report, |r| push_history(r, at_ms, &state));
                    let _ = cx.events.send(Event::Observed {
                        wait: wait.name.clone(),
                        state: state.clone(),
                        progress: last.progress,
                    });
                    if !last_state.is_empty() {
                        // The job moved: watch it closely again.
                        schedule.reset();
                        delay = schedule.next_delay();
                    }
                    last_state = state;
                }
                if let Some(p) = last.progress {
                    let at_ms = started.elapsed().as_millis() as u64;
                    let moved = progress.last().is_some_and(|s| s.percent != p as f64);
                    if moved && !state_changed {
                        let _ = cx.events.send(Event::Progress {
                            wait: wait.name.clone(),
                            progress: p,
                        });
                    }
                    if progress.last().is_some_and(|s| (p as f64) < s.percent) {
                        progress.clear();
                    }
                    progress.push(ProgressSample {
                        at_ms,
                        percent: p as f64,
                    });
                }
                let verdict = judge(&wait.rules, &obs);
                let found = match &verdict {
                    Verdict::Met { found } | Verdict::Pending { found } => found.clone(),
                    _ => String::new(),
                };
                update(&report, |r| {
                    r.last_observation = Some(LastObservation {
                        found: found.clone(),
                        ..last.clone()
                    })
                });
                match verdict {
                    Verdict::Failed { reason, blame } => {
                        attach_evidence(&report, &obs, Outcome::Failed, blame);
                        finish(Outcome::Failed, reason);
                        return;
                    }
                    Verdict::Unexpected { status, blame } => {
                        let n = blame.len();
                        attach_evidence(&report, &obs, Outcome::UnexpectedState, blame);
                        let whose = if n == 0 {
                            "the job".to_owned()
                        } else if n == 1 {
                            "a sub-job".to_owned()
                        } else {
                            format!("{n} sub-jobs")
                        };
                        finish(
                            Outcome::UnexpectedState,
                            format!(
                                "{whose} reached status {status}, which the wait neither waits through (pending) nor expects (target or conditions): add {status} to `pending:` to wait through it, to `target:` or a condition to expect it, or set `unknown_status: wait` to keep polling"
                            ),
                        );
                        return;
                    }
                    Verdict::Met { found } => {
                        missing_since = None;
                        stable = streak_after(streak, true);
                        if stable >= wait.stable_for {
                            let outputs = capture_outputs(wait, &obs);
                            let missing: Vec<String> = uncaptured_outputs(wait, &outputs)
                                .iter()
                                .map(|o| format!("`{}` ({})", o.name, o.source))
                                .collect();
                            update(&report, |r| r.outputs = outputs);
                            if !missing.is_empty() {
                                // Later steps rely on what a wait declares:
                                // a wait that cannot deliver it is not met.
                                finish(
                                    Outcome::Failed,
                                    format!(
                                        "the success condition held ({found}), but the answer has no value for output {}: its path selects nothing or only null; check the path with `jobgate eval` on a saved answer",
                                        missing.join(", ")
                                    ),
                                );
                                return;
                            }
                            let held = if wait.stable_for > 1 {
                                format!(" on {} polls in a row", wait.stable_for)
                            } else {
                                String::new()
                            };
                            finish(
                                Outcome::Met,
                                format!("{}{held} ({found})", wait.rules.success.describe()),
                            );
                            return;
                        }
                        // Confirm soon rather than after a long backoff.
                        delay = wait.poll.initial;
                    }
                    Verdict::Empty => {
                        let since = *missing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= wait.not_found_grace {
                            finish(
                                Outcome::NotFound,
                                format!(
                                    "no sub-jobs appeared within the not-found grace of {}",
                                    duration::format(wait.not_found_grace)
                                ),
                            );
                            return;
                        }
                    }
                    Verdict::Pending { .. } => {
                        missing_since = None;
                        if wait.poll.adaptive {
                            let predicted = schedule::predict_completion(&progress);
                            delay = schedule::adaptive_delay(delay, predicted, schedule.bounds());
                            if let (None, Some(source)) = (predicted, history::source(&wait.target))
                            {
                                // The history read runs beside the polls and
                                // is joined when it is done: it never delays a
                                // poll, however slow it is.
                                estimating = obs.job.clone();
                                if let Some(Ok(read)) = history_read.try_join_next()
                                    && let Some(d) = apply(&read, obs.job.as_ref())
                                {
                                    delay = d;
                                }
                                if history_read.is_empty()
                                    && let Some(read) = read_history(
                                        &obs,
                                        &cx.gate,
                                        &cx.history,
                                        &wait.project_id,
                                        source,
                                        deadline,
                                        &report,
                                    )
                                {
                                    history_read.spawn(read);
                                }
                            }
                        }
                    }
                }
                last_seen = Some(obs);
            }
            Some(Err(error)) => {
                let info = error_info(&error);
                update(&report, |r| r.last_error = Some(info));
                match &error {
                    ApiError::Auth { status, .. } => {
                        let hint = if *status == 403 {
                            "the credentials are valid but not permitted to read these jobs: check the IAM policy (Workspace read access) and the project id"
                        } else {
                            "check the credentials jobgate read (HUAWEICLOUD_SDK_AK/HUAWEICLOUD_SDK_SK, JOBGATE_AUTH_TOKEN, or the keyless identity provider or agency and its token file; `jobgate plan` names the source); not retried, because the gateway locks an access key after 5 failed signatures"
                        };
                        finish(Outcome::AuthError, format!("{error}: {hint}"));
                        return;
                    }
                    ApiError::Rejected { .. } => {
                        finish(
                            Outcome::ApiError,
                            format!("the API rejected the request: {error}"),
                        );
                        return;
                    }
                    ApiError::Refused { .. } => {
                        finish(Outcome::ApiError, error.to_string());
                        return;
                    }
                    // A job (or a `get` of one) answers 404 until it is
                    // visible. (The gateway's 404 for a path it does not
                    // route arrives as `Rejected`.)
                    ApiError::NotFound { .. }
                        if matches!(wait.target.shape(), Shape::Job | Shape::Json) =>
                    {
                        let since = *missing_since.get_or_insert_with(Instant::now);
                        if since.elapsed() >= wait.not_found_grace {
                            let (what, check) = if wait.target.shape() == Shape::Job {
                                ("the job was not found", "check the job id and project id")
                            } else {
                                (
                                    "the resource was not found",
                                    "check the path, the ids in it and the project id",
                                )
                            };
                            finish(
                                Outcome::NotFound,
                                format!(
                                    "{what} within the not-found grace of {} ({error}); {check}",
                                    duration::format(wait.not_found_grace)
                                ),
                            );
                            return;
                        }
                    }
                    ApiError::NotFound { .. } => {
                        finish(
                            Outcome::ApiError,
                            format!("the endpoint does not exist: {error}"),
                        );
                        return;
                    }
                    ApiError::Throttled {
                        retry_after,
                        message,
                        ..
                    } => {
                        // A quota that cannot reset before the deadline
                        // ends the wait now rather than at its timeout.
                        let left = deadline.saturating_duration_since(Instant::now());
                        if let Some(stop) = hard_stop(&Throttle::parse(message), *retry_after, left)
                        {
                            finish(Outcome::ApiError, stop.reason());
                            return;
                        }
                        if !cx.gate.retry() {
                            finish(Outcome::ApiError, retries_spent(&error));
                            return;
                        }
                        update(&report, |r| r.retries += 1);
                        // The gate has already slowed the throttled API (or
                        // every API) down, and holds its requests for any
                        // `Retry-After`.
                        let pause = retry_after.unwrap_or(THROTTLE_PAUSE).min(wait.poll.max);
                        delay = delay.max(pause);
                        held_to_deadline = super::later(Instant::now(), pause) >= deadline;
                    }
                    ApiError::Transient { .. } => {
                        consecutive_errors += 1;
                        update(&report, |r| r.retries += 1);
                        if consecutive_errors > wait.error_budget {
                            finish(
                                Outcome::ApiError,
                                format!(
                                    "gave up after {consecutive_errors} failed polls in a row: {error}; check that the endpoint is reachable and healthy, or raise `error_budget` (now {}) to ride out longer outages",
                                    wait.error_budget
                                ),
                            );
                            return;
                        }
                        if !cx.gate.retry() {
                            finish(Outcome::ApiError, retries_spent(&error));
                            return;
                        }
                        let _ = cx.events.send(Event::Retrying {
                            wait: wait.name.clone(),
                            error: error.to_string(),
                        });
                    }
                }
            }
        }
        if held_to_deadline {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {}
                _ = stopped(&mut cx.stop) => continue,
            }
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            let which = if by_global {
                "the global deadline".to_owned()
            } else {
                format!("the timeout of {}", duration::format(wait.timeout))
            };
            let state = if last_state.is_empty() {
                "nothing observed".to_owned()
            } else {
                format!("last seen: {last_state}")
            };
            // A `where` that selects none of the items seen is the likeliest
            // reason nothing it waited for ever came (a typo in a value).
            let unmatched = last_seen
                .as_ref()
                .and_then(|obs| wait.rules.unmatched_where(obs));
            if let Some(obs) = &last_seen {
                let evidence = evidence::extract(obs, Outcome::TimedOut, &[]);
                let evidence = evidence::led_by(evidence, unmatched.as_deref(), obs);
                update(&report, |r| r.evidence = evidence);
            }
            let why = unmatched.map(|u| format!(": {u}")).unwrap_or_default();
            finish(
                Outcome::TimedOut,
                format!("{which} ran out before the outcome was known{why} ({state})"),
            );
            return;
        }
        let delay = schedule::fit_to_deadline(delay, remaining);
        let wake = super::later(Instant::now(), delay);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stopped(&mut cx.stop) => {}
            // A history read that answers during the sleep times the next
            // poll at once; one that hangs leaves the blind schedule alone.
            Some(joined) = history_read.join_next(), if !history_read.is_empty() => {
                let hinted = joined.ok().and_then(|read| apply(&read, estimating.as_ref()));
                let wake = match hinted {
                    Some(d) => super::later(Instant::now(), d).min(deadline),
                    None => wake,
                };
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => {}
                    _ = stopped(&mut cx.stop) => {}
                }
            }
        }
    }
}

/// Why a wait stopped when the run's shared retry budget ran dry.
fn retries_spent(error: &ApiError) -> String {
    format!(
        "the run's retry budget is spent ({error}): the API failed or throttled far more often than it answered, so no wait retries further; check the API's health and quota, or run fewer waits at once"
    )
}

/// The length of the run of met polls after one more poll: one longer when
/// the poll was judged met, none otherwise.
fn streak_after(streak: u32, met: bool) -> u32 {
    if met { streak.saturating_add(1) } else { 0 }
}

/// What a job type's history says about one running job.
struct HistoryEstimate {
    job_type: String,
    /// `None` when the history could not be read or is too thin.
    durations: Option<Arc<history::Durations>>,
    /// How long the job has existed, by the local clock.
    age: Option<Duration>,
}

impl HistoryEstimate {
    /// The estimate as the report shows it.
    fn report(&self) -> Option<Estimate> {
        let d = self.durations.as_ref()?;
        let ms = |q| d.quantile(q).as_millis() as u64;
        Some(Estimate {
            basis: EstimateBasis::History,
            job_type: self.job_type.clone(),
            samples: d.samples() as u64,
            median_ms: ms(0.5),
            p90_ms: ms(0.9),
        })
    }

    /// How long to sleep until the job is likely to have ended.
    fn delay(&self, min_gap: Duration) -> Option<Duration> {
        self.durations.as_ref()?.next_check(self.age?, min_gap)
    }
}

/// The answer of one history read.
struct HistoryRead {
    job_type: String,
    durations: Option<Arc<history::Durations>>,
}

impl HistoryRead {
    /// The estimate for `job` as it is now (its age is taken at this moment,
    /// not when the read started).
    fn estimate(&self, job: Option<&model::JobState>) -> HistoryEstimate {
        HistoryEstimate {
            job_type: self.job_type.clone(),
            durations: self.durations.clone(),
            age: job.and_then(history::age),
        }
    }
}

/// A read of the history of the observed job's type, to run beside the
/// polls; `None` when the answer names no job type to read it for. The read
/// is bounded by the wait's deadline and the per-request timeout, and counts
/// its request in `report` as soon as it has one, joined or not.
fn read_history(
    obs: &Observation,
    gate: &Arc<Gate>,
    history: &Arc<History>,
    project_id: &str,
    source: history::Source,
    deadline: Instant,
    report: &Arc<Mutex<WaitReport>>,
) -> Option<impl Future<Output = HistoryRead> + Send + 'static> {
    let job_type = obs.job.as_ref()?.job_type.clone()?;
    let (gate, history, report) = (gate.clone(), history.clone(), report.clone());
    let project_id = project_id.to_owned();
    Some(async move {
        let timeout = request_timeout(deadline);
        let (durations, sent) = history
            .durations(&gate, &project_id, source, &job_type, timeout, deadline)
            .await;
        update(&report, |r| r.requests_sent += u64::from(sent));
        HistoryRead {
            job_type,
            durations,
        }
    })
}

async fn stopped(stop: &mut watch::Receiver<Option<Stop>>) {
    // Resolves once a stop is set; if the sender is gone, never resolves.
    if stop.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How long one request may take: a request never outlives the deadline by
/// more than a moment, so a server that accepts and never answers cannot
/// hold the gate open.
fn request_timeout(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Records why a wait ends `outcome` on `obs`: the evidence, and as blame
/// the items the verdict blamed, or when it blamed none (a job in a failure
/// status), every item in a failure status.
fn attach_evidence(
    report: &Mutex<WaitReport>,
    obs: &Observation,
    outcome: Outcome,
    blame: Vec<model::Item>,
) {
    let evidence = evidence::extract(obs, outcome, &blame);
    let blame = if blame.is_empty() {
        obs.items
            .iter()
            .filter(|i| is_failure_status(&i.status))
            .cloned()
            .collect()
    } else {
        blame
    };
    update(report, |r| {
        r.blame = blame;
        r.evidence = evidence;
    });
}

fn update(report: &Mutex<WaitReport>, f: impl FnOnce(&mut WaitReport)) {
    f(&mut report.lock().unwrap_or_else(|e| e.into_inner()));
}

/// Keeps the history short: the first entries and the most recent ones.
fn push_history(r: &mut WaitReport, at_ms: u64, state: &str) {
    const MAX: usize = 50;
    r.history.push(HistoryEntry {
        at_ms,
        poll: r.polls,
        state: state.to_owned(),
    });
    if r.history.len() > MAX {
        r.history.remove(MAX / 2);
    }
}

/// The state in a few words: job status and counts of sub-jobs by status.
pub fn summarize(obs: &Observation) -> String {
    let mut parts = Vec::new();
    if let Some(job) = &obs.job {
        parts.push(job.status.to_string());
    }
    let counts = status_counts(obs);
    if !counts.is_empty() {
        let total: u64 = counts.values().sum();
        let list: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        parts.push(format!("{total} sub-jobs: {}", list.join(", ")));
    }
    for (k, v) in &obs.counts {
        parts.push(format!("count[{}]={v}", k.as_deref().unwrap_or("*")));
    }
    if parts.is_empty() {
        parts.push(if obs.is_list() {
            "no sub-jobs yet".into()
        } else {
            "response received".into()
        });
    }
    parts.join("; ")
}

fn status_counts(obs: &Observation) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for item in &obs.items {
        *counts.entry(item.status.as_str()).or_insert(0) += 1;
    }
    counts.into_iter().map(|(s, n)| (s.to_owned(), n)).collect()
}

fn last_observation(obs: &Observation, found: String) -> LastObservation {
    let with_progress: Vec<u32> = obs.items.iter().filter_map(|i| i.progress).collect();
    let progress = (!with_progress.is_empty()).then(|| {
        // Items already done count as 100% even if the API stops reporting.
        let done = obs
            .items
            .iter()
            .filter(|i| i.progress.is_none() && i.status.as_str() == "SUCCESS")
            .count() as u32;
        let sum: u32 = with_progress.iter().sum::<u32>() + 100 * done;
        sum / (with_progress.len() as u32 + done)
    });
    LastObservation {
        job: obs.job.clone(),
        status_counts: status_counts(obs),
        items: obs.items.len() as u64,
        counts: obs
            .counts
            .iter()
            .map(|(k, v)| (k.clone().unwrap_or_else(|| "*".into()), *v))
            .collect(),
        progress,
        found,
    }
}

/// The values a wait captures from an observation: what each output's path
/// selects, `null`s left out; one value as its text (a string as is,
/// anything else as JSON), several as a JSON list of them. An output whose
/// path selects nothing (or only `null`) is absent: see
/// [`uncaptured_outputs`].
pub fn capture_outputs(wait: &Wait, obs: &Observation) -> BTreeMap<String, String> {
    let document = obs.document();
    wait.outputs
        .iter()
        .filter_map(|o| {
            let values: Vec<serde_json::Value> = o
                .path
                .query(&document)
                .into_iter()
                .filter(|v| !v.is_null())
                .cloned()
                .collect();
            let text = match values.as_slice() {
                [] => return None,
                [serde_json::Value::String(s)] => s.clone(),
                [one] => one.to_string(),
                several => serde_json::Value::Array(several.to_vec()).to_string(),
            };
            Some((o.name.clone(), text))
        })
        .collect()
}

/// The outputs a wait declares that `captured` lacks, with their sources.
pub fn uncaptured_outputs<'a>(
    wait: &'a Wait,
    captured: &BTreeMap<String, String>,
) -> Vec<&'a crate::spec::Output> {
    wait.outputs
        .iter()
        .filter(|o| !captured.contains_key(&o.name))
        .collect()
}

fn error_info(error: &ApiError) -> ApiErrorInfo {
    let (status, code, message, request_id) = error.parts();
    ApiErrorInfo {
        http_status: (status != 0).then_some(status),
        code: code.map(str::to_owned),
        message: message.to_owned(),
        request_id: request_id.map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streak_counts_consecutive_met_polls_only() {
        let polls = [true, false, true, true, false, true, true, true];
        let streaks: Vec<u32> = polls
            .iter()
            .scan(0, |s, met| {
                *s = streak_after(*s, *met);
                Some(*s)
            })
            .collect();
        assert_eq!(streaks, [1, 0, 1, 2, 0, 1, 2, 3]);
        assert_eq!(streak_after(u32::MAX, true), u32::MAX);
    }
}
