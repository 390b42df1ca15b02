//! The condition language: `pending`, `target`, `success` and `failure`.

use crate::api::Status;
use crate::condition::{
    Check, Comparison, Condition, ItemFilter, Quantifier, Rules, UnknownStatusPolicy,
};
use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::SpecDiagnostic;
use crate::spec::model::*;
use crate::spec::yaml::{Node, Value};

use super::readers::item_span;
use super::{CHECK_KEYS, Validator};

impl Validator<'_> {
    pub(super) fn rules(
        &mut self,
        name: &str,
        node: &Node,
        shape: Option<Shape>,
        unknown_status: UnknownStatusPolicy,
        allow_empty: bool,
    ) -> Option<Rules> {
        let pending_node = node.get("pending");
        let target_node = node.get("target");
        let pending = pending_node.map_or_else(
            || Some(Defaults::PENDING.iter().map(|s| Status::parse(s)).collect()),
            |n| self.statuses(n),
        );
        let target = target_node.and_then(|n| self.statuses(n));
        if let (Some(p), Some(t), Some(_), Some(tn)) =
            (&pending, &target, pending_node, target_node)
        {
            for status in p.intersection(t) {
                let span = item_span(tn, status.as_str()).unwrap_or(tn.span);
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::Overlap,
                        span,
                        format!("`{status}` is both pending and target"),
                    )
                    .label("also listed in `pending`")
                    .help(
                        "a status either means 'keep waiting' or 'done': remove it from one list",
                    ),
                );
            }
        }
        if let (Some(tn), Some(t)) = (target_node, &target)
            && t.is_empty()
        {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::EmptyTarget, tn.span, "`target` is empty")
                    .label("no statuses")
                    .help("list the statuses that mean done, e.g. `target: [SUCCESS]`"),
            );
        }
        if target_node.is_some() && matches!(shape, Some(Shape::Count | Shape::Json)) {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::TargetShape,
                    target_node.map_or(node.span, |n| n.span),
                    "`target` needs statuses, which this wait kind does not report",
                )
                .label("this wait kind reports no statuses")
                .help("use `success:` with a `count:` or `path:` condition"),
            );
        }
        let success_node = node.get("success");
        let success = success_node.and_then(|n| self.condition(n, shape, true));
        let failure = node
            .get("failure")
            .and_then(|n| self.condition(n, shape, false));
        let success = match (target_node, success_node) {
            (Some(tn), Some(sn)) => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::TargetAndSuccess,
                        sn.span,
                        "`target` and `success` both say when the wait is done",
                    )
                    .label("remove this or `target`")
                    .help(format!(
                        "`target` (line {}) is shorthand for a success condition: keep one",
                        tn.span.line
                    )),
                );
                None
            }
            (Some(_), None) => {
                let statuses = target.clone().filter(|t| !t.is_empty())?;
                match shape? {
                    Shape::Job => Some(Condition::Check(Check::JobStatus(statuses))),
                    Shape::List => Some(Condition::Check(Check::Items {
                        quantifier: Quantifier::All,
                        statuses,
                        filter: ItemFilter::default(),
                    })),
                    Shape::Count | Shape::Json => None,
                }
            }
            (None, Some(_)) => success,
            (None, None) => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::NoSuccess,
                        node.span,
                        format!("wait `{name}` never says when it is done"),
                    )
                    .label("no `target` or `success` in this wait")
                    .help("add `target: [SUCCESS]`, or a `success:` condition"),
                );
                None
            }
        };
        let success = success?;
        let shape = shape?;
        // Count waits too: their plan always asks for the total, so an empty
        // set (a job that never appeared, a mistyped id) ends `not_found` as
        // on list waits instead of passing `count: [FAILED], is: "== 0"` on
        // "0 of 0".
        let uses_items = shape == Shape::List
            || success.uses_items()
            || failure.as_ref().is_some_and(|f| f.uses_items());
        Some(Rules {
            pending: pending?,
            success,
            failure,
            unknown_status,
            allow_empty,
            uses_items,
        })
    }

    /// One condition, or a list of them (all-of for success, any-of for failure).
    pub(super) fn condition(
        &mut self,
        node: &Node,
        shape: Option<Shape>,
        is_success: bool,
    ) -> Option<Condition> {
        match &node.value {
            Value::Seq(items) => {
                if items.is_empty() {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::EmptyCondition,
                            node.span,
                            "the condition list is empty",
                        )
                        .label("no conditions")
                        .help("list at least one condition, or remove the key"),
                    );
                    return None;
                }
                let list: Vec<Option<Condition>> = items
                    .iter()
                    .map(|i| self.condition(i, shape, is_success))
                    .collect();
                let list: Option<Vec<Condition>> = list.into_iter().collect();
                Some(if is_success {
                    Condition::AllOf(list?)
                } else {
                    Condition::AnyOf(list?)
                })
            }
            Value::Map(_) => self.check(node, shape, is_success),
            other => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::Condition, node.span, format!("expected a condition, found a {}", other.kind()))
                        .label(format!("a {}, not a condition", other.kind()))
                        .help("a condition is a mapping such as `{ all: [SUCCESS] }` or `{ count: [FAILED], is: \"== 0\" }`"),
                );
                None
            }
        }
    }

    pub(super) fn check(
        &mut self,
        node: &Node,
        shape: Option<Shape>,
        is_success: bool,
    ) -> Option<Condition> {
        let Value::Map(entries) = &node.value else {
            return None;
        };
        // In a `path` condition, `count` is the test, not a second head.
        let has_path = entries.iter().any(|(k, _)| k.as_str() == Some("path"));
        let heads: Vec<&Node> = entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.as_str().is_some_and(|k| CHECK_KEYS.contains(&k)))
            .filter(|k| !(has_path && k.as_str() == Some("count")))
            .collect();
        let head = match heads.as_slice() {
            [one] => one.as_str().unwrap_or_default().to_owned(),
            [] => {
                let first = &entries.first()?.0;
                self.unknown_key(first, &CHECK_KEYS, "in this condition");
                return None;
            }
            [_, second, ..] => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::TwoChecks, second.span, "a condition has one test")
                        .label("a second test")
                        .help("list several conditions instead, or combine them with `all_of:` / `any_of:`"),
                );
                return None;
            }
        };
        let value = node.get(&head)?;
        let wrong_shape = |this: &mut Self, what: &str, help: &str| {
            this.error(
                SpecDiagnostic::new(
                    DiagnosticCode::ConditionShape,
                    value.span,
                    format!("`{head}` {what}"),
                )
                .label("not available for this wait kind")
                .help(help.to_owned()),
            );
            None
        };
        match head.as_str() {
            "all_of" | "any_of" => {
                self.known_keys(node, &[head.as_str()], "beside `all_of`/`any_of`");
                let Value::Seq(items) = &value.value else {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::Condition,
                            value.span,
                            format!("`{head}` takes a list of conditions"),
                        )
                        .help(format!(
                            "write `{head}: [{{ all: [SUCCESS] }}, {{ none: [FAILED] }}]`"
                        )),
                    );
                    return None;
                };
                let list: Option<Vec<Condition>> = items
                    .iter()
                    .map(|i| self.condition(i, shape, is_success))
                    .collect();
                Some(if head == "all_of" {
                    Condition::AllOf(list?)
                } else {
                    Condition::AnyOf(list?)
                })
            }
            "status" => {
                self.known_keys(node, &["status"], "in a `status` condition");
                if shape.is_some_and(|s| s != Shape::Job) {
                    return wrong_shape(
                        self,
                        "tests a job's own status, which this wait kind does not report",
                        "use `all`, `any`, `none` or `count` over the listed sub-jobs",
                    );
                }
                Some(Condition::Check(Check::JobStatus(self.statuses(value)?)))
            }
            "all" | "any" | "none" => {
                self.known_keys(
                    node,
                    &[head.as_str(), "where"],
                    &format!("in an `{head}` condition"),
                );
                if shape.is_some_and(|s| !matches!(s, Shape::Job | Shape::List)) {
                    return wrong_shape(
                        self,
                        "needs sub-jobs, which this wait kind does not list",
                        "count endpoints answer `count:` conditions; `get` answers `path:` conditions",
                    );
                }
                let statuses = self.statuses(value)?;
                let filter = node
                    .get("where")
                    .map_or(Some(ItemFilter::default()), |n| self.item_filter(n))?;
                let quantifier = match head.as_str() {
                    "all" => Quantifier::All,
                    "any" => Quantifier::Any,
                    _ => Quantifier::None,
                };
                Some(Condition::Check(Check::Items {
                    quantifier,
                    statuses,
                    filter,
                }))
            }
            "count" => {
                self.known_keys(node, &["count", "is", "where"], "in a `count` condition");
                if shape == Some(Shape::Json) {
                    return wrong_shape(
                        self,
                        "needs sub-jobs, which `get` does not list",
                        "use `path:` with `count:` instead",
                    );
                }
                let statuses = match value.as_str().map(crate::condition::count_key_from_text) {
                    Some(None) => None,
                    _ => Some(self.statuses(value)?),
                };
                let filter = node
                    .get("where")
                    .map_or(Some(ItemFilter::default()), |n| self.item_filter(n))?;
                if shape == Some(Shape::Count)
                    && let Some((field, _)) = filter.fields.iter().find(|(f, _)| f != "job_type")
                {
                    let span = node.get("where").map_or(node.span, |n| n.span);
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::CountWhere,
                            span,
                            format!("count endpoints cannot filter on `{field}`"),
                        )
                        .label("a count wait kind can filter by `job_type` only")
                        .help("filter by `job_id` in the wait kind, or use the list kind instead"),
                    );
                    return None;
                }
                let Some(is) = node.get("is") else {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::CountIs,
                            node.span,
                            "a `count` condition needs `is`",
                        )
                        .label("add `is:` to this condition")
                        .help("e.g. `is: \"== 0\"`, `is: \"< 3\"`, or a share `is: \">= 95%\"`"),
                    );
                    return None;
                };
                let comparison = self.comparison(is)?;
                Some(Condition::Check(Check::Count {
                    statuses,
                    filter,
                    comparison,
                }))
            }
            "path" => self.path_check(node, value),
            _ => None,
        }
    }

    pub(super) fn comparison(&mut self, node: &Node) -> Option<Comparison> {
        let text = match &node.value {
            // A bare count means `==`; as written, so `0x10` is no count.
            Value::Int(_) => format!("== {}", node.scalar_text().unwrap_or_default()),
            _ => self.string(node)?,
        };
        match Comparison::parse(&text) {
            Ok(c) => Some(c),
            Err(message) => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::Comparison, node.span, message)
                        .label("not a comparison")
                        .help("write an operator (==, !=, <, <=, >, >=) and a count or a share from 0% to 100%, quoted: `is: \"== 0\"` or `is: \">= 95%\"`"),
                );
                None
            }
        }
    }

    pub(super) fn item_filter(&mut self, node: &Node) -> Option<ItemFilter> {
        let entries = self.map(node, "`where`")?;
        let mut fields = Vec::new();
        for (k, v) in entries {
            let Some(field) = k.scalar_text() else {
                continue;
            };
            let values = self.strings(v)?;
            fields.push((field, values));
        }
        Some(ItemFilter { fields })
    }
}
