//! Credentials from the environment (stand-in until the signer lands).

/// How requests are authenticated.
#[derive(Clone)]
pub enum Credentials {
    /// An IAM token sent as `X-Auth-Token`.
    Token(String),
}

/// Missing or incomplete credentials.
#[derive(Debug, thiserror::Error)]
#[error("no credentials: set HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK, or JOBGATE_AUTH_TOKEN")]
pub struct CredentialsError;

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(***)")
    }
}

impl Credentials {
    /// Headers to send.
    pub fn apply(
        &self,
        _method: &str,
        _host: &str,
        _path: &str,
        _query: &[(String, String)],
        _now: jiff::Timestamp,
        _project_id: Option<&str>,
    ) -> Vec<(String, String)> {
        match self {
            Credentials::Token(t) => vec![("X-Auth-Token".into(), t.clone())],
        }
    }
    /// Secret values for masking.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credentials::Token(t) => vec![t],
        }
    }
    /// The auth mode in words.
    pub fn describe(&self) -> &'static str {
        "IAM token"
    }
}

/// Reads credentials from the environment.
pub fn from_env() -> Result<Credentials, CredentialsError> {
    std::env::var("JOBGATE_AUTH_TOKEN").map(Credentials::Token).map_err(|_| CredentialsError)
}
