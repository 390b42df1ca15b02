//! Keyless authentication: an OIDC ID token (from the CI platform) exchanged
//! at IAM for temporary AK/SK credentials, exactly as the official SDKs'
//! `HUAWEICLOUD_SDK_IDP_ID` + `HUAWEICLOUD_SDK_ID_TOKEN_FILE` flow does it
//! (the Python SDK's `FederalAccessor`):
//!
//! 1. `POST {iam}/v3.0/OS-AUTH/id-token/tokens` with header `X-Idp-Id` and
//!    body `{"auth":{"id_token":{"id":TOKEN}}}`: the reply's
//!    `X-Subject-Token` header is an unscoped IAM token;
//! 2. `POST {iam}/v3.0/OS-CREDENTIAL/securitytokens` with that token: the
//!    reply's `credential` holds `access`, `secret`, `securitytoken` and
//!    `expires_at`.
//!
//! Or, the second keyless mode, IAM v5 STS `AssumeAgencyWithOIDC` (the
//! Python SDK's `OidcStsAccessor`, with its `HUAWEICLOUD_OIDC_*` variables):
//! one unsigned `POST {sts}/v5/agencies/assume-with-oidc` with the identity
//! provider's URN, the trust agency's URN, a session name, the ID token and
//! a duration returns the temporary credentials of the agency.
//!
//! The temporary credentials then sign every request like any AK/SK with a
//! security token, and are renewed before `expires_at` (see
//! [`renew_due`]); the token file is read again at each renewal, because CI
//! platforms rewrite it with a fresh token.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use super::credentials::{Credentials, Secret};

/// The IAM identity provider id, as read by the official SDKs.
pub(crate) const ENV_IDP_ID: &str = "HUAWEICLOUD_SDK_IDP_ID";
/// The file holding the OIDC ID token, as read by the official SDKs.
pub(crate) const ENV_ID_TOKEN_FILE: &str = "HUAWEICLOUD_SDK_ID_TOKEN_FILE";
/// Overrides the IAM endpoint, as in the official SDKs.
pub(crate) const ENV_IAM_ENDPOINT: &str = "HUAWEICLOUD_SDK_IAM_ENDPOINT";
/// The official SDKs' default IAM endpoint (global IAM serves every region).
pub(crate) const DEFAULT_IAM_ENDPOINT: &str = "https://iam.myhuaweicloud.com";

/// Step 1 of the exchange.
pub(crate) const ID_TOKEN_PATH: &str = "/v3.0/OS-AUTH/id-token/tokens";
/// Step 2 of the exchange.
pub(crate) const SECURITY_TOKENS_PATH: &str = "/v3.0/OS-CREDENTIAL/securitytokens";
/// The lifetime the official Python SDK asks for (6 h); IAM may grant less.
pub(crate) const DURATION_SECONDS: u64 = 6 * 60 * 60;

/// `AssumeAgencyWithOIDC`: the identity provider's URN, as read by the
/// official Python SDK (`OidcStsCredentialProvider`).
pub(crate) const ENV_OIDC_PROVIDER_URN: &str = "HUAWEICLOUD_OIDC_PROVIDER_URN";
/// The trust agency's URN.
pub(crate) const ENV_OIDC_AGENCY_URN: &str = "HUAWEICLOUD_OIDC_AGENCY_URN";
/// The file holding the ID token.
pub(crate) const ENV_OIDC_TOKEN_FILE: &str = "HUAWEICLOUD_OIDC_TOKEN_FILE";
/// The ID token itself, which jobgate refuses (see `CredentialsError`).
pub(crate) const ENV_OIDC_ID_TOKEN: &str = "HUAWEICLOUD_OIDC_ID_TOKEN";
/// The session name (default [`DEFAULT_SESSION_NAME`]).
pub(crate) const ENV_OIDC_SESSION_NAME: &str = "HUAWEICLOUD_OIDC_SESSION_NAME";
/// The lifetime asked for, in seconds (default [`STS_DURATION_SECONDS`]).
pub(crate) const ENV_OIDC_DURATION_SECONDS: &str = "HUAWEICLOUD_OIDC_DURATION_SECONDS";
/// A session policy (JSON text) narrowing the agency's permissions.
pub(crate) const ENV_OIDC_POLICY: &str = "HUAWEICLOUD_OIDC_POLICY";
/// Identity policy ids narrowing them, comma-separated.
pub(crate) const ENV_OIDC_POLICY_IDS: &str = "HUAWEICLOUD_OIDC_POLICY_IDS";
/// Overrides the STS endpoint, as in the official SDKs.
pub(crate) const ENV_STS_ENDPOINT: &str = "HUAWEICLOUD_SDK_STS_ENDPOINT";
/// The official SDKs' default STS endpoint (any region's STS serves all).
pub(crate) const DEFAULT_STS_ENDPOINT: &str = "https://sts.cn-north-4.myhuaweicloud.com";
/// `AssumeAgencyWithOIDC`.
pub(crate) const ASSUME_WITH_OIDC_PATH: &str = "/v5/agencies/assume-with-oidc";
/// The Python SDK's default session name.
pub(crate) const DEFAULT_SESSION_NAME: &str = "oidc-sts-session";
/// The lifetime the Python SDK asks STS for by default (1 h).
pub(crate) const STS_DURATION_SECONDS: u64 = 3600;
/// The durations STS accepts: 15 min to 12 h (the agency may allow less).
pub(crate) const STS_DURATIONS: std::ops::RangeInclusive<u64> = 900..=43200;
/// Renewal starts at most this long before expiry (the Go SDK renews with
/// 60 s left, the Python SDK with 40 min of 6 h; 10 min leaves room for a
/// slow IAM and for clock skew without renewing needlessly often).
pub(crate) const MAX_MARGIN: Duration = Duration::from_secs(10 * 60);
/// The largest ID token file read: a JWT is a few KiB.
const MAX_TOKEN_FILE: u64 = 64 * 1024;
/// The largest IAM answer read.
const MAX_ANSWER: usize = 1024 * 1024;

