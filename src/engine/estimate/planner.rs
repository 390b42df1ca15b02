//! One wait's polling plan: the state the model needs between polls (the
//! progress of each member, when the job was first seen, whether the state
//! just changed) and the choice of every delay, so the wait's state machine
//! asks one object "when next?".

use std::time::Duration;

use tokio::time::Instant;

use super::prior::{self, Prior};
use super::progress::{Progress, Sample};
use super::{Model, Signals, subjobs, urgency};
use crate::api::Status;
use crate::api::model::{JobState, Observation};
use crate::condition::Rules;
use crate::engine::schedule::{self, Backoff, Inputs, Urgency};
use crate::report::model::Estimate;
use crate::spec::{Jitter, PollSchedule, Target};

/// What the run knows about past jobs of the observed job's type.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Past<'a> {
    /// Durations from the API's lists, in seconds.
    pub(crate) api: &'a [f64],
    /// Durations from the local history, in seconds.
    pub(crate) local: &'a [f64],
}

/// One wait's schedule.
pub(crate) struct Planner {
    poll: PollSchedule,
    prior: Option<Prior>,
    /// The plain progression: the whole schedule with `adaptive: false`,
    /// and after errors and polls without an answer.
    backoff: Backoff,
    rng: fastrand::Rng,
    progress: Progress,
    started: Instant,
    /// When a poll first saw the job (the age's fallback).
    first_seen: Option<Instant>,
    /// The state changed on the poll being planned for.
    changed: bool,
    /// When a poll first saw the job waiting or running.
    pending_since: Option<Instant>,
    recorded: bool,
    estimate: Option<Estimate>,
}

impl Planner {
    /// The plan of a wait on `target` polled per `poll`, started at
    /// `started`; `seed` makes the jitter reproducible.
    pub(crate) fn new(poll: PollSchedule, target: &Target, seed: u64, started: Instant) -> Planner {
        Planner {
            poll,
            prior: prior::for_target(target),
            backoff: Backoff::new(poll.initial, poll.max, poll.factor),
            rng: fastrand::Rng::with_seed(seed),
            progress: Progress::default(),
            started,
            first_seen: None,
            changed: false,
            pending_since: None,
            recorded: false,
            estimate: None,
        }
    }

    /// The plain progression's next delay, jittered.
    pub(crate) fn blind(&mut self) -> Duration {
        let d = self.backoff.next_delay();
        self.jitter(d)
    }

    /// The job moved: the progression starts over, and the next planned
    /// poll comes at most half as late as the model alone would place it.
    pub(crate) fn restart(&mut self) -> Duration {
        self.backoff.reset();
        self.changed = true;
        self.blind()
    }

    fn jitter(&mut self, d: Duration) -> Duration {
        match self.poll.jitter {
            Jitter::None => d,
            Jitter::Full => {
                schedule::jitter_around(d, self.poll.initial, self.poll.max, self.rng.f64())
            }
        }
    }

    /// How long the job in `obs` has run at `now`: by its own `begin_time`,
    /// else since a poll first saw it.
    pub(crate) fn age(&self, obs: &Observation, now: Instant) -> Duration {
        self.age_at(obs, now, jiff::Timestamp::now())
    }

    /// [`Planner::age`] with the wall clock read by the caller.
    fn age_at(&self, obs: &Observation, now: Instant, wall: jiff::Timestamp) -> Duration {
        job_age(obs, wall).unwrap_or_else(|| {
            self.first_seen
                .map_or(Duration::ZERO, |seen| now.saturating_duration_since(seen))
        })
    }

    /// The model's estimate as last planned, for the report.
    pub(crate) fn estimate(&self) -> Option<&Estimate> {
        self.estimate.as_ref()
    }

