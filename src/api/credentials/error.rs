//! Why credentials could not be read: every message names the variable and
//! how to fix it, never a value.

use super::env::{ENV_AK, ENV_AUTH_TOKEN, ENV_SECURITY_TOKEN, ENV_SK};
use crate::api::federation::{
    ENV_ID_TOKEN_FILE, ENV_IDP_ID, ENV_OIDC_DURATION_SECONDS, ENV_OIDC_ID_TOKEN,
    ENV_OIDC_PROVIDER_URN, ENV_OIDC_TOKEN_FILE,
};

/// Why credentials could not be read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CredentialsError {
    /// Half an AK/SK pair: one of the two variables is set, the other is not.
    #[error(
        "{present} is set but {missing} is not: set {missing} too (AK/SK signing needs both), \
         or unset {present} to authenticate with {ENV_AUTH_TOKEN}"
    )]
    IncompleteAkSk {
        /// The variable that is set.
        present: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// A security token without the temporary AK/SK it belongs to.
    #[error(
        "{ENV_SECURITY_TOKEN} is set but {ENV_AK} and {ENV_SK} are not: a security token only \
         works with the temporary AK/SK issued with it; set {ENV_AK} and {ENV_SK} to that pair"
    )]
    OrphanSecurityToken,
    /// No credentials at all.
    #[error(
        "no credentials: set {ENV_AK} and {ENV_SK} (plus {ENV_SECURITY_TOKEN} for temporary \
         credentials) to sign requests with an access key, set {ENV_IDP_ID} and \
         {ENV_ID_TOKEN_FILE} to exchange a CI platform's OIDC ID token (no stored secret), or set \
         {ENV_AUTH_TOKEN} to an IAM token"
    )]
    Missing,
    /// A value that is not valid UTF-8 (a binary file read into it, or a
    /// wrong encoding).
    #[error(
        "{var} is set but is not valid UTF-8 text: check that it holds the credential itself, \
         copied completely (not a file's binary content or another encoding)"
    )]
    NotUnicode {
        /// The variable with the bad value (its value is never shown).
        var: &'static str,
    },
    /// Half of the identity-provider pair.
    #[error(
        "{present} is set but {missing} is not: keyless authentication needs both \
         (the identity provider, and the file holding the OIDC ID token or, for STS, the \
         agency); set {missing}, \
         or unset {present} to use an access key"
    )]
    IncompleteIdp {
        /// The variable that is set.
        present: &'static str,
        /// The variable that is missing.
        missing: &'static str,
    },
    /// Both keyless modes configured: which one is meant is not said.
    #[error(
        "both keyless modes are configured: {ENV_IDP_ID} (identity provider) and \
         {ENV_OIDC_PROVIDER_URN} (STS AssumeAgencyWithOIDC); unset the variables of the one \
         you do not use"
    )]
    TwoKeylessModes,
    /// The ID token given as a variable's value, which jobgate does not read.
    #[error(
        "{ENV_OIDC_ID_TOKEN} holds an ID token itself, which jobgate does not read: a value in \
         a variable cannot be renewed during a long wait and is easily logged; write the token \
         into a file, set {ENV_OIDC_TOKEN_FILE} to its path and unset {ENV_OIDC_ID_TOKEN}"
    )]
    TokenInVariable,
    /// `HUAWEICLOUD_OIDC_DURATION_SECONDS` is not a duration STS accepts.
    #[error(
        "{ENV_OIDC_DURATION_SECONDS} must be a whole number of seconds from 900 to 43200 \
         (15 minutes to 12 hours, at most the agency's maximum session duration)"
    )]
    InvalidDuration,
    /// A value that cannot be sent in an HTTP header.
    #[error(
        "{var} contains characters that cannot be sent in an HTTP header (only visible ASCII \
         is allowed): check that the value was copied completely and correctly"
    )]
    InvalidValue {
        /// The variable with the bad value (its value is never shown).
        var: &'static str,
    },
}
