//! Error annotations: one per wait that did not pass, and one per mistake
//! in an invalid spec, each on the line that declares it, capped where
//! GitHub stops showing them.

use std::fmt::Write as _;

use super::commands::command;
use crate::report::human::{describe_error, describe_item};
use crate::report::model::{RunReport, WaitReport};
use crate::report::words::{is_problem, label};
use crate::spec::SpecErrors;

/// GitHub shows at most this many error annotations per step; more are
/// dropped silently, so the rest are folded into the last one.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::json::samples;
    use crate::report::model::Outcome;

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
                .map(|&(line, column)| crate::report::model::Declared { line, column });
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
}
