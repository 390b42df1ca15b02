//! Everything GitHub Actions reads: the step summary (Markdown), step outputs
//! (`$GITHUB_OUTPUT`), annotations and the other workflow commands.
//!
//! Output names are `outcome`, `exit-code`, `report`, and one
//! `<wait>-<key>` per value captured by a wait's `outputs:` (wait names
//! cannot contain `.`, and GitHub's own actions use `-` in output names, so
//! `golden-image` capturing `image_id` gives `golden-image-image_id`). Output
//! keys cannot contain `-`, so the name is unambiguous. A captured output
//! whose name would be one of the three fixed names is left out of the step
//! outputs (it is still in the JSON report).
//!
//! Escaping follows the workflow-commands rules of `@actions/core`: message
//! data escapes `%`, `\r` and `\n`; property values also escape `:` and `,`.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::human::{describe_error, describe_item, tally, wait_duration};
use super::model::{Outcome, RunReport, WaitReport};
use super::words::{emoji, is_problem, label};
use crate::spec::SpecErrors;

/// GitHub shows at most this many error annotations per step; more are
/// dropped silently, so the rest are folded into the last one.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

/// GitHub rejects a step summary over 1 MiB; the summary is cut below it.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;

/// Blamed items listed per wait in the step summary; the JSON report has all.
pub(crate) const SUMMARY_ITEMS: usize = 50;

