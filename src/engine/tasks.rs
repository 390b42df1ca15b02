//! One task per wait: it waits for the waits it comes after (`after:`),
//! runs its wait or skips or cancels it, and publishes its end; the run
//! joins them all, and a task that panicked still ends its wait.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::report::model::{Outcome, WaitReport};
use crate::spec::Wait;

use super::verdict::{Live, internal_error, panic_message};
use super::{Event, Gate, Settled, Stop, estimate, fetch, past_jobs, wait};

/// What every wait of a run shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub(super) gate: Arc<Gate>,
    /// Past durations per job type.
    pub(super) history: Arc<past_jobs::History>,
    /// The local history of job durations, unless turned off.
    pub(super) local: Option<Arc<estimate::store::Store>>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    pub(super) stop_rx: watch::Receiver<Option<Stop>>,
    pub(super) stop_tx: watch::Sender<Option<Stop>>,
    /// Where each wait publishes its end, by name.
    pub(super) done: Arc<BTreeMap<String, watch::Sender<Option<Settled>>>>,
    pub(super) run_start: Instant,
    /// The run's global deadline, if any.
    pub(super) deadline: Option<Instant>,
    pub(super) fail_fast: bool,
    pub(super) responses: Option<Arc<crate::report::responses::Responses>>,
}

/// One wait's task: waits for the waits it comes after, runs (or skips or
/// cancels) it, and publishes its end.
pub(super) async fn run_wait(
    w: Wait,
    seed: u64,
    report: Arc<Mutex<WaitReport>>,
    mut shared: Shared,
) {
    let events = &shared.events;
    match after(&w, &mut shared.stop_rx, &shared.done).await {
        After::Stopped(stop) => conclude(&report, events, Outcome::Cancelled, stop.reason()),
        After::Blocked(why) => {
            conclude(&report, events, Outcome::Skipped, format!("skipped: {why}"));
        }
        After::Ready(outputs) => {
            let lookup =
                |wait: &str, key: &str| outputs.get(wait).and_then(|o| o.get(key)).cloned();
            match fetch::plan(&w, &lookup) {
                Ok(plan) => {
                    #[cfg(debug_assertions)]
                    debug_panic(&format!("wait:{}", w.name));
                    let cx = wait::Context {
                        gate: shared.gate.clone(),
                        history: shared.history.clone(),
                        local: shared.local.clone(),
                        run_start: shared.run_start,
                        global_deadline: shared.deadline,
                        stop: shared.stop_rx.clone(),
                        events: events.clone(),
                        seed,
                        responses: shared.responses.clone(),
                    };
                    wait::run(&w, plan, cx, report.clone()).await;
                }
                Err(why) => conclude(&report, events, Outcome::Failed, why),
            }
        }
    }
    let (outcome, outs) = {
        let r = report.lock().unwrap_or_else(|e| e.into_inner());
        (r.outcome, r.outputs.clone())
    };
    let outcome = if outcome == Outcome::Running {
        let reason = internal_error("the wait stopped without an outcome");
        conclude(&report, events, Outcome::InternalError, reason);
        Outcome::InternalError
    } else {
        outcome
    };
    finished(&shared, &w.name, outcome, outs);
}

/// Where the waits a wait comes after leave it.
enum After {
    /// Every one was met: their outputs, by wait.
    Ready(BTreeMap<String, BTreeMap<String, String>>),
    /// One was not, as said.
    Blocked(String),
    /// The run is stopping.
    Stopped(Stop),
}

