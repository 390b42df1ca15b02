//! One wait's decisions, without a clock, a server or a report: the loop in
//! [`super::run`] hands it each poll's result with the time it arrived, and
//! it answers with the next [`Step`]. Everything the report and the live
//! view should learn on the way comes back as [`Note`]s.
//!
//! It owns what outlives a poll: the streak of met polls, the errors in a
//! row, since when nothing was found, the last state and observation, the
//! last progress figure, and the polling plan.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::observed::{
    capture_outputs, error_info, last_observation, summarize, uncaptured_outputs,
};
use super::reasons;
use crate::api::client::{ApiError, ErrorKind};
use crate::api::model::{Item, Observation};
use crate::condition::{Verdict, is_failure_status, judge};
use crate::engine::estimate::planner::{Past, Planner};
use crate::engine::history;
use crate::engine::later;
use crate::engine::rate::{Throttle, hard_stop};
use crate::engine::schedule;
use crate::report::evidence::{self, Evidence};
use crate::report::model::{ApiErrorInfo, LastObservation, Outcome};
use crate::spec::{Shape, Wait};

/// How long to pause everyone after a 429 without `Retry-After`: Huawei
/// advises retrying after 2 to 5 seconds.
pub const THROTTLE_PAUSE: Duration = Duration::from_secs(3);

/// What the loop does next.
#[derive(Debug)]
pub enum Step {
    /// Poll again after this long (already fitted to the deadline).
    Poll { after: Duration },
    /// Sit out the time to the deadline without polling (a throttle asked
    /// for a pause that reaches it), then ask [`Machine::on_deadline`].
    Hold { until: Instant },
    /// The wait has its outcome.
    Finish(Box<Finish>),
}

/// A finished wait: its outcome and reason, and what the report keeps
/// beside them.
#[derive(Debug)]
pub struct Finish {
    pub outcome: Outcome,
    pub reason: String,
    pub evidence: Option<Evidence>,
    /// The items the outcome is blamed on.
    pub blame: Vec<Item>,
    /// The outputs captured, when the success condition held.
    pub outputs: Option<BTreeMap<String, String>>,
}

impl Finish {
    /// An outcome with nothing beside its reason.
    pub fn bare(outcome: Outcome, reason: String) -> Self {
        Finish {
            outcome,
            reason,
            evidence: None,
            blame: Vec::new(),
            outputs: None,
        }
    }
}

/// What the report and the live view learn from a poll, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// The state changed (a history entry; `at_ms` since the run started).
    Changed {
        at_ms: u64,
        state: String,
        progress: Option<u32>,
    },
    /// Progress moved while the state stayed the same.
    Progress(u32),
    /// The observation just judged.
    Seen(Box<LastObservation>),
    /// The poll failed.
    Error(ApiErrorInfo),
    /// The failed poll will be retried (one more retry in the report).
    Retried,
    /// A retried transient error, for the live view.
    Retrying(String),
    /// The duration model the last poll was planned from changed.
    Estimate(Box<crate::report::model::Estimate>),
    /// The job was seen pending, then ended: how long it took, for the
    /// local history.
    Took { job_type: String, secs: f64 },
}

/// Where past durations of a pending job's type come from. The API reads
/// run beside the polls (they never delay one), so the machine only asks
/// what has answered so far.
pub trait Estimates {
    /// Past durations (seconds) of the type of the job in `obs`: from the
    /// API's lists once a read of `source` has answered (starting one when
    /// none is under way), and from the local history.
    fn past(&mut self, obs: &Observation, source: Option<history::Source>) -> PastDurations;
}

/// Past durations of one job type, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PastDurations {
    pub api: Vec<f64>,
    pub local: Vec<f64>,
}

/// One wait's state between polls.
pub struct Machine<'a> {
    wait: &'a Wait,
    planner: Planner,
    run_start: Instant,
    deadline: Instant,
    /// The run's deadline comes before the wait's own timeout.
    by_global: bool,
    /// Met polls in a row.
    stable: u32,
    consecutive_errors: u32,
    /// Since when the job or its sub-jobs have been missing.
    missing_since: Option<Instant>,
    last_state: String,
    /// The last answer judged, for the evidence of a timeout.
    last_seen: Option<Observation>,
    /// The last progress figure seen, to note when it moves.
    progress: Option<u32>,
    /// The delay chosen by the last poll, for a [`Step::Hold`] that ends
    /// before the deadline.
    delay: Duration,
    notes: Vec<Note>,
}

