//! Reading a scenario: YAML into raw serde values, then validated, with every
//! error naming the place (file, line, path) and the fix.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::endpoint::Endpoint;
use super::error::ScenarioError;
use super::faults::{Faults, Quota, Slow};
use super::fleet::Fleet;
use super::past::{PastJobs, Took};
use super::scenario::{ErrorInfo, Job, JobKind, Resource, Scenario, SubJob};
use super::timeline::{Point, Progress, Step, Timeline};
use crate::api::Status;

/// Fleets beyond this size are almost certainly a typo and would only eat
/// memory.
const MAX_FLEET: u64 = 100_000;

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIam {
    idp_id: String,
    audience: Option<String>,
    lifetime: Option<String>,
    claimed_lifetime: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPastJobs {
    job_type: Option<String>,
    count: Option<u64>,
    took: Option<RawRange>,
    /// Instead of `count` and `took`: one past job per listed duration.
    durations: Option<Vec<String>>,
    status: Option<String>,
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJob {
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
struct RawFleet {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    min: String,
    max: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFaults {
    seed: Option<u64>,
    #[serde(default)]
    throttle: f64,
    retry_after: Option<String>,
    #[serde(default)]
    server_error: f64,
    #[serde(default)]
    malformed: f64,
    #[serde(default)]
    reset: f64,
    slow: Option<RawSlow>,
    hang: Option<RawHang>,
    quota: Option<RawQuota>,
    api_quotas: Option<BTreeMap<String, RawQuota>>,
    daily_quota: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    limit: u32,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlow {
    rate: f64,
    delay: String,
}

/// `hang: true` hangs every request; a number is a rate like the others.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawHang {
    Always(bool),
    Rate(f64),
}

/// Where a problem is: the source, the node's position and its path.
struct Place<'a> {
    origin: &'a str,
    at: Option<(u64, u64)>,
    path: String,
}

impl Place<'_> {
    fn error(&self, message: impl Into<String>, hint: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            origin: self.origin.to_owned(),
            at: self.at,
            path: self.path.clone(),
            message: message.into(),
            hint: hint.into(),
        }
    }
}

fn place<'a, T>(origin: &'a str, node: &Spanned<T>, path: String) -> Place<'a> {
    let location = node.referenced;
    let at = (location.line() > 0).then(|| (location.line(), location.column()));
    Place { origin, at, path }
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
        jobs.push(job(origin, index, node)?);
    }
    for (index, node) in raw.fleets.iter().enumerate() {
        let fleet = fleet(origin, index, node, seed)?;
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
    check_unique_ids(origin, &jobs)?;
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
        Some(node) => faults(origin, node, seed)?,
        None => Faults {
            seed,
            ..Faults::default()
        },
    };
    let mut past_image_jobs = Vec::new();
    for (index, node) in raw.past_image_jobs.iter().enumerate() {
        let place = place(origin, node, format!("past_image_jobs[{index}]"));
        past_image_jobs
            .extend(past_jobs(&node.value, JobKind::ImageJob, index, place, seed)?.jobs());
    }
    let mut past_app_server_sub_jobs = Vec::new();
    for (index, node) in raw.past_app_server_sub_jobs.iter().enumerate() {
        let place = place(origin, node, format!("past_app_server_sub_jobs[{index}]"));
        // Seeds apart from the image history's.
        let jobs = past_jobs(
            &node.value,
            JobKind::AppServerJob,
            index + 1000,
            place,
            seed,
        )?;
        past_app_server_sub_jobs.extend(jobs.jobs());
    }
    let iam = match &raw.iam {
        None => None,
        Some(node) => {
            let here = place(origin, node, "iam".to_owned());
            let lifetime = match &node.value.lifetime {
                Some(text) => duration(text, "lifetime", &here)?,
                None => Duration::from_secs(3600),
            };
            if node.value.idp_id.trim().is_empty() {
                return Err(here.error(
                    "idp_id is empty",
                    "name the identity provider clients send as X-Idp-Id",
                ));
            }
            let claimed_lifetime = match &node.value.claimed_lifetime {
                Some(text) => Some(duration(text, "claimed_lifetime", &here)?),
                None => None,
            };
            Some(super::iam::IamConfig {
                idp_id: node.value.idp_id.clone(),
                audience: node.value.audience.clone(),
                lifetime,
                claimed_lifetime,
            })
        }
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

fn past_jobs(
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
            .unwrap_or_else(|| super::faults::mix(scenario_seed ^ 0x9a57, index as u64)),
    })
}

