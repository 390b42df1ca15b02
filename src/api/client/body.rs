//! How much of an answer is read: a successful body as sent, and the cap
//! that keeps an endless or huge answer from filling memory.

use bytes::Bytes;
use reqwest::StatusCode;
use serde_json::Value;

use super::{ApiError, ErrorKind};
use crate::api::Operation;

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
        if let Err(e) = crate::api::wire::check_tree(&self.bytes)
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

/// Why a body was not read whole.
pub(super) enum BodyError {
    TooLarge,
    Cut(reqwest::Error),
}

/// Reads a body chunk by chunk, giving up as soon as it passes `limit`,
/// so an endless or huge answer costs at most `limit` bytes of memory
/// (the buffer's capacity included).
pub(super) async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
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

pub(super) fn too_large(status: StatusCode, base: &str, request_id: Option<String>) -> ApiError {
    let message = format!(
        "the answer from {base} is larger than {} MiB, far beyond any page the API serves; not read further and not retried: check that the endpoint is the Workspace API and not a proxy or another service",
        MAX_BODY / (1024 * 1024)
    );
    ApiError::new(ErrorKind::Refused, message).answered(status.as_u16(), None, request_id)
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
