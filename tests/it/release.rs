//! The second keyless mode, IAM v5 STS `AssumeAgencyWithOIDC`, end to end:
//! the real binary reads the official Python SDK's `HUAWEICLOUD_OIDC_*`
//! variables, assumes the trust agency at the simulator's STS with the ID
//! token, renews through a wait longer than several credential lifetimes,
//! and fails closed (exit 4) when STS refuses. Counts come from the
//! simulator's stats, never from timing.

use crate::common::harness;
use crate::common::hostile;
use crate::common::keyless::assert_no_secrets;
use crate::common::sdk_python;
use crate::common::test::{Ran, Test};

use harness::*;
use hostile::{Hostile, Reply};
use jobgate::sim::iam::test_jwt;
use jobgate::sim::{Endpoint, SimAuth};

const IDP: &str = "github-actions";
const PROVIDER_URN: &str = "iam::0a1b2c3d:identity-provider:github-actions";
const AGENCY_URN: &str = "iam::0a1b2c3d:agency:ci-deployer";
const AUDIENCE: &str = "jobgate-sts";

fn scenario(lifetime: &str, job_ends: &str) -> String {
    format!(
        r#"
project_id: {PROJECT}
iam: {{idp_id: {IDP}, audience: {AUDIENCE}, lifetime: {lifetime}}}
jobs:
  - id: desk-1
    kind: desktop_job
    timeline: [{{at: 0s, status: RUNNING}}, {{at: {job_ends}, status: SUCCESS}}]
"#
    )
}

/// A simulator whose gateway accepts only credentials its IAM issued.
fn start(lifetime: &str, job_ends: &str) -> Sim {
    Sim::start_with_auth(
        &scenario(lifetime, job_ends),
        None,
        SimAuth::Token("no-static-credential-works".into()),
    )
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `jobgate run` with only the STS variables set: no static key, the ID
/// token in the file `id-token`, polling every 2.5 s.
fn sts(token: &str) -> Test {
    Test::new()
        .spec("version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 60s\n  poll: { initial: 2500ms, max: 2500ms, factor: 1, jitter: none, adaptive: false }\nwaits:\n  desk:\n    desktop_job: desk-1\n    target: [SUCCESS]\n")
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER_URN)
        .env("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY_URN)
        .env_file("HUAWEICLOUD_OIDC_TOKEN_FILE", "id-token", &format!("{token}\n"))
}

/// [`sts`] against the simulator, STS and services both, whose gateway
/// accepts only credentials its IAM issued.
fn sts_sim(lifetime: &str, job_ends: &str, token: &str) -> Test {
    sts(token)
        .scenario(&scenario(lifetime, job_ends))
        .auth(SimAuth::Token("no-static-credential-works".into()))
        .env_sim_url("HUAWEICLOUD_SDK_STS_ENDPOINT")
}

/// No secret of the exchange in anything the run wrote.
fn no_secrets(ran: &Ran, token: &str) {
    assert_no_secrets(&ran.out, &ran.report_text, token);
}

#[test]
fn sts_assume_agency_renews_through_three_lifetimes_and_passes() {
    // Credentials last 2 s, polls come every 2.5 s: one assumption per poll.
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = sts_sim("2s", "7s", &token).run().exit(0);
    let stats = ran.sim().stats();
    let polls = stats.requests_to(Endpoint::ShowJob);
    assert!(polls >= 4, "the job ends after 7 s: {stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), polls, "{stats:?}");
    assert_eq!(stats.iam.agency_exchanges, polls, "{stats:?}");
    // The other keyless flow is not touched.
    assert_eq!(stats.iam.id_token_exchanges, 0, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, 0, "{stats:?}");
    assert_eq!(stats.iam.expired_rejected, 0, "{stats:?}");
    no_secrets(&ran, &token);
}

#[test]
fn a_refused_assumption_is_exit_4_with_the_code_and_message_and_not_retried() {
    let token = test_jwt("someone-else", now() + 600);
    let ran = sts_sim("1h", "1ms", &token)
        .run()
        .exit(4)
        .stderr_has(&[
            "HTTP 401 1101",
            "audience is not accepted",
            PROVIDER_URN,
            "id-token",
            "AssumeAgencyWithOIDC",
        ])
        .report(|r| assert_eq!(r["outcome"], "auth_error", "{r}"))
        .stats(|stats| {
            assert_eq!(stats.iam.agency_exchanges, 1, "{stats:?}");
            assert_eq!(stats.requests, 0, "no poll without credentials: {stats:?}");
        });
    no_secrets(&ran, &token);
}

#[test]
fn an_expired_token_file_is_exit_4_naming_the_file_and_its_variable() {
    let token = test_jwt(AUDIENCE, now() - 60);
    let ran = sts_sim("1h", "1ms", &token)
        .run()
        .exit(4)
        .stderr_has(&["id-token", "HUAWEICLOUD_OIDC_TOKEN_FILE", "expired"])
        .stats(|stats| assert_eq!(stats.iam.agency_exchanges, 0));
    no_secrets(&ran, &token);
}

#[test]
fn a_duration_sts_refuses_is_caught_before_sending_the_token() {
    let token = test_jwt(AUDIENCE, now() + 600);
    sts_sim("1h", "1ms", &token)
        .env("HUAWEICLOUD_OIDC_DURATION_SECONDS", "60")
        .run()
        .exit(4)
        .stderr_has(&["HUAWEICLOUD_OIDC_DURATION_SECONDS"])
        .stats(|stats| assert_eq!(stats.iam.agency_exchanges, 0));
}

#[test]
fn the_token_as_a_variable_value_is_refused_not_read() {
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = sts_sim("1h", "1ms", &token)
        .env("HUAWEICLOUD_OIDC_ID_TOKEN", &token)
        .run()
        .exit(4)
        .stderr_has(&["HUAWEICLOUD_OIDC_ID_TOKEN"])
        .stats(|stats| assert_eq!(stats.iam.agency_exchanges, 0));
    assert!(!ran.stderr().contains(&token), "{}", ran.stderr());
}

#[test]
fn an_sts_request_is_unsigned_and_an_answer_without_credentials_goes_no_further() {
    let sts_server = Hostile::start(|_| Reply::status_json(200, r#"{"credentials":{}}"#));
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = sts(&token)
        .endpoint("http://127.0.0.1:9")
        .env("HUAWEICLOUD_SDK_STS_ENDPOINT", &sts_server.url())
        .run()
        .exit(4)
        .report(|r| assert_eq!(r["outcome"], "auth_error", "{r}"));
    let seen = sts_server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v5/agencies/assume-with-oidc");
    // The ID token is the only credential: nothing signs this request.
    assert!(seen[0].header("authorization").is_none());
    assert!(seen[0].header("x-security-token").is_none());
    no_secrets(&ran, &token);
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
    sdk_python::keyless_flow(
        &python,
        "sts",
        &[
            ("HUAWEICLOUD_OIDC_PROVIDER_URN", PROVIDER_URN.as_ref()),
            ("HUAWEICLOUD_OIDC_AGENCY_URN", AGENCY_URN.as_ref()),
            ("HUAWEICLOUD_OIDC_TOKEN_FILE", token_file.as_os_str()),
            ("HUAWEICLOUD_SDK_STS_ENDPOINT", sim.url().as_ref()),
        ],
        &sim.url(),
    );
    let stats = sim.stats();
    assert_eq!(stats.iam.agency_exchanges, 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), 1, "{stats:?}");
}
