//! Reading credentials and keyless sources from variables, and the headers
//! that authenticate a request (signed against the published vectors).

use super::env::*;
use super::*;
use crate::api::federation::*;
use crate::api::signer;
use std::collections::HashMap;

fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}

#[test]
fn aksk_wins_over_token_when_complete() {
    let c = Credentials::from_lookup(lookup(&[
        (ENV_AK, "AK"),
        (ENV_SK, "SK"),
        (ENV_AUTH_TOKEN, "TOKEN"),
    ]))
    .unwrap();
    assert_eq!(
        c,
        Credentials::AkSk {
            access_key: "AK".into(),
            secret_key: Secret::new("SK"),
            security_token: None
        }
    );
    assert_eq!(c.describe(), "AK/SK");
    assert_eq!(c.secrets(), vec!["SK"]);
}

#[test]
fn security_token_makes_temporary_credentials() {
    let c = Credentials::from_lookup(lookup(&[
        (ENV_AK, "AK"),
        (ENV_SK, "SK"),
        (ENV_SECURITY_TOKEN, "STS"),
    ]))
    .unwrap();
    assert_eq!(c.describe(), "AK/SK with security token");
    assert_eq!(c.secrets(), vec!["SK", "STS"]);
}

#[test]
fn token_when_no_aksk() {
    let c =
        Credentials::from_lookup(lookup(&[(ENV_AUTH_TOKEN, "MIItoken"), (ENV_AK, "")])).unwrap();
    assert_eq!(c, Credentials::Token(Secret::new("MIItoken")));
    assert_eq!(c.describe(), "IAM token");
    assert_eq!(c.secrets(), vec!["MIItoken"]);
}

#[test]
fn half_a_pair_names_the_missing_variable_even_with_a_token() {
    let err =
        Credentials::from_lookup(lookup(&[(ENV_AK, "AK"), (ENV_AUTH_TOKEN, "T")])).unwrap_err();
    assert_eq!(
        err,
        CredentialsError::IncompleteAkSk {
            present: ENV_AK,
            missing: ENV_SK
        }
    );
    assert!(err.to_string().starts_with(
        "HUAWEICLOUD_SDK_AK is set but HUAWEICLOUD_SDK_SK is not: set HUAWEICLOUD_SDK_SK"
    ));
    let err = Credentials::from_lookup(lookup(&[(ENV_SK, "SK"), (ENV_AK, "  ")])).unwrap_err();
    assert_eq!(
        err,
        CredentialsError::IncompleteAkSk {
            present: ENV_SK,
            missing: ENV_AK
        }
    );
}

#[test]
fn nothing_set_names_every_variable() {
    let err = Credentials::from_lookup(lookup(&[(ENV_AUTH_TOKEN, "")])).unwrap_err();
    assert_eq!(err, CredentialsError::Missing);
    let msg = err.to_string();
    for var in [ENV_AK, ENV_SK, ENV_SECURITY_TOKEN, ENV_AUTH_TOKEN] {
        assert!(msg.contains(var), "{msg} lacks {var}");
    }
    assert_eq!(
        Credentials::from_lookup(lookup(&[(ENV_SECURITY_TOKEN, "STS")])).unwrap_err(),
        CredentialsError::OrphanSecurityToken
    );
}

#[test]
fn values_are_trimmed_and_checked_without_being_shown() {
    let c = Credentials::from_lookup(lookup(&[(ENV_AK, " AK\n"), (ENV_SK, "SK\n")])).unwrap();
    assert_eq!(c.secrets(), vec!["SK"]);
    let err = Credentials::from_lookup(lookup(&[(ENV_AUTH_TOKEN, "abc\u{1}secret")])).unwrap_err();
    assert_eq!(
        err,
        CredentialsError::InvalidValue {
            var: ENV_AUTH_TOKEN
        }
    );
    assert!(!err.to_string().contains("secret"));
}

#[test]
fn secrets_never_print() {
    let c = Credentials::AkSk {
        access_key: "AKID".into(),
        secret_key: Secret::new("topsecret"),
        security_token: Some(Secret::new("ststoken")),
    };
    let debug = format!("{c:?} {:?}", Credentials::Token(Secret::new("iamtoken")));
    for secret in ["topsecret", "ststoken", "iamtoken"] {
        assert!(!debug.contains(secret), "{debug}");
    }
    assert!(debug.contains("AKID"));
    assert_eq!(format!("{}", Secret::new("x")), "***");
    assert_eq!(Secret::new("x").expose(), "x");
}

const P: &str = "0123456789abcdef0123456789abcdef";

fn at(sdk_date: &str) -> jiff::Timestamp {
    signer::parse_sdk_date(sdk_date).unwrap()
}

