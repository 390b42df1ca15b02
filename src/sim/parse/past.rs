//! Jobs that ended before the simulator started: the history estimates
//! read.

use serde::Deserialize;

use super::fields::{Place, RawRange, check_count, duration, job_type, range};
use crate::api::Status;
use crate::sim::error::ScenarioError;
use crate::sim::past::{PastJobs, Took};
use crate::sim::scenario::JobKind;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPastJobs {
    job_type: Option<String>,
    count: Option<u64>,
    took: Option<RawRange>,
    /// Instead of `count` and `took`: one past job per listed duration.
    durations: Option<Vec<String>>,
    status: Option<String>,
    seed: Option<u64>,
}

pub(super) fn past_jobs(
    raw: &RawPastJobs,
    kind: JobKind,
    index: usize,
    here: Place<'_>,
    scenario_seed: u64,
) -> Result<PastJobs, ScenarioError> {
    let took = match (raw.count, &raw.took, &raw.durations) {
        (Some(count), Some(took), None) => {
            check_count(count, "past jobs", &here)?;
            let (min, max) = range(took, "took", &here)?;
            Took::Uniform { count, min, max }
        }
        (None, None, Some(listed)) => {
            check_count(listed.len() as u64, "past jobs", &here)?;
            let mut durations = Vec::with_capacity(listed.len());
            for (i, text) in listed.iter().enumerate() {
                durations.push(duration(text, &format!("durations[{i}]"), &here)?);
            }
            Took::Listed(durations)
        }
        _ => {
            return Err(here.error(
                "past jobs need either `count` and `took`, or `durations` alone",
                "write `count: 20, took: {min: 10m, max: 1h}` for uniform draws, \
                 or `durations: [12m, 25m, 41m]` for one job per duration",
            ));
        }
    };
    let status = match raw.status.as_deref().map(str::trim) {
        None | Some("SUCCESS") => Status::Success,
        Some("FAILED") => Status::Failed,
        Some(other) => {
            return Err(here.error(
                format!("status `{other}` is not a final image job status"),
                "use SUCCESS (the default) or FAILED",
            ));
        }
    };
    Ok(PastJobs {
        job_type: job_type(raw.job_type.as_deref(), kind.default_job_type(), &here)?,
        took,
        status,
        // Apart from the fleets' seeds, which mix in their own index.
        seed: raw
            .seed
            .unwrap_or_else(|| crate::sim::faults::mix(scenario_seed ^ 0x9a57, index as u64)),
    })
}