    /// The delay after a pending observation `obs` at `now`, with
    /// `remaining` time to the deadline: from the duration model, or the
    /// plain progression when adaptive polling is off.
    pub(crate) fn plan(
        &mut self,
        obs: &Observation,
        rules: &Rules,
        now: Instant,
        remaining: Duration,
        past: Past<'_>,
    ) -> Duration {
        let changed = std::mem::take(&mut self.changed);
        self.first_seen.get_or_insert(now);
        let at_ms = millis(now.saturating_duration_since(self.started));
        for item in &obs.items {
            if let Some(p) = item.progress {
                let done = !matches!(item.status, Status::Waiting | Status::Running);
                let sample = Sample {
                    at_ms,
                    percent: f64::from(p),
                };
                self.progress.record(&item.id, sample, done);
            }
        }
        if !self.poll.adaptive {
            return self.backoff.next_delay();
        }
        let wall = jiff::Timestamp::now();
        let age = self.age_at(obs, now, wall);
        let per_member = self.prior.is_some_and(|p| p.per_member);
        let members = if per_member { members(obs) } else { 1 };
        let progress_remaining = self.progress.remaining(at_ms);
        let signals = Signals {
            prior: self.prior.map(|p| p.scaled(self.poll.time_scale)),
            members,
            job_type: obs.job.as_ref().and_then(|j| j.job_type.clone()),
            api_history: past.api.to_vec(),
            local_history: past.local.to_vec(),
            progress_remaining,
            sub_jobs_remaining: progress_remaining
                .is_none()
                .then(|| subjobs::remaining(obs, wall))
                .flatten(),
            age: age.as_secs_f64(),
        };
        let model = Model::build(&signals, self.poll.time_scale);
        self.estimate = Some(model.report());
        let urgency = if urgency::near_failure(rules, obs) {
            Urgency::NearFailure
        } else if changed {
            Urgency::Changed
        } else {
            Urgency::None
        };
        let jitter = (self.poll.jitter == Jitter::Full).then(|| self.rng.f64());
        schedule::plan(Inputs {
            model: &model,
            age,
            floor: self.poll.initial,
            max: self.poll.max,
            effort: self.poll.effort,
            remaining,
            urgency,
            jitter,
        })
    }

    /// The duration to record in the local history when `obs` shows the job
    /// ended, once: only for a job a poll saw waiting or running before and
    /// now sees SUCCESS or FAILED, from its own time stamps when both parse
    /// (else from when it was first seen pending), with its job type.
    pub(crate) fn ended(&mut self, obs: &Observation, now: Instant) -> Option<(String, f64)> {
        let job = obs.job.as_ref()?;
        match job.status {
            Status::Waiting | Status::Running => {
                self.pending_since.get_or_insert(now);
                None
            }
            Status::Success | Status::Failed if !self.recorded => {
                let since = self.pending_since?;
                self.recorded = true;
                let job_type = job.job_type.clone()?;
                let secs = own_span(job)
                    .unwrap_or_else(|| now.saturating_duration_since(since))
                    .as_secs_f64();
                Some((job_type, secs))
            }
            _ => None,
        }
    }
}

/// How long the job has run by its own `begin_time` (for a list, its
/// earliest item's), on the local clock.
fn job_age(obs: &Observation, now: jiff::Timestamp) -> Option<Duration> {
    let begin = match &obs.job {
        Some(job) => job.begin_time.as_ref()?.parsed?,
        None => obs
            .items
            .iter()
            .filter_map(|i| i.begin_time.as_ref()?.parsed)
            .min()?,
    };
    Duration::try_from(now.duration_since(begin)).ok()
}

/// `end_time - begin_time` of a job, when both parse and are in order.
fn own_span(job: &JobState) -> Option<Duration> {
    let (b, e) = (
        job.begin_time.as_ref()?.parsed?,
        job.end_time.as_ref()?.parsed?,
    );
    Duration::try_from(e.duration_since(b)).ok()
}

