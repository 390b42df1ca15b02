//! The command line: what it can say, parsed into a [`Command`] and checked
//! on its own (flags that conflict, outputs that would overwrite each
//! other). What each command does is in [`crate::commands`], which depends
//! on this module, never the reverse.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::output::ColorChoice;

/// Wait for Huawei Cloud Workspace asynchronous jobs, declaratively.
///
/// A YAML spec names the jobs to wait on and the end states expected;
/// jobgate polls the Workspace APIs gently (exponential backoff with jitter,
/// shared rate limits), exits with a documented code and writes reports.
///
/// Exit codes: 0 every wait met its condition; 1 a wait failed or reached an
/// unexpected state; 2 invalid command line or spec (nothing polled); 3 a
/// timeout ran out; 4 credentials missing or rejected; 5 the API stayed
/// unreachable or kept failing, or an output could not be written; 70
/// internal error (a bug); 130/143 interrupted by SIGINT/SIGTERM.
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
    Validate(ValidateArgs),
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

    /// Whether standard output is reserved for the JSON report (`--json`),
    /// so that errors keep their workflow commands off it.
    pub fn json_stdout(&self) -> bool {
        matches!(self, Command::Run(args) if args.json)
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

/// `jobgate validate`.
#[derive(Debug, Args, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Check the spec's structure only, as a pull-request check: unset
    /// `${VAR}`s, including the project id, are accepted as placeholders,
    /// so no credentials, project id or variable values are needed. Values
    /// that are set are still checked.
    #[arg(long)]
    pub structure_only: bool,
}

/// Endpoint selection.
#[derive(Debug, Args, Clone, Default)]
pub struct EndpointArgs {
    /// Override a service's endpoint: `workspace=URL`, `appstream=URL`, or a
    /// bare URL for both (e.g. a simulator or a private endpoint); `iam=URL`
    /// sets the keyless exchange's (IAM, or STS for `AssumeAgencyWithOIDC`).
    #[arg(long = "endpoint", value_name = "[SERVICE=]URL")]
    pub endpoints: Vec<String>,
    /// Allow plain http:// to hosts other than loopback.
    #[arg(long)]
    pub allow_http: bool,
    /// Also trust the CA certificates in FILE (PEM), e.g. a private CA or a
    /// TLS-inspecting proxy; without it, `SSL_CERT_FILE` is read if set.
    #[arg(long, value_name = "FILE", env = "JOBGATE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// `jobgate run`.
#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    #[command(flatten)]
    pub endpoints: EndpointArgs,
    /// Write the JSON report to FILE (also on failure, timeout and
    /// interrupt); `-` prints it on standard output, as `--json` does.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (one test case per wait).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print the JSON report on standard output.
    #[arg(long)]
    pub json: bool,
    /// Write each wait's last answer, redacted, to DIR/WAIT.json: the file
    /// `jobgate eval --response` reads, to debug a gate offline.
    #[arg(long, value_name = "DIR")]
    pub save_responses: Option<PathBuf>,
    /// One deadline over all waits, e.g. `30m` (overrides the spec).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub deadline: Option<std::time::Duration>,
    /// Cancel the other waits as soon as one fails (the default).
    #[arg(long, overrides_with = "keep_going")]
    pub fail_fast: bool,
    /// Let every wait finish to learn every outcome.
    #[arg(long, overrides_with = "fail_fast")]
    pub keep_going: bool,
    /// Requests in flight at once, across all waits (1 to 256).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = parse_concurrency)]
    pub max_concurrency: usize,
    /// Requests per second at most, across all waits (0.1 to 1000). The
    /// default, 2 (120 a minute), stays under the API's per-user limit of
    /// 200 a minute; pipelines sharing one account split it between them.
    /// Each API has its own rate under this cap; a rate drops on
    /// throttling and recovers on successes.
    /// Given here it wins over the spec's `max_rps`.
    #[arg(long, env = "JOBGATE_MAX_RPS", value_name = "N", value_parser = parse_rps)]
    pub max_rps: Option<f64>,
    /// Seed for poll jitter (reproducible schedules).
    #[arg(long, hide = true)]
    pub seed: Option<u64>,
    /// Keep the local history of job durations, which times the polls of
    /// later runs, in FILE (default: `$XDG_CACHE_HOME/jobgate/history.json`
    /// or `~/.cache/jobgate/history.json`). Given here it wins over the
    /// spec's `history_file`.
    #[arg(long, env = "JOBGATE_HISTORY_FILE", value_name = "FILE")]
    pub history_file: Option<PathBuf>,
    /// Neither read nor write the local history (wins over
    /// `--history-file`).
    #[arg(long)]
    pub no_history: bool,
    /// Requests against detection latency for every adaptive wait: `gentle`,
    /// `balanced` or `eager` (overrides the spec's `poll.effort`).
    #[arg(long, env = "JOBGATE_EFFORT", value_name = "EFFORT", value_parser = parse_effort)]
    pub effort: Option<crate::spec::Effort>,
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

/// `--deadline`: the spec's parser and ceiling, and, like `deadline:` in a
/// spec, never zero (a zero deadline would end every wait before its first
/// poll).
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let duration = crate::spec::duration::parse(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("the deadline must be longer than zero, e.g. `30m`".into());
    }
    Ok(duration)
}

