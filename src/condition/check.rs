//! Single checks and how each one reads an observation.

use std::borrow::Cow;
use std::collections::BTreeMap;

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

impl ItemFilter {
    /// Whether an item passes the filter.
    pub fn matches(&self, item: &Item) -> bool {
        self.fields.iter().all(|(field, wanted)| {
            field_value(item, field).is_some_and(|v| wanted.iter().any(|w| *w == *v))
        })
    }

    /// The first value the filter names that none of the selected items
    /// has: `where: { user: [alice, bob] }` speaks of both, so until bob's
    /// sub-job appears the selection is not the set the `where` means.
    pub fn missing(&self, selected: &[&Item]) -> Option<(&str, &str)> {
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
    pub fn unmatched(&self, items: &[Item]) -> Option<String> {
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

/// "Any status": how a count of every status is written where text is
/// needed (`count: "*"` in a spec, the report's `counts`, a saved count
/// answer), for the key `None` in [`Observation::counts`].
pub const ANY_STATUS: &str = "*";

/// A count key as text: [`ANY_STATUS`] for the unfiltered total.
pub fn count_key_text(key: Option<&str>) -> &str {
    key.unwrap_or(ANY_STATUS)
}

/// A count key from text: the inverse of [`count_key_text`].
pub fn count_key_from_text(text: &str) -> Option<&str> {
    (text != ANY_STATUS).then_some(text)
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
        count_key_text(statuses.as_deref()),
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
            } => {
                if obs.items.is_empty() && !obs.counts.is_empty() {
                    return count_answer(obs, statuses, filter, comparison, role, allow_empty);
                }
                let selected: Vec<&Item> = obs.items.iter().filter(|i| filter.matches(i)).collect();
                let matching: Vec<&Item> = selected
                    .iter()
                    .copied()
                    .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status)))
                    .collect();
                let (matched, total) = (matching.len() as u64, selected.len() as u64);
                let found = format!("count {matched} of {total}");
                let mut gap = None;
                if role == Role::Success {
                    gap = evidence_gap(obs, filter, &selected, allow_empty);
                    // A count that can only grow proves `>`/`>=` on part of
                    // the set; a share needs the whole set it is a share of.
                    if gap.as_ref().is_some_and(|g| g.partial_only) && comparison.is_lower_bound() {
                        gap = None;
                    }
                    if gap.is_none()
                        && comparison.is_share()
                        && obs.job.as_ref().is_none_or(|j| j.sub_jobs_total.is_none())
                    {
                        gap = Some(Gap::new(
                            "a share needs the job's sub_jobs_total: a list shows only the items that exist so far",
                        ));
                    }
                }
                let holds = comparison.holds(matched, total);
                let found = tripped(found, holds, role, statuses, comparison, matched, total);
                finding(holds, found, gap, matching)
            }
            Check::Path { path, test, source } => {
                let document = obs.document();
                let nodes = path.query(&document).all();
                // "Selects nothing" proves absence only where the thing
                // looked into exists: `$.jobs[?@.status == 'FAILED']` on an
                // answer without `jobs` (a misspelt field) proves nothing.
                if role == Role::Success
                    && matches!(test, PathTest::Exists(false) | PathTest::Count(_))
                    && let Some(container) = container(source)
                    && let Ok(parent) = JsonPath::parse(&container)
                    && parent.query(&document).all().iter().all(|n| n.is_null())
                {
                    return Finding {
                        holds: false,
                        found: format!(
                            "{} value(s); not proven: `{container}` selects nothing to look into (check the field names; list waits see {{count, items}})",
                            nodes.len()
                        ),
                        blame: Vec::new(),
                    };
                }
                let present = || nodes.iter().any(|n| !n.is_null());
                let each = |f: &dyn Fn(&Value) -> bool| match role {
                    // Success needs every selected value, and at least one.
                    Role::Success => !nodes.is_empty() && nodes.iter().all(|n| f(n)),
                    // A failure fires on any.
                    Role::Failure => nodes.iter().any(|n| f(n)),
                };
                let holds = match test {
                    PathTest::Exists(want) => present() == *want,
                    PathTest::Equals(v) => each(&|n| same_value(n, v)),
                    PathTest::In(vs) => each(&|n| vs.iter().any(|v| same_value(n, v))),
                    PathTest::Matches(r) => each(&|n| n.as_str().is_some_and(|s| full_match(r, s))),
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

/// Which side of a wait a check is on. The two are judged differently on
/// incomplete evidence, each in the direction that keeps the gate shut: a
/// success check must be proven on the whole set it speaks of, a failure
/// check fires on what is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Success,
    Failure,
}

/// Why what is seen cannot prove a success check.
#[derive(Debug, Clone, PartialEq)]
struct Gap {
    reason: String,
    /// Only part of the set is listed (no empty selection, no missing
    /// `where` value): a count that can only grow may still be proven.
    partial_only: bool,
}

impl Gap {
    fn new(reason: impl Into<String>) -> Gap {
        Gap {
            reason: reason.into(),
            partial_only: false,
        }
    }
}

fn finding<'a>(seen: bool, found: String, gap: Option<Gap>, blame: Vec<&'a Item>) -> Finding<'a> {
    match gap {
        Some(gap) => Finding {
            holds: false,
            found: format!("{found}; not proven: {}", gap.reason),
            blame,
        },
        None => Finding {
            holds: seen,
            found,
            blame,
        },
    }
}

