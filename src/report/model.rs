//! The run report: one value that every output format renders.
//!
//! Built by the engine as waits progress, so it is complete whenever the run
//! ends: success, failure, timeout, error or interruption.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::evidence::Evidence;
use crate::api::model::{Item, JobState};

/// Version of the JSON report's schema; bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The success condition held.
    Met,
    /// A failure condition held.
    Failed,
    /// A status the wait does not declare was seen.
    UnexpectedState,
    /// The timeout or the global deadline ran out.
    TimedOut,
    /// The job never became visible within the not-found grace.
    NotFound,
    /// Credentials were rejected or not permitted (401/403).
    AuthError,
    /// The API stayed unreachable or kept answering errors.
    ApiError,
    /// A wait this one runs after did not succeed.
    Skipped,
    /// Stopped before an outcome: another wait failed (fail fast) or the run
    /// was interrupted.
    Cancelled,
    /// Not finished yet (only seen in reports written mid-run).
    Running,
    /// jobgate itself failed in this wait (a bug: a panic, or no outcome at
    /// the end of the run); the reason carries the panic message.
    InternalError,
}

impl Outcome {
    /// Every outcome, in the order they are declared.
    #[cfg(test)]
    pub(crate) const ALL: [Outcome; 11] = [
        Outcome::Met,
        Outcome::Failed,
        Outcome::UnexpectedState,
        Outcome::TimedOut,
        Outcome::NotFound,
        Outcome::AuthError,
        Outcome::ApiError,
        Outcome::Skipped,
        Outcome::Cancelled,
        Outcome::Running,
        Outcome::InternalError,
    ];

    /// The exit code this outcome asks for, per the documented table;
    /// `None` for `skipped` and `cancelled`, which follow from another
    /// wait's outcome or a signal. Only `met` asks for 0, and a wait still
    /// `running` when a code is taken never finished: an internal error.
    pub fn own_exit_code(self) -> Option<u8> {
        use crate::exit;
        Some(match self {
            Outcome::Met => exit::SUCCESS,
            Outcome::Failed | Outcome::UnexpectedState | Outcome::NotFound => exit::WAIT_FAILED,
            Outcome::TimedOut => exit::TIMED_OUT,
            Outcome::AuthError => exit::AUTH,
            Outcome::ApiError => exit::API_UNAVAILABLE,
            Outcome::Running | Outcome::InternalError => exit::INTERNAL,
            Outcome::Skipped | Outcome::Cancelled => return None,
        })
    }

    /// The snake_case name used in reports and outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Met => "met",
            Outcome::Failed => "failed",
            Outcome::UnexpectedState => "unexpected_state",
            Outcome::TimedOut => "timed_out",
            Outcome::NotFound => "not_found",
            Outcome::AuthError => "auth_error",
            Outcome::ApiError => "api_error",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
            Outcome::Running => "running",
            Outcome::InternalError => "internal_error",
        }
    }
}

/// The last API error a wait saw.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiErrorInfo {
    /// HTTP status, when there was a response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// The API's `error_code`, e.g. `APIG.0308`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The API's `error_msg`, or what went wrong on the way.
    pub message: String,
    /// The `X-Request-Id` header, for Huawei support.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A change of a wait's observed state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// The wait's poll that saw it (1 for the first).
    pub poll: u64,
    /// The state in a few words, e.g. `RUNNING (2/3 SUCCESS)`.
    pub state: String,
}

/// What the last successful poll saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LastObservation {
    /// The job's own state, for job waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobState>,
    /// Number of items per status.
    pub status_counts: BTreeMap<String, u64>,
    /// Total number of items seen.
    pub items: u64,
    /// Answers of count endpoints, keyed by status filter (`*` for all).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<String, u64>,
    /// Mean progress in percent, where the API reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u32>,
    /// What the success condition found, in words.
    pub found: String,
}

