//! Keyless authentication end to end: the real binary exchanges an OIDC ID
//! token at the simulator's IAM for temporary credentials, renews them
//! through a wait longer than several of their lifetimes, and fails closed
//! (exit 4) when the token cannot be used. Counts come from the
//! simulator's stats, never from timing.

use crate::common::harness;
use crate::common::hostile;
use crate::common::keyless::assert_no_secrets;
use crate::common::sdk_python;
use crate::common::test::{Ran, Test};

use std::process::Output;
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};
use jobgate::sim::iam::test_jwt;
use jobgate::sim::{Endpoint, SimAuth};

const IDP: &str = "github-actions-idp";
const AUDIENCE: &str = "jobgate-test";

fn scenario(lifetime: &str, job_ends: &str) -> String {
    scenario_claiming(lifetime, lifetime, job_ends)
}

/// IAM announces `claimed` as the lifetime of credentials that really
/// last `lifetime`: they expire before the client expects.
fn scenario_claiming(lifetime: &str, claimed: &str, job_ends: &str) -> String {
    format!(
        r#"
project_id: {PROJECT}
iam: {{idp_id: {IDP}, audience: {AUDIENCE}, lifetime: {lifetime}, claimed_lifetime: {claimed}}}
jobs:
  - id: desk-1
    kind: desktop_job
    timeline: [{{at: 0s, status: RUNNING}}, {{at: {job_ends}, status: SUCCESS}}]
"#
    )
}

fn spec(poll: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 60s\n  poll: {poll}\nwaits:\n  desk:\n    desktop_job: desk-1\n    target: [SUCCESS]\n"
    )
}

/// Polls 2.5 s apart, longer than the shortest credential lifetimes here.
const EVERY_2500MS: &str =
    "{ initial: 2500ms, max: 2500ms, factor: 1, jitter: none, adaptive: false }";

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// `jobgate run` with only the identity-provider variables set: no static
/// key, the ID token in the file `id-token`.
fn keyless(token: &str) -> Test {
    Test::new()
        .spec(&spec(EVERY_2500MS))
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HUAWEICLOUD_SDK_IDP_ID", IDP)
        .env_file(
            "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
            "id-token",
            &format!("{token}\n"),
        )
}

/// [`keyless`] against the simulator on `scenario`, which is IAM too; its
/// gateway accepts only a token nobody has, so every accepted request was
/// signed with credentials the simulated IAM issued.
fn keyless_sim(scenario: &str, token: &str) -> Test {
    keyless(token)
        .scenario(scenario)
        .auth(SimAuth::Token("no-static-credential-works".into()))
        .env_sim_url("HUAWEICLOUD_SDK_IAM_ENDPOINT")
}

/// No secret of the exchange in anything the run wrote.
fn no_secrets(ran: &Ran, token: &str) {
    assert_no_secrets(&ran.out, &ran.report_text, token);
}

#[test]
fn a_wait_longer_than_three_lifetimes_renews_once_per_poll_and_passes() {
    // Credentials last 2 s; polls come every 2.5 s, so each poll after the
    // first finds them due and renews them first: exactly one exchange per
    // poll, and never a request with expired credentials.
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = keyless_sim(&scenario("2s", "7s"), &token).run().exit(0);
    let stats = ran.sim().stats();
    let polls = stats.requests_to(Endpoint::ShowJob);
    assert!(polls >= 4, "the job ends after 7 s: {stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), polls, "{stats:?}");
    assert_eq!(stats.iam.id_token_exchanges, polls, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, polls, "{stats:?}");
    assert_eq!(stats.iam.expired_rejected, 0, "{stats:?}");
    no_secrets(&ran, &token);
}

/// Renewed credentials are secrets from the moment they exist: under
/// GitHub Actions each renewal's values are masked for the runner (and the
/// redactor learns them), not only the first exchange's.
#[test]
fn every_renewal_is_masked_under_github_actions() {
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = keyless_sim(&scenario("2s", "7s"), &token)
        .github_actions()
        .run()
        .exit(0);
    let exchanges = ran.sim().stats().iam.security_token_exchanges;
    assert!(exchanges >= 3, "{:?}", ran.sim().stats());
    let stdout = ran.stdout();
    let masked: std::collections::BTreeSet<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect();
    // Each exchange brings a new secret key and security token at least.
    assert!(
        masked.len() as u64 >= 2 * exchanges,
        "{} values masked for {exchanges} exchanges:\n{stdout}",
        masked.len()
    );
    // Beyond the mask commands themselves, no output shows a secret.
    let unmasked: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    let rest = Output {
        stdout: unmasked.join("\n").into_bytes(),
        ..ran.out.clone()
    };
    assert_no_secrets(&rest, &ran.report_text, &token);
}

#[test]
fn a_401_after_an_early_expiry_renews_once_and_the_retry_passes() {
    // IAM says 1 h, the credentials last 2 s: every poll after the first is
    // refused once, renews once, and is sent again with the new ones.
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = keyless_sim(&scenario_claiming("2s", "1h", "6s"), &token)
        .run()
        .exit(0);
    let stats = ran.sim().stats();
    let refused = stats.answers(Endpoint::ShowJob, 401);
    let answered = stats.answers(Endpoint::ShowJob, 200);
    assert!(refused >= 2, "{stats:?}");
    assert_eq!(stats.iam.expired_rejected, refused, "{stats:?}");
    assert_eq!(stats.requests_to(Endpoint::ShowJob), answered + refused);
    // The first exchange, then exactly one per refusal.
    assert_eq!(stats.iam.id_token_exchanges, 1 + refused, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, 1 + refused, "{stats:?}");
    no_secrets(&ran, &token);
}

#[test]
fn a_401_that_renewal_does_not_cure_is_exit_4_after_one_renewal() {
    // Credentials that are dead on arrival: one renewal, then the 401 stands.
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = keyless_sim(&scenario_claiming("0s", "1h", "1s"), &token)
        .run()
        .exit(4)
        .report(|r| assert_eq!(r["outcome"], "auth_error", "{r}"));
    let stats = ran.sim().stats();
    assert_eq!(stats.iam.id_token_exchanges, 2, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, 2, "{stats:?}");
    assert_eq!(stats.requests_to(Endpoint::ShowJob), 2, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 401), 2, "{stats:?}");
    no_secrets(&ran, &token);
}

