//! What a failed request becomes: a typed [`ApiError`] whose kind says
//! what the engine does about it.

use std::time::Duration;

use crate::api::federation::ExchangeError;

/// Why a request did not produce a usable JSON body: what the engine is to
/// do about it, and what the server said, if anything.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ApiError {
    pub(crate) kind: ErrorKind,
    /// The HTTP status; `None` when no answer came (a timeout, a failed
    /// connection, a request never sent).
    pub(crate) status: Option<u16>,
    /// The API's `error_code`.
    pub(crate) code: Option<String>,
    /// The API's `error_msg`, or what went wrong on the way.
    pub(crate) message: String,
    /// The `X-Request-Id` header, for Huawei support.
    pub(crate) request_id: Option<String>,
}

/// The kinds of failure, each with what the engine does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// 401/403: never retried (the gateway locks an access key after five
    /// signature failures in a row).
    Auth,
    /// 404: the job is not (yet) visible.
    NotFound,
    /// 429 or the gateway's throttling codes: slow down and retry, after
    /// `Retry-After` when the server sent one.
    Throttled { retry_after: Option<Duration> },
    /// Timeouts, connection failures, 5xx, malformed JSON: retried within the
    /// wait's error budget.
    Transient,
    /// Any other 4xx: the request itself is wrong; retrying cannot help.
    Rejected,
    /// An answer jobgate will not use and that retrying cannot change: a
    /// redirect (the API has none), a failed TLS handshake (an untrusted
    /// certificate), a body over [`super::MAX_BODY`]. The wait ends at once.
    Refused,
}

impl ApiError {
    /// An error of `kind` with only a message; add what the server said
    /// with [`ApiError::answered`].
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            status: None,
            code: None,
            message: message.into(),
            request_id: None,
        }
    }

    /// The same error, with the status, code and request id of the answer.
    pub(crate) fn answered(
        self,
        status: u16,
        code: Option<String>,
        request_id: Option<String>,
    ) -> Self {
        ApiError {
            status: Some(status),
            code,
            request_id,
            ..self
        }
    }

    /// `HTTP 404 CODE: message (request id ID)`, each part when known.
    fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(status) = self.status {
            out.push_str(&format!("HTTP {status}"));
        }
        if let Some(code) = &self.code {
            out.push_str(&format!(" {code}"));
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&self.message);
        if let Some(id) = &self.request_id {
            out.push_str(&format!(" (request id {id})"));
        }
        out
    }
}

impl From<ExchangeError> for ApiError {
    fn from(error: ExchangeError) -> Self {
        // The wait cannot go on without credentials: unless IAM may answer
        // later, an authentication failure, reported with IAM's code and
        // message, never retried.
        let kind = if error.is_transient() {
            ErrorKind::Transient
        } else {
            ErrorKind::Auth
        };
        ApiError {
            status: error.status(),
            code: error.code().map(str::to_owned),
            ..ApiError::new(kind, error.to_string())
        }
    }
}
