//! What the job endpoints answer, normalised into one [`Observation`] shape
//! so that conditions do not care which endpoint they came from.
//!
//! Parsing is tolerant where the API is loose (missing optional fields,
//! unknown statuses and job types, two time-stamp formats) and strict where a
//! wrong guess could pass a gate (a job without a status is malformed).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::Status;

/// One poll's view of a wait's subject.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observation {
    /// The job itself, for job endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobState>,
    /// Sub-jobs of the job, or the items of a list endpoint, de-duplicated by id.
    pub items: Vec<Item>,
    /// Answers of count endpoints, keyed by the status filter (`None`: all).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub counts: BTreeMap<Option<String>, u64>,
    /// The response as JSON (list pages merged into `{count, items}`), for
    /// JSONPath conditions and outputs.
    #[serde(skip)]
    pub document: Value,
}

/// A job's own state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobState {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_jobs_total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

/// A sub-job or list item, with the fields reports blame failures with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_type: Option<String>,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// Progress in percent (`process` on desktop sub-jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<u32>,
    /// The item as the API sent it, for `where` filters on any field.
    #[serde(skip)]
    pub raw: Value,
}

/// A time stamp as sent (the raw text is what reports show) and as parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timestamp {
    pub raw: String,
    #[serde(skip)]
    pub parsed: Option<jiff::Timestamp>,
}

impl Timestamp {
    /// Parses `2024-05-20T10:39:49.61Z` and `2020-04-10 06:45:14` (UTC), the
    /// two formats the services use; anything else is kept unparsed.
    pub fn parse(raw: &str) -> Timestamp {
        let parsed = raw.parse::<jiff::Timestamp>().ok().or_else(|| {
            raw.parse::<jiff::civil::DateTime>()
                .ok()
                .and_then(|dt| jiff::tz::TimeZone::UTC.to_timestamp(dt).ok())
        });
        Timestamp {
            raw: raw.to_owned(),
            parsed,
        }
    }
}

/// A response that does not have the shape the API documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn time(value: &Value, key: &str) -> Option<Timestamp> {
    text(value, key).map(|raw| Timestamp::parse(&raw))
}

fn status(value: &Value, what: &str) -> Result<Status, Malformed> {
    match value.get("status") {
        Some(Value::String(s)) => Ok(Status::parse(s)),
        Some(other) => Err(Malformed(format!(
            "{what} has a `status` that is not a string: {other}"
        ))),
        None => Err(Malformed(format!("{what} has no `status` field"))),
    }
}

/// Parses one sub-job or list item, whichever endpoint it came from (image
/// sub-jobs nest errors in `job_execute_info`, app-server sub-jobs are flat,
/// desktop sub-jobs use `fail_reason`, `entities` and `process`).
pub fn parse_item(value: &Value) -> Result<Item, Malformed> {
    if !value.is_object() {
        return Err(Malformed(format!("a sub-job is not an object: {value}")));
    }
    let id = text(value, "id").ok_or_else(|| Malformed("a sub-job has no `id`".into()))?;
    let status = status(value, &format!("sub-job {id}"))?;
    let execute = value.get("job_execute_info").unwrap_or(&Value::Null);
    let resource = value.get("job_resource_info").unwrap_or(&Value::Null);
    let entities = value.get("entities").unwrap_or(&Value::Null);
    let progress = value
        .get("process")
        .and_then(|p| {
            p.as_u64()
                .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
        })
        .map(|p| p.min(100) as u32);
    Ok(Item {
        job_type: text(value, "job_type"),
        resource_id: text(resource, "resource_id").or_else(|| text(entities, "desktop_id")),
        resource_name: text(resource, "resource_name").or_else(|| text(entities, "desktop_name")),
        error_code: text(execute, "error_code").or_else(|| text(value, "error_code")),
        error_message: text(execute, "error_message")
            .or_else(|| text(value, "error_message"))
            .or_else(|| text(value, "fail_reason")),
        begin_time: time(value, "begin_time"),
        end_time: time(value, "end_time"),
        progress,
        status,
        id,
        raw: value.clone(),
    })
}

/// Parses a job detail response (`image-server-jobs/{id}`, `job/{id}`,
/// `workspace-jobs/{id}`) with its embedded sub-jobs.
pub fn parse_job(document: Value) -> Result<Observation, Malformed> {
    if !document.is_object() {
        return Err(Malformed("the job response is not a JSON object".into()));
    }
    let id = text(&document, "id").unwrap_or_default();
    let job = JobState {
        job_type: text(&document, "job_type"),
        status: status(&document, "the job")?,
        begin_time: time(&document, "begin_time"),
        end_time: time(&document, "end_time"),
        sub_jobs_total: document.get("sub_jobs_total").and_then(Value::as_u64),
        error_code: text(&document, "job_error_code").or_else(|| text(&document, "error_code")),
        error_message: text(&document, "fail_reason"),
        id,
    };
    let items = match document.get("sub_jobs") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list.iter().map(parse_item).collect::<Result<_, _>>()?,
        Some(_) => return Err(Malformed("`sub_jobs` is not a list".into())),
    };
    Ok(Observation {
        job: Some(job),
        items: dedup(items),
        counts: BTreeMap::new(),
        document,
    })
}

