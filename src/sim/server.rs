//! The simulator's server: one listener, a hyper connection per client, and
//! in front of the router the cross-cutting behaviour every API request
//! gets (request id, counting, authentication, injected faults).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::auth::{self, SimAuth};
use super::clock::Clock;
use super::conn::{ResetSwitch, ResettableStream};
use super::endpoint::Endpoint;
use super::faults::{self, Action, Faults};
use super::routes;
use super::scenario::Scenario;
use super::stats::{Counters, Injected, Stats};
use super::world::World;

/// Requests bodies are irrelevant to these GET endpoints; the cap only keeps
/// a misbehaving client from exhausting memory.
const MAX_BODY: usize = 1 << 20;

/// How the simulator runs.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    pub auth: SimAuth,
    /// Replaces the scenario's faults when set.
    pub faults: Option<Faults>,
    /// Replaces the scenario's seed for list order and fault decisions.
    pub seed: Option<u64>,
}

/// State shared by every connection.
#[derive(Debug)]
pub struct Shared {
    pub world: World,
    pub counters: Counters,
    pub faults: Faults,
    pub auth: SimAuth,
    /// The simulated IAM, when the scenario has `iam:`.
    pub iam: Option<super::iam::Iam>,
    next_request: AtomicU64,
    /// When each API last accepted requests, within its quota's window:
    /// one count per operation, shared by every client.
    accepted: Mutex<HashMap<Endpoint, VecDeque<tokio::time::Instant>>>,
}

impl Shared {
    /// The gateway's refusal when `endpoint` is over a quota (the daily one
    /// counts every request answered so far, `number`), else `None` and the
    /// request counts against the rate policy.
    fn over_quota(&self, endpoint: Endpoint, number: u64) -> Option<serde_json::Value> {
        if self.faults.daily_quota.is_some_and(|daily| number >= daily) {
            return Some(faults::daily_quota_body());
        }
        let quota = self.faults.quota_of(endpoint)?;
        let now = tokio::time::Instant::now();
        let mut accepted = self.accepted.lock().unwrap_or_else(|e| e.into_inner());
        let log = accepted.entry(endpoint).or_default();
        while log.front().is_some_and(|t| now - *t >= quota.window) {
            log.pop_front();
        }
        if log.len() >= quota.limit as usize {
            return Some(quota.body());
        }
        log.push_back(now);
        None
    }
}

