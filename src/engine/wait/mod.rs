//! One wait's polling loop: observe, hand the result to the [`Machine`],
//! record what it notes, sleep, until it finishes. The decisions are the
//! machine's; this loop only does the I/O around them.

mod machine;
mod observed;
mod reasons;

use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::time::Instant;

use super::estimate::store::{Key, Store};
use super::fetch::Plan;
use super::gate::Gate;
use super::observe;
use super::past_jobs::{self, History};
use super::{Event, Stop};
use crate::api::model::Observation;
use crate::report::model::{HistoryEntry, Outcome, WaitReport};
use crate::spec::Wait;
use machine::{Estimates, Finish, Machine, Note, PastDurations, Step};
pub use observed::{capture_outputs, summarize};

/// Everything a wait needs from the run.
pub(crate) struct Context {
    pub(crate) gate: Arc<Gate>,
    /// Past durations per job type, shared by every wait of the run.
    pub(crate) history: Arc<History>,
    /// The local history of job durations, unless turned off.
    pub(crate) local: Option<Arc<Store>>,
    pub(crate) run_start: Instant,
    pub(crate) global_deadline: Option<Instant>,
    pub(crate) stop: watch::Receiver<Option<Stop>>,
    pub(crate) events: tokio::sync::mpsc::UnboundedSender<Event>,
    pub(crate) seed: u64,
    /// Keeps each answer for `--save-responses`, when asked.
    pub(crate) responses: Option<Arc<crate::report::responses::Responses>>,
}

/// Runs one wait to its outcome, keeping `report` current all along so an
/// interruption never loses what was seen.
pub(crate) async fn run(wait: &Wait, plan: Plan, cx: Context, report: Arc<Mutex<WaitReport>>) {
    let mut cx = cx;
    let started = Instant::now();
    let mut machine = Machine::new(wait, cx.seed, started, cx.run_start, cx.global_deadline);
    let deadline = machine.deadline();
    // At most one history read in flight; dropped (aborted) with the wait.
    let mut reads = HistoryReads {
        set: tokio::task::JoinSet::new(),
        api: None,
        local: None,
        wait,
        gate: &cx.gate,
        history: &cx.history,
        store: cx.local.as_deref(),
        deadline,
        report: &report,
    };
    let base = |s| cx.gate.client().base(s).to_owned();
    update(&report, |r| r.requests = plan.describe(&base));
    let _ = cx.events.send(Event::Started {
        wait: wait.name.clone(),
        deadline,
    });

    let finish = |end: Finish| {
        let mut shown = end.reason.clone();
        update(&report, |r| {
            r.outcome = end.outcome;
            r.reason = end.reason;
            r.elapsed_ms = started.elapsed().as_millis() as u64;
            r.evidence = end.evidence;
            r.blame = end.blame;
            if let Some(outputs) = end.outputs {
                r.outputs = outputs;
            }
            // The live view leads with the cause too.
            if let Some(because) = r.because() {
                shown = format!("{} ({because})", r.headline());
            }
        });
        let _ = cx.events.send(Event::Finished {
            wait: wait.name.clone(),
            outcome: end.outcome,
            reason: shown,
        });
    };

    'poll: loop {
        if let Some(stop) = cx.stop.borrow().clone() {
            finish(Finish::bare(Outcome::Cancelled, stop.reason()));
            return;
        }
        update(&report, |r| r.polls += 1);
        let tally = |n: i64| {
            update(&report, |r| {
                r.requests_sent = r.requests_sent.saturating_add_signed(n)
            })
        };
        let (result, sent) = tokio::select! {
            result = observe::poll(&plan, wait, &cx.gate, deadline, &tally) => result,
            _ = stopped(&mut cx.stop) => continue,
        };
        let now = Instant::now();
        let mut step = match result {
            // The gate could not send (the rest of) the poll's requests
            // before the deadline (this wait's, or that of the wait whose
            // identical request it joined). If nothing was sent it is no
            // poll; a count or paged poll cut short after some requests
            // still was one, only without an observation.
            None => {
                if sent == 0 {
                    update(&report, |r| r.polls -= 1);
                }
                machine.on_cut_short(now)
            }
            Some(Ok(obs)) => {
                if let Some(responses) = &cx.responses {
                    responses.keep(&wait.name, &obs);
                }
                machine.on_observation(obs, now, &mut reads)
            }
            Some(Err(error)) => machine.on_error(error, now, &mut || cx.gate.retry()),
        };
        for note in machine.take_notes() {
            record(note, wait, &cx, &report);
        }
        let delay = loop {
            match step {
                Step::Poll { after } => break after,
                Step::Finish(end) => {
                    finish(*end);
                    return;
                }
                Step::Hold { until } => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = stopped(&mut cx.stop) => continue 'poll,
                    }
                    step = machine.on_deadline(Instant::now());
                }
            }
        };
        let wake = super::later(Instant::now(), delay);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = stopped(&mut cx.stop) => {}
        }
    }
}