#[test]
fn apply_signs_like_vector_v7() {
    let c = Credentials::AkSk {
        access_key: "AKTESTEXAMPLE000001".into(),
        secret_key: Secret::new("SKtestexample0000000000000000000000000001"),
        security_token: Some(Secret::new("tok/en+with=chars")),
    };
    let query = vec![
        (
            "job_type".to_owned(),
            "CREATE_SERVER,DELETE_SERVER".to_owned(),
        ),
        ("status".to_owned(), "RUNNING".to_owned()),
    ];
    let headers = c.apply(
        "GET",
        "workspace.cn-north-4.myhuaweicloud.com",
        &format!("/v1/{P}/app-server-sub-jobs/actions/count"),
        &query,
        at("20240102T030405Z"),
        Some(P),
    );
    let names: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "Content-Type",
            "X-Project-Id",
            "X-Security-Token",
            "X-Sdk-Date",
            "Authorization"
        ]
    );
    assert_eq!(headers[3].1, "20240102T030405Z");
    assert_eq!(
        headers[4].1,
        "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE000001, \
         SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, \
         Signature=cf8785f6dc9e58508c4cb2c6bc9184d8fd0f352aebea19bff1384b60f63dec45"
    );
}

#[test]
fn apply_signs_like_vector_v8_and_the_host_port_matters() {
    let c = Credentials::AkSk {
        access_key: "AKTESTEXAMPLE000001".into(),
        secret_key: Secret::new("SKtestexample0000000000000000000000000001"),
        security_token: None,
    };
    let path = format!("/v1/{P}/image-server-jobs/2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab");
    let sign = |host: &str| {
        let headers = c.apply("GET", host, &path, &[], at("20240102T030405Z"), Some(P));
        headers.last().unwrap().1.clone()
    };
    assert!(
        sign("appstream.cn-north-4.myhuaweicloud.com").ends_with(
            "Signature=ddd2c680539c036a0e61e1da5f8c6576dbca9d4f8be05b84c76e3736fb10e66c"
        )
    );
    assert_ne!(
        sign("appstream.cn-north-4.myhuaweicloud.com"),
        sign("appstream.cn-north-4.myhuaweicloud.com:8443")
    );
}

#[test]
fn apply_with_token_sends_x_auth_token_unsigned() {
    let c = Credentials::Token(Secret::new("MIItoken"));
    let headers = c.apply(
        "GET",
        "h",
        "/v2/p/x",
        &[],
        jiff::Timestamp::UNIX_EPOCH,
        None,
    );
    assert_eq!(
        headers,
        vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Auth-Token".to_owned(), "MIItoken".to_owned()),
        ]
    );
}

#[test]
fn host_header_matches_what_reqwest_sends() {
    let host = |u: &str| host_header(&reqwest::Url::parse(u).unwrap());
    assert_eq!(
        host("http://127.0.0.1:8080/v1"),
        Some("127.0.0.1:8080".into())
    );
    assert_eq!(host("https://example.com:443/"), Some("example.com".into()));
    assert_eq!(host("http://example.com:80/"), Some("example.com".into()));
    assert_eq!(
        host("https://example.com:80/"),
        Some("example.com:80".into())
    );
    assert_eq!(host("http://[::1]:9000/"), Some("[::1]:9000".into()));
}

/// Proves the assumption behind `host_header` against reqwest itself:
/// the signed Host must be byte for byte the one on the wire.
#[tokio::test]
async fn host_header_is_what_reqwest_puts_on_the_wire() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = reqwest::Url::parse(&format!(
        "http://{}/v1/p/jobs?a=1",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let mut len = 0;
        while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            len += socket.read(&mut buf[len..]).await.unwrap();
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf[..len]).into_owned()
    });
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    client.get(url.clone()).send().await.unwrap();
    let request = server.await.unwrap();
    let wire_host = request
        .lines()
        .find_map(|l| {
            l.strip_prefix("host: ")
                .or_else(|| l.strip_prefix("Host: "))
        })
        .unwrap()
        .to_owned();
    assert_eq!(Some(wire_host), host_header(&url));
}

#[cfg(unix)]
#[test]
fn a_non_utf8_value_is_named_not_missing() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let bad = || Some(OsString::from_vec(vec![b't', 0xff, b'k']));
    for var in [ENV_AUTH_TOKEN, ENV_AK, ENV_SK, ENV_SECURITY_TOKEN] {
        let err = Credentials::from_os_lookup(|name| {
            if name == var {
                bad()
            } else if name == ENV_AUTH_TOKEN {
                Some("token".into())
            } else {
                None
            }
        })
        .unwrap_err();
        assert_eq!(err, CredentialsError::NotUnicode { var });
        assert!(err.to_string().starts_with(var), "{err}");
    }
    let ok =
        Credentials::from_os_lookup(|name| (name == ENV_AUTH_TOKEN).then(|| OsString::from("tok")));
    assert_eq!(ok, Ok(Credentials::Token(Secret::new("tok"))));
}

