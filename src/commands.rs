//! What each command does, from parsed arguments to an exit code.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use crate::api::Service;
use crate::api::client::{Client, ClientOptions};
use crate::api::credentials::Credentials;
use crate::api::endpoints::{Endpoints, Overrides};
use crate::cli::{
    Command, DemoArgs, DisplayArgs, EndpointArgs, EvalArgs, PlanArgs, RunArgs, SpecArgs, parse_vars,
};
use crate::engine::{self, Gate, RunOptions, Stop};
use crate::error::Error;
use crate::exit;
use crate::output::{self, Environment, OutputMode, Verbosity};
use crate::report::{self, RunReport};
use crate::spec::{self, Spec, duration};

/// Runs one command.
pub fn dispatch(command: Command) -> Result<u8, Error> {
    match command {
        Command::Run(args) => block_on(run(args)),
        Command::Validate(args) => validate(&args),
        Command::Plan(args) => plan(&args),
        Command::Eval(args) => eval(&args),
        Command::Simulate(args) => block_on(async {
            crate::sim::simulate(args)
                .await
                .map_err(|e| Error::Simulator(e.to_string()))?;
            Ok(exit::SUCCESS)
        }),
        Command::Demo(args) => block_on(demo(args)),
        Command::Schema => {
            println!("{}", include_str!("../docs/spec.schema.json").trim_end());
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
pub fn print_error(error: &Error) {
    let env = Environment::detect();
    let mode = output::decide(&env, crate::output::ColorChoice::Auto, Verbosity::Normal);
    let mut err = std::io::stderr();
    match error {
        Error::Spec(errors) => {
            let _ = write!(err, "{}", errors.render(mode.color, terminal_width()));
            if mode.github {
                for line in report::github::spec_annotations(errors) {
                    println!("{line}");
                }
            }
        }
        other => {
            let _ = writeln!(err, "error: {other}");
        }
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// Reads and validates a spec; variables come from `--var`, then the
/// environment.
pub fn load_spec(args: &SpecArgs) -> Result<Spec, Error> {
    let vars: HashMap<String, String> = parse_vars(&args.vars)?.into_iter().collect();
    let origin = args.spec.display().to_string();
    let source = read_input(&args.spec).map_err(|source| Error::ReadSpec {
        path: origin.clone(),
        source,
    })?;
    let env = move |name: &str| vars.get(name).cloned().or_else(|| std::env::var(name).ok());
    Ok(spec::parse(&origin, &source, &env)?)
}

fn read_input(path: &Path) -> std::io::Result<String> {
    let bytes = if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf)?;
        buf
    } else {
        std::fs::read(path)?
    };
    String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "the file is not UTF-8 text",
        )
    })
}

fn validate(args: &SpecArgs) -> Result<u8, Error> {
    let spec = load_spec(args)?;
    let n = spec.waits.len();
    eprintln!(
        "{}: valid, {n} wait{}",
        spec.origin,
        if n == 1 { "" } else { "s" }
    );
    Ok(exit::SUCCESS)
}

fn endpoints(spec: &Spec, args: &EndpointArgs) -> Result<Endpoints, Error> {
    let mut overrides = Overrides {
        spec: spec.endpoints.overrides.clone(),
        ..Default::default()
    };
    for service in Service::ALL {
        if let Ok(url) = std::env::var(service.endpoint_env_var())
            && !url.is_empty()
        {
            overrides.env.push((service, url));
        }
    }
    for value in &args.endpoints {
        let parsed = match value.split_once('=') {
            Some((name, url)) => match Service::ALL.into_iter().find(|s| s.name() == name) {
                Some(s) => (Some(s), url.to_owned()),
                None => {
                    return Err(Error::Usage(format!(
                        "--endpoint `{value}`: unknown service `{name}` (workspace or appstream)"
                    )));
                }
            },
            None => (None, value.clone()),
        };
        overrides.cli.push(parsed);
    }
    Ok(Endpoints::resolve(
        &spec.endpoints.region,
        &overrides,
        args.allow_http,
    )?)
}