#[test]
fn credentials_that_outlive_the_wait_are_exchanged_once() {
    let token = test_jwt(AUDIENCE, now() + 600);
    keyless_sim(&scenario("1h", "3s"), &token)
        .run()
        .exit(0)
        .stats(|stats| {
            assert!(stats.requests_to(Endpoint::ShowJob) >= 2, "{stats:?}");
            assert_eq!(stats.iam.id_token_exchanges, 1, "{stats:?}");
            assert_eq!(stats.iam.security_token_exchanges, 1, "{stats:?}");
        });
}

#[test]
fn an_expired_token_file_is_exit_4_naming_the_file_and_the_idp() {
    let token = test_jwt(AUDIENCE, now() - 60);
    let ran = keyless_sim(&scenario("1h", "1ms"), &token)
        .run()
        .exit(4)
        .report(|r| assert_eq!(r["outcome"], "auth_error", "{r}"))
        .stderr_has(&["id-token", IDP, "expired"])
        // Caught before anything was sent.
        .stats(|stats| {
            assert_eq!(stats.iam.id_token_exchanges, 0, "{stats:?}");
            assert_eq!(stats.requests, 0, "{stats:?}");
        });
    no_secrets(&ran, &token);
}

#[test]
fn an_unreadable_token_file_is_exit_4_naming_the_file_and_the_idp() {
    Test::new()
        .scenario(&scenario("1h", "1ms"))
        .auth(SimAuth::Token("no-static-credential-works".into()))
        .spec(&spec("{ initial: 1s }"))
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("HUAWEICLOUD_SDK_IDP_ID", IDP)
        .env_path("HUAWEICLOUD_SDK_ID_TOKEN_FILE", "missing-token")
        .env_sim_url("HUAWEICLOUD_SDK_IAM_ENDPOINT")
        .run()
        .exit(4)
        .stderr_has(&["missing-token", IDP])
        .stats(|stats| assert_eq!(stats.requests, 0));
}

#[test]
fn a_refused_exchange_is_exit_4_with_iams_code_and_message_and_not_retried() {
    let token = test_jwt("someone-else", now() + 600);
    let ran = keyless_sim(&scenario("1h", "1ms"), &token)
        .run()
        .exit(4)
        .stderr_has(&["HTTP 401 1101", "audience is not accepted", IDP, "id-token"])
        .stats(|stats| {
            assert_eq!(stats.iam.id_token_exchanges, 1, "{stats:?}");
            assert_eq!(stats.iam.security_token_exchanges, 0, "{stats:?}");
            assert_eq!(stats.requests, 0, "no poll without credentials: {stats:?}");
        });
    no_secrets(&ran, &token);
}