/// The duration model adaptive polling placed its polls from: what it
/// expected of the job in all, and which signals it rested on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The strongest signal used (the first of `signals`).
    pub basis: EstimateBasis,
    /// Every signal used, strongest first.
    pub signals: Vec<EstimateBasis>,
    /// The job type whose past durations were looked up, when the answer
    /// names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    /// How many past durations the estimate rests on (API lists and local
    /// history).
    pub samples: u64,
    /// How many members the job ends with (it ends with the slowest), for
    /// fleets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<u64>,
    /// The model's median of the job's total duration.
    pub median_ms: u64,
    /// The model's 90th percentile of the job's total duration.
    pub p90_ms: u64,
}

/// A signal an [`Estimate`] rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateBasis {
    /// The job's own progress (`process` on desktops): its slowest member's
    /// rate.
    Progress,
    /// The job's sub-jobs already finished: their durations and how many
    /// remain.
    SubJobs,
    /// Past successful jobs of the same type (for app-server jobs, their
    /// past servers), from the API's lists.
    History,
    /// Durations jobgate itself observed in earlier runs (the local
    /// history file).
    LocalHistory,
    /// The built-in default for the job's kind, or nothing but the vague
    /// prior.
    Prior,
}

/// One wait in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaitReport {
    pub name: String,
    /// The wait kind, e.g. `image_job`.
    pub kind: String,
    /// The requests this wait sends, resolved (method and URL with query).
    pub requests: Vec<String>,
    /// The success condition in words.
    pub success: String,
    /// The failure condition in words, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub outcome: Outcome,
    /// Why the wait ended so, in words.
    pub reason: String,
    /// Polls made (one poll may need several requests for paged lists).
    pub polls: u64,
    /// HTTP requests sent.
    pub requests_sent: u64,
    /// Polls retried after a transient error or throttling.
    pub retries: u64,
    /// Milliseconds from the wait's start to its end.
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_observation: Option<LastObservation>,
    /// The items that made the wait fail (or kept it from succeeding).
    pub blame: Vec<Item>,
    /// Why a wait that was not met ended so, from its last observation:
    /// the API's error fields, the failed or still pending items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Values captured by `outputs:`.
    pub outputs: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<ApiErrorInfo>,
    pub history: Vec<HistoryEntry>,
    /// What adaptive polling predicted the end from, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// Where the spec declares this wait, for annotations on that line.
    /// Not in the JSON report, which names the spec file only.
    #[serde(skip)]
    pub declared_at: Option<Declared>,
}

/// Where a wait is declared in its spec file: the line and column of its
/// name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    pub line: usize,
    pub column: usize,
}

impl Declared {
    /// The declaration at `span`; `None` for line 0, a value that came from
    /// elsewhere than the file.
    pub fn at(span: &crate::spec::yaml::Span) -> Option<Declared> {
        (span.line > 0).then_some(Declared {
            line: span.line,
            column: span.column,
        })
    }
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub tool: String,
    pub version: String,
    /// The spec as given on the command line.
    pub spec: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub ended_at: String,
    /// Overall outcome: `met` when every wait met its condition, otherwise the
    /// outcome that decided the exit code.
    pub outcome: Outcome,
    pub exit_code: u8,
    /// Set when the run was interrupted (`SIGINT` or `SIGTERM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted_by: Option<String>,
    pub waits: Vec<WaitReport>,
}

impl WaitReport {
    /// The first thing to say about this wait: the cause in the API's own
    /// words when there is evidence, else the reason.
    pub fn headline(&self) -> &str {
        match &self.evidence {
            Some(e) if !e.cause.is_empty() => &e.cause,
            _ => &self.reason,
        }
    }

    /// The items to list under the wait and how many there are in all: the
    /// blamed ones, or for a timeout those still pending.
    pub fn shown_items(&self) -> (&[Item], u64) {
        if !self.blame.is_empty() {
            return (&self.blame, self.blame.len() as u64);
        }
        match &self.evidence {
            Some(e) if !e.pending.is_empty() => (&e.pending, e.pending_total),
            _ => (&[], 0),
        }
    }

    /// Why the wait ended so, after the headline: the reason, unless the
    /// headline already is the reason.
    pub fn because(&self) -> Option<&str> {
        (self.headline() != self.reason).then_some(self.reason.as_str())
    }
}
