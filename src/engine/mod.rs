//! The polling engine: runs every wait of a spec concurrently, in the order
//! `after:` asks, sharing one [`gate::Gate`], and assembles the run report.

pub mod estimate;
pub mod fetch;
pub mod gate;
pub mod history;
pub mod observe;
pub mod rate;
pub mod schedule;
mod wait;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::exit;
use crate::report::model::{Outcome, RunReport, SCHEMA_VERSION, WaitReport};
use crate::spec::{Spec, Wait};

pub use gate::Gate;
pub use wait::{capture_outputs, summarize};

/// Why the run is stopping early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Another wait failed and the run is fail-fast.
    FailFast { wait: String },
    /// The process received SIGINT.
    Interrupted,
    /// The process received SIGTERM.
    Terminated,
}

impl Stop {
    /// The reason recorded on cancelled waits.
    pub fn reason(&self) -> String {
        match self {
            Stop::FailFast { wait } => format!(
                "cancelled because wait `{wait}` failed (fail fast; use --keep-going to learn every outcome)"
            ),
            Stop::Interrupted => "interrupted by SIGINT".into(),
            Stop::Terminated => "terminated by SIGTERM".into(),
        }
    }
}

/// What the engine reports as waits progress, for live output.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        wait: String,
        /// When the wait runs out of time: its own timeout or the global
        /// deadline, whichever is sooner (for "time left" in live output).
        deadline: Instant,
    },
    Observed {
        wait: String,
        state: String,
        progress: Option<u32>,
    },
    /// Progress moved while the state stayed the same: the live view
    /// updates its figure, the plain view waits for the heartbeat.
    Progress {
        wait: String,
        progress: u32,
    },
    Retrying {
        wait: String,
        error: String,
    },
    Finished {
        wait: String,
        outcome: Outcome,
        reason: String,
    },
}

/// A settled wait's outcome and captured outputs, for the waits after it
/// (named apart from [`Event::Finished`], the live view's news of it).
type Settled = (Outcome, BTreeMap<String, String>);

/// Run-wide settings that do not come from the spec.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Overrides the spec's global deadline.
    pub deadline: Option<Duration>,
    /// Overrides the spec's fail-fast setting.
    pub fail_fast: Option<bool>,
    /// Seed for poll jitter (reproducible runs in tests).
    pub seed: u64,
    /// Where each wait's last answer is kept, for `--save-responses`.
    pub responses: Option<Arc<crate::report::responses::Responses>>,
    /// The local history of job durations, unless turned off.
    pub history: Option<Arc<estimate::store::Store>>,
}

/// A running spec: its live report can be snapshotted at any moment.
pub struct Run {
    live: Arc<Live>,
    stop: watch::Sender<Option<Stop>>,
}

/// What a report is assembled from, shared with the crash path
/// ([`crash_report`]) so that a panic still leaves a report behind.
struct Live {
    reports: Vec<Arc<Mutex<WaitReport>>>,
    started_at: jiff::Timestamp,
    spec_origin: String,
}

impl Live {
    fn waits(&self) -> Vec<WaitReport> {
        self.reports
            .iter()
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect()
    }
}

/// The run of this process, for [`crash_report`].
static CURRENT: Mutex<Option<Arc<Live>>> = Mutex::new(None);

impl Run {
    /// Asks every wait to stop (signals, fail fast).
    pub fn stop(&self, reason: Stop) {
        self.stop.send_if_modified(|s| {
            if s.is_none() {
                *s = Some(reason);
                true
            } else {
                false
            }
        });
    }

    /// The report as it stands now.
    pub fn snapshot(&self) -> RunReport {
        let stop = self.stop.borrow().clone();
        assemble(
            self.live.waits(),
            &self.live.spec_origin,
            self.live.started_at,
            stop,
        )
    }
}

