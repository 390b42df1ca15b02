//! The simulator's API gateway check: verifies AK/SK signatures and IAM
//! tokens the way Huawei Cloud's API gateway does, and rejects with the
//! gateway's status codes and error bodies.
//!
//! Verification recomputes the signature from the request as received (the
//! decoded path and query, and the headers named in `SignedHeaders`) with the
//! same [`signer`] the client uses, so a client-side signing bug shows up as
//! a 401 here exactly as it would against the real gateway.

use axum::http::{HeaderMap, Method, Uri, header};
use hmac::Mac;
use percent_encoding::percent_decode_str;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::api::signer::{self, SigningRequest};

/// What the simulated gateway accepts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SimAuth {
    /// Accept every request, authenticated or not.
    #[default]
    Off,
    /// Accept only requests signed with this AK/SK pair.
    AkSk {
        /// The one access key the gateway knows.
        access_key: String,
        /// Its secret key.
        secret_key: String,
    },
    /// Accept only requests carrying this IAM token in `X-Auth-Token`.
    Token(String),
}

/// A request the gateway refuses: the HTTP status and the JSON body to send.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rejection {
    /// HTTP status code (401 for every authentication failure).
    pub(crate) status: u16,
    /// `{"error_code", "error_msg", "request_id"}`, as the gateway sends it.
    pub(crate) body: serde_json::Value,
}

impl Rejection {
    fn unauthorized(error_code: &str, error_msg: String) -> Self {
        Self {
            status: 401,
            body: json!({
                "error_code": error_code,
                "error_msg": error_msg,
                "request_id": format!("{:032x}", fastrand::u128(..)),
            }),
        }
    }

    /// The `error_code`, e.g. `APIG.0301`.
    #[cfg(test)]
    pub(crate) fn error_code(&self) -> &str {
        self.body["error_code"].as_str().unwrap_or_default()
    }

    /// The `request_id`, worth echoing in an `X-Request-Id` header.
    #[cfg(test)]
    pub(crate) fn request_id(&self) -> &str {
        self.body["request_id"].as_str().unwrap_or_default()
    }
}

/// The gateway's 401 with `error_code` and `error_msg`.
pub(crate) fn unauthorized(error_code: &str, error_msg: String) -> Rejection {
    Rejection::unauthorized(error_code, error_msg)
}

/// The gateway's code for bad IAM authentication information.
pub(crate) const BAD_IAM_AUTH: &str = "APIG.0301";
/// The gateway's code for a token it does not accept.
pub(crate) const TOKEN_MUST_BE_UPDATED: &str = "APIG.0307";

const IAM_PREFIX: &str = "Incorrect IAM authentication information";

fn aksk_fail(reason: &str) -> Rejection {
    Rejection::unauthorized(
        BAD_IAM_AUTH,
        format!("{IAM_PREFIX}: verify aksk signature fail, {reason}"),
    )
}

fn unknown_access_key(access_key: &str) -> Rejection {
    Rejection::unauthorized(
        BAD_IAM_AUTH,
        format!("{IAM_PREFIX}: Get secretKey failed,ak:{access_key},err:ak not exist"),
    )
}

