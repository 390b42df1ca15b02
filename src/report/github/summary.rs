//! The Markdown step summary (`$GITHUB_STEP_SUMMARY`): a table of waits,
//! the failing items, the captured outputs; server text is escaped so it
//! can neither break the table nor become a link.

use std::fmt::Write as _;

use super::outputs::output_name;
use crate::report::human::{describe_error, tally, wait_duration};
use crate::report::model::{Outcome, RunReport, WaitReport};
use crate::report::words::{emoji, is_problem, label};

/// GitHub rejects a step summary over 1 MiB; the summary is cut below it.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Blamed items listed per wait in the step summary; the JSON report has all.
pub(crate) const SUMMARY_ITEMS: usize = 50;

/// The Markdown step summary, kept under [`SUMMARY_LIMIT`].
pub(crate) fn step_summary(report: &RunReport) -> String {
    limit_summary(full_summary(report), SUMMARY_LIMIT)
}

/// Cuts the summary at a line break so it fits `limit` bytes, with a note
/// saying so.
fn limit_summary(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    const NOTE: &str = "\n> **Note:** this summary was cut to fit GitHub's size limit; the JSON report has everything.\n";
    let mut cut = limit.saturating_sub(NOTE.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let cut = text[..cut].rfind('\n').map_or(0, |i| i + 1);
    format!("{}{NOTE}", &text[..cut])
}

/// Escapes text for a Markdown table cell: HTML is neutralised, `|` cannot
/// end the cell, emphasis and link punctuation is literal, line breaks
/// stay in the cell, and server text cannot become a link (GitHub links
/// bare `https://…`, `www.…` and `name@host` text on its own; a character
/// reference in place of `:`, `.` or `@` renders the same and links nothing).
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        let rest = &text[i..];
        match c {
            ':' if rest.starts_with("://") => out.push_str("&#58;"),
            '.' if out.len() >= 3
                && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www") =>
            {
                out.push_str("&#46;")
            }
            '@' => out.push_str("&#64;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            // Backticks and underscores are left alone: reasons quote names
            // in backticks on purpose, and GitHub's Markdown does not
            // emphasise underscores inside words.
            '\\' | '*' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn full_summary(report: &RunReport) -> String {
    let mut md = String::new();
    let headline = match &report.interrupted_by {
        Some(signal) => format!("interrupted by {signal}"),
        None => label(report.outcome).to_owned(),
    };
    let mark = if report.exit_code == crate::exit::SUCCESS && report.interrupted_by.is_none() {
        emoji(Outcome::Met)
    } else {
        emoji(report.outcome)
    };
    let _ = writeln!(
        md,
        "## {mark} jobgate: {headline} (exit code {})\n",
        report.exit_code
    );
    let _ = writeln!(
        md,
        "Spec <code>{}</code> · {} · {} → {}\n",
        cell(&report.spec),
        tally(report),
        cell(&report.started_at),
        cell(&report.ended_at)
    );
    if !report.waits.is_empty() {
        md.push_str("| Wait | Kind | Outcome | Duration | Reason |\n");
        md.push_str("| --- | --- | --- | ---: | --- |\n");
        for w in &report.waits {
            let _ = writeln!(
                md,
                "| {} | `{}` | {} {} | {} | {} |",
                cell(&w.name),
                cell(&w.kind),
                emoji(w.outcome),
                label(w.outcome),
                wait_duration(w),
                cell(w.headline())
            );
        }
        md.push('\n');
    }
    let problems: Vec<&WaitReport> = report
        .waits
        .iter()
        .filter(|w| {
            is_problem(w.outcome)
                && (w.shown_items().1 > 0 || w.last_error.is_some() || w.because().is_some())
        })
        .collect();
    if !problems.is_empty() {
        md.push_str("### Failing items\n\n");
        for w in problems {
            let _ = writeln!(md, "#### {} {}\n", emoji(w.outcome), cell(&w.name));
            if let Some(because) = w.because() {
                let _ = writeln!(md, "**Ended because:** {}\n", cell(because));
            }
            let (items, total) = w.shown_items();
            if !items.is_empty() {
                md.push_str("| ID | Job type | Status | Error | Resource |\n");
                md.push_str("| --- | --- | --- | --- | --- |\n");
                for item in items.iter().take(SUMMARY_ITEMS) {
                    let error = match (&item.error_code, &item.error_message) {
                        (Some(c), Some(m)) => format!("{c}: {m}"),
                        (Some(c), None) => c.clone(),
                        (None, Some(m)) => m.clone(),
                        (None, None) => String::new(),
                    };
                    let status = match item.progress {
                        Some(p) => format!("{} ({p}%)", item.status),
                        None => item.status.to_string(),
                    };
                    let resource = item
                        .resource_name
                        .as_ref()
                        .or(item.resource_id.as_ref())
                        .map_or(String::new(), |r| cell(r));
                    let _ = writeln!(
                        md,
                        "| {} | {} | {} | {} | {resource} |",
                        cell(&item.id),
                        cell(item.job_type.as_deref().unwrap_or("")),
                        cell(&status),
                        cell(&error)
                    );
                }
                let listed = items.len().min(SUMMARY_ITEMS) as u64;
                if total > listed {
                    let _ = writeln!(md, "\n… and {} more in the JSON report.", total - listed);
                }
                md.push('\n');
            }
            if let Some(error) = &w.last_error {
                let _ = writeln!(md, "**Last API error:** {}\n", cell(&describe_error(error)));
            }
        }
    }
    let captured: Vec<(String, &String)> = report
        .waits
        .iter()
        .flat_map(|w| {
            w.outputs
                .iter()
                .map(move |(k, v)| (output_name(&w.name, k), v))
        })
        .collect();
    if !captured.is_empty() {
        md.push_str("### Outputs\n\n| Output | Value |\n| --- | --- |\n");
        for (name, value) in captured {
            let _ = writeln!(md, "| `{}` | <code>{}</code> |", cell(&name), cell(value));
        }
        md.push('\n');
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::samples;

    #[test]
    fn step_summary_snapshot() {
        insta::assert_snapshot!(step_summary(&samples::mixed()));
    }

    #[test]
    fn step_summary_of_a_met_run() {
        let md = step_summary(&samples::met());
        assert!(md.starts_with("## ✅ jobgate: met (exit code 0)"), "{md}");
        assert!(!md.contains("Failing items"));
        assert!(md.contains("| `golden-image-image_id` | <code>img-7c1e2f</code> |"));
    }

    #[test]
    fn step_summary_is_cut_at_the_limit() {
        let mut report = samples::failed();
        let item = report.waits[0].blame[0].clone();
        report.waits = (0..3000)
            .map(|n| WaitReport {
                name: format!("w{n}"),
                blame: vec![item.clone(); 60],
                ..report.waits[0].clone()
            })
            .collect();
        let md = step_summary(&report);
        assert!(md.len() <= SUMMARY_LIMIT, "{}", md.len());
        assert!(md.ends_with("the JSON report has everything.\n"));
        let small = limit_summary("line\n".repeat(100), 150);
        assert!(
            small.len() <= 150 && small.starts_with("line\nline\n"),
            "{small}"
        );
        assert_eq!(limit_summary("short\n".into(), 150), "short\n");
    }

    #[test]
    fn cells_cannot_link() {
        assert_eq!(
            cell("see https://evil.example or WWW.evil.example, mail a@b.c; time 10:30"),
            "see https&#58;//evil.example or WWW&#46;evil.example, mail a&#64;b.c; time 10:30"
        );
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(
            cell("a|b\n<i>*c*</i> & `d` C:\\x [l]"),
            r"a&#124;b<br>&lt;i&gt;\*c\*&lt;/i&gt; &amp; `d` C:\\x \[l\]"
        );
    }
}
