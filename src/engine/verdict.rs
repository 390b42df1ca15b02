//! The run report and its verdict: assembled from the waits' reports while
//! the run goes on, after a crash ([`crash_report`]), or for a run that
//! could not start ([`not_started`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::exit;
use crate::report::model::{Outcome, RunReport, SCHEMA_VERSION, WaitReport};
use crate::spec::{Spec, Wait};

use super::Stop;

/// What a report is assembled from, shared with the crash path
/// ([`crash_report`]) so that a panic still leaves a report behind.
pub(super) struct Live {
    pub(super) reports: Vec<Arc<Mutex<WaitReport>>>,
    pub(super) started_at: jiff::Timestamp,
    pub(super) spec_origin: String,
}

impl Live {
    pub(super) fn waits(&self) -> Vec<WaitReport> {
        self.reports
            .iter()
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }
}

/// The run of this process, for [`crash_report`].
pub(super) static CURRENT: Mutex<Option<Arc<Live>>> = Mutex::new(None);

/// The report of the run under way when jobgate crashed (`None` if no run
/// had started): every wait without an outcome ends `internal_error` with
/// `message`, and the run's outcome and code are `internal_error` and
/// [`exit::INTERNAL`] whatever its waits' outcomes (a crash after every
/// wait was met, while publishing, is still a crash, never a pass).
///
/// Called from a panic hook, possibly on the thread that panicked while it
/// held a lock: locks are only tried (for a moment), and `None` is returned
/// rather than deadlock.
pub(crate) fn crash_report(message: &str) -> Option<RunReport> {
    let live = try_lock(&CURRENT)?.clone()?;
    let mut waits = Vec::with_capacity(live.reports.len());
    for r in &live.reports {
        waits.push(try_lock(r)?.clone());
    }
    for w in &mut waits {
        if w.outcome == Outcome::Running {
            w.outcome = Outcome::InternalError;
            w.reason = internal_error(message);
        }
    }
    let mut report = assemble(waits, &live.spec_origin, live.started_at, None);
    report.outcome = Outcome::InternalError;
    report.exit_code = exit::INTERNAL;
    Some(report)
}

