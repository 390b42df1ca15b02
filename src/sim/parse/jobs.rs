//! Jobs, their sub-jobs, timelines and progress, and the fleets that
//! generate sub-jobs in bulk.

use std::collections::HashSet;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::fields::{
    Place, RawRange, check_count, check_id, duration, job_type, optional_duration, place, range,
};
use crate::api::Status;
use crate::sim::error::ScenarioError;
use crate::sim::fleet::Fleet;
use crate::sim::scenario::{ErrorInfo, Job, JobKind, Resource, SubJob};
use crate::sim::timeline::{Point, Progress, Step, Timeline};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawJob {
    id: String,
    kind: JobKind,
    job_type: Option<String>,
    visible_after: Option<String>,
    timeline: Option<Vec<Spanned<RawStep>>>,
    #[serde(default)]
    sub_jobs: Vec<Spanned<RawSubJob>>,
    error: Option<RawError>,
    desktop_pool_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    at: String,
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubJob {
    id: String,
    job_type: Option<String>,
    visible_after: Option<String>,
    resource: Option<RawResource>,
    timeline: Vec<Spanned<RawStep>>,
    progress: Option<Vec<Spanned<RawPoint>>>,
    error: Option<RawError>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResource {
    id: Option<String>,
    name: Option<String>,
    user_name: Option<String>,
    product_id: Option<String>,
    ip_address: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    at: String,
    value: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawError {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    job_id: String,
    kind: JobKind,
    job_type: Option<String>,
    sub_job_type: Option<String>,
    count: u64,
    duration: RawRange,
    #[serde(default)]
    failure_rate: f64,
    start: Option<String>,
    visible_after: Option<String>,
    seed: Option<u64>,
}

pub(super) fn job(
    origin: &str,
    index: usize,
    node: &Spanned<RawJob>,
) -> Result<Job, ScenarioError> {
    let raw = &node.value;
    let path = format!("jobs[{index}]");
    let here = place(origin, node, path.clone());
    check_id(&raw.id, &here)?;
    let path = format!("{path} (id {})", raw.id);
    let here = place(origin, node, path.clone());
    let job_type = job_type(raw.job_type.as_deref(), raw.kind.default_job_type(), &here)?;
    let visible_after = optional_duration(raw.visible_after.as_deref(), "visible_after", &here)?;
    let timeline = match &raw.timeline {
        Some(steps) => Some(timeline(origin, &path, steps, &here)?),
        None => None,
    };
    if raw.desktop_pool_id.is_some() && raw.kind != JobKind::DesktopJob {
        return Err(here.error(
            "desktop_pool_id only exists on desktop_job jobs",
            "remove it, or change the kind to desktop_job",
        ));
    }
    let mut sub_jobs = Vec::with_capacity(raw.sub_jobs.len());
    for (sub_index, sub_node) in raw.sub_jobs.iter().enumerate() {
        let sub_path = format!("{path}.sub_jobs[{sub_index}]");
        sub_jobs.push(sub_job(origin, sub_path, raw.kind, sub_node)?);
    }
    Ok(Job {
        id: raw.id.clone(),
        kind: raw.kind,
        job_type,
        visible_after,
        timeline,
        sub_jobs,
        error: raw.error.as_ref().map(error_info),
        desktop_pool_id: raw.desktop_pool_id.clone(),
    })
}

fn sub_job(
    origin: &str,
    path: String,
    kind: JobKind,
    node: &Spanned<RawSubJob>,
) -> Result<SubJob, ScenarioError> {
    let raw = &node.value;
    let here = place(origin, node, path.clone());
    check_id(&raw.id, &here)?;
    let path = format!("{path} (id {})", raw.id);
    let here = place(origin, node, path.clone());
    let job_type = job_type(raw.job_type.as_deref(), kind.default_sub_job_type(), &here)?;
    let visible_after = optional_duration(raw.visible_after.as_deref(), "visible_after", &here)?;
    let timeline = timeline(origin, &path, &raw.timeline, &here)?;
    let progress = match &raw.progress {
        Some(_) if kind != JobKind::DesktopJob => {
            return Err(here.error(
                "`progress` only exists on desktop_job sub-jobs (the workspace API's `process`)",
                "remove `progress` here",
            ));
        }
        Some(points) => Some(progress(origin, &path, points, &here)?),
        None => None,
    };
    let resource = match &raw.resource {
        Some(resource) => {
            let desktop_only = [
                ("user_name", &resource.user_name),
                ("product_id", &resource.product_id),
                ("ip_address", &resource.ip_address),
            ];
            if kind != JobKind::DesktopJob
                && let Some((name, _)) = desktop_only.iter().find(|(_, value)| value.is_some())
            {
                return Err(here.error(
                    format!("resource.{name} only exists on desktop_job sub-jobs"),
                    "image and app-server sub-jobs report only resource id and name",
                ));
            }
            Resource {
                id: resource.id.clone().unwrap_or_else(|| raw.id.clone()),
                name: resource.name.clone().unwrap_or_default(),
                user_name: resource.user_name.clone(),
                product_id: resource.product_id.clone(),
                ip_address: resource.ip_address.clone(),
            }
        }
        None => Resource {
            id: raw.id.clone(),
            ..Resource::default()
        },
    };
    Ok(SubJob {
        id: raw.id.clone(),
        job_type,
        visible_after,
        resource,
        timeline,
        progress,
        error: raw.error.as_ref().map(error_info),
    })
}

fn timeline(
    origin: &str,
    path: &str,
    steps: &[Spanned<RawStep>],
    owner: &Place<'_>,
) -> Result<Timeline, ScenarioError> {
    let mut parsed = Vec::with_capacity(steps.len());
    for (index, node) in steps.iter().enumerate() {
        let here = place(origin, node, format!("{path}.timeline[{index}]"));
        let at = duration(&node.value.at, "at", &here)?;
        let status = node.value.status.trim();
        if status.is_empty() {
            return Err(here.error(
                "the status is empty",
                "write a status such as WAITING, RUNNING, SUCCESS or FAILED",
            ));
        }
        parsed.push(Step {
            at,
            status: Status::parse(status),
        });
    }
    Timeline::new(parsed).map_err(|message| {
        owner.error(
            format!("timeline: {message}"),
            "e.g. timeline: [{at: 0s, status: WAITING}, {at: 2s, status: SUCCESS}]",
        )
    })
}

fn progress(
    origin: &str,
    path: &str,
    points: &[Spanned<RawPoint>],
    owner: &Place<'_>,
) -> Result<Progress, ScenarioError> {
    let mut parsed = Vec::with_capacity(points.len());
    for (index, node) in points.iter().enumerate() {
        let here = place(origin, node, format!("{path}.progress[{index}]"));
        let at = duration(&node.value.at, "at", &here)?;
        let value = u8::try_from(node.value.value)
            .ok()
            .filter(|value| *value <= 100)
            .ok_or_else(|| {
                here.error(
                    format!("progress value {} is not a percentage", node.value.value),
                    "use a whole number from 0 to 100",
                )
            })?;
        parsed.push(Point { at, value });
    }
    Progress::new(parsed).map_err(|message| {
        owner.error(
            message,
            "e.g. progress: [{at: 0s, value: 0}, {at: 3s, value: 100}]",
        )
    })
}

pub(super) fn fleet(
    origin: &str,
    index: usize,
    node: &Spanned<RawFleet>,
    scenario_seed: u64,
) -> Result<Fleet, ScenarioError> {
    let raw = &node.value;
    let here = place(origin, node, format!("fleets[{index}]"));
    check_id(&raw.job_id, &here)?;
    check_count(raw.count, "sub-jobs", &here)?;
    let (min, max) = range(&raw.duration, "duration", &here)?;
    if !(0.0..=1.0).contains(&raw.failure_rate) {
        return Err(here.error(
            format!("failure_rate is {}", raw.failure_rate),
            "use a probability from 0 to 1",
        ));
    }
    Ok(Fleet {
        job_id: raw.job_id.clone(),
        kind: raw.kind,
        job_type: job_type(raw.job_type.as_deref(), raw.kind.default_job_type(), &here)?,
        sub_job_type: job_type(
            raw.sub_job_type.as_deref(),
            raw.kind.default_sub_job_type(),
            &here,
        )?,
        count: raw.count,
        min,
        max,
        failure_rate: raw.failure_rate,
        start: optional_duration(raw.start.as_deref(), "start", &here)?,
        visible_after: optional_duration(raw.visible_after.as_deref(), "visible_after", &here)?,
        seed: raw
            .seed
            .unwrap_or_else(|| crate::sim::faults::mix(scenario_seed, index as u64)),
    })
}

fn error_info(raw: &RawError) -> ErrorInfo {
    ErrorInfo {
        code: raw.code.clone(),
        message: raw.message.clone(),
    }
}

pub(super) fn check_unique_ids(origin: &str, jobs: &[Job]) -> Result<(), ScenarioError> {
    let mut seen = HashSet::new();
    let ids = jobs.iter().flat_map(|job| {
        std::iter::once(("job", &job.id)).chain(job.sub_jobs.iter().map(|sub| ("sub-job", &sub.id)))
    });
    for (what, id) in ids {
        if !seen.insert(id.as_str()) {
            return Err(ScenarioError::Invalid {
                origin: origin.to_owned(),
                at: None,
                path: format!("{what} {id}"),
                message: format!("the id `{id}` is used more than once"),
                hint: "give every job and sub-job its own id".into(),
            });
        }
    }
    Ok(())
}
