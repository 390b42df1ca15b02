//! One step of an exchange: a POST through the client every request uses,
//! never redirected, its answer capped, its failure sorted.

use serde_json::Value;

use super::answer::iam_error;
use super::{ExchangeError, IdpConfig, MAX_ANSWER, Refusal};

pub(super) fn malformed(
    config: &IdpConfig,
    step: &'static str,
    status: u16,
    why: &str,
    body: &[u8],
) -> ExchangeError {
    let _ = body; // Never shown: it may hold the very credentials.
    ExchangeError::Malformed {
        endpoint: config.iam_endpoint.clone(),
        step,
        idp_id: config.idp_id.clone(),
        status,
        message: format!("HTTP {status}: {why}"),
    }
}

pub(super) async fn post(
    http: &reqwest::Client,
    config: &IdpConfig,
    step: &'static str,
    path: &str,
    idp_id: Option<&str>,
    body: &Value,
    secrets: &[&str],
) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes), ExchangeError> {
    let unavailable = |status: Option<u16>, message: String| ExchangeError::Unavailable {
        endpoint: config.iam_endpoint.clone(),
        step,
        idp_id: config.idp_id.clone(),
        status,
        message,
    };
    let mut request = http
        .post(format!("{}{path}", config.iam_endpoint))
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(body.to_string());
    if let Some(idp_id) = idp_id {
        request = request.header("X-Idp-Id", idp_id);
    }
    let mut response = request.send().await.map_err(|e| {
        unavailable(
            None,
            if e.is_timeout() {
                "no answer in time".to_owned()
            } else {
                format!("cannot connect ({e})")
            },
        )
    })?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        return Err(malformed(
            config,
            step,
            status,
            "a redirect, which jobgate never follows (the token must not reach another host)",
            b"",
        ));
    }
    let headers = response.headers().clone();
    let mut answer = bytes::BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(Some(status), format!("the answer was cut off ({e})")))?
    {
        if answer.len() + chunk.len() > MAX_ANSWER {
            return Err(malformed(config, step, status, "an answer over 1 MiB", b""));
        }
        answer.extend_from_slice(&chunk);
    }
    let answer = answer.freeze();
    match status {
        200 | 201 => Ok((status, headers, answer)),
        500..=599 | 408 | 429 => Err(unavailable(Some(status), iam_error(&answer, secrets).1)),
        _ if (400..500).contains(&status) => {
            let (code, message) = iam_error(&answer, secrets);
            Err(ExchangeError::Refused(Box::new(Refusal {
                endpoint: config.iam_endpoint.clone(),
                step,
                idp_id: config.idp_id.clone(),
                path: config.token_file.display().to_string(),
                status,
                code,
                message,
            })))
        }
        _ => Err(malformed(config, step, status, "an unexpected status", b"")),
    }
}
