//! What the job endpoints answer, normalised into one [`Observation`] shape
//! so that conditions do not care which endpoint they came from.
//!
//! Parsing is tolerant where the API is loose (missing optional fields,
//! unknown statuses and job types, two time-stamp formats) and strict where a
//! wrong guess could pass a gate: a job without a status, a list without a
//! whole-number total, an id listed twice with different statuses, a text
//! that cannot be read as a JSON tree are all malformed. Bodies are read
//! straight from their bytes ([`super::wire`]) and checked to read as a tree
//! ([`wire::check_tree`]) without building one; the tree is built only for
//! waits that query it, and then cannot fail.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::Status;
use super::client::preview;
use super::wire::{self, Fields, Kind, Leaf, RawJson, RawList};

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
    /// Where the response's JSON comes from, for [`Observation::document`].
    #[serde(skip)]
    pub source: Source,
}

/// The response behind an observation, kept in the cheapest form that can
/// give its JSON back. A text that could not be read as a tree was refused
/// when it was read, so it is never judged as `null`.
#[derive(Debug, Clone)]
pub enum Source {
    /// Already a tree: `get` answers and count answers.
    Json(Value),
    /// A job detail as sent, checked by [`wire::check_tree`] when it was
    /// read, parsed again only if a wait queries it.
    Job(Bytes),
    /// List pages, whose items are the observation's items.
    List,
}

impl Default for Source {
    fn default() -> Self {
        Source::Json(Value::Null)
    }
}

impl Observation {
    /// The response as JSON for JSONPath conditions and outputs: a job with
    /// its `sub_jobs`, list pages merged into `{count, items}`, anything else
    /// as answered. Only waits that query JSON pay for building it.
    pub(crate) fn document(&self) -> Cow<'_, Value> {
        match &self.source {
            Source::Json(document) => Cow::Borrowed(document),
            // The same reader accepted it in `parse_job`: this cannot fail,
            // and must not quietly become `null` if it ever did.
            Source::Job(body) => Cow::Owned(
                serde_json::from_slice(body)
                    .expect("a job detail was checked to read as a JSON tree when it was parsed"),
            ),
            Source::List => Cow::Owned(serde_json::json!({
                "count": self.items.len(),
                "items": self.items.iter().map(Item::json).collect::<Vec<_>>(),
            })),
        }
    }

    /// Whether this is a (possibly empty) list of items.
    pub(crate) fn is_list(&self) -> bool {
        matches!(self.source, Source::List)
    }
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
    pub(crate) job_type: Option<String>,
    pub(crate) status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource_name: Option<String>,
    /// The desktop's user (`entities.user_name` on desktop sub-jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) begin_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_time: Option<Timestamp>,
    /// Progress in percent (`process` on desktop sub-jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) progress: Option<u32>,
    /// The item as the API sent it, for `where` filters on any field.
    #[serde(skip)]
    pub(crate) raw: RawJson,
}

impl Item {
    /// The item as a JSON tree (parsed from its text on each call).
    ///
    /// Every item is built by [`parse_raw_item`], which refuses a text that
    /// cannot be read as a tree ([`wire::check_tree`], the same reader), so
    /// this cannot fail; it must not quietly become `null` if it ever did.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(self.raw.get())
            .expect("an item's text was checked to read as a JSON tree when it was parsed")
    }
}

/// A time stamp as sent (the raw text is what reports show) and as parsed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timestamp {
    pub(crate) raw: String,
    #[serde(skip)]
    pub(crate) parsed: Option<jiff::Timestamp>,
}

impl Timestamp {
    /// Parses `2024-05-20T10:39:49.61Z` and `2020-04-10 06:45:14` (UTC), the
    /// two formats the services use; anything else is kept unparsed.
    pub(crate) fn parse(raw: &str) -> Timestamp {
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

    fn of(leaf: Leaf) -> Option<Timestamp> {
        leaf.text().map(|raw| Timestamp::parse(&raw))
    }
}

/// A response that does not have the shape the API documents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

fn status(leaf: Leaf, what: &str) -> Result<Status, Malformed> {
    match leaf {
        Leaf::Text(s) => Ok(Status::parse(&s)),
        Leaf::Missing => Err(Malformed(format!("{what} has no `status` field"))),
        other => Err(Malformed(format!(
            "{what} has a `status` that is not a string: {}",
            other.describe()
        ))),
    }
}

/// Reads a JSON text as an object with these keys, or says what it is not.
fn read(
    text: &[u8],
    keys: &'static [(&'static str, Kind)],
    what: &str,
) -> Result<Fields, Malformed> {
    match wire::read_object(text, keys) {
        Ok(Some(fields)) => Ok(fields),
        Ok(None) => Err(Malformed(format!(
            "{what} is not a JSON object: {}",
            preview(text)
        ))),
        Err(e) => Err(Malformed(format!("{what} is not valid JSON ({e})"))),
    }
}

