//! Renewal timing, reading issued credentials and IAM errors, the STS body,
//! and the token file.

use super::answer::*;
use super::sts::*;
use super::token::*;
use super::*;
use serde_json::Value;

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn renews_with_a_fifth_of_the_lifetime_left_at_most_ten_minutes() {
    let start = ts("2026-01-01T00:00:00Z");
    let six_h = ts("2026-01-01T06:00:00Z");
    assert!(!renew_due(start, six_h, ts("2026-01-01T05:49:59Z")));
    assert!(renew_due(start, six_h, ts("2026-01-01T05:50:00Z")));
    let two_s = ts("2026-01-01T00:00:02Z");
    assert!(!renew_due(start, two_s, ts("2026-01-01T00:00:01.5Z")));
    assert!(renew_due(start, two_s, ts("2026-01-01T00:00:01.7Z")));
    assert!(
        renew_due(start, two_s, ts("2026-01-01T00:00:09Z")),
        "expired"
    );
    // Expiry before issue (a wrong clock): always due.
    assert!(renew_due(two_s, start, two_s));
}

#[test]
fn parses_the_credential_and_requires_every_field() {
    let body = br#"{"credential":{"access":"TMPAK","secret":"TMPSK","securitytoken":"STS","expires_at":"2026-12-04T18:00:00.000000Z"}}"#;
    let (c, at) = parse_credential(body).unwrap();
    assert_eq!(at, ts("2026-12-04T18:00:00Z"));
    assert_eq!(c.secrets(), vec!["TMPSK", "STS"]);
    for missing in ["access", "secret", "securitytoken", "expires_at"] {
        let mut v: Value = serde_json::from_slice(body).unwrap();
        v["credential"].as_object_mut().unwrap().remove(missing);
        let err = parse_credential(v.to_string().as_bytes()).unwrap_err();
        assert!(err.contains(missing), "{err}");
    }
    assert!(parse_credential(b"{}").is_err());
    assert!(parse_credential(br#"{"credential":{"access":"A","secret":"S","securitytoken":"T","expires_at":"tomorrow"}}"#).is_err());
}

#[test]
fn reads_sts_credentials_under_the_names_the_sdk_accepts() {
    let body = br#"{"credentials":{"access_key_id":"TMPAK","secret_access_key":"TMPSK","security_token":"STS","expiration":"2026-12-04T18:00:00.000000Z"}}"#;
    let (c, at) = parse_credential(body).unwrap();
    assert_eq!(at, ts("2026-12-04T18:00:00Z"));
    assert_eq!(c.secrets(), vec!["TMPSK", "STS"]);
    // Two names for one field that disagree: which is meant is unknown.
    let both = br#"{"credentials":{"access":"A","access_key_id":"B","secret":"S","securitytoken":"T","expires_at":"2026-12-04T18:00:00Z"}}"#;
    assert!(parse_credential(both).unwrap_err().contains("access"));
    let agree = br#"{"credentials":{"access":"A","access_key_id":"A","secret":"S","securitytoken":"T","expires_at":"2026-12-04T18:00:00Z"}}"#;
    assert!(parse_credential(agree).is_ok());
    let missing = br#"{"credentials":{"access_key_id":"A","secret_access_key":"S","expiration":"2026-12-04T18:00:00Z"}}"#;
    assert!(
        parse_credential(missing)
            .unwrap_err()
            .contains("securitytoken")
    );
}

#[test]
fn the_assume_agency_body_is_the_python_sdks() {
    let mut agency = AgencyConfig {
        agency_urn: "iam::1234:agency:ci".into(),
        session_name: DEFAULT_SESSION_NAME.into(),
        duration_seconds: STS_DURATION_SECONDS,
        policy: None,
        policy_ids: Vec::new(),
    };
    let urn = "iam::1234:identity-provider:github";
    assert_eq!(
        assume_agency_body(urn, &agency, "tok"),
        json!({"provider_urn": urn, "agency_urn": "iam::1234:agency:ci",
            "agency_session_name": "oidc-sts-session", "id_token": "tok",
            "duration_seconds": 3600})
    );
    agency.policy = Some(r#"{"Version":"5.0"}"#.into());
    agency.policy_ids = vec!["p1".into(), "p2".into()];
    let body = assume_agency_body(urn, &agency, "tok");
    assert_eq!(body["policy"], r#"{"Version":"5.0"}"#);
    assert_eq!(body["policy_ids"], json!(["p1", "p2"]));
}

#[test]
fn iam_errors_in_both_shapes() {
    assert_eq!(
        iam_error(
            br#"{"error":{"code":"1101","message":"id token eyJsecret.x expired","title":"Unauthorized"}}"#,
            &["eyJsecret.x"]
        ),
        (Some("1101".into()), "id token *** expired".into())
    );
    assert_eq!(
        iam_error(
            br#"{"error_code":"IAM.0001","error_msg":"bad\u0007 idp"}"#,
            &[]
        ),
        (Some("IAM.0001".into()), "bad idp".into())
    );
    assert_eq!(iam_error(b"<html>", &[]), (None, "no error details".into()));
}

fn jwt(claims: &str) -> String {
    use base64::Engine as _;
    let e = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    format!("{}.{}.sig", e(r#"{"alg":"RS256"}"#), e(claims))
}

#[test]
fn an_expired_jwt_is_caught_before_sending_it() {
    let now = ts("2026-01-01T00:00:00Z");
    assert_eq!(
        jwt_expired_at(&jwt(r#"{"exp":1000}"#), now),
        Some(jiff::Timestamp::from_second(1000).unwrap())
    );
    assert_eq!(jwt_expired_at(&jwt(r#"{"exp":1893456000}"#), now), None);
    assert_eq!(jwt_expired_at("opaque-token", now), None);
}

#[test]
fn token_file_errors_name_the_file_and_the_idp_never_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let config = |file: &str| IdpConfig {
        idp_id: "github-actions".into(),
        token_file: dir.path().join(file),
        iam_endpoint: "https://iam.example".into(),
        agency: None,
    };
    let err = read_token_file(&config("absent")).unwrap_err().to_string();
    assert!(
        err.contains("absent") && err.contains("github-actions"),
        "{err}"
    );
    let expired = jwt(r#"{"exp":1000,"aud":"x"}"#);
    std::fs::write(dir.path().join("old"), &expired).unwrap();
    let err = read_token_file(&config("old")).unwrap_err().to_string();
    assert!(err.contains("expired at") && err.contains("old"), "{err}");
    assert!(!err.contains(&expired));
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    assert!(
        read_token_file(&config("empty"))
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
    std::fs::write(dir.path().join("ok"), "tok.en.x\n").unwrap();
    assert_eq!(read_token_file(&config("ok")).unwrap().expose(), "tok.en.x");
}

/// Each exchange reads the token file again: a CI step that rewrites
/// it (a fresh ID token) is picked up at the next renewal, and a file
/// that went bad is refused then, not papered over with the old token.
#[tokio::test]
async fn every_exchange_reads_the_token_file_again() {
    use crate::sim::{Scenario, SimConfig, Simulator};
    let scenario = Scenario::from_yaml(
        "project_id: p\niam: {idp_id: idp, audience: aud, lifetime: 1h}\njobs:\n  - id: j\n    kind: image_job\n    timeline: [{at: 0s, status: SUCCESS}]\n",
        "test",
    )
    .unwrap();
    let sim = Simulator::start(
        scenario,
        SimConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = IdpConfig {
        idp_id: "idp".into(),
        token_file: dir.path().join("token"),
        iam_endpoint: sim.base_url(),
        agency: None,
    };
    let exp = jiff::Timestamp::now().as_second() + 600;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    std::fs::write(&config.token_file, crate::sim::iam::test_jwt("aud", exp)).unwrap();
    let first = exchange(&http, &config).await.unwrap();
    assert!(first.expires_at > first.obtained_at);
    std::fs::write(&config.token_file, crate::sim::iam::test_jwt("other", exp)).unwrap();
    let err = exchange(&http, &config).await.unwrap_err();
    assert!(
        matches!(&err, ExchangeError::Refused(r) if r.status == 401),
        "{err}"
    );
    assert!(err.to_string().contains("audience"), "{err}");
    assert_eq!(sim.stats().iam.id_token_exchanges, 2);
    sim.shutdown().await;
}
