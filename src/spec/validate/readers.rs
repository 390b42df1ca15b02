//! Primitive readers: mappings, keys, strings, statuses, durations, numbers
//! and booleans, each reporting its own mistakes.

use std::time::Duration;

use crate::api::{Status, status};
use crate::condition::{StatusSet, UnknownStatusPolicy};
use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::{SpecDiagnostic, suggestion};
use crate::spec::duration;
use crate::spec::interpolate::{InterpolationError, expand};
use crate::spec::model::*;
use crate::spec::yaml::{Node, Span, Value};

use super::Validator;

impl Validator<'_> {
    pub(super) fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            other => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::Type,
                        node.span,
                        format!("{what} must be a mapping, found a {}", other.kind()),
                    )
                    .label(format!("a {}, not a mapping", other.kind()))
                    .help(mapping_help(what)),
                );
                None
            }
        }
    }

    pub(super) fn known_keys(&mut self, node: &Node, allowed: &[&str], context: &str) {
        if let Value::Map(entries) = &node.value {
            for (key, _) in entries {
                if !key.as_str().is_some_and(|k| allowed.contains(&k)) {
                    self.unknown_key(key, allowed, context);
                }
            }
        }
    }

    pub(super) fn unknown_key(&mut self, key: &Node, allowed: &[&str], context: &str) {
        let name = key
            .scalar_text()
            .unwrap_or_else(|| key.value.kind().to_owned());
        let help = suggestion(&name, allowed.iter().copied(), || {
            format!("expected one of: {}", allowed.join(", "))
        });
        self.error(
            SpecDiagnostic::new(
                DiagnosticCode::UnknownKey,
                key.span,
                format!("unknown key `{name}` {context}"),
            )
            .label("not a known key")
            .help(help),
        );
    }

    /// A plain string (no output references), interpolated.
    pub(super) fn string(&mut self, node: &Node) -> Option<String> {
        let template = self.template(node)?;
        if template.references().next().is_some() {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::OutputHere,
                    node.span,
                    "outputs of other waits can only be used in a wait kind's parameters",
                )
                .label("output reference")
                .help("use an environment variable here instead"),
            );
            return None;
        }
        Some(template.display())
    }

    /// A string that may refer to outputs, with environment variables expanded.
    pub(super) fn template(&mut self, node: &Node) -> Option<Template> {
        let Some(text) = node.scalar_text() else {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::Type,
                    node.span,
                    format!("expected a string, found a {}", node.value.kind()),
                )
                .help("write a single value here (quote it if it contains `:` or `#`)"),
            );
            return None;
        };
        match expand(&text, self.env) {
            Ok(pieces) => Some(Template(pieces)),
            Err(errors) => {
                for e in errors {
                    let d = match e {
                        InterpolationError::Unset { name, start, len } => SpecDiagnostic::new(
                            DiagnosticCode::UnsetVariable,
                            node.narrow(self.source, start, len),
                            format!("environment variable `{name}` is not set"),
                        )
                        .label(format!("`{name}` is unset or empty"))
                        .help(format!("export {name}=..., pass `--var {name}=...`, or give a default: `${{{name}:-value}}`")),
                        InterpolationError::Malformed { start, len, reason } => SpecDiagnostic::new(
                            DiagnosticCode::Interpolation,
                            node.narrow(self.source, start, len),
                            reason,
                        )
                        .label("malformed `${...}`")
                        .help("write `${NAME}` or `${NAME:-default}`; `$${` writes a literal `${`"),
                    };
                    self.error(d);
                }
                None
            }
        }
    }

    pub(super) fn strings(&mut self, node: &Node) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .map(|i| self.string(i))
                .collect::<Vec<_>>()
                .into_iter()
                .collect(),
            _ => self.string(node).map(|s| vec![s]),
        }
    }

    pub(super) fn statuses(&mut self, node: &Node) -> Option<StatusSet> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut set = StatusSet::new();
        let mut ok = true;
        for item in items {
            let Some(text) = self.string(item) else {
                ok = false;
                continue;
            };
            let known = status::KNOWN.contains(&text.as_str())
                || status::SEEN_IN_THE_WILD.contains(&text.as_str());
            if !known {
                let all = status::KNOWN
                    .iter()
                    .chain(status::SEEN_IN_THE_WILD.iter())
                    .copied();
                let help = suggestion(&text, all, || {
                    format!("statuses are {}", status::KNOWN.join(", "))
                });
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::UnknownStatus,
                        item.span,
                        format!("unknown status `{text}`"),
                    )
                    .label("not a status the API reports")
                    .help(help),
                );
                ok = false;
                continue;
            }
            if !set.insert(Status::parse(&text)) {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::DuplicateStatus,
                        item.span,
                        format!("`{text}` is listed twice"),
                    )
                    .label("repeated here")
                    .help("remove the repeated status"),
                );
                ok = false;
            }
        }
        ok.then_some(set)
    }

    /// A duration of at most `max` ([`duration::LONGEST`] or a field's own
    /// ceiling), so no deadline computed from it can overflow.
    pub(super) fn duration(&mut self, node: &Node, max: Duration) -> Option<Duration> {
        let text = self.string(node)?;
        match duration::parse_at_most(&text, max) {
            Ok(d) => Some(d),
            Err(error) => {
                let too_long = matches!(error, duration::DurationError::TooLong { .. });
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::Duration, node.span, error.to_string())
                        .label(if too_long { "too long" } else { "not a duration" })
                        .help(if too_long {
                            "every duration has a ceiling (7d for timeouts, deadlines and grace periods, 1h between polls): write a shorter one".to_owned()
                        } else {
                            "durations take a unit: `ms`, `s`, `m`, `h` or `d`, combined as in `1h30m`".to_owned()
                        }),
                );
                None
            }
        }
    }

    pub(super) fn positive_duration(&mut self, node: &Node, max: Duration) -> Option<Duration> {
        let d = self.duration(node, max)?;
        if d.is_zero() {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::Duration,
                    node.span,
                    "this duration must be longer than zero",
                )
                .label("zero")
                .help("write a positive duration such as `5s` or `10m`"),
            );
            return None;
        }
        Some(d)
    }

    pub(super) fn count(&mut self, node: &Node, min: u32) -> Option<u32> {
        match node.scalar_text().and_then(|t| t.parse::<u32>().ok()) {
            Some(n) if n >= min => Some(n),
            _ => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::Number,
                        node.span,
                        format!("expected a whole number of at least {min}"),
                    )
                    .label(format!("not a whole number ≥ {min}"))
                    .help(format!(
                        "write a number such as `{}` without quotes or units",
                        min.max(3)
                    )),
                );
                None
            }
        }
    }

    /// Requests per second, in the range `--max-rps` takes.
    pub(super) fn rate(&mut self, node: &Node) -> Option<f64> {
        match node
            .scalar_text()
            .and_then(|t| t.trim().parse::<f64>().ok())
        {
            Some(n) if crate::cli::RPS.contains(&n) => Some(n),
            _ => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::Number,
                        node.span,
                        "expected requests per second from 0.1 to 1000",
                    )
                    .label("not a rate from 0.1 to 1000")
                    .help("write a number such as `2` (requests per second across all waits), without quotes or units"),
                );
                None
            }
        }
    }

    pub(super) fn boolean(&mut self, node: &Node) -> Option<bool> {
        // YAML 1.2's spellings; YAML 1.1 words (`yes`, `on`, `y`) are text.
        match node.scalar_text().as_deref() {
            Some("true" | "True" | "TRUE") => Some(true),
            Some("false" | "False" | "FALSE") => Some(false),
            _ => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::Boolean, node.span, "expected `true` or `false`")
                        .label("not a boolean")
                        .help("write `true` or `false` (YAML 1.1 words like `yes`/`on` are not booleans here)"),
                );
                None
            }
        }
    }

    pub(super) fn unknown_policy(&mut self, node: &Node) -> Option<UnknownStatusPolicy> {
        match node.scalar_text().as_deref() {
            Some("fail") => Some(UnknownStatusPolicy::Fail),
            Some("wait") => Some(UnknownStatusPolicy::Wait),
            _ => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::UnknownStatusPolicy, node.span, "`unknown_status` must be `fail` or `wait`")
                        .label("neither `fail` nor `wait`")
                        .help("`fail` ends the wait on a status it does not declare; `wait` keeps polling"),
                );
                None
            }
        }
    }
}