/// The fields of any sub-job or list item that jobgate reads.
const ITEM: &[(&str, Kind)] = &[
    ("id", Kind::Leaf),
    ("job_id", Kind::Leaf),
    ("status", Kind::Leaf),
    ("job_type", Kind::Leaf),
    ("error_code", Kind::Leaf),
    ("error_message", Kind::Leaf),
    ("fail_reason", Kind::Leaf),
    ("begin_time", Kind::Leaf),
    ("end_time", Kind::Leaf),
    ("process", Kind::Leaf),
    (
        "job_resource_info",
        Kind::Object(&[("resource_id", Kind::Leaf), ("resource_name", Kind::Leaf)]),
    ),
    (
        "job_execute_info",
        Kind::Object(&[("error_code", Kind::Leaf), ("error_message", Kind::Leaf)]),
    ),
    (
        "entities",
        Kind::Object(&[
            ("desktop_id", Kind::Leaf),
            ("desktop_name", Kind::Leaf),
            ("user_name", Kind::Leaf),
        ]),
    ),
];

/// Parses one sub-job or list item from its JSON text, whichever endpoint it
/// came from (image sub-jobs nest errors in `job_execute_info`, app-server
/// sub-jobs are flat, desktop sub-jobs use `fail_reason`, `entities` and
/// `process`).
pub(crate) fn parse_raw_item(raw: RawJson) -> Result<Item, Malformed> {
    parse_sub_job(raw, false).map(|(item, _)| item)
}

/// Parses one sub-job, with the id of the job it says it belongs to.
/// `checked`: the whole body it came from was checked to read as a tree,
/// so this part of it does too.
fn parse_sub_job(raw: RawJson, checked: bool) -> Result<(Item, Option<String>), Malformed> {
    let mut f = read(raw.get().as_bytes(), ITEM, "a sub-job")?;
    let id = f
        .text("id")
        .ok_or_else(|| Malformed("a sub-job has no `id`".into()))?;
    let status = status(f.leaf("status"), &format!("sub-job {id}"))?;
    // `where` filters may read any field of it later.
    if !checked {
        wire::check_tree(raw.get().as_bytes())
            .map_err(|e| tree_error(&format!("sub-job {id}"), &e))?;
    }
    let parent = f.text("job_id");
    let item = Item {
        job_type: f.text("job_type"),
        resource_id: (f.nested("job_resource_info", "resource_id").text())
            .or_else(|| f.nested("entities", "desktop_id").text()),
        resource_name: (f.nested("job_resource_info", "resource_name").text())
            .or_else(|| f.nested("entities", "desktop_name").text()),
        user_name: f.nested("entities", "user_name").text(),
        // Image sub-jobs send empty strings when there is no error: no
        // error, and no reason to hide a flat field behind them.
        error_code: (f.nested("job_execute_info", "error_code").text())
            .filter(|s| !s.is_empty())
            .or_else(|| f.text("error_code"))
            .filter(|s| !s.is_empty()),
        error_message: (f.nested("job_execute_info", "error_message").text())
            .filter(|s| !s.is_empty())
            .or_else(|| f.text("error_message"))
            .filter(|s| !s.is_empty())
            .or_else(|| f.text("fail_reason"))
            .filter(|s| !s.is_empty()),
        begin_time: Timestamp::of(f.leaf("begin_time")),
        end_time: Timestamp::of(f.leaf("end_time")),
        progress: f.leaf("process").integer().map(|p| p.min(100) as u32),
        status,
        id,
        raw,
    };
    Ok((item, parent))
}

/// Parses one item from a JSON tree, for observations built by hand (tests).
pub fn parse_item(value: Value) -> Result<Item, Malformed> {
    let raw = serde_json::value::to_raw_value(&value)
        .map_err(|e| Malformed(format!("a sub-job cannot be read: {e}")))?;
    parse_raw_item(RawJson(raw))
}

/// Parses each item of a list field, with the job id each names (if any).
fn parse_items(
    list: Vec<RawJson>,
    checked: bool,
) -> Result<(Vec<Item>, Vec<Option<String>>), Malformed> {
    list.into_iter()
        .map(|raw| parse_sub_job(raw, checked))
        .collect()
}

