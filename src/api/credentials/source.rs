//! Where credentials come from: fixed values, or a CI platform's OIDC ID
//! token exchanged for temporary ones (IAM or STS `AssumeAgencyWithOIDC`).

use super::{Credentials, CredentialsError, header_safe, trimmed};
use crate::api::federation::{
    AgencyConfig, DEFAULT_IAM_ENDPOINT, DEFAULT_SESSION_NAME, DEFAULT_STS_ENDPOINT,
    ENV_IAM_ENDPOINT, ENV_ID_TOKEN_FILE, ENV_IDP_ID, ENV_OIDC_AGENCY_URN,
    ENV_OIDC_DURATION_SECONDS, ENV_OIDC_ID_TOKEN, ENV_OIDC_POLICY, ENV_OIDC_POLICY_IDS,
    ENV_OIDC_PROVIDER_URN, ENV_OIDC_SESSION_NAME, ENV_OIDC_TOKEN_FILE, ENV_STS_ENDPOINT, IdpConfig,
    STS_DURATION_SECONDS, STS_DURATIONS,
};

/// Where the credentials come from: fixed values, or an identity provider
/// whose ID token is exchanged for temporary credentials (see
/// [`crate::api::federation`]).
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
        let text = |name: &str| trimmed(lookup(name).and_then(|v| v.into_string().ok()));
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
                header_safe(ENV_IDP_ID, &idp_id)?;
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
