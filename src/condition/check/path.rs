//! JSONPath tests: what a path selects, judged per role, where "selects
//! nothing" proves absence only inside a container that exists.

use serde_json::Value;
use serde_json_path::JsonPath;

use super::{Finding, PathTest, Role};
use crate::api::model::Observation;

/// A JSONPath check on one observation. As success, every selected value
/// must pass (and at least one be selected); as failure, any one fires it.
pub(super) fn evaluate<'a>(
    obs: &Observation,
    source: &str,
    path: &JsonPath,
    test: &PathTest,
    role: Role,
) -> Finding<'a> {
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
