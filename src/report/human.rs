//! The end-of-run summary printed on stderr: what a person reads first when a
//! gate fails, so it names the failing items and the last API error instead
//! of making them open the JSON report.
//!
//! Colour is plain ANSI codes (no dependency needed for five colours); whether
//! to use it (`--color`, `NO_COLOR`, a terminal or not) is decided by the
//! caller and passed in [`Style`].

use std::fmt::Write as _;
use std::time::Duration;

use super::model::{ApiErrorInfo, Outcome, RunReport, WaitReport};
use super::words::{is_problem, label, mark};
use crate::api::model::Item;
use crate::spec::duration;

/// How many failing items are listed per wait before "… and N more"; the
/// JSON report has all of them.
pub(crate) const MAX_ITEMS: usize = 5;

/// Below this many columns for the reason, wrapping would make a narrow
/// ribbon of text that is harder to read than one long line.
const MIN_WRAP: usize = 24;

/// How to render the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Style {
    /// Whether to use ANSI colours.
    pub color: bool,
    /// The terminal's width in columns; long lines are wrapped to it.
    pub width: usize,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// Text made safe to print: control characters (escape sequences, bells,
/// carriage returns) become U+FFFD and tabs spaces, so that text cannot
/// move the cursor, recolour or clear a terminal or a CI log. Line breaks
/// are kept. Reports are already redacted ([`crate::redact`]); this keeps
/// the renderer safe on its own too.
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            '\n' => '\n',
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect::<String>()
        .into()
}

/// The elapsed time of a wait as people write it (`12m4s`, `1.5s`).
pub(crate) fn elapsed(ms: u64) -> String {
    duration::format(Duration::from_millis(ms))
}

/// One item in words: id, job type, status, error and resource, in the
/// order a person scans them.
pub(crate) fn describe_item(item: &Item) -> String {
    let mut out = item.id.clone();
    if let Some(job_type) = &item.job_type {
        let _ = write!(out, " {job_type}");
    }
    let _ = write!(out, " {}", item.status);
    if let Some(progress) = item.progress {
        let _ = write!(out, " {progress}%");
    }
    match (&item.error_code, &item.error_message) {
        (Some(code), Some(message)) => {
            let _ = write!(out, " {code}: {message}");
        }
        (Some(code), None) => {
            let _ = write!(out, " {code}");
        }
        (None, Some(message)) => {
            let _ = write!(out, " {message}");
        }
        (None, None) => {}
    }
    match (&item.resource_name, &item.resource_id) {
        (Some(name), _) => {
            let _ = write!(out, " (resource {name})");
        }
        (None, Some(id)) => {
            let _ = write!(out, " (resource {id})");
        }
        (None, None) => {}
    }
    if let Some(user) = &item.user_name {
        let _ = write!(out, " (user {user})");
    }
    out
}

/// The last API error in words, with everything Huawei support asks for.
pub(crate) fn describe_error(error: &ApiErrorInfo) -> String {
    let mut out = String::new();
    if let Some(status) = error.http_status {
        let _ = write!(out, "HTTP {status} ");
    }
    if let Some(code) = &error.code {
        let _ = write!(out, "{code}: ");
    }
    out.push_str(&error.message);
    if let Some(id) = &error.request_id {
        let _ = write!(out, " (request id {id})");
    }
    out
}

