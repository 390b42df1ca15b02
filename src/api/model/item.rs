//! Reading one sub-job or list item, and the fields every answer shares.

use serde_json::Value;

use super::{Item, Malformed, Timestamp};
use crate::api::Status;
use crate::api::client::preview;
use crate::api::wire::{self, Fields, Kind, Leaf, RawJson};

/// `what` names the object in an error only: formatted lazily, as the
/// status of every one of 10,000 sub-jobs is read.
pub(super) fn status(leaf: Leaf, what: &dyn std::fmt::Display) -> Result<Status, Malformed> {
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
pub(super) fn read(
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
pub(super) const ITEM: &[(&str, Kind)] = &[
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
pub(super) fn parse_sub_job(
    raw: RawJson,
    checked: bool,
) -> Result<(Item, Option<String>), Malformed> {
    let mut f = read(raw.get().as_bytes(), ITEM, "a sub-job")?;
    let id = f
        .text("id")
        .ok_or_else(|| Malformed("a sub-job has no `id`".into()))?;
    let status = status(f.leaf("status"), &format_args!("sub-job {id}"))?;
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
pub(super) fn parse_items(
    list: Vec<RawJson>,
    checked: bool,
) -> Result<(Vec<Item>, Vec<Option<String>>), Malformed> {
    list.into_iter()
        .map(|raw| parse_sub_job(raw, checked))
        .collect()
}

/// Why `what` cannot be read as one JSON tree, with the depth limit named
/// when that is the cause.
pub(super) fn tree_error(what: &str, e: &serde_json::Error) -> Malformed {
    let hint = if e.to_string().contains("recursion limit") {
        "; jobgate reads JSON nested at most 127 levels deep"
    } else {
        ""
    };
    Malformed(format!("{what} cannot be read as a JSON tree ({e}){hint}"))
}
