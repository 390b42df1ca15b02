//! Sorting answers and failures into typed errors, bounding server text, and
//! masking renewed secrets.

use super::answer::*;
use super::transport::*;
use super::*;
use crate::api::federation::ExchangeError;
use bytes::Bytes;
use reqwest::StatusCode;

#[test]
fn an_error_without_an_answer_has_no_status() {
    let lost = ApiError::new(ErrorKind::Transient, "no answer from http://h in time");
    assert_eq!(lost.status, None);
    assert_eq!(lost.to_string(), "no answer from http://h in time");
    let answered = lost.answered(503, Some("WKS.0001".into()), Some("r1".into()));
    assert_eq!(answered.status, Some(503));
    assert_eq!(
        answered.to_string(),
        "HTTP 503 WKS.0001: no answer from http://h in time (request id r1)"
    );
    // IAM out of reach: retried, and without a status.
    let unreachable = ExchangeError::Unavailable {
        endpoint: "http://iam".into(),
        step: "token exchange",
        idp_id: "idp".into(),
        status: None,
        message: "cannot connect".into(),
    };
    let error = ApiError::from(unreachable);
    assert_eq!((error.kind, error.status), (ErrorKind::Transient, None));
    assert!(!error.to_string().starts_with("HTTP"), "{error}");
    // A token file that cannot be read ends the wait as an auth error.
    let unreadable = ExchangeError::TokenFile {
        path: "/t".into(),
        variable: "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
        idp_id: "idp".into(),
        reason: "no such file".into(),
    };
    let error = ApiError::from(unreadable);
    assert_eq!((error.kind, error.status), (ErrorKind::Auth, None));
}