impl<'a> Machine<'a> {
    /// A wait started at `started`, in a run started at `run_start` with
    /// an optional global deadline; `seed` makes the jitter reproducible.
    pub fn new(
        wait: &'a Wait,
        seed: u64,
        started: Instant,
        run_start: Instant,
        global_deadline: Option<Instant>,
    ) -> Self {
        let own_deadline = later(started, wait.timeout);
        let (deadline, by_global) = match global_deadline {
            Some(g) if g < own_deadline => (g, true),
            _ => (own_deadline, false),
        };
        Machine {
            wait,
            planner: Planner::new(wait.poll, &wait.target, seed, started),
            run_start,
            deadline,
            by_global,
            stable: 0,
            consecutive_errors: 0,
            missing_since: None,
            last_state: String::new(),
            last_seen: None,
            progress: None,
            delay: Duration::ZERO,
            notes: Vec::new(),
        }
    }

    /// When the wait runs out of time: its timeout or the run's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The notes of the polls handled since the last call, oldest first.
    pub fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// A poll answered with `obs` at `now`.
    pub fn on_observation(
        &mut self,
        obs: Observation,
        now: Instant,
        estimates: &mut dyn Estimates,
    ) -> Step {
        let mut delay = self.blind_delay();
        // "In a row" means consecutive observations: the streak survives
        // only a poll judged met; an error, a poll cut short or a pending
        // answer ends it.
        let streak = std::mem::take(&mut self.stable);
        self.consecutive_errors = 0;
        let state = summarize(&obs);
        let last = last_observation(&obs, String::new());
        let state_changed = state != self.last_state;
        if state_changed {
            self.notes.push(Note::Changed {
                at_ms: millis(now.saturating_duration_since(self.run_start)),
                state: state.clone(),
                progress: last.progress,
            });
            if !self.last_state.is_empty() {
                // The job moved: watch it closely again.
                delay = self.restart_schedule();
            }
            self.last_state = state;
        }
        if let Some(p) = last.progress {
            self.sample_progress(p, state_changed);
        }
        if let Some((job_type, secs)) = self.planner.ended(&obs, now) {
            self.notes.push(Note::Took { job_type, secs });
        }
        let verdict = judge(&self.wait.rules, &obs);
        let found = match &verdict {
            Verdict::Met { found } | Verdict::Pending { found } => found.clone(),
            _ => String::new(),
        };
        self.notes.push(Note::Seen(Box::new(LastObservation {
            found: found.clone(),
            ..last
        })));
        match verdict {
            Verdict::Failed { reason, blame } => {
                return done(blamed(&obs, Outcome::Failed, blame, reason));
            }
            Verdict::Unexpected { status, blame } => {
                let reason = reasons::unexpected(blame.len(), &status);
                return done(blamed(&obs, Outcome::UnexpectedState, blame, reason));
            }
            Verdict::Met { found } => {
                self.missing_since = None;
                self.stable = streak_after(streak, true);
                if self.stable >= self.wait.stable_for {
                    return done(self.met(&obs, &found));
                }
                // Confirm soon rather than after a long backoff.
                delay = self.wait.poll.initial;
            }
            Verdict::Empty => {
                let since = *self.missing_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= self.wait.not_found_grace {
                    let reason = reasons::no_sub_jobs(self.wait.not_found_grace);
                    return done(Finish::bare(Outcome::NotFound, reason));
                }
            }
            Verdict::Pending { .. } => {
                self.missing_since = None;
                if self.wait.poll.adaptive {
                    delay = self.adaptive_delay(&obs, now, estimates);
                }
            }
        }
        self.last_seen = Some(obs);
        self.next(delay, now)
    }