/// The range `--max-concurrency` accepts: 0 would never send a request.
const CONCURRENCY: std::ops::RangeInclusive<usize> = 1..=256;

fn parse_concurrency(text: &str) -> Result<usize, String> {
    parse_in(
        text,
        &CONCURRENCY,
        "a whole number",
        "requests in flight at once, e.g. `8`",
    )
}

/// A number in `range`, or an error that says what was given, the range,
/// and what the number means (`what`: `a whole number`, `a number`).
fn parse_in<T>(
    text: &str,
    range: &std::ops::RangeInclusive<T>,
    what: &str,
    meaning: &str,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    match text.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not {what} from {} to {}: {meaning}",
            range.start(),
            range.end()
        )),
    }
}

/// `--max-rps` by default: 120 requests a minute, under the gateway's
/// per-user limit of 200 a minute per API with room for other clients.
pub const DEFAULT_RPS: f64 = 2.0;
// The gateway allows 200 requests a minute per API and user: one process
// alone leaves room for others.
const _: () = assert!(DEFAULT_RPS * 60.0 <= 200.0 * 0.6);

/// The range `--max-rps` accepts. Below it, polls would be minutes apart
/// whatever the spec says (0, a negative number or NaN used to become one
/// request per 100 s); above it, the gateway's rate limit answers instead.
pub const RPS: std::ops::RangeInclusive<f64> = 0.1..=1000.0;

fn parse_effort(text: &str) -> Result<crate::spec::Effort, String> {
    crate::spec::Effort::parse(text.trim()).ok_or_else(|| {
        format!("`{text}` is not an effort: write `gentle`, `balanced` (the default) or `eager`")
    })
}

fn parse_rps(text: &str) -> Result<f64, String> {
    parse_in(
        text,
        &RPS,
        "a number",
        "requests per second across all waits, e.g. `10`",
    )
}

