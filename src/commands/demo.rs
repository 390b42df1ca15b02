//! `jobgate demo`: the embedded demo spec against the built-in simulator.

use super::run::{Limits, execute};
use super::verbosity;
use crate::api::credentials::Credentials;
use crate::api::endpoints::{Endpoints, Overrides};
use crate::cli::DemoArgs;
use crate::engine::RunOptions;
use crate::error::Error;
use crate::output::{self, Environment, OutputMode};
use crate::report::publish::{OnFailure, Outputs, publish};
use crate::spec;

pub(super) async fn demo(args: DemoArgs) -> Result<u8, Error> {
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
    let source = include_str!("../../examples/demo.yaml");
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
        responses: None,
        history: None,
    };
    let mut report = execute(
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
        &mut report,
        &Outputs {
            report: args.report.as_deref(),
            ..Outputs::default()
        },
        OutputMode {
            github: false,
            ..mode
        },
        OnFailure::Fail,
    )?;
    let stats = sim.stats();
    eprintln!("\nsimulator served {} requests", stats.requests);
    sim.shutdown().await;
    Ok(report.exit_code)
}
