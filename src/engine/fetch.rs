//! From a wait's target to the requests of one poll, and from their answers
//! to one [`Observation`](crate::api::model::Observation).

use crate::api::request::{ApiRequest, encode};
use crate::api::{Operation, Service};
use crate::spec::interpolate::Piece;
use crate::spec::{ListFilter, Target, Template, Wait};

mod count;
mod saved;

pub(crate) use count::{Count, counts_observation};
pub use saved::observe_saved;

use count::{count_checks, countable, counts};

/// The requests one poll makes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plan {
    /// One request whose answer is a job (or arbitrary JSON for `get`).
    Single {
        request: ApiRequest,
        json: bool,
        /// The job asked for: an answer about another job is malformed.
        job_id: Option<String>,
    },
    /// A list endpoint, paged with `offset`/`limit` until every item is read.
    Paged { request: ApiRequest, page: u32 },
    /// A count endpoint, once per status of each count the conditions need.
    Counts {
        request: ApiRequest,
        counts: Vec<Count>,
    },
}

impl Plan {
    /// The requests in words, for `plan` and reports.
    pub(crate) fn describe(&self, base: &dyn Fn(Service) -> String) -> Vec<String> {
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
            Plan::Counts { request, counts } => counts
                .iter()
                .flat_map(|c| c.requests(request))
                .map(|r| url(&r))
                .collect(),
        }
    }
}

/// Resolves a wait's target into the plan of one poll. `outputs` answers
/// `${outputs.WAIT.KEY}` references.
pub(crate) fn plan(
    wait: &Wait,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<Plan, String> {
    let mut plan = requests(wait, outputs)?;
    if let Plan::Single { job_id, .. } = &mut plan {
        *job_id = asked_job(wait, outputs)?;
    }
    Ok(plan)
}

/// The id of the job a job wait asks for, as sent.
fn asked_job(
    wait: &Wait,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<Option<String>, String> {
    Ok(match &wait.target {
        Target::ImageJob { job_id }
        | Target::AppServerJob { job_id }
        | Target::DesktopJob { job_id } => Some(job_id.render(outputs)?),
        _ => None,
    })
}

fn requests(wait: &Wait, outputs: &dyn Fn(&str, &str) -> Option<String>) -> Result<Plan, String> {
    let p = &wait.project_id;
    let render = |t: &Template| render_path(t, outputs);
    let single = |operation: Operation, job_id: &Template| -> Result<Plan, String> {
        Ok(Plan::Single {
            request: operation.request(p, Some(&render(job_id)?)),
            json: false,
            job_id: None,
        })
    };
    let paged = |operation: Operation, f: &ListFilter| -> Result<Plan, String> {
        let limits = operation
            .page()
            .ok_or_else(|| format!("{} has no pages to read", operation.sdk_name()))?;
        Ok(Plan::Paged {
            request: filtered(operation, p, f, outputs)?,
            page: limits.max,
        })
    };
    Ok(match &wait.target {
        Target::ImageJob { job_id } => single(Operation::ShowImageJob, job_id)?,
        Target::AppServerJob { job_id } => single(Operation::ShowJobDetail, job_id)?,
        Target::DesktopJob { job_id } => single(Operation::ShowJob, job_id)?,
        Target::ImageSubJobs(f) | Target::AppServerSubJobs(f) => {
            let (list, count) = match &wait.target {
                Target::ImageSubJobs(_) => {
                    (Operation::ListImageSubJobs, Operation::CountImageSubJobs)
                }
                _ => (Operation::ListSubJobs, Operation::CountSubJobs),
            };
            match countable(wait) {
                // Conditions that only count can be answered by the count
                // endpoint: one request per status instead of every page.
                Some(checks) => Plan::Counts {
                    request: filtered(count, p, f, outputs)?,
                    counts: counts(&checks, f),
                },
                None => paged(list, f)?,
            }
        }
        Target::DesktopSubJobs(f) => paged(Operation::ListItaSubJobs, f)?,
        Target::ImageSubJobCount(f) | Target::AppServerSubJobCount(f) => {
            let operation = match &wait.target {
                Target::ImageSubJobCount(_) => Operation::CountImageSubJobs,
                _ => Operation::CountSubJobs,
            };
            let mut request = filtered(operation, p, f, outputs)?;
            if matches!(wait.target, Target::ImageSubJobCount(_)) && f.job_type.is_empty() {
                // Without `job_type` the endpoint counts only three types,
                // so a failed sub-job of any other type would be invisible.
                request = request.with("job_type", IMAGE_JOB_TYPES.join(","));
            }
            Plan::Counts {
                request,
                counts: counts(&count_checks(wait), f),
            }
        }
        Target::Get {
            service,
            path,
            query,
        } => {
            let path = render(path)?.replace("{project_id}", p);
            let mut request = ApiRequest::new(*service, path);
            // Query values are percent-encoded whatever they hold.
            for (k, v) in query {
                request = request.with(k, render_filter(k, v, outputs)?);
            }
            Plan::Single {
                request,
                json: true,
                job_id: None,
            }
        }
    })
}

/// Every documented type of image sub-job. The image count endpoint counts
/// only `CREATE_SERVER`, `CREATE_SERVER_IMAGE` and `DELETE_SERVER` unless
/// asked for others, so a wait that names no type asks for all of these.
pub(crate) const IMAGE_JOB_TYPES: [&str; 7] = [
    "CREATE_SERVER",
    "CREATE_SERVER_IMAGE",
    "DELETE_SERVER",
    "BUILD_IMAGE",
    "GENERATE_IMAGE",
    "DELETE_IMAGE_BUILD_SERVER",
    "DELETE_IMAGE",
];

/// Renders a template that becomes part of a URL path. Its literal text was
/// checked when the spec was validated; a value captured from an earlier
/// wait's answer is server text, so it must be a bare id by the same rules
/// (see [`check_segment`]) and goes in percent-encoded as one path segment:
/// no answer can steer a later request to another path.
fn render_path(
    template: &Template,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    for piece in &template.0 {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Output { wait, key } => {
                let value = Template(vec![piece.clone()]).render(outputs)?;
                check_segment(&value).map_err(|why| {
                    let mut shown: String = value.chars().take(60).collect();
                    if shown.len() < value.len() {
                        shown.push('…');
                    }
                    format!(
                        "output `{key}` of wait `{wait}` cannot go into the request path: its value {shown:?} {why}; a value spliced into a path must be a bare id (no `/`, `\\`, `?`, `#`, `..`, spaces or control characters, and not `.`): check the output's JSONPath in wait `{wait}`"
                    )
                })?;
                out.push_str(&encode(&value));
            }
        }
    }
    Ok(out)
}

/// Whether `value` may stand as one path segment; otherwise what is wrong
/// with it, in words.
pub(crate) fn check_segment(value: &str) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("is empty".into());
    }
    if let Some(c) = value.chars().find(|c| ['/', '\\', '?', '#'].contains(c)) {
        return Err(format!("contains `{c}`"));
    }
    if value.contains("..") {
        return Err("contains `..`".into());
    }
    // As a URL segment `.` is the directory itself: the request would go to
    // the collection, not to the resource.
    if value == "." {
        return Err("is `.`".into());
    }
    if value.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    if value.chars().any(char::is_whitespace) {
        return Err("contains spaces".into());
    }
    Ok(())
}