/// Counts of waits per outcome in words, e.g. `2 met, 1 failed`.
pub(crate) fn tally(report: &RunReport) -> String {
    const ORDER: [Outcome; 11] = [
        Outcome::Met,
        Outcome::InternalError,
        Outcome::Failed,
        Outcome::UnexpectedState,
        Outcome::NotFound,
        Outcome::TimedOut,
        Outcome::AuthError,
        Outcome::ApiError,
        Outcome::Running,
        Outcome::Cancelled,
        Outcome::Skipped,
    ];
    if report.waits.is_empty() {
        return "no waits".into();
    }
    ORDER
        .iter()
        .filter_map(|&o| {
            let n = report.waits.iter().filter(|w| w.outcome == o).count();
            (n > 0).then(|| format!("{n} {}", label(o)))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Renders the summary: one line per wait, the failing items and last API
/// error under each wait that did not pass, and a final line with the
/// overall outcome and exit code. Every line ends with a newline.
pub(crate) fn render(report: &RunReport, style: Style) -> String {
    let paint = Painter(style.color);
    let name_width = report
        .waits
        .iter()
        .map(|w| w.name.chars().count())
        .max()
        .unwrap_or(0);
    let outcome_width = report
        .waits
        .iter()
        .map(|w| label(w.outcome).len())
        .max()
        .unwrap_or(0);
    let durations: Vec<String> = report.waits.iter().map(wait_duration).collect();
    let duration_width = durations
        .iter()
        .map(|d| d.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (wait, took) in report.waits.iter().zip(&durations) {
        let color = color_of(wait.outcome);
        // Columns are padded on the plain text, then painted, so escape codes
        // never count towards the alignment.
        let prefix_width = 2 + name_width + 2 + outcome_width + 2 + duration_width + 2;
        let _ = write!(
            out,
            "{} {}  {}  {:>duration_width$}  ",
            paint.apply(mark(wait.outcome), color),
            paint.apply(&format!("{:<name_width$}", wait.name), BOLD),
            paint.apply(&format!("{:<outcome_width$}", label(wait.outcome)), color),
            took,
        );
        push_wrapped(&mut out, wait.headline(), prefix_width, style.width);
        if is_problem(wait.outcome) {
            details(&mut out, wait, &paint, style.width);
        }
        outputs(&mut out, wait, &paint, style.width);
    }
    let overall = match &report.interrupted_by {
        Some(signal) => format!("interrupted by {signal}"),
        None => label(report.outcome).to_owned(),
    };
    let mark = if report.interrupted_by.is_some() {
        mark(Outcome::Cancelled)
    } else {
        mark(report.outcome)
    };
    let color = if report.exit_code == crate::exit::SUCCESS {
        GREEN
    } else {
        color_of(report.outcome)
    };
    let _ = write!(out, "{} ", paint.apply(mark, color));
    let last = format!(
        "{overall} — {} — exit code {}",
        tally(report),
        report.exit_code
    );
    push_wrapped(&mut out, &last, 2, style.width);
    out
}

/// The duration column: a wait that never ran has no duration to show.
pub(crate) fn wait_duration(wait: &WaitReport) -> String {
    if wait.outcome == Outcome::Skipped && wait.elapsed_ms == 0 {
        "-".into()
    } else {
        elapsed(wait.elapsed_ms)
    }
}

const INDENT: &str = "    ";

/// The values the wait captured, so a person sees them without the JSON
/// report.
fn outputs(out: &mut String, wait: &WaitReport, paint: &Painter, width: usize) {
    for (key, value) in &wait.outputs {
        let lead = format!("output {key} = ");
        let _ = write!(out, "{INDENT}{}", paint.apply(&lead, DIM));
        push_wrapped(out, value, INDENT.len() + lead.chars().count(), width);
    }
}

/// Why the wait ended, its items and the last API error, indented under
/// it.
fn details(out: &mut String, wait: &WaitReport, paint: &Painter, width: usize) {
    if let Some(because) = wait.because() {
        let lead = "ended because: ";
        let _ = write!(out, "{INDENT}{}", paint.apply(lead, DIM));
        push_wrapped(out, because, INDENT.len() + lead.len(), width);
    }
    let (items, total) = wait.shown_items();
    for item in items.iter().take(MAX_ITEMS) {
        let _ = write!(out, "{INDENT}{} ", paint.apply("•", color_of(wait.outcome)));
        push_wrapped(out, &describe_item(item), INDENT.len() + 2, width);
    }
    let listed = items.len().min(MAX_ITEMS) as u64;
    if total > listed {
        let more = total - listed;
        let _ = writeln!(
            out,
            "{INDENT}{}",
            paint.apply(
                &format!("… and {more} more (all are in the JSON report)"),
                DIM
            )
        );
    }
    if let Some(error) = &wait.last_error {
        let lead = "last API error: ";
        let _ = write!(out, "{INDENT}{}", paint.apply(lead, DIM));
        push_wrapped(
            out,
            &describe_error(error),
            INDENT.len() + lead.len(),
            width,
        );
    }
}

/// Appends `text` and a newline, wrapping at word boundaries so that no line
/// passes `width`; continuation lines are indented to `indent`, the column
/// where the text started. Words longer than a line are kept whole (a URL or
/// id cut in two is worse than a long line). Embedded newlines are kept;
/// other control characters are replaced (see [`printable`]).
fn push_wrapped(out: &mut String, text: &str, indent: usize, width: usize) {
    let text = &printable(text);
    let avail = width.saturating_sub(indent);
    let pad = " ".repeat(indent);
    for (n, paragraph) in text.lines().enumerate() {
        if n > 0 {
            out.push_str(&pad);
        }
        if avail < MIN_WRAP {
            out.push_str(paragraph);
            out.push('\n');
            continue;
        }
        let mut used = 0;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let len = word.chars().count();
            if used > 0 && used + 1 + len > avail {
                out.push('\n');
                out.push_str(&pad);
                used = 0;
            } else if used > 0 {
                out.push(' ');
                used += 1;
            }
            out.push_str(word);
            used += len;
        }
        out.push('\n');
    }
    if text.is_empty() {
        out.push('\n');
    }
}

const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";
const BOLD: &str = "1";
const DIM: &str = "2";

fn color_of(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => GREEN,
        Outcome::Failed | Outcome::UnexpectedState | Outcome::NotFound => RED,
        Outcome::TimedOut => YELLOW,
        Outcome::AuthError | Outcome::ApiError | Outcome::InternalError => MAGENTA,
        Outcome::Skipped | Outcome::Cancelled | Outcome::Running => DIM,
    }
}

/// Wraps text in an SGR code when colour is on.
struct Painter(bool);

impl Painter {
    fn apply(&self, text: &str, code: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::samples;

    const PLAIN: Style = Style {
        color: false,
        width: 100,
    };

    #[test]
    fn snapshot_met() {
        insta::assert_snapshot!(render(&samples::met(), PLAIN));
    }

    #[test]
    fn snapshot_failed_with_blame() {
        insta::assert_snapshot!(render(&samples::failed(), PLAIN));
    }

    #[test]
    fn snapshot_timed_out() {
        insta::assert_snapshot!(render(&samples::timed_out(), PLAIN));
    }

    #[test]
    fn snapshot_mixed() {
        insta::assert_snapshot!(render(&samples::mixed(), PLAIN));
    }

    #[test]
    fn snapshot_cancelled_narrow() {
        insta::assert_snapshot!(render(
            &samples::cancelled(),
            Style {
                color: false,
                width: 60
            }
        ));
    }

    #[test]
    fn caps_items_and_says_how_many_were_left_out() {
        let text = render(&samples::failed(), PLAIN);
        assert_eq!(text.matches("• sub-").count(), MAX_ITEMS);
        assert!(text.contains("… and 9 more"), "{text}");
    }

    #[test]
    fn lines_fit_the_width_when_words_allow() {
        for width in [60, 80, 120] {
            let style = Style {
                color: false,
                width,
            };
            for (name, report) in samples::all() {
                for line in render(&report, style).lines() {
                    let longest_word = line
                        .split(' ')
                        .map(|w| w.chars().count())
                        .max()
                        .unwrap_or(0);
                    assert!(
                        line.chars().count() <= width || longest_word > width / 3,
                        "{name} at {width}: {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let report = samples::mixed();
        let plain = render(&report, PLAIN);
        let coloured = render(
            &report,
            Style {
                color: true,
                ..PLAIN
            },
        );
        assert!(!plain.contains('\x1b'));
        assert!(coloured.contains("\x1b[31m✘\x1b[0m"), "{coloured}");
        let stripped = coloured.replace("\x1b[0m", "");
        let stripped = ["31", "32", "33", "35", "1", "2"]
            .iter()
            .fold(stripped, |s, c| s.replace(&format!("\x1b[{c}m"), ""));
        assert_eq!(
            stripped, plain,
            "colour does not change the text or alignment"
        );
    }

    #[test]
    fn final_line_has_outcome_and_exit_code() {
        let text = render(&samples::cancelled(), PLAIN);
        let last = text.lines().last().unwrap();
        assert_eq!(
            last,
            "⊘ interrupted by SIGINT — 1 cancelled, 1 skipped — exit code 130"
        );
        let empty = RunReport {
            waits: Vec::new(),
            ..samples::met()
        };
        assert_eq!(render(&empty, PLAIN), "✔ met — no waits — exit code 0\n");
    }

    #[test]
    fn control_characters_from_the_api_are_not_printed() {
        let mut report = samples::failed();
        report.waits[0].reason = "last seen RUN\x1b[2J\x07NING\r\nthen\tthis".into();
        report.waits[0].blame[0].error_message = Some("\x1b]0;title\x07".into());
        let text = render(&report, PLAIN);
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        assert!(
            text.contains("RUN\u{FFFD}[2J\u{FFFD}NING\u{FFFD}"),
            "{text}"
        );
        assert_eq!(printable("plain\ntext"), "plain\ntext");
    }

    #[test]
    fn describes_items_with_partial_fields() {
        let mut item = samples::failed().waits[0].blame[0].clone();
        item.job_type = None;
        item.error_message = None;
        item.resource_name = None;
        assert_eq!(
            describe_item(&item),
            "sub-001 FAILED WKS.0163 (resource srv-id-001)"
        );
    }
}
