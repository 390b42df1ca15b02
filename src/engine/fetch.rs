//! From a wait's target to the requests of one poll, and from their answers
//! to one [`Observation`].

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::api::model::{self, Observation, Source};
use crate::api::request::{ApiRequest, encode};
use crate::api::{Operation, Service};
use crate::condition::{Check, Condition, ItemFilter, StatusSet, count_key};
use crate::spec::interpolate::Piece;
use crate::spec::{ListFilter, Target, Template, Wait};

/// The requests one poll makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
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

/// One number a count endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Count {
    /// The statuses counted, one request each (`None`: any status).
    pub statuses: Option<StatusSet>,
    /// The job types counted, sent as `job_type` in place of the target's
    /// filter (`None`: the target's; empty: no type can match, so zero
    /// without a request).
    pub job_types: Option<Vec<String>>,
    /// The key the answer is stored under: [`count_key`].
    pub key: Option<String>,
}

impl Count {
    /// The requests that answer it, each with the status it counts.
    pub fn requests(&self, base: &ApiRequest) -> Vec<ApiRequest> {
        let base = match &self.job_types {
            Some(types) if types.is_empty() => return Vec::new(),
            Some(types) => base.clone().set("job_type", types.join(",")),
            None => base.clone(),
        };
        match &self.statuses {
            None => vec![base],
            Some(set) => set
                .iter()
                .map(|s| base.clone().with("status", s.as_str()))
                .collect(),
        }
    }
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
pub fn plan(wait: &Wait, outputs: &dyn Fn(&str, &str) -> Option<String>) -> Result<Plan, String> {
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
pub const IMAGE_JOB_TYPES: [&str; 7] = [
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
pub fn check_segment(value: &str) -> Result<(), String> {
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

fn conditions(wait: &Wait) -> Vec<&Condition> {
    std::iter::once(&wait.rules.success)
        .chain(wait.rules.failure.iter())
        .collect()
}

/// The count checks of a wait whose every check counts with a filter the
/// count endpoint can express (none, or `job_type`) and that captures no
/// outputs: such a wait needs no item.
fn countable(wait: &Wait) -> Option<Vec<(&Option<StatusSet>, &ItemFilter)>> {
    if !wait.outputs.is_empty() {
        return None;
    }
    let checks: Vec<&Check> = conditions(wait)
        .into_iter()
        .flat_map(|c| c.checks())
        .collect();
    let countable = checks.iter().all(|c| {
        matches!(c, Check::Count { filter, .. }
            if filter.fields.iter().all(|(field, _)| field == "job_type"))
    });
    countable.then(|| count_checks(wait))
}

/// The statuses and filter of every count check.
fn count_checks(wait: &Wait) -> Vec<(&Option<StatusSet>, &ItemFilter)> {
    conditions(wait)
        .into_iter()
        .flat_map(|c| c.checks())
        .filter_map(|check| match check {
            Check::Count {
                statuses, filter, ..
            } => Some((statuses, filter)),
            _ => None,
        })
        .collect()
}

/// The numbers to ask for: each check's count, the total of each filter
/// (shares divide by it), and the unfiltered total, which tells an empty
/// list from a list without matches.
fn counts(checks: &[(&Option<StatusSet>, &ItemFilter)], target: &ListFilter) -> Vec<Count> {
    let none = ItemFilter::default();
    let wanted = checks
        .iter()
        .flat_map(|(statuses, filter)| [(*statuses, *filter), (&None, *filter)])
        .chain([(&None, &none)]);
    let mut counts: Vec<Count> = Vec::new();
    for (statuses, filter) in wanted {
        let key = count_key(statuses, filter);
        if counts.iter().any(|c| c.key == key) {
            continue;
        }
        let job_types = filter
            .fields
            .iter()
            .find(|(field, _)| field == "job_type")
            .map(|(_, wanted)| {
                wanted
                    .iter()
                    .filter(|t| target.job_type.is_empty() || target.job_type.contains(t))
                    .cloned()
                    .collect()
            });
        counts.push(Count {
            statuses: statuses.clone(),
            job_types,
            key,
        });
    }
    counts
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
        Shape::Job => {
            let obs = model::parse_job(Bytes::copy_from_slice(text))?;
            // An id that needs an earlier wait's output cannot be known here.
            if let Ok(Some(asked)) = asked_job(wait, &|_, _| None) {
                model::check_job_id(&obs, &asked)?;
            }
            Ok(obs)
        }
        // One saved page must be the whole list, as a poll's pages must.
        Shape::List => {
            let job_id = match &wait.target {
                Target::ImageSubJobs(f)
                | Target::AppServerSubJobs(f)
                | Target::DesktopSubJobs(f) => {
                    f.job_id.as_ref().and_then(|t| t.render(&|_, _| None).ok())
                }
                _ => None,
            };
            let mut paging = super::observe::Paging::new(u32::MAX, job_id);
            paging.add(model::parse_page(text)?)?;
            paging.finish()
        }
        Shape::Count => saved_counts(wait, &json()?),
        Shape::Json => Ok(Observation {
            source: Source::Json(json()?),
            ..Default::default()
        }),
    }
}

fn saved_counts(wait: &Wait, json: &serde_json::Value) -> Result<Observation, model::Malformed> {
    let keys: Vec<Option<String>> = counts(&count_checks(wait), &ListFilter::default())
        .into_iter()
        .map(|c| c.key)
        .collect();
    let names: Vec<String> = keys
        .iter()
        .map(|k| crate::condition::count_key_text(k.as_deref()).to_owned())
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
            "this wait reads the count endpoint once per count it needs ({}); give every answer as {} (the report's last observation shows them so)",
            names.join("; "),
            wanted()
        )));
    };
    let mut counts = BTreeMap::new();
    for (key, name) in keys.into_iter().zip(&names) {
        let n = answers
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                model::Malformed(format!(
                    "`counts` has no number for `{name}`; expected {}",
                    wanted()
                ))
            })?;
        counts.insert(key, n);
    }
    Ok(counts_observation(counts))
}

