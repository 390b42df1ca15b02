//! JUnit XML, so CI systems that show test results (GitLab, Jenkins, test
//! reporter actions) show each wait as a test case.
//!
//! Mapping: one `<testsuite name="jobgate">` (inside the usual
//! `<testsuites>` root), one `<testcase>` per wait with `classname` = the wait
//! kind and `time` in seconds.
//!
//! - failed, unexpected state, not found, timed out: `<failure>`: the gate
//!   checked and the job did not pass;
//! - auth error, API error: `<error>`: the gate could not check at all, which
//!   JUnit readers show apart from failures;
//! - skipped, cancelled, running: `<skipped>`.
//!
//! The XML is written by hand: the format is a handful of elements, and one
//! escape function is smaller than an XML crate.

use std::fmt::Write as _;

use super::human::{describe_error, describe_item};
use super::model::{Outcome, RunReport, WaitReport};
use super::words::label;

/// How a wait shows up in JUnit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Passed,
    Failure,
    Error,
    Skipped,
}

fn verdict(outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Met => Verdict::Passed,
        Outcome::Failed | Outcome::UnexpectedState | Outcome::NotFound | Outcome::TimedOut => {
            Verdict::Failure
        }
        Outcome::AuthError | Outcome::ApiError | Outcome::InternalError => Verdict::Error,
        Outcome::Skipped | Outcome::Cancelled | Outcome::Running => Verdict::Skipped,
    }
}

/// Writes the JUnit report to `path` atomically (see
/// [`super::file::write_atomic`]).
pub(crate) fn write(report: &RunReport, path: &std::path::Path) -> std::io::Result<()> {
    super::file::write_atomic(path, render(report).as_bytes())
}