/// Where and how to exchange an ID token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdpConfig {
    /// The IAM identity provider id (`X-Idp-Id`); with `agency`, the
    /// identity provider's URN.
    pub(crate) idp_id: String,
    /// The file holding the ID token; read at every exchange.
    pub(crate) token_file: PathBuf,
    /// IAM's base URL, without a trailing `/`; with `agency`, STS's.
    pub(crate) iam_endpoint: String,
    /// `Some`: exchange with STS `AssumeAgencyWithOIDC` for this agency
    /// instead of IAM's two steps.
    pub(crate) agency: Option<AgencyConfig>,
}

/// What `AssumeAgencyWithOIDC` asks for, besides the provider and token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgencyConfig {
    /// The trust agency's URN.
    pub(crate) agency_urn: String,
    /// The session name (shown in the account's audit trail).
    pub(crate) session_name: String,
    /// The lifetime asked for, within [`STS_DURATIONS`].
    pub(crate) duration_seconds: u64,
    /// A session policy, JSON text sent as the JSON it holds.
    pub(crate) policy: Option<String>,
    /// Identity policy ids.
    pub(crate) policy_ids: Vec<String>,
}

impl IdpConfig {
    /// The variable that named the token file, for messages.
    pub(crate) fn token_variable(&self) -> &'static str {
        if self.agency.is_some() {
            ENV_OIDC_TOKEN_FILE
        } else {
            ENV_ID_TOKEN_FILE
        }
    }
}

/// Temporary credentials from one exchange.
#[derive(Debug, Clone)]
pub(crate) struct Temporary {
    /// AK/SK with the security token.
    pub(crate) credentials: Credentials,
    /// When IAM says they expire.
    pub(crate) expires_at: jiff::Timestamp,
    /// When they were obtained (the local clock), for the renewal margin.
    pub(crate) obtained_at: jiff::Timestamp,
    /// The ID token and the unscoped IAM token used: secrets too.
    pub(crate) id_token: Secret,
    pub(crate) iam_token: Secret,
}

impl Temporary {
    /// Every secret value of this exchange, for redaction.
    pub(crate) fn secrets(&self) -> Vec<&str> {
        let mut all = self.credentials.redacted_values();
        all.push(self.id_token.expose());
        all.push(self.iam_token.expose());
        all.retain(|s| !s.is_empty());
        all
    }
}

