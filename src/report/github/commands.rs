//! Workflow commands: `::name key=value::data` lines the runner reads from
//! the log, escaped by the rules of `@actions/core` (message data escapes
//! `%`, `\r` and `\n`; property values also escape `:` and `,`), and the
//! log groups fenced with `::stop-commands::` around server text.

use std::fmt::Write as _;

use crate::report::model::RunReport;
use crate::report::words::label;

/// Escapes the data part of a workflow command (after the last `::`).
pub(crate) fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command (`title=`, `file=`).
pub(crate) fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A workflow command line: `::name key=value,...::data`.
pub(super) fn command(name: &str, properties: &[(&str, String)], data: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    let sep = if props.is_empty() { "" } else { " " };
    format!("::{name}{sep}{}::{}", props.join(","), escape_data(data))
}

/// `::add-mask::` lines that hide `secret` in the log from now on. GitHub
/// masks line by line, so each non-blank line of a multi-line secret is
/// masked on its own; a blank secret gives an empty string.
pub(crate) fn mask(secret: &str) -> String {
    secret
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| command("add-mask", &[], line))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Starts a foldable group in the log.
pub(crate) fn group(title: &str) -> String {
    command("group", &[], title)
}

/// Ends the group started by [`group`].
pub(crate) fn endgroup() -> String {
    "::endgroup::".into()
}

/// A random token no server can guess, for `::stop-commands::`.
fn stop_token() -> String {
    format!(
        "jobgate-{:016x}{:016x}",
        fastrand::u64(..),
        fastrand::u64(..)
    )
}

/// A foldable log group whose `body` (which carries server text) the runner
/// does not scan for workflow commands: GitHub's documented
/// `::stop-commands::TOKEN` before it and `::TOKEN::` after, with a fresh
/// random token the body does not contain. The body is expected to be
/// redacted already (see [`crate::redact`]); this is the second fence.
pub(crate) fn log_group(title: &str, body: &str) -> String {
    let token = loop {
        let token = stop_token();
        if !body.contains(&token) {
            break token;
        }
    };
    let mut out = group(title);
    let _ = write!(out, "\n::stop-commands::{token}\n");
    for line in body.lines() {
        let _ = writeln!(out, "{line}");
    }
    let _ = write!(out, "::{token}::\n{}", endgroup());
    out
}

/// Each wait's detail (its state changes and reason) as a foldable log
/// group: the annotations say what failed, these say how it got there.
pub(crate) fn wait_log_groups(report: &RunReport) -> Vec<String> {
    report
        .waits
        .iter()
        .map(|wait| {
            let title = format!("jobgate: {} — {}", wait.name, label(wait.outcome));
            let mut body = String::new();
            for entry in &wait.history {
                let at = entry.at_ms as f64 / 1000.0;
                let _ = writeln!(body, "[{at:>7.1}s] {}", entry.state);
            }
            body.push_str(&wait.reason);
            log_group(&title, &body)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn log_groups_stop_commands_around_their_body() {
        let text = log_group("jobgate: w — failed", "line one\n::error::pwned");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "::group::jobgate: w — failed");
        let token = lines[1].strip_prefix("::stop-commands::").expect("stop");
        assert!(token.len() >= 32, "{token}");
        assert_eq!(&lines[2..4], ["line one", "::error::pwned"]);
        assert_eq!(lines[4], format!("::{token}::"));
        assert_eq!(lines[5], "::endgroup::");
        assert_ne!(
            log_group("t", "b"),
            log_group("t", "b"),
            "a fresh token each time"
        );
    }

    #[test]
    fn commands_and_masks() {
        assert_eq!(group("wait: build"), "::group::wait: build");
        assert_eq!(endgroup(), "::endgroup::");
        assert_eq!(mask("s3cr%t"), "::add-mask::s3cr%25t");
        assert_eq!(
            mask("line1\n\nline2\n"),
            "::add-mask::line1\n::add-mask::line2"
        );
        assert_eq!(mask("  "), "");
    }
}
