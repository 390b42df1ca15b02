//! What each command does, from parsed arguments to an exit code: one file
//! per command, the helpers they share here.

mod demo;
mod eval;
mod plan;
mod run;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::api::Service;
use crate::api::endpoints::{ENV_SSL_CERT_FILE, Endpoints, Overrides};
use crate::cli::{
    self, Cli, Command, DisplayArgs, EndpointArgs, SpecArgs, ValidateArgs, parse_vars,
};
use crate::error::Error;
use crate::output::{self, ColorChoice, Environment, Verbosity};
use crate::redact::{self, Redactor};
use crate::report;
use crate::spec::{self, Spec};
use crate::{crash, exit};

/// Parses the command line, runs the command and maps the result to an exit
/// code. Clap's own errors exit 2, as the table says.
pub fn main() -> ExitCode {
    use clap::Parser as _;
    let mut cli = match Cli::try_parse() {
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
    if let Err(error) = cli::settle_outputs(&mut cli.command) {
        print_error(&error, color, cli.command.json_stdout());
        return ExitCode::from(error.code());
    }
    let json = cli.command.json_stdout();
    if let Command::Run(args) = &cli.command {
        crash::outputs_at(crash::Outputs {
            report: args.report.clone(),
            junit: args.junit.clone(),
            json: args.json,
        });
    }
    crash::install_hook();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli.command)));
    match result {
        Ok(Ok(code)) => ExitCode::from(code),
        Ok(Err(error)) => {
            print_error(&error, color, json);
            ExitCode::from(error.code())
        }
        Err(payload) => crash::crashed(&crate::engine::panic_message(&*payload)),
    }
}

/// Runs one command.
fn dispatch(command: Command) -> Result<u8, Error> {
    match command {
        Command::Run(args) => block_on_one_thread(run::run(args)),
        Command::Validate(args) => validate(&args),
        Command::Plan(args) => plan::plan(&args),
        Command::Eval(args) => eval::eval(&args),
        Command::Simulate(args) => block_on(async {
            crate::sim::simulate(args)
                .await
                .map_err(|e| Error::Simulator(e.to_string()))?;
            Ok(exit::SUCCESS)
        }),
        Command::Demo(args) => block_on(demo::demo(args)),
        Command::Schema => {
            println!("{}", include_str!("../../docs/spec.schema.json").trim_end());
            Ok(exit::SUCCESS)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut crate::cli::Cli::command(),
                "jobgate",
                &mut std::io::stdout(),
            );
            Ok(exit::SUCCESS)
        }
    }
}

/// `run` waits on the network almost all the time: one thread serves it,
/// and saves the wake-ups that hand work between threads cost (most of the
/// CPU of 1,000 concurrent waits went to them).
fn block_on_one_thread<F: Future<Output = Result<u8, Error>>>(future: F) -> Result<u8, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?
        .block_on(future)
}

/// The simulator (alone, or with a run in `demo`) serves many clients at
/// once, so it gets threads of its own: two, whatever the machine's core
/// count, enough for loopback traffic without taking a CI runner's cores.
fn block_on<F: Future<Output = Result<u8, Error>>>(future: F) -> Result<u8, Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?
        .block_on(future)
}

/// Prints a command-level error: spec errors with their located
/// diagnostics (and GitHub annotations in Actions), others on one line.
/// Colour follows the failed command's `--color` ([`Command::color`]) and
/// `NO_COLOR`. With `json` (the command's `--json`) standard output holds
/// the JSON report alone, so annotations go to stderr, which the runner
/// reads too. Messages may quote values from the environment or a server,
/// so they pass through the redactor's control and workflow-command rules.
pub(crate) fn print_error(error: &Error, color: ColorChoice, json: bool) {
    let mode = output::for_errors(&Environment::detect(), color, json);
    let mut err = std::io::stderr();
    match error {
        Error::Spec(errors) => {
            let rendered = errors.render(mode.color, mode.width);
            // Colour is jobgate's own escapes, only ever on a terminal; a CI
            // log gets the full treatment.
            let rendered = if mode.color {
                redact::neutralise_commands(&rendered)
            } else {
                Redactor::none().text(&rendered)
            };
            let _ = write!(err, "{rendered}");
            if mode.github {
                let mut commands = mode.workflow_commands.writer();
                for line in report::github::spec_annotations(errors) {
                    let _ = writeln!(commands, "{}", redact::printable(&line));
                }
            }
        }
        other => {
            let message = Redactor::none().text(&other.to_string());
            let _ = writeln!(err, "error: {message}");
        }
    }
}

/// Reads and validates a spec; variables come from `--var`, then the
/// environment.
pub(crate) fn load_spec(args: &SpecArgs) -> Result<Spec, Error> {
    load_spec_with(args, &no_value)
}

