//! Credentials from the environment, under the same variable names as the
//! official Huawei Cloud SDKs, so existing CI secrets work unchanged.
//!
//! Two modes: AK/SK request signing (optionally with the security token of
//! temporary credentials) or an IAM token sent as `X-Auth-Token`. Secret
//! values live in [`Secret`], which never prints its content.

use std::fmt;

use super::federation::{
    AgencyConfig, DEFAULT_IAM_ENDPOINT, DEFAULT_SESSION_NAME, DEFAULT_STS_ENDPOINT,
    ENV_IAM_ENDPOINT, ENV_ID_TOKEN_FILE, ENV_IDP_ID, ENV_OIDC_AGENCY_URN,
    ENV_OIDC_DURATION_SECONDS, ENV_OIDC_ID_TOKEN, ENV_OIDC_POLICY, ENV_OIDC_POLICY_IDS,
    ENV_OIDC_PROVIDER_URN, ENV_OIDC_SESSION_NAME, ENV_OIDC_TOKEN_FILE, ENV_STS_ENDPOINT, IdpConfig,
    STS_DURATION_SECONDS, STS_DURATIONS,
};
use super::signer::{self, SigningRequest};

/// Access key ID (AK), as read by the official SDKs.
pub(crate) const ENV_AK: &str = "HUAWEICLOUD_SDK_AK";
/// Secret access key (SK), as read by the official SDKs.
pub(crate) const ENV_SK: &str = "HUAWEICLOUD_SDK_SK";
/// Security token of temporary AK/SK credentials, as read by the official SDKs.
pub(crate) const ENV_SECURITY_TOKEN: &str = "HUAWEICLOUD_SDK_SECURITY_TOKEN";
/// An IAM token, used when no AK/SK pair is configured.
pub(crate) const ENV_AUTH_TOKEN: &str = "JOBGATE_AUTH_TOKEN";

/// One tool's names for an AK/SK pair (and its security token). Read in
/// this order; the first family with either half set is the one used, as a
/// whole, so a pair is never half from one tool and half from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    pub(crate) ak: &'static str,
    pub(crate) sk: &'static str,
    pub(crate) security_token: Option<&'static str>,
}

/// The official SDKs' names, then `huaweicloud/auth-action`'s, then the
/// Terraform provider's.
pub(crate) const FAMILIES: [Family; 3] = [
    Family {
        ak: ENV_AK,
        sk: ENV_SK,
        security_token: Some(ENV_SECURITY_TOKEN),
    },
    Family {
        ak: "HUAWEI_CLOUD_ACCESS_KEY_ID",
        sk: "HUAWEI_CLOUD_SECRET_ACCESS_KEY",
        security_token: None,
    },
    Family {
        ak: "HW_ACCESS_KEY",
        sk: "HW_SECRET_KEY",
        security_token: Some("HW_SECURITY_TOKEN"),
    },
];

/// Project id variables, highest precedence first (the same three tools).
pub(crate) const PROJECT_ID_VARS: [&str; 3] = [
    "HUAWEICLOUD_SDK_PROJECT_ID",
    "HUAWEI_CLOUD_PROJECT_ID",
    "HW_PROJECT_ID",
];

/// Region variables of the same tools (the spec may reference any of them).
pub(crate) const REGION_VARS: [&str; 3] = [
    "HUAWEICLOUD_SDK_REGION",
    "HUAWEI_CLOUD_REGION",
    "HW_REGION_NAME",
];

/// A secret value. `Debug` and `Display` print `***`, so it cannot leak into
/// output, logs, reports or error messages by accident; [`Secret::expose`]
/// is the one way to read it and belongs only where it goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

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
pub enum Credentials {
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

/// Why credentials could not be read from the environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
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

impl Credentials {
    /// Like [`Credentials::from_lookup`], over raw environment values. A
    /// variable that is set but not UTF-8 is an error naming it, not "no
    /// credentials": it is set, so the user meant it, and the fix is its
    /// value.
    pub(crate) fn from_os_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, CredentialsError> {
        let names = FAMILIES
            .iter()
            .flat_map(|f| [Some(f.ak), Some(f.sk), f.security_token])
            .flatten()
            .chain([ENV_AUTH_TOKEN]);
        for var in names {
            if lookup(var).is_some_and(|v| v.to_str().is_none()) {
                return Err(CredentialsError::NotUnicode { var });
            }
        }
        Self::from_lookup(|name| lookup(name).and_then(|v| v.into_string().ok()))
    }