fn verbosity(d: &DisplayArgs) -> Verbosity {
    if d.quiet {
        Verbosity::Quiet
    } else if d.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

async fn run(args: RunArgs) -> Result<u8, Error> {
    let spec = load_spec(&args.spec)?;
    let endpoints = endpoints(&spec, &args.endpoints)?;
    let credentials = Credentials::from_env()?;
    let mode = output::decide(
        &Environment::detect(),
        args.display.color,
        verbosity(&args.display),
    );
    if mode.github {
        for secret in credentials.secrets() {
            println!("{}", report::github::mask(secret));
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
    };
    let limits = Limits {
        concurrency: args.max_concurrency,
        rps: args.max_rps,
    };
    let report = execute(&spec, endpoints, credentials, options, limits, mode).await?;
    let outputs = Outputs {
        report: args.report.as_deref(),
        junit: args.junit.as_deref(),
        json: args.json,
    };
    publish(&report, &outputs, mode)?;
    Ok(report.exit_code)
}

/// Run-wide request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub concurrency: usize,
    pub rps: f64,
}

/// Polls a validated spec to its outcome, handling SIGINT and SIGTERM.
pub async fn execute(
    spec: &Spec,
    endpoints: Endpoints,
    credentials: Credentials,
    options: RunOptions,
    limits: Limits,
    mode: OutputMode,
) -> Result<RunReport, Error> {
    let client =
        Client::new(endpoints, credentials, &ClientOptions::default()).map_err(Error::Internal)?;
    let gate = Arc::new(Gate::new(client, limits.concurrency, limits.rps));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(output::render(mode, rx));
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
    Ok(run.snapshot())
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

/// Where the run's report goes.
pub struct Outputs<'a> {
    pub report: Option<&'a Path>,
    pub junit: Option<&'a Path>,
    pub json: bool,
}

/// Writes every requested output: files first (so they exist even if the
/// terminal is gone), then the summary and the GitHub integration.
pub fn publish(report: &RunReport, outputs: &Outputs, mode: OutputMode) -> Result<(), Error> {
    let mut first_error = None;
    if let Some(path) = outputs.report
        && let Err(source) = report::json::write(report, path)
    {
        first_error.get_or_insert(Error::WriteReport {
            path: path.display().to_string(),
            source,
        });
    }
    if let Some(path) = outputs.junit
        && let Err(source) =
            report::json::write_atomic(path, report::junit::render(report).as_bytes())
    {
        first_error.get_or_insert(Error::WriteReport {
            path: path.display().to_string(),
            source,
        });
    }
    if outputs.json {
        match report::json::to_json(report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                first_error.get_or_insert(Error::Internal(e.to_string()));
            }
        }
    }
    if mode.github {
        let report_path = outputs.report.map(|p| p.display().to_string());
        if let Err(e) =
            report::github::GithubEnv::from_env().publish(report, report_path.as_deref())
        {
            first_error.get_or_insert(Error::Internal(format!(
                "cannot write the GitHub Actions outputs: {e}"
            )));
        }
        // Workflow commands are read from stdout; per-wait detail is folded.
        for line in report::github::annotations(report) {
            println!("{line}");
        }
        for wait in &report.waits {
            println!(
                "{}",
                report::github::group(&format!(
                    "jobgate: {} — {}",
                    wait.name,
                    wait.outcome.as_str()
                ))
            );
            for entry in &wait.history {
                println!("[{:>7.1}s] {}", entry.at_ms as f64 / 1000.0, entry.state);
            }
            println!("{}", wait.reason);
            println!("{}", report::github::endgroup());
        }
    }
    let style = report::human::Style {
        color: mode.color,
        width: terminal_width(),
    };
    eprint!("{}", report::human::render(report, style));
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn plan(args: &PlanArgs) -> Result<u8, Error> {
    let spec = load_spec(&args.spec)?;
    let endpoints = endpoints(&spec, &args.endpoints)?;
    let auth = match Credentials::from_env() {
        Ok(c) => c.describe().to_owned(),
        Err(_) => "no credentials found in the environment (run would exit 4)".to_owned(),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "Plan for {} ({} wait{})\n",
        spec.origin,
        spec.waits.len(),
        if spec.waits.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&format!("  authentication: {auth}\n"));
    out.push_str(&format!(
        "  deadline: {}; on failure: {}\n",
        spec.deadline
            .map_or("none (each wait's timeout)".to_owned(), duration::format),
        if spec.fail_fast {
            "cancel the other waits (fail fast)"
        } else {
            "let every wait finish"
        }
    ));
    for wait in &spec.waits {
        let unresolved = |w: &str, k: &str| Some(format!("${{outputs.{w}.{k}}}"));
        let plan = engine::fetch::plan(wait, &unresolved).map_err(Error::Internal)?;
        out.push_str(&format!("\n{} ({})\n", wait.name, wait.target.kind()));
        for request in plan.describe(&|s| endpoints.base(s).to_owned()) {
            out.push_str(&format!("  request: {request}\n"));
        }
        out.push_str(&format!("  success: {}\n", wait.rules.success.describe()));
        if let Some(f) = &wait.rules.failure {
            out.push_str(&format!("  failure: {}\n", f.describe()));
        }
        let pending: Vec<&str> = wait.rules.pending.iter().map(|s| s.as_str()).collect();
        let unknown = match wait.rules.unknown_status {
            crate::condition::UnknownStatusPolicy::Fail => "ends the wait as unexpected_state",
            crate::condition::UnknownStatusPolicy::Wait => "keeps polling",
        };
        out.push_str(&format!(
            "  pending: [{}]; any other status {unknown}\n",
            pending.join(", ")
        ));
        let p = &wait.poll;
        out.push_str(&format!(
            "  schedule: first poll at once, then {} growing ×{} up to {}{}{}\n",
            duration::format(p.initial),
            p.factor,
            duration::format(p.max),
            if p.jitter == spec::Jitter::Full {
                ", full jitter"
            } else {
                ""
            },
            if p.adaptive {
                ", earlier when progress predicts the end"
            } else {
                ""
            }
        ));
        out.push_str(&format!("  timeout: {}", duration::format(wait.timeout)));
        if wait.stable_for > 1 {
            out.push_str(&format!(
                "; success must hold on {} polls in a row",
                wait.stable_for
            ));
        }
        out.push_str(&format!(
            "; not-found grace {}; error budget {} polls\n",
            duration::format(wait.not_found_grace),
            wait.error_budget
        ));
        if !wait.after.is_empty() {
            out.push_str(&format!("  after: {}\n", wait.after.join(", ")));
        }
        for o in &wait.outputs {
            out.push_str(&format!("  output {} = {}\n", o.name, o.source));
        }
    }
    print!("{out}");
    Ok(exit::SUCCESS)
}

fn eval(args: &EvalArgs) -> Result<u8, Error> {
    let spec = load_spec(&args.spec)?;
    let Some(wait) = spec.waits.iter().find(|w| w.name == args.wait) else {
        let names: Vec<&str> = spec.waits.iter().map(|w| w.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "no wait named `{}` in {}; waits: {}",
            args.wait,
            spec.origin,
            names.join(", ")
        )));
    };
    // A saved count response is the answer to one request and does not say
    // which status it counted: judged as the total, every status count would
    // read 0, and `count: [ABNORMAL], is: "== 0"` would pass whatever the
    // API said. Only the total can be judged offline.
    if wait.target.shape() == spec::Shape::Count {
        let by_status: Vec<String> = std::iter::once(&wait.rules.success)
            .chain(wait.rules.failure.iter())
            .flat_map(|c| c.checks())
            .filter(|check| {
                matches!(
                    check,
                    crate::condition::Check::Count {
                        statuses: Some(_),
                        ..
                    }
                )
            })
            .map(|check| check.describe())
            .collect();
        if !by_status.is_empty() {
            return Err(Error::Usage(format!(
                "wait `{}` counts sub-jobs by status ({}), but a saved count response answers one request and does not say which status it counted; `eval` can judge a count wait only on the total (`count: \"*\"`)",
                wait.name,
                by_status.join("; ")
            )));
        }
    }
    let text = read_input(&args.response).map_err(|source| Error::ReadSpec {
        path: args.response.display().to_string(),
        source,
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Usage(format!("{} is not JSON: {e}", args.response.display())))?;
    let obs = match wait.target.shape() {
        spec::Shape::Job => crate::api::model::parse_job(json),
        spec::Shape::List => engine::fetch::merge_pages(vec![json]),
        spec::Shape::Count => crate::api::model::parse_count(&json).map(|n| {
            let mut counts = std::collections::BTreeMap::new();
            counts.insert(None, n);
            engine::fetch::counts_observation(counts)
        }),
        spec::Shape::Json => Ok(crate::api::model::Observation {
            document: json,
            ..Default::default()
        }),
    }
    .map_err(|e| Error::Usage(format!("{}: {e}", args.response.display())))?;
    let mut out = format!(
        "wait {} ({}) against {}\n",
        wait.name,
        wait.target.kind(),
        args.response.display()
    );
    out.push_str(&format!("  observed: {}\n", engine::summarize(&obs)));
    let mut show = |label: &str, condition: &crate::condition::Condition| {
        for check in condition.checks() {
            let f = check.evaluate(&obs);
            out.push_str(&format!(
                "  {label} {} {} — found {}\n",
                if f.holds { "✓" } else { "✗" },
                check.describe(),
                f.found
            ));
            for item in f.blame.iter().take(10) {
                out.push_str(&format!(
                    "      {} {} {}{}\n",
                    item.id,
                    item.job_type.as_deref().unwrap_or("-"),
                    item.status,
                    item.error_message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ));
            }
        }
    };
    if let Some(failure) = &wait.rules.failure {
        show("failure", failure);
    }
    show("success", &wait.rules.success);
    let verdict = crate::condition::judge(&wait.rules, &obs);
    let (word, code) = match &verdict {
        crate::condition::Verdict::Met { .. } => ("met", exit::SUCCESS),
        crate::condition::Verdict::Failed { .. } => ("failed", exit::WAIT_FAILED),
        crate::condition::Verdict::Unexpected { .. } => ("unexpected state", exit::WAIT_FAILED),
        crate::condition::Verdict::Empty => (
            "no items yet: keep polling (not found once the grace runs out)",
            exit::TIMED_OUT,
        ),
        crate::condition::Verdict::Pending { .. } => ("pending: keep polling", exit::TIMED_OUT),
    };
    out.push_str(&format!("  verdict: {word}\n"));
    print!("{out}");
    Ok(code)
}

