//! One HTTP request to the API: its service, path and query, encoded as the
//! signer expects. The engine derives them from a wait's target and the
//! table of [`Operation`](super::Operation)s.

use std::fmt;

use super::Service;

/// One `GET` against one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiRequest {
    pub(crate) service: Service,
    /// Path starting with `/`, without the query.
    pub(crate) path: String,
    /// Query pairs in the order they are sent.
    pub(crate) query: Vec<(String, String)>,
}

impl ApiRequest {
    /// A request without query parameters.
    pub(crate) fn new(service: Service, path: String) -> Self {
        ApiRequest {
            service,
            path,
            query: Vec::new(),
        }
    }

    /// Adds a query parameter.
    pub(crate) fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.push((key.to_owned(), value.into()));
        self
    }

    /// Sets a query parameter, replacing any value it had.
    pub(crate) fn set(mut self, key: &str, value: impl Into<String>) -> Self {
        self.query.retain(|(k, _)| k != key);
        self.with(key, value)
    }

    /// The path and query as sent, percent-encoded.
    pub(crate) fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

/// RFC 3986 unreserved characters stay; everything else is escaped, as the
/// SDK signer expects.
pub(crate) fn encode(text: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(text, UNRESERVED).to_string()
}

impl fmt::Display for ApiRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {} {}", self.service, self.path_and_query())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_values() {
        let r = ApiRequest::new(
            Service::AppStream,
            "/v1/p/image-server-sub-jobs/actions/count".into(),
        )
        .with("job_type", "CREATE_SERVER,DELETE_SERVER")
        .with("status", "RUNNING");
        assert_eq!(
            r.path_and_query(),
            "/v1/p/image-server-sub-jobs/actions/count?job_type=CREATE_SERVER%2CDELETE_SERVER&status=RUNNING"
        );
    }
}