#[test]
fn endpoint_iam_overrides_the_variable() {
    let token = test_jwt(AUDIENCE, now() + 600);
    let sim = Sim::start_with_auth(
        &scenario("1h", "1ms"),
        None,
        SimAuth::Token("no-static-credential-works".into()),
    );
    // The variable names a port nobody listens on; the flag wins.
    let iam = format!("iam={}", sim.url());
    keyless(&token)
        .spec(&spec("{ initial: 1s }"))
        .endpoint(&sim.url())
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://127.0.0.1:9")
        .args(&["--endpoint", &iam])
        .run()
        .exit(0);
    assert_eq!(sim.stats().iam.id_token_exchanges, 1);
}

#[test]
fn plain_http_to_a_remote_iam_is_refused_before_sending_the_token() {
    // The stored key stays set: the IAM endpoint alone is refused.
    Test::new()
        .spec(&spec("{ initial: 1s }"))
        .endpoint("http://127.0.0.1:9")
        .env("HUAWEICLOUD_SDK_IDP_ID", IDP)
        .env_file(
            "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
            "id-token",
            &test_jwt(AUDIENCE, now() + 600),
        )
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", "http://iam.example.com")
        .no_report()
        .run()
        .exit(2)
        .stderr_has(&["HUAWEICLOUD_SDK_IAM_ENDPOINT: refusing plain http"]);
}

#[test]
fn disagreeing_variables_warn_without_showing_values() {
    let ran = Test::new()
        .scenario(&scenario("1h", "1ms"))
        .spec(&spec("{ initial: 1s }"))
        .env("HW_ACCESS_KEY", "AKFROMTERRAFORM")
        .env("HW_SECRET_KEY", "SKFROMTERRAFORM")
        .run()
        .exit(0)
        .stderr_has(&["HUAWEICLOUD_SDK_AK and HW_ACCESS_KEY are both set"]);
    assert!(!ran.stderr().contains("FROMTERRAFORM"), "{}", ran.stderr());
}

#[test]
fn terraform_names_alone_authenticate() {
    let ran = Test::new()
        .scenario(&scenario("1h", "1ms"))
        .spec(&spec("{ initial: 1s }"))
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
        .env("HW_ACCESS_KEY", AK)
        .env("HW_SECRET_KEY", SK)
        .env("HW_PROJECT_ID", PROJECT)
        .run()
        .exit(0);
    assert!(!ran.stderr().contains("warning"), "{}", ran.stderr());
}

/// The official Python SDK's own IdP flow (`HUAWEICLOUD_SDK_IDP_ID` +
/// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`, `FederalAccessor`) against the
/// simulated IAM and Workspace: the simulator speaks the real wire format.
#[test]
fn the_official_sdk_idp_flow_works_against_the_simulator() {
    let Some(python) =
        sdk_python::sdk_python("the_official_sdk_idp_flow_works_against_the_simulator")
    else {
        return;
    };
    let sim = Sim::start_with_auth(
        &scenario("1h", "1ms"),
        None,
        SimAuth::Token("no-static-credential-works".into()),
    );
    let dir = Workdir::new();
    let token_file = dir.write("id-token", &test_jwt(AUDIENCE, now() + 600));
    sdk_python::keyless_flow(
        &python,
        "idp",
        &[
            ("HUAWEICLOUD_SDK_IDP_ID", IDP.as_ref()),
            ("HUAWEICLOUD_SDK_ID_TOKEN_FILE", token_file.as_os_str()),
            ("HUAWEICLOUD_SDK_IAM_ENDPOINT", sim.url().as_ref()),
        ],
        &sim.url(),
    );
    let stats = sim.stats();
    assert_eq!(stats.iam.id_token_exchanges, 1, "{stats:?}");
    assert_eq!(stats.iam.security_token_exchanges, 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), 1, "{stats:?}");
}

/// [`keyless`] with IAM at `iam`, the services on a port nobody listens
/// on: no poll may happen when the exchange fails.
fn against_iam(iam: &str, token: &str) -> Test {
    keyless(token)
        .spec(&spec("{ initial: 1s }"))
        .endpoint("http://127.0.0.1:9")
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", iam)
}