    /// Reads credentials through `lookup` (the environment, or a map in tests).
    ///
    /// A complete AK/SK pair wins over `JOBGATE_AUTH_TOKEN`. Values are
    /// trimmed, because a trailing newline from `$(cat file)` would otherwise
    /// produce failing signatures, and the gateway locks an access key after
    /// five of those; empty values count as unset.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, CredentialsError> {
        let read = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let family = FAMILIES
            .iter()
            .find(|f| read(f.ak).is_some() || read(f.sk).is_some())
            .unwrap_or(&FAMILIES[0]);
        let ak = read(family.ak);
        let sk = read(family.sk);
        let security_token = family.security_token.and_then(read);
        let token = read(ENV_AUTH_TOKEN);
        // A security token of the SDK's names without any AK/SK is an error,
        // whichever family was looked at.
        let security_token = security_token.or_else(|| {
            (family.ak == ENV_AK)
                .then(|| read(ENV_SECURITY_TOKEN))
                .flatten()
        });

        let credentials = match (ak, sk) {
            (Some(access_key), Some(secret_key)) => Self::AkSk {
                access_key,
                secret_key: Secret(secret_key),
                security_token: security_token.map(Secret),
            },
            (Some(_), None) => {
                return Err(CredentialsError::IncompleteAkSk {
                    present: family.ak,
                    missing: family.sk,
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::IncompleteAkSk {
                    present: family.sk,
                    missing: family.ak,
                });
            }
            (None, None) => match (token, security_token) {
                (Some(token), _) => Self::Token(Secret(token)),
                (None, Some(_)) => return Err(CredentialsError::OrphanSecurityToken),
                (None, None) => return Err(CredentialsError::Missing),
            },
        };
        credentials.validate(family)?;
        Ok(credentials)
    }

    /// Rejects values that would make the HTTP client fail to build the
    /// request (or worse, be sent mangled) later on.
    fn validate(&self, family: &Family) -> Result<(), CredentialsError> {
        let header_safe = |var: &'static str, value: &str| {
            if value.bytes().all(|b| b.is_ascii_graphic()) {
                Ok(())
            } else {
                Err(CredentialsError::InvalidValue { var })
            }
        };
        match self {
            Self::AkSk {
                access_key,
                security_token,
                ..
            } => {
                header_safe(family.ak, access_key)?;
                if let Some(token) = security_token {
                    header_safe(
                        family.security_token.unwrap_or(ENV_SECURITY_TOKEN),
                        token.expose(),
                    )?;
                }
                Ok(())
            }
            Self::Token(token) => header_safe(ENV_AUTH_TOKEN, token.expose()),
        }
    }

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

    /// The headers to send with a bodiless request (every jobgate request is
    /// a GET), authentication included.
    ///
    /// `host` must be exactly the `Host` header the HTTP client sends, port
    /// included when it is not the scheme's default (see [`host_header`]).
    /// `Host` is signed but not returned: the HTTP client sets it itself.
    /// `query` is unencoded; send it encoded as [`signer::canonical_query`]
    /// does, so the gateway decodes exactly the pairs that were signed.
    ///
    /// With AK/SK this signs `Content-Type`, `Host`, `X-Project-Id`,
    /// `X-Sdk-Date` and `X-Security-Token`, the headers the official SDK
    /// signs for a GET except `User-Agent`, which proxies may rewrite and
    /// which the gateway does not require to be signed.
    pub(crate) fn apply(
        &self,
        method: &str,
        host: &str,
        path: &str,
        query: &[(String, String)],
        now: jiff::Timestamp,
        project_id: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        if let Some(project_id) = project_id {
            headers.push(("X-Project-Id".to_owned(), project_id.to_owned()));
        }
        match self {
            Self::Token(token) => {
                headers.push(("X-Auth-Token".to_owned(), token.expose().to_owned()));
            }
            Self::AkSk {
                access_key,
                secret_key,
                security_token,
            } => {
                if let Some(security_token) = security_token {
                    headers.push((
                        "X-Security-Token".to_owned(),
                        security_token.expose().to_owned(),
                    ));
                }
                headers.push((signer::HEADER_SDK_DATE.to_owned(), signer::sdk_date(now)));
                headers.push(("Host".to_owned(), host.to_owned()));
                let authorization = signer::authorization(
                    &SigningRequest {
                        method,
                        path,
                        query,
                        headers: &headers,
                        body: b"",
                    },
                    access_key,
                    secret_key.expose(),
                );
                headers.pop(); // Host: the HTTP client sends it.
                headers.push(("Authorization".to_owned(), authorization));
            }
        }
        headers
    }
}

