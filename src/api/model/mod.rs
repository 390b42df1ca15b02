//! What the job endpoints answer, normalised into one [`Observation`] shape
//! so that conditions do not care which endpoint they came from.
//!
//! Parsing is tolerant where the API is loose (missing optional fields,
//! unknown statuses and job types, two time-stamp formats) and strict where a
//! wrong guess could pass a gate: a job without a status, a list without a
//! whole-number total, an id listed twice with different statuses, a text
//! that cannot be read as a JSON tree are all malformed. Bodies are read
//! straight from their bytes (`api::wire`) and checked to read as a tree
//! (`wire::check_tree`) without building one; the tree is built only for
//! waits that query it, and then cannot fail.//!
//! The shapes are here; `item`, `job` and `page` read each kind of answer.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::Status;
use super::wire::{Leaf, RawJson};

mod item;
mod job;
mod page;
#[cfg(test)]
mod tests;

pub use item::parse_item;
pub(crate) use job::check_job_id;
pub use job::parse_job;
#[cfg(test)]
pub(crate) use page::list_observation;
pub(crate) use page::parse_count;
pub use page::{Page, parse_page};

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
    /// Where the response's JSON comes from, for `Observation::document`.
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
    /// A job detail as sent, checked by `wire::check_tree` when it was
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
    /// Every item is built by [`item::parse_raw_item`], which refuses a text that
    /// cannot be read as a tree (`wire::check_tree`, the same reader), so
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