/// [`load_spec`], with `unset` giving a value for a variable that neither
/// `--var` nor the environment sets.
pub(crate) fn load_spec_with(
    args: &SpecArgs,
    unset: &dyn Fn(&str) -> Option<String>,
) -> Result<Spec, Error> {
    let (origin, source, env) = read_spec(args, unset)?;
    Ok(spec::parse(&origin, &source, &env)?)
}

/// No value for any variable.
fn no_value(_: &str) -> Option<String> {
    None
}

/// The spec's origin and text, and its variables: `--var`, then the
/// environment (the project id also under the names other tools use), then
/// `unset`.
#[allow(clippy::type_complexity)]
fn read_spec<'a>(
    args: &SpecArgs,
    unset: &'a dyn Fn(&str) -> Option<String>,
) -> Result<(String, String, impl Fn(&str) -> Option<String> + 'a), Error> {
    let vars: HashMap<String, String> = parse_vars(&args.vars)?.into_iter().collect();
    let origin = args.spec.display().to_string();
    let source = read_input(&args.spec, LARGEST_SPEC).map_err(|source| Error::ReadSpec {
        path: origin.clone(),
        source,
    })?;
    let env = move |name: &str| {
        let set = vars.get(name).cloned().or_else(|| match name {
            // The names other Huawei Cloud tools use, after the SDK's.
            "HUAWEICLOUD_SDK_PROJECT_ID" => crate::api::credentials::PROJECT_ID_VARS
                .iter()
                .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty())),
            _ => std::env::var(name).ok(),
        });
        match set {
            Some(value) if !value.is_empty() => Some(value),
            other => unset(name).or(other),
        }
    };
    Ok((origin, source, env))
}

/// The largest spec file read: far above any real spec (the largest
/// example is a few KiB), low enough that `/dev/zero` or a wrong file ends
/// in a message instead of exhausting memory.
pub(crate) const LARGEST_SPEC: u64 = 16 * 1024 * 1024;

/// The largest saved response `eval` reads (a page of 100 sub-jobs is
/// about 100 KiB).
pub(crate) const LARGEST_RESPONSE: u64 = 64 * 1024 * 1024;

/// Reads a UTF-8 file (or standard input for `-`) of at most `limit` bytes.
pub(crate) fn read_input(path: &Path, limit: u64) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    if path.as_os_str() == "-" {
        std::io::stdin().take(limit + 1).read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)?
            .take(limit + 1)
            .read_to_end(&mut bytes)?;
    }
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "it is larger than {} MiB, the most jobgate reads (is it the right file?)",
                limit / (1024 * 1024)
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        )
    })
}

fn validate(args: &ValidateArgs) -> Result<u8, Error> {
    if args.structure_only {
        return validate_structure(&args.spec);
    }
    let spec = load_spec(&args.spec)?;
    let n = spec.waits.len();
    eprintln!(
        "{}: valid, {n} wait{}",
        spec.origin,
        if n == 1 { "" } else { "s" }
    );
    Ok(exit::SUCCESS)
}

/// Stands in for the project id when none is set, so that a spec relying
/// on `HUAWEICLOUD_SDK_PROJECT_ID` checks without one. Shaped like a real
/// id, so that it passes the id's own check.
const PLACEHOLDER_PROJECT_ID: &str = "00000000000000000000000000000000";

/// `validate --structure-only`: every mistake except unset variables, which
/// stand for values supplied when the spec runs.
///
/// Two passes, because the validator skips the checks across waits (such
/// as `after:`) while anything else is wrong: the first finds the unset
/// variables; the second gives them a placeholder value and reports what
/// is left, except mistakes in the very values the placeholders stand for.
fn validate_structure(args: &SpecArgs) -> Result<u8, Error> {
    let (origin, source, env) = read_spec(args, &no_value)?;
    let env = |name: &str| {
        env(name).or_else(|| {
            (name == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| PLACEHOLDER_PROJECT_ID.to_owned())
        })
    };
    let unset = match spec::parse(&origin, &source, &env) {
        Ok(_) => Vec::new(),
        Err(errors) => unset_only(errors)?,
    };
    let mut names: Vec<&str> = unset.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    if !names.is_empty() {
        let filled = |name: &str| {
            env(name).or_else(|| names.contains(&name).then(|| PLACEHOLDER.to_owned()))
        };
        if let Err(mut errors) = spec::parse(&origin, &source, &filled) {
            let spans: Vec<_> = unset.iter().map(|(_, span)| *span).collect();
            errors
                .diagnostics
                .retain(|d| !spans.iter().any(|u| overlap(d.span, *u)));
            if !errors.diagnostics.is_empty() {
                return Err(errors.into());
            }
        }
    }
    if names.is_empty() {
        eprintln!("{origin}: valid structure");
    } else {
        eprintln!(
            "{origin}: valid structure; unset, taken as placeholders: {}",
            names.join(", ")
        );
    }
    Ok(exit::SUCCESS)
}

