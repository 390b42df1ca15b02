//! The command line: arguments, and one function per command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::output::ColorChoice;
use crate::{commands, exit};

/// Wait for Huawei Cloud Workspace asynchronous jobs, declaratively.
///
/// A YAML spec names the jobs to wait on and the end states expected;
/// jobgate polls the Workspace APIs gently (exponential backoff with jitter,
/// shared rate limits), exits with a documented code and writes reports.
///
/// Exit codes: 0 every wait met its condition; 1 a wait failed or reached an
/// unexpected state; 2 invalid command line or spec (nothing polled); 3 a
/// timeout ran out; 4 credentials missing or rejected; 5 the API stayed
/// unreachable or kept failing; 70 internal error (a bug); 130/143
/// interrupted by SIGINT/SIGTERM.
#[derive(Debug, Parser)]
#[command(name = "jobgate", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll until every wait in SPEC has an outcome; exit with its code.
    Run(RunArgs),
    /// Check SPEC without any network access (exit 0 when valid, 2 when not).
    Validate(SpecArgs),
    /// Show what `run` would do for SPEC: requests, conditions, schedule,
    /// dependencies and deadlines. No network access.
    Plan(PlanArgs),
    /// Judge a saved API response with one wait's conditions, offline.
    Eval(EvalArgs),
    /// Serve the built-in Workspace API simulator on loopback.
    Simulate(crate::sim::SimulateArgs),
    /// Run the bundled example spec against the built-in simulator.
    Demo(DemoArgs),
    /// Print the JSON Schema of the spec (for editors).
    Schema,
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// The command's `--color`, which also colours its error, printed once
    /// the command has returned. `Auto` for commands without the flag.
    pub fn color(&self) -> ColorChoice {
        match self {
            Command::Run(args) => args.display.color,
            Command::Demo(args) => args.display.color,
            _ => ColorChoice::Auto,
        }
    }
}

/// Where the spec comes from and how its variables are filled.
#[derive(Debug, Args, Clone)]
pub struct SpecArgs {
    /// The spec file (`-` reads standard input).
    pub spec: PathBuf,
    /// Set a variable for `${NAME}` in the spec, overriding the environment.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

/// Endpoint selection.
#[derive(Debug, Args, Clone, Default)]
pub struct EndpointArgs {
    /// Override a service's endpoint: `workspace=URL`, `appstream=URL`, or a
    /// bare URL for both (e.g. a simulator or a private endpoint).
    #[arg(long = "endpoint", value_name = "[SERVICE=]URL")]
    pub endpoints: Vec<String>,
    /// Allow plain http:// to hosts other than loopback.
    #[arg(long)]
    pub allow_http: bool,
}

/// `jobgate run`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    /// Write the JSON report to FILE (also on failure, timeout and interrupt).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (one test case per wait).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print the JSON report on standard output.
    #[arg(long)]
    pub json: bool,
    /// One deadline over all waits, e.g. `30m` (overrides the spec).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<std::time::Duration>,
    /// Cancel the other waits as soon as one fails (the default).
    #[arg(long, overrides_with = "keep_going")]
    pub fail_fast: bool,
    /// Let every wait finish to learn every outcome.
    #[arg(long, overrides_with = "fail_fast")]
    pub keep_going: bool,
    /// Requests in flight at once, across all waits.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_concurrency: usize,
    /// Requests per second, across all waits.
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub max_rps: f64,
    /// Seed for poll jitter (reproducible schedules).
    #[arg(long, hide = true)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub display: DisplayArgs,
}

/// Output flags shared by the commands that poll.
#[derive(Debug, Args, Clone, Default)]
pub struct DisplayArgs {
    /// Only the final summary.
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Also show retries and starts.
    #[arg(short, long)]
    pub verbose: bool,
    /// Colour: auto (terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
}

/// `jobgate plan`.
#[derive(Debug, Args, Clone)]
pub struct PlanArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
}

/// `jobgate eval`.
#[derive(Debug, Args, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// The wait whose conditions to apply.
    #[arg(long, value_name = "NAME")]
    pub wait: String,
    /// A saved JSON response of that wait's endpoint (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub response: PathBuf,
}

/// `jobgate demo`.
#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub display: DisplayArgs,
    /// Write the JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    crate::spec::duration::parse(text)
}

