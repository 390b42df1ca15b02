//! What all waits share so that many of them stay gentle on the API: a cap on
//! requests in flight, a request rate that drops on throttling and recovers
//! on successes (see [`super::rate`]), a retry budget, a common pause only
//! when the server asks for one (`Retry-After`), coalescing of identical requests sent at the same moment, and
//! one fate for the credentials: until an answer proves them, one request at
//! a time tries them, and once one is rejected (401/403) no wait sends
//! another (the gateway locks an access key after 5 failed signatures).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

use crate::api::client::{ApiError, Body, Client, ErrorKind};
use crate::api::request::ApiRequest;

use super::rate::{RateController, RetryBudget, Throttle};

/// `None`: the limits could not send the request in time (see [`Gate::get`]).
type Shared = Arc<OnceCell<Option<Result<Body, ApiError>>>>;

/// Limits shared by every wait of a run.
pub struct Gate {
    client: Client,
    in_flight: Semaphore,
    limiter: Mutex<Limiter>,
    next_slot: Mutex<Instant>,
    paused_until: Mutex<Instant>,
    pending: Mutex<HashMap<String, Shared>>,
    trust: Mutex<Trust>,
    /// Held by the one request that tries credentials not yet proven.
    probe: tokio::sync::Mutex<()>,
}

/// The run's rate and retry budget, and how many throttles changed the rate
/// (a request whose slot was given at an older rate takes a new one).
#[derive(Debug)]
struct Limiter {
    rate: RateController,
    budget: RetryBudget,
    epoch: u64,
}

/// What the run has learnt about its credentials.
#[derive(Debug, Clone, PartialEq)]
enum Trust {
    /// No answer has shown whether the gateway accepts them.
    Unproven,
    /// The gateway answered past its authentication.
    Proven,
    /// A request was refused with this status (401 or 403; `None`: the
    /// credentials could not be obtained, as from IAM).
    Rejected {
        status: Option<u16>,
        request: String,
    },
}

/// What one answer teaches about the credentials, if anything. Only an
/// answer from past the gateway's authentication proves them: a success, or
/// a service's 404 for a job not (yet) visible. Transient errors,
/// throttling and other 4xx (the gateway's own "no such API" among them)
/// may come before the authentication, so they prove nothing.
fn learn(result: &Result<Body, ApiError>, request: &str) -> Option<Trust> {
    let Err(error) = result else {
        return Some(Trust::Proven);
    };
    match error.kind {
        ErrorKind::NotFound => Some(Trust::Proven),
        ErrorKind::Auth => Some(Trust::Rejected {
            status: error.status,
            request: request.to_owned(),
        }),
        ErrorKind::Transient
        | ErrorKind::Throttled { .. }
        | ErrorKind::Rejected
        | ErrorKind::Refused => None,
    }
}

/// The answer to one request, and whether this caller sent it (or shared
/// another wait's identical request).
pub struct Answer {
    pub result: Result<Body, ApiError>,
    pub sent: bool,
}

impl Gate {
    /// A gate allowing `concurrency` requests in flight and at most `rps`
    /// per second.
    pub fn new(client: Client, concurrency: usize, rps: f64) -> Self {
        let now = Instant::now();
        Gate {
            client,
            in_flight: Semaphore::new(concurrency.max(1)),
            limiter: Mutex::new(Limiter {
                rate: RateController::new(rps),
                budget: RetryBudget::new(),
                epoch: 0,
            }),
            next_slot: Mutex::new(now),
            paused_until: Mutex::new(now),
            pending: Mutex::new(HashMap::new()),
            trust: Mutex::new(Trust::Unproven),
            probe: tokio::sync::Mutex::new(()),
        }
    }