fn job(origin: &str, index: usize, node: &Spanned<RawJob>) -> Result<Job, ScenarioError> {
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

fn fleet(
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
            .unwrap_or_else(|| super::faults::mix(scenario_seed, index as u64)),
    })
}

fn faults(
    origin: &str,
    node: &Spanned<RawFaults>,
    scenario_seed: u64,
) -> Result<Faults, ScenarioError> {
    let raw = &node.value;
    let here = place(origin, node, "faults".into());
    let slow = match &raw.slow {
        Some(slow) => Some(Slow {
            rate: slow.rate,
            delay: duration(&slow.delay, "slow.delay", &here)?,
        }),
        None => None,
    };
    let faults = Faults {
        seed: raw.seed.unwrap_or(scenario_seed),
        throttle: raw.throttle,
        retry_after: match &raw.retry_after {
            Some(text) => Some(duration(text, "retry_after", &here)?),
            None => None,
        },
        server_error: raw.server_error,
        malformed: raw.malformed,
        reset: raw.reset,
        slow,
        hang: match raw.hang {
            Some(RawHang::Always(true)) => 1.0,
            Some(RawHang::Always(false)) | None => 0.0,
            Some(RawHang::Rate(rate)) => rate,
        },
        quota: match &raw.quota {
            Some(q) => Some(quota(q, "quota", &here)?),
            None => None,
        },
        api_quotas: match &raw.api_quotas {
            Some(map) => map
                .iter()
                .map(|(name, q)| {
                    let endpoint = Endpoint::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Endpoint::SERVED.iter().map(|e| e.name()).collect();
                        here.error(
                            format!("api_quotas names `{name}`, which is not an API the simulator serves"),
                            format!("use one of {}", names.join(", ")),
                        )
                    })?;
                    Ok((endpoint, quota(q, &format!("api_quotas.{name}"), &here)?))
                })
                .collect::<Result<_, ScenarioError>>()?,
            None => BTreeMap::new(),
        },
        daily_quota: raw.daily_quota,
    };
    faults
        .validate()
        .map_err(|message| here.error(message, ""))?;
    Ok(faults)
}

/// A rate policy; `what` names it in errors.
fn quota(raw: &RawQuota, what: &str, here: &Place<'_>) -> Result<Quota, ScenarioError> {
    if raw.limit == 0 {
        return Err(here.error(
            format!("{what}.limit is 0"),
            "a policy allows at least one request per window",
        ));
    }
    Ok(Quota {
        limit: raw.limit,
        window: duration(&raw.window, &format!("{what}.window"), here)?,
    })
}

fn error_info(raw: &RawError) -> ErrorInfo {
    ErrorInfo {
        code: raw.code.clone(),
        message: raw.message.clone(),
    }
}

fn job_type(given: Option<&str>, default: &str, here: &Place<'_>) -> Result<String, ScenarioError> {
    match given.map(str::trim) {
        None => Ok(default.to_owned()),
        Some("") => Err(here.error(
            "job_type is empty",
            format!("name a type such as {default}, or leave job_type out"),
        )),
        Some(value) => Ok(value.to_owned()),
    }
}

fn duration(text: &str, field: &str, here: &Place<'_>) -> Result<Duration, ScenarioError> {
    // The spec's duration parser, so a duration means the same everywhere.
    crate::spec::duration::parse_at_most(text, crate::spec::duration::LONGEST_SIMULATED).map_err(
        |error| {
            here.error(
                format!("{field}: {error}"),
                "write an offset such as 0s, 1500ms, 2s or 1m 30s",
            )
        },
    )
}

/// A generated count, within what fits in memory.
fn check_count(count: u64, what: &str, here: &Place<'_>) -> Result<(), ScenarioError> {
    if count == 0 || count > MAX_FLEET {
        return Err(here.error(
            format!("count is {count}"),
            format!("generate between 1 and {MAX_FLEET} {what}"),
        ));
    }
    Ok(())
}

