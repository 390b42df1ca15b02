//! The polling engine: runs every wait of a spec concurrently, in the order
//! `after:` asks, sharing one [`gate::Gate`], and assembles the run report.

pub mod fetch;
pub mod gate;
pub mod history;
pub mod schedule;
mod wait;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::exit;
use crate::report::model::{Outcome, RunReport, SCHEMA_VERSION, WaitReport};
use crate::spec::Spec;

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

/// A finished wait's outcome and captured outputs, for the waits after it.
type Finished = (Outcome, BTreeMap<String, String>);

/// Run-wide settings that do not come from the spec.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Overrides the spec's global deadline.
    pub deadline: Option<Duration>,
    /// Overrides the spec's fail-fast setting.
    pub fail_fast: Option<bool>,
    /// Seed for poll jitter (reproducible runs in tests).
    pub seed: u64,
}

/// A running spec: its live report can be snapshotted at any moment.
pub struct Run {
    reports: Vec<Arc<Mutex<WaitReport>>>,
    started_at: jiff::Timestamp,
    spec_origin: String,
    stop: watch::Sender<Option<Stop>>,
}

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
        let waits: Vec<WaitReport> = self
            .reports
            .iter()
            .map(|r| r.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .collect();
        let stop = self.stop.borrow().clone();
        assemble(waits, &self.spec_origin, self.started_at, stop)
    }
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
    let signal = match stop {
        Some(Stop::Interrupted) => Some(exit::INTERRUPTED),
        Some(Stop::Terminated) => Some(exit::TERMINATED),
        _ => None,
    };
    let exit_code = match signal {
        Some(code) => code,
        None => exit::combine(waits.iter().map(|w| w.outcome.exit_code())),
    };
    let outcome = if signal.is_some() {
        Outcome::Cancelled
    } else if exit_code == exit::SUCCESS {
        if waits.iter().all(|w| w.outcome == Outcome::Met) {
            Outcome::Met
        } else {
            Outcome::Running
        }
    } else {
        waits
            .iter()
            .map(|w| w.outcome)
            .find(|o| o.exit_code() == exit_code)
            .unwrap_or(Outcome::Failed)
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

/// Starts every wait. The returned [`Run`] gives live snapshots; the future
/// completes when every wait has an outcome.
pub fn start(
    spec: &Spec,
    gate: Arc<Gate>,
    options: RunOptions,
    events: mpsc::UnboundedSender<Event>,
) -> (Run, impl Future<Output = ()>) {
    let run_start = Instant::now();
    let deadline = options.deadline.or(spec.deadline).map(|d| run_start + d);
    let fail_fast = options.fail_fast.unwrap_or(spec.fail_fast);
    let (stop_tx, stop_rx) = watch::channel::<Option<Stop>>(None);
    let reports: Vec<Arc<Mutex<WaitReport>>> = spec
        .waits
        .iter()
        .map(|w| Arc::new(Mutex::new(initial_report(w))))
        .collect();
    // Each wait publishes its outcome and outputs for the waits after it.
    let mut done: BTreeMap<String, watch::Sender<Option<Finished>>> = BTreeMap::new();
    for w in &spec.waits {
        done.insert(w.name.clone(), watch::channel(None).0);
    }
    let done = Arc::new(done);
    let history = Arc::new(history::History::default());
    let mut tasks = tokio::task::JoinSet::new();
    for (index, w) in spec.waits.iter().enumerate() {
        let w = w.clone();
        let report = reports[index].clone();
        let done = done.clone();
        let gate = gate.clone();
        let history = history.clone();
        let events = events.clone();
        let mut stop_rx = stop_rx.clone();
        let stop_tx = stop_tx.clone();
        let seed = options.seed.wrapping_add(index as u64);
        tasks.spawn(async move {
            // Wait for dependencies, collecting their outputs.
            let mut outputs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            let mut blocked = None;
            for dep in &w.after {
                let mut rx = done[dep].subscribe();
                let result = tokio::select! {
                    r = rx.wait_for(Option::is_some) => r.ok().and_then(|v| v.clone()),
                    _ = stop_rx.wait_for(Option::is_some) => None,
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
            let stopped = stop_rx.borrow().clone();
            let outcome = if let Some(stop) = stopped {
                set(&report, Outcome::Cancelled, stop.reason());
                let _ = events.send(Event::Finished {
                    wait: w.name.clone(),
                    outcome: Outcome::Cancelled,
                    reason: stop.reason(),
                });
                Outcome::Cancelled
            } else if let Some(why) = blocked {
                let reason = format!("skipped: {why}");
                set(&report, Outcome::Skipped, reason.clone());
                let _ = events.send(Event::Finished {
                    wait: w.name.clone(),
                    outcome: Outcome::Skipped,
                    reason,
                });
                Outcome::Skipped
            } else {
                let lookup =
                    |wait: &str, key: &str| outputs.get(wait).and_then(|o| o.get(key)).cloned();
                match fetch::plan(&w, &lookup) {
                    Ok(plan) => {
                        let cx = wait::Context {
                            gate,
                            history,
                            run_start,
                            global_deadline: deadline,
                            stop: stop_rx.clone(),
                            events: events.clone(),
                            seed,
                        };
                        wait::run(&w, plan, cx, report.clone()).await;
                        report.lock().unwrap_or_else(|e| e.into_inner()).outcome
                    }
                    Err(why) => {
                        set(&report, Outcome::Failed, why.clone());
                        let _ = events.send(Event::Finished {
                            wait: w.name.clone(),
                            outcome: Outcome::Failed,
                            reason: why,
                        });
                        Outcome::Failed
                    }
                }
            };
            let outs = report
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .outputs
                .clone();
            if fail_fast && outcome.exit_code() != exit::SUCCESS {
                stop_tx.send_if_modified(|s| {
                    if s.is_none() {
                        *s = Some(Stop::FailFast {
                            wait: w.name.clone(),
                        });
                        true
                    } else {
                        false
                    }
                });
            }
            done[&w.name].send_replace(Some((outcome, outs)));
        });
    }
    let run = Run {
        reports,
        started_at: jiff::Timestamp::now(),
        spec_origin: spec.origin.clone(),
        stop: stop_tx,
    };
    let all_done = async move { while tasks.join_next().await.is_some() {} };
    (run, all_done)
}

fn set(report: &Mutex<WaitReport>, outcome: Outcome, reason: String) {
    let mut r = report.lock().unwrap_or_else(|e| e.into_inner());
    r.outcome = outcome;
    r.reason = reason;
}

fn initial_report(w: &crate::spec::Wait) -> WaitReport {
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
        outputs: BTreeMap::new(),
        last_error: None,
        history: Vec::new(),
        estimate: None,
    }
}
