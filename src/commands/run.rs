//! `jobgate run`: poll a spec to its outcome and publish every output.

use std::io::Write;
use std::sync::Arc;

use super::{endpoints, load_spec, verbosity};
use crate::api::client::{Client, ClientOptions};
use crate::api::credentials::{self, Credentials, Source};
use crate::api::endpoints::Endpoints;
use crate::cli::RunArgs;
use crate::engine::{self, Gate, RunOptions, Stop};
use crate::error::Error;
use crate::output::{self, Environment, OutputMode};
use crate::redact::{Redacted, Redactor};
use crate::report;
use crate::report::model::Outcome;
use crate::report::publish::{OnFailure, Outputs, publish};
use crate::spec::Spec;

pub(super) async fn run(args: RunArgs) -> Result<u8, Error> {
    let mut spec = load_spec(&args.spec)?;
    if let Some(effort) = args.effort {
        for wait in &mut spec.waits {
            wait.poll.effort = effort;
        }
    }
    let waits: Vec<&str> = spec.waits.iter().map(|w| w.name.as_str()).collect();
    crate::cli::distinct_saved_responses(&args, &waits)?;
    let endpoints = endpoints(&spec, &args.endpoints)?;
    let mode = output::decide(
        &Environment::detect(),
        args.display.color,
        verbosity(&args.display),
    )
    .json_stdout(args.json);
    let outputs = Outputs {
        report: args.report.as_deref(),
        junit: args.junit.as_deref(),
        json: args.json,
        responses: None,
    };
    for warning in credentials::disagreements(|name| std::env::var(name).ok()) {
        eprintln!("{warning}");
    }
    let not_started = || NotStarted {
        spec: &spec,
        outputs: &outputs,
        mode,
        args: &args,
    };
    let source = match Source::from_env() {
        Ok(source) => source,
        Err(e) => {
            return Err(not_started().end(Outcome::AuthError, e.into(), &Redactor::none()));
        }
    };
    let (client, secrets) = match source {
        Source::Static(credentials) => {
            let secrets: Vec<String> = credentials
                .redacted_values()
                .into_iter()
                .map(str::to_owned)
                .collect();
            let client = match Client::new(endpoints, credentials, &ClientOptions::default()) {
                Ok(client) => client,
                Err(e) => {
                    let redactor = Redactor::new(secrets.iter().map(String::as_str));
                    let error = Error::Internal(e);
                    return Err(not_started().end(Outcome::InternalError, error, &redactor));
                }
            };
            (client, secrets)
        }
        Source::Idp(mut config) => {
            let configured_by = if config.agency.is_some() {
                crate::api::federation::ENV_STS_ENDPOINT
            } else {
                crate::api::federation::ENV_IAM_ENDPOINT
            };
            let (iam, iam_loopback) =
                super::iam_endpoint(&config.iam_endpoint, configured_by, &args.endpoints)?;
            config.iam_endpoint = iam;
            // Masked in the report of a failed exchange too, whatever IAM echoed.
            let id_token = crate::api::federation::read_token_file(&config).ok();
            let redactor = Redactor::new(id_token.as_ref().map(|t| t.expose()));
            let client = match Client::with_idp(
                endpoints,
                config,
                iam_loopback,
                &ClientOptions::default(),
            ) {
                Ok(client) => client,
                Err(e) => {
                    let error = Error::Internal(e);
                    return Err(not_started().end(Outcome::InternalError, error, &redactor));
                }
            };
            // Before the first poll: a refused exchange ends the run here.
            match client.exchange().await {
                Ok(secrets) => (client, secrets),
                Err(e) => {
                    let outcome = if e.is_transient() {
                        Outcome::ApiError
                    } else {
                        Outcome::AuthError
                    };
                    return Err(not_started().end(outcome, e.into(), &redactor));
                }
            }
        }
    };
    if mode.github {
        let mut commands = mode.workflow_commands.writer();
        for secret in &secrets {
            let _ = writeln!(commands, "{}", report::github::mask(secret));
        }
    }
    let fail_fast = if args.keep_going {
        Some(false)
    } else if args.fail_fast {
        Some(true)
    } else {
        None
    };
    let options = RunOptions {
        deadline: args.deadline,
        fail_fast,
        seed: args.seed.unwrap_or_else(|| fastrand::u64(..)),
        responses: args.save_responses.as_ref().map(|_| Arc::default()),
        history: history_store(&args, &spec),
    };
    let responses = options.responses.clone();
    let limits = Limits {
        concurrency: args.max_concurrency,
        rps: args
            .max_rps
            .or(spec.max_rps)
            .unwrap_or(crate::cli::DEFAULT_RPS),
    };
    let redactor = Redactor::new(secrets.iter().map(String::as_str));
    redactor.register();
    let mut client = client;
    let renewed = redactor.clone();
    client.on_renewal(Box::new(move |secrets| {
        renewed.learn(secrets.iter().copied());
        if mode.github {
            let mut commands = mode.workflow_commands.writer();
            for secret in secrets {
                let _ = writeln!(commands, "{}", report::github::mask(secret));
            }
        }
    }));
    let mut report = execute_with(&spec, client, redactor.clone(), options, limits, mode).await?;
    let outputs = Outputs {
        responses: args
            .save_responses
            .as_deref()
            .zip(responses.as_deref())
            .map(|(dir, responses)| (dir, responses, &redactor)),
        ..outputs
    };
    publish(&mut report, &outputs, mode, OnFailure::Fail)?;
    Ok(report.exit_code)
}