    /// A poll failed with `error` at `now`. `retry` spends one retry of the
    /// run's shared budget, and says whether there was one left; it is asked
    /// only when the error would be retried.
    pub fn on_error(
        &mut self,
        error: ApiError,
        now: Instant,
        retry: &mut dyn FnMut() -> bool,
    ) -> Step {
        let mut delay = self.blind_delay();
        self.stable = 0;
        self.notes.push(Note::Error(error_info(&error)));
        let wait = self.wait;
        let finish = |outcome, reason| done(Finish::bare(outcome, reason));
        match error.kind {
            ErrorKind::Auth => {
                return finish(Outcome::AuthError, reasons::auth(&error));
            }
            ErrorKind::Rejected => {
                return finish(Outcome::ApiError, reasons::rejected(&error));
            }
            ErrorKind::Refused => {
                return finish(Outcome::ApiError, reasons::refused(&error));
            }
            // A job (or a `get` of one) answers 404 until it is visible.
            // (The gateway's 404 for a path it does not route arrives as
            // `Rejected`.)
            ErrorKind::NotFound if matches!(wait.target.shape(), Shape::Job | Shape::Json) => {
                let since = *self.missing_since.get_or_insert(now);
                if now.saturating_duration_since(since) >= wait.not_found_grace {
                    let job = wait.target.shape() == Shape::Job;
                    let reason = reasons::not_found(job, wait.not_found_grace, &error);
                    return finish(Outcome::NotFound, reason);
                }
            }
            ErrorKind::NotFound => {
                return finish(Outcome::ApiError, reasons::no_endpoint(&error));
            }
            ErrorKind::Throttled { retry_after } => {
                // A quota that cannot reset before the deadline ends the
                // wait now rather than at its timeout.
                let left = self.deadline.saturating_duration_since(now);
                if let Some(stop) = hard_stop(&Throttle::parse(&error.message), retry_after, left) {
                    return finish(Outcome::ApiError, stop.reason());
                }
                if !retry() {
                    return finish(Outcome::ApiError, reasons::retries_spent(&error));
                }
                self.notes.push(Note::Retried);
                // The gate has already slowed the throttled API (or every
                // API) down, and holds its requests for any `Retry-After`.
                let pause = retry_after.unwrap_or(THROTTLE_PAUSE).min(wait.poll.max);
                delay = delay.max(pause);
                if later(now, pause) >= self.deadline {
                    // Asked to hold off past the deadline: sit out the pause
                    // to it instead of fitting one last poll into it.
                    self.delay = delay;
                    return Step::Hold {
                        until: self.deadline,
                    };
                }
            }
            ErrorKind::Transient => {
                self.consecutive_errors += 1;
                self.notes.push(Note::Retried);
                if self.consecutive_errors > wait.error_budget {
                    let reason = reasons::errors_exhausted(
                        self.consecutive_errors,
                        &error,
                        wait.error_budget,
                    );
                    return finish(Outcome::ApiError, reason);
                }
                if !retry() {
                    return finish(Outcome::ApiError, reasons::retries_spent(&error));
                }
                self.notes.push(Note::Retrying(error.to_string()));
            }
        }
        self.next(delay, now)
    }

    /// A poll was cut short at `now` without an observation: the gate could
    /// not send (the rest of) its requests before the deadline.
    pub fn on_cut_short(&mut self, now: Instant) -> Step {
        let delay = self.blind_delay();
        self.stable = 0;
        self.next(delay, now)
    }

    /// A [`Step::Hold`] ended at `now`.
    pub fn on_deadline(&mut self, now: Instant) -> Step {
        self.next(self.delay, now)
    }

    /// Polls again after `delay`, fitted to the deadline, or ends the wait
    /// when the deadline has come.
    fn next(&mut self, delay: Duration, now: Instant) -> Step {
        self.delay = delay;
        let remaining = self.deadline.saturating_duration_since(now);
        if remaining.is_zero() {
            return done(self.timed_out());
        }
        Step::Poll {
            after: schedule::fit_to_deadline(delay, remaining),
        }
    }

    /// The success condition held on enough polls in a row: met, when the
    /// answer has every output the wait declares.
    fn met(&self, obs: &Observation, found: &str) -> Finish {
        let outputs = capture_outputs(self.wait, obs);
        let missing: Vec<String> = uncaptured_outputs(self.wait, &outputs)
            .iter()
            .map(|o| format!("`{}` ({})", o.name, o.source))
            .collect();
        let (outcome, reason) = if missing.is_empty() {
            let success = self.wait.rules.success.describe();
            let reason = reasons::met(&success, self.wait.stable_for, found);
            (Outcome::Met, reason)
        } else {
            // Later steps rely on what a wait declares: a wait that cannot
            // deliver it is not met.
            (Outcome::Failed, reasons::outputs_missing(found, &missing))
        };
        Finish {
            outputs: Some(outputs),
            ..Finish::bare(outcome, reason)
        }
    }

