//! The second keyless mode, IAM v5 STS `AssumeAgencyWithOIDC`, end to end:
//! the real binary reads the official Python SDK's `HUAWEICLOUD_OIDC_*`
//! variables, assumes the trust agency at the simulator's STS with the ID
//! token, renews through a wait longer than several credential lifetimes,
//! and fails closed (exit 4) when STS refuses. Counts come from the
//! simulator's stats, never from timing.

use crate::common::harness;
use crate::common::hostile;
use crate::common::keyless;
use crate::common::sdk_python;

use std::process::Output;
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};
use jobgate::sim::iam::test_jwt;
use jobgate::sim::{Endpoint, SimAuth};
use keyless::assert_no_secrets;

const IDP: &str = "github-actions";
const PROVIDER_URN: &str = "iam::0a1b2c3d:identity-provider:github-actions";
const AGENCY_URN: &str = "iam::0a1b2c3d:agency:ci-deployer";
const AUDIENCE: &str = "jobgate-sts";

/// A simulator whose gateway accepts only credentials its IAM issued.
fn start(lifetime: &str, job_ends: &str) -> Sim {
    let scenario = format!(
        r#"
project_id: {PROJECT}
iam: {{idp_id: {IDP}, audience: {AUDIENCE}, lifetime: {lifetime}}}
jobs:
  - id: desk-1
    kind: desktop_job
    timeline: [{{at: 0s, status: RUNNING}}, {{at: {job_ends}, status: SUCCESS}}]
"#
    );
    Sim::start_with_auth(
        &scenario,
        None,
        SimAuth::Token("no-static-credential-works".into()),
    )
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `jobgate run` with only the STS variables set, STS at `sts`, the
/// services at `services`.
fn run_sts(sts: &str, services: &str, token: &str, env: &[(&str, &str)]) -> (Output, String) {
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 60s\n  poll: { initial: 2500ms, max: 2500ms, factor: 1, jitter: none, adaptive: false }\nwaits:\n  desk:\n    desktop_job: desk-1\n    target: [SUCCESS]\n",
    );
    let token_file = dir.write("id-token", &format!("{token}\n"));
    let report = dir.path("report.json");
    let mut cmd = jobgate();
    cmd.env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER_URN)
        .env("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY_URN)
        .env("HUAWEICLOUD_OIDC_TOKEN_FILE", &token_file)
        .env("HUAWEICLOUD_SDK_STS_ENDPOINT", sts)
        .arg("run")
        .arg(&spec)
        .arg("--endpoint")
        .arg(services)
        .arg("--report")
        .arg(&report);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = output_within(&mut cmd, Duration::from_secs(90));
    let report = std::fs::read_to_string(&report).unwrap_or_default();
    (out, report)
}

