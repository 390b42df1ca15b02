//! Redacting a whole report, field by field, and the live view's events.

use std::collections::BTreeMap;
use std::ops::Deref;

use super::Redactor;
use crate::api::model::{Item, JobState, Timestamp};
use crate::api::status::Status;
use crate::engine::Event;
use crate::report::model::{
    ApiErrorInfo, Estimate, Evidence, HistoryEntry, LastObservation, RunReport, WaitReport,
};

impl Redactor {
    /// The report with every string redacted, ready for the writers.
    pub(crate) fn report(&self, report: RunReport) -> Redacted {
        let RunReport {
            schema_version,
            tool,
            version,
            spec,
            started_at,
            ended_at,
            outcome,
            exit_code,
            interrupted_by,
            waits,
        } = report;
        Redacted(RunReport {
            schema_version,
            tool: self.text(&tool),
            version: self.text(&version),
            spec: self.text(&spec),
            started_at: self.text(&started_at),
            ended_at: self.text(&ended_at),
            outcome,
            exit_code,
            interrupted_by: self.opt(interrupted_by),
            waits: waits.into_iter().map(|w| self.wait(w)).collect(),
        })
    }

    fn opt(&self, text: Option<String>) -> Option<String> {
        text.map(|t| self.text(&t))
    }

    fn wait(&self, wait: WaitReport) -> WaitReport {
        let WaitReport {
            name,
            kind,
            requests,
            success,
            failure,
            outcome,
            reason,
            polls,
            requests_sent,
            retries,
            elapsed_ms,
            last_observation,
            blame,
            evidence,
            outputs,
            last_error,
            history,
            estimate,
            declared_at,
        } = wait;
        WaitReport {
            name: self.text(&name),
            kind: self.text(&kind),
            requests: requests.iter().map(|r| self.text(r)).collect(),
            success: self.text(&success),
            failure: self.opt(failure),
            outcome,
            reason: self.text(&reason),
            polls,
            requests_sent,
            retries,
            elapsed_ms,
            last_observation: last_observation.map(|o| self.observation(o)),
            blame: blame.into_iter().map(|i| self.item(i)).collect(),
            evidence: evidence.map(|e| self.evidence(e)),
            outputs: outputs
                .into_iter()
                .map(|(k, v)| (self.text(&k), self.text(&v)))
                .collect(),
            last_error: last_error.map(|e| self.api_error(e)),
            history: history.into_iter().map(|h| self.history(h)).collect(),
            estimate: estimate.map(|e| self.estimate(e)),
            declared_at,
        }
    }

    fn evidence(&self, evidence: Evidence) -> Evidence {
        let Evidence {
            cause,
            job,
            failed,
            failed_total,
            pending,
            pending_total,
            pending_counts,
            known_codes,
        } = evidence;
        Evidence {
            cause: self.text(&cause),
            job: job.map(|j| self.job(j)),
            failed: failed.into_iter().map(|i| self.item(i)).collect(),
            failed_total,
            pending: pending.into_iter().map(|i| self.item(i)).collect(),
            pending_total,
            pending_counts: self.counts(pending_counts),
            known_codes: known_codes
                .into_iter()
                .map(|(k, v)| (self.text(&k), self.text(&v)))
                .collect(),
        }
    }

    fn observation(&self, observation: LastObservation) -> LastObservation {
        let LastObservation {
            job,
            status_counts,
            items,
            counts,
            progress,
            found,
        } = observation;
        LastObservation {
            job: job.map(|j| self.job(j)),
            status_counts: self.counts(status_counts),
            items,
            counts: self.counts(counts),
            progress,
            found: self.text(&found),
        }
    }

    /// Keys that redact to the same text are added up, never dropped.
    fn counts(&self, counts: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (key, n) in counts {
            let slot: &mut u64 = out.entry(self.text(&key)).or_default();
            *slot = slot.saturating_add(n);
        }
        out
    }

