//! Publishing a run's report: every output a user asked for, in one place
//! (saved responses, the JSON and JUnit files, the GitHub Actions files and
//! workflow commands, `--json` on stdout, the summary on stderr).
//!
//! Every output is attempted even when one fails, so a CI step still finds
//! what could be written. A failed write fails the run
//! ([`crate::exit::API_UNAVAILABLE`], see [`Error::code`]), and every output
//! then says so: those already written are written again with that code, so
//! the report's `exit_code` is always the process's.

use std::io::Write as _;
use std::path::Path;

use super::github::GithubEnv;
use super::responses::Responses;
use super::{github, human, json, junit};
use crate::error::Error;
use crate::output::OutputMode;
use crate::redact::{Redacted, Redactor};

/// The outputs a run was asked for.
#[derive(Clone, Copy, Default)]
pub(crate) struct Outputs<'a> {
    /// `--report FILE`.
    pub report: Option<&'a Path>,
    /// `--junit FILE`.
    pub junit: Option<&'a Path>,
    /// `--json`: the JSON report on standard output.
    pub json: bool,
    /// `--save-responses DIR`: each wait's last answer, redacted.
    pub responses: Option<(&'a Path, &'a Responses, &'a Redactor)>,
}

/// What a failed write does to the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// The run fails with the write's error code, and the outputs say so.
    Fail,
    /// The command already ends with an error of its own (a run that could
    /// not start), whose code the report already carries.
    KeepCode,
}

/// One file output, in the order they are written.
#[derive(Clone, Copy)]
enum File<'a> {
    Responses(&'a Path, &'a Responses, &'a Redactor),
    Report(&'a Path),
    Junit(&'a Path),
    GithubOutputs(&'a GithubEnv, Option<&'a str>),
    GithubSummary(&'a GithubEnv),
}

impl File<'_> {
    fn write(self, report: &Redacted) -> Result<(), Error> {
        let failed = |path: &Path| {
            let path = path.display().to_string();
            move |source| Error::WriteReport { path, source }
        };
        match self {
            File::Responses(dir, responses, redactor) => responses
                .write(dir, redactor)
                .map(drop)
                .map_err(failed(dir)),
            File::Report(path) => json::write(report, path).map_err(failed(path)),
            File::Junit(path) => junit::write(report, path).map_err(failed(path)),
            File::GithubOutputs(env, report_path) => env
                .publish_outputs(report, report_path)
                .map_err(Error::WriteGithub),
            File::GithubSummary(env) => env.publish_summary(report).map_err(Error::WriteGithub),
        }
    }

    /// Brings an output written before the exit code changed up to date.
    fn correct(self, report: &Redacted) -> Result<(), Error> {
        match self {
            // Saved answers carry no exit code.
            File::Responses(..) => Ok(()),
            File::Report(_) | File::Junit(_) => self.write(report),
            File::GithubOutputs(env, _) => env
                .correct_exit_code(report.exit_code)
                .map_err(Error::WriteGithub),
            // Appended, so not rewritten: a note follows the summary.
            File::GithubSummary(env) => env
                .append_summary_note(&format!(
                    "> **jobgate exits {}:** an output could not be written; see the step's log.\n",
                    report.exit_code
                ))
                .map_err(Error::WriteGithub),
        }
    }
}

/// Writes every requested output: files first (so they exist even if the
/// terminal is gone), then the JSON report on stdout, the GitHub workflow
/// commands and the summary on stderr. Each failed wait's annotation points
/// at the line that declares it. Returns the first error; with
/// [`OnFailure::Fail`] the report's exit code is then that error's.
pub(crate) fn publish(
    report: &mut Redacted,
    outputs: &Outputs,
    mode: OutputMode,
    on_failure: OnFailure,
) -> Result<(), Error> {
    let github = mode.github.then(GithubEnv::from_env);
    let mut first_error = write_files(report, outputs, github.as_ref(), on_failure);
    if outputs.json {
        match json::to_json(report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                first_error.get_or_insert(Error::Internal(e.to_string()));
            }
        }
    }
    if mode.github {
        let mut commands = mode.workflow_commands.writer();
        for line in github::annotations(report) {
            let _ = writeln!(commands, "{line}");
        }
        // Per-wait detail is folded in log groups.
        for group in github::wait_log_groups(report) {
            let _ = writeln!(commands, "{group}");
        }
    }
    let style = human::Style {
        color: mode.color,
        width: mode.width,
    };
    eprint!("{}", human::render(report, style));
    first_error.map_or(Ok(()), Err)
}

/// Writes the file outputs of `outputs` (its `json` is not a file and is
/// left alone), and the GitHub Actions files when `github` is given.
/// Returns the first error; with [`OnFailure::Fail`] the report's exit code
/// is then that error's.
///
/// Nothing here goes to the terminal, awaits, or takes a lock but the file
/// system's, so the crash path can call it from a panic hook on whatever
/// thread panicked.
pub(crate) fn write_files(
    report: &mut Redacted,
    outputs: &Outputs,
    github: Option<&GithubEnv>,
    on_failure: OnFailure,
) -> Option<Error> {
    let report_path = outputs.report.map(|p| p.display().to_string());
    let mut files = Vec::new();
    if let Some((dir, responses, redactor)) = outputs.responses {
        files.push(File::Responses(dir, responses, redactor));
    }
    files.extend(outputs.report.map(File::Report));
    files.extend(outputs.junit.map(File::Junit));
    if let Some(env) = github {
        files.push(File::GithubOutputs(env, report_path.as_deref()));
        files.push(File::GithubSummary(env));
    }
    write_all(report, &files, on_failure)
}

/// Writes `files` in order. After the first failure (with
/// [`OnFailure::Fail`]) the report takes that error's exit code, the files
/// already written are corrected and the rest are written with it.
fn write_all(report: &mut Redacted, files: &[File], on_failure: OnFailure) -> Option<Error> {
    let mut first_error: Option<Error> = None;
    for (n, file) in files.iter().enumerate() {
        let Err(error) = file.write(report) else {
            continue;
        };
        if first_error.is_none() && on_failure == OnFailure::Fail {
            let code = error.code();
            if code != report.exit_code {
                report.set_exit_code(code);
                // Written with the old code; a failure here is a second
                // error, the first stays the one reported.
                for written in &files[..n] {
                    let _ = written.correct(report);
                }
            }
        }
        first_error.get_or_insert(error);
    }
    first_error
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::json::samples;

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
        let mut report = Redactor::none().report(samples::mixed());
        let error = write_files(
            &mut report,
            &Outputs::default(),
            Some(&env),
            OnFailure::KeepCode,
        );
        let Some(Error::WriteGithub(error)) = error else {
            panic!("{error:?}")
        };
        let error = error.to_string();
        assert!(error.starts_with("GITHUB_OUTPUT="), "{error}");
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(md.starts_with("## ❌ jobgate: failed"), "{md}");
    }
}