/// Whether credentials obtained at `obtained_at` and expiring at
/// `expires_at` should be renewed at `now`: when less than a fifth of their
/// lifetime (at most [`MAX_MARGIN`]) is left, so a 6 h credential is
/// renewed 10 min early and a 2 s one (the simulator's) 0.4 s early.
pub(crate) fn renew_due(
    obtained_at: jiff::Timestamp,
    expires_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> bool {
    let lifetime = expires_at.duration_since(obtained_at);
    let margin = (lifetime / 5)
        .min(jiff::SignedDuration::try_from(MAX_MARGIN).unwrap_or(jiff::SignedDuration::ZERO))
        .max(jiff::SignedDuration::ZERO);
    expires_at.duration_since(now) <= margin
}

/// Why an exchange failed. Every message names the IdP and, where it
/// matters, the token file, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// The token file cannot be read, or holds no token.
    #[error(
        "cannot read the ID token file {path} (from {variable}) for identity provider `{idp_id}`: {reason}; write the CI platform's OIDC ID token into it (on GitHub, with `permissions: id-token: write`)"
    )]
    TokenFile {
        path: String,
        variable: &'static str,
        idp_id: String,
        reason: String,
    },
    /// IAM refused (4xx): final, never retried.
    #[error("{0}")]
    Refused(Box<Refusal>),
    /// A 5xx, a timeout or a broken connection: may pass on a later try.
    #[error(
        "IAM at {endpoint} did not complete the {step} for identity provider `{idp_id}`: {message}"
    )]
    Unavailable {
        endpoint: String,
        step: &'static str,
        idp_id: String,
        /// `None` when no answer came.
        status: Option<u16>,
        message: String,
    },
    /// An answer without what the flow needs (no `X-Subject-Token`, no
    /// `credential`, an unreadable expiry, a redirect): never used.
    #[error(
        "IAM at {endpoint} answered the {step} for identity provider `{idp_id}` without usable credentials: {message}; check that {ENV_IAM_ENDPOINT} points at IAM"
    )]
    Malformed {
        endpoint: String,
        step: &'static str,
        idp_id: String,
        status: u16,
        message: String,
    },
}

/// IAM's refusal of one step of the exchange.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "IAM at {endpoint} refused the {step} for identity provider `{idp_id}` (token file {path}): HTTP {status}{}: {message}; check that the ID token in the file is current and that its issuer and audience match the identity provider's configuration (and its mapping rules grant a user)",
    code.as_ref().map(|c| format!(" {c}")).unwrap_or_default()
)]
pub struct Refusal {
    pub(crate) endpoint: String,
    pub(crate) step: &'static str,
    pub(crate) idp_id: String,
    pub(crate) path: String,
    pub(crate) status: u16,
    pub(crate) code: Option<String>,
    pub(crate) message: String,
}

impl ExchangeError {
    /// Whether a later attempt may succeed (only a server-side failure).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// The HTTP status IAM answered with, if it answered.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Self::TokenFile { .. } => None,
            Self::Refused(refusal) => Some(refusal.status),
            Self::Unavailable { status, .. } => *status,
            Self::Malformed { status, .. } => Some(*status),
        }
    }

    /// IAM's error code, if it gave one.
    pub(crate) fn code(&self) -> Option<&str> {
        match self {
            Self::Refused(refusal) => refusal.code.as_deref(),
            _ => None,
        }
    }
}