/// How to write a mapping where something else was found.
fn mapping_help(what: &str) -> String {
    match what {
        "the spec" => "a spec is a mapping: start with `version: 1` and a `waits:` mapping".into(),
        "`waits`" => "under `waits:`, give each wait a name followed by its settings, e.g.\n  build:\n    image_job: ${IMAGE_JOB_ID}\n    target: [SUCCESS]".into(),
        w if w.starts_with("wait `") => format!("{w} takes settings on indented lines, e.g.\n    image_job: ${{IMAGE_JOB_ID}}\n    target: [SUCCESS]"),
        "the wait kind's filters" => "write the filters as a mapping, e.g. `{ job_id: ${JOB_ID}, job_type: CREATE_SERVER }`".into(),
        _ => format!("write {what} as `key: value` lines or `{{ key: value }}`"),
    }
}

/// Where `text` is written in a list (or the whole value when it is not a
/// list), to point at one entry of `after:` or `target:`.
pub(super) fn item_span(node: &Node, text: &str) -> Option<Span> {
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .find(|i| i.scalar_text().as_deref() == Some(text))
            .map(|i| i.span),
        _ => Some(node.span),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::item_span;
    use crate::spec::code::DiagnosticCode;
    use crate::spec::duration;
    use crate::spec::validate::Validator;
    use crate::spec::yaml::{self, Node};

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "5m".to_owned())
    }

    /// Reads the value of `v:` in `source` with `read`, returning what it
    /// read and the codes it reported.
    fn read<T>(
        source: &str,
        read: impl FnOnce(&mut Validator, &Node) -> Option<T>,
    ) -> (Option<T>, Vec<DiagnosticCode>) {
        let root = yaml::parse(source).unwrap();
        let mut v = Validator::new(source, &env);
        let value = read(&mut v, root.get("v").unwrap());
        (value, v.diagnostics.iter().map(|d| d.code).collect())
    }

    #[test]
    fn durations_are_read_through_variables_and_bounded() {
        let five = Duration::from_secs(300);
        let hour = duration::LONGEST_POLL_DELAY;
        assert_eq!(
            read("v: ${SET}", |v, n| v.duration(n, hour)),
            (Some(five), vec![])
        );
        assert_eq!(
            read("v: 2h", |v, n| v.duration(n, hour)),
            (None, vec![DiagnosticCode::Duration])
        );
        assert_eq!(
            read("v: 0s", |v, n| v.positive_duration(n, hour)),
            (None, vec![DiagnosticCode::Duration])
        );
        assert_eq!(
            read("v: ${UNSET}", |v, n| v.duration(n, hour)),
            (None, vec![DiagnosticCode::UnsetVariable])
        );
    }

    #[test]
    fn counts_and_booleans_take_only_their_own_spellings() {
        assert_eq!(read("v: 3", |v, n| v.count(n, 1)), (Some(3), vec![]));
        for bad in ["v: 0", "v: -1", "v: \"3 polls\"", "v: 1.5"] {
            assert_eq!(
                read(bad, |v, n| v.count(n, 1)),
                (None, vec![DiagnosticCode::Number]),
                "{bad}"
            );
        }
        assert_eq!(read("v: True", |v, n| v.boolean(n)), (Some(true), vec![]));
        for bad in ["v: yes", "v: on", "v: 1"] {
            assert_eq!(
                read(bad, |v, n| v.boolean(n)),
                (None, vec![DiagnosticCode::Boolean]),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_lists_refuse_typos_and_repeats() {
        let (set, codes) = read("v: [SUCCESS, FAILED]", |v, n| v.statuses(n));
        assert_eq!((set.map(|s| s.len()), codes), (Some(2), vec![]));
        assert_eq!(
            read("v: [SUCESS, SUCCESS, SUCCESS]", |v, n| v.statuses(n)).1,
            vec![
                DiagnosticCode::UnknownStatus,
                DiagnosticCode::DuplicateStatus
            ]
        );
    }

    #[test]
    fn outputs_are_refused_outside_a_wait_kind() {
        assert_eq!(
            read("v: ${outputs.a.b}", |v, n| v.string(n)),
            (None, vec![DiagnosticCode::OutputHere])
        );
        assert!(read("v: ${outputs.a.b}", |v, n| v.template(n)).0.is_some());
    }

    #[test]
    fn list_items_are_found_by_text() {
        let source = "v: [a, b]\nw: b\n";
        let root = yaml::parse(source).unwrap();
        let list = root.get("v").unwrap();
        let span = item_span(list, "b").unwrap();
        assert_eq!(&source[span.offset..span.offset + span.len], "b");
        assert_eq!(item_span(list, "c"), None);
        let single = root.get("w").unwrap();
        assert_eq!(item_span(single, "x"), Some(single.span));
    }
}