/// What keeps the items in view from standing for the whole set a success
/// check speaks of: an empty selection (unless the wait allows it), a value
/// named in the `where` that no item has yet, or a job that lists fewer (or
/// more) sub-jobs than its `sub_jobs_total`.
fn evidence_gap(
    obs: &Observation,
    filter: &ItemFilter,
    selected: &[&Item],
    allow_empty: bool,
) -> Option<Gap> {
    if !allow_empty {
        if selected.is_empty() {
            return Some(Gap::new(if filter.fields.is_empty() {
                "no sub-jobs yet".to_owned()
            } else if let Some(why) = filter.unmatched(&obs.items) {
                why
            } else {
                format!(
                    "the `where` ({}) selects nothing",
                    filter.describe().trim_start()
                )
            }));
        }
        if let Some((field, value)) = filter.missing(selected) {
            return Some(Gap::new(format!(
                "no selected sub-job has {field} = {value} yet"
            )));
        }
    }
    if let Some(job) = &obs.job {
        let listed = obs.items.len() as u64;
        return match job.sub_jobs_total {
            Some(total) if total == listed => None,
            Some(total) if listed < total => Some(Gap {
                reason: format!("the job lists {listed} of its {total} sub-jobs"),
                partial_only: true,
            }),
            Some(total) => Some(Gap::new(format!(
                "the job lists {listed} sub-jobs but says it has {total}: conflicting"
            ))),
            None => Some(Gap {
                reason: "the job does not say how many sub-jobs it has (`sub_jobs_total`)"
                    .to_owned(),
                partial_only: true,
            }),
        };
    }
    None
}

