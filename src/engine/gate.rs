//! What all waits share so that many of them stay gentle on the API: a cap on
//! requests in flight, a cap on requests per second, a common pause after
//! throttling, and coalescing of identical requests sent at the same moment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

use crate::api::client::{ApiError, Client};
use crate::api::request::ApiRequest;

type Shared = Arc<OnceCell<Result<Value, ApiError>>>;

/// Limits shared by every wait of a run.
pub struct Gate {
    client: Client,
    in_flight: Semaphore,
    interval: Duration,
    next_slot: Mutex<Instant>,
    paused_until: Mutex<Instant>,
    pending: Mutex<HashMap<String, Shared>>,
}

/// The answer to one request, and whether this caller sent it (or shared
/// another wait's identical request).
pub struct Answer {
    pub result: Result<Value, ApiError>,
    pub sent: bool,
}

impl Gate {
    /// A gate allowing `concurrency` requests in flight and `rps` per second.
    pub fn new(client: Client, concurrency: usize, rps: f64) -> Self {
        let now = Instant::now();
        Gate {
            client,
            in_flight: Semaphore::new(concurrency.max(1)),
            interval: Duration::from_secs_f64(1.0 / rps.max(0.01)),
            next_slot: Mutex::new(now),
            paused_until: Mutex::new(now),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The client, for URLs in plans and reports.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `request` (or joins an identical one already under way).
    ///
    /// `timeout` bounds the whole call, not just the HTTP exchange: time
    /// spent queued behind the concurrency or rate limit, a throttling
    /// pause, or another wait's identical request counts too. Callers derive
    /// it from their deadline: were queueing not counted, requests queued
    /// behind a server that never answers would each get a full timeout after
    /// the ones before them, and the run would end at a multiple of its
    /// deadline.
    pub async fn get(&self, request: &ApiRequest, project_id: &str, timeout: Duration) -> Answer {
        let until = Instant::now() + timeout;
        let key = format!("{project_id} {}", self.client.url(request));
        let cell = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.entry(key.clone()).or_default().clone()
        };
        let mut sent = false;
        let shared = tokio::time::timeout_at(
            until,
            cell.get_or_init(|| self.send(request, project_id, until, &mut sent)),
        )
        .await;
        let result = match shared {
            Ok(result) => result.clone(),
            Err(_) => Err(self.too_late(request, sent)),
        };
        {
            // The first caller to finish retires the entry so that later
            // polls send afresh; callers that joined in time share the answer.
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                pending.remove(&key);
            }
        }
        Answer { result, sent }
    }

    /// Sends `request` once a slot is free, unless that is after `until`;
    /// sets `sent` when the request actually goes out.
    async fn send(
        &self,
        request: &ApiRequest,
        project_id: &str,
        until: Instant,
        sent: &mut bool,
    ) -> Result<Value, ApiError> {
        let _permit = self.in_flight.acquire().await;
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(Instant::now()).max(paused);
            // A slot past the caller's time is not taken, so it stays free
            // for a caller that can still use it.
            if slot >= until {
                return Err(self.too_late(request, false));
            }
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
        *sent = true;
        let timeout = until.saturating_duration_since(Instant::now());
        self.client.get(request, project_id, timeout).await
    }

    /// The transient error of a request that ran out of time, saying whether
    /// it was waiting for the server or never left the queue.
    fn too_late(&self, request: &ApiRequest, sent: bool) -> ApiError {
        let message = if sent {
            format!(
                "no answer from {} in time",
                self.client.base(request.service)
            )
        } else {
            "no answer in time: still queued behind the shared request limits (--max-concurrency, --max-rps), a pause after throttling or another wait's identical request".to_owned()
        };
        ApiError::Transient {
            status: 0,
            code: None,
            message,
            request_id: None,
        }
    }

    /// Pauses every wait's requests for `pause` after throttling.
    pub fn throttle(&self, pause: Duration) {
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        *paused = (*paused).max(Instant::now() + pause);
    }
}