/// Parses the command line, runs the command and maps the result to an exit
/// code. Clap's own errors exit 2, as the table says.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::INVALID_INPUT
            } else {
                exit::SUCCESS
            });
        }
    };
    let color = cli.command.color();
    if let Command::Run(args) = &cli.command {
        let _ = CRASH_OUTPUTS.set(CrashOutputs {
            report: args.report.clone(),
            junit: args.junit.clone(),
            json: args.json,
        });
    }
    install_panic_hook();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        commands::dispatch(cli.command)
    }));
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(error)) => {
            commands::print_error(&error, color);
            ExitCode::from(error.code())
        }
        Err(payload) => crashed(&crate::engine::panic_message(&*payload)),
    }
}

/// Where a crashed `run` still writes its report.
struct CrashOutputs {
    report: Option<PathBuf>,
    junit: Option<PathBuf>,
    json: bool,
}

static CRASH_OUTPUTS: std::sync::OnceLock<CrashOutputs> = std::sync::OnceLock::new();

/// Makes every panic, on any thread, leave the report files behind with the
/// waits that had no outcome marked `internal_error` (exit 70): a CI step
/// that reads the report must never find a stale or missing one after a
/// crash. A panic inside a wait is also caught by the engine, which then
/// ends that wait `internal_error` and writes the final report over this
/// one.
fn install_panic_hook() {
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
            let _ = write_crash_files(&report);
        }
    }));
}

fn write_crash_files(report: &crate::report::RunReport) -> Result<(), String> {
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
        && let Err(e) =
            crate::report::json::write_atomic(path, crate::report::junit::render(report).as_bytes())
    {
        first_error.get_or_insert(format!("cannot write the report `{}`: {e}", path.display()));
    }
    first_error.map_or(Ok(()), Err)
}

/// The end of a command that panicked on the main thread: the report (if a
/// run had started) with every unfinished wait `internal_error`, its
/// summary, and exit 70, never a pass.
fn crashed(message: &str) -> ExitCode {
    eprintln!(
        "jobgate: internal error: {message}. This is a bug; please report it (with the report, if one was written)."
    );
    if let Some(report) = crate::engine::crash_report(message) {
        if let Err(e) = write_crash_files(&report) {
            eprintln!("jobgate: {e}");
        }
        if CRASH_OUTPUTS.get().is_some_and(|o| o.json)
            && let Ok(text) = crate::report::json::to_json(&report)
        {
            print!("{text}");
        }
        // Step outputs and summary, where the runner asked for them.
        let path = CRASH_OUTPUTS
            .get()
            .and_then(|o| o.report.as_ref())
            .map(|p| p.display().to_string());
        let _ = crate::report::github::GithubEnv::from_env().publish(&report, path.as_deref());
        let style = crate::report::human::Style {
            color: false,
            width: commands::terminal_width(),
        };
        eprint!("{}", crate::report::human::render(&report, style));
    }
    ExitCode::from(exit::INTERNAL)
}

/// Parses `NAME=VALUE` pairs from `--var`.
pub fn parse_vars(vars: &[String]) -> Result<Vec<(String, String)>, Error> {
    vars.iter()
        .map(|v| match v.split_once('=') {
            Some((k, val)) if !k.is_empty() => Ok((k.to_owned(), val.to_owned())),
            _ => Err(Error::Usage(format!("--var `{v}` is not NAME=VALUE"))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn errors_are_coloured_by_the_failed_command_s_flag() {
        let color = |args: &[&str]| Cli::try_parse_from(args).unwrap().command.color();
        let run = ["jobgate", "run", "spec.yaml", "--color", "never"];
        assert_eq!(color(&run), ColorChoice::Never);
        assert_eq!(
            color(&["jobgate", "demo", "--color", "always"]),
            ColorChoice::Always
        );
        assert_eq!(color(&["jobgate", "run", "spec.yaml"]), ColorChoice::Auto);
        assert_eq!(
            color(&["jobgate", "validate", "spec.yaml"]),
            ColorChoice::Auto
        );
    }

    #[test]
    fn vars_need_a_name() {
        assert!(parse_vars(&["A=1".into(), "B=".into()]).is_ok());
        assert!(parse_vars(&["=1".into()]).is_err());
        assert!(parse_vars(&["A".into()]).is_err());
    }
}
