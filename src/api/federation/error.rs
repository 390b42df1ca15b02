//! Why an exchange failed, each message naming the identity provider and
//! the token file, never a token.

use super::ENV_IAM_ENDPOINT;

/// Why an exchange failed. Every message names the IdP and, where it
/// matters, the token file, never a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExchangeError {
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
pub(crate) struct Refusal {
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