/// The members a fleet still waits for: its unfinished items, or the
/// job's `sub_jobs_total` before its sub-jobs are listed.
fn members(obs: &Observation) -> u32 {
    let unfinished = obs
        .items
        .iter()
        .filter(|i| matches!(i.status, Status::Waiting | Status::Running))
        .count();
    let n = if obs.items.is_empty() {
        obs.job.as_ref().and_then(|j| j.sub_jobs_total).unwrap_or(1) as usize
    } else {
        unfinished
    };
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model;

    fn wait(kind: &str, extra: &str) -> crate::spec::Wait {
        let spec = format!(
            "version: 1\ndefaults: {{ project_id: p1, poll: {{ initial: 5s, max: 60s, jitter: none }} }}\nwaits:\n  w:\n    {kind}\n    target: [SUCCESS]\n{extra}"
        );
        crate::spec::parse("s.yaml", &spec, &|_| None)
            .unwrap()
            .waits
            .remove(0)
    }

    fn job(status: &str, begin: &str, end: Option<&str>) -> Observation {
        let body = serde_json::json!({
            "id": "j", "status": status, "job_type": "CREATE_SERVER_IMAGE",
            "begin_time": begin, "end_time": end,
        });
        model::parse_job(body.to_string().into()).unwrap()
    }

    #[test]
    fn records_a_duration_only_after_seeing_the_job_pending() {
        let w = wait("image_job: j", "");
        let t0 = Instant::now();
        let mut p = Planner::new(w.poll, &w.target, 1, t0);
        let done = job(
            "SUCCESS",
            "2024-05-20T10:00:00Z",
            Some("2024-05-20T10:03:00Z"),
        );
        // Seen only ended: no evidence of how long it ran.
        assert_eq!(p.ended(&done, t0), None);
        let running = job("RUNNING", "2024-05-20T10:00:00Z", None);
        assert_eq!(p.ended(&running, t0), None);
        assert_eq!(
            p.ended(&done, t0 + Duration::from_secs(5)),
            Some(("CREATE_SERVER_IMAGE".into(), 180.0))
        );
        // Once.
        assert_eq!(p.ended(&done, t0 + Duration::from_secs(6)), None);
    }

    #[test]
    fn without_time_stamps_the_observed_span_is_recorded() {
        let w = wait("image_job: j", "");
        let t0 = Instant::now();
        let mut p = Planner::new(w.poll, &w.target, 1, t0);
        assert_eq!(p.ended(&job("RUNNING", "junk", None), t0), None);
        let (_, secs) = p
            .ended(&job("FAILED", "junk", None), t0 + Duration::from_secs(40))
            .unwrap();
        assert!((secs - 40.0).abs() < 1e-9);
    }

    #[test]
    fn a_young_job_is_polled_at_the_floor_and_reported_from_the_prior() {
        let w = wait("image_job: j", "");
        let t0 = Instant::now();
        let mut p = Planner::new(w.poll, &w.target, 1, t0);
        let now = jiff::Timestamp::now().to_string();
        let obs = job("RUNNING", &now, None);
        let d = p.plan(
            &obs,
            &w.rules,
            t0,
            Duration::from_secs(600),
            Past::default(),
        );
        assert_eq!(d, Duration::from_secs(5));
        let e = p.estimate().unwrap();
        assert_eq!(e.basis, crate::report::model::EstimateBasis::Prior);
    }

    #[test]
    fn adaptive_off_is_the_plain_progression() {
        let w = wait("image_job: j", "    poll: { adaptive: false, factor: 2 }\n");
        let t0 = Instant::now();
        let mut p = Planner::new(w.poll, &w.target, 1, t0);
        let obs = job("RUNNING", "2024-05-20T10:00:00Z", None);
        let delays: Vec<u64> = (0..5)
            .map(|_| {
                p.plan(
                    &obs,
                    &w.rules,
                    t0,
                    Duration::from_secs(600),
                    Past::default(),
                )
                .as_secs()
            })
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 60]);
        assert!(p.estimate().is_none());
    }
}