/// A `{min, max}` range of durations, in order.
fn range(
    raw: &RawRange,
    field: &str,
    here: &Place<'_>,
) -> Result<(Duration, Duration), ScenarioError> {
    let min = duration(&raw.min, &format!("{field}.min"), here)?;
    let max = duration(&raw.max, &format!("{field}.max"), here)?;
    if min > max {
        return Err(here.error(
            format!("{field}.min is longer than {field}.max"),
            "swap them, or make them equal for a fixed duration",
        ));
    }
    Ok((min, max))
}

fn optional_duration(
    text: Option<&str>,
    field: &str,
    here: &Place<'_>,
) -> Result<Duration, ScenarioError> {
    text.map_or(Ok(Duration::ZERO), |text| duration(text, field, here))
}

/// Ids end up in URL paths, so they are limited to characters that need no
/// escaping there.
fn check_id(id: &str, here: &Place<'_>) -> Result<(), ScenarioError> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    if id.is_empty() || !id.chars().all(unreserved) {
        return Err(here.error(
            format!("id `{id}` is empty or has characters that need escaping in a URL"),
            "use letters, digits, `-`, `_`, `.` and `~` only (UUIDs are fine)",
        ));
    }
    Ok(())
}

fn check_unique_ids(origin: &str, jobs: &[Job]) -> Result<(), ScenarioError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(yaml: &str) -> String {
        Scenario::from_yaml(yaml, "bad.yaml")
            .unwrap_err()
            .to_string()
    }

    const HEAD: &str = "project_id: 0123456789abcdef0123456789abcdef\n";

    #[test]
    fn full_example_parses() {
        let yaml = format!(
            "{HEAD}{}",
            r#"seed: 3
jobs:
  - id: 2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab
    kind: image_job
    job_type: CREATE_SERVER_IMAGE
    visible_after: 500ms
    timeline: [{at: 0s, status: WAITING}, {at: 1s, status: RUNNING}, {at: 3s, status: COMPLETE}]
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER
        resource: {id: r1, name: builder}
        timeline: [{at: 0s, status: RUNNING}, {at: 3s, status: FAILED}]
        error: {code: WKS.00129901, message: broken}
  - id: d1
    kind: desktop_job
    sub_jobs:
      - id: s2
        resource: {id: desk-1, name: desk, user_name: alice, ip_address: 10.0.0.4}
        timeline: [{at: 0s, status: RUNNING}, {at: 3s, status: SUCCESS}]
        progress: [{at: 0s, value: 0}, {at: 3s, value: 100}]
fleets:
  - job_id: fleet-job
    kind: desktop_job
    count: 25
    duration: {min: 2s, max: 20s}
    failure_rate: 0.5
faults: {seed: 7, throttle: 0.2, retry_after: 1s, server_error: 0.1, malformed: 0.05, reset: 0.01, slow: {rate: 0.1, delay: 2s}, hang: false}
"#
        );
        let scenario = Scenario::from_yaml(&yaml, "ok.yaml").unwrap();
        assert_eq!(scenario.seed, 3);
        assert_eq!(scenario.jobs.len(), 3);
        let image = &scenario.jobs[0];
        assert_eq!(image.visible_after, Duration::from_millis(500));
        assert_eq!(image.terminal().unwrap().0.as_str(), "COMPLETE");
        assert_eq!(image.sub_jobs[0].error.as_ref().unwrap().message, "broken");
        assert_eq!(
            scenario.jobs[1].sub_jobs[0].resource.user_name.as_deref(),
            Some("alice")
        );
        assert_eq!(scenario.jobs[1].job_type, "createDesktops");
        assert_eq!(scenario.jobs[2].sub_jobs.len(), 25);
        assert_eq!(scenario.faults.seed, 7);
        assert_eq!(scenario.faults.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(scenario.faults.hang, 0.0);
    }

    #[test]
    fn numeric_looking_ids_are_strings() {
        let yaml = "project_id: 702364883651395584\njobs:\n  - id: 702364883651395584\n    kind: image_job\n    timeline: [{at: 0s, status: SUCCESS}]\n";
        let scenario = Scenario::from_yaml(yaml, "n.yaml").unwrap();
        assert_eq!(scenario.jobs[0].id, "702364883651395584");
    }

    #[test]
    fn unknown_key_is_named() {
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timelime: []\n"
        ));
        assert!(message.contains("bad.yaml"), "{message}");
        assert!(message.contains("timelime"), "{message}");
    }

    #[test]
    fn unknown_kind_lists_the_choices() {
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: vm_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
        ));
        assert!(message.contains("vm_job"), "{message}");
        assert!(message.contains("desktop_job"), "{message}");
    }

    #[test]
    fn bad_duration_points_at_the_step_and_explains() {
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timeline:\n      - {{at: 0s, status: WAITING}}\n      - {{at: soon, status: SUCCESS}}\n"
        ));
        assert!(message.contains("bad.yaml:7:"), "{message}");
        assert!(message.contains("jobs[0] (id j).timeline[1]"), "{message}");
        assert!(message.contains("`soon` is not a duration"), "{message}");
        assert!(message.contains("hint:"), "{message}");
    }

    #[test]
    fn steps_out_of_order_are_rejected() {
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timeline: [{{at: 2s, status: RUNNING}}, {{at: 1s, status: SUCCESS}}]\n"
        ));
        assert!(message.contains("increasing time order"), "{message}");
    }

    #[test]
    fn job_needs_a_timeline_or_sub_jobs() {
        let message = error_of(&format!("{HEAD}jobs:\n  - id: j\n    kind: image_job\n"));
        assert!(message.contains("timeline or sub_jobs"), "{message}");
    }

    #[test]
    fn ids_must_be_unique_and_url_safe() {
        let step = "timeline: [{at: 0s, status: SUCCESS}]";
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - {{id: j, kind: image_job, {step}}}\n  - {{id: j, kind: desktop_job, {step}}}\n"
        ));
        assert!(message.contains("more than once"), "{message}");
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - {{id: 'a/b', kind: image_job, {step}}}\n"
        ));
        assert!(message.contains("escaping"), "{message}");
        assert!(error_of("project_id: ''\n").contains("project_id"));
    }

    #[test]
    fn desktop_only_fields_are_checked() {
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    sub_jobs:\n      - id: s\n        timeline: [{{at: 0s, status: SUCCESS}}]\n        progress: [{{at: 0s, value: 10}}]\n"
        ));
        assert!(message.contains("desktop_job"), "{message}");
        let message = error_of(&format!(
            "{HEAD}jobs:\n  - id: j\n    kind: desktop_job\n    sub_jobs:\n      - id: s\n        timeline: [{{at: 0s, status: SUCCESS}}]\n        progress: [{{at: 0s, value: 101}}]\n"
        ));
        assert!(message.contains("0 to 100"), "{message}");
    }

    #[test]
    fn faults_and_fleets_are_checked() {
        assert!(error_of(&format!("{HEAD}faults: {{throttle: 2}}\n")).contains("throttle"));
        let fleet =
            "fleets: [{job_id: f, kind: desktop_job, count: 5, duration: {min: 5s, max: 1s}}]";
        assert!(error_of(&format!("{HEAD}{fleet}\n")).contains("duration.min"));
        let fleet =
            "fleets: [{job_id: f, kind: desktop_job, count: 0, duration: {min: 1s, max: 1s}}]";
        assert!(error_of(&format!("{HEAD}{fleet}\n")).contains("count"));
        let hang = Scenario::from_yaml(&format!("{HEAD}faults: {{hang: true}}\n"), "h").unwrap();
        assert_eq!(hang.faults.hang, 1.0);
    }

    #[test]
    fn past_image_jobs_are_generated_and_checked() {
        let past = |entry: &str| format!("{HEAD}past_image_jobs: [{entry}]\n");
        let ok = Scenario::from_yaml(&past("{count: 4, took: {min: 1s, max: 2s}}"), "p").unwrap();
        assert_eq!(ok.past_image_jobs.len(), 4);
        assert!(
            ok.past_image_jobs
                .iter()
                .all(|j| j.job_type == "CREATE_SERVER_IMAGE" && j.status == Status::Success)
        );
        let error = error_of(&past("{count: 2, took: {min: 3s, max: 1s}}"));
        assert!(
            error.contains("took.min is longer than took.max"),
            "{error}"
        );
        let error = error_of(&past(
            "{count: 2, took: {min: 1s, max: 1s}, status: RUNNING}",
        ));
        assert!(
            error.contains("use SUCCESS (the default) or FAILED"),
            "{error}"
        );
        assert!(error_of(&past("{count: 0, took: {min: 1s, max: 1s}}")).contains("past jobs"));
        // Absurd durations are refused, the longest valid ones neither
        // panic nor wrap around.
        let error = error_of(&past(
            "{count: 3, took: {min: 300000000000d, max: 300000000000d}}",
        ));
        assert!(error.contains("longer than the longest"), "{error}");
        let long =
            Scenario::from_yaml(&past("{count: 3, took: {min: 365d, max: 365d}}"), "p").unwrap();
        assert_eq!(long.past_image_jobs.len(), 3);
        // Listed durations, one job each, in order; mixing the forms, or
        // giving neither, is refused with the fix.
        let listed = Scenario::from_yaml(&past("{durations: [90s, 500ms, 1m 30s]}"), "p").unwrap();
        let took: Vec<Duration> = listed.past_image_jobs.iter().map(|j| j.took).collect();
        assert_eq!(
            took,
            [
                Duration::from_secs(90),
                Duration::from_millis(500),
                Duration::from_secs(90)
            ]
        );
        for bad in [
            "{count: 2, took: {min: 1s, max: 1s}, durations: [1s]}",
            "{count: 2}",
            "{took: {min: 1s, max: 1s}}",
            "{status: SUCCESS}",
        ] {
            let error = error_of(&past(bad));
            assert!(error.contains("or `durations` alone"), "{bad}: {error}");
        }
        assert!(error_of(&past("{durations: []}")).contains("past jobs"));
        let error = error_of(&past("{durations: [1s, soon]}"));
        assert!(error.contains("durations[1]"), "{error}");
        let servers = Scenario::from_yaml(
            &format!(
                "{HEAD}past_app_server_sub_jobs: [{{count: 3, took: {{min: 1s, max: 1s}}}}]\n"
            ),
            "p",
        )
        .unwrap();
        assert_eq!(servers.past_app_server_sub_jobs.len(), 3);
        assert!(
            servers
                .past_app_server_sub_jobs
                .iter()
                .all(|j| j.job_type == "CREATE_SERVER")
        );
    }

    #[test]
    fn a_quota_can_cover_one_api_only() {
        let yaml = format!(
            "{HEAD}jobs: []\nfaults:\n  quota: {{limit: 200, window: 1m}}\n  api_quotas:\n    ListImageJobs: {{limit: 5, window: 1s}}\n"
        );
        let faults = Scenario::from_yaml(&yaml, "q.yaml").unwrap().faults;
        assert_eq!(
            faults.quota_of(Endpoint::ListImageJobs),
            Some(Quota {
                limit: 5,
                window: Duration::from_secs(1)
            })
        );
        assert_eq!(
            faults.quota_of(Endpoint::ShowJob).map(|q| q.limit),
            Some(200)
        );
        let message = error_of(&format!(
            "{HEAD}jobs: []\nfaults:\n  api_quotas:\n    ListJobs: {{limit: 5, window: 1s}}\n"
        ));
        assert!(
            message.contains("ListJobs") && message.contains("ListImageJobs"),
            "{message}"
        );
        let message = error_of(&format!(
            "{HEAD}jobs: []\nfaults:\n  api_quotas:\n    ShowJob: {{limit: 0, window: 1s}}\n"
        ));
        assert!(
            message.contains("api_quotas.ShowJob.limit is 0"),
            "{message}"
        );
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            ":",
            "[1, 2",
            "project_id: [x]",
            "jobs: 7",
            "\u{0}",
            "project_id: p\njobs: [{}]",
        ] {
            assert!(Scenario::from_yaml(text, "g").is_err(), "{text:?}");
        }
    }
}
