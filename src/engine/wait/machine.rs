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
use crate::engine::later;
use crate::engine::past_jobs;
use crate::engine::rate::{Throttle, hard_stop};
use crate::engine::schedule;
use crate::report::evidence::{self, Evidence};
use crate::report::model::{ApiErrorInfo, LastObservation, Outcome};
use crate::spec::{Shape, Wait};

/// How long to pause everyone after a 429 without `Retry-After`: Huawei
/// advises retrying after 2 to 5 seconds.
pub(crate) const THROTTLE_PAUSE: Duration = Duration::from_secs(3);

/// What the loop does next.
#[derive(Debug)]
pub(crate) enum Step {
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
pub(crate) struct Finish {
    pub(crate) outcome: Outcome,
    pub(crate) reason: String,
    pub(crate) evidence: Option<Evidence>,
    /// The items the outcome is blamed on.
    pub(crate) blame: Vec<Item>,
    /// The outputs captured, when the success condition held.
    pub(crate) outputs: Option<BTreeMap<String, String>>,
}

impl Finish {
    /// An outcome with nothing beside its reason.
    pub(crate) fn bare(outcome: Outcome, reason: String) -> Self {
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
pub(crate) enum Note {
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
pub(crate) trait Estimates {
    /// Past durations (seconds) of the type of the job in `obs`: from the
    /// API's lists once a read of `source` has answered (starting one when
    /// none is under way), and from the local history.
    fn past(&mut self, obs: &Observation, source: Option<past_jobs::Source>) -> PastDurations;
}

/// Past durations of one job type, in seconds.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PastDurations {
    pub(crate) api: Vec<f64>,
    pub(crate) local: Vec<f64>,
}

/// What a timeout reports of the last answer judged, drawn from it when it
/// was judged (nothing before the first answer).
#[derive(Debug, Default)]
struct LastSeen {
    /// A `where` that selected none of its items.
    unmatched: Option<String>,
    evidence: Option<Evidence>,
}

/// One wait's state between polls.
pub(crate) struct Machine<'a> {
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
    /// What a timeout reports of the last answer judged: the unmatched
    /// `where` and the evidence, drawn from it when it was judged. Not the
    /// answer itself: 10,000 sub-jobs held until the next answer is read
    /// beside them would double the resident items.
    last_seen: LastSeen,
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
    pub(crate) fn new(
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
            last_seen: LastSeen::default(),
            progress: None,
            delay: Duration::ZERO,
            notes: Vec::new(),
        }
    }

    /// When the wait runs out of time: its timeout or the run's deadline.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The notes of the polls handled since the last call, oldest first.
    pub(crate) fn take_notes(&mut self) -> Vec<Note> {
        std::mem::take(&mut self.notes)
    }

    /// A poll answered with `obs` at `now`.
    pub(crate) fn on_observation(
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
        let unmatched = self.wait.rules.unmatched_where(&obs);
        let evidence = evidence::extract(&obs, Outcome::TimedOut, &[]);
        let evidence = evidence::led_by(evidence, unmatched.as_deref(), &obs);
        self.last_seen = LastSeen {
            unmatched,
            evidence,
        };
        self.next(delay, now)
    }

    /// A poll failed with `error` at `now`. `retry` spends one retry of the
    /// run's shared budget, and says whether there was one left; it is asked
    /// only when the error would be retried.
    pub(crate) fn on_error(
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
    pub(crate) fn on_cut_short(&mut self, now: Instant) -> Step {
        let delay = self.blind_delay();
        self.stable = 0;
        self.next(delay, now)
    }

    /// A [`Step::Hold`] ended at `now`.
    pub(crate) fn on_deadline(&mut self, now: Instant) -> Step {
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
        let LastSeen {
            unmatched,
            evidence,
        } = &self.last_seen;
        let reason = reasons::timed_out(
            self.by_global,
            self.wait.timeout,
            unmatched.as_deref(),
            &self.last_state,
        );
        Finish {
            evidence: evidence.clone(),
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
        // The API's past jobs cost a request: only for a job that has
        // outlived what a short job takes.
        let age = self.planner.age(obs, now);
        let source = past_jobs::source(&self.wait.target)
            .filter(|_| past_jobs::worth_reading(age, self.wait.poll.initial));
        let past = estimates.past(obs, source);
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
mod tests;
