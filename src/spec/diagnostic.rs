//! Located spec errors, rendered with miette: file, line and column, a label
//! under the offending text, and a hint saying how to fix it.

use std::fmt;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

use super::yaml::Span;

/// One mistake in a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecDiagnostic {
    /// A stable identifier, e.g. `spec::unknown_key`, for docs and tests.
    pub code: &'static str,
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
    pub fn new(code: &'static str, span: Span, message: impl Into<String>) -> Self {
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
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
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
        for diagnostic in self.located() {
            // Writing to a String cannot fail.
            let _ = handler.render_report(&mut out, &diagnostic);
        }
        let count = self.diagnostics.len();
        out.push_str(&format!(
            "{} in {}: nothing was polled.\n",
            plural(count, "error", "errors"),
            self.origin
        ));
        out
    }

    /// Each diagnostic paired with the source, ready for a miette handler.
    pub fn located(&self) -> impl Iterator<Item = Located<'_>> {
        self.diagnostics.iter().map(move |diagnostic| Located {
            diagnostic,
            source: NamedSource::new(self.origin.clone(), self.source.clone()),
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
        for d in &self.diagnostics {
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

/// A diagnostic with its source attached, as miette wants it.
#[derive(Debug)]
pub struct Located<'a> {
    diagnostic: &'a SpecDiagnostic,
    source: NamedSource<String>,
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
        let span = SourceSpan::new(span.offset.into(), span.len);
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(self.diagnostic.label.clone()),
            span,
        ))))
    }
}

/// The closest of `candidates` to `word`, for "did you mean" hints.
pub fn did_you_mean<'a>(
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