/// A count judged from count-endpoint answers. A number that was not
/// answered is not zero: without it the check does not hold.
fn count_answer<'a>(
    obs: &'a Observation,
    statuses: &Option<StatusSet>,
    filter: &ItemFilter,
    comparison: &Comparison,
    role: Role,
    allow_empty: bool,
) -> Finding<'a> {
    let count = |s| obs.counts.get(&count_key(s, filter)).copied();
    let (Some(matched), Some(total)) = (count(statuses), count(&None)) else {
        return Finding {
            holds: false,
            found: "a count was not answered".into(),
            blame: Vec::new(),
        };
    };
    let found = format!("count {matched} of {total}");
    let gap = if matched > total {
        Some(Gap::new(format!(
            "{matched} counted of a total of {total}: conflicting answers"
        )))
    } else if role == Role::Failure {
        None
    } else if total == 0 && !allow_empty {
        Some(Gap::new("the count endpoint reports no such sub-jobs"))
    } else if comparison.is_share() {
        Some(Gap::new(
            "a share needs the job's sub_jobs_total: a count answers only the sub-jobs that exist so far",
        ))
    } else if !allow_empty && filter.fields.iter().any(|(_, values)| values.len() > 1) {
        Some(Gap::new(
            "a count answer sums the `where` values, so it cannot show that each one is present: write one count per value",
        ))
    } else {
        None
    };
    let holds = comparison.holds(matched, total);
    let found = tripped(found, holds, role, statuses, comparison, matched, total);
    finding(holds, found, gap, Vec::new())
}

/// A failure count that tripped, in the words of its threshold
/// (`6 FAILED > 5 (6 of 10 selected)`), so the reason names the count that
/// ended the wait.
fn tripped(
    found: String,
    holds: bool,
    role: Role,
    statuses: &Option<StatusSet>,
    comparison: &Comparison,
    matched: u64,
    total: u64,
) -> String {
    if !holds || role != Role::Failure {
        return found;
    }
    let what = statuses
        .as_ref()
        .map(|s| names(s).replace(", ", "/"))
        .unwrap_or_else(|| "sub-jobs".into());
    if comparison.is_share() {
        // Only shown: the comparison itself is exact integer arithmetic.
        let percent = matched as f64 * 100.0 / total.max(1) as f64;
        format!("{matched} of {total} {what} ({percent:.1}%) {comparison}")
    } else {
        format!("{matched} {what} {comparison} ({matched} of {total} selected)")
    }
}

/// The path without its last segment (`$.jobs[?@.status == 'FAILED']` →
/// `$.jobs`), or `None` when that is the root, which always exists.
fn container(source: &str) -> Option<String> {
    let source = source.trim();
    let chars: Vec<(usize, char)> = source.char_indices().collect();
    let (mut depth, mut quote, mut escaped) = (0usize, None::<char>, false);
    let mut last = None;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        let prev = |n: usize| k.checked_sub(n).map(|j| chars[j].1);
        match c {
            '\'' | '"' => quote = Some(c),
            '[' if depth == 0 => {
                // `..[` continues the descendant segment `..`.
                if !(prev(1) == Some('.') && prev(2) == Some('.')) {
                    last = Some(i);
                }
                depth += 1;
            }
            '[' | '(' => depth += 1,
            ']' | ')' => depth = depth.saturating_sub(1),
            // The second dot of `..` continues the segment the first began.
            '.' if depth == 0 && prev(1) != Some('.') => last = Some(i),
            _ => {}
        }
    }
    let parent = source[..last?].trim_end();
    (parent != "$" && !parent.is_empty()).then(|| parent.to_owned())
}

