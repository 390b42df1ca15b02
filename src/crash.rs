//! The crash path: a panic anywhere must still leave the report behind and
//! end in exit 70 ([`exit::INTERNAL`]), never a pass and never a stale or
//! missing report for the CI step that reads it. Reports written here pass
//! through the run's [`Redactor`] like any other.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit;
use crate::redact::Redactor;
use crate::report::RunReport;

/// Where a crashed `run` still writes its report.
pub(crate) struct Outputs {
    pub report: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub json: bool,
}

static CRASH_OUTPUTS: std::sync::OnceLock<Outputs> = std::sync::OnceLock::new();

/// Records where the run writes its reports, for the crash path.
pub(crate) fn outputs_at(outputs: Outputs) {
    let _ = CRASH_OUTPUTS.set(outputs);
}

/// Makes every panic, on any thread, leave the report files behind with the
/// waits that had no outcome marked `internal_error` (exit 70): a CI step
/// that reads the report must never find a stale or missing one after a
/// crash. A panic inside a wait is also caught by the engine, which then
/// ends that wait `internal_error` and writes the final report over this
/// one.
pub(crate) fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        if CRASH_OUTPUTS
            .get()
            .is_none_or(|o| o.report.is_none() && o.junit.is_none())
        {
            return;
        }
        let message = match info.location() {
            Some(at) => format!(
                "{} at {}:{}",
                crate::engine::panic_message(info.payload()),
                at.file(),
                at.line()
            ),
            None => crate::engine::panic_message(info.payload()),
        };
        if let Some(report) = crate::engine::crash_report(&message) {
            let report = Redactor::registered().report(report);
            let _ = write_crash_files(&report);
        }
    }));
}

fn write_crash_files(report: &RunReport) -> Result<(), String> {
    let Some(outputs) = CRASH_OUTPUTS.get() else {
        return Ok(());
    };
    let mut first_error = None;
    if let Some(path) = &outputs.report
        && let Err(e) = crate::report::json::write(report, path)
    {
        first_error.get_or_insert(format!("cannot write the report `{}`: {e}", path.display()));
    }
    if let Some(path) = &outputs.junit
        && let Err(e) = crate::report::junit::write(report, path)
    {
        first_error.get_or_insert(format!("cannot write the report `{}`: {e}", path.display()));
    }
    first_error.map_or(Ok(()), Err)
}

/// The end of a command that panicked on the main thread: the report (if a
/// run had started) with every unfinished wait `internal_error`, its
/// summary, and exit 70, never a pass.
pub(crate) fn crashed(message: &str) -> ExitCode {
    let message = &Redactor::registered().text(message);
    eprintln!(
        "jobgate: internal error: {message}. This is a bug; please report it (with the report, if one was written)."
    );
    if let Some(report) = crate::engine::crash_report(message) {
        let report = Redactor::registered().report(report);
        if let Err(e) = write_crash_files(&report) {
            eprintln!("jobgate: {e}");
        }
        if CRASH_OUTPUTS.get().is_some_and(|o| o.json)
            && let Ok(text) = crate::report::json::to_json(&report)
        {
            print!("{text}");
        }
        // Step outputs and summary, where the runner asked for them: only
        // under GitHub Actions, as a run that ends normally.
        let path = CRASH_OUTPUTS
            .get()
            .and_then(|o| o.report.as_ref())
            .map(|p| p.display().to_string());
        let github = crate::report::github::GithubEnv::from_env();
        if github.actions {
            let _ = github.publish(&report, path.as_deref());
        }
        let style = crate::report::human::Style {
            color: false,
            width: crate::output::for_errors(
                &crate::output::Environment::detect(),
                crate::output::ColorChoice::Never,
                false,
            )
            .width,
        };
        eprint!("{}", crate::report::human::render(&report, style));
    }
    ExitCode::from(exit::INTERNAL)
}