#[test]
fn retry_after_takes_seconds_or_an_http_date() {
    let now: jiff::Timestamp = "2026-12-02T08:00:00Z".parse().unwrap();
    assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
    assert_eq!(
        retry_after("Wed, 02 Dec 2026 08:00:30 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert_eq!(
        retry_after("Wed, 02 Dec 2026 07:59:00 GMT", now),
        Some(Duration::ZERO),
        "a date already past"
    );
    assert_eq!(retry_after("soon", now), None);
    assert_eq!(retry_after("-3", now), None);
}

/// The kind of error `classify` makes of an answer without `Retry-After`.
fn kind(status: StatusCode, body: &'static [u8]) -> ErrorKind {
    classify(status, Bytes::from_static(body), None, None)
        .unwrap_err()
        .kind
}

#[test]
fn classifies_statuses() {
    let throttle =
        br#"{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached"}"#;
    assert!(matches!(
        classify(
            StatusCode::TOO_MANY_REQUESTS,
            Bytes::from_static(throttle),
            None,
            Some(Duration::from_secs(2))
        ),
        Err(ApiError {
            kind: ErrorKind::Throttled {
                retry_after: Some(_)
            },
            ..
        })
    ));
    // The gateway's 404 for a path it does not route is no "not yet".
    let no_api = br#"{"error_code":"APIG.0101","error_msg":"The API does not exist"}"#;
    assert_eq!(kind(StatusCode::NOT_FOUND, no_api), ErrorKind::Rejected);
    let no_job = br#"{"error_code":"WKS.00000404","error_msg":"The job does not exist."}"#;
    assert_eq!(kind(StatusCode::NOT_FOUND, no_job), ErrorKind::NotFound);
    // Another service's `.0308` is not the gateway throttling.
    let other = br#"{"error_code":"WKS.0308","error_msg":"Invalid parameter"}"#;
    assert_eq!(kind(StatusCode::BAD_REQUEST, other), ErrorKind::Rejected);
    let auth =
        br#"{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information"}"#;
    let err = classify(
        StatusCode::UNAUTHORIZED,
        Bytes::from_static(auth),
        Some("abc".into()),
        None,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        ApiError {
            kind: ErrorKind::Auth,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "HTTP 401 APIG.0301: Incorrect IAM authentication information (request id abc)"
    );
    assert_eq!(kind(StatusCode::FORBIDDEN, b""), ErrorKind::Auth);
    assert_eq!(kind(StatusCode::NOT_FOUND, b"{}"), ErrorKind::NotFound);
    assert_eq!(
        kind(StatusCode::SERVICE_UNAVAILABLE, b""),
        ErrorKind::Transient
    );
    assert_eq!(kind(StatusCode::BAD_REQUEST, b"{}"), ErrorKind::Rejected);
}

#[test]
fn malformed_success_is_transient() {
    let body = classify(
        StatusCode::OK,
        Bytes::from_static(b"{\"status\": \"RUN"),
        Some("r1".into()),
        None,
    )
    .unwrap();
    let err = body.json().unwrap_err();
    assert!(matches!(
        err,
        ApiError {
            kind: ErrorKind::Transient,
            ..
        }
    ));
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert!(err.to_string().contains("request id r1"), "{err}");
    let ok = classify(
        StatusCode::OK,
        Bytes::from_static(b"{\"count\": 1}"),
        None,
        None,
    );
    assert_eq!(ok.unwrap().json().unwrap()["count"], 1);
}

#[test]
fn only_200_is_an_answer() {
    for status in [101, 201, 203, 204, 206] {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(
            kind(status, br#"{"status":"SUCCESS"}"#),
            ErrorKind::Transient,
            "{status}"
        );
    }
    for status in [301, 302, 304, 307, 308] {
        let status = StatusCode::from_u16(status).unwrap();
        assert_eq!(kind(status, b""), ErrorKind::Refused, "{status}");
    }
}

#[test]
fn a_redirect_names_its_printable_location() {
    let location =
        reqwest::header::HeaderValue::from_bytes(b"https://evil.example/\tx\xff").unwrap();
    let err = redirect_error(StatusCode::FOUND, Some(&location), Some("r9".into()));
    let text = err.to_string();
    assert!(matches!(
        err,
        ApiError {
            kind: ErrorKind::Refused,
            status: Some(302),
            ..
        }
    ));
    assert!(
        text.contains("the API answered 302 redirecting to https://evil.example/"),
        "{text}"
    );
    assert!(
        text.contains("point --endpoint at the API itself"),
        "{text}"
    );
    assert!(!text.chars().any(char::is_control), "{text:?}");
    let long = reqwest::header::HeaderValue::from_str(&"a".repeat(5000)).unwrap();
    assert!(
        redirect_error(StatusCode::FOUND, Some(&long), None)
            .to_string()
            .len()
            < 600
    );
    assert!(
        redirect_error(StatusCode::MOVED_PERMANENTLY, None, None)
            .to_string()
            .contains("301 without a Location")
    );
}

#[test]
fn tls_messages_say_what_and_how_to_fix() {
    let base = "https://gw.example.com:8443";
    let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
    let text = tls_message(&unknown, base);
    assert!(
        text.contains("certificate of gw.example.com:8443 is not trusted"),
        "{text}"
    );
    assert!(
        text.contains("--ca-cert FILE") && text.contains("SSL_CERT_FILE"),
        "{text}"
    );
    assert!(
        !text.contains("UnknownIssuer") && !text.contains("error_budget"),
        "{text}"
    );
    let name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
    assert!(tls_message(&name, base).contains("another host name"));
    let garbage = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
    assert!(tls_message(&garbage, base).contains("really speaks https"));
}

#[test]
fn a_request_goes_only_where_it_was_signed_for() {
    use crate::api::Service;
    let ok = |base: &str, path: &str| {
        let request = ApiRequest::new(Service::Workspace, path.into()).with("job_id", "a,b");
        checked_url(base, &request).map(|u| u.to_string())
    };
    assert_eq!(
        ok("https://gw.example:8443", "/v2/p/jobs/1").unwrap(),
        "https://gw.example:8443/v2/p/jobs/1?job_id=a%2Cb"
    );
    assert_eq!(
        ok("https://gw.example/prefix", "/v2/p/jobs/1").unwrap(),
        "https://gw.example/prefix/v2/p/jobs/1?job_id=a%2Cb"
    );
    for path in [
        "/v1/p/jobs/../../../v3/auth/tokens?x=",
        "/v1/p/jobs/%2e%2e/x",
        "/v1/p/jobs/a b",
        "/v1/p/jobs/1#frag",
        "/v1/p/jobs/1?status=SUCCESS",
        "@evil.example/v1",
        "/v1/p/jobs/..\\x",
    ] {
        let err = ok("https://gw.example", path).unwrap_err();
        assert!(err.contains("not sent"), "{path}: {err}");
    }
    assert!(ok("http://127.0.0.1:8080", ".evil.example/v1").is_err());
}

#[test]
fn server_text_in_errors_is_bounded() {
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcd", 3), "abc…");
    assert_eq!(clip("ééééé", 2), "éé…");
    let body = format!(
        r#"{{"error_code":"{}","error_msg":"{}"}}"#,
        "C".repeat(10_000),
        "m".repeat(1_000_000)
    );
    let err = classify(StatusCode::BAD_REQUEST, Bytes::from(body), None, None).unwrap_err();
    assert!(err.code.unwrap().chars().count() <= MAX_ERROR_CODE + 1);
    assert!(err.message.chars().count() <= MAX_ERROR_TEXT + 1);
}

#[test]
fn host_without_scheme() {
    assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
    assert_eq!(
        host_of("https://workspace.cn-north-4.myhuaweicloud.com/"),
        "workspace.cn-north-4.myhuaweicloud.com"
    );
}

#[test]
fn renewed_secrets_echoed_by_a_server_are_masked() {
    use crate::api::credentials::Secret;
    let credentials = Credentials::AkSk {
        access_key: "TMPAK".into(),
        secret_key: Secret::new("tmp-secret"),
        security_token: Some(Secret::new("sts-token-value")),
    };
    let error = ApiError::new(ErrorKind::Auth, "bad token sts-token-value for TMPAK").answered(
        401,
        Some("X sts-token-value".into()),
        None,
    );
    let text = scrub(error, &credentials).to_string();
    assert!(
        !text.contains("sts-token-value") && !text.contains("TMPAK"),
        "{text}"
    );
}
