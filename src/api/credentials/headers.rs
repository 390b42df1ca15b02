//! Authenticating one request: the headers to send, signed with AK/SK or
//! carrying the IAM token, and the `Host` the signature covers.

use super::Credentials;
use crate::api::signer::{self, SigningRequest};

impl Credentials {
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