/// The report of the run under way when jobgate crashed (`None` if no run
/// had started): every wait without an outcome ends `internal_error` with
/// `message`, and the run's outcome and code are `internal_error` and
/// [`exit::INTERNAL`] whatever its waits' outcomes (a crash after every
/// wait was met, while publishing, is still a crash, never a pass).
///
/// Called from a panic hook, possibly on the thread that panicked while it
/// held a lock: locks are only tried (for a moment), and `None` is returned
/// rather than deadlock.
pub fn crash_report(message: &str) -> Option<RunReport> {
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
fn internal_error(message: &str) -> String {
    format!(
        "internal error: jobgate failed before this wait had an outcome ({message}); this is a bug, please report it with the report attached"
    )
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

/// `at + d`, or a moment so far ahead that it never comes when that is past
/// what an [`Instant`] can hold: a huge timeout or deadline means "no limit
/// that matters", never a panic.
pub(crate) fn later(at: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

/// The report of a run that could not start (no credentials): every wait
/// ends with `outcome` and `reason`, so CI still gets its report, outputs
/// and summary.
pub fn not_started(spec: &Spec, outcome: Outcome, reason: &str) -> RunReport {
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
fn assemble(
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

/// Starts every wait. The returned [`Run`] gives live snapshots; the future
/// completes when every wait has an outcome. A wait whose task panics ends
/// `internal_error` with the panic's message, and the waits after it are
/// skipped rather than left waiting for it.
pub fn start(
    spec: &Spec,
    gate: Arc<Gate>,
    options: RunOptions,
    events: mpsc::UnboundedSender<Event>,
) -> (Run, impl Future<Output = ()>) {
    let run_start = Instant::now();
    let (stop_tx, stop_rx) = watch::channel::<Option<Stop>>(None);
    let reports: Vec<Arc<Mutex<WaitReport>>> = spec
        .waits
        .iter()
        .map(|w| Arc::new(Mutex::new(initial_report(w))))
        .collect();
    let shared = Shared {
        gate,
        history: Arc::new(history::History::default()),
        local: options.history,
        events,
        stop_rx,
        stop_tx,
        // Each wait publishes its outcome and outputs for the waits after it.
        done: Arc::new(
            spec.waits
                .iter()
                .map(|w| (w.name.clone(), watch::channel(None).0))
                .collect(),
        ),
        run_start,
        deadline: options
            .deadline
            .or(spec.deadline)
            .map(|d| later(run_start, d)),
        fail_fast: options.fail_fast.unwrap_or(spec.fail_fast),
        responses: options.responses,
    };
    let mut tasks = tokio::task::JoinSet::new();
    let mut task_wait = std::collections::HashMap::new();
    for (index, w) in spec.waits.iter().enumerate() {
        let seed = options.seed.wrapping_add(index as u64);
        let task = run_wait(w.clone(), seed, reports[index].clone(), shared.clone());
        task_wait.insert(tasks.spawn(task).id(), index);
    }
    let live = Arc::new(Live {
        reports,
        started_at: jiff::Timestamp::now(),
        spec_origin: spec.origin.clone(),
    });
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(live.clone());
    let run = Run {
        live: live.clone(),
        stop: shared.stop_tx.clone(),
    };
    let names: Vec<String> = spec.waits.iter().map(|w| w.name.clone()).collect();
    let all_done = settle(tasks, task_wait, live, names, shared);
    (run, all_done)
}

/// What every wait of a run shares.
#[derive(Clone)]
struct Shared {
    gate: Arc<Gate>,
    /// Past durations per job type.
    history: Arc<history::History>,
    /// The local history of job durations, unless turned off.
    local: Option<Arc<estimate::store::Store>>,
    events: mpsc::UnboundedSender<Event>,
    stop_rx: watch::Receiver<Option<Stop>>,
    stop_tx: watch::Sender<Option<Stop>>,
    /// Where each wait publishes its end, by name.
    done: Arc<BTreeMap<String, watch::Sender<Option<Settled>>>>,
    run_start: Instant,
    /// The run's global deadline, if any.
    deadline: Option<Instant>,
    fail_fast: bool,
    responses: Option<Arc<crate::report::responses::Responses>>,
}

/// One wait's task: waits for the waits it comes after, runs (or skips or
/// cancels) it, and publishes its end.
async fn run_wait(w: Wait, seed: u64, report: Arc<Mutex<WaitReport>>, mut shared: Shared) {
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
async fn settle(
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
        shared.stop_tx.send_if_modified(|s| {
            if s.is_none() {
                *s = Some(Stop::FailFast {
                    wait: name.to_owned(),
                });
                true
            } else {
                false
            }
        });
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

fn initial_report(w: &Wait) -> WaitReport {
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

    /// A duration past what the clock can add (validation refuses such
    /// durations; the engine must still not panic on one) is no limit, never
    /// an overflow.
    #[test]
    fn a_duration_too_large_for_the_clock_saturates() {
        let now = Instant::now();
        let far = later(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(365 * 24 * 3600));
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }

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

    #[test]
    fn huge_durations_never_overflow_an_instant() {
        let now = Instant::now();
        let far = later(now, Duration::from_secs(u64::MAX));
        assert!(far > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }
}
