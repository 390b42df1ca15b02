//! What the job endpoints answer, normalised into one [`Observation`] shape
//! so that conditions do not care which endpoint they came from.
//!
//! Parsing is tolerant where the API is loose (missing optional fields,
//! unknown statuses and job types, two time-stamp formats) and strict where a
//! wrong guess could pass a gate (a job without a status is malformed).
//! Bodies are read straight from their bytes ([`super::wire`]); the JSON tree
//! is built only for waits that query it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::Status;
use super::wire::{self, Leaf, RawList};

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
    /// The response as JSON, for `get` waits and count answers.
    #[serde(skip)]
    pub document: Value,
    /// A job response as sent, parsed again only if a wait queries it.
    #[serde(skip)]
    pub job_body: Option<Bytes>,
    /// Whether this is a list endpoint's items (shown as `{count, items}`).
    #[serde(skip)]
    pub list: bool,
}

impl Observation {
    /// The response as JSON for JSONPath conditions and outputs: a job with
    /// its `sub_jobs`, list pages merged into `{count, items}`, anything else
    /// as answered. Only waits that query JSON pay for building it.
    pub fn document(&self) -> Cow<'_, Value> {
        if let Some(body) = &self.job_body {
            // It parsed once already, so it is valid JSON.
            return Cow::Owned(serde_json::from_slice(body).unwrap_or(Value::Null));
        }
        if self.list {
            return Cow::Owned(serde_json::json!({
                "count": self.items.len(),
                "items": self.items.iter().map(Item::json).collect::<Vec<_>>(),
            }));
        }
        Cow::Borrowed(&self.document)
    }

    /// Whether this is a (possibly empty) list of items.
    pub fn is_list(&self) -> bool {
        self.list
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
#[derive(Debug, Clone, Serialize)]
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
    pub raw: Box<RawValue>,
}

impl PartialEq for Item {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.id,
            &self.job_type,
            &self.status,
            &self.resource_id,
            &self.resource_name,
            &self.error_code,
            &self.error_message,
            &self.begin_time,
            &self.end_time,
            self.progress,
        ) == (
            &other.id,
            &other.job_type,
            &other.status,
            &other.resource_id,
            &other.resource_name,
            &other.error_code,
            &other.error_message,
            &other.begin_time,
            &other.end_time,
            other.progress,
        ) && self.raw.get() == other.raw.get()
    }
}

impl Item {
    /// The item as a JSON tree (parsed from its text on each call).
    pub fn json(&self) -> Value {
        serde_json::from_str(self.raw.get()).unwrap_or(Value::Null)
    }

    /// The raw text of `null`, for items built by hand.
    pub fn null_raw() -> Box<RawValue> {
        RawValue::from_string("null".into()).expect("null is JSON")
    }
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

/// Reads a whole body as an object with `keys`; `None` if it is valid JSON
/// but not an object.
fn read_object<T>(
    text: &[u8],
    keys: &'static [&'static str],
    init: T,
    field: fn(&mut T, usize, &mut dyn wire::FieldReader) -> Result<(), String>,
) -> Result<Option<T>, Malformed> {
    let mut d = serde_json::Deserializer::from_slice(text);
    let read = wire::object(&mut d, keys, init, field).and_then(|v| d.end().map(|()| v));
    read.map_err(|e| Malformed(format!("the response is not valid JSON ({e})")))
}

