//! From a wait's target to the requests of one poll, and from their answers
//! to one [`Observation`].

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::api::model::{self, Observation, Source};
use crate::api::request::{APPSTREAM_PAGE, ApiRequest, WORKSPACE_PAGE};
use crate::api::{Service, Status};
use crate::condition::{Check, Condition, StatusSet};
use crate::spec::{ListFilter, Target, Template, Wait};

/// The requests one poll makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// One request whose answer is a job (or arbitrary JSON for `get`).
    Single { request: ApiRequest, json: bool },
    /// A list endpoint, paged with `offset`/`limit` until every item is read.
    Paged { request: ApiRequest, page: u32 },
    /// A count endpoint, once per status filter the conditions need
    /// (`None`: no status filter, the total).
    Counts {
        request: ApiRequest,
        keys: Vec<Option<StatusSet>>,
    },
}

impl Plan {
    /// The requests in words, for `plan` and reports.
    pub fn describe(&self, base: &dyn Fn(Service) -> String) -> Vec<String> {
        let url = |r: &ApiRequest| format!("GET {}{}", base(r.service), r.path_and_query());
        match self {
            Plan::Single { request, .. } => vec![url(request)],
            Plan::Paged { request, page } => {
                vec![format!(
                    "{} (paged, {page} per page, until every item is read)",
                    url(&request
                        .clone()
                        .with("limit", page.to_string())
                        .with("offset", "0"))
                )]
            }
            Plan::Counts { request, keys } => keys
                .iter()
                .flat_map(|k| match k {
                    None => vec![url(request)],
                    Some(set) => set
                        .iter()
                        .map(|s| url(&request.clone().with("status", s.as_str())))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Resolves a wait's target into the plan of one poll. `outputs` answers
/// `${outputs.WAIT.KEY}` references.
pub fn plan(wait: &Wait, outputs: &dyn Fn(&str, &str) -> Option<String>) -> Result<Plan, String> {
    let p = &wait.project_id;
    let render = |t: &Template| t.render(outputs);
    let single = |service, path: String| Plan::Single {
        request: ApiRequest::new(service, path),
        json: false,
    };
    Ok(match &wait.target {
        Target::ImageJob { job_id } => single(
            Service::AppStream,
            format!("/v1/{p}/image-server-jobs/{}", render(job_id)?),
        ),
        Target::AppServerJob { job_id } => single(
            Service::AppStream,
            format!("/v2/{p}/job/{}", render(job_id)?),
        ),
        Target::DesktopJob { job_id } => single(
            Service::Workspace,
            format!("/v2/{p}/workspace-jobs/{}", render(job_id)?),
        ),
        Target::ImageSubJobs(f) | Target::AppServerSubJobs(f) => {
            let (list, count) = match &wait.target {
                Target::ImageSubJobs(_) => (
                    "image-server-sub-jobs",
                    "image-server-sub-jobs/actions/count",
                ),
                _ => ("app-server-sub-jobs", "app-server-sub-jobs/actions/count"),
            };
            match count_keys(wait) {
                // Conditions that only count can be answered by the count
                // endpoint: one request per status instead of every page.
                Some(keys) => Plan::Counts {
                    request: filtered(Service::AppStream, format!("/v1/{p}/{count}"), f, outputs)?,
                    keys,
                },
                None => Plan::Paged {
                    request: filtered(Service::AppStream, format!("/v1/{p}/{list}"), f, outputs)?,
                    page: APPSTREAM_PAGE,
                },
            }
        }
        Target::DesktopSubJobs(f) => Plan::Paged {
            request: filtered(
                Service::Workspace,
                format!("/v2/{p}/workspace-sub-jobs"),
                f,
                outputs,
            )?,
            page: WORKSPACE_PAGE,
        },
        Target::ImageSubJobCount(f) | Target::AppServerSubJobCount(f) => {
            let path = match &wait.target {
                Target::ImageSubJobCount(_) => {
                    format!("/v1/{p}/image-server-sub-jobs/actions/count")
                }
                _ => format!("/v1/{p}/app-server-sub-jobs/actions/count"),
            };
            let mut keys = all_count_keys(wait);
            if !keys.contains(&None) {
                keys.push(None);
            }
            Plan::Counts {
                request: filtered(Service::AppStream, path, f, outputs)?,
                keys,
            }
        }
        Target::Get {
            service,
            path,
            query,
        } => {
            let path = render(path)?.replace("{project_id}", p);
            let mut request = ApiRequest::new(*service, path);
            for (k, v) in query {
                request = request.with(k, render(v)?);
            }
            Plan::Single {
                request,
                json: true,
            }
        }
    })
}

fn filtered(
    service: Service,
    path: String,
    f: &ListFilter,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<ApiRequest, String> {
    let mut r = ApiRequest::new(service, path);
    if let Some(id) = &f.job_id {
        r = r.with("job_id", id.render(outputs)?);
    }
    if !f.job_type.is_empty() {
        r = r.with("job_type", f.job_type.join(","));
    }
    if let Some(s) = &f.status {
        r = r.with("status", s.clone());
    }
    if let Some(pool) = &f.desktop_pool_id {
        r = r.with("desktop_pool_id", pool.render(outputs)?);
    }
    Ok(r)
}

fn conditions(wait: &Wait) -> Vec<&Condition> {
    std::iter::once(&wait.rules.success)
        .chain(wait.rules.failure.iter())
        .collect()
}

/// The status filters of every count check, when every check counts without
/// an item filter and nothing needs the items themselves.
fn count_keys(wait: &Wait) -> Option<Vec<Option<StatusSet>>> {
    if !wait.outputs.is_empty() {
        return None;
    }
    let checks: Vec<&Check> = conditions(wait)
        .into_iter()
        .flat_map(|c| c.checks())
        .collect();
    let countable = checks
        .iter()
        .all(|c| matches!(c, Check::Count { filter, .. } if filter.fields.is_empty()));
    if !countable {
        return None;
    }
    let mut keys = all_count_keys(wait);
    // The total tells an empty list from a list without matches.
    if !keys.contains(&None) {
        keys.push(None);
    }
    Some(keys)
}

fn all_count_keys(wait: &Wait) -> Vec<Option<StatusSet>> {
    let mut keys = Vec::new();
    for check in conditions(wait).into_iter().flat_map(|c| c.checks()) {
        if let Check::Count { statuses, .. } = check
            && !keys.contains(statuses)
        {
            keys.push(statuses.clone());
        }
    }
    keys
}

/// The key a count answer is stored under, matching what count checks read.
pub fn count_key(statuses: &Option<StatusSet>) -> Option<String> {
    statuses
        .as_ref()
        .map(|s| s.iter().map(Status::as_str).collect::<Vec<_>>().join(", "))
}

/// Reads one saved response the way a poll of this wait would, from the
/// same bytes with the same readers: `jobgate eval` and the response fuzz
/// target judge exactly what the engine would judge.
///
/// A count wait asks the count endpoint once per status filter, so one
/// `{"count": N}` cannot answer it: it takes every answer at once, as
/// `{"counts": {"*": N, "ABNORMAL": M}}`, the form the report's last
/// observation shows.
pub fn observe_saved(wait: &Wait, text: &[u8]) -> Result<Observation, model::Malformed> {
    use crate::spec::Shape;
    let json = || {
        serde_json::from_slice(text)
            .map_err(|e| model::Malformed(format!("the response is not valid JSON ({e})")))
    };
    match wait.target.shape() {
        Shape::Job => model::parse_job(Bytes::copy_from_slice(text)),
        Shape::List => Ok(model::list_observation(model::parse_page(text)?.items)),
        Shape::Count => saved_counts(wait, &json()?),
        Shape::Json => Ok(Observation {
            source: Source::Json(json()?),
            ..Default::default()
        }),
    }
}

fn saved_counts(wait: &Wait, json: &serde_json::Value) -> Result<Observation, model::Malformed> {
    let mut keys = all_count_keys(wait);
    if !keys.contains(&None) {
        keys.push(None);
    }
    let names: Vec<String> = keys
        .iter()
        .map(|k| count_key(k).unwrap_or_else(|| "*".into()))
        .collect();
    let wanted = || {
        let example: Vec<String> = names.iter().map(|n| format!("\"{n}\": N")).collect();
        format!("{{\"counts\": {{{}}}}}", example.join(", "))
    };
    // A lone `{"count": N}` answers a wait that only needs the total.
    if keys == [None]
        && let Some(n) = json.get("count").and_then(serde_json::Value::as_u64)
    {
        return Ok(counts_observation([(None, n)].into()));
    }
    let Some(answers) = json.get("counts").and_then(serde_json::Value::as_object) else {
        return Err(model::Malformed(format!(
            "this wait reads the count endpoint once per status filter ({}); give every answer as {} (the report's last observation shows them so)",
            names.join("; "),
            wanted()
        )));
    };
    let mut counts = BTreeMap::new();
    for (key, name) in keys.iter().zip(&names) {
        let n = answers
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                model::Malformed(format!(
                    "`counts` has no number for `{name}`; expected {}",
                    wanted()
                ))
            })?;
        counts.insert(count_key(key), n);
    }
    Ok(counts_observation(counts))
}

/// Builds the observation of count answers.
pub fn counts_observation(counts: BTreeMap<Option<String>, u64>) -> Observation {
    let document = serde_json::json!({
        "counts": counts.iter().map(|(k, v)| (k.clone().unwrap_or_else(|| "*".into()), *v)).collect::<BTreeMap<_, _>>()
    });
    Observation {
        counts,
        source: Source::Json(document),
        ..Default::default()
    }
}