/// A run that ends before its first poll.
struct NotStarted<'a> {
    spec: &'a Spec,
    outputs: &'a Outputs<'a>,
    mode: OutputMode,
    args: &'a RunArgs,
}

impl NotStarted<'_> {
    /// Publishes the report of a run stopped by `error` before anything was
    /// polled, every wait `outcome`: a CI step gating on the report, the
    /// step outputs or the summary must still learn why. The command ends
    /// with `error` (returned), whose code the report carries; an output
    /// that cannot be written is said on stderr but leaves the code alone.
    fn end(self, outcome: Outcome, error: Error, redactor: &Redactor) -> Error {
        let reason = format!("not started: {error}");
        let report = engine::not_started(self.spec, outcome, &reason);
        let mut report = redactor.report(report);
        if let Err(unwritten) = publish(&mut report, self.outputs, self.mode, OnFailure::KeepCode) {
            super::print_error(&unwritten, self.args.display.color, self.args.json);
        }
        error
    }
}

/// Run-wide request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub rps: f64,
}

/// Polls a validated spec to its outcome, handling SIGINT and SIGTERM. The
/// report and every live event pass through one [`Redactor`] built from the
/// credentials, so no output shows a secret or raw server control text.
pub async fn execute(
    spec: &Spec,
    endpoints: Endpoints,
    credentials: Credentials,
    options: RunOptions,
    limits: Limits,
    mode: OutputMode,
) -> Result<Redacted, Error> {
    let redactor = Redactor::new(credentials.redacted_values());
    redactor.register();
    let client =
        Client::new(endpoints, credentials, &ClientOptions::default()).map_err(Error::Internal)?;
    execute_with(spec, client, redactor, options, limits, mode).await
}

/// Like [`execute`], with a client already set up (and, for keyless
/// authentication, its first credentials already obtained).
pub async fn execute_with(
    spec: &Spec,
    client: Client,
    redactor: Redactor,
    options: RunOptions,
    limits: Limits,
    mode: OutputMode,
) -> Result<Redacted, Error> {
    let gate = Arc::new(Gate::new(client, limits.concurrency, limits.rps));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(output::render(mode, rx, redactor.clone()));
    let (run, done) = engine::start(spec, gate, options, tx);
    let run = Arc::new(run);
    let signals = {
        let run = run.clone();
        tokio::spawn(async move {
            let stop = wait_for_signal().await;
            run.stop(stop);
        })
    };
    done.await;
    signals.abort();
    let _ = renderer.await;
    Ok(redactor.report(run.snapshot()))
}

#[cfg(unix)]
async fn wait_for_signal() -> Stop {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => Stop::Interrupted,
        _ = term.recv() => Stop::Terminated,
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> Stop {
    let _ = tokio::signal::ctrl_c().await;
    Stop::Interrupted
}

/// The local history the run reads and records into: `--no-history` turns
/// it off; otherwise `--history-file` (or `JOBGATE_HISTORY_FILE`), the
/// spec's `history_file`, or the cache directory's default.
fn history_store(args: &RunArgs, spec: &Spec) -> Option<Arc<engine::estimate::store::Store>> {
    use engine::estimate::store;
    if args.no_history {
        return None;
    }
    let path = args
        .history_file
        .clone()
        .or_else(|| spec.history_file.clone())
        .or_else(|| store::default_path(&|name| std::env::var(name).ok()))?;
    Some(Arc::new(store::Store::new(
        path,
        Box::new(|message| eprintln!("warning: {message}")),
    )))
}