/// The fixed output names, which win over captured outputs of the same name.
pub(crate) const FIXED_OUTPUTS: [&str; 3] = ["outcome", "exit-code", "report"];

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
fn command(name: &str, properties: &[(&str, String)], data: &str) -> String {
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

/// The step output name of a captured value.
pub(crate) fn output_name(wait: &str, key: &str) -> String {
    format!("{wait}-{key}")
}

/// The step outputs: `outcome`, `exit-code`, `report` (when a report file
/// was written, its path as given) and every captured value as
/// `<wait>-<key>`, in that order.
pub(crate) fn outputs(report: &RunReport, report_path: Option<&str>) -> Vec<(String, String)> {
    let mut out = vec![
        ("outcome".to_owned(), report.outcome.as_str().to_owned()),
        ("exit-code".to_owned(), report.exit_code.to_string()),
    ];
    if let Some(path) = report_path {
        out.push(("report".to_owned(), path.to_owned()));
    }
    for wait in &report.waits {
        for (key, value) in &wait.outputs {
            let name = output_name(&wait.name, key);
            if !FIXED_OUTPUTS.contains(&name.as_str()) {
                out.push((name, value.clone()));
            }
        }
    }
    out
}

/// Formats outputs for `$GITHUB_OUTPUT`: `name=value` for one-line values,
/// and the heredoc form `name<<DELIMITER` for values with line breaks, with
/// a random delimiter that the value does not contain (so a captured value
/// cannot end the heredoc early and inject outputs of its own).
pub(crate) fn format_outputs(outputs: &[(String, String)]) -> String {
    let mut text = String::new();
    for (name, value) in outputs {
        if value.contains(['\n', '\r']) {
            let delimiter = loop {
                let candidate = format!(
                    "ghadelimiter_{:016x}{:016x}",
                    fastrand::u64(..),
                    fastrand::u64(..)
                );
                if !value.contains(&candidate) {
                    break candidate;
                }
            };
            let _ = write!(text, "{name}<<{delimiter}\n{value}\n{delimiter}\n");
        } else {
            let _ = writeln!(text, "{name}={value}");
        }
    }
    text
}

/// Error annotations for the waits that did not pass (skipped and
/// cancelled waits are not annotated: the wait that caused them is), each
/// on the line and column where the wait is declared, when known. At most
/// [`MAX_ANNOTATIONS`]; past that the last one lists the rest and points at
/// the first of them.
pub(crate) fn annotations(report: &RunReport) -> Vec<String> {
    let file = spec_file(&report.spec);
    let props = |wait: &WaitReport, title: String| {
        let mut p = Vec::new();
        if let Some(f) = &file {
            p.push(("file", f.clone()));
            // A line means nothing without the file it is in.
            if let Some(at) = wait.declared_at {
                p.push(("line", at.line.to_string()));
                p.push(("col", at.column.to_string()));
            }
        }
        p.push(("title", title));
        p
    };
    let problems: Vec<&WaitReport> = report
        .waits
        .iter()
        .filter(|w| is_problem(w.outcome))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for (n, wait) in problems.iter().enumerate() {
        if problems.len() > MAX_ANNOTATIONS && n == MAX_ANNOTATIONS - 1 {
            let rest = &problems[n..];
            let names: Vec<String> = rest
                .iter()
                .map(|w| format!("{} ({})", w.name, label(w.outcome)))
                .collect();
            let title = format!("jobgate: {} more waits did not pass", rest.len());
            let message = format!(
                "{}; see the step summary or the JSON report",
                names.join(", ")
            );
            out.push(command("error", &props(wait, title), &message));
            break;
        }
        let title = format!("jobgate: wait {} {}", wait.name, label(wait.outcome));
        out.push(command(
            "error",
            &props(wait, title),
            &annotation_message(wait),
        ));
    }
    out
}

/// The spec path to attach annotations to, when it is a file in the
/// repository (not standard input).
fn spec_file(spec: &str) -> Option<String> {
    (!spec.is_empty() && spec != "-").then(|| spec.trim_start_matches("./").to_owned())
}

/// The cause first, then the reason, the first few items and the last API
/// error.
fn annotation_message(wait: &WaitReport) -> String {
    const ITEMS: usize = 5;
    let mut text = wait.headline().to_owned();
    if let Some(because) = wait.because() {
        let _ = write!(text, "\nended because: {because}");
    }
    let (items, total) = wait.shown_items();
    for item in items.iter().take(ITEMS) {
        let _ = write!(text, "\n• {}", describe_item(item));
    }
    let listed = items.len().min(ITEMS) as u64;
    if total > listed {
        let _ = write!(text, "\n… and {} more", total - listed);
    }
    if let Some(error) = &wait.last_error {
        let _ = write!(text, "\nlast API error: {}", describe_error(error));
    }
    text
}

/// Error annotations for an invalid spec, each pointing at the line and
/// column of the mistake, at most [`MAX_ANNOTATIONS`].
pub(crate) fn spec_annotations(errors: &SpecErrors) -> Vec<String> {
    let file = spec_file(&errors.origin);
    let total = errors.diagnostics.len();
    let mut out = Vec::new();
    for (n, d) in errors.diagnostics.iter().enumerate() {
        let mut props = Vec::new();
        if let Some(f) = &file {
            props.push(("file", f.clone()));
        }
        if total > MAX_ANNOTATIONS && n == MAX_ANNOTATIONS - 1 {
            let rest = total - n;
            props.push(("title", format!("jobgate: {rest} more spec errors")));
            let message = format!(
                "{rest} more mistakes, starting at line {}; run `jobgate` locally to see them all",
                d.span.line
            );
            out.push(command("error", &props, &message));
            break;
        }
        // Line 0 means the value came from the environment, not the file.
        if d.span.line > 0 {
            props.push(("line", d.span.line.to_string()));
            props.push(("col", d.span.column.to_string()));
        }
        props.push(("title", format!("jobgate: {}", d.code)));
        let message = match &d.help {
            Some(help) => format!("{}\nhelp: {help}", d.message),
            None => d.message.clone(),
        };
        out.push(command("error", &props, &message));
    }
    out
}

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

/// Where GitHub Actions wants results, read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GithubEnv {
    /// `GITHUB_ACTIONS=true`: workflow commands (annotations, groups, masks)
    /// are understood on stdout.
    pub actions: bool,
    /// `GITHUB_OUTPUT`: the file step outputs are appended to.
    pub output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`: the file the Markdown summary is appended to.
    pub step_summary: Option<PathBuf>,
}

impl GithubEnv {
    /// Reads the process environment.
    pub(crate) fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup`, so tests need not touch the
    /// process environment. Empty paths count as unset.
    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let path = |name| lookup(name).filter(|p| !p.is_empty()).map(PathBuf::from);
        GithubEnv {
            actions: lookup("GITHUB_ACTIONS").as_deref() == Some("true"),
            output: path("GITHUB_OUTPUT"),
            step_summary: path("GITHUB_STEP_SUMMARY"),
        }
    }

    /// Appends the step outputs and the step summary to the files GitHub
    /// named. Both files are shared by every command of the step, so they
    /// are appended to, never replaced. Files that are not configured are
    /// skipped. Callers publish only when `actions` is set
    /// (`GITHUB_ACTIONS=true`, which act and Gitea set too), so a variable
    /// left over in a shell is not written to. An error names the variable
    /// and the file.
    ///
    /// A file that cannot be written does not stop the other: the first
    /// error is returned after both were tried.
    pub(crate) fn publish(&self, report: &RunReport, report_path: Option<&str>) -> io::Result<()> {
        let outputs = self.publish_outputs(report, report_path);
        let summary = self.publish_summary(report);
        outputs.and(summary)
    }

    /// Appends the step outputs to `$GITHUB_OUTPUT`, if set.
    pub(crate) fn publish_outputs(
        &self,
        report: &RunReport,
        report_path: Option<&str>,
    ) -> io::Result<()> {
        match &self.output {
            Some(path) => append(
                "GITHUB_OUTPUT",
                path,
                format_outputs(&outputs(report, report_path)).as_bytes(),
            ),
            None => Ok(()),
        }
    }

    /// Appends `exit-code` once more, after outputs already appended with
    /// another code: the runner keeps the last value of a name.
    pub(crate) fn correct_exit_code(&self, code: u8) -> io::Result<()> {
        match &self.output {
            Some(path) => append(
                "GITHUB_OUTPUT",
                path,
                format_outputs(&[("exit-code".to_owned(), code.to_string())]).as_bytes(),
            ),
            None => Ok(()),
        }
    }

    /// Appends the Markdown summary to `$GITHUB_STEP_SUMMARY`, if set.
    pub(crate) fn publish_summary(&self, report: &RunReport) -> io::Result<()> {
        match &self.step_summary {
            Some(path) => append("GITHUB_STEP_SUMMARY", path, step_summary(report).as_bytes()),
            None => Ok(()),
        }
    }

    /// Appends `note` (Markdown) after a summary already appended.
    pub(crate) fn append_summary_note(&self, note: &str) -> io::Result<()> {
        match &self.step_summary {
            Some(path) => append("GITHUB_STEP_SUMMARY", path, note.as_bytes()),
            None => Ok(()),
        }
    }
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

