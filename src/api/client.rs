//! The HTTP client: sends one [`ApiRequest`], authenticates it, and sorts
//! whatever comes back into a typed [`ApiError`] the engine can act on.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use super::credentials::Credentials;
use super::federation::{self, ExchangeError, IdpConfig, Temporary};
use super::request::ApiRequest;
use super::{Operation, Service, endpoints::Endpoints};

/// The largest response body jobgate reads, in bytes. The biggest page the
/// API serves is one of [`Operation::ListItaSubJobs`] (1,000 sub-jobs), and
/// a real item is under 2 KiB of JSON; 1,000 items of 64 KiB each is about 64 MiB, some
/// thirty times any real answer, while a server that sends without end can
/// hold at most this much per request in flight.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;
// Checked when compiling: a larger page in the table fails the build.
const _: () = match Operation::ListItaSubJobs.page() {
    Some(page) => assert!(MAX_BODY >= page.max as usize * 64 * 1000),
    None => panic!("ListItaSubJobs pages"),
};

/// A successful answer, as sent: whoever knows its shape reads it (a list
/// page of 10,000 sub-jobs is read straight into items, never into a JSON
/// tree). Cheap to clone, so waits that share a request share the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub(crate) bytes: Bytes,
    pub(crate) request_id: Option<String>,
}

impl Body {
    /// The body as any JSON, or the transient error of a malformed answer.
    pub(crate) fn json(&self) -> Result<Value, ApiError> {
        // A key written twice is refused before serde_json keeps its last value.
        if let Err(e) = super::wire::check_tree(&self.bytes)
            && !e.is_syntax()
            && !e.is_eof()
        {
            return Err(
                self.malformed(format!("the response cannot be read as one JSON tree: {e}"))
            );
        }
        serde_json::from_slice(&self.bytes).map_err(|_| {
            self.malformed(format!(
                "the response is not valid JSON ({} bytes): {}",
                self.bytes.len(),
                preview(&self.bytes)
            ))
        })
    }

    /// The transient error of an answer that does not have the documented
    /// shape: retried within the error budget, like a 5xx.
    pub(crate) fn malformed(&self, why: impl std::fmt::Display) -> ApiError {
        ApiError::new(ErrorKind::Transient, why.to_string()).answered(
            200,
            None,
            self.request_id.clone(),
        )
    }
}

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
    /// certificate), a body over [`MAX_BODY`]. The wait ends at once.
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

/// Options of the HTTP client.
#[derive(Debug, Clone)]
pub(crate) struct ClientOptions {
    /// Upper bound on one request, so a server that never answers cannot
    /// hold a wait past its deadline.
    pub(crate) request_timeout: Duration,
    pub(crate) connect_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Sends authenticated requests to the resolved endpoints.
pub struct Client {
    http: reqwest::Client,
    endpoints: Endpoints,
    auth: Auth,
}

/// What signs the requests.
enum Auth {
    Static(Credentials),
    Idp(Box<Federated>),
}

/// Temporary credentials from an identity provider, shared by every wait.
struct Federated {
    config: IdpConfig,
    /// The credentials in use; `None` only before the first exchange.
    current: std::sync::RwLock<Option<std::sync::Arc<Issued>>>,
    /// Held by the one exchange in progress: waits that find the
    /// credentials due for renewal queue here, and all but the first find
    /// them renewed.
    renewing: tokio::sync::Mutex<()>,
    /// Told the secret values of every renewal before they sign a request.
    on_renewal: Option<SecretsHook>,
}

/// Receives the secret values of renewed credentials (so that outputs
/// redact and mask them from the moment they exist).
pub(crate) type SecretsHook = Box<dyn Fn(&[&str]) + Send + Sync>;

/// One exchange's credentials.
struct Issued {
    temporary: Temporary,
    generation: u64,
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

impl Client {
    /// Builds the client. TLS verification is always on, over the built-in
    /// roots plus any `--ca-cert`/`SSL_CERT_FILE` certificates; proxies come
    /// from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as reqwest reads them,
    /// except when every endpoint is loopback: a proxy cannot reach this
    /// machine's loopback, and a plain-http request through it would hand
    /// the credentials to the proxy. Redirects are never followed: the API
    /// has none, and following one sends the credentials to whatever host
    /// the server names.
    pub(crate) fn new(
        endpoints: Endpoints,
        credentials: Credentials,
        options: &ClientOptions,
    ) -> Result<Self, String> {
        Self::build(endpoints, Auth::Static(credentials), options, true)
    }

