//! Errors that end a command before any wait has an outcome, each with the
//! exit code it maps to. Outcomes of waits are not errors: they are the
//! report, and the exit code comes from [`crate::report::RunReport`].

use crate::api::credentials::CredentialsError;
use crate::api::endpoints::EndpointError;
use crate::api::federation::ExchangeError;
use crate::exit;
use crate::spec::SpecErrors;

/// A command-level failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The spec is invalid; rendered with its diagnostics.
    #[error("the spec is invalid")]
    Spec(Box<SpecErrors>),
    /// The spec file could not be read.
    #[error("cannot read the spec {path}: {source}")]
    ReadSpec {
        path: String,
        source: std::io::Error,
    },
    /// `eval`'s saved response could not be read.
    #[error("cannot read the response {path}: {source}")]
    ReadResponse {
        path: String,
        source: std::io::Error,
    },
    /// A command-line value is wrong.
    #[error("{0}")]
    Usage(String),
    /// No usable credentials.
    #[error("{0}")]
    Credentials(#[from] CredentialsError),
    /// The ID token could not be exchanged for temporary credentials.
    #[error("{0}")]
    Exchange(#[from] ExchangeError),
    /// The endpoints cannot be resolved.
    #[error("{0}")]
    Endpoint(#[from] EndpointError),
    /// A report file (or a saved response) could not be written.
    #[error("cannot write {path}: {source}")]
    WriteReport {
        path: String,
        source: std::io::Error,
    },
    /// A file the GitHub runner named could not be written; the source
    /// names the variable and the file.
    #[error(
        "cannot write the GitHub Actions outputs: {0} (the runner sets these \
         variables to files it can write; outside a runner, unset them)"
    )]
    WriteGithub(std::io::Error),
    /// The simulator failed.
    #[error("simulator: {0}")]
    Simulator(String),
    /// jobgate itself cannot go on: the async runtime or the HTTP client
    /// cannot start, a report cannot be serialised. Nothing a user wrote
    /// causes it (certificates and endpoints are checked before), so it is
    /// an internal error (exit 70), not an unreachable API.
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// The documented exit code of this error.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Error::Spec(_)
            | Error::ReadSpec { .. }
            | Error::ReadResponse { .. }
            | Error::Usage(_)
            | Error::Endpoint(_) => exit::INVALID_INPUT,
            Error::Credentials(_) => exit::AUTH,
            // IAM down or unreachable is no verdict on the credentials.
            Error::Exchange(e) if e.is_transient() => exit::API_UNAVAILABLE,
            Error::Exchange(_) => exit::AUTH,
            // No code of its own: documented with exit 5 in the README's
            // table and docs/REPORTS.md.
            Error::WriteReport { .. } | Error::WriteGithub(_) => exit::API_UNAVAILABLE,
            Error::Simulator(_) => exit::API_UNAVAILABLE,
            Error::Internal(_) => exit::INTERNAL,
        }
    }
}

impl From<SpecErrors> for Error {
    fn from(e: SpecErrors) -> Self {
        Error::Spec(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_table() {
        assert_eq!(Error::Usage("x".into()).code(), exit::INVALID_INPUT);
        assert_eq!(
            Error::Credentials(CredentialsError::Missing).code(),
            exit::AUTH
        );
        assert_eq!(
            Error::Endpoint(EndpointError::NotUrl("x".into())).code(),
            exit::INVALID_INPUT
        );
    }

    /// A tool that cannot start its own machinery has failed, not the API:
    /// exit 70 as README's table has it, never 5.
    #[test]
    fn an_internal_fault_is_exit_70() {
        let error = Error::Internal("cannot start the async runtime: no threads".into());
        assert_eq!(error.code(), exit::INTERNAL);
    }
}
