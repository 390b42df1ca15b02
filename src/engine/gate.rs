//! What all waits share so that many of them stay gentle on the API: a cap on
//! requests in flight, request rates per API and for the process that drop on
//! throttling and recover on successes (see [`super::rate`]), a retry
//! budget, a pause of the throttled APIs only when the server asks for one
//! (`Retry-After`), no request at all while a quota cannot reset before the
//! wait's deadline, coalescing of identical requests sent at the same
//! moment, and one fate for the credentials: until an answer proves them,
//! one request at a time tries them, and once one is rejected (401/403) no
//! wait sends another (the gateway locks an access key after 5 failed
//! signatures).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};
use tokio::time::Instant;

use crate::api::client::{ApiError, Body, Client, ErrorKind};
use crate::api::request::ApiRequest;

use super::rate::{Scope, Throttle};

mod limiter;
use limiter::{Hold, Limiter};

/// `None`: the limits could not send the request in time (see [`Gate::get`]).
type Shared = Arc<OnceCell<Option<Result<Body, ApiError>>>>;

/// Limits shared by every wait of a run.
pub(crate) struct Gate {
    client: Client,
    in_flight: Semaphore,
    limiter: Mutex<Limiter>,
    pending: Mutex<HashMap<String, Shared>>,
    trust: Mutex<Trust>,
    /// Held by the one request that tries credentials not yet proven.
    probe: tokio::sync::Mutex<()>,
}

/// The API a request is for, which the gateway's per-API policies count:
/// the service and the path with the project and job ids left out, so every
/// job of one operation shares a key
/// (`appstream GET /v1/{project_id}/image-server-jobs/{job_id}`). Kept to
/// this one function so that an operation table can take its place.
pub(crate) fn api_of(request: &ApiRequest) -> String {
    /// Collections whose next segment is a job id.
    const BY_ID: [&str; 3] = ["image-server-jobs", "workspace-jobs", "job"];
    let mut out = format!("{} GET ", request.service);
    let mut previous = "";
    for (i, segment) in request.path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if i == 2 {
            out.push_str("{project_id}");
        } else if i > 2 && BY_ID.contains(&previous) {
            out.push_str("{job_id}");
        } else {
            out.push_str(segment);
        }
        previous = segment;
    }
    out
}

/// How long a request going out at `now` may take: the `asked` timeout
/// was taken when the poll began, and the limits (a `Retry-After` hold, a
/// slowed rate) may have kept the request back nearly to `not_after` since;
/// it then gets what is left of the wait, at least [`MIN_SEND_TIMEOUT`],
/// so a server that never answers cannot keep the wait open long past its
/// deadline.
fn send_timeout(asked: Duration, not_after: Instant, now: Instant) -> Duration {
    asked.min(
        not_after
            .saturating_duration_since(now)
            .max(MIN_SEND_TIMEOUT),
    )
}

/// The least time a request gets, even at its wait's deadline (the last
/// poll fitted to it).
const MIN_SEND_TIMEOUT: Duration = Duration::from_secs(1);

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
pub(crate) struct Answer {
    pub(crate) result: Result<Body, ApiError>,
    pub(crate) sent: bool,
}

impl Gate {
    /// A gate allowing `concurrency` requests in flight and at most `rps`
    /// per second.
    pub(crate) fn new(client: Client, concurrency: usize, rps: f64) -> Self {
        Gate {
            client,
            in_flight: Semaphore::new(concurrency.max(1)),
            limiter: Mutex::new(Limiter::new(rps)),
            pending: Mutex::new(HashMap::new()),
            trust: Mutex::new(Trust::Unproven),
            probe: tokio::sync::Mutex::new(()),
        }
    }