/// Builds the observation of count answers.
pub fn counts_observation(counts: BTreeMap<Option<String>, u64>) -> Observation {
    let document = serde_json::json!({
        "counts": counts.iter().map(|(k, v)| (crate::condition::count_key_text(k.as_deref()), *v)).collect::<BTreeMap<_, _>>()
    });
    Observation {
        counts,
        source: Source::Json(document),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Status;

    fn statuses(names: &[&str]) -> Option<StatusSet> {
        Some(names.iter().map(|n| Status::parse(n)).collect())
    }

    fn by_type(types: &[&str]) -> ItemFilter {
        ItemFilter {
            fields: vec![(
                "job_type".into(),
                types.iter().map(|t| t.to_string()).collect(),
            )],
        }
    }

    fn urls(counts: &[Count], base: &ApiRequest) -> Vec<String> {
        counts
            .iter()
            .flat_map(|c| c.requests(base))
            .map(|r| r.path_and_query())
            .collect()
    }

    #[test]
    fn a_count_by_job_type_asks_the_count_endpoint_for_that_type() {
        let base = ApiRequest::new(Service::AppStream, "/c".into()).with("job_id", "j");
        let failed = statuses(&["FAILED"]);
        let filter = by_type(&["CREATE_SERVER"]);
        let counts = counts(&[(&failed, &filter)], &ListFilter::default());
        let keys: Vec<_> = counts.iter().map(|c| c.key.clone()).collect();
        assert_eq!(
            keys,
            [
                Some("FAILED where job_type in [CREATE_SERVER]".into()),
                Some("* where job_type in [CREATE_SERVER]".into()),
                None,
            ]
        );
        assert_eq!(
            urls(&counts, &base),
            [
                "/c?job_id=j&job_type=CREATE_SERVER&status=FAILED",
                "/c?job_id=j&job_type=CREATE_SERVER",
                "/c?job_id=j",
            ]
        );
    }

    #[test]
    fn the_where_types_narrow_the_targets_and_none_left_means_zero() {
        let base = ApiRequest::new(Service::AppStream, "/c".into()).with("job_type", "A,B");
        let target = ListFilter {
            job_type: vec!["A".into(), "B".into()],
            ..Default::default()
        };
        let any = None;
        let (bc, c) = (by_type(&["B", "C"]), by_type(&["C"]));
        let narrowed = counts(&[(&any, &bc)], &target);
        assert_eq!(narrowed[0].job_types, Some(vec!["B".to_owned()]));
        assert_eq!(urls(&narrowed[..1], &base), ["/c?job_type=B"]);
        let disjoint = counts(&[(&any, &c)], &target);
        assert_eq!(disjoint[0].job_types, Some(Vec::new()));
        assert!(disjoint[0].requests(&base).is_empty());
    }

    fn plan_of(target: &str) -> Vec<String> {
        let env = |name: &str| (name == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| "p".to_owned());
        let text = format!(
            "version: 1\nwaits:\n  a:\n    {target}\n    success: {{ count: [FAILED], is: \"== 0\" }}\n"
        );
        let spec = crate::spec::parse("s", &text, &env).unwrap();
        let Plan::Counts { request, counts } = plan(&spec.waits[0], &|_, _| None).unwrap() else {
            panic!("not a count plan")
        };
        urls(&counts, &request)
    }

    #[test]
    fn an_image_count_without_job_type_counts_every_documented_type() {
        let every = IMAGE_JOB_TYPES.join("%2C");
        for url in plan_of("image_sub_job_count: { job_id: j }") {
            assert!(url.contains(&format!("job_type={every}")), "{url}");
        }
        // A named type is asked as named.
        for url in plan_of("image_sub_job_count: { job_id: j, job_type: GENERATE_IMAGE }") {
            assert!(
                url.contains("job_type=GENERATE_IMAGE") && !url.contains("%2C"),
                "{url}"
            );
        }
    }

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

    #[test]
    fn one_request_per_status_and_the_total_only_once() {
        let base = ApiRequest::new(Service::AppStream, "/c".into());
        let none = ItemFilter::default();
        let (failed, any) = (statuses(&["FAILED", "ABNORMAL"]), None);
        let counts = counts(&[(&failed, &none), (&any, &none)], &ListFilter::default());
        assert_eq!(
            urls(&counts, &base),
            ["/c?status=FAILED", "/c?status=ABNORMAL", "/c"]
        );
    }
}