    /// Calls `hook` with the secret values of every renewal of keyless
    /// credentials (static credentials are never renewed).
    pub(crate) fn on_renewal(&mut self, hook: SecretsHook) {
        if let Auth::Idp(federated) = &mut self.auth {
            federated.on_renewal = Some(hook);
        }
    }

    /// A client whose credentials come from exchanging the ID token of
    /// `config` at IAM; call [`Client::exchange`] before the first request.
    /// `iam_loopback` says whether IAM is on this machine (then, with every
    /// other endpoint on loopback too, no proxy is used).
    pub(crate) fn with_idp(
        endpoints: Endpoints,
        config: IdpConfig,
        iam_loopback: bool,
        options: &ClientOptions,
    ) -> Result<Self, String> {
        let federated = Federated {
            config,
            current: std::sync::RwLock::new(None),
            renewing: tokio::sync::Mutex::new(()),
            on_renewal: None,
        };
        Self::build(
            endpoints,
            Auth::Idp(Box::new(federated)),
            options,
            iam_loopback,
        )
    }

    fn build(
        endpoints: Endpoints,
        auth: Auth,
        options: &ClientOptions,
        others_loopback: bool,
    ) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("jobgate/", env!("CARGO_PKG_VERSION")))
            .timeout(options.request_timeout)
            .connect_timeout(options.connect_timeout)
            .redirect(reqwest::redirect::Policy::none());
        for certificate in endpoints.trusted() {
            builder = builder.add_root_certificate(certificate.clone());
        }
        if endpoints.all_loopback() && others_loopback {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Client {
            http,
            endpoints,
            auth,
        })
    }

    /// Exchanges the ID token for temporary credentials (now, before the
    /// first poll) and returns their secret values, for redaction. With
    /// fixed credentials, returns nothing.
    pub(crate) async fn exchange(&self) -> Result<Vec<String>, ExchangeError> {
        let Auth::Idp(federated) = &self.auth else {
            return Ok(Vec::new());
        };
        let issued = self.renew(federated, None).await?;
        Ok(issued
            .temporary
            .secrets()
            .into_iter()
            .map(str::to_owned)
            .collect())
    }

    /// Renews the credentials unless another caller already replaced the
    /// generation `stale` (or, with `stale = None`, unless they are current
    /// and not due). One exchange at a time.
    async fn renew(
        &self,
        federated: &Federated,
        stale: Option<u64>,
    ) -> Result<std::sync::Arc<Issued>, ExchangeError> {
        let _one_at_a_time = federated.renewing.lock().await;
        let current = federated
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(current) = current {
            let replaced = stale.is_some_and(|g| g != current.generation);
            let fresh = stale.is_none()
                && !federation::renew_due(
                    current.temporary.obtained_at,
                    current.temporary.expires_at,
                    jiff::Timestamp::now(),
                );
            if replaced || fresh {
                return Ok(current);
            }
        }
        let temporary = federation::exchange(&self.http, &federated.config).await?;
        if let Some(hook) = &federated.on_renewal {
            hook(&temporary.secrets());
        }
        let mut slot = federated.current.write().unwrap_or_else(|e| e.into_inner());
        let generation = slot.as_ref().map_or(0, |c| c.generation + 1);
        let issued = std::sync::Arc::new(Issued {
            temporary,
            generation,
        });
        *slot = Some(issued.clone());
        Ok(issued)
    }