/// Reads the ID token: trimmed, non-empty, header-safe, small.
pub(crate) fn read_token_file(config: &IdpConfig) -> Result<Secret, ExchangeError> {
    use std::io::Read;
    let error = |reason: String| ExchangeError::TokenFile {
        path: config.token_file.display().to_string(),
        variable: config.token_variable(),
        idp_id: config.idp_id.clone(),
        reason,
    };
    let file = std::fs::File::open(&config.token_file).map_err(|e| error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(error(
            "it is larger than 64 KiB, far more than an ID token".into(),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| error("it is not UTF-8 text".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(error("it is empty".into()));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(error(
            "it holds characters no ID token has (only visible ASCII)".into(),
        ));
    }
    if let Some(expired) = jwt_expired_at(token, jiff::Timestamp::now()) {
        return Err(error(format!(
            "the ID token in it expired at {expired}; the CI platform must write a fresh one (GitHub ID tokens last a few minutes: fetch it right before the run)"
        )));
    }
    Ok(Secret::new(token))
}

/// The `exp` of a JWT if it is already past at `now`. A token that is not
/// a readable JWT is left to IAM to judge.
pub(crate) fn jwt_expired_at(token: &str, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = jiff::Timestamp::from_second(claims.get("exp")?.as_i64()?).ok()?;
    (exp <= now).then_some(exp)
}

/// Runs both steps of the exchange with `http` (the client every other
/// request uses: same proxy, TLS and no-redirect rules).
pub(crate) async fn exchange(
    http: &reqwest::Client,
    config: &IdpConfig,
) -> Result<Temporary, ExchangeError> {
    let id_token = read_token_file(config)?;
    if let Some(agency) = &config.agency {
        return assume_agency(http, config, agency, id_token).await;
    }
    let step1 = "exchange of the ID token for an IAM token";
    let (status, headers, body) = post(
        http,
        config,
        step1,
        ID_TOKEN_PATH,
        Some(&config.idp_id),
        &json!({"auth": {"id_token": {"id": id_token.expose()}}}),
        &[id_token.expose()],
    )
    .await?;
    let iam_token = headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(Secret::new)
        .ok_or_else(|| malformed(config, step1, status, "no X-Subject-Token header", &body))?;
    let step2 = "request for temporary credentials";
    let (status, _, body) = post(
        http,
        config,
        step2,
        SECURITY_TOKENS_PATH,
        None,
        &json!({"auth": {"identity": {"methods": ["token"], "token": {
            "id": iam_token.expose(), "duration_seconds": DURATION_SECONDS}}}}),
        &[id_token.expose(), iam_token.expose()],
    )
    .await?;
    let obtained_at = jiff::Timestamp::now();
    let (credentials, expires_at) =
        parse_credential(&body).map_err(|why| malformed(config, step2, status, why, &body))?;
    if expires_at <= obtained_at {
        return Err(malformed(
            config,
            step2,
            status,
            "the credentials it issued have already expired (or this machine's clock is wrong)",
            &body,
        ));
    }
    Ok(Temporary {
        credentials,
        expires_at,
        obtained_at,
        id_token,
        iam_token,
    })
}

/// `AssumeAgencyWithOIDC`: one unsigned request, the body the Python SDK's
/// `OidcStsAccessor` sends.
async fn assume_agency(
    http: &reqwest::Client,
    config: &IdpConfig,
    agency: &AgencyConfig,
    id_token: Secret,
) -> Result<Temporary, ExchangeError> {
    let step = "AssumeAgencyWithOIDC request for temporary credentials";
    let (status, _, answer) = post(
        http,
        config,
        step,
        ASSUME_WITH_OIDC_PATH,
        None,
        &assume_agency_body(&config.idp_id, agency, id_token.expose()),
        &[id_token.expose()],
    )
    .await?;
    let obtained_at = jiff::Timestamp::now();
    let (credentials, expires_at) =
        parse_credential(&answer).map_err(|why| malformed(config, step, status, why, &answer))?;
    if expires_at <= obtained_at {
        return Err(malformed(
            config,
            step,
            status,
            "the credentials it issued have already expired (or this machine's clock is wrong)",
            &answer,
        ));
    }
    Ok(Temporary {
        credentials,
        expires_at,
        obtained_at,
        id_token,
        // No IAM token in this flow; the empty value is never sent or shown.
        iam_token: Secret::new(""),
    })
}

/// The body of `AssumeAgencyWithOIDC`, field for field the Python SDK's:
/// `policy` and `policy_ids` only when given.
pub(crate) fn assume_agency_body(
    provider_urn: &str,
    agency: &AgencyConfig,
    id_token: &str,
) -> Value {
    let mut body = json!({
        "provider_urn": provider_urn,
        "agency_urn": agency.agency_urn,
        "agency_session_name": agency.session_name,
        "id_token": id_token,
        "duration_seconds": agency.duration_seconds,
    });
    if let Some(policy) = &agency.policy {
        body["policy"] = Value::String(policy.clone());
    }
    if !agency.policy_ids.is_empty() {
        body["policy_ids"] = json!(agency.policy_ids);
    }
    body
}

/// Reads temporary credentials: `credential.{access, secret,
/// securitytoken, expires_at}` (IAM) or `credentials.{access_key_id,
/// secret_access_key, security_token, expiration}` (STS), every one
/// required, under the names the official Python SDK accepts.
pub(crate) fn parse_credential(
    body: &[u8],
) -> Result<(Credentials, jiff::Timestamp), &'static str> {
    let json: Value = serde_json::from_slice(body).map_err(|_| "the answer is not JSON")?;
    let credential = json
        .get("credential")
        .or_else(|| json.get("credentials"))
        .ok_or("the answer has no `credential`")?;
    // Each field under any of its names; two that disagree are refused.
    let field = |names: &[&str]| -> Result<Option<&str>, ()> {
        let mut found: Option<&str> = None;
        for name in names {
            let Some(value) = credential.get(*name) else {
                continue;
            };
            let value = value
                .as_str()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or(())?;
            if found.is_some_and(|f| f != value) {
                return Err(());
            }
            found = Some(value);
        }
        Ok(found)
    };
    let required = |names: &[&str], why: &'static str| field(names).ok().flatten().ok_or(why);
    let access = required(
        &["access", "accessKeyId", "access_key_id"],
        "`credential.access` is missing or not text",
    )?;
    let secret = required(
        &["secret", "secretAccessKey", "secret_access_key"],
        "`credential.secret` is missing or not text",
    )?;
    let token = required(
        &["securitytoken", "securityToken", "security_token"],
        "`credential.securitytoken` is missing or not text",
    )?;
    let expires_at: jiff::Timestamp = required(
        &["expires_at", "expiration"],
        "`credential.expires_at` is missing",
    )?
    .parse()
    .map_err(|_| "`credential.expires_at` is not an RFC 3339 time")?;
    Ok((
        Credentials::AkSk {
            access_key: access.to_owned(),
            secret_key: Secret::new(secret),
            security_token: Some(Secret::new(token)),
        },
        expires_at,
    ))
}

fn malformed(
    config: &IdpConfig,
    step: &'static str,
    status: u16,
    why: &str,
    body: &[u8],
) -> ExchangeError {
    let _ = body; // Never shown: it may hold the very credentials.
    ExchangeError::Malformed {
        endpoint: config.iam_endpoint.clone(),
        step,
        idp_id: config.idp_id.clone(),
        status,
        message: format!("HTTP {status}: {why}"),
    }
}

async fn post(
    http: &reqwest::Client,
    config: &IdpConfig,
    step: &'static str,
    path: &str,
    idp_id: Option<&str>,
    body: &Value,
    secrets: &[&str],
) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes), ExchangeError> {
    let unavailable = |status: Option<u16>, message: String| ExchangeError::Unavailable {
        endpoint: config.iam_endpoint.clone(),
        step,
        idp_id: config.idp_id.clone(),
        status,
        message,
    };
    let mut request = http
        .post(format!("{}{path}", config.iam_endpoint))
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(body.to_string());
    if let Some(idp_id) = idp_id {
        request = request.header("X-Idp-Id", idp_id);
    }
    let mut response = request.send().await.map_err(|e| {
        unavailable(
            None,
            if e.is_timeout() {
                "no answer in time".to_owned()
            } else {
                format!("cannot connect ({e})")
            },
        )
    })?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        return Err(malformed(
            config,
            step,
            status,
            "a redirect, which jobgate never follows (the token must not reach another host)",
            b"",
        ));
    }
    let headers = response.headers().clone();
    let mut answer = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(Some(status), format!("the answer was cut off ({e})")))?
    {
        if answer.len() + chunk.len() > MAX_ANSWER {
            return Err(malformed(config, step, status, "an answer over 1 MiB", b""));
        }
        answer.extend_from_slice(&chunk);
    }
    let answer = answer.freeze();
    match status {
        200 | 201 => Ok((status, headers, answer)),
        500..=599 | 408 | 429 => Err(unavailable(Some(status), iam_error(&answer, secrets).1)),
        _ if (400..500).contains(&status) => {
            let (code, message) = iam_error(&answer, secrets);
            Err(ExchangeError::Refused(Box::new(Refusal {
                endpoint: config.iam_endpoint.clone(),
                step,
                idp_id: config.idp_id.clone(),
                path: config.token_file.display().to_string(),
                status,
                code,
                message,
            })))
        }
        _ => Err(malformed(config, step, status, "an unexpected status", b"")),
    }
}

/// IAM's error code and message, in either of the shapes it uses
/// (`{"error":{"code","message"}}` or the gateway's
/// `{"error_code","error_msg"}`), shortened and printable, with the
/// tokens the request carried masked (IAM, or a proxy, may echo them).
fn iam_error(body: &[u8], secrets: &[&str]) -> (Option<String>, String) {
    let mask = |mut text: String| {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret, crate::redact::MASK);
        }
        text
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let text = |v: Option<&Value>| {
        v.and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|s| {
            s.chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect::<String>()
        })
    };
    let Some(json) = json else {
        return (None, "no error details".to_owned());
    };
    let error = json.get("error");
    // Masked before shortening, so a token cut in half is masked too.
    let text = |v: Option<&Value>| {
        v.and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|s| text(Some(&Value::String(mask(s)))).unwrap_or_default())
    };
    let code = text(json.get("error_code")).or_else(|| text(error.and_then(|e| e.get("code"))));
    let message = text(json.get("error_msg"))
        .or_else(|| text(error.and_then(|e| e.get("message"))))
        .unwrap_or_else(|| "no error message".to_owned());
    (code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