async fn demo(args: DemoArgs) -> Result<u8, Error> {
    use crate::sim::{Scenario, SimConfig, Simulator, auth::SimAuth};
    const AK: &str = "DEMOACCESSKEY0000001";
    const SK: &str = "demo-secret-key-not-a-real-one-000000000";
    let scenario = Scenario::demo();
    let project = scenario.project_id.clone();
    let config = SimConfig {
        auth: SimAuth::AkSk {
            access_key: AK.into(),
            secret_key: SK.into(),
        },
        faults: None,
        seed: Some(1),
    };
    let sim = Simulator::start(
        scenario,
        config,
        "127.0.0.1:0".parse().expect("a valid address"),
    )
    .await
    .map_err(|e| Error::Simulator(format!("cannot start: {e}")))?;
    eprintln!(
        "jobgate demo: simulator on {} (AK/SK signing verified), spec examples/demo.yaml\n",
        sim.base_url()
    );
    let source = include_str!("../examples/demo.yaml");
    let env = |name: &str| match name {
        "HUAWEICLOUD_SDK_PROJECT_ID" => Some(project.clone()),
        _ => None,
    };
    let spec = spec::parse("examples/demo.yaml", source, &env)?;
    let overrides = Overrides {
        cli: vec![(None, sim.base_url())],
        ..Default::default()
    };
    let endpoints = Endpoints::resolve("", &overrides, false)?;
    let credentials = Credentials::AkSk {
        access_key: AK.into(),
        secret_key: crate::api::credentials::Secret::new(SK),
        security_token: None,
    };
    let mode = output::decide(
        &Environment::detect(),
        args.display.color,
        verbosity(&args.display),
    );
    let options = RunOptions {
        deadline: None,
        fail_fast: None,
        seed: 1,
    };
    let report = execute(
        &spec,
        endpoints,
        credentials,
        options,
        Limits {
            concurrency: 8,
            rps: 20.0,
        },
        mode,
    )
    .await?;
    publish(
        &report,
        &Outputs {
            report: args.report.as_deref(),
            junit: None,
            json: false,
        },
        OutputMode {
            github: false,
            ..mode
        },
    )?;
    let stats = sim.stats();
    eprintln!("\nsimulator served {} requests", stats.requests);
    sim.shutdown().await;
    Ok(report.exit_code)
}