#[test]
fn sts_assume_agency_renews_through_three_lifetimes_and_passes() {
    // Credentials last 2 s, polls come every 2.5 s: one assumption per poll.
    let sim = start("2s", "7s");
    let token = test_jwt(AUDIENCE, now() + 600);
    let (out, report) = run_sts(&sim.url(), &sim.url(), &token, &[]);
    assert_eq!(code(&out), 0, "{}\n{report}", stderr(&out));
    let stats = sim.stats();
    let polls = stats.requests_to(Endpoint::ShowJob);
    assert!(polls >= 4, "the job ends after 7 s: {stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), polls, "{stats:?}");
    assert_eq!(stats.iam.agency_exchanges, polls, "{stats:?}");
    // The other keyless flow is not touched.
    assert_eq!(stats.iam.id_token_exchanges, 0, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, 0, "{stats:?}");
    assert_eq!(stats.iam.expired_rejected, 0, "{stats:?}");
    assert_no_secrets(&out, &report, &token);
}

#[test]
fn a_refused_assumption_is_exit_4_with_the_code_and_message_and_not_retried() {
    let sim = start("1h", "1ms");
    let token = test_jwt("someone-else", now() + 600);
    let (out, report) = run_sts(&sim.url(), &sim.url(), &token, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("HTTP 401 1101"), "{err}");
    assert!(err.contains("audience is not accepted"), "{err}");
    assert!(
        err.contains(PROVIDER_URN) && err.contains("id-token"),
        "{err}"
    );
    assert!(err.contains("AssumeAgencyWithOIDC"), "{err}");
    assert!(report.contains("auth_error"), "{report}");
    let stats = sim.stats();
    assert_eq!(stats.iam.agency_exchanges, 1, "{stats:?}");
    assert_eq!(stats.requests, 0, "no poll without credentials: {stats:?}");
    assert_no_secrets(&out, &report, &token);
}

#[test]
fn an_expired_token_file_is_exit_4_naming_the_file_and_its_variable() {
    let sim = start("1h", "1ms");
    let token = test_jwt(AUDIENCE, now() - 60);
    let (out, report) = run_sts(&sim.url(), &sim.url(), &token, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("id-token") && err.contains("HUAWEICLOUD_OIDC_TOKEN_FILE"),
        "{err}"
    );
    assert!(err.contains("expired"), "{err}");
    assert_eq!(sim.stats().iam.agency_exchanges, 0);
    assert_no_secrets(&out, &report, &token);
}

#[test]
fn a_duration_sts_refuses_is_caught_before_sending_the_token() {
    let sim = start("1h", "1ms");
    let token = test_jwt(AUDIENCE, now() + 600);
    let (out, _) = run_sts(
        &sim.url(),
        &sim.url(),
        &token,
        &[("HUAWEICLOUD_OIDC_DURATION_SECONDS", "60")],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HUAWEICLOUD_OIDC_DURATION_SECONDS"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sim.stats().iam.agency_exchanges, 0);
}

#[test]
fn the_token_as_a_variable_value_is_refused_not_read() {
    let sim = start("1h", "1ms");
    let token = test_jwt(AUDIENCE, now() + 600);
    let (out, _) = run_sts(
        &sim.url(),
        &sim.url(),
        &token,
        &[("HUAWEICLOUD_OIDC_ID_TOKEN", &token)],
    );
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("HUAWEICLOUD_OIDC_ID_TOKEN"), "{err}");
    assert!(!err.contains(&token), "{err}");
    assert_eq!(sim.stats().iam.agency_exchanges, 0);
}

#[test]
fn an_sts_request_is_unsigned_and_an_answer_without_credentials_goes_no_further() {
    let sts = Hostile::start(|_| Reply::status_json(200, r#"{"credentials":{}}"#));
    let token = test_jwt(AUDIENCE, now() + 600);
    let (out, report) = run_sts(&sts.url(), "http://127.0.0.1:9", &token, &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert!(report.contains("auth_error"), "{report}");
    let seen = sts.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v5/agencies/assume-with-oidc");
    // The ID token is the only credential: nothing signs this request.
    assert!(seen[0].header("authorization").is_none());
    assert!(seen[0].header("x-security-token").is_none());
    assert_no_secrets(&out, &report, &token);
}

#[test]
fn the_official_sdk_oidc_sts_flow_works_against_the_simulator() {
    let Some(python) =
        sdk_python::sdk_python("the_official_sdk_oidc_sts_flow_works_against_the_simulator")
    else {
        return;
    };
    let sim = start("1h", "1ms");
    let dir = Workdir::new();
    let token_file = dir.write("id-token", &test_jwt(AUDIENCE, now() + 600));
    let mut cmd = std::process::Command::new(python);
    cmd.arg(sdk_python::sdk_script("keyless_flow.py"))
        .args(["--mode", "sts"])
        .env("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER_URN)
        .env("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY_URN)
        .env("HUAWEICLOUD_OIDC_TOKEN_FILE", &token_file)
        .env("HUAWEICLOUD_SDK_STS_ENDPOINT", sim.url())
        .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
        .args(["--endpoint", &sim.url(), "--job-id", "desk-1"]);
    let out = output_within(&mut cmd, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("status SUCCESS"));
    let stats = sim.stats();
    assert_eq!(stats.iam.agency_exchanges, 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), 1, "{stats:?}");
}