#[test]
fn an_iam_answer_without_a_subject_token_is_exit_4_and_goes_no_further() {
    let iam = Hostile::start(|_| Reply::status_json(201, r#"{"token":{}}"#));
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = against_iam(&iam.url(), &token)
        .run()
        .exit(4)
        .stderr_has(&["no X-Subject-Token header"])
        .report(|r| assert_eq!(r["outcome"], "auth_error", "{r}"));
    assert_eq!(iam.seen().len(), 1);
    no_secrets(&ran, &token);
}

#[test]
fn an_iam_redirect_is_not_followed() {
    let elsewhere = Hostile::start(|_| Reply::status_json(201, "{}"));
    let target = format!("{}/v3.0/OS-AUTH/id-token/tokens", elsewhere.url());
    let iam = Hostile::start(move |_| Reply::redirect(307, &target));
    let token = test_jwt(AUDIENCE, now() + 600);
    let ran = against_iam(&iam.url(), &token)
        .run()
        .exit(4)
        .stderr_has(&["redirect"]);
    assert!(
        elsewhere.seen().is_empty(),
        "the token went to the redirect's host"
    );
    no_secrets(&ran, &token);
}

#[test]
fn iam_down_before_the_first_poll_is_exit_5_not_a_pass() {
    let iam =
        Hostile::start(|_| Reply::status_json(503, r#"{"error":{"code":"503","message":"busy"}}"#));
    let token = test_jwt(AUDIENCE, now() + 600);
    against_iam(&iam.url(), &token)
        .run()
        .exit(5)
        .report(|r| assert_eq!(r["outcome"], "api_error", "{r}"));
    assert_eq!(iam.seen().len(), 1, "not retried in a loop");
}

#[test]
fn an_iam_error_echoing_the_token_does_not_show_it() {
    let token = test_jwt(AUDIENCE, now() + 600);
    let echoed = token.clone();
    let iam = Hostile::start(move |_| {
        Reply::status_json(
            400,
            format!(r#"{{"error":{{"code":"1000","message":"bad id_token {echoed}"}}}}"#),
        )
    });
    let ran = against_iam(&iam.url(), &token)
        .run()
        .exit(4)
        .stderr_has(&["HTTP 400 1000: bad id_token ***"]);
    no_secrets(&ran, &token);
}

/// IAM failing a renewal while the credentials in hand are still valid
/// does not fail the poll: they are used, and the gate still opens.
#[test]
fn a_renewal_iam_cannot_serve_falls_back_on_still_valid_credentials() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let credentials_issued = std::sync::Arc::new(AtomicUsize::new(0));
    let issued = credentials_issued.clone();
    let iam = Hostile::start(move |seen| match seen.path.as_str() {
        "/v3.0/OS-AUTH/id-token/tokens" if seen.seq == 0 => {
            Reply::status_json(201, r#"{"token":{}}"#).with_header("X-Subject-Token", "MIIhostile")
        }
        "/v3.0/OS-CREDENTIAL/securitytokens" if issued.fetch_add(1, Ordering::SeqCst) == 0 => {
            // 10 s: renewal is due after 8 s, the third poll (at 9 s).
            let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(10);
            Reply::status_json(
                201,
                format!(
                    r#"{{"credential":{{"access":"TMPAK","secret":"tmpsecret","securitytoken":"tmpsts","expires_at":"{expires}"}}}}"#
                ),
            )
        }
        _ => Reply::status_json(503, r#"{"error":{"code":"503","message":"busy"}}"#),
    });
    let api = Hostile::start(|seen| {
        let status = if seen.seq < 2 { "RUNNING" } else { "SUCCESS" };
        Reply::json(format!(
            r#"{{"id":"desk-1","status":"{status}","job_type":"createDesktops","sub_jobs":[]}}"#
        ))
    });
    keyless(&test_jwt(AUDIENCE, now() + 600))
        .spec(&spec(
            "{ initial: 4500ms, max: 4500ms, factor: 1, jitter: none, adaptive: false }",
        ))
        .endpoint(&api.url())
        .env("HUAWEICLOUD_SDK_IAM_ENDPOINT", &iam.url())
        .run()
        .exit(0);
    let polls = api.seen();
    assert_eq!(polls.len(), 3, "{polls:?}");
    assert!(
        polls
            .iter()
            .all(|p| p.header("x-security-token") == Some("tmpsts"))
    );
    let iam_paths: Vec<String> = iam.seen().iter().map(|s| s.path.clone()).collect();
    assert_eq!(
        iam_paths,
        [
            "/v3.0/OS-AUTH/id-token/tokens",
            "/v3.0/OS-CREDENTIAL/securitytokens",
            "/v3.0/OS-AUTH/id-token/tokens",
        ],
        "one renewal tried, at the third poll"
    );
}

#[test]
fn plan_names_the_identity_provider_and_sends_nothing() {
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &spec("{ initial: 1s }"));
    let token_file = dir.write("id-token", "never-read");
    let out = output_within(
        jobgate()
            .env("HUAWEICLOUD_SDK_IDP_ID", IDP)
            .env("HUAWEICLOUD_SDK_ID_TOKEN_FILE", &token_file)
            .arg("plan")
            .arg(&spec)
            .args(["--endpoint", "http://127.0.0.1:9"]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{}", text, stderr(&out));
    assert!(
        text.contains(&format!(
            "authentication: temporary AK/SK from identity provider `{IDP}`"
        )),
        "{text}"
    );
    assert!(!text.contains("never-read"), "{text}");
}