    fn job(&self, job: JobState) -> JobState {
        let JobState {
            id,
            job_type,
            status,
            begin_time,
            end_time,
            sub_jobs_total,
            error_code,
            error_message,
        } = job;
        JobState {
            id: self.text(&id),
            job_type: self.opt(job_type),
            status: self.status(status),
            begin_time: begin_time.map(|t| self.timestamp(t)),
            end_time: end_time.map(|t| self.timestamp(t)),
            sub_jobs_total,
            error_code: self.opt(error_code),
            error_message: self.opt(error_message),
        }
    }

    fn item(&self, item: Item) -> Item {
        let Item {
            id,
            job_type,
            status,
            resource_id,
            resource_name,
            user_name,
            error_code,
            error_message,
            begin_time,
            end_time,
            progress,
            // Not in any output: kept for `where` filters only.
            raw,
        } = item;
        Item {
            id: self.text(&id),
            job_type: self.opt(job_type),
            status: self.status(status),
            resource_id: self.opt(resource_id),
            resource_name: self.opt(resource_name),
            user_name: self.opt(user_name),
            error_code: self.opt(error_code),
            error_message: self.opt(error_message),
            begin_time: begin_time.map(|t| self.timestamp(t)),
            end_time: end_time.map(|t| self.timestamp(t)),
            progress,
            raw,
        }
    }

    /// An undocumented status stays undocumented whatever redaction makes
    /// of its text: it is never re-parsed into a known one.
    fn status(&self, status: Status) -> Status {
        match status {
            Status::Other(raw) => Status::Other(self.text(&raw)),
            known => known,
        }
    }

    fn timestamp(&self, timestamp: Timestamp) -> Timestamp {
        let Timestamp { raw, parsed } = timestamp;
        Timestamp {
            raw: self.text(&raw),
            parsed,
        }
    }

    fn api_error(&self, error: ApiErrorInfo) -> ApiErrorInfo {
        let ApiErrorInfo {
            http_status,
            code,
            message,
            request_id,
        } = error;
        ApiErrorInfo {
            http_status,
            code: self.opt(code),
            message: self.text(&message),
            request_id: self.opt(request_id),
        }
    }

    fn history(&self, entry: HistoryEntry) -> HistoryEntry {
        let HistoryEntry { at_ms, poll, state } = entry;
        HistoryEntry {
            at_ms,
            poll,
            state: self.text(&state),
        }
    }

    fn estimate(&self, estimate: Estimate) -> Estimate {
        let Estimate {
            basis,
            signals,
            job_type,
            samples,
            members,
            median_ms,
            p90_ms,
        } = estimate;
        Estimate {
            basis,
            signals,
            job_type: job_type.map(|t| self.text(&t)),
            samples,
            members,
            median_ms,
            p90_ms,
        }
    }

    /// A live-view event with its server text redacted.
    pub(crate) fn event(&self, event: Event) -> Event {
        match event {
            Event::Started { wait, deadline } => Event::Started {
                wait: self.text(&wait),
                deadline,
            },
            Event::Observed {
                wait,
                state,
                progress,
            } => Event::Observed {
                wait: self.text(&wait),
                state: self.text(&state),
                progress,
            },
            Event::Progress { wait, progress } => Event::Progress {
                wait: self.text(&wait),
                progress,
            },
            Event::Retrying { wait, error } => Event::Retrying {
                wait: self.text(&wait),
                error: self.text(&error),
            },
            Event::Finished {
                wait,
                outcome,
                reason,
            } => Event::Finished {
                wait: self.text(&wait),
                outcome,
                reason: self.text(&reason),
            },
        }
    }
}

/// A report that went through [`Redactor::report`]: the only kind the
/// output code publishes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Redacted(RunReport);

impl Deref for Redacted {
    type Target = RunReport;
    fn deref(&self) -> &RunReport {
        &self.0
    }
}

impl Redacted {
    /// Sets the run's exit code, and the run's outcome to the one that
    /// goes with it: nothing to redact. Publishing uses it when an output
    /// cannot be written, so that the outputs that were written give the
    /// process's code and an outcome that agrees with it.
    pub(crate) fn set_exit_code(&mut self, code: u8) {
        if code != self.0.exit_code {
            self.0.exit_code = code;
            self.0.outcome = crate::report::model::Outcome::of_run_exit_code(code);
        }
    }
}
