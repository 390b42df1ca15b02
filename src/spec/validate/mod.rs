//! Turning the located YAML tree into a validated [`Spec`], collecting every
//! mistake on the way.

mod conditions;
mod defaults;
mod graph;
mod paths;
mod readers;
mod waits;

use std::collections::BTreeSet;

use super::code::DiagnosticCode;
use super::diagnostic::SpecDiagnostic;
use super::duration;
use super::model::*;
use super::yaml::{Node, Span, Value};

const TOP_KEYS: [&str; 7] = [
    "version",
    "defaults",
    "waits",
    "deadline",
    "fail_fast",
    "max_rps",
    "history_file",
];
const DEFAULT_KEYS: [&str; 9] = [
    "region",
    "project_id",
    "endpoints",
    "timeout",
    "poll",
    "not_found_grace",
    "error_budget",
    "unknown_status",
    "stable_for",
];
const WAIT_KEYS: [&str; 14] = [
    "pending",
    "target",
    "success",
    "failure",
    "timeout",
    "poll",
    "stable_for",
    "not_found_grace",
    "error_budget",
    "after",
    "outputs",
    "unknown_status",
    "allow_empty",
    "project_id",
];
const POLL_KEYS: [&str; 6] = ["initial", "max", "factor", "jitter", "adaptive", "effort"];
const CHECK_KEYS: [&str; 8] = [
    "status", "all", "any", "none", "count", "path", "all_of", "any_of",
];

/// What waits inherit: the built-in [`Defaults`] as `defaults:` overrides
/// them, and the project id.
struct Inherited {
    project_id: Option<(String, Span)>,
    /// `defaults.project_id` is written but wrong (already reported).
    project_id_invalid: bool,
    settings: Defaults,
}

/// Walks the tree, collecting diagnostics.
pub struct Validator<'a> {
    source: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    diagnostics: Vec<SpecDiagnostic>,
}

impl<'a> Validator<'a> {
    /// A validator over `source`, reading variables through `env`.
    pub fn new(source: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Validator {
            source,
            env,
            diagnostics: Vec::new(),
        }
    }

    fn error(&mut self, diagnostic: SpecDiagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Validates the whole document.
    pub fn spec(mut self, origin: &str, root: &Node) -> Result<Spec, Vec<SpecDiagnostic>> {
        let spec = self.document(origin, root);
        let mut diagnostics = self.diagnostics;
        // By the code's text, as always, so that the order never depends on
        // where a code sits in the catalogue.
        diagnostics.sort_by_key(|d| (d.span.offset, d.code.as_str()));
        diagnostics.dedup();
        match spec {
            Some(spec) if diagnostics.is_empty() => Ok(spec),
            _ => Err(diagnostics),
        }
    }

    fn document(&mut self, origin: &str, root: &Node) -> Option<Spec> {
        if root.value == Value::Null {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::Empty, root.span, "the spec is empty")
                    .help("start with `version: 1` and a `waits:` mapping; see `jobgate --help`"),
            );
            return None;
        }
        self.map(root, "the spec")?;
        self.known_keys(root, &TOP_KEYS, "at the top level");
        match root.get("version") {
            None => self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::Version,
                    root.span,
                    "the spec has no `version`",
                )
                .label("version missing in this document")
                .help("add `version: 1` as the first line"),
            ),
            Some(v) if v.scalar_text().as_deref() != Some("1") => self.error(
                SpecDiagnostic::new(DiagnosticCode::Version, v.span, "unsupported spec version")
                    .label("only version 1 exists")
                    .help("write `version: 1`"),
            ),
            Some(_) => {}
        }
        let (endpoints, inherited) = self.defaults(root.get("defaults"));
        let deadline = root
            .get("deadline")
            .and_then(|n| self.positive_duration(n, duration::LONGEST));
        let fail_fast = root
            .get("fail_fast")
            .and_then(|n| self.boolean(n))
            .unwrap_or(Defaults::FAIL_FAST);
        let max_rps = root.get("max_rps").and_then(|n| self.rate(n));
        let history_file = root
            .get("history_file")
            .and_then(|n| self.string(n))
            .map(std::path::PathBuf::from);
        let waits_node = match root.get("waits") {
            Some(node) => node,
            None => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::NoWaits, root.span, "the spec has no `waits`")
                        .label("this spec has no `waits:` key")
                        .help("add a `waits:` mapping, e.g.\nwaits:\n  build:\n    image_job: ${IMAGE_JOB_ID}\n    target: [SUCCESS]"),
                );
                return None;
            }
        };
        let entries = self.map(waits_node, "`waits`")?;
        if entries.is_empty() {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::NoWaits, waits_node.span, "`waits` is empty")
                    .label("no waits")
                    .help("declare at least one wait"),
            );
        }
        let names: Vec<(String, Span)> = entries
            .iter()
            .filter_map(|(k, _)| k.scalar_text().map(|s| (s, k.span)))
            .collect();
        let mut waits = Vec::new();
        let mut seen = BTreeSet::new();
        for (key, node) in entries {
            let Some(name) = self.wait_name(key, &mut seen) else {
                continue;
            };
            if let Some(wait) = self.wait(&name, key.span, node, &inherited) {
                waits.push((wait, node));
            }
        }
        self.check_graph(&waits, &names);
        let endpoints = endpoints?;
        Some(Spec {
            origin: origin.to_owned(),
            endpoints,
            deadline,
            fail_fast,
            max_rps,
            waits: waits.into_iter().map(|(w, _)| w).collect(),
            history_file,
        })
    }

    fn wait_name(&mut self, key: &Node, seen: &mut BTreeSet<String>) -> Option<String> {
        let Some(name) = key.scalar_text() else {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::WaitName,
                    key.span,
                    "a wait's name must be a string",
                )
                .help("name the wait with letters, digits, `-` and `_`, e.g. `build:`"),
            );
            return None;
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::WaitName, key.span, format!("`{name}` is not a valid wait name"))
                    .label("not a valid wait name")
                    .help("use letters, digits, `-` and `_` (names appear in reports, outputs and `after:`)"),
            );
            return None;
        }
        if !seen.insert(name.clone()) {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::DuplicateWait,
                    key.span,
                    format!("wait `{name}` is declared twice"),
                )
                .label("second declaration")
                .help("give each wait its own name"),
            );
            return None;
        }
        Some(name)
    }
}
