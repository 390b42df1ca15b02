//! `after:` and output references: the order waits run in.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::{SpecDiagnostic, did_you_mean};
use crate::spec::model::*;
use crate::spec::yaml::{Node, Span, Value};

use super::Validator;

impl Validator<'_> {
    pub(super) fn names(&mut self, node: &Node) -> Option<Vec<String>> {
        self.strings(node)
    }

    /// Checks `after:` references, cycles and output references.
    pub(super) fn check_graph(&mut self, waits: &[(Wait, &Node)], names: &[(String, Span)]) {
        let declared: BTreeMap<&str, &Wait> =
            waits.iter().map(|(w, _)| (w.name.as_str(), w)).collect();
        let all_names: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        for (wait, node) in waits {
            let after_node = node.get("after");
            for dep in &wait.after {
                let span = after_node
                    .and_then(|n| self.find_string(n, dep))
                    .unwrap_or(node.span);
                if dep == &wait.name {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::AfterSelf,
                            span,
                            format!("wait `{dep}` waits for itself"),
                        )
                        .label("the wait itself")
                        .help("remove it from `after`"),
                    );
                } else if !all_names.contains(&dep.as_str()) {
                    let mut d = SpecDiagnostic::new(
                        DiagnosticCode::AfterUnknown,
                        span,
                        format!("`after` names an unknown wait `{dep}`"),
                    )
                    .label("no wait has this name");
                    d = d.help(match did_you_mean(dep, all_names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("declared waits: {}", all_names.join(", ")),
                    });
                    self.error(d);
                }
            }
        }
        // Cycles: depth-first search over `after` edges.
        let mut reported = BTreeSet::new();
        for (wait, node) in waits {
            if let Some(path) = cycle_from(&wait.name, &declared)
                && reported.insert(path.iter().cloned().collect::<BTreeSet<_>>())
            {
                let next = &path[1];
                let span = node
                    .get("after")
                    .and_then(|n| self.find_string(n, next))
                    .unwrap_or(node.span);
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::AfterCycle,
                        span,
                        format!(
                            "waits depend on each other in a cycle: {}",
                            path.join(" → ")
                        ),
                    )
                    .label(format!(
                        "`{}` runs after `{next}`, which leads back here",
                        wait.name
                    ))
                    .help("remove one of these `after` entries"),
                );
            }
        }
        // Output references must name an output of a wait this one runs after.
        for (wait, node) in waits {
            let upstream = ancestors(&wait.name, &declared);
            for template in wait.target.templates() {
                for (source, key) in template.references() {
                    let span = self.find_reference(node, source, key).unwrap_or(node.span);
                    match declared.get(source) {
                        Some(w) if upstream.contains(source) => {
                            if !w.outputs.iter().any(|o| o.name == key) {
                                let names: Vec<&str> = w.outputs.iter().map(|o| o.name.as_str()).collect();
                                self.error(
                                    SpecDiagnostic::new(DiagnosticCode::OutputUnknown, span, format!("wait `{source}` has no output `{key}`"))
                                        .label("unknown output")
                                        .help(if names.is_empty() { format!("declare it under `outputs:` in wait `{source}`") } else { format!("its outputs: {}", names.join(", ")) }),
                                );
                            }
                        }
                        Some(_) => self.error(
                            SpecDiagnostic::new(DiagnosticCode::OutputOrder, span, format!("this wait reads an output of `{source}` but does not run after it"))
                                .label(format!("read before `{source}` is done"))
                                .help(format!("add `after: [{source}]` to wait `{}`", wait.name)),
                        ),
                        None => self.error(
                            SpecDiagnostic::new(DiagnosticCode::OutputUnknown, span, format!("no wait is named `{source}`"))
                                .help(match did_you_mean(source, all_names.iter().copied()) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => format!("declared waits: {}", all_names.join(", ")),
                                }),
                        ),
                    }
                }
            }
        }
    }

    pub(super) fn find_string(&self, node: &Node, text: &str) -> Option<Span> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .find(|i| i.scalar_text().as_deref() == Some(text))
                .map(|i| i.span),
            _ => Some(node.span),
        }
    }

    pub(super) fn find_reference(&self, node: &Node, wait: &str, key: &str) -> Option<Span> {
        let needle = format!("${{outputs.{wait}.{key}}}");
        let text = self
            .source
            .get(node.span.offset..node.span.offset + node.span.len)?;
        let from = node.span.offset + text.find(&needle)?;
        // Columns count characters, as everywhere else in diagnostics.
        Some(node.span.within(self.source, from, from + needle.len()))
    }
}

/// A cycle through `start`, as the list of names from `start` back to it.
fn cycle_from(start: &str, waits: &BTreeMap<&str, &Wait>) -> Option<Vec<String>> {
    fn walk(
        node: &str,
        start: &str,
        waits: &BTreeMap<&str, &Wait>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let Some(wait) = waits.get(node) else {
            return false;
        };
        for dep in &wait.after {
            if dep == start {
                path.push(dep.clone());
                return true;
            }
            if seen.insert(dep.clone()) {
                path.push(dep.clone());
                if walk(dep, start, waits, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    walk(start, start, waits, &mut path, &mut seen)
        .then_some(path)
        .filter(|p| p.len() > 2 || p[0] != p[1])
}

/// Every wait `name` runs after, directly or not.
fn ancestors<'a>(name: &str, waits: &BTreeMap<&'a str, &Wait>) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    let mut stack = vec![name.to_owned()];
    while let Some(n) = stack.pop() {
        if let Some(w) = waits.get(n.as_str()) {
            for dep in &w.after {
                if let Some((k, _)) = waits.get_key_value(dep.as_str())
                    && out.insert(*k)
                {
                    stack.push(dep.clone());
                }
            }
        }
    }
    out
}
