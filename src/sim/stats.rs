//! Request counters and the ground truth of when each job finished, so tests
//! and benchmarks can measure request cost and detection latency.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::endpoint::Endpoint;
use super::scenario::{JobKind, Scenario};

/// A snapshot of the counters, as served at `GET /_sim/stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Every API request received (not counting `/_sim/` ones).
    pub requests: u64,
    /// Per operation (SDK names such as `ListItaSubJobs`; `unknown` for
    /// paths the API does not have).
    pub endpoints: BTreeMap<String, EndpointStats>,
    pub faults: FaultStats,
    /// When each job reached its final state, relative to the start.
    pub jobs: Vec<JobTruth>,
}

/// Requests to one operation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointStats {
    pub requests: u64,
    /// Answers by HTTP status (`"200"`, `"429"`...); resets and hangs have none.
    pub statuses: BTreeMap<String, u64>,
}

/// How often each fault was injected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultStats {
    pub throttled: u64,
    pub server_errors: u64,
    pub malformed: u64,
    pub resets: u64,
    pub hangs: u64,
    pub slowed: u64,
    /// Requests refused by authentication.
    pub auth_rejected: u64,
}

/// The ground truth for one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobTruth {
    pub id: String,
    pub kind: JobKind,
    pub visible_after_ms: u64,
    /// The final status, if the job ever ends.
    pub terminal_status: Option<String>,
    /// When it ends, in milliseconds from the simulator's start.
    pub terminal_after_ms: Option<u64>,
}

/// A fault that was injected, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injected {
    Throttled,
    ServerError,
    Malformed,
    Reset,
    Hang,
    Slowed,
    AuthRejected,
}

/// The live counters, shared by every connection.
#[derive(Debug)]
pub struct Counters {
    inner: Mutex<Stats>,
}

impl Counters {
    /// Counters for `scenario`, its ground truth filled in.
    pub fn new(scenario: &Scenario) -> Self {
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let jobs = scenario
            .jobs
            .iter()
            .map(|job| {
                let terminal = job.terminal();
                JobTruth {
                    id: job.id.clone(),
                    kind: job.kind,
                    visible_after_ms: millis(job.visible_after),
                    terminal_status: terminal.as_ref().map(|(status, _)| status.to_string()),
                    terminal_after_ms: terminal.map(|(_, at)| millis(at)),
                }
            })
            .collect();
        Self {
            inner: Mutex::new(Stats {
                jobs,
                ..Stats::default()
            }),
        }
    }

    fn with<R>(&self, update: impl FnOnce(&mut Stats) -> R) -> R {
        // A panic while holding the lock cannot leave the counters
        // inconsistent in a way that matters, so a poisoned lock is reused.
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        update(&mut guard)
    }

    /// Counts an incoming request.
    pub fn request(&self, endpoint: Endpoint) {
        self.with(|stats| {
            stats.requests += 1;
            stats
                .endpoints
                .entry(endpoint.name().to_owned())
                .or_default()
                .requests += 1;
        });
    }

    /// Counts an answer.
    pub fn answered(&self, endpoint: Endpoint, status: u16) {
        self.with(|stats| {
            let entry = stats
                .endpoints
                .entry(endpoint.name().to_owned())
                .or_default();
            *entry.statuses.entry(status.to_string()).or_default() += 1;
        });
    }

    /// Counts an injected fault.
    pub fn injected(&self, fault: Injected) {
        self.with(|stats| {
            let faults = &mut stats.faults;
            let counter = match fault {
                Injected::Throttled => &mut faults.throttled,
                Injected::ServerError => &mut faults.server_errors,
                Injected::Malformed => &mut faults.malformed,
                Injected::Reset => &mut faults.resets,
                Injected::Hang => &mut faults.hangs,
                Injected::Slowed => &mut faults.slowed,
                Injected::AuthRejected => &mut faults.auth_rejected,
            };
            *counter += 1;
        });
    }

    /// A copy of the current counters.
    pub fn snapshot(&self) -> Stats {
        self.with(|stats| stats.clone())
    }
}

impl Stats {
    /// Requests to `endpoint` so far.
    pub fn requests_to(&self, endpoint: Endpoint) -> u64 {
        self.endpoints
            .get(endpoint.name())
            .map_or(0, |e| e.requests)
    }

    /// Answers from `endpoint` with HTTP `status` so far.
    pub fn answers(&self, endpoint: Endpoint, status: u16) -> u64 {
        self.endpoints
            .get(endpoint.name())
            .and_then(|e| e.statuses.get(&status.to_string()).copied())
            .unwrap_or(0)
    }

    /// The ground truth for a job.
    pub fn job(&self, id: &str) -> Option<&JobTruth> {
        self.jobs.iter().find(|job| job.id == id)
    }
}