/// Renders the report as a JUnit XML document (UTF-8, final newline).
pub(crate) fn render(report: &RunReport) -> String {
    let count = |v: Verdict| {
        report
            .waits
            .iter()
            .filter(|w| verdict(w.outcome) == v)
            .count()
    };
    let tests = report.waits.len();
    let (failures, errors, skipped) = (
        count(Verdict::Failure),
        count(Verdict::Error),
        count(Verdict::Skipped),
    );
    let total_ms: u64 = report.waits.iter().map(|w| w.elapsed_ms).sum();
    let counts = format!(
        r#"tests="{tests}" failures="{failures}" errors="{errors}" skipped="{skipped}" time="{}""#,
        seconds(total_ms)
    );
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, r#"<testsuites name="jobgate" {counts}>"#);
    let _ = writeln!(
        out,
        r#"  <testsuite name="jobgate" {counts} timestamp="{}">"#,
        escape(&report.started_at)
    );
    out.push_str("    <properties>\n");
    for (name, value) in [
        ("spec", report.spec.as_str()),
        ("version", report.version.as_str()),
        ("outcome", report.outcome.as_str()),
        ("exit_code", &report.exit_code.to_string()),
    ] {
        let _ = writeln!(
            out,
            r#"      <property name="{name}" value="{}"/>"#,
            escape(value)
        );
    }
    if let Some(signal) = &report.interrupted_by {
        let _ = writeln!(
            out,
            r#"      <property name="interrupted_by" value="{}"/>"#,
            escape(signal)
        );
    }
    out.push_str("    </properties>\n");
    for wait in &report.waits {
        testcase(&mut out, wait);
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

fn testcase(out: &mut String, wait: &WaitReport) {
    let _ = write!(
        out,
        r#"    <testcase name="{}" classname="{}" time="{}""#,
        escape(&wait.name),
        escape(&wait.kind),
        seconds(wait.elapsed_ms)
    );
    let message = format!("{}: {}", label(wait.outcome), wait.headline());
    match verdict(wait.outcome) {
        Verdict::Passed => out.push_str(">\n"),
        Verdict::Skipped => {
            let _ = writeln!(out, ">\n      <skipped message=\"{}\"/>", escape(&message));
        }
        Verdict::Failure | Verdict::Error => {
            let element = if verdict(wait.outcome) == Verdict::Failure {
                "failure"
            } else {
                "error"
            };
            let _ = writeln!(
                out,
                ">\n      <{element} message=\"{}\" type=\"{}\">{}</{element}>",
                escape(&message),
                wait.outcome.as_str(),
                escape_text(&details(wait))
            );
        }
    }
    let _ = writeln!(
        out,
        "      <system-out>{}</system-out>",
        escape_text(&log(wait))
    );
    out.push_str("    </testcase>\n");
}

/// The body of a failure: every blamed item and the last API error. Unlike
/// the terminal summary nothing is capped: JUnit viewers fold long bodies.
fn details(wait: &WaitReport) -> String {
    let mut text = format!("{}\n", wait.headline());
    if let Some(because) = wait.because() {
        let _ = writeln!(text, "ended because: {because}");
    }
    let _ = writeln!(text, "success: {}", wait.success);
    if let Some(failure) = &wait.failure {
        let _ = writeln!(text, "failure: {failure}");
    }
    let (items, total) = wait.shown_items();
    if !items.is_empty() {
        let _ = writeln!(text, "items:");
        for item in items {
            let _ = writeln!(text, "  - {}", describe_item(item));
        }
        if total > items.len() as u64 {
            let _ = writeln!(text, "  … and {} more", total - items.len() as u64);
        }
    }
    if let Some(evidence) = &wait.evidence {
        for (code, meaning) in &evidence.known_codes {
            let _ = writeln!(text, "{code}: {meaning}");
        }
    }
    if let Some(error) = &wait.last_error {
        let _ = writeln!(text, "last API error: {}", describe_error(error));
    }
    text
}

/// What the wait did, for `<system-out>`: requests, counters, state changes
/// and outputs.
fn log(wait: &WaitReport) -> String {
    let mut text = String::new();
    for request in &wait.requests {
        let _ = writeln!(text, "{request}");
    }
    let _ = writeln!(
        text,
        "polls: {}, requests: {}, retries: {}",
        wait.polls, wait.requests_sent, wait.retries
    );
    for entry in &wait.history {
        let _ = writeln!(text, "+{}: {}", seconds(entry.at_ms), entry.state);
    }
    for (key, value) in &wait.outputs {
        let _ = writeln!(text, "output {key} = {value}");
    }
    text
}

/// Milliseconds as seconds with three decimals, as JUnit readers expect.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Escapes text for an XML attribute or element. Characters XML 1.0 cannot
/// carry at all (most control characters) become U+FFFD so that one odd API
/// message cannot make the whole file unreadable; line breaks and tabs are
/// written as character references so attributes keep them.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escapes text for element content, where line breaks and tabs can stay as
/// they are (so failure bodies read as text in the file too).
pub(crate) fn escape_text(text: &str) -> String {
    escape(text).replace("&#10;", "\n").replace("&#9;", "\t")
}

/// The `Char` production of XML 1.0.
fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\u{9}' | '\u{A}' | '\u{D}'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::samples;

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("invalid XML: {e}\n{xml}"))
    }

    fn attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
        node.attribute(name).unwrap_or_default()
    }

    #[test]
    fn every_sample_is_well_formed_with_consistent_counts() {
        for (name, report) in samples::all() {
            let xml = render(&report);
            let doc = parse(&xml);
            let suite = doc
                .descendants()
                .find(|n| n.has_tag_name("testsuite"))
                .unwrap();
            let cases: Vec<_> = suite
                .children()
                .filter(|n| n.has_tag_name("testcase"))
                .collect();
            let with = |tag: &str| {
                cases
                    .iter()
                    .filter(|c| c.children().any(|n| n.has_tag_name(tag)))
                    .count()
                    .to_string()
            };
            assert_eq!(attr(suite, "tests"), cases.len().to_string(), "{name}");
            assert_eq!(attr(suite, "failures"), with("failure"), "{name}");
            assert_eq!(attr(suite, "errors"), with("error"), "{name}");
            assert_eq!(attr(suite, "skipped"), with("skipped"), "{name}");
        }
    }

    #[test]
    fn mixed_run_maps_each_outcome() {
        let xml = render(&samples::mixed());
        let doc = parse(&xml);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let suite = root.first_element_child().unwrap();
        assert_eq!(attr(suite, "name"), "jobgate");
        assert_eq!(
            (
                attr(suite, "tests"),
                attr(suite, "failures"),
                attr(suite, "errors"),
                attr(suite, "skipped")
            ),
            ("5", "2", "1", "1")
        );
        let cases: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(attr(cases[1], "classname"), "app_server_sub_jobs");
        assert_eq!(attr(cases[1], "time"), "190.000");
        let failure = cases[1]
            .children()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        assert_eq!(
            attr(failure, "message"),
            "failed: sub-job sub-001 (CREATE_SERVER) FAILED on app-server-001 — WKS.0163 The flavor is sold out in this availability zone. (and 1 more failed item)"
        );
        // The verdict's reason follows the cause in the body.
        assert!(
            failure
                .text()
                .unwrap()
                .contains("ended because: 2 sub-jobs are FAILED"),
            "{failure:?}"
        );
        let body = failure.text().unwrap();
        assert!(
            body.contains(r#"quota "instances" exceeded: need 3, have 1 <limit>, 50% used"#),
            "{body}"
        );
        assert!(body.contains("request id 5e0f7d2c9b1a4e8f"), "{body}");
        let out = cases[0]
            .children()
            .find(|n| n.has_tag_name("system-out"))
            .unwrap();
        assert!(
            out.text()
                .unwrap()
                .contains("output note = line one\nline two | with <html> & 100%")
        );
        assert!(
            xml.contains("polls: 12, requests: 12, retries: 0\n+0.000: RUNNING\n"),
            "line breaks stay literal in element text"
        );
    }

    #[test]
    fn escaping_round_trips_through_a_parser() {
        let nasty = "a<b>&\"c\"'d'\n\te\u{1}\u{FFFF}🦀";
        let xml = format!("<x a=\"{}\">{}</x>", escape(nasty), escape_text(nasty));
        let doc = parse(&xml);
        let expected = "a<b>&\"c\"'d'\n\te\u{FFFD}\u{FFFD}🦀";
        assert_eq!(doc.root_element().attribute("a"), Some(expected));
        assert_eq!(doc.root_element().text(), Some(expected));
    }

    #[test]
    fn cancelled_run_is_all_skipped_and_records_the_signal() {
        let xml = render(&samples::cancelled());
        let doc = parse(&xml);
        let skipped = doc
            .descendants()
            .filter(|n| n.has_tag_name("skipped"))
            .count();
        assert_eq!(skipped, 2);
        assert!(
            doc.descendants()
                .any(|n| attr(n, "name") == "interrupted_by" && attr(n, "value") == "SIGINT")
        );
    }
}
