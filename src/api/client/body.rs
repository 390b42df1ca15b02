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
    let mut body = Capped::new(response.content_length(), limit)?;
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Cut)? {
        body.push(&chunk)?;
    }
    Ok(Bytes::from(body.finish()))
}

/// The most memory a `Content-Length` may reserve before its bytes arrive:
/// the largest answers the API serves (10,000 desktops in one job detail)
/// are about 6 MB. A server's word reserves no more, so many concurrent
/// requests to a server that announces the cap and stalls cannot reserve
/// 64 MiB each.
const RESERVE_MAX: usize = 16 * 1024 * 1024;

/// A body being read under a cap, in a buffer sized to hold it exactly.
///
/// A 5 MB page read into a doubling buffer held up to twice its size for
/// as long as the answer lived (a `Bytes` keeps its `Vec`'s capacity) and
/// copied it at each doubling. `Content-Length` sizes the buffer at once
/// when it is within the cap (up to [`RESERVE_MAX`]); it is a hint only: a
/// body that turns out longer grows as before and the cap holds on the
/// bytes actually read, one that turns out shorter gives its spare room
/// back.
pub(super) struct Capped {
    body: Vec<u8>,
    limit: usize,
}

impl Capped {
    /// A buffer for a body announced as `content_length` bytes; refused at
    /// once when that is beyond `limit`.
    pub(super) fn new(content_length: Option<u64>, limit: usize) -> Result<Capped, BodyError> {
        let capacity = match content_length {
            Some(n) if n > limit as u64 => return Err(BodyError::TooLarge),
            Some(n) => usize::try_from(n).map_err(|_| BodyError::TooLarge)?,
            None => 0,
        };
        Ok(Capped {
            body: Vec::with_capacity(capacity.min(RESERVE_MAX)),
            limit,
        })
    }

    /// Adds a chunk, or refuses it when the body would pass the cap.
    pub(super) fn push(&mut self, chunk: &[u8]) -> Result<(), BodyError> {
        let body = &mut self.body;
        if chunk.len() > self.limit - body.len() {
            return Err(BodyError::TooLarge);
        }
        // Grow by doubling as usual, but never past the limit itself.
        let needed = body.len() + chunk.len();
        if needed > body.capacity() {
            let target = (body.capacity() * 2).max(needed).min(self.limit);
            body.reserve_exact(target - body.len());
        }
        body.extend_from_slice(chunk);
        Ok(())
    }

    /// The body, holding no more memory than its length.
    pub(super) fn finish(mut self) -> Vec<u8> {
        self.body.shrink_to_fit();
        self.body
    }

    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.body.capacity()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(content_length: Option<u64>, chunks: &[usize], limit: usize) -> Result<Vec<u8>, ()> {
        let mut body = Capped::new(content_length, limit).map_err(|_| ())?;
        for (i, &n) in chunks.iter().enumerate() {
            body.push(&vec![i as u8; n]).map_err(|_| ())?;
            assert!(body.capacity() <= limit, "the buffer passed the cap");
        }
        Ok(body.finish())
    }

    #[test]
    fn a_body_holds_no_more_memory_than_its_length() {
        // Without a length, the doubling buffer gives its spare room back.
        let body = read(None, &[1000, 1000, 1], 1 << 20).unwrap();
        assert_eq!(body.len(), 2001);
        assert_eq!(body.capacity(), 2001);
        // With one, the buffer is that size from the start: no doubling.
        let mut capped = Capped::new(Some(2001), 1 << 20).ok().unwrap();
        assert_eq!(capped.capacity(), 2001);
        for chunk in [1000, 1000, 1] {
            capped.push(&vec![7; chunk]).ok().unwrap();
            assert_eq!(capped.capacity(), 2001, "grew though the length was known");
        }
        assert_eq!(capped.finish().capacity(), 2001);
    }

    #[test]
    fn a_content_length_is_a_hint_and_the_cap_holds_on_bytes_read() {
        // Announced beyond the cap: refused before reading.
        assert!(Capped::new(Some(1001), 1000).is_err());
        assert!(read(Some(u64::MAX), &[], 1000).is_err());
        // Announced short, sent longer: read up to the cap, refused past it.
        assert_eq!(read(Some(10), &[600, 400], 1000).unwrap().len(), 1000);
        assert!(read(Some(10), &[600, 401], 1000).is_err());
        assert!(read(Some(1000), &[1000, 1], 1000).is_err());
        // Announced long, sent shorter: the spare room is given back.
        let body = read(Some(1000), &[10], 1000).unwrap();
        assert_eq!((body.len(), body.capacity()), (10, 10));
        assert!(read(None, &[0, 1000], 1000).is_ok());
        assert!(read(None, &[999, 2], 1000).is_err());
    }

    #[test]
    fn a_content_length_reserves_no_more_than_the_largest_real_answer() {
        // Announcing the cap and stalling reserves a bounded buffer.
        let capped = Capped::new(Some(MAX_BODY as u64), MAX_BODY).ok().unwrap();
        assert_eq!(capped.capacity(), RESERVE_MAX);
        // A body that long still reads whole, and holds only its length.
        let body = read(
            Some(MAX_BODY as u64),
            &[RESERVE_MAX, RESERVE_MAX, 1],
            MAX_BODY,
        )
        .unwrap();
        assert_eq!(
            (body.len(), body.capacity()),
            (2 * RESERVE_MAX + 1, 2 * RESERVE_MAX + 1)
        );
    }
}
