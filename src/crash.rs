//! The crash path: a panic anywhere must still leave the report behind and
//! end in exit 70 ([`exit::INTERNAL`]), never a pass and never a stale or
//! missing report for the CI step that reads it. Reports written here pass
//! through the run's [`Redactor`] like any other, and reach their outputs
//! through [`publish`] like any other.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::exit;
use crate::output::{self, ColorChoice, Environment};
use crate::redact::Redactor;
use crate::report::publish::{self, OnFailure, publish};

/// Where a crashed `run` still writes its report.
pub(crate) struct Outputs {
    pub report: Option<PathBuf>,
    pub junit: Option<PathBuf>,
    pub json: bool,
}

impl Outputs {
    /// The outputs as publishing takes them. Saved responses are not among
    /// them: the answers of a run that crashed are not its evidence.
    fn borrowed(&self) -> publish::Outputs<'_> {
        publish::Outputs {
            report: self.report.as_deref(),
            junit: self.junit.as_deref(),
            json: self.json,
            responses: None,
        }
    }
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
///
/// Only the report files are written here ([`publish::write_files`]): the
/// hook runs on the panicking thread, which may hold the terminal's lock,
/// and the end of the command publishes everything else.
pub(crate) fn install_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let Some(outputs) = CRASH_OUTPUTS
            .get()
            .filter(|o| o.report.is_some() || o.junit.is_some())
        else {
            return;
        };
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
            let mut report = Redactor::registered().report(report);
            let files = publish::Outputs {
                json: false,
                ..outputs.borrowed()
            };
            let _ = publish::write_files(&mut report, &files, None, OnFailure::KeepCode);
        }
    }));
}

/// The end of a command that panicked on the main thread: the report (if a
/// run had started) with every unfinished wait `internal_error`, published
/// as a run that ends normally publishes it (files, `--json`, and under
/// GitHub Actions the step outputs, summary and annotations), and exit 70,
/// never a pass.
pub(crate) fn crashed(message: &str) -> ExitCode {
    let message = &Redactor::registered().text(message);
    eprintln!(
        "jobgate: internal error: {message}. This is a bug; please report it (with the report, if one was written)."
    );
    if let Some(report) = crate::engine::crash_report(message) {
        let mut report = Redactor::registered().report(report);
        let outputs = CRASH_OUTPUTS
            .get()
            .map(Outputs::borrowed)
            .unwrap_or_default();
        let mode = output::for_errors(&Environment::detect(), ColorChoice::Never, outputs.json);
        // The exit code is 70 whatever could be written.
        if let Err(e) = publish(&mut report, &outputs, mode, OnFailure::KeepCode) {
            eprintln!("jobgate: {e}");
        }
    }
    ExitCode::from(exit::INTERNAL)
}
