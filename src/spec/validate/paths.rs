//! JSONPath: `path:` conditions and `outputs:`, with errors located in what was
//! written before `${VAR}` expansion.

use serde_json::Value as Json;
use serde_json_path::JsonPath;

use crate::condition::{Check, Condition, PathTest, Threshold};
use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::SpecDiagnostic;
use crate::spec::interpolate::{Piece, expand};
use crate::spec::model::*;
use crate::spec::yaml::{Node, Value};

use super::Validator;

impl Validator<'_> {
    pub(super) fn path_check(&mut self, node: &Node, value: &Node) -> Option<Condition> {
        const TESTS: [&str; 5] = ["exists", "equals", "in", "matches", "count"];
        let mut allowed = vec!["path"];
        allowed.extend(TESTS);
        self.known_keys(node, &allowed, "in a `path` condition");
        let (source, path) = self.json_path(value)?;
        let present: Vec<&str> = TESTS
            .iter()
            .copied()
            .filter(|t| node.get(t).is_some())
            .collect();
        let test_name = match present.as_slice() {
            [one] => *one,
            [] => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::PathTest, node.span, "a `path` condition needs a test")
                        .label("no test in this condition")
                        .help("add one of `exists: true`, `equals: VALUE`, `in: [VALUES]`, `matches: REGEX`, `count: \"> 0\"`"),
                );
                return None;
            }
            [_, second, ..] => {
                let span = node.get(second).map_or(node.span, |n| n.span);
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::PathTest,
                        span,
                        "a `path` condition has one test",
                    )
                    .label("a second test")
                    .help("write two conditions to test two things"),
                );
                return None;
            }
        };
        let t = node.get(test_name)?;
        let test = match test_name {
            "exists" => PathTest::Exists(self.boolean(t)?),
            "equals" => PathTest::Equals(self.json_value(t)?),
            "in" => match &t.value {
                Value::Seq(items) => PathTest::In(
                    items
                        .iter()
                        .map(|i| self.json_value(i))
                        .collect::<Option<_>>()?,
                ),
                _ => {
                    self.error(SpecDiagnostic::new(
                        DiagnosticCode::PathIn,
                        t.span,
                        "`in` takes a list of values",
                    )
                .label("a single value")
                    .help("write `in: [SUCCESS, FINISHED]`, or `equals: VALUE` for a single value"));
                    return None;
                }
            },
            "matches" => {
                let text = self.string(t)?;
                match regex::Regex::new(&text) {
                    Ok(r) => PathTest::Matches(r),
                    Err(e) => {
                        self.error(
                            SpecDiagnostic::new(
                                DiagnosticCode::Regex,
                                t.span,
                                "invalid regular expression",
                            )
                .label("not a valid regular expression")
                            .help(format!(
                                "{}; the syntax is Rust's `regex` (no look-around or backreferences): escape a literal `(`, `.` or `*` with `\\`",
                                e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ")
                            )),
                        );
                        return None;
                    }
                }
            }
            _ => {
                let comparison = self.comparison(t)?;
                if let Threshold::Percent(_) = comparison.threshold {
                    // A share needs a whole to divide by; what a path selects has none.
                    self.error(
                        SpecDiagnostic::new(DiagnosticCode::PathShare, t.span, "a JSONPath count cannot be a share")
                            .label("a percentage of what the path selects is always 0% or 100%")
                            .help("compare with a number, e.g. `count: \">= 1\"`, or count sub-jobs with `count: [SUCCESS], is: \">= 95%\"`"),
                    );
                    return None;
                }
                PathTest::Count(comparison)
            }
        };
        Some(Condition::Check(Check::Path { source, path, test }))
    }

    pub(super) fn json_path(&mut self, node: &Node) -> Option<(String, JsonPath)> {
        let text = self.string(node)?;
        match JsonPath::parse(&text) {
            Ok(path) => Some((text, path)),
            Err(e) => {
                // The parser's position is a byte offset into the expression
                // after `${VAR}` expansion: map it back to what was written.
                let at = e.position().min(text.len());
                let len = text
                    .get(at..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(0, char::len_utf8);
                let written = match node.scalar_text() {
                    Some(raw) if raw == text => Some((at, len)),
                    Some(raw) => written_range(&raw, &text, at, self.env),
                    None => None,
                };
                let span = written.map_or(node.span, |(start, len)| {
                    node.narrow(self.source, start, len)
                });
                let character = text.get(..at).map_or(at, |t| t.chars().count()) + 1;
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::Jsonpath,
                        span,
                        format!("invalid JSONPath: {}", e.message()),
                    )
                    .label(format!("{} (character {character})", e.message()))
                    .help("JSONPath follows RFC 9535, e.g. `$.sub_jobs[?@.status == 'FAILED'].id`"),
                );
                None
            }
        }
    }

    pub(super) fn json_value(&mut self, node: &Node) -> Option<Json> {
        let value = match &node.value {
            Value::Null => Some(Json::Null),
            Value::Bool(b) => Some(Json::Bool(*b)),
            Value::Int(i) => Some(Json::from(*i)),
            Value::Float(f) => Some(Json::from(*f)),
            Value::Str(_) => return self.string(node).map(Json::String),
            _ => None,
        };
        let Some(value) = value else {
            self.error(SpecDiagnostic::new(
                DiagnosticCode::Value,
                node.span,
                format!("expected a scalar value, found a {}", node.value.kind()),
            )
            .label(format!("a {}", node.value.kind()))
            .help("compare with a string, number, boolean or null; test nested values with a longer `path`"));
            return None;
        };
        // A number or boolean is compared as JSON reads it; one that YAML
        // reads differently from JSON (`007`, `0x1A`, `no`, a 36-digit id)
        // is ambiguous: say so rather than compare with what YAML made of it.
        if let Some(written) = &node.written
            && !reads_as_json(written, &value)
        {
            let read = match &node.value {
                Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                _ => value.to_string(),
            };
            let kind = node.value.kind();
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::AmbiguousValue,
                    node.span,
                    format!("`{written}` is ambiguous: YAML reads it as the {kind} {read}"),
                )
                .label(format!("YAML reads this as the {kind} {read}"))
                .help(format!(
                    "quote it to compare with the text as written: `\"{written}\"`; or write the {kind} plainly: `{read}`"
                )),
            );
            return None;
        }
        Some(value)
    }

    pub(super) fn outputs(&mut self, node: &Node) -> Option<Vec<Output>> {
        let entries = self.map(node, "`outputs`")?;
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let name = k.scalar_text().unwrap_or_default();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::OutputName,
                        k.span,
                        format!("`{name}` is not a valid output name"),
                    )
                    .label("not a valid output name")
                    .help("use letters, digits and `_`: output names become GitHub output keys"),
                );
                ok = false;
                continue;
            }
            match self.json_path(v) {
                Some((source, path)) => out.push(Output { name, source, path }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Whether `written`, a number or boolean as written in the spec, reads as
/// `value` in JSON too: the same text in a response would compare equal.
fn reads_as_json(written: &str, value: &Json) -> bool {
    match serde_json::from_str::<Json>(written) {
        // An integer beyond 64 bits is rounded through a float by both.
        Ok(Json::Number(n)) if n.is_f64() && !written.contains(['.', 'e', 'E']) => false,
        Ok(json) => &json == value,
        Err(_) => false,
    }
}

/// Where the byte at `at` of `expanded` (the `${VAR}` expansion of `raw`)
/// was written in `raw`, as `(start, len)`: the character itself when it was
/// written literally, the whole `${VAR}` (or `$${`) that produced it
/// otherwise; `at == expanded.len()` maps to the end of `raw`.
///
/// Found without knowing the expansion rules: `raw` is split at every
/// character boundary where both halves expand on their own to the matching
/// halves of `expanded`; the character lies between the nearest such splits.
/// A split right after a `$` that a following `{` or `$` could combine with
/// is never trusted. `None` when unsure (or for text long enough that the
/// quadratic search would be slow): the caller points at the whole scalar.
fn written_range(
    raw: &str,
    expanded: &str,
    at: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(usize, usize)> {
    const LONGEST: usize = 1024;
    if raw.len() > LONGEST || at > expanded.len() {
        return None;
    }
    let text = |s: &str| match expand(s, env).ok()?.as_slice() {
        [Piece::Text(t)] => Some(t.clone()),
        _ => None,
    };
    let splits: Vec<(usize, usize)> = (0..=raw.len())
        .filter(|&r| raw.is_char_boundary(r))
        .filter_map(|r| {
            let (left, right) = raw.split_at(r);
            if left.ends_with('$') && right.starts_with(['{', '$']) {
                return None;
            }
            let (left, right) = (text(left)?, text(right)?);
            (left.len() + right.len() == expanded.len()
                && expanded.starts_with(&left)
                && expanded.ends_with(&right))
            .then_some((r, left.len()))
        })
        .collect();
    let before = splits.iter().rposition(|&(_, e)| e <= at)?;
    let (start, e) = splits[before];
    if e == at && at == expanded.len() {
        return (start == raw.len()).then_some((start, 0));
    }
    let &(end, _) = splits[before + 1..].iter().find(|&&(_, e)| e > at)?;
    Some((start, end - start))
}

#[cfg(test)]
mod json_path_tests {
    use super::{Piece, expand, written_range};

    /// `raw` with its `${VAR}`s expanded, which must leave only text.
    fn expanded(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
        match expand(raw, env).unwrap().as_slice() {
            [Piece::Text(t)] => t.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "JOB" => Some("job-1".into()),
            "FIELD" => Some("stätus".into()),
            "DOLLAR" => Some("$".into()),
            _ => None,
        }
    }

    /// Where `expanded[at..]`'s first character was written in `raw`.
    fn written(raw: &str, at: usize) -> Option<&str> {
        written_range(raw, &expanded(raw, &env), at, &env)
            .map(|(start, len)| &raw[start..start + len])
    }

    #[test]
    fn characters_after_a_variable_map_past_its_reference() {
        // "$.jobs['job-1'].x ==": `==` is at byte 18 of the expansion.
        let raw = "$.jobs['${JOB}'].x ==";
        assert_eq!(written(raw, 18), Some("="));
        assert_eq!(
            written_range(raw, "$.jobs['job-1'].x ==", 18, &env),
            Some((19, 1))
        );
        // Non-ASCII in the value, a default and an escaped `$${`.
        let raw = "$.${FIELD}.${NOPE:-ab}.$${x}[";
        let expanded = "$.stätus.ab.${x}[";
        assert_eq!(written_range(raw, expanded, 16, &env), Some((27, 1)));
        assert_eq!(written_range(raw, expanded, 17, &env), Some((28, 1)));
        // The end of the expression maps to the end of what was written.
        assert_eq!(written_range(raw, expanded, 18, &env), Some((29, 0)));
    }

    #[test]
    fn characters_from_a_variable_map_to_its_reference() {
        assert_eq!(written("$.${FIELD}[", 4), Some("${FIELD}"));
        assert_eq!(written("${DOLLAR}.a", 0), Some("${DOLLAR}"));
        assert_eq!(written("a.$${x}", 2), Some("$${"));
        assert_eq!(written("a.$${x}", 3), Some("$${"));
    }

    #[test]
    fn long_text_is_not_searched() {
        let raw = format!("{}${{JOB}}", "a".repeat(2000));
        let expanded = format!("{}job-1", "a".repeat(2000));
        assert_eq!(written_range(&raw, &expanded, 2001, &env), None);
    }

    #[test]
    fn jsonpath_errors_point_at_the_written_character() {
        let env = |name: &str| match name {
            "HUAWEICLOUD_SDK_PROJECT_ID" => Some("p123".to_owned()),
            "JOB" => Some("job-1".to_owned()),
            _ => None,
        };
        let cases = [
            // Escapes before the error in a double-quoted scalar.
            (r#"path: "$['a\"b\\\\c\u00e9'] ==""#, " =="),
            // `''` before the error in a single-quoted scalar.
            ("path: '$[\"it''s\"] ?'", " ?"),
            // Block scalars: the error is on the second line.
            ("path: >-\n        $.a\n        [?@ == ]", "== ]"),
            ("path: |\n        $.a[?@ == ]", "== ]"),
            // Non-ASCII before the error; a variable before the error.
            ("path: \"$['héllo'] =\"", " ="),
            ("path: \"$['${JOB}'].x ==\"", " =="),
        ];
        for (path, marker) in cases {
            let source = format!(
                "version: 1\nwaits:\n  a:\n    image_job: x\n    success:\n      {path}\n      exists: true\n"
            );
            // The premise: the parser's error is at the marker.
            let root = crate::spec::yaml::parse(&source).unwrap();
            let node = root.get("waits").and_then(|w| w.get("a"));
            let node = node.and_then(|a| a.get("success")?.get("path")).unwrap();
            let value = expanded(&node.scalar_text().unwrap(), &env);
            let error = serde_json_path::JsonPath::parse(&value).unwrap_err();
            assert_eq!(Some(error.position()), value.rfind(marker), "{value:?}");
            let errors = crate::spec::parse("spec.yaml", &source, &env).unwrap_err();
            let d = &errors.diagnostics[0];
            assert_eq!(d.code, "spec::jsonpath", "{path}");
            let expected = source.rfind(marker).unwrap();
            assert_eq!(d.span.offset, expected, "{path}: {d:?}");
            let line_start = source[..expected].rfind('\n').unwrap() + 1;
            let column = source[line_start..expected].chars().count() + 1;
            assert_eq!(
                (d.span.line, d.span.column),
                (source[..expected].matches('\n').count() + 1, column),
                "{path}"
            );
        }
    }
}
