//! The simulator's IAM: the two endpoints of the official SDKs' keyless
//! flow (ID token → unscoped IAM token → temporary AK/SK with a security
//! token), STS `AssumeAgencyWithOIDC` (ID token → the temporary AK/SK of a
//! trust agency, for the identity provider whose URN ends in
//! `:identity-provider:<idp_id>`), and the gateway's check of the
//! temporary credentials it issued.
//!
//! It checks an ID token's `aud` and `exp` claims only: **no signature is
//! verified**, so any JWT-shaped token with the right claims passes. That
//! is enough to test a client's flow, expiry handling and refresh; it is no
//! model of IAM's trust in an identity provider. Credentials expire after
//! the scenario's `iam.lifetime`, so refresh is testable in seconds.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, Response, Uri, header};
use serde_json::{Value, json};

use super::auth::{self, Rejection, SimAuth};
use super::routes::json_response;
use super::stats::Counters;
use crate::api::federation::{
    ASSUME_WITH_OIDC_PATH, ID_TOKEN_PATH, SECURITY_TOKENS_PATH, STS_DURATIONS,
};
use crate::api::signer;

/// The scenario's `iam:` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IamConfig {
    /// The identity provider id clients must send as `X-Idp-Id`.
    pub(crate) idp_id: String,
    /// The `aud` an ID token must have (`None`: any).
    pub(crate) audience: Option<String>,
    /// How long issued credentials last.
    pub(crate) lifetime: Duration,
    /// The lifetime IAM announces in `expires_at` (and that its IAM tokens
    /// have); `None`: the real one. A longer one makes credentials expire
    /// before the client expects, as a clock skew or a revocation would.
    pub(crate) claimed_lifetime: Option<Duration>,
}

/// IAM's state: the tokens and credentials it issued.
#[derive(Debug)]
pub(crate) struct Iam {
    config: IamConfig,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Unscoped IAM tokens and when they expire.
    tokens: HashMap<String, jiff::Timestamp>,
    /// Temporary access key → (secret, security token, expiry).
    keys: HashMap<String, (String, String, jiff::Timestamp)>,
}

impl Iam {
    pub(crate) fn new(config: IamConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers a request to an IAM path.
    pub(crate) async fn handle(
        &self,
        counters: &Counters,
        request: Request<Body>,
    ) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let Ok(body) = axum::body::to_bytes(body, 1 << 20).await else {
            return iam_error(413, "1000", "the request body is too large");
        };
        if parts.method != Method::POST {
            return iam_error(405, "1000", "method not allowed");
        }
        // Like the real IAM, a body that is not JSON is a bad request, not
        // an empty one.
        let Ok(json) = serde_json::from_slice::<Value>(&body) else {
            return iam_error(400, "1000", "the request body is not valid JSON");
        };
        match parts.uri.path() {
            ID_TOKEN_PATH => {
                counters.iam(|s| s.id_token_exchanges += 1);
                self.id_token(&parts.headers, &json)
            }
            SECURITY_TOKENS_PATH => {
                counters.iam(|s| s.security_token_exchanges += 1);
                self.security_token(&json)
            }
            ASSUME_WITH_OIDC_PATH => {
                counters.iam(|s| s.agency_exchanges += 1);
                self.assume_agency(&json)
            }
            _ => iam_error(404, "1000", "no such IAM API in the simulator"),
        }
    }

    fn id_token(&self, headers: &HeaderMap, json: &Value) -> Response<Body> {
        let idp = headers.get("x-idp-id").and_then(|v| v.to_str().ok());
        if idp != Some(self.config.idp_id.as_str()) {
            return iam_error(
                404,
                "1101",
                "Could not find Identity Provider: check X-Idp-Id",
            );
        }
        let Some(token) = json.pointer("/auth/id_token/id").and_then(Value::as_str) else {
            return iam_error(400, "1000", "auth.id_token.id is required");
        };
        if let Err((status, code, message)) = self.check_id_token(token) {
            return iam_error(status, code, message);
        }
        let now = jiff::Timestamp::now();
        let iam_token = format!("MIIsim{:032x}", fastrand::u128(..));
        let expires = self.expiry(now, self.claimed());
        self.state().tokens.insert(iam_token.clone(), expires);
        let mut response = json_response(
            201,
            &json!({"token": {"methods": ["mapped"], "expires_at": format_time(expires),
                "user": {"name": "ci", "OS-FEDERATION": {"identity_provider": {"id": self.config.idp_id}}}}}),
        );
        if let Ok(value) = header::HeaderValue::from_str(&iam_token) {
            response.headers_mut().insert("x-subject-token", value);
        }
        response
    }