/// What an unset variable stands for in the second pass: plain text that
/// no check across waits looks at.
const PLACEHOLDER: &str = "placeholder";

fn overlap(a: crate::spec::yaml::Span, b: crate::spec::yaml::Span) -> bool {
    a.offset < b.offset + b.len.max(1) && b.offset < a.offset + a.len.max(1)
}

/// The unset variables of a failed parse, with where each is used, when
/// they are its only mistakes; else every other mistake, as the error.
fn unset_only(
    mut errors: spec::SpecErrors,
) -> Result<Vec<(String, crate::spec::yaml::Span)>, Error> {
    let mut unset = Vec::new();
    errors.diagnostics.retain(|d| {
        if d.code == spec::DiagnosticCode::UnsetVariable {
            unset.push((unset_name(&errors.source, d), d.span));
            false
        } else {
            true
        }
    });
    if errors.diagnostics.is_empty() {
        Ok(unset)
    } else {
        Err(errors.into())
    }
}

/// The variable an unset-variable diagnostic is about: the `${NAME}` under
/// its marker, else the name its message quotes.
fn unset_name(source: &str, d: &spec::SpecDiagnostic) -> String {
    let marked = source
        .get(d.span.offset..d.span.offset.saturating_add(d.span.len))
        .and_then(|t| t.strip_prefix("${"))
        .and_then(|t| t.split(['}', ':']).next())
        .filter(|n| !n.is_empty());
    let quoted = || d.message.split('`').nth(1);
    marked.or_else(quoted).unwrap_or("?").to_owned()
}

pub(crate) fn endpoints(spec: &Spec, args: &EndpointArgs) -> Result<Endpoints, Error> {
    let mut overrides = Overrides {
        spec: spec.endpoints.overrides.clone(),
        ..Default::default()
    };
    for service in Service::ALL {
        // A set but unreadable override must not fall back to the public host.
        match std::env::var(service.endpoint_env_var()) {
            Ok(url) if !url.is_empty() => overrides.env.push((service, url)),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Error::Usage(format!(
                    "{} is set but is not valid UTF-8 text: set it to the endpoint URL",
                    service.endpoint_env_var()
                )));
            }
            _ => {}
        }
    }
    for value in &args.endpoints {
        if iam_override(value).is_some() {
            continue; // Keyless authentication's, see `iam_endpoint`.
        }
        let parsed = match value.split_once('=') {
            // A bare URL may hold `=` itself (in a query, refused later).
            Some((name, url)) if !name.contains("://") => {
                match Service::ALL.into_iter().find(|s| s.name() == name) {
                    Some(s) => (Some(s), url.to_owned()),
                    None => {
                        return Err(Error::Usage(format!(
                            "--endpoint `{value}`: unknown service `{name}` (workspace, appstream or iam)"
                        )));
                    }
                }
            }
            _ => (None, value.clone()),
        };
        overrides.cli.push(parsed);
    }
    let ssl_cert_file = std::env::var_os(ENV_SSL_CERT_FILE).map(std::path::PathBuf::from);
    Ok(
        Endpoints::resolve(&spec.endpoints.region, &overrides, args.allow_http)?
            .trust(args.ca_cert.as_deref(), ssl_cert_file)?,
    )
}

fn iam_override(value: &str) -> Option<&str> {
    value.strip_prefix("iam=")
}

/// The IAM (or, for `AssumeAgencyWithOIDC`, STS) endpoint of keyless
/// authentication: `--endpoint iam=URL` (the last one), else `configured`
/// (from `configured_by` or the SDKs' default), checked like the services'
/// endpoints. Returns it and
/// whether it is on this machine.
pub(crate) fn iam_endpoint(
    configured: &str,
    configured_by: &str,
    args: &EndpointArgs,
) -> Result<(String, bool), Error> {
    let (url, origin) = match args.endpoints.iter().rev().find_map(|v| iam_override(v)) {
        Some(url) => (url.trim_end_matches('/').to_owned(), "--endpoint iam="),
        None => (configured.to_owned(), configured_by),
    };
    let loopback = crate::api::endpoints::check_other(&url, origin, args.allow_http)?;
    Ok((url, loopback))
}

pub(crate) fn verbosity(d: &DisplayArgs) -> Verbosity {
    if d.quiet {
        Verbosity::Quiet
    } else if d.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}