/// Where the credentials come from: fixed values, or an identity provider
/// whose ID token is exchanged for temporary credentials (see
/// [`super::federation`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Static(Credentials),
    Idp(IdpConfig),
}

impl Source {
    /// Reads the environment. As in the official SDKs, a complete
    /// identity-provider pair (`HUAWEICLOUD_SDK_IDP_ID` and
    /// `HUAWEICLOUD_SDK_ID_TOKEN_FILE`) wins over an access key.
    pub(crate) fn from_env() -> Result<Self, CredentialsError> {
        Self::from_os_lookup(|name| std::env::var_os(name))
    }

    /// Like [`Source::from_env`], over any lookup (a map in tests).
    pub(crate) fn from_os_lookup(
        lookup: impl Fn(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Self, CredentialsError> {
        for var in [
            ENV_IDP_ID,
            ENV_IAM_ENDPOINT,
            ENV_OIDC_PROVIDER_URN,
            ENV_OIDC_AGENCY_URN,
            ENV_OIDC_SESSION_NAME,
            ENV_OIDC_DURATION_SECONDS,
            ENV_OIDC_POLICY,
            ENV_OIDC_POLICY_IDS,
            ENV_STS_ENDPOINT,
        ] {
            if lookup(var).is_some_and(|v| v.to_str().is_none()) {
                return Err(CredentialsError::NotUnicode { var });
            }
        }
        let text = |name: &str| {
            lookup(name)
                .and_then(|v| v.into_string().ok())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let idp_id = text(ENV_IDP_ID);
        // A path need not be UTF-8.
        let token_file = lookup(ENV_ID_TOKEN_FILE).filter(|v| !v.is_empty());
        if let Some(provider_urn) = text(ENV_OIDC_PROVIDER_URN) {
            if idp_id.is_some() || token_file.is_some() {
                return Err(CredentialsError::TwoKeylessModes);
            }
            return agency_source(provider_urn, &lookup, &text).map(Self::Idp);
        }
        if text(ENV_OIDC_AGENCY_URN).is_some() {
            return Err(CredentialsError::IncompleteIdp {
                present: ENV_OIDC_AGENCY_URN,
                missing: ENV_OIDC_PROVIDER_URN,
            });
        }
        match (idp_id, token_file) {
            (Some(idp_id), Some(token_file)) => {
                if !idp_id.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(CredentialsError::InvalidValue { var: ENV_IDP_ID });
                }
                let iam_endpoint = text(ENV_IAM_ENDPOINT)
                    .unwrap_or_else(|| DEFAULT_IAM_ENDPOINT.to_owned())
                    .trim_end_matches('/')
                    .to_owned();
                Ok(Self::Idp(IdpConfig {
                    idp_id,
                    token_file: token_file.into(),
                    iam_endpoint,
                    agency: None,
                }))
            }
            (Some(_), None) => Err(CredentialsError::IncompleteIdp {
                present: ENV_IDP_ID,
                missing: ENV_ID_TOKEN_FILE,
            }),
            (None, Some(_)) => Err(CredentialsError::IncompleteIdp {
                present: ENV_ID_TOKEN_FILE,
                missing: ENV_IDP_ID,
            }),
            (None, None) => Credentials::from_os_lookup(lookup).map(Self::Static),
        }
    }

    /// A short, secret-free description for `plan` and reports.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Static(credentials) => credentials.describe().to_owned(),
            Self::Idp(config) if config.agency.is_some() => format!(
                "temporary AK/SK of agency `{}` from identity provider `{}` (STS AssumeAgencyWithOIDC, ID token file {}, STS {})",
                config.agency.as_ref().map_or("", |a| a.agency_urn.as_str()),
                config.idp_id,
                config.token_file.display(),
                config.iam_endpoint
            ),
            Self::Idp(config) => format!(
                "temporary AK/SK from identity provider `{}` (ID token file {}, IAM {})",
                config.idp_id,
                config.token_file.display(),
                config.iam_endpoint
            ),
        }
    }
}