fn append(variable: &str, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let write = || {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        file.write_all(bytes)?;
        file.flush()
    };
    write().map_err(|e| io::Error::new(e.kind(), format!("{variable}={}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::json::samples;

    /// Parses `$GITHUB_OUTPUT` the way the runner does.
    fn parse_output_file(text: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut lines = text.split('\n');
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            if let Some((name, delimiter)) = line.split_once("<<") {
                let mut value = Vec::new();
                for l in lines.by_ref() {
                    if l == delimiter {
                        break;
                    }
                    value.push(l);
                }
                out.push((name.to_owned(), value.join("\n")));
            } else {
                let (name, value) = line.split_once('=').expect("name=value");
                out.push((name.to_owned(), value.to_owned()));
            }
        }
        out
    }

    #[test]
    fn a_file_that_cannot_be_written_is_named_with_its_variable() {
        let dir = tempfile::tempdir().unwrap();
        let env = GithubEnv {
            // A directory cannot be appended to.
            output: Some(dir.path().to_owned()),
            ..GithubEnv::default()
        };
        let error = env.publish(&samples::met(), None).unwrap_err().to_string();
        let expected = format!("GITHUB_OUTPUT={}: ", dir.path().display());
        assert!(error.starts_with(&expected), "{error}");
    }

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(
            escape_data("50% done\r\nnext: a,b"),
            "50%25 done%0D%0Anext: a,b"
        );
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    /// A spec declaring the waits of `samples::mixed()`, as
    /// `gates/release.yaml` would.
    const RELEASE: &str = "version: 1
defaults:
  project_id: p1
waits:
  golden-image:
    image_job: j1
    target: [SUCCESS]
  app-servers:
    after: [golden-image]
    app_server_job: j2
    target: [SUCCESS]
  image-sub-jobs:
    image_job: j3
    target: [SUCCESS]
  count-check:
    image_job: j4
    target: [SUCCESS]
  deploy:
    after: [app-servers]
    app_server_job: j5
    target: [SUCCESS]
";

    /// Where each wait is declared: wait name → (line, column).
    type Locations = BTreeMap<String, (usize, usize)>;

    /// The declarations the engine's reports carry for the release spec.
    fn release_locations() -> Locations {
        let spec = crate::spec::parse("gates/release.yaml", RELEASE, &|_| None)
            .unwrap_or_else(|e| panic!("{}", e.render(false, 100)));
        crate::engine::not_started(&spec, Outcome::Failed, "not started")
            .waits
            .into_iter()
            .filter_map(|w| Some((w.name, w.declared_at.map(|at| (at.line, at.column))?)))
            .collect()
    }

    /// The annotations of `report` with its waits declared at `locations`.
    fn annotations_at(report: &RunReport, locations: &Locations) -> Vec<String> {
        let mut report = report.clone();
        for wait in &mut report.waits {
            wait.declared_at = locations
                .get(&wait.name)
                .map(|&(line, column)| super::super::model::Declared { line, column });
        }
        annotations(&report)
    }

    #[test]
    fn locations_are_where_the_wait_names_are() {
        let got: Vec<(String, (usize, usize))> = release_locations().into_iter().collect();
        assert_eq!(
            got,
            vec![
                ("app-servers".to_owned(), (8, 3)),
                ("count-check".to_owned(), (15, 3)),
                ("deploy".to_owned(), (18, 3)),
                ("golden-image".to_owned(), (5, 3)),
                ("image-sub-jobs".to_owned(), (12, 3)),
            ]
        );
    }

    #[test]
    fn annotations_snapshot() {
        insta::assert_snapshot!(annotations_at(&samples::mixed(), &release_locations()).join("\n"));
    }

    #[test]
    fn annotations_point_at_the_wait_they_are_about() {
        let lines = annotations_at(&samples::mixed(), &release_locations());
        let heads: Vec<&str> = lines
            .iter()
            .map(|l| l.split("::").nth(1).unwrap_or_default())
            .collect();
        assert_eq!(
            heads,
            vec![
                "error file=gates/release.yaml,line=8,col=3,title=jobgate%3A wait app-servers failed",
                "error file=gates/release.yaml,line=12,col=3,title=jobgate%3A wait image-sub-jobs timed out",
                "error file=gates/release.yaml,line=15,col=3,title=jobgate%3A wait count-check API error",
            ]
        );
        // A wait the spec does not declare (a report from elsewhere) still
        // gets its file.
        let lines = annotations_at(&samples::mixed(), &Locations::new());
        assert!(
            lines[0].starts_with("::error file=gates/release.yaml,title="),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn passing_runs_have_no_annotations() {
        let locations = release_locations();
        assert!(annotations_at(&samples::met(), &locations).is_empty());
        assert!(annotations_at(&samples::cancelled(), &locations).is_empty());
    }

    #[test]
    fn annotations_are_capped_and_fold_the_rest() {
        let mut report = samples::failed();
        let template = report.waits[0].clone();
        report.waits = (0..15)
            .map(|n| WaitReport {
                name: format!("w{n}"),
                ..template.clone()
            })
            .collect();
        let locations: Locations = (0..15).map(|n| (format!("w{n}"), (3 + 3 * n, 3))).collect();
        let lines = annotations_at(&report, &locations);
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert!(
            lines[8].starts_with(
                "::error file=gates/release.yaml,line=27,col=3,title=jobgate%3A wait w8 failed::"
            ),
            "{}",
            lines[8]
        );
        let last = lines.last().unwrap();
        assert!(
            last.starts_with(
                "::error file=gates/release.yaml,line=30,col=3,title=jobgate%3A 6 more waits did not pass::"
            ),
            "the folded annotation points at the first wait it lists: {last}"
        );
        assert!(
            last.contains("w9 (failed)") && last.contains("w14 (failed)"),
            "{last}"
        );
        assert!(lines[8].contains("wait w8 failed"));
    }

    #[test]
    fn standard_input_specs_get_no_file() {
        let mut report = samples::failed();
        report.spec = "-".into();
        let locations: Locations = [("app-servers".to_owned(), (8, 3))].into();
        assert!(annotations_at(&report, &locations)[0].starts_with("::error title="));
    }

    fn spec_errors(source: &str) -> SpecErrors {
        crate::spec::parse("./gates/bad.yaml", source, &|_| None).unwrap_err()
    }

    #[test]
    fn spec_annotations_point_at_line_and_column() {
        let errors = spec_errors(
            "version: 1\nwaits:\n  a:\n    project_id: p1\n    image_job: x\n    target: [SUCESS]\n",
        );
        let lines = spec_annotations(&errors);
        assert_eq!(
            lines,
            vec![
                "::error file=gates/bad.yaml,line=6,col=14,title=jobgate%3A spec%3A%3Aunknown_status::unknown status `SUCESS`%0Ahelp: did you mean `SUCCESS`?"
            ]
        );
    }

    #[test]
    fn spec_annotations_are_capped() {
        let mut source = String::from("version: 1\nwaits:\n");
        for n in 0..12 {
            source.push_str(&format!(
                "  w{n}:\n    project_id: p1\n    image_job: x\n    target: [NOPE{n}]\n"
            ));
        }
        let errors = spec_errors(&source);
        assert_eq!(errors.diagnostics.len(), 12);
        let lines = spec_annotations(&errors);
        assert_eq!(lines.len(), MAX_ANNOTATIONS);
        assert!(lines[9].contains("3 more spec errors"), "{}", lines[9]);
    }

    #[test]
    fn outputs_have_fixed_and_per_wait_names() {
        let mut report = samples::mixed();
        report.waits[3].name = "exit".into();
        report.waits[3].outputs.insert("code".into(), "42".into());
        let got = outputs(&report, Some("out/report.json"));
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "outcome",
                "exit-code",
                "report",
                "golden-image-image_id",
                "golden-image-note"
            ]
        );
        assert_eq!(got[1].1, "1");
        assert!(!outputs(&report, None).iter().any(|(n, _)| n == "report"));
    }

    #[test]
    fn output_file_round_trips_multi_line_values() {
        let values = vec![
            ("a".to_owned(), "one line".to_owned()),
            ("b".to_owned(), "two\nlines\nb<<EOF".to_owned()),
            ("c".to_owned(), "x=y".to_owned()),
        ];
        let text = format_outputs(&values);
        assert!(text.starts_with("a=one line\nb<<ghadelimiter_"), "{text}");
        assert_eq!(parse_output_file(&text), values);
    }

    #[test]
    fn heredoc_delimiters_are_random() {
        let values = vec![("x".to_owned(), "1\n2".to_owned())];
        assert_ne!(format_outputs(&values), format_outputs(&values));
    }

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
    fn a_github_output_that_cannot_be_written_still_leaves_the_summary() {
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        let env = GithubEnv {
            actions: true,
            // A directory cannot be appended to.
            output: Some(dir.path().to_owned()),
            step_summary: Some(summary.clone()),
        };
        let error = env
            .publish(&samples::mixed(), None)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("GITHUB_OUTPUT="), "{error}");
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(md.starts_with("## ❌ jobgate: failed"), "{md}");
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
    fn cells_cannot_break_the_table() {
        assert_eq!(
            cell("a|b\n<i>*c*</i> & `d` C:\\x [l]"),
            r"a&#124;b<br>&lt;i&gt;\*c\*&lt;/i&gt; &amp; `d` C:\\x \[l\]"
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

    #[test]
    fn env_is_read_through_the_lookup() {
        let env = GithubEnv::from_lookup(|n| match n {
            "GITHUB_ACTIONS" => Some("true".into()),
            "GITHUB_OUTPUT" => Some("/tmp/out".into()),
            "GITHUB_STEP_SUMMARY" => Some(String::new()),
            _ => None,
        });
        assert!(env.actions);
        assert_eq!(env.output, Some(PathBuf::from("/tmp/out")));
        assert_eq!(env.step_summary, None);
        assert_eq!(GithubEnv::from_lookup(|_| None), GithubEnv::default());
    }

    #[test]
    fn publish_appends_to_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let output = dir.path().join("output");
        let summary = dir.path().join("summary.md");
        std::fs::write(&output, "earlier=1\n").unwrap();
        std::fs::write(&summary, "# Earlier step\n").unwrap();
        let env = GithubEnv {
            actions: true,
            output: Some(output.clone()),
            step_summary: Some(summary.clone()),
        };
        env.publish(&samples::mixed(), Some("report.json")).unwrap();
        let parsed = parse_output_file(&std::fs::read_to_string(&output).unwrap());
        assert_eq!(parsed[0], ("earlier".into(), "1".into()));
        assert_eq!(parsed[1], ("outcome".into(), "failed".into()));
        assert!(parsed.contains(&(
            "golden-image-note".into(),
            "line one\nline two | with <html> & 100%".into()
        )));
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(
            md.starts_with("# Earlier step\n## ❌ jobgate: failed"),
            "{md}"
        );
    }
}