/// One page of a list endpoint: its items and the total the API reports.
#[derive(Debug, Clone)]
pub struct Page {
    pub total: Option<u64>,
    pub items: Vec<Value>,
}

/// Reads a list page; appstream lists use `{count, items}`, the workspace
/// list `{total_count, jobs}`.
pub fn parse_page(document: &Value) -> Result<Page, Malformed> {
    let list = document
        .get("items")
        .or_else(|| document.get("jobs"))
        .ok_or_else(|| Malformed("the list response has neither `items` nor `jobs`".into()))?;
    let Value::Array(items) = list else {
        return Err(Malformed("the list response's items are not a list".into()));
    };
    let total = document
        .get("count")
        .or_else(|| document.get("total_count"))
        .and_then(Value::as_u64);
    Ok(Page {
        total,
        items: items.clone(),
    })
}

/// Builds the observation of a fully paged list.
pub fn list_observation(raw_items: Vec<Value>) -> Result<Observation, Malformed> {
    let items = raw_items
        .iter()
        .map(parse_item)
        .collect::<Result<Vec<_>, _>>()?;
    let items = dedup(items);
    let document = serde_json::json!({
        "count": items.len(),
        "items": items.iter().map(|i| i.raw.clone()).collect::<Vec<_>>(),
    });
    Ok(Observation {
        job: None,
        items,
        counts: BTreeMap::new(),
        document,
    })
}

/// Reads a count endpoint's `{count}`.
pub fn parse_count(document: &Value) -> Result<u64, Malformed> {
    document
        .get("count")
        .and_then(Value::as_u64)
        .ok_or_else(|| Malformed("the count response has no numeric `count`".into()))
}

/// Paging order is undocumented, so an item may appear on two pages: keep the
/// first sighting of each id.
fn dedup(items: Vec<Item>) -> Vec<Item> {
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .filter(|i| seen.insert(i.id.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_both_timestamp_formats() {
        let a = Timestamp::parse("2024-05-20T10:39:49.61Z");
        let b = Timestamp::parse("2020-04-10 06:45:14");
        assert!(a.parsed.is_some() && b.parsed.is_some());
        assert_eq!(b.parsed.unwrap().to_string(), "2020-04-10T06:45:14Z");
        let c = Timestamp::parse("yesterday");
        assert_eq!((c.raw.as_str(), c.parsed), ("yesterday", None));
    }

    #[test]
    fn parses_image_job_with_nested_errors() {
        let obs = parse_job(json!({
            "id": "j1", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED", "sub_jobs_total": 2,
            "sub_jobs": [
                {"id": "s1", "job_type": "CREATE_SERVER", "status": "SUCCESS",
                 "job_resource_info": {"resource_id": "r1", "resource_name": "srv"}},
                {"id": "s2", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED",
                 "job_execute_info": {"error_code": "WKS.0001", "error_message": "disk full"}},
                {"id": "s2", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED"}
            ]
        }))
        .unwrap();
        assert_eq!(obs.job.as_ref().unwrap().status, Status::Failed);
        assert_eq!(obs.items.len(), 2, "duplicates are dropped");
        assert_eq!(obs.items[0].resource_id.as_deref(), Some("r1"));
        assert_eq!(obs.items[1].error_message.as_deref(), Some("disk full"));
    }

    #[test]
    fn parses_flat_and_workspace_items() {
        let app = parse_item(
            &json!({"id": "a", "status": "ABNORMAL", "error_code": "E", "error_message": "m"}),
        )
        .unwrap();
        assert_eq!(
            (app.error_code.as_deref(), app.error_message.as_deref()),
            (Some("E"), Some("m"))
        );
        let desk = parse_item(&json!({"id": "d", "status": "RUNNING", "process": 40,
            "entities": {"desktop_id": "x", "desktop_name": "pc"}, "fail_reason": "f"}))
        .unwrap();
        assert_eq!(desk.progress, Some(40));
        assert_eq!(desk.resource_name.as_deref(), Some("pc"));
        assert_eq!(desk.error_message.as_deref(), Some("f"));
    }

    #[test]
    fn unknown_values_are_kept_and_missing_status_is_malformed() {
        let obs =
            parse_job(json!({"id": "j", "status": "COMPLETE", "job_type": "NEW_KIND"})).unwrap();
        assert_eq!(obs.job.unwrap().status, Status::Other("COMPLETE".into()));
        assert!(parse_job(json!({"id": "j"})).is_err());
        assert!(parse_job(json!([1, 2])).is_err());
        assert!(parse_item(&json!({"status": "RUNNING"})).is_err());
    }

    #[test]
    fn pages_and_counts() {
        let page =
            parse_page(&json!({"total_count": 3, "jobs": [{"id": "1", "status": "RUNNING"}]}))
                .unwrap();
        assert_eq!((page.total, page.items.len()), (Some(3), 1));
        assert!(parse_page(&json!({"count": 1})).is_err());
        assert_eq!(parse_count(&json!({"count": 7})), Ok(7));
        assert!(parse_count(&json!({"count": "x"})).is_err());
    }
}
