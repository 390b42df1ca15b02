//! Located spec errors, rendered with miette: file, line and column, a label
//! under the offending text, and a hint saying how to fix it.

use std::borrow::Cow;
use std::fmt;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};

use super::code::DiagnosticCode;
use super::yaml::Span;

/// One mistake in a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecDiagnostic {
    /// What kind of mistake; its string form (`spec::unknown_key`) is stable.
    pub code: DiagnosticCode,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is.
    pub span: Span,
    /// The text under the marker.
    pub label: String,
    /// How to fix it, when there is something better to say than the message.
    pub help: Option<String>,
}

impl SpecDiagnostic {
    /// A diagnostic whose label is the message itself.
    pub(crate) fn new(code: DiagnosticCode, span: Span, message: impl Into<String>) -> Self {
        let message = message.into();
        SpecDiagnostic {
            code,
            label: "here".to_owned(),
            message,
            span,
            help: None,
        }
    }

    /// Sets the text under the marker.
    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the hint.
    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Every mistake found in one spec file, with the file's text for rendering.
#[derive(Debug)]
pub struct SpecErrors {
    /// The spec's name as given on the command line.
    pub origin: String,
    /// The spec's text.
    pub source: String,
    /// The mistakes, in the order they appear in the file.
    pub diagnostics: Vec<SpecDiagnostic>,
}

impl SpecErrors {
    /// Renders every diagnostic as miette does, in colour when `color` says so.
    pub fn render(&self, color: bool, width: usize) -> String {
        let theme = if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        };
        let handler = miette::GraphicalReportHandler::new_themed(theme)
            .with_width(width)
            .with_links(false);
        let mut out = String::new();
        for diagnostic in self.located().take(MAX_RENDERED) {
            // Writing to a String cannot fail.
            let _ = handler.render_report(&mut out, &diagnostic);
        }
        let count = self.diagnostics.len();
        if count > MAX_RENDERED {
            out.push_str(&format!(
                "… and {} more not shown: fix these first, then validate again.\n",
                count - MAX_RENDERED
            ));
        }
        out.push_str(&format!(
            "{} in {}: nothing was polled.\n",
            plural(count, "error", "errors"),
            self.origin
        ));
        out
    }

    /// The diagnostics as shown to the user: YAML syntax errors are located
    /// and explained (see [`explain_yaml`]), the others are as found.
    pub(crate) fn shown(&self) -> impl Iterator<Item = Cow<'_, SpecDiagnostic>> {
        self.diagnostics
            .iter()
            .map(|d| match explain_yaml(d, &self.source) {
                Some(explained) => Cow::Owned(explained),
                None => Cow::Borrowed(d),
            })
    }

    /// Each diagnostic paired with the source, ready for a miette handler.
    pub(crate) fn located(&self) -> impl Iterator<Item = Located<'_>> {
        self.shown().map(move |diagnostic| Located {
            diagnostic,
            source: Excerpt {
                name: &self.origin,
                text: &self.source,
            },
        })
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.shown() {
            writeln!(
                f,
                "{}:{}:{}: {}",
                self.origin, d.span.line, d.span.column, d.message
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// At most this many diagnostics are rendered; a spec with more (a generated
/// or wrongly concatenated file) gets a count of the rest instead of pages.
const MAX_RENDERED: usize = 50;

/// Bytes of source shown on either side of a label, and the longest label,
/// so that a very long line (a minified or generated file) prints an excerpt
/// instead of megabytes.
const EXCERPT_MARGIN: usize = 80;

/// Labels longer than this (in bytes) are cut to [`EXCERPT_MARGIN`].
const LONGEST_LABEL: usize = 4096;

/// A diagnostic with its source attached, as miette wants it.
#[derive(Debug)]
pub(crate) struct Located<'a> {
    diagnostic: Cow<'a, SpecDiagnostic>,
    source: Excerpt<'a>,
}

/// The spec's text as miette reads it: whole lines with their context when
/// they are of a reasonable length, a window around the label otherwise.
#[derive(Debug)]
struct Excerpt<'a> {
    name: &'a str,
    text: &'a str,
}

impl Excerpt<'_> {
    fn floor(&self, mut at: usize) -> usize {
        at = at.min(self.text.len());
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }
}

impl SourceCode for Excerpt<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let full = self.text.read_span(span, before, after)?;
        let (start, len) = (full.span().offset(), full.span().len());
        let limit = 2 * EXCERPT_MARGIN + span.len() + 2 * 120;
        let (start, end, line, column) = if len <= limit {
            (start, start + len, full.line(), full.column())
        } else {
            let ws = self.floor(span.offset().saturating_sub(EXCERPT_MARGIN).max(start));
            let we = self.floor((span.offset() + span.len() + EXCERPT_MARGIN).min(start + len));
            let skipped = &self.text[start..ws];
            let line = full.line() + skipped.matches('\n').count();
            let column = match skipped.rfind('\n') {
                Some(nl) => skipped.len() - nl - 1,
                None => full.column() + skipped.len(),
            };
            (ws, we, line, column)
        };
        let data = &self.text.as_bytes()[start..end];
        let lines = data.iter().filter(|b| **b == b'\n').count() + 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_owned(),
            data,
            (start, end - start).into(),
            line,
            column,
            lines,
        )))
    }
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Located<'_> {}