    /// The client, for URLs in plans and reports.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `request` (or joins an identical one already under way), or
    /// returns `None` without sending anything when the limits would hold it
    /// past `not_after` (the wait's deadline). A caller that joined another
    /// wait's request gives up, with `None`, as late as it would have on a
    /// request of its own: `timeout` after its deadline.
    pub async fn get(
        &self,
        request: &ApiRequest,
        project_id: &str,
        timeout: Duration,
        not_after: Instant,
    ) -> Option<Answer> {
        let key = format!("{project_id} {}", self.client.url(request));
        let cell = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.entry(key.clone()).or_default().clone()
        };
        let mut sent = false;
        // Bounds only a joiner: the sender's own wait is bounded tighter
        // inside `send`, and this must not cut the last poll, sent just
        // before the deadline, short of its answer.
        let give_up = super::later(not_after.max(Instant::now()), timeout);
        let result = tokio::time::timeout_at(
            give_up,
            cell.get_or_init(|| self.send(request, project_id, timeout, not_after, &mut sent)),
        )
        .await
        .ok()?
        .clone();
        {
            // The first caller to finish retires the entry so that later
            // polls send afresh; callers that joined in time share the answer.
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                pending.remove(&key);
            }
        }
        Some(Answer {
            result: result?,
            sent,
        })
    }

    /// Sends `request` within the limits, setting `sent` when it went out;
    /// `None` when the limits could not send it by `not_after`. Refused
    /// without sending once the credentials were rejected.
    async fn send(
        &self,
        request: &ApiRequest,
        project_id: &str,
        timeout: Duration,
        not_after: Instant,
        sent: &mut bool,
    ) -> Option<Result<Body, ApiError>> {
        if let Some(refusal) = self.refusal() {
            return Some(Err(refusal));
        }
        // Credentials not yet proven are tried by one request at a time: a
        // bad key then costs one failed signature, not one per wait.
        let _probe = if self.trust() == Trust::Proven {
            None
        } else {
            let guard = tokio::time::timeout_at(not_after, self.probe.lock())
                .await
                .ok()?;
            if let Some(refusal) = self.refusal() {
                return Some(Err(refusal));
            }
            (self.trust() != Trust::Proven).then_some(guard)
        };
        // The limits may delay a request but never hold it past the wait's
        // deadline: it would be sent after the wait had timed out, and the
        // run would end that much late (a 429 pause lasts up to the poll's
        // `max`, a queue behind --max-rps as long as it is). A request that
        // can go at once still goes, so the last poll fitted to the deadline
        // is made.
        let _permit = tokio::time::timeout_at(not_after, self.in_flight.acquire())
            .await
            .ok()?;
        loop {
            let (slot, epoch) = {
                let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
                let (interval, epoch) = self.interval();
                let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let slot = (*next).max(now).max(paused);
                if slot > not_after.max(now) {
                    return None;
                }
                *next = super::later(slot, interval);
                (slot, epoch)
            };
            tokio::time::sleep_until(slot).await;
            // A throttle (or a server-asked pause) answered while this
            // request waited for its slot holds it too: it takes a new slot
            // at the new rate instead of going out into the throttling.
            let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            if paused <= Instant::now() && self.interval().1 == epoch {
                break;
            }
        }
        // Another wait's request may have been refused while this one
        // waited for its slot.
        if let Some(refusal) = self.refusal() {
            return Some(Err(refusal));
        }
        *sent = true;
        let result = self.client.get(request, project_id, timeout).await;
        self.observe(&result);
        let what = format!("GET {}", request.path_and_query());
        if let Some(learnt) = learn(&result, &what) {
            let mut trust = self.trust.lock().unwrap_or_else(|e| e.into_inner());
            // A rejection is final: a later success of a request sent before
            // it does not make the credentials good again.
            if !matches!(*trust, Trust::Rejected { .. }) {
                *trust = learnt;
            }
        }
        Some(result)
    }

    fn trust(&self) -> Trust {
        self.trust.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The error of a request not sent because the credentials were
    /// rejected by an earlier one.
    fn refusal(&self) -> Option<ApiError> {
        let Trust::Rejected { status, request } = self.trust() else {
            return None;
        };
        // No status: the credentials themselves could not be obtained.
        let status = status.map_or_else(|| "no credentials".to_owned(), |s| format!("HTTP {s}"));
        Some(ApiError::new(
            ErrorKind::Auth,
            format!(
                "not sent: credentials were rejected by an earlier request ({status} for {request})"
            ),
        ))
    }

    /// The spacing of requests at the current rate, and the rate's epoch.
    fn interval(&self) -> (Duration, u64) {
        let limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        (
            Duration::from_secs_f64(1.0 / limiter.rate.rate()),
            limiter.epoch,
        )
    }

    /// Adapts the rate to one answer: a throttle slows every wait down
    /// (without stopping them), a success refunds the retry budget, any
    /// other answer (it passed the throttling) lets the rate climb back.
    fn observe(&self, result: &Result<Body, ApiError>) {
        let mut limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Err(ApiError {
                kind: ErrorKind::Throttled { .. },
                message,
                ..
            }) => {
                limiter.rate.throttled(&Throttle::parse(message));
                limiter.epoch += 1;
                let interval = Duration::from_secs_f64(1.0 / limiter.rate.rate());
                drop(limiter);
                // Slots handed out at the old rate are given again, from now
                // on, at the new one.
                let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
                *next = super::later(Instant::now(), interval);
            }
            Ok(_) => {
                limiter.budget.refund();
                limiter.rate.succeeded();
            }
            Err(_) => limiter.rate.succeeded(),
        }
    }

    /// Takes one retry from the run's shared budget; `false` when it is
    /// spent (the API has failed or throttled far more often than it
    /// answered, and retrying would only add to its load).
    pub fn retry(&self) -> bool {
        let mut limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        limiter.budget.spend()
    }

    /// Pauses every wait's requests for `pause`, as a `Retry-After` asks.
    pub fn pause(&self, pause: Duration) {
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        *paused = (*paused).max(super::later(Instant::now(), pause));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_past_authentication_prove_the_credentials() {
        let answer = |kind, status| ApiError::new(kind, "m").answered(status, None, None);
        let auth = Err(answer(ErrorKind::Auth, 401));
        let transient = Err(answer(ErrorKind::Transient, 503));
        let throttled = Err(answer(ErrorKind::Throttled { retry_after: None }, 429));
        let not_found = Err(answer(ErrorKind::NotFound, 404));
        assert_eq!(
            learn(&auth, "GET /x"),
            Some(Trust::Rejected {
                status: Some(401),
                request: "GET /x".into()
            })
        );
        assert_eq!(learn(&transient, "GET /x"), None);
        assert_eq!(learn(&throttled, "GET /x"), None);
        let rejected = Err(ApiError::new(ErrorKind::Rejected, "m").answered(
            404,
            Some("APIG.0101".into()),
            None,
        ));
        assert_eq!(learn(&rejected, "GET /x"), None);
        assert_eq!(learn(&not_found, "GET /x"), Some(Trust::Proven));
    }
}
