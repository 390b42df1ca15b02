//! `where`: which items a check speaks of, and why a `where` that selects
//! none of them does not match, in words a user can act on.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::model::Item;

/// Selects items by field values: `job_type: CREATE_SERVER` or a dotted path
/// into the item such as `entities.desktop_name: pc-01`. All fields must match;
/// a field matches when it equals any of the listed values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    pub fields: Vec<(String, Vec<String>)>,
}

impl ItemFilter {
    /// Whether an item passes the filter.
    pub(crate) fn matches(&self, item: &Item) -> bool {
        self.fields.iter().all(|(field, wanted)| {
            field_value(item, field).is_some_and(|v| wanted.iter().any(|w| *w == *v))
        })
    }

    /// The first value the filter names that none of the selected items
    /// has: `where: { user: [alice, bob] }` speaks of both, so until bob's
    /// sub-job appears the selection is not the set the `where` means.
    pub(crate) fn missing(&self, selected: &[&Item]) -> Option<(&str, &str)> {
        self.fields.iter().find_map(|(field, wanted)| {
            let present: Vec<Cow<'_, str>> = selected
                .iter()
                .filter_map(|i| field_value(i, field))
                .collect();
            wanted
                .iter()
                .find(|w| !present.iter().any(|p| p == *w))
                .map(|w| (field.as_str(), w.as_str()))
        })
    }

    /// Why this `where` selects none of `items` although there are some, in
    /// words a user can act on: the field whose values no item has, the
    /// values the items do have, and the closest of them (a typo such as
    /// `CREATE_SERVR`). `None` when it selects an item or there is none.
    pub(crate) fn unmatched(&self, items: &[Item]) -> Option<String> {
        if self.fields.is_empty() || items.is_empty() || items.iter().any(|i| self.matches(i)) {
            return None;
        }
        let n = items.len();
        let of = |n: usize| {
            if n == 1 {
                "the sub-job".to_owned()
            } else {
                format!("the {n} sub-jobs")
            }
        };
        for (field, wanted) in &self.fields {
            let mut present: BTreeMap<Cow<'_, str>, u64> = BTreeMap::new();
            for item in items {
                if let Some(v) = field_value(item, field) {
                    *present.entry(v).or_default() += 1;
                }
            }
            if wanted.iter().any(|w| present.contains_key(w.as_str())) {
                continue;
            }
            let asked = format!("`where` {field}: [{}]", wanted.join(", "));
            if present.is_empty() {
                return Some(format!(
                    "the {asked} matched none of {} seen: none has a `{field}` field (check the field name)",
                    of(n)
                ));
            }
            const SHOWN: usize = 10;
            let mut values: Vec<String> = present
                .iter()
                .take(SHOWN)
                .map(|(v, c)| format!("{} ({c})", clip(v)))
                .collect();
            if present.len() > SHOWN {
                values.push(format!("{} more", present.len() - SHOWN));
            }
            let hint = wanted
                .iter()
                .find_map(|w| {
                    crate::spec::diagnostic::did_you_mean(w, present.keys().map(|k| k.as_ref()))
                })
                .map(|s| format!("; did you mean `{}`?", clip(s)))
                .unwrap_or_default();
            return Some(format!(
                "the {asked} matched none of {} seen; their {field} values: {}{hint}",
                of(n),
                values.join(", ")
            ));
        }
        Some(format!(
            "the `where` ({}) matched none of {} seen: each of its fields matches some, but no sub-job matches them all",
            self.describe()
                .trim_start()
                .trim_start_matches("where ")
                .to_owned(),
            of(n)
        ))
    }

    pub(super) fn describe(&self) -> String {
        if self.fields.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = self
            .fields
            .iter()
            .map(|(field, values)| format!("{field} in [{}]", values.join(", ")))
            .collect();
        format!(" where {}", parts.join(" and "))
    }
}

/// A server value quoted in a message: at most 60 characters.
fn clip(value: &str) -> Cow<'_, str> {
    const MAX: usize = 60;
    match value.char_indices().nth(MAX) {
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
        None => Cow::Borrowed(value),
    }
}

fn field_value<'a>(item: &'a Item, field: &str) -> Option<Cow<'a, str>> {
    match field {
        "job_type" => item.job_type.as_deref().map(Cow::Borrowed),
        "status" => Some(Cow::Borrowed(item.status.as_str())),
        // Rare, so the item's text is parsed only here.
        path => lookup(&item.json(), path).map(Cow::Owned),
    }
}

fn lookup(value: &Value, dotted: &str) -> Option<String> {
    let mut current = value;
    for key in dotted.split('.') {
        current = current.get(key)?;
    }
    match current {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use crate::condition::check::fixtures::{filter, subjobs};

    #[test]
    fn a_where_matching_nothing_lists_the_values_present_and_the_closest() {
        let items = subjobs(&["CREATE_SERVER", "CREATE_SERVER", "ATTACH_VOLUME"]);
        let why = filter(&[("job_type", &["CREATE_SERVR"])])
            .unmatched(&items)
            .unwrap();
        assert_eq!(
            why,
            "the `where` job_type: [CREATE_SERVR] matched none of the 3 sub-jobs seen; their job_type values: ATTACH_VOLUME (1), CREATE_SERVER (2); did you mean `CREATE_SERVER`?"
        );
        // Nothing close: the values, no guess.
        let why = filter(&[("job_type", &["DELETE_DESKTOP"])])
            .unmatched(&items)
            .unwrap();
        assert!(why.ends_with("CREATE_SERVER (2)"), "{why}");
        // A field no item has.
        let why = filter(&[("jobtype", &["CREATE_SERVER"])])
            .unmatched(&items)
            .unwrap();
        assert!(why.contains("none has a `jobtype` field"), "{why}");
        // Each field matches some item, no item matches both.
        let why = filter(&[("job_type", &["ATTACH_VOLUME"]), ("id", &["0"])])
            .unmatched(&items)
            .unwrap();
        assert!(why.contains("no sub-job matches them all"), "{why}");
    }

    #[test]
    fn a_where_that_selects_an_item_or_sees_none_is_not_explained() {
        let items = subjobs(&["CREATE_SERVER"]);
        assert_eq!(
            filter(&[("job_type", &["CREATE_SERVER"])]).unmatched(&items),
            None
        );
        assert_eq!(filter(&[("job_type", &["X"])]).unmatched(&[]), None);
        assert_eq!(filter(&[]).unmatched(&items), None);
    }
}