    /// The credentials for the next request, renewed first when due.
    async fn credentials(&self) -> Result<(Credentials, Option<u64>), ApiError> {
        let federated = match &self.auth {
            Auth::Static(credentials) => return Ok((credentials.clone(), None)),
            Auth::Idp(federated) => federated,
        };
        let current = federated
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let issued = match current {
            Some(c)
                if !federation::renew_due(
                    c.temporary.obtained_at,
                    c.temporary.expires_at,
                    jiff::Timestamp::now(),
                ) =>
            {
                c
            }
            current => match self.renew(federated, None).await {
                Ok(issued) => issued,
                // IAM briefly unavailable while the credentials in hand are
                // still valid: use them; the next request tries again.
                Err(e)
                    if e.is_transient()
                        && let Some(c) = current
                        && jiff::Timestamp::now() < c.temporary.expires_at =>
                {
                    c
                }
                Err(e) => return Err(e.into()),
            },
        };
        Ok((
            issued.temporary.credentials.clone(),
            Some(issued.generation),
        ))
    }

    /// The full URL of a request.
    pub(crate) fn url(&self, request: &ApiRequest) -> String {
        format!(
            "{}{}",
            self.endpoints.base(request.service),
            request.path_and_query()
        )
    }

    /// The endpoint base URL of a service.
    pub(crate) fn base(&self, service: Service) -> &str {
        self.endpoints.base(service)
    }

    /// Sends one GET, bounded by `timeout`, and returns the body of a
    /// successful answer.
    pub(crate) async fn get(
        &self,
        request: &ApiRequest,
        project_id: &str,
        timeout: Duration,
    ) -> Result<Body, ApiError> {
        let (credentials, issued) = self.credentials().await?;
        let result = self
            .send(request, project_id, timeout, &credentials)
            .await
            .map_err(|e| scrub(e, &credentials));
        match (&self.auth, issued, &result) {
            // Temporary credentials may expire before their `expires_at`
            // (clock skew, revocation): renew them (unless another wait
            // already did) and send once more. A 401 to that retry, or to
            // fixed credentials, stands: one request costs at most one
            // renewal, and the wait ends on the final 401, never a loop.
            (
                Auth::Idp(federated),
                Some(generation),
                Err(ApiError {
                    kind: ErrorKind::Auth,
                    status: Some(401),
                    ..
                }),
            ) => {
                let issued = self.renew(federated, Some(generation)).await?;
                let credentials = issued.temporary.credentials.clone();
                self.send(request, project_id, timeout, &credentials)
                    .await
                    .map_err(|e| scrub(e, &credentials))
            }
            _ => result,
        }
    }

    async fn send(
        &self,
        request: &ApiRequest,
        project_id: &str,
        timeout: Duration,
        credentials: &Credentials,
    ) -> Result<Body, ApiError> {
        let base = self.endpoints.base(request.service);
        let url =
            checked_url(base, request).map_err(|why| ApiError::new(ErrorKind::Refused, why))?;
        // Sign the Host exactly as reqwest will send it (with a non-default port).
        let host = super::credentials::host_header(&url).unwrap_or_else(|| host_of(base));
        let headers = credentials.apply(
            "GET",
            &host,
            &request.path,
            &request.query,
            jiff::Timestamp::now(),
            Some(project_id),
        );
        let mut builder = self.http.get(url).timeout(timeout);
        for (name, value) in &headers {
            // reqwest sets Host itself from the URL.
            if !name.eq_ignore_ascii_case("host") {
                builder = builder.header(name, value);
            }
        }
        let response = builder
            .send()
            .await
            .map_err(|e| transport_error(&e, base))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| clip(v, MAX_REQUEST_ID));
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, jiff::Timestamp::now()));
        if status.is_redirection() {
            let location = response.headers().get(reqwest::header::LOCATION);
            return Err(redirect_error(status, location, request_id));
        }
        let body = read_capped(response, MAX_BODY).await.map_err(|e| match e {
            BodyError::TooLarge => too_large(status, base, request_id.clone()),
            BodyError::Cut(e) => {
                let message = if e.is_timeout() {
                    format!("the answer from {base} did not finish in time")
                } else {
                    format!("the response body was cut off: {e}")
                };
                ApiError::new(ErrorKind::Transient, message).answered(
                    status.as_u16(),
                    None,
                    request_id.clone(),
                )
            }
        })?;
        classify(status, body, request_id, retry_after)
    }
}

