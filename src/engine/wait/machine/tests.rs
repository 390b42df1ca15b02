//! The machine's unit tests: each drives one wait through scripted polls.

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
    fn past(&mut self, _: &Observation, _: Option<past_jobs::Source>) -> PastDurations {
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
    let end = finish(machine(&w, t0).on_error(error, t0 + 5 * S, &mut || panic!("not retried")));
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