/// The first characters of a JSON text, for error messages.
fn preview(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

const ITEM_KEYS: &[&str] = &[
    "id",
    "status",
    "job_type",
    "error_code",
    "error_message",
    "fail_reason",
    "begin_time",
    "end_time",
    "process",
    "job_resource_info",
    "job_execute_info",
    "entities",
];
const ITEM_LEAVES: usize = 9;
const NESTED_KEYS: &[&str] = &[
    "resource_id",
    "resource_name",
    "error_code",
    "error_message",
    "desktop_id",
    "desktop_name",
];

#[derive(Default)]
struct ItemFields {
    leaf: [Leaf; ITEM_LEAVES],
    /// `job_resource_info`, `job_execute_info`, `entities`.
    nested: [Option<Vec<Leaf>>; 3],
}

impl ItemFields {
    fn nested(&mut self, which: usize, key: usize) -> Leaf {
        self.nested[which]
            .as_mut()
            .map(|n| std::mem::take(&mut n[key]))
            .unwrap_or_default()
    }
}

/// Parses one sub-job or list item from its JSON text, whichever endpoint it
/// came from (image sub-jobs nest errors in `job_execute_info`, app-server
/// sub-jobs are flat, desktop sub-jobs use `fail_reason`, `entities` and
/// `process`).
pub fn parse_raw_item(raw: Box<RawValue>) -> Result<Item, Malformed> {
    let fields = read_object(
        raw.get().as_bytes(),
        ITEM_KEYS,
        ItemFields::default(),
        |f, i, r| {
            if i < ITEM_LEAVES {
                f.leaf[i] = r.leaf();
            } else {
                f.nested[i - ITEM_LEAVES] = r.nested(NESTED_KEYS);
            }
            Ok(())
        },
    )?;
    let Some(mut f) = fields else {
        return Err(Malformed(format!(
            "a sub-job is not an object: {}",
            preview(raw.get())
        )));
    };
    let take = |f: &mut ItemFields, i: usize| std::mem::take(&mut f.leaf[i]);
    let id = take(&mut f, 0)
        .text()
        .ok_or_else(|| Malformed("a sub-job has no `id`".into()))?;
    let status = status(take(&mut f, 1), &format!("sub-job {id}"))?;
    let (resource, execute, entities) = (0, 1, 2);
    let progress = f.leaf[8].integer().map(|p| p.min(100) as u32);
    Ok(Item {
        job_type: take(&mut f, 2).text(),
        resource_id: f
            .nested(resource, 0)
            .text()
            .or_else(|| f.nested(entities, 4).text()),
        resource_name: f
            .nested(resource, 1)
            .text()
            .or_else(|| f.nested(entities, 5).text()),
        error_code: f
            .nested(execute, 2)
            .text()
            .or_else(|| take(&mut f, 3).text()),
        error_message: f
            .nested(execute, 3)
            .text()
            .or_else(|| take(&mut f, 4).text())
            .or_else(|| take(&mut f, 5).text()),
        begin_time: Timestamp::of(take(&mut f, 6)),
        end_time: Timestamp::of(take(&mut f, 7)),
        progress,
        status,
        id,
        raw,
    })
}

/// Parses one item from a JSON tree (tests, saved responses).
pub fn parse_item(value: Value) -> Result<Item, Malformed> {
    let raw = serde_json::value::to_raw_value(&value)
        .map_err(|e| Malformed(format!("a sub-job cannot be read: {e}")))?;
    parse_raw_item(raw)
}

const JOB_KEYS: &[&str] = &[
    "id",
    "job_type",
    "status",
    "begin_time",
    "end_time",
    "sub_jobs_total",
    "job_error_code",
    "error_code",
    "fail_reason",
    "sub_jobs",
];
const JOB_LEAVES: usize = 9;

#[derive(Default)]
struct JobFields {
    leaf: [Leaf; JOB_LEAVES],
    sub_jobs: Option<RawList>,
}

/// Parses a job detail response (`image-server-jobs/{id}`, `job/{id}`,
/// `workspace-jobs/{id}`) with its embedded sub-jobs.
pub fn parse_job(body: Bytes) -> Result<Observation, Malformed> {
    let fields = read_object(&body, JOB_KEYS, JobFields::default(), |f, i, r| {
        if i < JOB_LEAVES {
            f.leaf[i] = r.leaf();
        } else {
            f.sub_jobs = Some(r.raw_list());
        }
        Ok(())
    })?;
    let Some(mut f) = fields else {
        return Err(Malformed("the job response is not a JSON object".into()));
    };
    let mut take = |i: usize| std::mem::take(&mut f.leaf[i]);
    let job = JobState {
        id: take(0).text().unwrap_or_default(),
        job_type: take(1).text(),
        status: status(take(2), "the job")?,
        begin_time: Timestamp::of(take(3)),
        end_time: Timestamp::of(take(4)),
        sub_jobs_total: take(5).integer(),
        error_code: take(6).text().or_else(|| take(7).text()),
        error_message: take(8).text(),
    };
    let items = match f.sub_jobs {
        None | Some(RawList::Null) => Vec::new(),
        Some(RawList::List(list)) => list
            .into_iter()
            .map(parse_raw_item)
            .collect::<Result<_, _>>()?,
        Some(RawList::NotAList) => return Err(Malformed("`sub_jobs` is not a list".into())),
    };
    Ok(Observation {
        job: Some(job),
        items: dedup(items),
        job_body: Some(body),
        ..Default::default()
    })
}

/// One page of a list endpoint: its items and the total the API reports.
#[derive(Debug)]
pub struct Page {
    pub total: Option<u64>,
    pub items: Vec<Item>,
}

const PAGE_KEYS: &[&str] = &["count", "total_count", "items", "jobs"];

#[derive(Default)]
struct PageFields {
    count: [Leaf; 2],
    /// `items` and `jobs`.
    lists: [Option<RawList>; 2],
}

/// Reads a list page; appstream lists use `{count, items}`, the workspace
/// list `{total_count, jobs}`.
pub fn parse_page(body: &[u8]) -> Result<Page, Malformed> {
    let fields = read_object(body, PAGE_KEYS, PageFields::default(), |f, i, r| {
        match i {
            0 | 1 => f.count[i] = r.leaf(),
            _ => f.lists[i - 2] = Some(r.raw_list()),
        }
        Ok(())
    })?;
    let Some(f) = fields else {
        return Err(Malformed("the list response is not a JSON object".into()));
    };
    let [items, jobs] = f.lists;
    let items = match items.or(jobs) {
        None => {
            return Err(Malformed(
                "the list response has neither `items` nor `jobs`".into(),
            ));
        }
        Some(RawList::List(list)) => list
            .into_iter()
            .map(parse_raw_item)
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(Malformed("the list response's items are not a list".into())),
    };
    let [count, total_count] = &f.count;
    let total = match count {
        Leaf::Missing => total_count.integer(),
        present => present.integer(),
    };
    Ok(Page { total, items })
}

/// Builds the observation of a fully paged list.
pub fn list_observation(items: Vec<Item>) -> Observation {
    Observation {
        items: dedup(items),
        list: true,
        ..Default::default()
    }
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
fn dedup(mut items: Vec<Item>) -> Vec<Item> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    let keep: Vec<bool> = items.iter().map(|i| seen.insert(i.id.clone())).collect();
    let mut keep = keep.into_iter();
    items.retain(|_| keep.next().unwrap_or(true));
    items
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
    fn the_document_puts_moved_items_back() {
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
        let list = list_observation(listed.items);
        assert!(list.is_list());
        assert_eq!(
            *list.document(),
            json!({"count": 1, "items": [{"id": "a", "status": "RUNNING"}]})
        );
    }

    #[test]
    fn pages_and_counts() {
        let one =
            page(json!({"total_count": 3, "jobs": [{"id": "1", "status": "RUNNING"}]})).unwrap();
        assert_eq!((one.total, one.items.len()), (Some(3), 1));
        let apps = page(json!({"count": 5, "items": [{"id": 1, "status": "SUCCESS"}]})).unwrap();
        assert_eq!((apps.total, apps.items[0].id.as_str()), (Some(5), "1"));
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