/// Tells the report, the live view and the gate what a poll taught.
fn record(note: Note, wait: &Wait, cx: &Context, report: &Mutex<WaitReport>) {
    match note {
        Note::Changed {
            at_ms,
            state,
            progress,
        } => {
            update(report, |r| push_history(r, at_ms, &state));
            let _ = cx.events.send(Event::Observed {
                wait: wait.name.clone(),
                state,
                progress,
            });
        }
        Note::Progress(progress) => {
            let _ = cx.events.send(Event::Progress {
                wait: wait.name.clone(),
                progress,
            });
        }
        Note::Seen(last) => update(report, |r| r.last_observation = Some(*last)),
        Note::Error(info) => update(report, |r| r.last_error = Some(info)),
        Note::Retried => update(report, |r| r.retries += 1),
        Note::Retrying(error) => {
            let _ = cx.events.send(Event::Retrying {
                wait: wait.name.clone(),
                error,
            });
        }
        Note::Estimate(estimate) => update(report, |r| r.estimate = Some(*estimate)),
        Note::Took { job_type, secs } => {
            if let (Some(store), Some(key)) = (
                &cx.local,
                Key::new(&wait.project_id, wait.target.kind(), &job_type),
            ) {
                let now = jiff::Timestamp::now().as_second().max(0) as u64;
                store.record(&key, secs, now);
            }
        }
    }
}

/// The past durations one wait learns from: the API reads (at most one
/// in flight, joined when done, never waited for) and the local history.
struct HistoryReads<'a> {
    set: tokio::task::JoinSet<HistoryRead>,
    /// The API's answer, once a read has joined (`None` inside: no usable
    /// history).
    api: Option<Option<Arc<past_jobs::Durations>>>,
    /// The local history of the job type, read once.
    local: Option<Vec<f64>>,
    wait: &'a Wait,
    gate: &'a Arc<Gate>,
    history: &'a Arc<History>,
    store: Option<&'a Store>,
    deadline: Instant,
    report: &'a Arc<Mutex<WaitReport>>,
}

impl Estimates for HistoryReads<'_> {
    fn past(&mut self, obs: &Observation, source: Option<past_jobs::Source>) -> PastDurations {
        let job_type = obs.job.as_ref().and_then(|j| j.job_type.as_deref());
        if let Some(source) = source
            && self.api.is_none()
        {
            // The read runs beside the polls and is joined when it is done:
            // it never delays a poll, however slow it is.
            if let Some(Ok(read)) = self.set.try_join_next() {
                self.api = Some(read.durations);
            } else if self.set.is_empty()
                && let Some(read) = read_history(
                    obs,
                    self.gate,
                    self.history,
                    &self.wait.project_id,
                    source,
                    self.deadline,
                    self.report,
                )
            {
                self.set.spawn(read);
            }
        }
        if self.local.is_none()
            && let (Some(store), Some(job_type)) = (self.store, job_type)
        {
            self.local = Some(
                Key::new(&self.wait.project_id, self.wait.target.kind(), job_type)
                    .map(|key| store.samples(&key))
                    .unwrap_or_default(),
            );
        }
        PastDurations {
            api: self
                .api
                .as_ref()
                .and_then(|d| d.as_ref())
                .map(|d| d.secs())
                .unwrap_or_default(),
            local: self.local.clone().unwrap_or_default(),
        }
    }
}

/// The answer of one history read.
struct HistoryRead {
    durations: Option<Arc<past_jobs::Durations>>,
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
    source: past_jobs::Source,
    deadline: Instant,
    report: &Arc<Mutex<WaitReport>>,
) -> Option<impl Future<Output = HistoryRead> + Send + 'static> {
    let job_type = obs.job.as_ref()?.job_type.clone()?;
    let (gate, history, report) = (gate.clone(), history.clone(), report.clone());
    let project_id = project_id.to_owned();
    Some(async move {
        let timeout = observe::request_timeout(deadline);
        let (durations, sent) = history
            .durations(&gate, &project_id, source, &job_type, timeout, deadline)
            .await;
        update(&report, |r| r.requests_sent += u64::from(sent));
        HistoryRead { durations }
    })
}

async fn stopped(stop: &mut watch::Receiver<Option<Stop>>) {
    // Resolves once a stop is set; if the sender is gone, never resolves.
    if stop.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
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
