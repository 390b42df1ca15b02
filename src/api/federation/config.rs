//! Where and how to exchange: the variables of the official SDKs, the
//! endpoints and paths of IAM and STS, the durations and limits.

use std::path::PathBuf;
use std::time::Duration;

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
pub(super) const MAX_TOKEN_FILE: u64 = 64 * 1024;
/// The largest IAM answer read.
pub(super) const MAX_ANSWER: usize = 1024 * 1024;

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