/// A regular expression in a condition must match the whole string, so
/// `SUCCESS` does not match `NOT_SUCCESS`.
fn full_match(r: &regex::Regex, s: &str) -> bool {
    // The pattern was valid, so the anchored form is too; if it somehow is
    // not, nothing matches.
    regex::Regex::new(&format!(r"\A(?:{})\z", r.as_str())).is_ok_and(|r| r.is_match(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Status;
    use crate::api::model::parse_item;
    use serde_json::json;

    fn subjobs(types: &[&str]) -> Vec<Item> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| {
                parse_item(json!({"id": i.to_string(), "status": "SUCCESS", "job_type": t}))
                    .unwrap()
            })
            .collect()
    }

    fn filter(fields: &[(&str, &[&str])]) -> ItemFilter {
        ItemFilter {
            fields: fields
                .iter()
                .map(|(f, vs)| (f.to_string(), vs.iter().map(|v| v.to_string()).collect()))
                .collect(),
        }
    }

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

    #[test]
    fn the_success_gap_of_an_unmatched_where_says_so() {
        let obs = Observation {
            items: subjobs(&["CREATE_SERVER"]),
            source: crate::api::model::Source::List,
            ..Default::default()
        };
        let check = Check::Items {
            quantifier: Quantifier::All,
            statuses: [Status::parse("SUCCESS")].into_iter().collect(),
            filter: filter(&[("job_type", &["CREATE_SERVR"])]),
        };
        let f = check.evaluate(&obs, Role::Success, false);
        assert!(!f.holds);
        assert!(
            f.found.contains("did you mean `CREATE_SERVER`?"),
            "{}",
            f.found
        );
    }

    #[test]
    fn only_a_success_where_explains_a_timeout() {
        use crate::condition::{Condition, Rules, UnknownStatusPolicy};
        let items = |f: &[(&str, &[&str])]| Check::Items {
            quantifier: Quantifier::All,
            statuses: [Status::parse("SUCCESS")].into_iter().collect(),
            filter: filter(f),
        };
        let obs = Observation {
            items: subjobs(&["CREATE_SERVER"]),
            ..Default::default()
        };
        let mut rules = Rules {
            pending: Default::default(),
            success: Condition::Check(items(&[("job_type", &["CREATE_SERVER"])])),
            failure: Some(Condition::Check(items(&[("job_type", &["CREATE_IMAGE"])]))),
            unknown_status: UnknownStatusPolicy::Fail,
            allow_empty: false,
            uses_items: true,
        };
        assert_eq!(rules.unmatched_where(&obs), None);
        rules.success = Condition::Check(items(&[("job_type", &["CREATE_SERVR"])]));
        assert!(
            rules
                .unmatched_where(&obs)
                .is_some_and(|w| w.contains("did you mean `CREATE_SERVER`?"))
        );
    }

    #[test]
    fn a_tripped_failure_count_names_the_count_and_the_threshold() {
        let obs = Observation {
            items: ["FAILED"; 6]
                .iter()
                .chain(["SUCCESS"; 4].iter())
                .enumerate()
                .map(|(i, s)| parse_item(json!({"id": i.to_string(), "status": s})).unwrap())
                .collect(),
            source: crate::api::model::Source::List,
            ..Default::default()
        };
        let count = |is: &str| Check::Count {
            statuses: Some([Status::parse("FAILED")].into_iter().collect()),
            filter: ItemFilter::default(),
            comparison: Comparison::parse(is).unwrap(),
        };
        let f = count("> 5").evaluate(&obs, Role::Failure, false);
        assert!(f.holds);
        assert_eq!(f.found, "6 FAILED > 5 (6 of 10 selected)");
        let f = count("> 50%").evaluate(&obs, Role::Failure, false);
        assert_eq!(f.found, "6 of 10 FAILED (60.0%) > 50%");
        // Not tripped, or on the success side: the plain count.
        assert_eq!(
            count("> 6").evaluate(&obs, Role::Failure, false).found,
            "count 6 of 10"
        );
        assert_eq!(
            count("> 5").evaluate(&obs, Role::Success, false).found,
            "count 6 of 10"
        );
    }

    #[test]
    fn the_container_of_a_path_drops_its_last_segment() {
        let cases = [
            ("$.jobs[?@.status == 'FAILED']", Some("$.jobs")),
            ("$.sub_jobs[*].id", Some("$.sub_jobs[*]")),
            ("$.items[?@.name == 'a.b[c]']", Some("$.items")),
            ("$.a..b", Some("$.a")),
            ("$.a..[0]", Some("$.a")),
            ("$['x.y'].z", Some("$['x.y']")),
            ("$.status", None),
            ("$..status", None),
            ("$", None),
        ];
        for (path, want) in cases {
            assert_eq!(container(path).as_deref(), want, "{path}");
        }
    }
}