#[test]
fn other_tools_names_are_read_after_the_sdks_as_whole_pairs() {
    let c = Credentials::from_lookup(lookup(&[
        ("HUAWEI_CLOUD_ACCESS_KEY_ID", "AK2"),
        ("HUAWEI_CLOUD_SECRET_ACCESS_KEY", "SK2"),
        ("HW_ACCESS_KEY", "AK3"),
        ("HW_SECRET_KEY", "SK3"),
    ]))
    .unwrap();
    assert_eq!(c.redacted_values(), vec!["SK2", "AK2"]);
    let c = Credentials::from_lookup(lookup(&[
        ("HW_ACCESS_KEY", "AK3"),
        ("HW_SECRET_KEY", "SK3"),
        ("HW_SECURITY_TOKEN", "T3"),
    ]))
    .unwrap();
    assert_eq!(c.describe(), "AK/SK with security token");
    // The SDK's names win; a half pair in the first family set is an
    // error naming that family's variables, not a silent fallback.
    let c = Credentials::from_lookup(lookup(&[
        (ENV_AK, "AK1"),
        (ENV_SK, "SK1"),
        ("HW_ACCESS_KEY", "AK3"),
        ("HW_SECRET_KEY", "SK3"),
    ]))
    .unwrap();
    assert_eq!(c.secrets(), vec!["SK1"]);
    assert_eq!(
        Credentials::from_lookup(lookup(&[
            ("HUAWEI_CLOUD_ACCESS_KEY_ID", "AK2"),
            ("HW_ACCESS_KEY", "AK3"),
            ("HW_SECRET_KEY", "SK3"),
        ]))
        .unwrap_err(),
        CredentialsError::IncompleteAkSk {
            present: "HUAWEI_CLOUD_ACCESS_KEY_ID",
            missing: "HUAWEI_CLOUD_SECRET_ACCESS_KEY"
        }
    );
}

#[test]
fn disagreeing_sources_warn_without_values() {
    assert!(
        disagreements(lookup(&[
            (ENV_AK, "AK1"),
            ("HW_ACCESS_KEY", "AK1"),
            ("HUAWEI_CLOUD_PROJECT_ID", "p"),
        ]))
        .is_empty()
    );
    let warnings = disagreements(lookup(&[
        (ENV_SK, "secret-one"),
        ("HW_SECRET_KEY", "secret-two"),
        ("HUAWEICLOUD_SDK_PROJECT_ID", "p1"),
        ("HW_PROJECT_ID", "p2"),
    ]));
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("using HUAWEICLOUD_SDK_SK"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("HW_PROJECT_ID"), "{warnings:?}");
    let all = warnings.join("\n");
    for value in ["secret-one", "secret-two", "p1", "p2"] {
        assert!(!all.contains(&format!(" {value}")), "{all}");
    }
    let warnings = disagreements(lookup(&[
        (ENV_IDP_ID, "idp"),
        (ENV_ID_TOKEN_FILE, "/t"),
        ("HUAWEI_CLOUD_ACCESS_KEY_ID", "AK"),
    ]));
    assert!(
        warnings[0].contains("using the identity provider"),
        "{warnings:?}"
    );
}

fn os_lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
    let inner = lookup(vars);
    move |name| inner(name).map(Into::into)
}

#[test]
fn an_identity_provider_wins_like_in_the_sdks() {
    let source = Source::from_os_lookup(os_lookup(&[
        (ENV_IDP_ID, " github "),
        (ENV_ID_TOKEN_FILE, "/run/token"),
        (ENV_AK, "AK"),
        (ENV_SK, "SK"),
    ]))
    .unwrap();
    assert_eq!(
        source,
        Source::Idp(IdpConfig {
            idp_id: "github".into(),
            token_file: "/run/token".into(),
            iam_endpoint: DEFAULT_IAM_ENDPOINT.into(),
            agency: None,
        })
    );
    let source = Source::from_os_lookup(os_lookup(&[
        (ENV_IDP_ID, "github"),
        (ENV_ID_TOKEN_FILE, "/run/token"),
        (ENV_IAM_ENDPOINT, "http://127.0.0.1:9/"),
    ]))
    .unwrap();
    assert!(
        matches!(&source, Source::Idp(c) if c.iam_endpoint == "http://127.0.0.1:9"),
        "{source:?}"
    );
    assert!(source.describe().contains("identity provider `github`"));
    assert_eq!(
        Source::from_os_lookup(os_lookup(&[
            (ENV_IDP_ID, "github"),
            (ENV_AK, "A"),
            (ENV_SK, "S")
        ]))
        .unwrap_err(),
        CredentialsError::IncompleteIdp {
            present: ENV_IDP_ID,
            missing: ENV_ID_TOKEN_FILE
        }
    );
    assert_eq!(
        Source::from_os_lookup(os_lookup(&[(ENV_AK, "A"), (ENV_SK, "S")])).unwrap(),
        Source::Static(Credentials::AkSk {
            access_key: "A".into(),
            secret_key: Secret::new("S"),
            security_token: None
        })
    );
}