/// Locks `m` if that is possible within a moment (a poisoned lock is
/// still read: the crash report wants what is there).
fn try_lock<T>(m: &Mutex<T>) -> Option<std::sync::MutexGuard<'_, T>> {
    for _ in 0..50 {
        match m.try_lock() {
            Ok(guard) => return Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => return Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    None
}

/// The reason of a wait that jobgate itself failed.
pub(super) fn internal_error(message: &str) -> String {
    format!(
        "internal error: jobgate failed before this wait had an outcome ({message}); this is a bug, please report it with the report attached"
    )
}

/// The text of a panic's payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// The report of a run that could not start (no credentials): every wait
/// ends with `outcome` and `reason`, so CI still gets its report, outputs
/// and summary.
pub(crate) fn not_started(spec: &Spec, outcome: Outcome, reason: &str) -> RunReport {
    let waits = spec
        .waits
        .iter()
        .map(|w| WaitReport {
            outcome,
            reason: reason.to_owned(),
            ..initial_report(w)
        })
        .collect();
    assemble(waits, &spec.origin, jiff::Timestamp::now(), None)
}

/// The run report from the waits' reports: the overall outcome and exit
/// code follow from theirs, unless a signal stopped the run.
pub(super) fn assemble(
    waits: Vec<WaitReport>,
    spec_origin: &str,
    started_at: jiff::Timestamp,
    stop: Option<Stop>,
) -> RunReport {
    let (outcome, exit_code) = verdict(waits.iter().map(|w| w.outcome), stop.as_ref());
    let signal = match stop {
        Some(Stop::Interrupted) => Some(exit::INTERRUPTED),
        Some(Stop::Terminated) => Some(exit::TERMINATED),
        _ => None,
    };
    RunReport {
        schema_version: SCHEMA_VERSION,
        tool: "jobgate".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        spec: spec_origin.to_owned(),
        started_at: started_at.to_string(),
        ended_at: jiff::Timestamp::now().to_string(),
        outcome,
        exit_code,
        interrupted_by: match signal {
            Some(exit::INTERRUPTED) => Some("SIGINT".into()),
            Some(_) => Some("SIGTERM".into()),
            None => None,
        },
        waits,
    }
}

/// The run's outcome and exit code from its waits' outcomes: the exit code
/// is 0 only when every wait was met (see [`exit::combine`]; a spec without
/// waits is refused by validation, and would be an internal error here); a
/// signal decides the code when it stopped the run. The outcome is `met`
/// for 0, `cancelled` for a signal, else the first wait outcome that asks
/// for the code (`internal_error` when none does).
fn verdict(outcomes: impl Iterator<Item = Outcome>, stop: Option<&Stop>) -> (Outcome, u8) {
    let outcomes: Vec<Outcome> = outcomes.collect();
    match stop {
        Some(Stop::Interrupted) => return (Outcome::Cancelled, exit::INTERRUPTED),
        Some(Stop::Terminated) => return (Outcome::Cancelled, exit::TERMINATED),
        _ => {}
    }
    let code = exit::combine(outcomes.iter().map(|o| o.own_exit_code()));
    let outcome = if code == exit::SUCCESS {
        Outcome::Met
    } else {
        outcomes
            .iter()
            .copied()
            .find(|o| o.own_exit_code() == Some(code))
            .unwrap_or(Outcome::InternalError)
    };
    (outcome, code)
}

/// A wait's report before it has run.
pub(super) fn initial_report(w: &Wait) -> WaitReport {
    WaitReport {
        name: w.name.clone(),
        kind: w.target.kind().to_owned(),
        requests: Vec::new(),
        success: w.rules.success.describe(),
        failure: w.rules.failure.as_ref().map(|f| f.describe()),
        outcome: Outcome::Running,
        reason: "waiting to start".into(),
        polls: 0,
        requests_sent: 0,
        retries: 0,
        elapsed_ms: 0,
        last_observation: None,
        blame: Vec::new(),
        evidence: None,
        outputs: BTreeMap::new(),
        last_error: None,
        history: Vec::new(),
        estimate: None,
        declared_at: crate::report::model::Declared::at(&w.span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALL: [Outcome; 11] = Outcome::ALL;

    fn stop() -> impl Strategy<Value = Option<Stop>> {
        prop_oneof![
            Just(None),
            Just(Some(Stop::Interrupted)),
            Just(Some(Stop::Terminated)),
            Just(Some(Stop::FailFast { wait: "a".into() })),
        ]
    }

    proptest! {
        /// The gate's one rule: exit 0 exactly when every wait was met (and
        /// no signal stopped the run), whatever else the waits did,
        /// including never finishing or crashing.
        #[test]
        fn exit_zero_iff_every_wait_met(
            outcomes in proptest::collection::vec(proptest::sample::select(&ALL[..]), 0..8),
            stop in stop(),
        ) {
            let (outcome, code) = verdict(outcomes.iter().copied(), stop.as_ref());
            let signalled = matches!(stop, Some(Stop::Interrupted | Stop::Terminated));
            let all_met = !outcomes.is_empty() && outcomes.iter().all(|o| *o == Outcome::Met);
            prop_assert_eq!(code == exit::SUCCESS, all_met && !signalled);
            prop_assert_eq!(outcome == Outcome::Met, code == exit::SUCCESS);
            if !signalled && outcomes.iter().any(|o| matches!(o, Outcome::Running | Outcome::InternalError)) {
                prop_assert_eq!(code, exit::INTERNAL);
            }
        }
    }

    #[test]
    fn a_run_without_a_verdict_is_an_internal_error() {
        assert_eq!(
            verdict([].into_iter(), None),
            (Outcome::InternalError, exit::INTERNAL)
        );
        let skipped = [Outcome::Met, Outcome::Skipped];
        assert_eq!(
            verdict(skipped.into_iter(), None),
            (Outcome::InternalError, exit::INTERNAL)
        );
        let timed_out = [Outcome::TimedOut, Outcome::Skipped, Outcome::Met];
        assert_eq!(
            verdict(timed_out.into_iter(), None),
            (Outcome::TimedOut, exit::TIMED_OUT)
        );
    }
}