/// Settles the report flags before anything runs: `--report -` means
/// `--json` (the report alone on standard output), and no two outputs may
/// name the same file, nor the spec, nor a file the GitHub runner hands to
/// the step, where one would overwrite the other.
pub(crate) fn settle_outputs(command: &mut Command) -> Result<(), Error> {
    let github: Vec<(String, PathBuf)> = GITHUB_FILES
        .iter()
        .filter_map(|name| {
            let value = std::env::var_os(name).filter(|v| !v.is_empty())?;
            Some((format!("${name}"), PathBuf::from(value)))
        })
        .collect();
    match command {
        Command::Run(args) => {
            if args.report.as_deref() == Some(std::path::Path::new("-")) {
                args.report = None;
                args.json = true;
            }
            if args.junit.as_deref() == Some(std::path::Path::new("-")) {
                return Err(Error::Usage(
                    "--junit -: the JUnit report is written to a file; give a path, e.g. `--junit jobgate.xml` (`--report -` or `--json` print the JSON report)".into(),
                ));
            }
            let mut named: Vec<(String, PathBuf)> = Vec::new();
            if let Some(path) = &args.report {
                named.push(("--report".into(), path.clone()));
            }
            if let Some(path) = &args.junit {
                named.push(("--junit".into(), path.clone()));
            }
            let mut inputs = github;
            if args.spec.spec.as_os_str() != "-" {
                inputs.push(("the spec".into(), args.spec.spec.clone()));
            }
            distinct_outputs(&named, &inputs)
        }
        Command::Demo(args) => match &args.report {
            Some(path) if path.as_os_str() == "-" => Err(Error::Usage(
                "--report -: the demo writes its report to a file; give a path, e.g. `--report demo.json`".into(),
            )),
            Some(path) => distinct_outputs(&[("--report".into(), path.clone())], &github),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Refuses a `--save-responses` file (`DIR/WAIT.json` for each of `waits`)
/// that is another output, the spec or a file the runner gives the step:
/// known only once the spec names its waits.
pub(crate) fn distinct_saved_responses(args: &RunArgs, waits: &[&str]) -> Result<(), Error> {
    let Some(dir) = &args.save_responses else {
        return Ok(());
    };
    let named: Vec<(String, PathBuf)> = waits
        .iter()
        .map(|w| ("--save-responses".to_owned(), dir.join(format!("{w}.json"))))
        .collect();
    let mut others: Vec<(String, PathBuf)> = GITHUB_FILES
        .iter()
        .filter_map(|name| {
            let value = std::env::var_os(name).filter(|v| !v.is_empty())?;
            Some((format!("${name}"), PathBuf::from(value)))
        })
        .collect();
    others.extend(
        args.report
            .iter()
            .map(|p| ("--report".to_owned(), p.clone())),
    );
    others.extend(args.junit.iter().map(|p| ("--junit".to_owned(), p.clone())));
    if args.spec.spec.as_os_str() != "-" {
        others.push(("the spec".into(), args.spec.spec.clone()));
    }
    distinct_outputs(&named, &others)
}

/// The files a GitHub runner gives a step, which jobgate must not overwrite.
const GITHUB_FILES: [&str; 5] = [
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STATE",
];

/// Refuses two of `named` (flag, path) that are the same file, or one that
/// is one of the `others` (the spec, the runner's files).
fn distinct_outputs(
    named: &[(String, PathBuf)],
    others: &[(String, PathBuf)],
) -> Result<(), Error> {
    for (i, (flag, path)) in named.iter().enumerate() {
        let others = named[i + 1..].iter().chain(others);
        if let Some((other, _)) = others.into_iter().find(|(_, o)| same_file(path, o)) {
            return Err(Error::Usage(format!(
                "{flag} {} and {other} name the same file: writing one would overwrite the other; give each output its own file",
                path.display()
            )));
        }
    }
    Ok(())
}

/// Whether two paths name one file, whether it exists yet or not: compared
/// after resolving the directory (symbolic links, `..`, the working
/// directory).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    fn resolved(path: &std::path::Path) -> PathBuf {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Ok(real) = absolute.canonicalize() {
            return real;
        }
        match (absolute.parent(), absolute.file_name()) {
            (Some(dir), Some(name)) => dir
                .canonicalize()
                .map(|dir| dir.join(name))
                .unwrap_or(absolute),
            _ => absolute,
        }
    }
    resolved(a) == resolved(b)
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
    use crate::exit;
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
    fn rate_and_concurrency_limits_are_bounded() {
        for bad in [
            "0", "-1", "NaN", "nan", "inf", "-inf", "0.01", "1e9", "x", "",
        ] {
            assert!(parse_rps(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rps("0.5"), Ok(0.5));
        assert_eq!(parse_rps("10"), Ok(10.0));
        for bad in ["0", "-1", "257", "1.5", "x"] {
            assert!(parse_concurrency(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_concurrency("1"), Ok(1));
    }

    #[test]
    fn the_default_rate_stays_inside_the_per_user_quota() {
        let args = |extra: &[&str]| {
            let mut argv = vec!["jobgate", "run", "spec.yaml"];
            argv.extend_from_slice(extra);
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Run(run) => run.max_rps,
                _ => unreachable!(),
            }
        };
        assert_eq!(args(&[]), None, "unset: the spec's or the default");
        assert_eq!(args(&["--max-rps", "0.5"]), Some(0.5));
    }

    #[test]
    fn the_deadline_is_positive_and_bounded() {
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(parse_duration("18000000000000000000s").is_err());
        assert!(parse_duration("30M").is_err());
        assert!(parse_duration("30m").is_ok());
    }

    fn settled(args: &[&str]) -> Result<Command, Error> {
        let mut command = Cli::try_parse_from(args).unwrap().command;
        settle_outputs(&mut command).map(|()| command)
    }

    #[test]
    fn report_dash_prints_the_report() {
        let Command::Run(run) = settled(&["jobgate", "run", "s.yaml", "--report", "-"]).unwrap()
        else {
            panic!()
        };
        assert!(run.json && run.report.is_none());
        assert!(settled(&["jobgate", "run", "s.yaml", "--junit", "-"]).is_err());
        assert!(settled(&["jobgate", "demo", "--report", "-"]).is_err());
    }

    #[test]
    fn two_outputs_never_share_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("out.json");
        let same = dir.path().join("sub/../out.json");
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let (a, same) = (a.to_str().unwrap(), same.to_str().unwrap());
        let error = settled(&["jobgate", "run", "s.yaml", "--report", a, "--junit", same])
            .err()
            .unwrap();
        assert!(error.to_string().contains("same file"), "{error}");
        assert_eq!(error.code(), exit::INVALID_INPUT);
        let spec = dir.path().join("spec.yaml");
        let spec = spec.to_str().unwrap();
        let error = settled(&["jobgate", "run", spec, "--report", spec])
            .err()
            .unwrap();
        assert!(error.to_string().contains("the spec"), "{error}");
        let other = dir.path().join("out.xml");
        let other = other.to_str().unwrap();
        assert!(settled(&["jobgate", "run", "s.yaml", "--report", a, "--junit", other]).is_ok());
    }

    #[test]
    fn vars_need_a_name() {
        assert!(parse_vars(&["A=1".into(), "B=".into()]).is_ok());
        assert!(parse_vars(&["=1".into()]).is_err());
        assert!(parse_vars(&["A".into()]).is_err());
    }
}
