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
//! platforms rewrite it with a fresh token.//!
//! `config` holds the variables, endpoints and paths, `token` reads the ID
//! token file, `http` sends one step and sorts its failures, `answer` reads
//! the credentials issued, `sts` is the `AssumeAgencyWithOIDC` mode.

use serde_json::json;

use super::credentials::{Credentials, Secret};

mod answer;
mod config;
mod error;
mod http;
mod sts;
#[cfg(test)]
mod tests;
mod token;

use answer::issued;
pub(crate) use config::*;
pub(crate) use error::{ExchangeError, Refusal};
use http::{malformed, post};
use sts::assume_agency;
pub(crate) use token::read_token_file;

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
    issued(config, step2, status, &body, id_token, iam_token)
}