/// Masks the values of `credentials` in an error's server text. The run's
/// redactor knows the credentials of the first exchange only; renewed
/// temporary credentials are masked here, where they are known, before an
/// error echoing them (a hostile server, a proxy) leaves the client.
fn scrub(mut error: ApiError, credentials: &Credentials) -> ApiError {
    let ApiError { message, code, .. } = &mut error;
    for secret in credentials.redacted_values() {
        if !secret.is_empty() {
            *message = message.replace(secret, crate::redact::MASK);
            if let Some(code) = code {
                *code = code.replace(secret, crate::redact::MASK);
            }
        }
    }
    error
}

/// The URL of a request, provided it goes where it was signed for: the
/// endpoint's scheme, host and port, and exactly the path and query of the
/// request. A value with `/`, `?`, `#` or a `..` segment spliced into a path
/// would otherwise be normalised by the URL parser into another request,
/// on another API, than the one signed and judged; it is never sent.
fn checked_url(base: &str, request: &ApiRequest) -> Result<reqwest::Url, String> {
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

/// Why a body was not read whole.
enum BodyError {
    TooLarge,
    Cut(reqwest::Error),
}

/// Reads a body chunk by chunk, giving up as soon as it passes `limit`,
/// so an endless or huge answer costs at most `limit` bytes of memory
/// (the buffer's capacity included).
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Cut)? {
        if chunk.len() > limit - body.len() {
            return Err(BodyError::TooLarge);
        }
        // Grow by doubling as usual, but never past the limit itself.
        let needed = body.len() + chunk.len();
        if needed > body.capacity() {
            let target = (body.capacity() * 2).max(needed).min(limit);
            body.reserve_exact(target - body.len());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn too_large(status: StatusCode, base: &str, request_id: Option<String>) -> ApiError {
    let message = format!(
        "the answer from {base} is larger than {} MiB, far beyond any page the API serves; not read further and not retried: check that the endpoint is the Workspace API and not a proxy or another service",
        MAX_BODY / (1024 * 1024)
    );
    ApiError::new(ErrorKind::Refused, message).answered(status.as_u16(), None, request_id)
}

/// The error of a 3xx: never followed, never retried. The `Location` is
/// server text: shown only as printable characters, and shortened.
fn redirect_error(
    status: StatusCode,
    location: Option<&reqwest::header::HeaderValue>,
    request_id: Option<String>,
) -> ApiError {
    let code = status.as_u16();
    let target = match location {
        None => "without a Location".to_owned(),
        Some(value) => {
            let text = String::from_utf8_lossy(value.as_bytes());
            let mut shown: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            if text.chars().count() > 200 {
                shown.push('…');
            }
            format!("redirecting to {shown}")
        }
    };
    let message = format!(
        "the API answered {code} {target}; jobgate never follows redirects (the API has none, and the credentials must not reach another host): point --endpoint at the API itself"
    );
    ApiError::new(ErrorKind::Refused, message).answered(code, None, request_id)
}

/// Reads `Retry-After` in either form RFC 9110 allows: whole seconds, or
/// an HTTP date (a date already past means "now").
fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

fn host_of(base: &str) -> String {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// The TLS error behind a failed request, if one is: rustls errors arrive
/// wrapped in `io::Error`s (nested), whose `source()` skips what they
/// wrap, so each link of the chain is also opened.
fn tls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
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
fn tls_message(error: &rustls::Error, base: &str) -> String {
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

fn transport_error(error: &reqwest::Error, base: &str) -> ApiError {
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

/// Sorts a response into a body or a typed error.
fn classify(
    status: StatusCode,
    body: Bytes,
    request_id: Option<String>,
    retry_after: Option<Duration>,
) -> Result<Body, ApiError> {
    // The API answers a GET with 200 and a body; another 2xx (204 No
    // Content, 206 Partial) comes from something in between and holds no
    // answer to judge.
    if status == StatusCode::OK {
        return Ok(Body {
            bytes: body,
            request_id,
        });
    }
    if status.is_success() || status.is_informational() {
        let message = format!(
            "the API answered {status} where it always answers 200 with a body; nothing to judge"
        );
        return Err(ApiError::new(ErrorKind::Transient, message).answered(
            status.as_u16(),
            None,
            request_id,
        ));
    }
    if status.is_redirection() {
        return Err(redirect_error(status, None, request_id));
    }
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(Value::as_str)
            .map(|v| clip(v, MAX_ERROR_TEXT))
    };
    let code = field("error_code").map(|c| clip(&c, MAX_ERROR_CODE));
    let message = field("error_msg")
        .or_else(|| field("message"))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    // The API gateway's own codes: throttling on any status (another
    // service's `.0308` may mean anything, and throttling never spends the
    // error budget), and a 404 for a path it does not route, which no
    // not-found grace can make right.
    let throttling_code = matches!(code.as_deref(), Some("APIG.0308" | "APIGW.0308"));
    let no_such_api = matches!(code.as_deref(), Some("APIG.0101" | "APIGW.0101"));
    let status = status.as_u16();
    let kind = match status {
        _ if status == 429 || throttling_code => ErrorKind::Throttled { retry_after },
        401 | 403 => ErrorKind::Auth,
        404 if !no_such_api => ErrorKind::NotFound,
        408 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Rejected,
    };
    Err(ApiError::new(kind, message).answered(status, code, request_id))
}

/// Longest request id kept (the gateway's are 32 hex digits).
const MAX_REQUEST_ID: usize = 128;
/// Longest error code kept (the gateway's look like `APIG.0308`).
const MAX_ERROR_CODE: usize = 64;
/// Longest error message kept: a server's error text goes into every
/// report and the step summary, so a megabyte of it must not.
const MAX_ERROR_TEXT: usize = 1000;

/// At most `max` characters of server text, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The first bytes of a body, on one line, for error messages.
pub(crate) fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(60)]).replace(['\n', '\r'], " ");
    if body.len() > 60 {
        format!("{text}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_without_an_answer_has_no_status() {
        let lost = ApiError::new(ErrorKind::Transient, "no answer from http://h in time");
        assert_eq!(lost.status, None);
        assert_eq!(lost.to_string(), "no answer from http://h in time");
        let answered = lost.answered(503, Some("WKS.0001".into()), Some("r1".into()));
        assert_eq!(answered.status, Some(503));
        assert_eq!(
            answered.to_string(),
            "HTTP 503 WKS.0001: no answer from http://h in time (request id r1)"
        );
        // IAM out of reach: retried, and without a status.
        let unreachable = ExchangeError::Unavailable {
            endpoint: "http://iam".into(),
            step: "token exchange",
            idp_id: "idp".into(),
            status: None,
            message: "cannot connect".into(),
        };
        let error = ApiError::from(unreachable);
        assert_eq!((error.kind, error.status), (ErrorKind::Transient, None));
        assert!(!error.to_string().starts_with("HTTP"), "{error}");
        // A token file that cannot be read ends the wait as an auth error.
        let unreadable = ExchangeError::TokenFile {
            path: "/t".into(),
            variable: "HUAWEICLOUD_SDK_ID_TOKEN_FILE",
            idp_id: "idp".into(),
            reason: "no such file".into(),
        };
        let error = ApiError::from(unreadable);
        assert_eq!((error.kind, error.status), (ErrorKind::Auth, None));
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now: jiff::Timestamp = "2026-12-02T08:00:00Z".parse().unwrap();
        assert_eq!(retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 08:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Wed, 02 Dec 2026 07:59:00 GMT", now),
            Some(Duration::ZERO),
            "a date already past"
        );
        assert_eq!(retry_after("soon", now), None);
        assert_eq!(retry_after("-3", now), None);
    }

    #[test]
    fn classifies_statuses() {
        let throttle = br#"{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached"}"#;
        assert!(matches!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                Bytes::from_static(throttle),
                None,
                Some(Duration::from_secs(2))
            ),
            Err(ApiError {
                kind: ErrorKind::Throttled {
                    retry_after: Some(_)
                },
                ..
            })
        ));
        // The gateway's 404 for a path it does not route is no "not yet".
        let no_api = br#"{"error_code":"APIG.0101","error_msg":"The API does not exist"}"#;
        assert!(matches!(
            classify(
                StatusCode::NOT_FOUND,
                Bytes::from_static(no_api),
                None,
                None
            ),
            Err(ApiError {
                kind: ErrorKind::Rejected,
                ..
            })
        ));
        let no_job = br#"{"error_code":"WKS.00000404","error_msg":"The job does not exist."}"#;
        assert!(matches!(
            classify(
                StatusCode::NOT_FOUND,
                Bytes::from_static(no_job),
                None,
                None
            ),
            Err(ApiError {
                kind: ErrorKind::NotFound,
                ..
            })
        ));
        // Another service's `.0308` is not the gateway throttling.
        let other = br#"{"error_code":"WKS.0308","error_msg":"Invalid parameter"}"#;
        assert!(matches!(
            classify(
                StatusCode::BAD_REQUEST,
                Bytes::from_static(other),
                None,
                None
            ),
            Err(ApiError {
                kind: ErrorKind::Rejected,
                ..
            })
        ));
        let auth =
            br#"{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information"}"#;
        let err = classify(
            StatusCode::UNAUTHORIZED,
            Bytes::from_static(auth),
            Some("abc".into()),
            None,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            ApiError {
                kind: ErrorKind::Auth,
                ..
            }
        ));
        assert_eq!(
            err.to_string(),
            "HTTP 401 APIG.0301: Incorrect IAM authentication information (request id abc)"
        );
        assert!(matches!(
            classify(StatusCode::FORBIDDEN, Bytes::from_static(b""), None, None),
            Err(ApiError {
                kind: ErrorKind::Auth,
                ..
            })
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND, Bytes::from_static(b"{}"), None, None),
            Err(ApiError {
                kind: ErrorKind::NotFound,
                ..
            })
        ));
        assert!(matches!(
            classify(
                StatusCode::SERVICE_UNAVAILABLE,
                Bytes::from_static(b""),
                None,
                None
            ),
            Err(ApiError {
                kind: ErrorKind::Transient,
                ..
            })
        ));
        assert!(matches!(
            classify(
                StatusCode::BAD_REQUEST,
                Bytes::from_static(b"{}"),
                None,
                None
            ),
            Err(ApiError {
                kind: ErrorKind::Rejected,
                ..
            })
        ));
    }

    #[test]
    fn malformed_success_is_transient() {
        let body = classify(
            StatusCode::OK,
            Bytes::from_static(b"{\"status\": \"RUN"),
            Some("r1".into()),
            None,
        )
        .unwrap();
        let err = body.json().unwrap_err();
        assert!(matches!(
            err,
            ApiError {
                kind: ErrorKind::Transient,
                ..
            }
        ));
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        assert!(err.to_string().contains("request id r1"), "{err}");
        let ok = classify(
            StatusCode::OK,
            Bytes::from_static(b"{\"count\": 1}"),
            None,
            None,
        );
        assert_eq!(ok.unwrap().json().unwrap()["count"], 1);
    }

    #[test]
    fn only_200_is_an_answer() {
        for status in [101, 201, 203, 204, 206] {
            let err = classify(
                StatusCode::from_u16(status).unwrap(),
                Bytes::from_static(br#"{"status":"SUCCESS"}"#),
                None,
                None,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ApiError {
                        kind: ErrorKind::Transient,
                        ..
                    }
                ),
                "{status}"
            );
        }
        for status in [301, 302, 304, 307, 308] {
            let err = classify(
                StatusCode::from_u16(status).unwrap(),
                Bytes::new(),
                None,
                None,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    ApiError {
                        kind: ErrorKind::Refused,
                        ..
                    }
                ),
                "{status}"
            );
        }
    }

    #[test]
    fn a_redirect_names_its_printable_location() {
        let location =
            reqwest::header::HeaderValue::from_bytes(b"https://evil.example/\tx\xff").unwrap();
        let err = redirect_error(StatusCode::FOUND, Some(&location), Some("r9".into()));
        let text = err.to_string();
        assert!(matches!(
            err,
            ApiError {
                kind: ErrorKind::Refused,
                status: Some(302),
                ..
            }
        ));
        assert!(
            text.contains("the API answered 302 redirecting to https://evil.example/"),
            "{text}"
        );
        assert!(
            text.contains("point --endpoint at the API itself"),
            "{text}"
        );
        assert!(!text.chars().any(char::is_control), "{text:?}");
        let long = reqwest::header::HeaderValue::from_str(&"a".repeat(5000)).unwrap();
        assert!(
            redirect_error(StatusCode::FOUND, Some(&long), None)
                .to_string()
                .len()
                < 600
        );
        assert!(
            redirect_error(StatusCode::MOVED_PERMANENTLY, None, None)
                .to_string()
                .contains("301 without a Location")
        );
    }

    #[test]
    fn tls_messages_say_what_and_how_to_fix() {
        let base = "https://gw.example.com:8443";
        let unknown = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let text = tls_message(&unknown, base);
        assert!(
            text.contains("certificate of gw.example.com:8443 is not trusted"),
            "{text}"
        );
        assert!(
            text.contains("--ca-cert FILE") && text.contains("SSL_CERT_FILE"),
            "{text}"
        );
        assert!(
            !text.contains("UnknownIssuer") && !text.contains("error_budget"),
            "{text}"
        );
        let name = rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName);
        assert!(tls_message(&name, base).contains("another host name"));
        let garbage = rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType);
        assert!(tls_message(&garbage, base).contains("really speaks https"));
    }

    #[test]
    fn a_request_goes_only_where_it_was_signed_for() {
        use crate::api::Service;
        let ok = |base: &str, path: &str| {
            let request = ApiRequest::new(Service::Workspace, path.into()).with("job_id", "a,b");
            checked_url(base, &request).map(|u| u.to_string())
        };
        assert_eq!(
            ok("https://gw.example:8443", "/v2/p/jobs/1").unwrap(),
            "https://gw.example:8443/v2/p/jobs/1?job_id=a%2Cb"
        );
        assert_eq!(
            ok("https://gw.example/prefix", "/v2/p/jobs/1").unwrap(),
            "https://gw.example/prefix/v2/p/jobs/1?job_id=a%2Cb"
        );
        for path in [
            "/v1/p/jobs/../../../v3/auth/tokens?x=",
            "/v1/p/jobs/%2e%2e/x",
            "/v1/p/jobs/a b",
            "/v1/p/jobs/1#frag",
            "/v1/p/jobs/1?status=SUCCESS",
            "@evil.example/v1",
            "/v1/p/jobs/..\\x",
        ] {
            let err = ok("https://gw.example", path).unwrap_err();
            assert!(err.contains("not sent"), "{path}: {err}");
        }
        assert!(ok("http://127.0.0.1:8080", ".evil.example/v1").is_err());
    }

    #[test]
    fn server_text_in_errors_is_bounded() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "abc…");
        assert_eq!(clip("ééééé", 2), "éé…");
        let body = format!(
            r#"{{"error_code":"{}","error_msg":"{}"}}"#,
            "C".repeat(10_000),
            "m".repeat(1_000_000)
        );
        let err = classify(StatusCode::BAD_REQUEST, Bytes::from(body), None, None).unwrap_err();
        assert!(err.code.unwrap().chars().count() <= MAX_ERROR_CODE + 1);
        assert!(err.message.chars().count() <= MAX_ERROR_TEXT + 1);
    }

    #[test]
    fn host_without_scheme() {
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(
            host_of("https://workspace.cn-north-4.myhuaweicloud.com/"),
            "workspace.cn-north-4.myhuaweicloud.com"
        );
    }

    #[test]
    fn renewed_secrets_echoed_by_a_server_are_masked() {
        use crate::api::credentials::Secret;
        let credentials = Credentials::AkSk {
            access_key: "TMPAK".into(),
            secret_key: Secret::new("tmp-secret"),
            security_token: Some(Secret::new("sts-token-value")),
        };
        let error = ApiError::new(ErrorKind::Auth, "bad token sts-token-value for TMPAK").answered(
            401,
            Some("X sts-token-value".into()),
            None,
        );
        let text = scrub(error, &credentials).to_string();
        assert!(
            !text.contains("sts-token-value") && !text.contains("TMPAK"),
            "{text}"
        );
    }
}
