//! `after:` and output references: the order waits run in.

use std::collections::{BTreeMap, BTreeSet};

use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::{SpecDiagnostic, suggestion};
use crate::spec::model::*;
use crate::spec::yaml::{Node, Span};

use super::Validator;
use super::readers::item_span;

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
                    .and_then(|n| item_span(n, dep))
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
                    d = d.help(suggestion(dep, all_names.iter().copied(), || {
                        format!("declared waits: {}", all_names.join(", "))
                    }));
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
                    .and_then(|n| item_span(n, next))
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
                    let reference = Reference { wait, source, key };
                    if let Some(d) = reference.problem(span, &declared, &upstream, &all_names) {
                        self.error(d);
                    }
                }
            }
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

/// `wait` reading output `key` of wait `source` (`${outputs.SOURCE.KEY}`).
struct Reference<'a> {
    wait: &'a Wait,
    source: &'a str,
    key: &'a str,
}

impl Reference<'_> {
    /// What is wrong with the reference written at `span`; `None` when
    /// `source` runs before the wait (it is in `upstream`, every wait the wait
    /// runs after) and declares `key`.
    fn problem(
        &self,
        span: Span,
        declared: &BTreeMap<&str, &Wait>,
        upstream: &BTreeSet<&str>,
        all_names: &[&str],
    ) -> Option<SpecDiagnostic> {
        let Reference { wait, source, key } = *self;
        let (code, message, label, help) = match declared.get(source) {
            Some(w) if upstream.contains(source) => {
                if w.outputs.iter().any(|o| o.name == key) {
                    return None;
                }
                let names: Vec<&str> = w.outputs.iter().map(|o| o.name.as_str()).collect();
                let help = if names.is_empty() {
                    format!("declare it under `outputs:` in wait `{source}`")
                } else {
                    format!("its outputs: {}", names.join(", "))
                };
                let message = format!("wait `{source}` has no output `{key}`");
                let label = Some("unknown output".to_owned());
                (DiagnosticCode::OutputUnknown, message, label, help)
            }
            Some(_) => (
                DiagnosticCode::OutputOrder,
                format!("this wait reads an output of `{source}` but does not run after it"),
                Some(format!("read before `{source}` is done")),
                format!("add `after: [{source}]` to wait `{}`", wait.name),
            ),
            None => (
                DiagnosticCode::OutputUnknown,
                format!("no wait is named `{source}`"),
                None,
                suggestion(source, all_names.iter().copied(), || {
                    format!("declared waits: {}", all_names.join(", "))
                }),
            ),
        };
        let d = SpecDiagnostic::new(code, span, message).help(help);
        Some(match label {
            Some(label) => d.label(label),
            None => d,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{Reference, ancestors, cycle_from};
    use crate::spec::code::DiagnosticCode;
    use crate::spec::model::Wait;
    use crate::spec::yaml::Span;

    /// Valid waits named by `(name, after, outputs)`.
    fn waits(graph: &[(&str, &[&str], &[&str])]) -> Vec<Wait> {
        let mut source = String::from("version: 1\nwaits:\n");
        for (name, _, outputs) in graph {
            source.push_str(&format!(
                "  {name}:\n    image_job: x\n    target: [SUCCESS]\n"
            ));
            for output in *outputs {
                source.push_str(&format!("    outputs: {{ {output}: $.id }}\n"));
            }
        }
        let env = |_: &str| Some("p1".to_owned());
        let mut spec = crate::spec::parse("s", &source, &env).unwrap().waits;
        // Edges are set here, past validation, so that cycles can be built.
        for (wait, (_, after, _)) in spec.iter_mut().zip(graph) {
            wait.after = after.iter().map(|a| a.to_string()).collect();
        }
        spec
    }

    fn by_name(waits: &[Wait]) -> BTreeMap<&str, &Wait> {
        waits.iter().map(|w| (w.name.as_str(), w)).collect()
    }

    #[test]
    fn cycles_are_found_from_any_of_their_waits() {
        let w = waits(&[
            ("a", &["b"], &[]),
            ("b", &["c"], &[]),
            ("c", &["a"], &[]),
            ("d", &["a"], &[]),
        ]);
        let declared = by_name(&w);
        assert_eq!(cycle_from("b", &declared).unwrap(), ["b", "c", "a", "b"]);
        assert_eq!(cycle_from("d", &declared), None);
        let w = waits(&[("a", &["a"], &[])]);
        assert_eq!(
            cycle_from("a", &by_name(&w)),
            None,
            "a self-edge is reported apart"
        );
    }

    #[test]
    fn ancestors_are_transitive() {
        let w = waits(&[("a", &[], &[]), ("b", &["a"], &[]), ("c", &["b", "x"], &[])]);
        let declared = by_name(&w);
        assert_eq!(
            ancestors("c", &declared).into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert!(ancestors("a", &declared).is_empty());
    }

    #[test]
    fn references_need_an_upstream_wait_with_that_output() {
        let w = waits(&[("a", &[], &["img"]), ("b", &["a"], &[]), ("c", &[], &[])]);
        let declared = by_name(&w);
        let names = ["a", "b", "c"];
        let problem = |wait: &str, source: &str, key: &str| {
            let wait = declared[wait];
            let upstream = ancestors(&wait.name, &declared);
            Reference { wait, source, key }
                .problem(Span::default(), &declared, &upstream, &names)
                .map(|d| (d.code, d.help.unwrap_or_default()))
        };
        assert_eq!(problem("b", "a", "img"), None);
        assert_eq!(
            problem("b", "a", "id"),
            Some((DiagnosticCode::OutputUnknown, "its outputs: img".into()))
        );
        assert_eq!(
            problem("c", "a", "img"),
            Some((
                DiagnosticCode::OutputOrder,
                "add `after: [a]` to wait `c`".into()
            ))
        );
        assert_eq!(
            problem("b", "aa", "img"),
            Some((DiagnosticCode::OutputUnknown, "did you mean `a`?".into()))
        );
    }
}