impl Diagnostic for Located<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.diagnostic.span;
        let text = self.source.text;
        let start = self.source.floor(span.offset);
        // A label over a huge scalar underlines its beginning only.
        let shown = if span.len > LONGEST_LABEL {
            EXCERPT_MARGIN
        } else {
            span.len
        };
        let end = self.source.floor(start + shown).max(start);
        let len = if end > start {
            end - start
        } else {
            text[start..].chars().next().map_or(0, char::len_utf8)
        };
        let span = SourceSpan::new(start.into(), len);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.diagnostic.label.clone()),
            span,
        ))))
    }
}

/// The YAML parser's error in the user's terms. Its message carries the
/// location as text (`error: line 6 column 13: unclosed bracket '['`) and
/// sometimes no byte offset, which would put the label on the first
/// character of the file: the label goes where the message says,
/// the location prefix is dropped (the header shows it), and common
/// mistakes get a specific hint.
fn explain_yaml(d: &SpecDiagnostic, source: &str) -> Option<SpecDiagnostic> {
    if d.code != DiagnosticCode::Yaml {
        return None;
    }
    let detail = d.message.strip_prefix("invalid YAML: ")?;
    let detail = detail.strip_prefix("error: ").unwrap_or(detail);
    let mut out = d.clone();
    let mut reason = detail;
    if let Some(rest) = detail.strip_prefix("line ")
        && let Some((line, rest)) = rest.split_once(" column ")
        && let Some((column, rest)) = rest.split_once(": ")
        && let (Ok(line), Ok(column)) = (line.parse::<usize>(), column.parse::<usize>())
    {
        reason = rest;
        // The parser sometimes gives the line and column but no byte offset,
        // which would put the label on the first character of the file.
        let unlocated = d.span.offset == 0 && (line, column) != (1, 1);
        if unlocated && let Some(span) = Span::at(source, line, column) {
            out.span = span;
        }
    }
    out.message = format!("invalid YAML: {reason}");
    let (label, help): (&str, Cow<'_, str>) = if let Some(rest) =
        reason.strip_prefix("duplicate mapping key: ")
    {
        let key = rest.split(", set ").next().unwrap_or(rest);
        out.message = format!("`{key}` is declared twice in the same mapping");
        (
            "declared again here",
            "give each wait and each key its own name: YAML would silently keep only one".into(),
        )
    } else if reason.contains("tabs disallowed") {
        // The parser points after the tab; the label goes on the tab itself.
        let line_start = out.span.offset - (out.span.column - 1).min(out.span.offset);
        if let Some(line) = source.get(line_start..).and_then(|t| t.split('\n').next())
            && let Some(at) = line.find('\t')
        {
            out.span = Span {
                offset: line_start + at,
                len: 1,
                line: out.span.line,
                column: line[..at].chars().count() + 1,
            };
        }
        (
            "a tab",
            "YAML indents with spaces only: replace the tab with spaces".into(),
        )
    } else if reason.starts_with("unclosed bracket") {
        (
            "opened here, never closed",
            "close the list with `]` (or the mapping with `}`); is the file complete?".into(),
        )
    } else if reason.starts_with("unclosed quote") {
        (
            "quote opened here, never closed",
            "close the string with the same quote; is the file complete?".into(),
        )
    } else if reason.contains("did not find expected key") {
        (
            "not aligned with the keys above",
            "indent this line with the same number of spaces as its sibling keys".into(),
        )
    } else if reason.starts_with("budget breached") {
        out.message = "the spec is too large to be a wait spec".to_owned();
        (
            "the parser's size limit was reached here",
            "a spec declares a handful of waits: check that the right file was passed".into(),
        )
    } else {
        return Some(out);
    };
    out.label = label.to_owned();
    out.help = Some(help.into_owned());
    Some(out)
}

/// The hint for a misspelt word: "did you mean `X`?" when a candidate is
/// close (see [`did_you_mean`]), `otherwise` (say, the valid words) when none is.
pub(crate) fn suggestion<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    match did_you_mean(word, candidates) {
        Some(s) => format!("did you mean `{s}`?"),
        None => otherwise(),
    }
}

/// The closest of `candidates` to `word`, for "did you mean" hints.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word_lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(
            did_you_mean("SUCESS", ["SUCCESS", "FAILED"]),
            Some("SUCCESS")
        );
        assert_eq!(did_you_mean("timout", ["timeout", "poll"]), Some("timeout"));
        assert_eq!(did_you_mean("banana", ["timeout", "poll"]), None);
    }
}
