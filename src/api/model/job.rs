//! Reading a job detail, and checking it is the job that was asked for.

use std::collections::BTreeMap;

use bytes::Bytes;

use super::item::{parse_items, read, status, tree_error};
use super::page::dedup;
use super::{JobState, Malformed, Observation, Source, Timestamp};
use crate::api::wire::{self, Kind, RawList};

/// The fields of a job detail that jobgate reads.
pub(super) const JOB: &[(&str, Kind)] = &[
    ("id", Kind::Leaf),
    ("job_type", Kind::Leaf),
    ("status", Kind::Leaf),
    ("begin_time", Kind::Leaf),
    ("end_time", Kind::Leaf),
    ("sub_jobs_total", Kind::Leaf),
    ("job_error_code", Kind::Leaf),
    ("error_code", Kind::Leaf),
    ("fail_reason", Kind::Leaf),
    ("sub_jobs", Kind::List),
];

/// Parses a job detail response (`image-server-jobs/{id}`, `job/{id}`,
/// `workspace-jobs/{id}`) with its embedded sub-jobs.
///
/// A detail that cannot be read as a JSON tree is malformed here, never
/// judged as `null` by JSONPath conditions later.
pub fn parse_job(body: Bytes) -> Result<Observation, Malformed> {
    let mut f = read(&body, JOB, "the job response")?;
    wire::check_tree(&body).map_err(|e| tree_error("the job response", &e))?;
    let job = JobState {
        id: f.text("id").unwrap_or_default(),
        job_type: f.text("job_type"),
        status: status(f.leaf("status"), &"the job")?,
        begin_time: Timestamp::of(f.leaf("begin_time")),
        end_time: Timestamp::of(f.leaf("end_time")),
        sub_jobs_total: f.leaf("sub_jobs_total").integer(),
        error_code: (f.text("job_error_code").filter(|s| !s.is_empty()))
            .or_else(|| f.text("error_code"))
            .filter(|s| !s.is_empty()),
        error_message: f.text("fail_reason").filter(|s| !s.is_empty()),
    };
    let (items, parents) = match f.list("sub_jobs") {
        None | Some(RawList::Null) => (Vec::new(), Vec::new()),
        Some(RawList::List(list)) => parse_items(list, true)?,
        Some(RawList::NotAList) => return Err(Malformed("`sub_jobs` is not a list".into())),
    };
    // A sub-job of another job is not evidence about this one.
    if !job.id.is_empty()
        && let Some((item, parent)) = items
            .iter()
            .zip(&parents)
            .find_map(|(i, p)| p.as_ref().filter(|p| **p != job.id).map(|p| (i, p)))
    {
        return Err(Malformed(format!(
            "sub-job {} of job {} says it belongs to job {parent}",
            item.id, job.id
        )));
    }
    Ok(Observation {
        job: Some(job),
        items: dedup(items)?,
        counts: BTreeMap::new(),
        source: Source::Job(body),
    })
}

/// Checks that a job answer is about the job asked for: with an id that a
/// server (or a rounding on the way) changed, another job would be judged.
/// A job answer without an id is not evidence about any job.
pub(crate) fn check_job_id(obs: &Observation, asked: &str) -> Result<(), Malformed> {
    let Some(job) = &obs.job else {
        return Ok(());
    };
    if job.id.is_empty() {
        return Err(Malformed(format!(
            "the answer for job {asked} has no `id`, so it cannot be told to be about that job"
        )));
    }
    if job.id != asked {
        return Err(Malformed(format!(
            "the answer for job {asked} is about job {}",
            job.id
        )));
    }
    Ok(())
}
