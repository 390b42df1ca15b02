//! Reading a scenario: YAML into raw serde values, then validated, with every
//! error naming the place (file, line, path) and the fix. One module per part
//! of a scenario; [`fields`] holds the readers they share.

mod faults;
mod fields;
mod iam;
mod jobs;
mod past;
#[cfg(test)]
mod tests;

use serde::Deserialize;
use serde_saphyr::Spanned;

use self::faults::RawFaults;
use self::fields::{check_id, place};
use self::iam::RawIam;
use self::jobs::{RawFleet, RawJob};
use self::past::RawPastJobs;
use super::error::ScenarioError;
use super::faults::Faults;
use super::scenario::{JobKind, Scenario};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    project_id: Spanned<String>,
    seed: Option<u64>,
    #[serde(default)]
    jobs: Vec<Spanned<RawJob>>,
    #[serde(default)]
    fleets: Vec<Spanned<RawFleet>>,
    faults: Option<Spanned<RawFaults>>,
    #[serde(default)]
    past_image_jobs: Vec<Spanned<RawPastJobs>>,
    #[serde(default)]
    past_app_server_sub_jobs: Vec<Spanned<RawPastJobs>>,
    iam: Option<Spanned<RawIam>>,
}

/// Parses and validates scenario text; `origin` names it in errors.
pub(crate) fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
    let raw: RawScenario = serde_saphyr::from_str(text).map_err(|error| ScenarioError::Syntax {
        origin: origin.to_owned(),
        // The rendering starts with its own "error: "; ours already says it.
        message: error.to_string().trim_start_matches("error: ").to_owned(),
    })?;
    let project_place = place(origin, &raw.project_id, "project_id".into());
    check_id(&raw.project_id.value, &project_place)?;
    let seed = raw.seed.unwrap_or(0);

    let mut jobs = Vec::with_capacity(raw.jobs.len());
    for (index, node) in raw.jobs.iter().enumerate() {
        jobs.push(jobs::job(origin, index, node)?);
    }
    for (index, node) in raw.fleets.iter().enumerate() {
        let fleet = jobs::fleet(origin, index, node, seed)?;
        let here = place(origin, node, format!("fleets[{index}]"));
        match jobs.iter_mut().find(|job| job.id == fleet.job_id) {
            Some(job) if job.kind != fleet.kind => {
                return Err(here.error(
                    format!(
                        "job `{}` is a {} but the fleet says {}",
                        fleet.job_id,
                        job.kind.name(),
                        fleet.kind.name()
                    ),
                    "give the fleet the same kind as the job it adds sub-jobs to",
                ));
            }
            Some(job) => job.sub_jobs.extend(fleet.sub_jobs()),
            None => jobs.push(fleet.job()),
        }
    }
    jobs::check_unique_ids(origin, &jobs)?;
    // Checked after the fleets are merged: a fleet may supply a job's sub-jobs.
    for (index, node) in raw.jobs.iter().enumerate() {
        let job = &jobs[index];
        if job.timeline.is_none() && job.sub_jobs.is_empty() {
            return Err(
                place(origin, node, format!("jobs[{index}] (id {})", job.id)).error(
                    "the job has neither a timeline nor sub-jobs, so it has no status",
                    "give it a timeline or sub_jobs (or a fleet with its job_id)",
                ),
            );
        }
    }

    let faults = match &raw.faults {
        Some(node) => faults::faults(origin, node, seed)?,
        None => Faults {
            seed,
            ..Faults::default()
        },
    };
    let mut past_image_jobs = Vec::new();
    for (index, node) in raw.past_image_jobs.iter().enumerate() {
        let place = place(origin, node, format!("past_image_jobs[{index}]"));
        past_image_jobs
            .extend(past::past_jobs(&node.value, JobKind::ImageJob, index, place, seed)?.jobs());
    }
    let mut past_app_server_sub_jobs = Vec::new();
    for (index, node) in raw.past_app_server_sub_jobs.iter().enumerate() {
        let place = place(origin, node, format!("past_app_server_sub_jobs[{index}]"));
        // Seeds apart from the image history's.
        let jobs = past::past_jobs(
            &node.value,
            JobKind::AppServerJob,
            index + 1000,
            place,
            seed,
        )?;
        past_app_server_sub_jobs.extend(jobs.jobs());
    }
    let iam = match &raw.iam {
        Some(node) => Some(iam::iam(origin, node)?),
        None => None,
    };
    Ok(Scenario {
        project_id: raw.project_id.value.clone(),
        seed,
        jobs,
        faults,
        past_image_jobs,
        past_app_server_sub_jobs,
        iam,
    })
}
