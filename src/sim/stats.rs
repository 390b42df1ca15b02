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
    /// The most API requests ever being handled at once (from arrival to the
    /// answer), to check a client's concurrency cap.
    #[serde(default)]
    pub peak_in_flight: u64,
    /// API requests by the whole second of the simulator's clock they
    /// arrived in (index 0 is the first second; the last of a day's buckets
    /// also holds anything later), to check a client's rate.
    #[serde(default)]
    pub requests_per_second: Vec<u64>,
    /// When each job reached its final state, relative to the start.
    pub jobs: Vec<JobTruth>,
    /// The simulated IAM's exchanges (all zero without `iam:`).
    #[serde(default)]
    pub iam: IamStats,
}

/// What the simulated IAM did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamStats {
    /// ID tokens presented (`POST /v3.0/OS-AUTH/id-token/tokens`).
    pub id_token_exchanges: u64,
    /// Temporary credentials asked for (`POST /v3.0/OS-CREDENTIAL/securitytokens`).
    pub security_token_exchanges: u64,
    /// Requests refused because their temporary credentials had expired.
    pub expired_rejected: u64,
    /// STS `AssumeAgencyWithOIDC` requests (`POST /v5/agencies/assume-with-oidc`).
    #[serde(default)]
    pub agency_exchanges: u64,
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

/// How many seconds `requests_per_second` covers; later requests count in
/// its last bucket (a day: far longer than any test or benchmark).
const MAX_SECONDS: usize = 86_400;

/// A fault that was injected, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
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
pub(crate) struct Counters {
    inner: Mutex<Live>,
}

#[derive(Debug)]
struct Live {
    stats: Stats,
    /// Requests being handled now; `stats.peak_in_flight` is its maximum.
    in_flight: u64,
}

/// A request being handled: counted in flight until dropped, which also
/// happens when a hanging request's connection goes away.
#[must_use = "the request counts as in flight only while this is held"]
pub(crate) struct InFlight<'a> {
    counters: &'a Counters,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counters
            .with_live(|live| live.in_flight = live.in_flight.saturating_sub(1));
    }
}

impl Counters {
    /// Counters for `scenario`, its ground truth filled in.
    pub(crate) fn new(scenario: &Scenario) -> Self {
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
            inner: Mutex::new(Live {
                stats: Stats {
                    jobs,
                    ..Stats::default()
                },
                in_flight: 0,
            }),
        }
    }

    fn with_live<R>(&self, update: impl FnOnce(&mut Live) -> R) -> R {
        // A panic while holding the lock cannot leave the counters
        // inconsistent in a way that matters, so a poisoned lock is reused.
        let mut guard = self
            .inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        update(&mut guard)
    }

    fn with<R>(&self, update: impl FnOnce(&mut Stats) -> R) -> R {
        self.with_live(|live| update(&mut live.stats))
    }

    /// Counts a request arriving at offset `at` of the simulator's clock and
    /// keeps it in flight until the returned guard is dropped.
    pub(crate) fn begin(&self, endpoint: Endpoint, at: std::time::Duration) -> InFlight<'_> {
        let second = usize::try_from(at.as_secs()).unwrap_or(usize::MAX);
        self.with_live(|live| {
            count_request(&mut live.stats, endpoint);
            live.in_flight += 1;
            let stats = &mut live.stats;
            stats.peak_in_flight = stats.peak_in_flight.max(live.in_flight);
            // Absurd offsets would allocate without bound; one late bucket
            // is as good as another for a rate.
            let second = second.min(MAX_SECONDS - 1);
            if stats.requests_per_second.len() <= second {
                stats.requests_per_second.resize(second + 1, 0);
            }
            stats.requests_per_second[second] += 1;
        });
        InFlight { counters: self }
    }

    /// Counts an answer.
    pub(crate) fn answered(&self, endpoint: Endpoint, status: u16) {
        self.with(|stats| {
            let entry = stats
                .endpoints
                .entry(endpoint.name().to_owned())
                .or_default();
            *entry.statuses.entry(status.to_string()).or_default() += 1;
        });
    }

    /// Counts an injected fault.
    pub(crate) fn injected(&self, fault: Injected) {
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

    /// Updates the IAM counters.
    pub(crate) fn iam(&self, update: impl FnOnce(&mut IamStats)) {
        self.with(|stats| update(&mut stats.iam));
    }

    /// A copy of the current counters.
    pub(crate) fn snapshot(&self) -> Stats {
        self.with(|stats| stats.clone())
    }
}

fn count_request(stats: &mut Stats, endpoint: Endpoint) {
    stats.requests += 1;
    stats
        .endpoints
        .entry(endpoint.name().to_owned())
        .or_default()
        .requests += 1;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn counters() -> Counters {
        let scenario = Scenario::from_yaml(
            "project_id: p\njobs:\n  - id: j\n    kind: image_job\n    timeline: [{at: 0s, status: SUCCESS}]\n",
            "t.yaml",
        )
        .unwrap();
        Counters::new(&scenario)
    }

    #[test]
    fn in_flight_peak_and_arrivals_per_second() {
        let counters = counters();
        let first = counters.begin(Endpoint::ShowImageJob, Duration::from_millis(100));
        let second = counters.begin(Endpoint::ShowImageJob, Duration::from_millis(900));
        drop(first);
        drop(second);
        let third = counters.begin(Endpoint::ShowImageJob, Duration::from_millis(2500));
        let stats = counters.snapshot();
        assert_eq!(stats.peak_in_flight, 2);
        assert_eq!(stats.requests, 3);
        assert_eq!(stats.requests_per_second, vec![2, 0, 1]);
        drop(third);
        let later = counters.begin(Endpoint::ShowImageJob, Duration::MAX);
        drop(later);
        let stats = counters.snapshot();
        assert_eq!(
            stats.peak_in_flight, 2,
            "released requests are not in flight"
        );
        assert_eq!(stats.requests_per_second.len(), MAX_SECONDS);
        assert_eq!(stats.requests_per_second[MAX_SECONDS - 1], 1);
    }

    #[test]
    fn stats_saved_before_the_limit_counters_still_parse() {
        let old = r#"{"requests": 1, "endpoints": {}, "faults": {"throttled": 0,
            "server_errors": 0, "malformed": 0, "resets": 0, "hangs": 0, "slowed": 0,
            "auth_rejected": 0}, "jobs": []}"#;
        let stats: Stats = serde_json::from_str(old).unwrap();
        assert_eq!(stats.peak_in_flight, 0);
        assert!(stats.requests_per_second.is_empty());
    }
}
