//! Reading one page of a list endpoint, and joining pages into one list.

use serde_json::Value;

use super::item::{parse_items, read};
use super::{Item, Malformed};
use crate::api::wire::{Kind, Leaf, RawList};

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
pub(super) const PAGE: &[(&str, Kind)] = &[
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

/// Builds the observation of a fully paged list (the paging of a poll
/// builds its own, having de-duplicated the items as it read them).
#[cfg(test)]
pub(crate) fn list_observation(items: Vec<Item>) -> Result<super::Observation, Malformed> {
    Ok(super::Observation {
        job: None,
        items: dedup(items)?,
        counts: std::collections::BTreeMap::new(),
        source: super::Source::List,
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
///
/// In place, with the ids borrowed: a job detail of 10,000 sub-jobs is
/// neither copied into a second list nor its ids into a map.
pub(crate) fn dedup(mut items: Vec<Item>) -> Result<Vec<Item>, Malformed> {
    use std::collections::hash_map::{Entry, HashMap};
    let mut keep: Vec<bool> = Vec::with_capacity(items.len());
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match seen.entry(item.id.as_str()) {
            Entry::Occupied(first) => {
                let first = &items[*first.get()];
                if first.status != item.status {
                    return Err(Malformed(format!(
                        "sub-job {} is listed twice with different statuses ({} and {}), so its state is unknown",
                        item.id, first.status, item.status
                    )));
                }
                keep.push(false);
            }
            Entry::Vacant(slot) => {
                slot.insert(i);
                keep.push(true);
            }
        }
    }
    drop(seen);
    if keep.contains(&false) {
        let mut next = 0;
        items.retain(|_| {
            next += 1;
            keep[next - 1]
        });
    }
    Ok(items)
}