    /// An ID token's `exp` and `aud` (no signature: see the module doc).
    fn check_id_token(&self, token: &str) -> Result<(), (u16, &'static str, &'static str)> {
        let Some(claims) = claims(token) else {
            return Err((400, "1000", "the id_token is not a JWT"));
        };
        match claims.get("exp").and_then(Value::as_i64) {
            Some(exp) if exp > jiff::Timestamp::now().as_second() => {}
            _ => return Err((401, "1101", "the id_token has expired")),
        }
        if let Some(audience) = &self.config.audience {
            let ok = match claims.get("aud") {
                Some(Value::String(aud)) => aud == audience,
                Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
                _ => false,
            };
            if !ok {
                return Err((401, "1101", "the id_token's audience is not accepted"));
            }
        }
        Ok(())
    }

    /// `AssumeAgencyWithOIDC`: the body the official Python SDK sends, every
    /// required field checked, answered in STS's `credentials` shape.
    fn assume_agency(&self, json: &Value) -> Response<Body> {
        let text = |name: &str| {
            json.get(name)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
        };
        let Some(provider) = text("provider_urn") else {
            return iam_error(400, "STS.0001", "provider_urn is required");
        };
        let suffix = format!(":identity-provider:{}", self.config.idp_id);
        if !provider.ends_with(&suffix) {
            return iam_error(404, "STS.0004", "the identity provider does not exist");
        }
        if text("agency_urn").is_none_or(|a| !a.contains(":agency:")) {
            return iam_error(400, "STS.0001", "agency_urn is required");
        }
        if text("agency_session_name").is_none() {
            return iam_error(400, "STS.0001", "agency_session_name is required");
        }
        match json.get("duration_seconds").and_then(Value::as_u64) {
            Some(d) if STS_DURATIONS.contains(&d) => {}
            _ => return iam_error(400, "STS.0001", "duration_seconds must be 900 to 43200"),
        }
        let Some(token) = text("id_token") else {
            return iam_error(400, "STS.0001", "id_token is required");
        };
        if let Err((status, code, message)) = self.check_id_token(token) {
            return iam_error(status, code, message);
        }
        let (access, secret, security_token) = self.issue(jiff::Timestamp::now());
        let claimed = self.expiry(jiff::Timestamp::now(), self.claimed());
        json_response(
            200,
            &json!({"credentials": {"access_key_id": access, "secret_access_key": secret,
                "security_token": security_token, "expiration": format_time(claimed)},
                "source_identity": "ci"}),
        )
    }

    /// New temporary credentials, remembered for the gateway's check.
    fn issue(&self, now: jiff::Timestamp) -> (String, String, String) {
        let access = format!("SIMTMP{:014X}", fastrand::u64(..) >> 8);
        let secret = format!("simsecret{:032x}", fastrand::u128(..));
        let security_token = format!("simsts{:064x}", fastrand::u128(..));
        let expires = self.expiry(now, self.config.lifetime);
        self.state().keys.insert(
            access.clone(),
            (secret.clone(), security_token.clone(), expires),
        );
        (access, secret, security_token)
    }

    fn security_token(&self, json: &Value) -> Response<Body> {
        let token = json
            .pointer("/auth/identity/token/id")
            .and_then(Value::as_str);
        let now = jiff::Timestamp::now();
        let known = token.and_then(|t| self.state().tokens.get(t).copied());
        match known {
            Some(expires) if expires > now => {}
            Some(_) => return iam_error(401, "1101", "the token has expired"),
            None => return iam_error(401, "1101", "the token is not valid"),
        }
        let (access, secret, security_token) = self.issue(now);
        let claimed = self.expiry(now, self.claimed());
        json_response(
            201,
            &json!({"credential": {"access": access, "secret": secret,
                "securitytoken": security_token, "expires_at": format_time(claimed)}}),
        )
    }

