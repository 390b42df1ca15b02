//! The polling engine: runs every wait of a spec concurrently, in the order
//! `after:` asks, sharing one `gate::Gate`, and assembles the run report.

pub(crate) mod estimate;
pub mod fetch;
pub(crate) mod gate;
pub(crate) mod observe;
pub(crate) mod past_jobs;
pub(crate) mod rate;
pub(crate) mod schedule;
mod tasks;
mod verdict;
mod wait;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::report::model::{Outcome, RunReport, WaitReport};
use crate::spec::Spec;

pub(crate) use gate::Gate;
pub(crate) use verdict::{crash_report, not_started, panic_message};
pub use wait::{capture_outputs, summarize};

use tasks::{Shared, run_wait, settle};
use verdict::{CURRENT, Live, assemble, initial_report};

/// Why the run is stopping early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Another wait failed and the run is fail-fast.
    FailFast { wait: String },
    /// The process received SIGINT.
    Interrupted,
    /// The process received SIGTERM.
    Terminated,
}

impl Stop {
    /// The reason recorded on cancelled waits.
    pub(crate) fn reason(&self) -> String {
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
pub(crate) enum Event {
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
pub(crate) struct RunOptions {
    /// Overrides the spec's global deadline.
    pub(crate) deadline: Option<Duration>,
    /// Overrides the spec's fail-fast setting.
    pub(crate) fail_fast: Option<bool>,
    /// Seed for poll jitter (reproducible runs in tests).
    pub(crate) seed: u64,
    /// Where each wait's last answer is kept, for `--save-responses`.
    pub(crate) responses: Option<Arc<crate::report::responses::Responses>>,
    /// The local history of job durations, unless turned off.
    pub(crate) history: Option<Arc<estimate::store::Store>>,
}

/// A running spec: its live report can be snapshotted at any moment.
pub(crate) struct Run {
    live: Arc<Live>,
    stop: watch::Sender<Option<Stop>>,
}
impl Run {
    /// Asks every wait to stop (signals, fail fast).
    pub(crate) fn stop(&self, reason: Stop) {
        request_stop(&self.stop, reason);
    }

    /// The report as it stands now.
    pub(crate) fn snapshot(&self) -> RunReport {
        let stop = self.stop.borrow().clone();
        assemble(
            self.live.waits(),
            &self.live.spec_origin,
            self.live.started_at,
            stop,
        )
    }
}

/// Stops the run for `reason` unless it is already stopping: the first
/// reason is the one the report gives.
fn request_stop(stop: &watch::Sender<Option<Stop>>, reason: Stop) {
    stop.send_if_modified(|s| {
        if s.is_none() {
            *s = Some(reason);
            true
        } else {
            false
        }
    });
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

/// Starts every wait. The returned [`Run`] gives live snapshots; the future
/// completes when every wait has an outcome. A wait whose task panics ends
/// `internal_error` with the panic's message, and the waits after it are
/// skipped rather than left waiting for it.
pub(crate) fn start(
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
        history: Arc::new(past_jobs::History::default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A duration past what the clock can add (validation refuses such
    /// durations; the engine must still not panic on one) is no limit, never
    /// an overflow.
    #[test]
    fn a_duration_too_large_for_the_clock_saturates() {
        let now = Instant::now();
        let far = later(now, Duration::MAX);
        assert!(far > now + Duration::from_secs(365 * 24 * 3600));
        let far = later(now, Duration::from_secs(u64::MAX));
        assert!(far > now + Duration::from_secs(3600 * 24 * 365));
        assert_eq!(
            later(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
    }
}