/// A running simulator. Dropping it stops serving too; [`Simulator::shutdown`]
/// also waits until every connection is closed.
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Simulator {
    /// Binds `addr` (port 0 picks a free port) and starts serving `scenario`.
    pub async fn start(
        scenario: Scenario,
        config: SimConfig,
        addr: SocketAddr,
    ) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut faults = config.faults.unwrap_or_else(|| scenario.faults.clone());
        if let Some(seed) = config.seed {
            faults.seed = seed;
        }
        let order_seed = config.seed.unwrap_or(scenario.seed);
        let counters = Counters::new(&scenario);
        let iam = scenario.iam.clone().map(super::iam::Iam::new);
        let shared = Arc::new(Shared {
            iam,
            world: World::new(scenario, Clock::start(), order_seed),
            counters,
            faults,
            auth: config.auth,
            next_request: AtomicU64::new(0),
            accepted: Mutex::new(HashMap::new()),
        });
        let router = routes::router(shared.clone());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), router, stopped));
        Ok(Simulator {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`, the endpoint to give clients for both services.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Time since the simulator started: the clock of its timelines and of
    /// [`Stats::requests_per_second`].
    pub fn elapsed(&self) -> std::time::Duration {
        self.shared.world.now()
    }

    /// The request counters and per-job ground truth so far.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting, drops every connection (hanging ones included) and
    /// waits for that to finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    router: Router,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // A send or the sender being dropped both mean stop.
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, shared.clone(), router.clone()));
                }
                // Typically out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// The error that makes hyper drop a connection without answering.
#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for Reset {}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>, router: Router) {
    let _ = stream.set_nodelay(true);
    let switch = ResetSwitch::default();
    let io = TokioIo::new(ResettableStream::new(stream, switch.clone()));
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        handle(shared.clone(), router.clone(), switch.clone(), request)
    });
    // Connection errors (client gone, injected resets) end only this connection.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .await;
}

async fn handle(
    shared: Arc<Shared>,
    router: Router,
    switch: ResetSwitch,
    request: Request<Incoming>,
) -> Result<Response<Body>, Reset> {
    let request_id = new_request_id();
    let path = request.uri().path().to_owned();
    if path.starts_with("/_sim/") {
        let response = call(&router, request.map(Body::new)).await;
        return Ok(with_request_id(response, &request_id));
    }
    if (path.starts_with("/v3.0/") || path.starts_with("/v5/"))
        && let Some(iam) = &shared.iam
    {
        let response = iam.handle(&shared.counters, request.map(Body::new)).await;
        return Ok(with_request_id(response, &request_id));
    }
    let endpoint = Endpoint::classify(&path);
    let counters = &shared.counters;
    // Held until this handler returns or is dropped (a hang whose client
    // gives up), so the peak counts every request the server is busy with.
    let _in_flight = counters.begin(endpoint, shared.world.now());
    let number = shared.next_request.fetch_add(1, Ordering::SeqCst);
    if let Some(body) = shared.over_quota(endpoint, number) {
        counters.injected(Injected::Throttled);
        counters.answered(endpoint, 429);
        return Ok(with_request_id(
            routes::json_response(429, &body),
            &request_id,
        ));
    }
    let decision = shared.faults.decide(number);
    if let Some(delay) = decision.delay {
        counters.injected(Injected::Slowed);
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = request.into_parts();
    let response = match decision.action {
        Action::Hang => {
            counters.injected(Injected::Hang);
            // Ends only when the connection is dropped (client gone or shutdown).
            std::future::pending::<()>().await;
            return Err(Reset);
        }
        Action::Reset => {
            counters.injected(Injected::Reset);
            switch.trip();
            return Err(Reset);
        }
        _ => {
            let body = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
                Ok(bytes) => bytes,
                Err(_) => {
                    let response = routes::json_response(
                        413,
                        &serde_json::json!({
                            "error_code": "WKS.00000413",
                            "error_msg": "The request body is too large.",
                        }),
                    );
                    counters.answered(endpoint, 413);
                    return Ok(with_request_id(response, &request_id));
                }
            };
            let temporary = shared.iam.as_ref().and_then(|iam| {
                iam.check(counters, &parts.method, &parts.uri, &parts.headers, &body)
            });
            let verdict = temporary.unwrap_or_else(|| {
                auth::check(
                    &shared.auth,
                    &parts.method,
                    &parts.uri,
                    &parts.headers,
                    &body,
                )
            });
            match verdict {
                Err(rejection) => {
                    counters.injected(Injected::AuthRejected);
                    routes::json_response(rejection.status, &rejection.body)
                }
                Ok(()) => {
                    answer(
                        &shared,
                        &router,
                        decision.action,
                        Request::from_parts(parts, Body::from(body)),
                    )
                    .await
                }
            }
        }
    };
    counters.answered(endpoint, response.status().as_u16());
    Ok(with_request_id(response, &request_id))
}

/// The answer to an authenticated request, with any response-level fault.
async fn answer(
    shared: &Shared,
    router: &Router,
    action: Action,
    request: Request<Body>,
) -> Response<Body> {
    let counters = &shared.counters;
    match action {
        Action::Throttle => {
            counters.injected(Injected::Throttled);
            let mut response = routes::json_response(429, &faults::throttle_body());
            if let Some(after) = shared.faults.retry_after {
                // Retry-After takes whole seconds; round up so clients never retry early.
                let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert("retry-after", value);
                }
            }
            response
        }
        Action::ServerError(status) => {
            counters.injected(Injected::ServerError);
            routes::json_response(status, &faults::server_error_body(status))
        }
        Action::Malformed(how) => {
            let response = call(router, request).await;
            if !response.status().is_success() {
                return response;
            }
            counters.injected(Injected::Malformed);
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let mut response = Response::from_parts(parts, Body::from(faults::spoil(&bytes, how)));
            // The length changed; let hyper compute the new one.
            response.headers_mut().remove("content-length");
            response
        }
        Action::Normal | Action::Hang | Action::Reset => call(router, request).await,
    }
}

async fn call(router: &Router, request: Request<Body>) -> Response<Body> {
    let service = TowerToHyperService::new(router.clone());
    match hyper::service::Service::call(&service, request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn with_request_id(mut response: Response<Body>, request_id: &str) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A random 32-hex-digit id, the shape the API gateway uses.
fn new_request_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}
