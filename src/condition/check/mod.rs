//! Single checks and how each one reads an observation: the item filter
//! (`where`), the evidence a success check needs, counts (listed or
//! answered by a count endpoint) and JSONPath tests each have a file.

mod count;
mod evidence;
mod filter;
mod path;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::{Comparison, StatusSet};
use crate::api::model::{Item, Observation};
pub(crate) use count::{count_key, count_key_from_text, count_key_text};
use evidence::{evidence_gap, finding};
pub use filter::ItemFilter;

/// How many of the selected items must be in the statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
}

/// A test applied to what a JSONPath selects.
#[derive(Debug, Clone)]
pub enum PathTest {
    /// The path selects a value that is not `null` (`true`), or none
    /// (`false`; as success, only where the path's container exists).
    Exists(bool),
    /// The selected values equal this one: every one of them (and at least
    /// one) as success, any one as failure.
    Equals(Value),
    /// The selected values are among these, with the same quantifier as
    /// `Equals`.
    In(Vec<Value>),
    /// The selected strings match the regular expression as a whole, with
    /// the same quantifier as `Equals`.
    Matches(regex::Regex),
    /// The number of selected values compares so.
    Count(Comparison),
}

/// One check of a condition.
#[derive(Debug, Clone)]
pub enum Check {
    /// The job's own status is one of these.
    JobStatus(StatusSet),
    /// All / any / none of the selected items are in these statuses.
    Items {
        quantifier: Quantifier,
        statuses: StatusSet,
        filter: ItemFilter,
    },
    /// The number of selected items in these statuses (any status when
    /// `None`) compares so. On count endpoints the count is the API's answer.
    Count {
        statuses: Option<StatusSet>,
        filter: ItemFilter,
        comparison: Comparison,
    },
    /// A JSONPath into the response and a test on what it selects.
    Path {
        source: String,
        path: JsonPath,
        test: PathTest,
    },
}

/// What a check found in one observation.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<'a> {
    /// Whether the check holds.
    pub holds: bool,
    /// What was found, in plain words.
    pub found: String,
    /// Items that made the check hold (for failures) or fail (for success),
    /// so reports can say which sub-jobs are to blame. Borrowed: a poll that
    /// decides nothing copies none of them.
    pub blame: Vec<&'a Item>,
}

impl Check {
    /// Statuses named by the check.
    pub(crate) fn statuses(&self) -> StatusSet {
        match self {
            Check::JobStatus(s) | Check::Items { statuses: s, .. } => s.clone(),
            Check::Count { statuses, .. } => statuses.clone().unwrap_or_default(),
            Check::Path { .. } => StatusSet::new(),
        }
    }

    /// Whether the check reads items.
    pub fn uses_items(&self) -> bool {
        matches!(self, Check::Items { .. } | Check::Count { .. })
    }