#[test]
fn sts_assume_agency_reads_the_python_sdks_variables() {
    let base = [
        (ENV_OIDC_PROVIDER_URN, "iam::1:identity-provider:github"),
        (ENV_OIDC_AGENCY_URN, "iam::1:agency:ci"),
        (ENV_OIDC_TOKEN_FILE, "/run/token"),
        (ENV_AK, "AK"),
        (ENV_SK, "SK"),
    ];
    let source = Source::from_os_lookup(os_lookup(&base)).unwrap();
    assert_eq!(
        source,
        Source::Idp(IdpConfig {
            idp_id: "iam::1:identity-provider:github".into(),
            token_file: "/run/token".into(),
            iam_endpoint: DEFAULT_STS_ENDPOINT.into(),
            agency: Some(AgencyConfig {
                agency_urn: "iam::1:agency:ci".into(),
                session_name: DEFAULT_SESSION_NAME.into(),
                duration_seconds: STS_DURATION_SECONDS,
                policy: None,
                policy_ids: Vec::new(),
            }),
        })
    );
    assert!(source.describe().contains("AssumeAgencyWithOIDC"));
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut all = base.to_vec();
        all.extend_from_slice(extra);
        Source::from_os_lookup(os_lookup(&all))
    };
    let Source::Idp(config) = with(&[
        (ENV_OIDC_SESSION_NAME, "deploy-42"),
        (ENV_OIDC_DURATION_SECONDS, "900"),
        (ENV_OIDC_POLICY_IDS, " p1, ,p2 "),
        (ENV_STS_ENDPOINT, "http://127.0.0.1:9/"),
    ])
    .unwrap() else {
        panic!("not keyless")
    };
    let agency = config.agency.unwrap();
    assert_eq!(agency.session_name, "deploy-42");
    assert_eq!(agency.duration_seconds, 900);
    assert_eq!(agency.policy_ids, ["p1", "p2"]);
    assert_eq!(config.iam_endpoint, "http://127.0.0.1:9");
    for bad in ["899", "43201", "1h", "-1"] {
        assert_eq!(
            with(&[(ENV_OIDC_DURATION_SECONDS, bad)]).unwrap_err(),
            CredentialsError::InvalidDuration,
            "{bad}"
        );
    }
    // The token as a variable's value is refused, not read.
    assert_eq!(
        with(&[(ENV_OIDC_ID_TOKEN, "eyJ.x.y")]).unwrap_err(),
        CredentialsError::TokenInVariable
    );
    // Both keyless modes: which is meant is not said.
    assert_eq!(
        with(&[(ENV_IDP_ID, "github")]).unwrap_err(),
        CredentialsError::TwoKeylessModes
    );
    // Half a configuration never falls back to the access key.
    assert_eq!(
        Source::from_os_lookup(os_lookup(&[
            (ENV_OIDC_PROVIDER_URN, "urn"),
            (ENV_OIDC_TOKEN_FILE, "/run/token"),
            (ENV_AK, "AK"),
            (ENV_SK, "SK"),
        ]))
        .unwrap_err(),
        CredentialsError::IncompleteIdp {
            present: ENV_OIDC_PROVIDER_URN,
            missing: ENV_OIDC_AGENCY_URN
        }
    );
    assert_eq!(
        Source::from_os_lookup(os_lookup(&[
            (ENV_OIDC_AGENCY_URN, "iam::1:agency:ci"),
            (ENV_AK, "AK"),
            (ENV_SK, "SK"),
        ]))
        .unwrap_err(),
        CredentialsError::IncompleteIdp {
            present: ENV_OIDC_AGENCY_URN,
            missing: ENV_OIDC_PROVIDER_URN
        }
    );
    assert_eq!(
        Source::from_os_lookup(os_lookup(&base[..2])).unwrap_err(),
        CredentialsError::IncompleteIdp {
            present: ENV_OIDC_PROVIDER_URN,
            missing: ENV_OIDC_TOKEN_FILE
        }
    );
}
