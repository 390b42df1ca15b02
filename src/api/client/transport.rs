//! What can go wrong before an answer: a request that would not go where
//! it was signed for, and failed connections, timeouts and TLS handshakes.

use super::answer::clip;
use super::{ApiError, ErrorKind};
use crate::api::request::ApiRequest;

/// The URL of a request, provided it goes where it was signed for: the
/// endpoint's scheme, host and port, and exactly the path and query of the
/// request. A value with `/`, `?`, `#` or a `..` segment spliced into a path
/// would otherwise be normalised by the URL parser into another request,
/// on another API, than the one signed and judged; it is never sent.
pub(super) fn checked_url(base: &str, request: &ApiRequest) -> Result<reqwest::Url, String> {
    // The path may hold server text captured by an earlier wait: escaped
    // and shortened before it is shown.
    let refuse = |what: &str| {
        format!(
            "the request {} would not reach {base} as written ({what}); not sent: a value in its path holds `/`, `?`, `#`, `%` or `..`",
            clip(&request.path.escape_debug().to_string(), 300)
        )
    };
    let endpoint = reqwest::Url::parse(base).map_err(|e| refuse(&e.to_string()))?;
    let text = format!("{base}{}", request.path_and_query());
    let url = reqwest::Url::parse(&text).map_err(|e| refuse(&e.to_string()))?;
    let path = format!("{}{}", endpoint.path().trim_end_matches('/'), request.path);
    let query = Some(text.split_once('?').map_or("", |(_, q)| q)).filter(|q| !q.is_empty());
    if url.origin() != endpoint.origin() || !url.username().is_empty() {
        return Err(refuse("another host"));
    }
    if url.path() != path || url.query() != query || url.fragment().is_some() {
        return Err(refuse("another path"));
    }
    Ok(url)
}

pub(super) fn host_of(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// The TLS error behind a failed request, if one is: rustls errors arrive
/// wrapped in `io::Error`s (nested), whose `source()` skips what they
/// wrap, so each link of the chain is also opened.
pub(super) fn tls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        let mut source = Some(error);
        while let Some(s) = source {
            if let Some(tls) = s.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            if let Some(inner) = s
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| find(inner))
            {
                return Some(inner);
            }
            source = s.source();
        }
        None
    }
    std::error::Error::source(error).and_then(find)
}

/// What to tell the user about a TLS failure: what went wrong with which
/// host, and the fix. A TLS failure is a configuration problem (a private
/// CA, a proxy that inspects TLS, an http server on an https URL), so
/// retrying it would only repeat it.
pub(super) fn tls_message(error: &rustls::Error, base: &str) -> String {
    use rustls::CertificateError as C;
    let host = host_of(base);
    let trust = "if a private CA or a TLS-inspecting proxy signs it, pass --ca-cert FILE (or set JOBGATE_CA_CERT or SSL_CERT_FILE) to that CA's PEM certificate";
    match error {
        rustls::Error::InvalidCertificate(cert) => {
            let (why, fix) = match cert {
                C::UnknownIssuer => ("it is signed by an unknown authority", trust),
                C::NotValidForName | C::NotValidForNameContext { .. } => (
                    "it was issued for another host name",
                    "check the host name of the endpoint",
                ),
                C::Expired | C::ExpiredContext { .. } => (
                    "it has expired",
                    "the server must renew it (or this machine's clock is wrong)",
                ),
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    ("it is not valid yet", "check this machine's clock")
                }
                C::Revoked => ("it was revoked", "the server must replace it"),
                _ => ("it failed verification", trust),
            };
            format!("the TLS certificate of {host} is not trusted: {why}; not retried: {fix}")
        }
        other => format!(
            "the TLS handshake with {host} failed ({other}); not retried: check that {base} really speaks https on that port, or {trust}"
        ),
    }
}

pub(super) fn transport_error(error: &reqwest::Error, base: &str) -> ApiError {
    if let Some(tls) = tls_error(error) {
        return ApiError::new(ErrorKind::Refused, tls_message(tls, base));
    }
    let what = if error.is_timeout() {
        format!("no answer from {base} in time")
    } else if error.is_connect() {
        format!("cannot connect to {base}; check the endpoint, your network or proxy settings")
    } else {
        format!("the connection to {base} failed")
    };
    // The source chain says why (DNS, TLS, reset); keep its innermost cause.
    let mut cause = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    let message = if cause.is_empty() {
        what
    } else {
        format!("{what} ({cause})")
    };
    ApiError::new(ErrorKind::Transient, message)
}