/// Waits for the waits `w` comes after, collecting their outputs.
async fn after(
    w: &Wait,
    stop: &mut watch::Receiver<Option<Stop>>,
    done: &BTreeMap<String, watch::Sender<Option<Settled>>>,
) -> After {
    let mut outputs = BTreeMap::new();
    let mut blocked = None;
    for dep in &w.after {
        let mut rx = done[dep].subscribe();
        let result = tokio::select! {
            r = rx.wait_for(Option::is_some) => r.ok().and_then(|v| v.clone()),
            _ = stop.wait_for(Option::is_some) => None,
        };
        match result {
            Some((Outcome::Met, outs)) => {
                outputs.insert(dep.clone(), outs);
            }
            Some((outcome, _)) => {
                blocked = Some(format!("wait `{dep}` ended {}", outcome.as_str()));
                break;
            }
            None => break,
        }
    }
    // A stop wins over a blocked dependency: the run is ending anyway.
    let stopped = stop.borrow().clone();
    match (stopped, blocked) {
        (Some(stop), _) => After::Stopped(stop),
        (None, Some(why)) => After::Blocked(why),
        (None, None) => After::Ready(outputs),
    }
}

/// Joins every wait's task: a task that panicked (or was cancelled) ends
/// its wait `internal_error` and releases the waits after it.
pub(super) async fn settle(
    mut tasks: tokio::task::JoinSet<()>,
    task_wait: std::collections::HashMap<tokio::task::Id, usize>,
    live: Arc<Live>,
    names: Vec<String>,
    shared: Shared,
) {
    #[cfg(debug_assertions)]
    debug_panic("engine");
    while let Some(joined) = tasks.join_next_with_id().await {
        let Err(error) = joined else { continue };
        // The task panicked (or was aborted): its wait never reached an
        // outcome of its own. Say so, and release the waits after it.
        let Some(&index) = task_wait.get(&error.id()) else {
            continue;
        };
        let message = if error.is_panic() {
            format!("panic: {}", panic_message(&*error.into_panic()))
        } else {
            "its task was cancelled".to_owned()
        };
        let report = &live.reports[index];
        conclude(
            report,
            &shared.events,
            Outcome::InternalError,
            internal_error(&message),
        );
        finished(
            &shared,
            &names[index],
            Outcome::InternalError,
            BTreeMap::new(),
        );
    }
    // Every task has ended: a wait still without an outcome is a bug,
    // never a pass.
    for report in &live.reports {
        let running = report.lock().unwrap_or_else(|e| e.into_inner()).outcome == Outcome::Running;
        if running {
            let reason = internal_error("the wait ended without an outcome");
            conclude(report, &shared.events, Outcome::InternalError, reason);
        }
    }
    // Every wait has its outcome: a crash from here on (publishing, the
    // summary) must not be reported as their verdict.
    #[cfg(debug_assertions)]
    debug_panic("settled");
}

/// Ends a wait outside its polling loop: records the outcome and tells the
/// live output.
fn conclude(
    report: &Mutex<WaitReport>,
    events: &mpsc::UnboundedSender<Event>,
    outcome: Outcome,
    reason: String,
) {
    let wait = {
        let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
        r.outcome = outcome;
        r.reason = reason.clone();
        r.name.clone()
    };
    let _ = events.send(Event::Finished {
        wait,
        outcome,
        reason,
    });
}

/// Publishes a wait's end to the waits after it, and stops the run when it
/// failed and the run is fail-fast.
fn finished(shared: &Shared, name: &str, outcome: Outcome, outputs: BTreeMap<String, String>) {
    if shared.fail_fast && crate::report::words::is_problem(outcome) {
        let wait = name.to_owned();
        super::request_stop(&shared.stop_tx, Stop::FailFast { wait });
    }
    shared.done[name].send_replace(Some((outcome, outputs)));
}

/// A deliberate panic, in debug builds only, to test that a crash can never
/// open the gate: `JOBGATE_DEBUG_PANIC=wait:NAME` panics in wait NAME's
/// task, `JOBGATE_DEBUG_PANIC=engine` in the run itself before any wait
/// ends, `JOBGATE_DEBUG_PANIC=settled` in it after every wait has ended.
#[cfg(debug_assertions)]
fn debug_panic(point: &str) {
    if std::env::var("JOBGATE_DEBUG_PANIC").is_ok_and(|v| v == point) {
        panic!("deliberate panic at `{point}` (JOBGATE_DEBUG_PANIC)");
    }
}
