//! Sorting an answer into a body or a typed error: the status, the API's
//! error fields (bounded: they are server text), redirects, `Retry-After`.

use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use super::{ApiError, Body, ErrorKind};

/// The error of a 3xx: never followed, never retried. The `Location` is
/// server text: shown only as printable characters, and shortened.
pub(super) fn redirect_error(
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
pub(super) fn retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(Duration::try_from(at.duration_since(now)).unwrap_or(Duration::ZERO))
}

/// Sorts a response into a body or a typed error.
pub(super) fn classify(
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
pub(super) const MAX_REQUEST_ID: usize = 128;
/// Longest error code kept (the gateway's look like `APIG.0308`).
pub(super) const MAX_ERROR_CODE: usize = 64;
/// Longest error message kept: a server's error text goes into every
/// report and the step summary, so a megabyte of it must not.
pub(super) const MAX_ERROR_TEXT: usize = 1000;

/// At most `max` characters of server text, with `…` when cut.
pub(super) fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
