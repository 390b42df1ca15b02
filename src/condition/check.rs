//! Single checks and how each one reads an observation.

use std::borrow::Cow;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::{Comparison, StatusSet};
use crate::api::model::{Item, Observation};

/// How many of the selected items must be in the statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    All,
    Any,
    None,
}

/// Selects items by field values: `job_type: CREATE_SERVER` or a dotted path
/// into the item such as `entities.desktop_name: pc-01`. All fields must match;
/// a field matches when it equals any of the listed values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    pub fields: Vec<(String, Vec<String>)>,
}

/// A test applied to what a JSONPath selects.
#[derive(Debug, Clone)]
pub enum PathTest {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Some selected value equals this one.
    Equals(Value),
    /// Some selected value is one of these.
    In(Vec<Value>),
    /// Some selected string matches the regular expression.
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

impl ItemFilter {
    /// Whether an item passes the filter.
    pub fn matches(&self, item: &Item) -> bool {
        self.fields.iter().all(|(field, wanted)| {
            let value = match field.as_str() {
                "job_type" => item.job_type.as_deref().map(Cow::Borrowed),
                "status" => Some(Cow::Borrowed(item.status.as_str())),
                // Rare, so the item's text is parsed only here.
                path => lookup(&item.json(), path).map(Cow::Owned),
            };
            value.is_some_and(|v| wanted.iter().any(|w| *w == *v))
        })
    }

    fn describe(&self) -> String {
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

/// JSON equality as RFC 9535's `==` has it: numbers by value, so `100`,
/// `100.0` and `1e2` are one number; everything else structurally.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(x), Some(y)) => x == y,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// The key a count endpoint's answer is stored under in
/// [`Observation::counts`]: the statuses counted (`*` for any), and the
/// filter when there is one; `None` for the unfiltered total. Count checks
/// read and the engine writes through this one function.
pub fn count_key(statuses: &Option<StatusSet>, filter: &ItemFilter) -> Option<String> {
    let statuses = statuses.as_ref().map(names);
    if filter.fields.is_empty() {
        return statuses;
    }
    Some(format!(
        "{}{}",
        statuses.as_deref().unwrap_or("*"),
        filter.describe()
    ))
}

fn names(statuses: &StatusSet) -> String {
    statuses
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Check {
    /// Statuses named by the check.
    pub fn statuses(&self) -> StatusSet {
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
    pub fn describe(&self) -> String {
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

    /// Evaluates the check against one observation.
    pub fn evaluate<'a>(&self, obs: &'a Observation) -> Finding<'a> {
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
                let holds = match quantifier {
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
                // Blame what decides the outcome: the items in the statuses
                // for any/none, the ones outside them for all.
                let blame = match quantifier {
                    Quantifier::All => outside,
                    Quantifier::Any | Quantifier::None => inside,
                };
                Finding {
                    holds,
                    found: format!(
                        "{inside_count} of {} selected sub-jobs in [{}]",
                        selected.len(),
                        names(statuses)
                    ),
                    blame,
                }
            }
            Check::Count {
                statuses,
                filter,
                comparison,
            } => {
                let (matched, total, blame) = if obs.items.is_empty() && !obs.counts.is_empty() {
                    let count = |s| obs.counts.get(&count_key(s, filter)).copied();
                    let matched = count(statuses).unwrap_or(0);
                    let total = count(&None).unwrap_or(0);
                    (matched, total, Vec::new())
                } else {
                    let selected: Vec<&Item> =
                        obs.items.iter().filter(|i| filter.matches(i)).collect();
                    let matching: Vec<&Item> = selected
                        .iter()
                        .copied()
                        .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status)))
                        .collect();
                    (matching.len() as u64, selected.len() as u64, matching)
                };
                Finding {
                    holds: comparison.holds(matched, total),
                    found: format!("count {matched} of {total}"),
                    blame,
                }
            }
            Check::Path { path, test, .. } => {
                let document = obs.document();
                let nodes = path.query(&document).all();
                let holds = match test {
                    PathTest::Exists(want) => nodes.is_empty() != *want,
                    PathTest::Equals(v) => nodes.iter().any(|n| same_value(n, v)),
                    PathTest::In(vs) => nodes.iter().any(|n| vs.iter().any(|v| same_value(n, v))),
                    PathTest::Matches(r) => nodes
                        .iter()
                        .any(|n| n.as_str().is_some_and(|s| r.is_match(s))),
                    PathTest::Count(c) => c.holds(nodes.len() as u64, nodes.len() as u64),
                };
                let shown: Vec<String> = nodes.iter().take(3).map(|n| n.to_string()).collect();
                let more = if nodes.len() > 3 { ", …" } else { "" };
                Finding {
                    holds,
                    found: format!("{} value(s): [{}{more}]", nodes.len(), shown.join(", ")),
                    blame: Vec::new(),
                }
            }
        }
    }
}
