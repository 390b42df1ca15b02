//! Credentials from the environment, under the same variable names as the
//! official Huawei Cloud SDKs, so existing CI secrets work unchanged.
//!
//! Two modes: AK/SK request signing (optionally with the security token of
//! temporary credentials) or an IAM token sent as `X-Auth-Token`. Secret
//! values live in [`Secret`], which never prints its content.
//!
//! `env` names the variables, `read` turns them into [`Credentials`] or a
//! keyless [`Source`], `headers` authenticates one request with them.

use std::fmt;

mod env;
mod error;
mod headers;
mod read;
mod source;
#[cfg(test)]
mod tests;

pub(crate) use env::{PROJECT_ID_VARS, disagreements};
pub(crate) use error::CredentialsError;
pub(crate) use headers::host_header;
pub(crate) use source::Source;

/// A secret value. `Debug` and `Display` print `***`, so it cannot leak into
/// output, logs, reports or error messages by accident; [`Secret::expose`]
/// is the one way to read it and belongs only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself: only for signing or for a request header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How jobgate authenticates to the API gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// AK/SK request signing (SDK-HMAC-SHA256).
    AkSk {
        /// Access key ID; an identifier, not a secret (the gateway echoes it).
        access_key: String,
        /// Secret access key; only ever used as the HMAC key, never sent.
        secret_key: Secret,
        /// Security token of temporary credentials, sent and signed as
        /// `X-Security-Token`.
        security_token: Option<Secret>,
    },
    /// An IAM token, sent as `X-Auth-Token`.
    Token(Secret),
}

impl Credentials {
    /// Every secret value, so output code can mask them wherever they might
    /// appear (e.g. echoed in a server's error body).
    pub(crate) fn secrets(&self) -> Vec<&str> {
        match self {
            Self::AkSk {
                secret_key,
                security_token,
                ..
            } => std::iter::once(secret_key.expose())
                .chain(security_token.as_ref().map(Secret::expose))
                .collect(),
            Self::Token(token) => vec![token.expose()],
        }
    }

    /// Every value output must never show: the secrets, and the access key
    /// too (it names the account and is half of the pair; a report has no
    /// use for it).
    pub(crate) fn redacted_values(&self) -> Vec<&str> {
        let mut values = self.secrets();
        if let Self::AkSk { access_key, .. } = self {
            values.push(access_key);
        }
        values
    }

    /// A short, secret-free description for reports and `--verbose` output.
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Self::AkSk {
                security_token: None,
                ..
            } => "AK/SK",
            Self::AkSk {
                security_token: Some(_),
                ..
            } => "AK/SK with security token",
            Self::Token(_) => "IAM token",
        }
    }
}

/// A variable's value as every reader here takes it: trimmed, because a
/// trailing newline from `$(cat file)` would otherwise produce failing
/// signatures (and the gateway locks an access key after five of those);
/// empty counts as unset.
fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Rejects a value that would make the HTTP client fail to build the
/// request (or worse, send it mangled): only visible ASCII goes in a header.
fn header_safe(var: &'static str, value: &str) -> Result<(), CredentialsError> {
    if value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(CredentialsError::InvalidValue { var })
    }
}