    fn claimed(&self) -> Duration {
        self.config.claimed_lifetime.unwrap_or(self.config.lifetime)
    }

    fn expiry(&self, now: jiff::Timestamp, lifetime: Duration) -> jiff::Timestamp {
        let lifetime =
            jiff::SignedDuration::try_from(lifetime).unwrap_or(jiff::SignedDuration::from_hours(1));
        now.checked_add(lifetime).unwrap_or(now)
    }

    /// The gateway's check of a request signed with temporary credentials
    /// this IAM issued; `None` when it is not signed with one (the
    /// simulator's other authentication then applies).
    pub(crate) fn check(
        &self,
        counters: &Counters,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Result<(), Rejection>> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())?;
        let access = signer::parse_authorization(authorization)?.access_key;
        let (secret, security_token, expires) = self.state().keys.get(&access).cloned()?;
        let sent = headers
            .get("x-security-token")
            .and_then(|v| v.to_str().ok());
        if sent != Some(security_token.as_str()) {
            return Some(Err(auth::unauthorized(
                auth::BAD_IAM_AUTH,
                "Incorrect IAM authentication information: verify security token fail".into(),
            )));
        }
        if jiff::Timestamp::now() >= expires {
            counters.iam(|s| s.expired_rejected += 1);
            return Some(Err(auth::unauthorized(
                auth::BAD_IAM_AUTH,
                "Incorrect IAM authentication information: the security token has expired".into(),
            )));
        }
        let pair = SimAuth::AkSk {
            access_key: access,
            secret_key: secret,
        };
        Some(auth::check(&pair, method, uri, headers, body))
    }
}

/// The claims of a JWT (unverified).
fn claims(token: &str) -> Option<Value> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// IAM's time format, as the official SDKs parse it.
fn format_time(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// IAM's error body.
fn iam_error(status: u16, code: &str, message: &str) -> Response<Body> {
    json_response(
        status,
        &json!({"error": {"code": code, "message": message, "title": "Error"}}),
    )
}

/// A test JWT (unsigned: the simulator checks no signature) with `aud` and
/// `exp`, for tests and `jobgate simulate` users.
pub fn test_jwt(audience: &str, exp: i64) -> String {
    use base64::Engine as _;
    let encode = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk",
        encode(&json!({"alg": "RS256", "typ": "JWT"})),
        encode(
            &json!({"iss": "https://token.actions.githubusercontent.com",
            "sub": "repo:example/app:ref:refs/heads/main", "aud": audience, "exp": exp})
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_the_format_the_sdks_parse() {
        let at: jiff::Timestamp = "2026-12-04T17:00:00.5Z".parse().unwrap();
        assert_eq!(format_time(at), "2026-12-04T17:00:00.500000Z");
        assert_eq!(format_time(at).parse::<jiff::Timestamp>().unwrap(), at);
    }

    /// A body that is not JSON is refused, never read as an empty request.
    #[tokio::test]
    async fn a_body_that_is_not_json_is_a_bad_request() {
        let iam = Iam::new(IamConfig {
            idp_id: "idp".into(),
            audience: None,
            lifetime: Duration::from_secs(60),
            claimed_lifetime: None,
        });
        let scenario =
            crate::sim::Scenario::from_yaml("project_id: p\njobs: []\n", "test").unwrap();
        let counters = Counters::new(&scenario);
        let request = Request::post(ID_TOKEN_PATH)
            .header("X-Idp-Id", "idp")
            .body(Body::from("{\"auth\":"))
            .unwrap();
        let answer = iam.handle(&counters, request).await;
        assert_eq!(answer.status(), 400);
        let body = axum::body::to_bytes(answer.into_body(), 1 << 16)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("not valid JSON"), "{text}");
    }

    #[test]
    fn test_jwts_carry_their_claims() {
        let c = claims(&test_jwt("aud-1", 42)).unwrap();
        assert_eq!(c["aud"], "aud-1");
        assert_eq!(c["exp"], 42);
        assert!(claims("not-a-jwt").is_none());
    }
}