/// The fields of a job detail that jobgate reads.
const JOB: &[(&str, Kind)] = &[
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

/// Why `what` cannot be read as one JSON tree, with the depth limit named
/// when that is the cause.
fn tree_error(what: &str, e: &serde_json::Error) -> Malformed {
    let hint = if e.to_string().contains("recursion limit") {
        "; jobgate reads JSON nested at most 127 levels deep"
    } else {
        ""
    };
    Malformed(format!("{what} cannot be read as a JSON tree ({e}){hint}"))
}

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
        status: status(f.leaf("status"), "the job")?,
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

/// One page of a list endpoint: its items and the total the API reports.
#[derive(Debug)]
pub struct Page {
    /// `count` (`total_count` on the workspace list): how many items the
    /// whole list holds, which paging checks against what it read.
    pub(crate) total: u64,
    pub(crate) items: Vec<Item>,
    /// The job id each item names (`job_id`), where it names one.
    pub(crate) job_ids: Vec<Option<String>>,
}

/// The fields of a list page: Application Streaming lists answer
/// `{count, items}`, the workspace list `{total_count, jobs}`.
const PAGE: &[(&str, Kind)] = &[
    ("count", Kind::Leaf),
    ("total_count", Kind::Leaf),
    ("items", Kind::List),
    ("jobs", Kind::List),
];

/// Reads a list page.
pub fn parse_page(body: &[u8]) -> Result<Page, Malformed> {
    let mut f = read(body, PAGE, "the list response")?;
    let items = match f.list("items").or_else(|| f.list("jobs")) {
        None => {
            return Err(Malformed(
                "the list response has neither `items` nor `jobs`".into(),
            ));
        }
        Some(RawList::List(list)) => parse_items(list, false)?,
        Some(_) => return Err(Malformed("the list response's items are not a list".into())),
    };
    let (name, total) = match f.leaf("count") {
        Leaf::Missing => ("total_count", f.leaf("total_count")),
        count => ("count", count),
    };
    // Without a trustworthy total, paging could not tell a whole list
    // from its first page.
    let total = match &total {
        Leaf::Number(n) => n.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| match total {
        Leaf::Missing => Malformed(
            "the list response has no total (`count` or `total_count`), so it cannot be told whether every item was read".into(),
        ),
        other => Malformed(format!(
            "the list response's `{name}` is {}, not a whole number of items",
            other.describe()
        )),
    })?;
    let (items, job_ids) = items;
    Ok(Page {
        total,
        items,
        job_ids,
    })
}

/// Builds the observation of a fully paged list.
pub(crate) fn list_observation(items: Vec<Item>) -> Result<Observation, Malformed> {
    Ok(Observation {
        job: None,
        items: dedup(items)?,
        counts: BTreeMap::new(),
        source: Source::List,
    })
}

/// Reads a count endpoint's `{count}`.
pub(crate) fn parse_count(document: &Value) -> Result<u64, Malformed> {
    document
        .get("count")
        .and_then(Value::as_u64)
        .ok_or_else(|| Malformed("the count response has no numeric `count`".into()))
}

/// Paging order is undocumented, so an item may appear on two pages: keep
/// one sighting of each id. The id is the key as text (`1` and `"1"` are
/// one item). Two sightings with different statuses are not one state of
/// the item: which is current is unknown, so the answer is inconsistent.
pub(crate) fn dedup(items: Vec<Item>) -> Result<Vec<Item>, Malformed> {
    let mut seen: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(items.len());
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        match seen.get(&item.id) {
            Some(&at) if out[at].status != item.status => {
                return Err(Malformed(format!(
                    "sub-job {} is listed twice with different statuses ({} and {}), so its state is unknown",
                    item.id, out[at].status, item.status
                )));
            }
            Some(_) => {}
            None => {
                seen.insert(item.id.clone(), out.len());
                out.push(item);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(value: Value) -> Result<Observation, Malformed> {
        parse_job(serde_json::to_vec(&value).unwrap().into())
    }

    fn page(value: Value) -> Result<Page, Malformed> {
        parse_page(&serde_json::to_vec(&value).unwrap())
    }

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
        let obs = job(json!({
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
            json!({"id": "a", "status": "ABNORMAL", "error_code": "E", "error_message": "m"}),
        )
        .unwrap();
        assert_eq!(
            (app.error_code.as_deref(), app.error_message.as_deref()),
            (Some("E"), Some("m"))
        );
        let desk = parse_item(json!({"id": "d", "status": "RUNNING", "process": 40,
            "entities": {"desktop_id": "x", "desktop_name": "pc"}, "fail_reason": "f"}))
        .unwrap();
        assert_eq!(desk.progress, Some(40));
        assert_eq!(desk.resource_name.as_deref(), Some("pc"));
        assert_eq!(desk.error_message.as_deref(), Some("f"));
    }

    #[test]
    fn unknown_values_are_kept_and_missing_status_is_malformed() {
        let obs = job(json!({"id": "j", "status": "COMPLETE", "job_type": "NEW_KIND"})).unwrap();
        assert_eq!(obs.job.unwrap().status, Status::Other("COMPLETE".into()));
        assert!(job(json!({"id": "j"})).is_err());
        assert!(job(json!([1, 2])).is_err());
        assert!(job(json!({"id": "j", "status": 3})).is_err());
        assert!(job(json!({"id": "j", "status": "RUNNING", "sub_jobs": {}})).is_err());
        assert!(parse_job(Bytes::from_static(b"{\"status\": \"RUN")).is_err());
        assert!(parse_job(Bytes::from_static(b"{\"status\": \"SUCCESS\"} trailing")).is_err());
        assert!(parse_item(json!({"status": "RUNNING"})).is_err());
    }

    #[test]
    fn the_document_is_the_response_as_json() {
        let detail = json!({"id": "j", "status": "RUNNING", "sub_jobs": [
            {"id": "s1", "status": "SUCCESS", "extra": {"k": 1}},
            {"id": "s2", "status": "RUNNING"}
        ]});
        let obs = job(detail.clone()).unwrap();
        assert_eq!(*obs.document(), detail);
        assert!(!obs.is_list());

        let bare = json!({"id": "j", "status": "RUNNING"});
        assert_eq!(*job(bare.clone()).unwrap().document(), bare);

        let listed = page(json!({"total_count": 2, "jobs": [
            {"id": "a", "status": "RUNNING"}, {"id": "a", "status": "RUNNING"}
        ]}))
        .unwrap();
        let list = list_observation(listed.items).unwrap();
        assert!(list.is_list());
        assert_eq!(
            *list.document(),
            json!({"count": 1, "items": [{"id": "a", "status": "RUNNING"}]})
        );
    }

    #[test]
    fn a_job_that_cannot_be_read_as_a_tree_is_malformed() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let body = format!(
            r#"{{"id":"j","status":"RUNNING","sub_jobs":[{{"id":"s","status":"FAILED"}}],"x":{deep}}}"#
        );
        let err = parse_job(body.into_bytes().into()).unwrap_err();
        assert!(err.0.contains("JSON tree"), "{err}");
        let in_item =
            format!(r#"{{"count":1,"items":[{{"id":"s","status":"FAILED","x":{deep}}}]}}"#);
        assert!(parse_page(in_item.as_bytes()).is_err());
        let huge = br#"{"id":"j","status":"RUNNING","x":1e999}"#;
        assert!(parse_job(Bytes::from_static(huge)).is_err());
    }

    #[test]
    fn conflicting_sightings_and_other_jobs_are_malformed() {
        let twice = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
            {"id": "s", "status": "RUNNING"}, {"id": "s", "status": "FAILED"}
        ]}));
        assert!(twice.unwrap_err().0.contains("different statuses"));
        let retyped = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
            {"id": 1, "status": "SUCCESS"}, {"id": "1", "status": "FAILED"}
        ]}));
        assert!(retyped.is_err(), "1 and \"1\" are one id");
        let foreign = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
            {"id": "s", "status": "SUCCESS", "job_id": "k"}
        ]}));
        assert!(foreign.unwrap_err().0.contains("belongs to job k"));

        let obs = job(json!({"id": "702364883651395584", "status": "SUCCESS"})).unwrap();
        assert!(check_job_id(&obs, "702364883651395584").is_ok());
        assert!(check_job_id(&obs, "702364883651395585").is_err());
        let rounded = job(json!({"id": 702364883651395600u64, "status": "SUCCESS"})).unwrap();
        assert!(check_job_id(&rounded, "702364883651395584").is_err());
        let anonymous = job(json!({"status": "SUCCESS"})).unwrap();
        assert!(check_job_id(&anonymous, "j").is_err());
    }

    #[test]
    fn pages_and_counts() {
        let one =
            page(json!({"total_count": 3, "jobs": [{"id": "1", "status": "RUNNING"}]})).unwrap();
        assert_eq!((one.total, one.items.len()), (3, 1));
        let apps = page(json!({"count": 5, "items": [{"id": 1, "status": "SUCCESS"}]})).unwrap();
        assert_eq!((apps.total, apps.items[0].id.as_str()), (5, "1"));
        assert!(page(json!({"count": 1})).is_err());
        assert!(page(json!({"count": 1, "items": null})).is_err());
        assert!(
            page(json!({"count": 1, "items": [1]})).is_err(),
            "an item must be an object"
        );
        assert!(page(json!([])).is_err());
        assert_eq!(parse_count(&json!({"count": 7})), Ok(7));
        assert!(parse_count(&json!({"count": "x"})).is_err());
    }
}