/// Checks a request's authentication without any clock check (the official
/// SDK may sign with a fixed `X-Sdk-Date` in tests).
pub(crate) fn check(
    auth: &SimAuth,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Rejection> {
    check_with_clock(auth, method, uri, headers, body, None)
}

/// Like [`check`], and with `clock = Some((now, max_skew))` also rejects an
/// `X-Sdk-Date` further than `max_skew` from `now` (the real gateway allows
/// 15 minutes).
pub(crate) fn check_with_clock(
    auth: &SimAuth,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    clock: Option<(jiff::Timestamp, jiff::SignedDuration)>,
) -> Result<(), Rejection> {
    let authorization = header_str(headers, header::AUTHORIZATION.as_str());
    let token = header_str(headers, "x-auth-token");
    match auth {
        SimAuth::Off => Ok(()),
        SimAuth::Token(expected) => match (token, authorization) {
            (Some(token), _) if same_secret(&token, expected) => Ok(()),
            (Some(_), _) => Err(Rejection::unauthorized(
                TOKEN_MUST_BE_UPDATED,
                "The token must be updated.".to_owned(),
            )),
            // Signed, but this gateway knows no access key at all.
            (None, Some(value)) => Err(match signer::parse_authorization(&value) {
                Some(parsed) => unknown_access_key(&parsed.access_key),
                None => missing_credentials(),
            }),
            (None, None) => Err(missing_credentials()),
        },
        SimAuth::AkSk {
            access_key,
            secret_key,
        } => match (authorization, token) {
            (Some(value), _) => verify_signature(
                access_key, secret_key, method, uri, headers, body, &value, clock,
            ),
            // This gateway accepts signatures only, so no token can be valid.
            (None, Some(_)) => Err(Rejection::unauthorized(
                BAD_IAM_AUTH,
                format!("{IAM_PREFIX}: decrypt token fail"),
            )),
            (None, None) => Err(missing_credentials()),
        },
    }
}

fn missing_credentials() -> Rejection {
    Rejection::unauthorized(
        BAD_IAM_AUTH,
        format!("{IAM_PREFIX}: no Authorization or X-Auth-Token header in the request"),
    )
}

/// A header as text; non-UTF-8 bytes are replaced, which can only make a
/// signature fail, never pass.
fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Compares two secrets in constant time: hashing first hides lengths, and
/// the fold touches every byte whatever the first difference.
fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (
        Sha256::digest(given.as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// Decodes a raw query string into pairs, as the gateway sees them (`+` is
/// a space, as in any form-encoded query; the SDK itself sends `%20`).
fn decode_query(raw: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn verify_signature(
    access_key: &str,
    secret_key: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    authorization: &str,
    clock: Option<(jiff::Timestamp, jiff::SignedDuration)>,
) -> Result<(), Rejection> {
    let parsed = signer::parse_authorization(authorization).ok_or_else(|| {
        aksk_fail("the Authorization header is not a valid SDK-HMAC-SHA256 value")
    })?;
    if parsed.access_key != access_key {
        return Err(unknown_access_key(&parsed.access_key));
    }
    let sdk_date = header_str(headers, signer::HEADER_SDK_DATE)
        .ok_or_else(|| aksk_fail("the X-Sdk-Date header is missing"))?;
    let signed_at = signer::parse_sdk_date(&sdk_date).ok_or_else(|| {
        aksk_fail("the X-Sdk-Date header is not in the format YYYYMMDDTHHMMSSZ (UTC)")
    })?;
    if let Some((now, max_skew)) = clock
        && now.duration_since(signed_at).abs() > max_skew
    {
        return Err(aksk_fail(&format!(
            "the request time {sdk_date} is out of range, server time {}",
            signer::sdk_date(now)
        )));
    }

    // Recompute over exactly the headers the client says it signed.
    let mut signed = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        let value = match header_str(headers, name) {
            Some(value) => value,
            // HTTP/2 carries the host as :authority, which lands in the URI.
            None if name == "host" => uri
                .authority()
                .map(|a| a.as_str().to_owned())
                .ok_or_else(|| aksk_fail("the signed header host is missing"))?,
            None => return Err(aksk_fail(&format!("the signed header {name} is missing"))),
        };
        signed.push((name.clone(), value));
    }
    let path = percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let query = decode_query(uri.query().unwrap_or_default());
    let canonical = signer::canonical_request(&SigningRequest {
        method: method.as_str(),
        path: &path,
        query: &query,
        headers: &signed,
        body,
    });
    let string_to_sign = signer::string_to_sign(&canonical, &sdk_date);
    let given = hex::decode(&parsed.signature).unwrap_or_default();
    // verify_slice compares in constant time.
    signer::mac(secret_key, &string_to_sign)
        .verify_slice(&given)
        .map_err(|_| aksk_fail("the signature does not match the request"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::credentials::{Credentials, Secret};

    const AK: &str = "AKSIMULATOR0000001";
    const SK: &str = "SKsimulator000000000000000000000000000001";
    const HOST: &str = "127.0.0.1:8080";

    fn sim() -> SimAuth {
        SimAuth::AkSk {
            access_key: AK.into(),
            secret_key: SK.into(),
        }
    }

    fn aksk(ak: &str, sk: &str) -> Credentials {
        Credentials::AkSk {
            access_key: ak.into(),
            secret_key: Secret::new(sk),
            security_token: Some(Secret::new("sts/token+x=")),
        }
    }

    fn now() -> jiff::Timestamp {
        signer::parse_sdk_date("20240102T030405Z").unwrap()
    }

    /// Builds what an HTTP client sends: the URI with the path encoded per
    /// segment and the query in canonical form, the headers from `apply`
    /// plus the Host the client adds.
    fn request(creds: &Credentials, path: &str, query: &[(&str, &str)]) -> (Uri, HeaderMap) {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut headers = HeaderMap::new();
        for (k, v) in creds.apply("GET", HOST, path, &query, now(), Some("proj")) {
            headers.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        headers.insert(header::HOST, HOST.parse().unwrap());
        let encoded_path: Vec<String> = path.split('/').map(signer::url_encode).collect();
        let mut uri = encoded_path.join("/");
        let q = signer::canonical_query(&query);
        if !q.is_empty() {
            uri = format!("{uri}?{q}");
        }
        (uri.parse().unwrap(), headers)
    }

    fn verdict(
        auth: &SimAuth,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<(), (u16, String, String)> {
        check(auth, &Method::GET, uri, headers, b"").map_err(|r| {
            assert_eq!(r.request_id().len(), 32);
            (
                r.status,
                r.error_code().to_owned(),
                r.body["error_msg"].as_str().unwrap().to_owned(),
            )
        })
    }

    #[test]
    fn signed_request_passes_even_with_special_characters() {
        let (uri, headers) = request(
            &aksk(AK, SK),
            "/v1/proj/image-server-jobs/a b~ü",
            &[
                ("job_type", "CREATE_SERVER,DELETE_SERVER"),
                ("status", "RUNNING"),
                ("status", "FAILED"),
                ("name", "x+y z/ä"),
            ],
        );
        assert_eq!(verdict(&sim(), &uri, &headers), Ok(()));
    }

    #[test]
    fn plus_in_a_form_encoded_query_is_a_space() {
        let (_, headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[("name", "a b")]);
        let uri: Uri = "/v1/p/jobs?name=a+b".parse().unwrap();
        assert_eq!(verdict(&sim(), &uri, &headers), Ok(()));
    }

    #[test]
    fn tampered_query_fails() {
        let (_, headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[("status", "RUNNING")]);
        let uri: Uri = "/v1/p/jobs?status=FAILED".parse().unwrap();
        let (status, code, msg) = verdict(&sim(), &uri, &headers).unwrap_err();
        assert_eq!((status, code.as_str()), (401, BAD_IAM_AUTH));
        assert!(
            msg.starts_with("Incorrect IAM authentication information: verify aksk signature fail"),
            "{msg}"
        );
    }

    #[test]
    fn tampered_signed_header_fails() {
        let (uri, mut headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[]);
        headers.insert("x-project-id", "other".parse().unwrap());
        assert_eq!(verdict(&sim(), &uri, &headers).unwrap_err().1, BAD_IAM_AUTH);
    }

    #[test]
    fn wrong_secret_key_fails() {
        let (uri, headers) = request(&aksk(AK, "not-the-secret"), "/v1/p/jobs", &[]);
        let (status, code, msg) = verdict(&sim(), &uri, &headers).unwrap_err();
        assert_eq!((status, code.as_str()), (401, BAD_IAM_AUTH));
        assert!(msg.contains("signature does not match"), "{msg}");
    }

    #[test]
    fn unknown_access_key_fails() {
        let (uri, headers) = request(&aksk("AKSOMEONEELSE", SK), "/v1/p/jobs", &[]);
        let (status, code, msg) = verdict(&sim(), &uri, &headers).unwrap_err();
        assert_eq!((status, code.as_str()), (401, BAD_IAM_AUTH));
        assert!(msg.contains("ak:AKSOMEONEELSE,err:ak not exist"), "{msg}");
    }

    #[test]
    fn missing_headers_fail() {
        let (uri, headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[]);

        let mut no_date = headers.clone();
        no_date.remove("x-sdk-date");
        let (status, code, msg) = verdict(&sim(), &uri, &no_date).unwrap_err();
        assert_eq!((status, code.as_str()), (401, BAD_IAM_AUTH));
        assert!(msg.contains("X-Sdk-Date header is missing"), "{msg}");

        let mut no_token = headers.clone();
        no_token.remove("x-security-token");
        let msg = verdict(&sim(), &uri, &no_token).unwrap_err().2;
        assert!(
            msg.contains("signed header x-security-token is missing"),
            "{msg}"
        );

        let mut no_auth = headers.clone();
        no_auth.remove(header::AUTHORIZATION);
        let (status, code, _) = verdict(&sim(), &uri, &no_auth).unwrap_err();
        assert_eq!((status, code.as_str()), (401, BAD_IAM_AUTH));

        let mut garbled = headers;
        garbled.insert(
            header::AUTHORIZATION,
            "SDK-HMAC-SHA256 nonsense".parse().unwrap(),
        );
        assert!(
            verdict(&sim(), &uri, &garbled)
                .unwrap_err()
                .2
                .contains("not a valid")
        );
    }

    #[test]
    fn token_mode_accepts_only_the_token() {
        let auth = SimAuth::Token("MIIgood".into());
        let token = |t: &str| request(&Credentials::Token(Secret::new(t)), "/v2/p/jobs", &[]);

        let (uri, headers) = token("MIIgood");
        assert_eq!(verdict(&auth, &uri, &headers), Ok(()));

        let (uri, headers) = token("MIIbad");
        let (status, code, msg) = verdict(&auth, &uri, &headers).unwrap_err();
        assert_eq!((status, code.as_str()), (401, TOKEN_MUST_BE_UPDATED));
        assert_eq!(msg, "The token must be updated.");

        let (uri, headers) = request(&aksk(AK, SK), "/v2/p/jobs", &[]);
        assert!(
            verdict(&auth, &uri, &headers)
                .unwrap_err()
                .2
                .contains("ak not exist")
        );
        assert_eq!(
            verdict(&auth, &uri, &HeaderMap::new()).unwrap_err().1,
            BAD_IAM_AUTH
        );
    }

    #[test]
    fn aksk_mode_rejects_a_token() {
        let (uri, headers) = request(&Credentials::Token(Secret::new("MII")), "/v2/p/jobs", &[]);
        let msg = verdict(&sim(), &uri, &headers).unwrap_err().2;
        assert!(msg.ends_with("decrypt token fail"), "{msg}");
    }

    #[test]
    fn off_accepts_anything() {
        assert_eq!(
            verdict(&SimAuth::Off, &"/x".parse().unwrap(), &HeaderMap::new()),
            Ok(())
        );
    }

    #[test]
    fn clock_check_is_optional() {
        let (uri, headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[]);
        let skew = jiff::SignedDuration::from_mins(15);
        let later = now() + jiff::SignedDuration::from_mins(16);
        let at = |t| check_with_clock(&sim(), &Method::GET, &uri, &headers, b"", Some((t, skew)));
        assert_eq!(at(now() + jiff::SignedDuration::from_mins(14)), Ok(()));
        let rejection = at(later).unwrap_err();
        assert!(
            rejection.body["error_msg"]
                .as_str()
                .unwrap()
                .contains("out of range")
        );
        assert_eq!(check(&sim(), &Method::GET, &uri, &headers, b""), Ok(()));
    }

    #[test]
    fn http2_authority_stands_in_for_host() {
        let (uri, mut headers) = request(&aksk(AK, SK), "/v1/p/jobs", &[("a", "1")]);
        headers.remove(header::HOST);
        let absolute: Uri = format!("http://{HOST}{uri}").parse().unwrap();
        assert_eq!(verdict(&sim(), &absolute, &headers), Ok(()));
        assert!(
            verdict(&sim(), &uri, &headers)
                .unwrap_err()
                .2
                .contains("host is missing")
        );
    }
}
