//! The HTTP client: sends one [`ApiRequest`], authenticates it, and sorts
//! whatever comes back into a typed [`ApiError`] the engine can act on.//!
//! `error` is what a failed request becomes, `transport` what can go wrong
//! before an answer, `answer` how an answer is sorted, `body` how much of
//! it is read, `renewal` the keyless credentials every wait shares.

use std::time::Duration;

use super::credentials::Credentials;
use super::request::ApiRequest;
use super::{Service, endpoints::Endpoints};

mod answer;
mod body;
mod error;
mod renewal;
#[cfg(test)]
mod tests;
mod transport;

use answer::{MAX_REQUEST_ID, classify, clip, redirect_error, retry_after};
pub(crate) use body::Body;
use body::{BodyError, read_capped, too_large};
pub(crate) use body::{MAX_BODY, preview};
pub(crate) use error::ApiError;
pub(crate) use error::ErrorKind;
use renewal::Auth;
use transport::{checked_url, host_of, transport_error};

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
                let credentials = self.replace(federated, generation).await?;
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