/// The STS `AssumeAgencyWithOIDC` mode, from the Python SDK's variables
/// (`OidcStsCredentialProvider`), every one checked before anything is sent.
fn agency_source(
    provider_urn: String,
    lookup: &impl Fn(&str) -> Option<std::ffi::OsString>,
    text: &impl Fn(&str) -> Option<String>,
) -> Result<IdpConfig, CredentialsError> {
    let header_safe = |var: &'static str, value: &str| {
        if value.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(())
        } else {
            Err(CredentialsError::InvalidValue { var })
        }
    };
    header_safe(ENV_OIDC_PROVIDER_URN, &provider_urn)?;
    let agency_urn = text(ENV_OIDC_AGENCY_URN).ok_or(CredentialsError::IncompleteIdp {
        present: ENV_OIDC_PROVIDER_URN,
        missing: ENV_OIDC_AGENCY_URN,
    })?;
    header_safe(ENV_OIDC_AGENCY_URN, &agency_urn)?;
    if lookup(ENV_OIDC_ID_TOKEN).is_some_and(|v| !v.is_empty()) {
        return Err(CredentialsError::TokenInVariable);
    }
    let token_file = lookup(ENV_OIDC_TOKEN_FILE)
        .filter(|v| !v.is_empty())
        .ok_or(CredentialsError::IncompleteIdp {
            present: ENV_OIDC_PROVIDER_URN,
            missing: ENV_OIDC_TOKEN_FILE,
        })?;
    let session_name = text(ENV_OIDC_SESSION_NAME).unwrap_or_else(|| DEFAULT_SESSION_NAME.into());
    header_safe(ENV_OIDC_SESSION_NAME, &session_name)?;
    let duration_seconds = match text(ENV_OIDC_DURATION_SECONDS) {
        None => STS_DURATION_SECONDS,
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|d| STS_DURATIONS.contains(d))
            .ok_or(CredentialsError::InvalidDuration)?,
    };
    let policy_ids = text(ENV_OIDC_POLICY_IDS)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let sts_endpoint = text(ENV_STS_ENDPOINT)
        .unwrap_or_else(|| DEFAULT_STS_ENDPOINT.to_owned())
        .trim_end_matches('/')
        .to_owned();
    Ok(IdpConfig {
        idp_id: provider_urn,
        token_file: token_file.into(),
        iam_endpoint: sts_endpoint,
        agency: Some(AgencyConfig {
            agency_urn,
            session_name,
            duration_seconds,
            policy: text(ENV_OIDC_POLICY),
            policy_ids,
        }),
    })
}

/// Warnings for sources that disagree: the same setting given twice, under
/// different names, with different values (never shown), and which one
/// wins. Empty when every duplicate agrees.
pub(crate) fn disagreements(lookup: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let read = |name: &str| {
        lookup(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let mut warnings = Vec::new();
    let mut compare = |names: &[&'static str], what: &str| {
        let set: Vec<(&str, String)> = names
            .iter()
            .filter_map(|n| read(n).map(|v| (*n, v)))
            .collect();
        if let Some((first, value)) = set.first()
            && let Some((other, _)) = set.iter().find(|(_, v)| v != value)
        {
            warnings.push(format!(
                "warning: {first} and {other} are both set, to different {what}s; using {first} \
                 (precedence: {}); unset the one you do not mean",
                names.join(", then ")
            ));
        }
    };
    compare(&FAMILIES.map(|f| f.ak), "access key");
    compare(&FAMILIES.map(|f| f.sk), "secret key");
    compare(&PROJECT_ID_VARS, "project id");
    compare(&REGION_VARS, "region");
    if read(ENV_IDP_ID).is_some()
        && read(ENV_ID_TOKEN_FILE).is_some()
        && let Some(family) = FAMILIES.iter().find(|f| read(f.ak).is_some())
    {
        warnings.push(format!(
            "warning: both {ENV_IDP_ID}/{ENV_ID_TOKEN_FILE} and {} are set; using the identity \
             provider, as the official SDKs do; unset the one you do not mean",
            family.ak
        ));
    }
    warnings
}

/// The `Host` header reqwest sends for `url`: the host, plus `:port` when
/// the URL names a port other than the scheme's default (`Url` already drops
/// default ports), e.g. `127.0.0.1:8080` or `[::1]:9000`.
pub(crate) fn host_header(url: &reqwest::Url) -> Option<String> {
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let c = Credentials::from_lookup(lookup(&[(ENV_AUTH_TOKEN, "MIItoken"), (ENV_AK, "")]))
            .unwrap();
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
        let err =
            Credentials::from_lookup(lookup(&[(ENV_AUTH_TOKEN, "abc\u{1}secret")])).unwrap_err();
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
        assert!(sign("appstream.cn-north-4.myhuaweicloud.com").ends_with(
            "Signature=ddd2c680539c036a0e61e1da5f8c6576dbca9d4f8be05b84c76e3736fb10e66c"
        ));
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
        let ok = Credentials::from_os_lookup(|name| {
            (name == ENV_AUTH_TOKEN).then(|| OsString::from("tok"))
        });
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
}