    /// The client, for URLs in plans and reports.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `request` (or joins an identical one already under way), or
    /// returns `None` without sending anything when the limits would hold it
    /// past `not_after` (the wait's deadline). A caller that joined another
    /// wait's request gives up, with `None`, as late as it would have on a
    /// request of its own: `timeout` after its deadline.
    pub(crate) async fn get(
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
        // A quota that cannot reset before the deadline refuses the request
        // before it queues for the credentials' probe, which a request held
        // by that same quota may keep until the hold ends.
        let api = api_of(request);
        if let Some(refusal) = self.held(&api, not_after) {
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
        // run would end that much late (a `Retry-After` hold, a queue behind
        // the rate as long as it is). A request that can go at once still
        // goes, so the last poll fitted to the deadline is made. It waits
        // for its turn before taking a place in flight, so that requests
        // queued behind a slowed API do not hold the places other APIs need.
        if let Some(refusal) = self.pace(&api, not_after).await? {
            return Some(Err(refusal));
        }
        let _permit = tokio::time::timeout_at(not_after, self.in_flight.acquire())
            .await
            .ok()?;
        // Another wait's request may have been refused while this one
        // waited for its slot.
        if let Some(refusal) = self.refusal() {
            return Some(Err(refusal));
        }
        *sent = true;
        let timeout = send_timeout(timeout, not_after, Instant::now());
        let result = self.client.get(request, project_id, timeout).await;
        self.observe(&api, &result);
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

    /// The refusal of a request to `api` that a hold makes pointless
    /// before `not_after`, if one does now.
    fn held(&self, api: &str, not_after: Instant) -> Option<ApiError> {
        let limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        limiter.refusal(api, Instant::now(), not_after)
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
        let answered = status.map_or_else(|| "no credentials".to_owned(), |s| format!("HTTP {s}"));
        let mut refusal = ApiError::new(
            ErrorKind::Auth,
            format!(
                "not sent: credentials were rejected by an earlier request ({answered} for {request})"
            ),
        );
        // The status of the answer that rejected them, which the message
        // names: a wait's hint depends on it (a 403 is a permission the
        // credentials lack, not a key to check before the gateway locks it).
        refusal.status = status;
        Some(refusal)
    }

    /// Waits until a request to `api` may go: its API's turn, then the
    /// process's, neither before a hold on them ends. `None` when that would
    /// be after `not_after`; `Some(Some(refusal))` when a hold makes any
    /// request before `not_after` pointless. Taking the API's turn first
    /// means a slowed API queues only its own requests, never the others'.
    async fn pace(&self, api: &str, not_after: Instant) -> Option<Option<ApiError>> {
        let own = Some(api.to_owned());
        'retake: loop {
            let mut taken = Vec::with_capacity(2);
            for key in [&own, &None] {
                let slot = {
                    let mut limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
                    let now = Instant::now();
                    if let Some(refusal) = limiter.refusal(api, now, not_after) {
                        return Some(Some(refusal));
                    }
                    // A throttle answered while this request waited for a
                    // turn holds it too: it takes a new turn at the new rate
                    // instead of going out into the throttling.
                    if taken.iter().any(|(k, e)| limiter.epoch(k) != *e) {
                        continue 'retake;
                    }
                    let next = limiter.next.get(key).copied().unwrap_or(now);
                    let slot = next.max(now).max(limiter.held_until(api).unwrap_or(now));
                    if slot > not_after.max(now) {
                        return None;
                    }
                    let interval = limiter.interval(key);
                    limiter
                        .next
                        .insert(key.clone(), super::later(slot, interval));
                    taken.push((key.clone(), limiter.epoch(key)));
                    slot
                };
                tokio::time::sleep_until(slot).await;
            }
            let limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if let Some(refusal) = limiter.refusal(api, now, not_after) {
                return Some(Some(refusal));
            }
            let held = limiter.held_until(api).is_some_and(|h| h > now);
            if !held && taken.iter().all(|(k, e)| limiter.epoch(k) == *e) {
                return Some(None);
            }
        }
    }

    /// Adapts the rates to one answer from `api`: a throttle slows what it
    /// concerns (without stopping it) and keeps what it asks of later
    /// requests, a success refunds the retry budget, any other answer (it
    /// passed the throttling) lets the rates climb back.
    fn observe(&self, api: &str, result: &Result<Body, ApiError>) {
        let mut limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Err(ApiError {
                kind: ErrorKind::Throttled { retry_after },
                status,
                code,
                message,
                ..
            }) => {
                let throttle = Throttle::parse(message);
                let key = match limiter.rates.throttled(api, &throttle) {
                    Scope::Api => Some(api.to_owned()),
                    Scope::All => None,
                };
                *limiter.epochs.entry(key.clone()).or_default() += 1;
                // Turns handed out at the old rate are given again, from
                // now on, at the new one.
                let now = Instant::now();
                let interval = limiter.interval(&key);
                limiter
                    .next
                    .insert(key.clone(), super::later(now, interval));
                let until = retry_after.map(|after| super::later(now, after));
                limiter.hold(
                    key,
                    Hold {
                        throttle,
                        until,
                        status: *status,
                        code: code.clone(),
                    },
                );
            }
            Ok(_) => {
                limiter.budget.refund();
                limiter.rates.succeeded(api);
            }
            Err(_) => limiter.rates.succeeded(api),
        }
    }