    fn timed_out(&self) -> Finish {
        // A `where` that selects none of the items seen is the likeliest
        // reason nothing it waited for ever came (a typo in a value).
        let unmatched = self
            .last_seen
            .as_ref()
            .and_then(|obs| self.wait.rules.unmatched_where(obs));
        let evidence = self.last_seen.as_ref().and_then(|obs| {
            let evidence = evidence::extract(obs, Outcome::TimedOut, &[]);
            evidence::led_by(evidence, unmatched.as_deref(), obs)
        });
        let reason = reasons::timed_out(
            self.by_global,
            self.wait.timeout,
            unmatched.as_deref(),
            &self.last_state,
        );
        Finish {
            evidence,
            ..Finish::bare(Outcome::TimedOut, reason)
        }
    }

    fn sample_progress(&mut self, p: u32, state_changed: bool) {
        let moved = self.progress.is_some_and(|last| last != p);
        if moved && !state_changed {
            self.notes.push(Note::Progress(p));
        }
        self.progress = Some(p);
    }
}

/// The seam to the polling plan: every delay the machine chooses starts
/// here.
impl Machine<'_> {
    /// The plain progression's next delay, taken once per poll: the delay
    /// after an error, a poll without an answer, or with `adaptive: false`.
    fn blind_delay(&mut self) -> Duration {
        self.planner.blind()
    }

    /// Starts the progression over (the job moved) and takes its first
    /// delay; the next planned poll comes sooner too.
    fn restart_schedule(&mut self) -> Duration {
        self.planner.restart()
    }

    /// The delay for a pending job, from the model of its duration: its
    /// age, progress, sub-jobs, past jobs of its type and the default
    /// prior, and how close a failure condition is to tripping.
    fn adaptive_delay(
        &mut self,
        obs: &Observation,
        now: Instant,
        estimates: &mut dyn Estimates,
    ) -> Duration {
        let past = estimates.past(obs, history::source(&self.wait.target));
        let remaining = self.deadline.saturating_duration_since(now);
        let before = self.planner.estimate().cloned();
        let delay = self.planner.plan(
            obs,
            &self.wait.rules,
            now,
            remaining,
            Past {
                api: &past.api,
                local: &past.local,
            },
        );
        if let Some(estimate) = self.planner.estimate()
            && before.as_ref() != Some(estimate)
        {
            self.notes.push(Note::Estimate(Box::new(estimate.clone())));
        }
        delay
    }
}

/// Why a wait ends `outcome` on `obs`: the evidence, and as blame the items
/// the verdict blamed, or when it blamed none (a job in a failure status),
/// every item in a failure status.
fn blamed(obs: &Observation, outcome: Outcome, blame: Vec<Item>, reason: String) -> Finish {
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
    Finish {
        evidence,
        blame,
        ..Finish::bare(outcome, reason)
    }
}

fn done(end: Finish) -> Step {
    Step::Finish(Box::new(end))
}