/// The request of a list or count `operation` with the target's filters.
fn filtered(
    operation: Operation,
    project_id: &str,
    f: &ListFilter,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<ApiRequest, String> {
    let mut r = operation.request(project_id, None);
    if let Some(id) = &f.job_id {
        r = r.with("job_id", render_filter("job_id", id, outputs)?);
    }
    if !f.job_type.is_empty() {
        r = r.with("job_type", f.job_type.join(","));
    }
    if let Some(s) = &f.status {
        r = r.with("status", s.clone());
    }
    if let Some(pool) = &f.desktop_pool_id {
        r = r.with(
            "desktop_pool_id",
            render_filter("desktop_pool_id", pool, outputs)?,
        );
    }
    Ok(r)
}

/// A query value with outputs filled in, refused when an output leaves it
/// empty: `job_id=` filters nothing on an endpoint that ignores an empty
/// parameter, so every job's sub-jobs would be judged as this one's. (An
/// empty value written in the spec is the author's.)
fn render_filter(
    name: &str,
    template: &Template,
    outputs: &dyn Fn(&str, &str) -> Option<String>,
) -> Result<String, String> {
    let value = template.render(outputs)?;
    let from: Vec<String> = template
        .references()
        .map(|(wait, key)| format!("output `{key}` of wait `{wait}`"))
        .collect();
    if from.is_empty() || !value.trim().is_empty() {
        return Ok(value);
    }
    Err(format!(
        "the query parameter `{name}` would be sent empty (from {}): an empty filter selects everything the endpoint lists, not what this wait is about, so nothing is sent; check the output's JSONPath in the wait it comes from",
        from.join(" and ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_values_in_paths_must_be_bare_ids() {
        assert_eq!(check_segment("800000000000000001"), Ok(()));
        assert_eq!(check_segment("img-1_a.b~c"), Ok(()));
        for bad in [
            "",
            " ",
            "../../../v3/auth/tokens?x=",
            "a/b",
            "a\\b",
            "a?b",
            "a#b",
            "..",
            ".",
            "a b",
            "a\nb",
            "a\u{1b}[2J",
        ] {
            assert!(check_segment(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_captured_value_is_one_encoded_segment() {
        let template = Template(vec![
            Piece::Text("/v1/p/image-server-jobs/".into()),
            Piece::Output {
                wait: "w".into(),
                key: "k".into(),
            },
        ]);
        let value = |v: &'static str| move |_: &str, _: &str| Some(v.to_owned());
        assert_eq!(
            render_path(&template, &value("id:1%")).unwrap(),
            "/v1/p/image-server-jobs/id%3A1%25"
        );
        let refused = render_path(&template, &value("../../../v3/auth/tokens?x=")).unwrap_err();
        assert!(refused.contains("output `k` of wait `w`"), "{refused}");
        assert!(refused.contains("contains `/`"), "{refused}");
        assert!(render_path(&template, &|_: &str, _: &str| None).is_err());
    }
}