    /// The check in plain words.
    pub(crate) fn describe(&self) -> String {
        match self {
            Check::JobStatus(s) => format!("job status is one of [{}]", names(s)),
            Check::Items {
                quantifier,
                statuses,
                filter,
            } => {
                let q = match quantifier {
                    Quantifier::All => "all",
                    Quantifier::Any => "any",
                    Quantifier::None => "none",
                };
                format!(
                    "{q} of the sub-jobs{} in [{}]",
                    filter.describe(),
                    names(statuses)
                )
            }
            Check::Count {
                statuses,
                filter,
                comparison,
            } => {
                let which = match statuses {
                    Some(s) => format!("sub-jobs in [{}]", names(s)),
                    None => "sub-jobs".to_owned(),
                };
                format!("count of {which}{} {comparison}", filter.describe())
            }
            Check::Path { source, test, .. } => {
                let t = match test {
                    PathTest::Exists(true) => "exists".to_owned(),
                    PathTest::Exists(false) => "does not exist".to_owned(),
                    PathTest::Equals(v) => format!("equals {v}"),
                    PathTest::In(vs) => format!(
                        "is one of [{}]",
                        vs.iter()
                            .map(Value::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    PathTest::Matches(r) => format!("matches /{}/", r.as_str()),
                    PathTest::Count(c) => format!("selects {c} values"),
                };
                format!("{source} {t}")
            }
        }
    }

    /// Evaluates the check against one observation, in its role: a success
    /// check holds only on positive and complete evidence (see
    /// [`Role`]); a failure check fires on what is seen. `allow_empty` is
    /// the wait's explicit consent to an empty selection.
    pub fn evaluate<'a>(&self, obs: &'a Observation, role: Role, allow_empty: bool) -> Finding<'a> {
        match self {
            Check::JobStatus(statuses) => match &obs.job {
                Some(job) => Finding {
                    holds: statuses.contains(&job.status),
                    found: format!("job status {}", job.status),
                    blame: Vec::new(),
                },
                None => Finding {
                    holds: false,
                    found: "no job in the response".into(),
                    blame: Vec::new(),
                },
            },
            Check::Items {
                quantifier,
                statuses,
                filter,
            } => {
                let selected: Vec<&Item> = obs.items.iter().filter(|i| filter.matches(i)).collect();
                let (inside, outside): (Vec<&Item>, Vec<&Item>) =
                    selected.iter().partition(|i| statuses.contains(&i.status));
                let inside_count = inside.len();
                let seen = match quantifier {
                    // A `where` that selects nothing while other items exist
                    // means the selected sub-jobs have not appeared yet: not
                    // a success. An empty set as a whole is judged by the
                    // verdict (empty is not success unless `allow_empty`).
                    Quantifier::All => {
                        outside.is_empty() && (!selected.is_empty() || obs.items.is_empty())
                    }
                    Quantifier::Any => !inside.is_empty(),
                    Quantifier::None => inside.is_empty(),
                };
                // `any` is positive evidence on its own; `all` and `none`
                // speak of every selected item, so as success they need
                // the whole set in view.
                let gap = match (role, quantifier) {
                    (Role::Success, Quantifier::All | Quantifier::None) => {
                        evidence_gap(obs, filter, &selected, allow_empty)
                    }
                    _ => None,
                };
                // Blame what decides the outcome: the items in the statuses
                // for any/none, the ones outside them for all.
                let blame = match quantifier {
                    Quantifier::All => outside,
                    Quantifier::Any | Quantifier::None => inside,
                };
                let found = format!(
                    "{inside_count} of {} selected sub-jobs in [{}]",
                    selected.len(),
                    names(statuses)
                );
                finding(seen, found, gap, blame)
            }
            Check::Count {
                statuses,
                filter,
                comparison,
            } => count::CountCheck {
                statuses,
                filter,
                comparison,
            }
            .evaluate(obs, role, allow_empty),
            Check::Path { path, test, source } => path::evaluate(obs, source, path, test, role),
        }
    }
}

/// Which side of a wait a check is on. The two are judged differently on
/// incomplete evidence, each in the direction that keeps the gate shut: a
/// success check must be proven on the whole set it speaks of, a failure
/// check fires on what is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Success,
    Failure,
}

/// Statuses as a spec lists them: `SUCCESS, FAILED`.
pub(super) fn names(statuses: &StatusSet) -> String {
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Items and filters for the tests of every check.
#[cfg(test)]
pub(super) mod fixtures {
    use super::*;
    use crate::api::model::parse_item;
    use serde_json::json;

    pub(crate) fn subjobs(types: &[&str]) -> Vec<Item> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                parse_item(json!({"id": i.to_string(), "status": "SUCCESS", "job_type": t}))
                    .unwrap()
            })
            .collect()
    }

    pub(crate) fn filter(fields: &[(&str, &[&str])]) -> ItemFilter {
        ItemFilter {
            fields: fields
                .iter()
                .map(|(f, vs)| (f.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
        }
    }
}