/// The length of the run of met polls after one more poll: one longer when
/// the poll was judged met, none otherwise.
fn streak_after(streak: u32, met: bool) -> u32 {
    if met { streak.saturating_add(1) } else { 0 }
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{parse_item, parse_job};

    const S: Duration = Duration::from_secs(1);

    /// The one wait of a spec whose wait `w` is `body` (indented lines).
    fn wait(body: &str) -> Wait {
        let env = |name: &str| (name == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| "p".to_owned());
        let text = format!("version: 1\nwaits:\n  w:\n{body}");
        let mut spec = crate::spec::parse("s", &text, &env).unwrap_or_else(|e| panic!("{e}"));
        spec.waits.remove(0)
    }

    /// An image job that must reach SUCCESS, with `extra` settings.
    fn job_wait(extra: &str) -> Wait {
        wait(&format!(
            "    image_job: j\n    target: [SUCCESS]\n    poll: {{ initial: 5s, max: 1m, jitter: none, adaptive: false }}\n{extra}"
        ))
    }

    fn job(status: &str) -> Observation {
        job_json(&format!(r#"{{"id":"j","status":"{status}"}}"#))
    }

    fn job_json(json: &str) -> Observation {
        parse_job(json.to_owned().into_bytes().into()).unwrap()
    }

    fn sub_jobs(statuses: &[&str]) -> Observation {
        Observation {
            items: statuses
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    parse_item(serde_json::json!({"id": format!("s{i}"), "status": s})).unwrap()
                })
                .collect(),
            source: crate::api::model::Source::List,
            ..Default::default()
        }
    }

    /// Past durations to answer with, counting the questions.
    struct Hints {
        past: PastDurations,
        asked: u32,
    }

    impl Estimates for Hints {
        fn past(&mut self, _: &Observation, _: Option<history::Source>) -> PastDurations {
            self.asked += 1;
            self.past.clone()
        }
    }

    fn no_hints() -> Hints {
        Hints {
            past: PastDurations::default(),
            asked: 0,
        }
    }

    /// A machine started at `t0`, with no global deadline.
    fn machine(wait: &Wait, t0: Instant) -> Machine<'_> {
        Machine::new(wait, 7, t0, t0, None)
    }

    fn finish(step: Step) -> Finish {
        match step {
            Step::Finish(f) => *f,
            other => panic!("expected a finish, got {other:?}"),
        }
    }

    fn after(step: Step) -> Duration {
        match step {
            Step::Poll { after } => after,
            other => panic!("expected a poll, got {other:?}"),
        }
    }

    fn transient() -> ApiError {
        ApiError::new(ErrorKind::Transient, "unavailable").answered(503, None, Some("r-1".into()))
    }

    fn throttled(message: &str, retry_after: Option<Duration>) -> ApiError {
        ApiError::new(ErrorKind::Throttled { retry_after }, message).answered(
            429,
            Some("APIGW.0308".into()),
            None,
        )
    }

    fn not_found() -> ApiError {
        ApiError::new(ErrorKind::NotFound, "no such job").answered(404, None, None)
    }

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

    #[test]
    fn met_after_stable_for_polls_in_a_row_and_a_pending_poll_breaks_the_streak() {
        let w = job_wait("    stable_for: 3\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let h = &mut no_hints();
        // Two met polls, confirmed soon rather than after a backoff.
        assert_eq!(after(m.on_observation(job("SUCCESS"), t0, h)), 5 * S);
        assert_eq!(after(m.on_observation(job("SUCCESS"), t0 + S, h)), 5 * S);
        // A pending answer ends the streak.
        after(m.on_observation(job("RUNNING"), t0 + 2 * S, h));
        after(m.on_observation(job("SUCCESS"), t0 + 3 * S, h));
        after(m.on_observation(job("SUCCESS"), t0 + 4 * S, h));
        let end = finish(m.on_observation(job("SUCCESS"), t0 + 5 * S, h));
        assert_eq!(end.outcome, Outcome::Met, "{}", end.reason);
        assert!(end.reason.contains("on 3 polls in a row"), "{}", end.reason);
        assert_eq!(end.outputs, Some(BTreeMap::new()));
    }

    #[test]
    fn an_error_or_a_poll_cut_short_breaks_the_streak() {
        let w = job_wait("    stable_for: 2\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let h = &mut no_hints();
        after(m.on_observation(job("SUCCESS"), t0, h));
        after(m.on_error(transient(), t0, &mut || true));
        after(m.on_observation(job("SUCCESS"), t0, h));
        after(m.on_cut_short(t0));
        after(m.on_observation(job("SUCCESS"), t0, h));
        let end = finish(m.on_observation(job("SUCCESS"), t0, h));
        assert_eq!(end.outcome, Outcome::Met);
    }

    #[test]
    fn a_failure_status_fails_with_evidence() {
        let w = job_wait("");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let obs = job_json(r#"{"id":"j","status":"FAILED","fail_reason":"disk full"}"#);
        let end = finish(m.on_observation(obs, t0, &mut no_hints()));
        assert_eq!(end.outcome, Outcome::Failed);
        assert!(end.evidence.is_some());
        assert!(end.outputs.is_none());
        // The report still learns what was seen.
        let notes = m.take_notes();
        assert!(matches!(&notes[0], Note::Changed { state, .. } if state == "FAILED"));
        assert!(matches!(&notes[1], Note::Seen(last) if last.job.is_some()));
    }

    #[test]
    fn a_failed_sub_job_is_blamed() {
        let w = wait(
            "    image_sub_jobs: { job_id: j, job_type: CREATE_SERVER_IMAGE }\n    success: { all: [SUCCESS] }\n    failure: { any: [FAILED] }\n",
        );
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let end = finish(m.on_observation(sub_jobs(&["SUCCESS", "FAILED"]), t0, &mut no_hints()));
        assert_eq!(end.outcome, Outcome::Failed);
        assert_eq!(end.blame.len(), 1);
        assert_eq!(end.blame[0].id, "s1");
    }

    #[test]
    fn an_undeclared_status_is_unexpected() {
        let w = job_wait("");
        let t0 = Instant::now();
        let end = finish(machine(&w, t0).on_observation(job("WEIRD"), t0, &mut no_hints()));
        assert_eq!(end.outcome, Outcome::UnexpectedState);
        assert!(
            end.reason.starts_with("the job reached status WEIRD"),
            "{}",
            end.reason
        );
        assert!(end.reason.contains("`pending:`"), "{}", end.reason);
    }

    #[test]
    fn no_sub_jobs_within_the_grace_is_not_found() {
        let w = wait(
            "    image_sub_jobs: { job_id: j, job_type: CREATE_SERVER_IMAGE }\n    success: { all: [SUCCESS] }\n    not_found_grace: 30s\n",
        );
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let h = &mut no_hints();
        after(m.on_observation(sub_jobs(&[]), t0, h));
        after(m.on_observation(sub_jobs(&[]), t0 + 20 * S, h));
        // Sub-jobs that appear restart the grace.
        after(m.on_observation(sub_jobs(&["RUNNING"]), t0 + 25 * S, h));
        after(m.on_observation(sub_jobs(&[]), t0 + 40 * S, h));
        after(m.on_observation(sub_jobs(&[]), t0 + 69 * S, h));
        let end = finish(m.on_observation(sub_jobs(&[]), t0 + 70 * S, h));
        assert_eq!(end.outcome, Outcome::NotFound);
        assert_eq!(
            end.reason,
            "no sub-jobs appeared within the not-found grace of 30s"
        );
    }

    #[test]
    fn a_job_missing_past_the_grace_is_not_found() {
        let w = job_wait("    not_found_grace: 30s\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let retry = &mut || panic!("a 404 is no retry");
        after(m.on_error(not_found(), t0 + S, retry));
        after(m.on_error(not_found(), t0 + 30 * S, retry));
        let end = finish(m.on_error(not_found(), t0 + 31 * S, retry));
        assert_eq!(end.outcome, Outcome::NotFound);
        assert!(
            end.reason
                .starts_with("the job was not found within the not-found grace of 30s")
        );
        assert!(end.reason.ends_with("check the job id and project id"));
    }

    #[test]
    fn a_404_on_a_list_is_a_wrong_endpoint() {
        let w = wait(
            "    image_sub_jobs: { job_id: j, job_type: CREATE_SERVER_IMAGE }\n    success: { all: [SUCCESS] }\n",
        );
        let t0 = Instant::now();
        let end = finish(machine(&w, t0).on_error(not_found(), t0, &mut || true));
        assert_eq!(end.outcome, Outcome::ApiError);
        assert!(end.reason.starts_with("the endpoint does not exist"));
    }

    #[test]
    fn an_auth_error_is_never_retried() {
        let w = job_wait("");
        let t0 = Instant::now();
        for (status, hint) in [(401, "not retried"), (403, "IAM policy")] {
            let mut asked = 0;
            let error = ApiError::new(ErrorKind::Auth, "denied").answered(status, None, None);
            let mut m = machine(&w, t0);
            let end = finish(m.on_error(error, t0, &mut || {
                asked += 1;
                true
            }));
            assert_eq!(end.outcome, Outcome::AuthError);
            assert!(end.reason.contains(hint), "{}", end.reason);
            assert_eq!(asked, 0);
            let notes = m.take_notes();
            assert!(matches!(&notes[..], [Note::Error(e)] if e.http_status == Some(status)));
        }
    }

    #[test]
    fn transient_errors_past_the_budget_end_the_wait() {
        let w = job_wait("    error_budget: 2\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let yes = &mut || true;
        after(m.on_error(transient(), t0, yes));
        after(m.on_error(transient(), t0, yes));
        // An answer starts the count over.
        after(m.on_observation(job("RUNNING"), t0, &mut no_hints()));
        m.take_notes();
        after(m.on_error(transient(), t0, yes));
        after(m.on_error(transient(), t0, yes));
        let end = finish(m.on_error(transient(), t0, yes));
        assert_eq!(end.outcome, Outcome::ApiError);
        assert!(
            end.reason
                .starts_with("gave up after 3 failed polls in a row"),
            "{}",
            end.reason
        );
        assert!(end.reason.contains("(now 2)"), "{}", end.reason);
        let notes = m.take_notes();
        let retried = notes.iter().filter(|n| **n == Note::Retried).count();
        let retrying = notes
            .iter()
            .filter(|n| matches!(n, Note::Retrying(_)))
            .count();
        assert_eq!((retried, retrying), (3, 2));
    }

    #[test]
    fn a_spent_run_retry_budget_ends_the_wait() {
        let w = job_wait("");
        let t0 = Instant::now();
        for error in [transient(), throttled("slow down", None)] {
            let end = finish(machine(&w, t0).on_error(error, t0, &mut || false));
            assert_eq!(end.outcome, Outcome::ApiError);
            assert!(end.reason.starts_with("the run's retry budget is spent"));
        }
    }

    #[test]
    fn retry_after_delays_the_retry_within_the_poll_cap() {
        // (The gate holds the throttled APIs' requests for the whole
        // `Retry-After`; this wait's own retry is timed within its cap.)
        let w = job_wait("");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let yes = &mut || true;
        let delay = after(m.on_error(throttled("slow down", Some(20 * S)), t0, yes));
        assert_eq!(delay, 20 * S);
        assert_eq!(m.take_notes()[1..], [Note::Retried]);
        // A pause past the poll cap is held to the cap.
        let delay = after(m.on_error(throttled("slow down", Some(600 * S)), t0, yes));
        assert_eq!(delay, 60 * S);
        // Without Retry-After: a short pause.
        let delay = after(m.on_error(throttled("slow down", None), t0, yes));
        assert!(delay >= THROTTLE_PAUSE, "{delay:?}");
    }

    #[test]
    fn a_retry_after_past_the_deadline_ends_the_wait_at_once() {
        let w = job_wait("    timeout: 10s\n");
        let t0 = Instant::now();
        let error = throttled("slow down", Some(30 * S));
        let end =
            finish(machine(&w, t0).on_error(error, t0 + 5 * S, &mut || panic!("not retried")));
        assert_eq!(end.outcome, Outcome::ApiError);
        assert!(
            end.reason.contains("resets in 30s") && end.reason.contains("5s left"),
            "{}",
            end.reason
        );
    }

    #[test]
    fn a_throttle_past_the_deadline_is_held_to_it_then_times_out() {
        // No `Retry-After`: the default pause of 3 s reaches the deadline,
        // but the quota may reset at any moment, so it is no stop.
        let w = job_wait("    timeout: 10s\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let step = m.on_error(throttled("slow down", None), t0 + 8 * S, &mut || true);
        assert!(
            matches!(step, Step::Hold { until } if until == t0 + 10 * S),
            "{step:?}"
        );
        let end = finish(m.on_deadline(t0 + 10 * S));
        assert_eq!(end.outcome, Outcome::TimedOut);
        assert!(end.reason.ends_with("(nothing observed)"), "{}", end.reason);
        assert!(end.evidence.is_none());
    }

    #[test]
    fn a_daily_quota_is_not_retried() {
        let w = job_wait("");
        let t0 = Instant::now();
        let error = throttled("the daily quota is exhausted", Some(S));
        let end = finish(machine(&w, t0).on_error(error, t0, &mut || panic!("not retried")));
        assert_eq!(end.outcome, Outcome::ApiError);
        assert!(
            end.reason.contains("resets only the next day"),
            "{}",
            end.reason
        );
    }

    #[test]
    fn the_deadline_ends_the_wait_and_the_last_poll_is_fitted_to_it() {
        let w = job_wait("    timeout: 12s\n");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let h = &mut no_hints();
        assert_eq!(after(m.on_observation(job("RUNNING"), t0, h)), 5 * S);
        // 10s would pass the deadline: 2s is what is left.
        assert_eq!(
            after(m.on_observation(job("RUNNING"), t0 + 10 * S, h)),
            2 * S
        );
        let end = finish(m.on_observation(job("RUNNING"), t0 + 12 * S, h));
        assert_eq!(end.outcome, Outcome::TimedOut);
        assert_eq!(
            end.reason,
            "the timeout of 12s ran out before the outcome was known (last seen: RUNNING)"
        );
        assert!(end.evidence.is_some());
    }

    #[test]
    fn a_sooner_global_deadline_is_named() {
        let w = job_wait("    timeout: 1h\n");
        let t0 = Instant::now();
        let mut m = Machine::new(&w, 7, t0, t0, Some(t0 + 60 * S));
        assert_eq!(m.deadline(), t0 + 60 * S);
        let end = finish(m.on_cut_short(t0 + 60 * S));
        assert_eq!(end.outcome, Outcome::TimedOut);
        assert!(
            end.reason.starts_with("the global deadline ran out"),
            "{}",
            end.reason
        );
    }

    #[test]
    fn a_met_answer_without_a_declared_output_fails() {
        let w = job_wait("    outputs:\n      kind: $.job_type\n");
        let t0 = Instant::now();
        let end = finish(machine(&w, t0).on_observation(job("SUCCESS"), t0, &mut no_hints()));
        assert_eq!(end.outcome, Outcome::Failed);
        assert!(
            end.reason
                .contains("no value for output `kind` ($.job_type)"),
            "{}",
            end.reason
        );
        assert_eq!(end.outputs, Some(BTreeMap::new()));
        let obs = job_json(r#"{"id":"j","status":"SUCCESS","job_type":"CREATE"}"#);
        let end = finish(machine(&w, t0).on_observation(obs, t0, &mut no_hints()));
        assert_eq!(end.outcome, Outcome::Met);
        let outputs = end.outputs.unwrap();
        assert_eq!(outputs["kind"], "CREATE");
    }

    #[test]
    fn a_pending_job_without_progress_is_timed_by_its_history() {
        let w = wait(
            "    image_job: j\n    target: [SUCCESS]\n    poll: { initial: 5s, max: 1m, jitter: none, adaptive: true }\n",
        );
        let t0 = Instant::now();
        // A job just seen, with nothing known: polled at the floor.
        let mut m = machine(&w, t0);
        assert_eq!(
            after(m.on_observation(job("RUNNING"), t0, &mut no_hints())),
            5 * S
        );
        // Ten past jobs took ten minutes: a job that began two minutes ago
        // has nothing to show for a while.
        let begun = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(120);
        let running = || {
            job_json(&format!(
                r#"{{"id":"j","status":"RUNNING","begin_time":"{begun}"}}"#
            ))
        };
        let mut m = machine(&w, t0);
        let mut hints = Hints {
            past: PastDurations {
                api: vec![600.0; 10],
                local: Vec::new(),
            },
            asked: 0,
        };
        assert_eq!(after(m.on_observation(running(), t0, &mut hints)), 60 * S);
        assert_eq!(hints.asked, 1);
        let notes = m.take_notes();
        let estimate = notes
            .iter()
            .find_map(|n| match n {
                Note::Estimate(e) => Some(e),
                _ => None,
            })
            .expect("the estimate is noted");
        assert_eq!(estimate.samples, 10);
        // A failed poll asks no history.
        after(m.on_error(transient(), t0, &mut || true));
        assert_eq!(hints.asked, 1);
        // Without `adaptive` the history is never asked.
        let w = job_wait("");
        let mut m = machine(&w, t0);
        assert_eq!(
            after(m.on_observation(job("RUNNING"), t0, &mut hints)),
            5 * S
        );
        assert_eq!(hints.asked, 1);
    }

    #[test]
    fn a_state_change_restarts_the_schedule_and_is_noted() {
        let w = job_wait("");
        let t0 = Instant::now();
        let mut m = machine(&w, t0);
        let h = &mut no_hints();
        let delays: Vec<Duration> = ["WAITING", "WAITING", "WAITING", "RUNNING", "RUNNING"]
            .iter()
            .enumerate()
            .map(|(i, s)| after(m.on_observation(job(s), t0 + i as u32 * S, h)))
            .collect();
        assert_eq!(delays, [5 * S, 10 * S, 20 * S, 5 * S, 10 * S]);
        let changes: Vec<(u64, String)> = m
            .take_notes()
            .into_iter()
            .filter_map(|n| match n {
                Note::Changed { at_ms, state, .. } => Some((at_ms, state)),
                _ => None,
            })
            .collect();
        assert_eq!(
            changes,
            [(0, "WAITING".to_owned()), (3000, "RUNNING".to_owned())]
        );
    }
}