    /// Takes one retry from the run's shared budget; `false` when it is
    /// spent (the API has failed or throttled far more often than it
    /// answered, and retrying would only add to its load).
    pub(crate) fn retry(&self) -> bool {
        let mut limiter = self.limiter.lock().unwrap_or_else(|e| e.into_inner());
        limiter.budget.spend()
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

    /// While a request holding the credentials' probe sleeps out a hold,
    /// another wait whose deadline the hold outlasts is refused at once (a
    /// hard stop, exit 5), not left queued for the probe to its deadline.
    #[tokio::test]
    async fn a_hold_refuses_a_request_before_it_queues_for_the_probe() {
        use crate::api::Service;
        use crate::api::client::ClientOptions;
        use crate::api::credentials::{Credentials, Secret};
        use crate::api::endpoints::{Endpoints, Overrides};
        let overrides = Overrides {
            cli: vec![(None, "http://127.0.0.1:9".into())],
            ..Overrides::default()
        };
        let endpoints = Endpoints::resolve("", &overrides, true).unwrap();
        let client = Client::new(
            endpoints,
            Credentials::Token(Secret::new("t")),
            &ClientOptions::default(),
        )
        .unwrap();
        let gate = Gate::new(client, 4, 10.0);
        let now = Instant::now();
        let later = |s| super::super::later(now, Duration::from_secs(s));
        gate.limiter.lock().unwrap().hold(
            None,
            Hold {
                throttle: Throttle::parse("Too Many Requests"),
                until: Some(later(100)),
                status: Some(429),
                code: None,
            },
        );
        // Another wait's request tries the credentials, held by the quota.
        let _probe = gate.probe.lock().await;
        let request = ApiRequest::new(Service::AppStream, "/v1/p/image-server-jobs/1".into());
        let answer = gate
            .get(&request, "p", Duration::from_secs(1), later(2))
            .await
            .expect("refused at once, not given up at the deadline");
        assert!(!answer.sent);
        let Err(error) = answer.result else {
            panic!("not refused")
        };
        assert!(
            matches!(error.kind, ErrorKind::Throttled { .. }),
            "{error:?}"
        );
    }

    #[test]
    fn a_request_sent_late_gets_only_the_time_left() {
        let s = Duration::from_secs;
        let now = Instant::now();
        let deadline = super::super::later(now, s(2));
        // Held until 2 s before the deadline: 2 s, not the 30 s asked.
        assert_eq!(send_timeout(s(30), deadline, now), s(2));
        // At or past the deadline: the least a request gets.
        let late = super::super::later(now, s(5));
        assert_eq!(send_timeout(s(30), deadline, late), MIN_SEND_TIMEOUT);
        // Never more than asked.
        assert_eq!(
            send_timeout(s(1), super::super::later(now, s(60)), now),
            s(1)
        );
    }

    #[test]
    fn every_job_of_one_operation_shares_its_api_key() {
        use crate::api::Service;
        let key = |service, path: &str| api_of(&ApiRequest::new(service, path.into()));
        let p = "0123456789abcdef0123456789abcdef";
        for (service, path, want) in [
            (
                Service::AppStream,
                format!("/v1/{p}/image-server-jobs/800000000000000001"),
                "/v1/{project_id}/image-server-jobs/{job_id}",
            ),
            (
                Service::Workspace,
                format!("/v2/{p}/workspace-jobs/3f1c"),
                "/v2/{project_id}/workspace-jobs/{job_id}",
            ),
            (
                Service::Workspace,
                format!("/v2/{p}/job/actions"),
                "/v2/{project_id}/job/{job_id}",
            ),
            (
                Service::AppStream,
                format!("/v1/{p}/image-server-jobs"),
                "/v1/{project_id}/image-server-jobs",
            ),
            (
                Service::AppStream,
                format!("/v1/{p}/image-server-sub-jobs/actions/count"),
                "/v1/{project_id}/image-server-sub-jobs/actions/count",
            ),
            (
                Service::Workspace,
                format!("/v2/{p}/workspace-sub-jobs"),
                "/v2/{project_id}/workspace-sub-jobs",
            ),
        ] {
            let got = key(service, &path);
            assert!(got.ends_with(&format!("GET {want}")), "{path}: {got}");
        }
        // The query (job id filters, pages) is not part of the API.
        let a = ApiRequest::new(Service::AppStream, format!("/v1/{p}/app-server-sub-jobs"))
            .with("job_id", "a");
        let b = ApiRequest::new(Service::AppStream, format!("/v1/{p}/app-server-sub-jobs"))
            .with("job_id", "b");
        assert_eq!(api_of(&a), api_of(&b));
        // The same path on the two services is two APIs.
        assert_ne!(
            key(Service::AppStream, "/v2/p/job/1"),
            key(Service::Workspace, "/v2/p/job/1")
        );
    }
}
