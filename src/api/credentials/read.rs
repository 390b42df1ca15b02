//! Static credentials from the environment: an AK/SK pair (with its
//! security token) or an IAM token, checked before anything is sent.

use super::env::{ENV_AK, ENV_AUTH_TOKEN, ENV_SECURITY_TOKEN, FAMILIES, Family};
use super::{Credentials, CredentialsError, Secret, header_safe, trimmed};

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
        let read = |name: &str| trimmed(lookup(name));
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
}
