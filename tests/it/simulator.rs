//! The simulator end to end over HTTP: every endpoint's shape, filters,
//! paging, the 400/404 rules, faults and counters. Timelines use `at: 0s` or
//! far-future offsets so that nothing depends on timing.

use std::net::SocketAddr;
use std::time::Duration;

use jobgate::sim::{Endpoint, Faults, Scenario, SimAuth, SimConfig, Simulator};
use serde_json::Value;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

const SCENARIO: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
seed: 11
jobs:
  - id: img-1
    kind: image_job
    job_type: CREATE_SERVER_IMAGE
    sub_jobs:
      - id: img-1-a
        job_type: CREATE_SERVER
        resource: {id: srv-1, name: builder}
        timeline: [{at: 0s, status: SUCCESS}]
      - id: img-1-b
        job_type: CREATE_SERVER_IMAGE
        resource: {id: image-1, name: golden}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00129901, message: capture failed}
      - id: img-1-c
        job_type: DELETE_SERVER
        timeline: [{at: 0s, status: RUNNING}, {at: 1000h, status: SUCCESS}]
      - id: img-1-d
        job_type: BUILD_IMAGE
        timeline: [{at: 0s, status: WAITING}]
  - id: img-2
    kind: image_job
    job_type: DELETE_IMAGE
    timeline: [{at: 0s, status: COMPLETE}]
  - id: img-later
    kind: image_job
    visible_after: 1000h
    timeline: [{at: 0s, status: RUNNING}]
  - id: app-1
    kind: app_server_job
    job_type: CREATE_SERVER
    timeline: [{at: 0s, status: RUNNING}]
    sub_jobs:
      - id: app-1-a
        job_type: UPGRADE_ACCESS_AGENT
        resource: {id: srv-9, name: app-9}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00000001, message: agent upgrade failed}
  - id: desk-1
    kind: desktop_job
    desktop_pool_id: pool-a
    sub_jobs:
      - id: desk-1-a
        resource: {id: d-1, name: desk-one, user_name: alice, product_id: workspace.c2.large.windows, ip_address: 10.0.0.1}
        timeline: [{at: 0s, status: SUCCESS}]
      - id: desk-1-b
        resource: {id: d-2, name: desk-two, user_name: bob}
        timeline: [{at: 0s, status: RUNNING}, {at: 1000h, status: SUCCESS}]
        progress: [{at: 0s, value: 40}, {at: 1000h, value: 100}]
  - id: desk-fail
    kind: desktop_job
    job_type: applyWorkspace
    sub_jobs:
      - id: desk-fail-a
        job_type: applyWorkspace
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00010061, message: quota exceeded}
fleets:
  - job_id: app-fleet
    kind: app_server_job
    count: 250
    duration: {min: 0s, max: 0s}
  - job_id: desk-fleet
    kind: desktop_job
    count: 1200
    duration: {min: 0s, max: 0s}
"#;

fn scenario() -> Scenario {
    Scenario::from_yaml(SCENARIO, "tests/it/simulator.rs").expect("test scenario is valid")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(config: SimConfig) -> Simulator {
    Simulator::start(scenario(), config, loopback())
        .await
        .unwrap()
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    fn new(sim: &Simulator) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: sim.base_url(),
        }
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(response.headers().contains_key("x-request-id"), "{path}");
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}: {text}"));
        (status, body)
    }

    async fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }
}

fn ids(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

#[tokio::test]
async fn image_server_jobs() {
    let sim = start(SimConfig::default()).await;
    let c = Client::new(&sim);

    let job = c
        .ok(&format!("/v1/{PROJECT}/image-server-jobs/img-1"))
        .await;
    assert_eq!(job["id"], "img-1");
    assert_eq!(job["job_type"], "CREATE_SERVER_IMAGE");
    assert_eq!(job["status"], "RUNNING", "derived: one sub-job still runs");
    assert_eq!(job["sub_jobs_total"], 4);
    let begin = job["begin_time"].as_str().unwrap();
    assert!(begin.ends_with('Z') && begin.contains('T'), "{begin}");
    assert!(job["end_time"].is_null());
    let failed = job["sub_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sub| sub["id"] == "img-1-b")
        .unwrap();
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["job_execute_info"]["error_code"], "WKS.00129901");
    assert_eq!(
        failed["job_execute_info"]["error_message"],
        "capture failed"
    );
    assert_eq!(failed["job_resource_info"]["resource_id"], "image-1");
    assert_eq!(failed["job_resource_info"]["resource_name"], "golden");
    assert_eq!(failed["project_id"], PROJECT);
    assert_eq!(failed["job_id"], "img-1");
    assert!(failed["end_time"].as_str().is_some());

    let unknown_status = c
        .ok(&format!("/v1/{PROJECT}/image-server-jobs/img-2"))
        .await;
    assert_eq!(unknown_status["status"], "COMPLETE");
    assert_eq!(unknown_status["sub_jobs"], Value::Array(vec![]));

    let list = c.ok(&format!("/v1/{PROJECT}/image-server-jobs")).await;
    assert_eq!(list["count"], 2, "img-later is not visible yet");
    assert_eq!(sorted(ids(&list["items"])), ["img-1", "img-2"]);
    assert!(list["items"][0].get("sub_jobs").is_none());
    assert!(list["items"][0]["sub_jobs_total"].is_u64());
    let filtered = c
        .ok(&format!(
            "/v1/{PROJECT}/image-server-jobs?status=COMPLETE&job_type=DELETE_IMAGE"
        ))
        .await;
    assert_eq!(ids(&filtered["items"]), ["img-2"]);

    let subs = c
        .ok(&format!(
            "/v1/{PROJECT}/image-server-sub-jobs?job_type=CREATE_SERVER_IMAGE&job_id=img-1"
        ))
        .await;
    assert_eq!(subs["count"], 1);
    assert_eq!(ids(&subs["items"]), ["img-1-b"]);
    let ok_sub = c
        .ok(&format!(
            "/v1/{PROJECT}/image-server-sub-jobs?job_type=CREATE_SERVER&status=SUCCESS"
        ))
        .await;
    assert_eq!(ok_sub["items"][0]["job_execute_info"]["error_code"], "");

    let count = |query: &'static str| {
        let c = &c;
        async move {
            c.ok(&format!(
                "/v1/{PROJECT}/image-server-sub-jobs/actions/count{query}"
            ))
            .await["count"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(count("").await, 3, "default types exclude BUILD_IMAGE");
    assert_eq!(count("?job_type=BUILD_IMAGE,DELETE_SERVER").await, 2);
    assert_eq!(count("?job_type=CREATE_SERVER&status=SUCCESS").await, 1);
    assert_eq!(count("?job_id=img-2").await, 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn app_server_jobs_and_paging() {
    let sim = start(SimConfig::default()).await;
    let c = Client::new(&sim);

    let job = c.ok(&format!("/v2/{PROJECT}/job/app-1")).await;
    assert_eq!(job["status"], "RUNNING", "own timeline wins over sub-jobs");
    assert_eq!(job["sub_jobs_total"], 1);
    let sub = &job["sub_jobs"][0];
    assert_eq!(sub["error_code"], "WKS.00000001");
    assert_eq!(sub["error_message"], "agent upgrade failed");
    assert!(sub.get("job_execute_info").is_none());
    assert_eq!(sub["job_resource_info"]["resource_name"], "app-9");

    let fleet_job = c.ok(&format!("/v2/{PROJECT}/job/app-fleet")).await;
    assert_eq!(fleet_job["status"], "SUCCESS");
    assert_eq!(fleet_job["sub_jobs_total"], 250);

    // 250 fleet sub-jobs at the maximum page size of 100.
    let mut seen = Vec::new();
    for (offset, expected) in [(0, 100), (100, 100), (200, 50), (300, 0)] {
        let page = c
            .ok(&format!(
                "/v1/{PROJECT}/app-server-sub-jobs?job_id=app-fleet&offset={offset}&limit=100"
            ))
            .await;
        assert_eq!(page["count"], 250);
        assert_eq!(
            page["items"].as_array().unwrap().len(),
            expected,
            "offset {offset}"
        );
        seen.extend(ids(&page["items"]));
    }
    let unique: std::collections::HashSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 250, "pages neither overlap nor miss items");
    assert_ne!(seen, sorted(seen.clone()), "order is not sorted");
    let again = c
        .ok(&format!(
            "/v1/{PROJECT}/app-server-sub-jobs?job_id=app-fleet&limit=100"
        ))
        .await;
    assert_eq!(ids(&again["items"]), seen[..100], "order is stable");

    let default_page = c.ok(&format!("/v1/{PROJECT}/app-server-sub-jobs")).await;
    assert_eq!(default_page["count"], 251);
    assert_eq!(default_page["items"].as_array().unwrap().len(), 10);

    let count = c
        .ok(&format!("/v1/{PROJECT}/app-server-sub-jobs/actions/count?job_type=UPGRADE_ACCESS_AGENT,REINSTALL_OS"))
        .await;
    assert_eq!(count["count"], 1);
    let count = c
        .ok(&format!(
            "/v1/{PROJECT}/app-server-sub-jobs/actions/count?status=FAILED"
        ))
        .await;
    assert_eq!(count["count"], 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn workspace_jobs() {
    let sim = start(SimConfig::default()).await;
    let c = Client::new(&sim);

    let job = c.ok(&format!("/v2/{PROJECT}/workspace-jobs/desk-1")).await;
    assert_eq!(job["status"], "RUNNING");
    assert_eq!(job["sub_jobs_total"], 2);
    assert!(job["job_error_code"].is_null());
    let begin = job["begin_time"].as_str().unwrap();
    assert_eq!(begin.len(), "2020-04-10 06:45:14".len(), "{begin}");
    assert_eq!(&begin[10..11], " ");
    let running = job["sub_jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sub| sub["id"] == "desk-1-b")
        .unwrap();
    assert_eq!(running["process"], 40);
    assert_eq!(running["entities"]["desktop_id"], "d-2");
    assert_eq!(running["entities"]["user_name"], "bob");
    assert_eq!(running["job_id"], "desk-1");

    let failed = c
        .ok(&format!("/v2/{PROJECT}/workspace-jobs/desk-fail"))
        .await;
    assert_eq!(failed["status"], "FAILED");
    assert_eq!(failed["job_error_code"], "WKS.00010061");
    assert_eq!(failed["fail_reason"], "quota exceeded");
    assert_eq!(failed["sub_jobs"][0]["error_code"], "WKS.00010061");
    assert_eq!(failed["sub_jobs"][0]["fail_reason"], "quota exceeded");

    let list = c
        .ok(&format!("/v2/{PROJECT}/workspace-sub-jobs?job_id=desk-1"))
        .await;
    assert_eq!(list["total_count"], 2);
    let done = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|sub| sub["id"] == "desk-1-a")
        .unwrap();
    for field in [
        "desktop_id",
        "desktop_name",
        "user_name",
        "product_id",
        "ip_address",
    ] {
        assert!(done["entities"][field].is_string(), "{field}");
    }
    assert_eq!(done["process"], 100);
    assert_eq!(done["status"], "SUCCESS");

    let pool = c
        .ok(&format!(
            "/v2/{PROJECT}/workspace-sub-jobs?desktop_pool_id=pool-a&status=SUCCESS"
        ))
        .await;
    assert_eq!(ids(&pool["jobs"]), ["desk-1-a"]);
    // The page's example repeats `status`: any of the values matches.
    let either = c
        .ok(&format!(
            "/v2/{PROJECT}/workspace-sub-jobs?job_id=desk-1&status=SUCCESS&status=RUNNING"
        ))
        .await;
    assert_eq!(either["total_count"], 2);
    let typed = c
        .ok(&format!(
            "/v2/{PROJECT}/workspace-sub-jobs?job_type=applyWorkspace"
        ))
        .await;
    assert_eq!(ids(&typed["jobs"]), ["desk-fail-a"]);

    // 1203 desktop sub-jobs: default limit 1000, then the rest.
    let first = c.ok(&format!("/v2/{PROJECT}/workspace-sub-jobs")).await;
    assert_eq!(first["total_count"], 1203);
    assert_eq!(first["jobs"].as_array().unwrap().len(), 1000);
    let rest = c
        .ok(&format!(
            "/v2/{PROJECT}/workspace-sub-jobs?offset=1000&limit=1000"
        ))
        .await;
    assert_eq!(rest["jobs"].as_array().unwrap().len(), 203);
    let none = c
        .ok(&format!("/v2/{PROJECT}/workspace-sub-jobs?limit=0"))
        .await;
    assert_eq!(none["jobs"], Value::Array(vec![]));
    assert_eq!(none["total_count"], 1203);
    sim.shutdown().await;
}

#[tokio::test]
async fn rule_violations_are_400_and_unknowns_are_404() {
    let sim = start(SimConfig::default()).await;
    let c = Client::new(&sim);
    let bad = [
        format!("/v1/{PROJECT}/image-server-sub-jobs"),
        format!("/v1/{PROJECT}/image-server-sub-jobs?job_type=CREATE_SERVER&limit=0"),
        format!("/v1/{PROJECT}/image-server-jobs?limit=101"),
        format!("/v1/{PROJECT}/app-server-sub-jobs?limit=abc"),
        format!("/v1/{PROJECT}/app-server-sub-jobs?offset=-1"),
        format!("/v1/{PROJECT}/app-server-sub-jobs?status=RUNNING&status=FAILED"),
        format!("/v2/{PROJECT}/workspace-sub-jobs?limit=1001"),
        format!("/v2/{PROJECT}/workspace-sub-jobs?offset=x"),
    ];
    for path in &bad {
        let (status, body) = c.get(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body["error_code"].is_string(), "{path}");
        assert!(body["error_msg"].is_string(), "{path}");
    }
    let (_, workspace_body) = c.get(&bad[6]).await;
    assert!(workspace_body["error_detail"].is_string());

    let missing = [
        format!("/v1/{PROJECT}/image-server-jobs/nope"),
        format!("/v1/{PROJECT}/image-server-jobs/img-later"),
        format!("/v1/{PROJECT}/image-server-jobs/app-1"),
        format!("/v2/{PROJECT}/job/nope"),
        format!("/v2/{PROJECT}/workspace-jobs/img-1"),
        "/v2/ffffffffffffffffffffffffffffffff/workspace-sub-jobs".to_owned(),
        "/v1/ffffffffffffffffffffffffffffffff/image-server-jobs/img-1".to_owned(),
        "/v3/anything".to_owned(),
        format!("/v1/{PROJECT}/image-server-jobs/%FF%FE"),
    ];
    for path in &missing {
        let (status, body) = c.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            body["error_code"].is_string() && body["error_msg"].is_string(),
            "{path}"
        );
    }
    let stats = sim.stats();
    assert_eq!(stats.answers(Endpoint::ListImageSubJobs, 400), 2);
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 404), 5);
    assert_eq!(stats.requests_to(Endpoint::Unknown), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn counters_and_ground_truth() {
    let sim = start(SimConfig::default()).await;
    let c = Client::new(&sim);
    for _ in 0..3 {
        c.ok(&format!("/v2/{PROJECT}/workspace-sub-jobs?limit=1"))
            .await;
    }
    c.ok(&format!("/v2/{PROJECT}/job/app-1")).await;
    c.get(&format!("/v2/{PROJECT}/job/none")).await;
    c.ok("/_sim/health").await;

    let stats = sim.stats();
    assert_eq!(stats.requests, 5, "/_sim/ requests are not counted");
    assert_eq!(stats.requests_to(Endpoint::ListItaSubJobs), 3);
    assert_eq!(stats.answers(Endpoint::ListItaSubJobs, 200), 3);
    assert_eq!(stats.answers(Endpoint::ShowJobDetail, 200), 1);
    assert_eq!(stats.answers(Endpoint::ShowJobDetail, 404), 1);
    let img = stats.job("img-2").unwrap();
    assert_eq!(img.terminal_status.as_deref(), Some("COMPLETE"));
    assert_eq!(img.terminal_after_ms, Some(0));
    let running = stats.job("app-1").unwrap();
    assert_eq!(running.terminal_after_ms, None);
    let derived = stats.job("img-1").unwrap();
    assert_eq!(
        derived.terminal_status.as_deref(),
        None,
        "img-1-d never ends"
    );
    let later = stats.job("img-later").unwrap();
    assert_eq!(later.visible_after_ms, 1000 * 3600 * 1000);

    let served = c.ok("/_sim/stats").await;
    let parsed: jobgate::sim::Stats = serde_json::from_value(served).unwrap();
    assert_eq!(parsed.requests_to(Endpoint::ListItaSubJobs), 3);
    assert_eq!(parsed.jobs.len(), stats.jobs.len());
    sim.shutdown().await;
}

fn faults(edit: impl FnOnce(&mut Faults)) -> SimConfig {
    let mut faults = Faults {
        seed: 3,
        ..Faults::default()
    };
    edit(&mut faults);
    SimConfig {
        faults: Some(faults),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn throttling_and_server_errors() {
    let sim = start(faults(|f| {
        f.throttle = 1.0;
        f.retry_after = Some(Duration::from_millis(1500));
    }))
    .await;
    let c = Client::new(&sim);
    let response = c
        .http
        .get(format!("{}/v2/{PROJECT}/workspace-jobs/desk-1", c.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert!(response.headers().contains_key("x-request-id"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.0308");
    assert!(
        body["error_msg"]
            .as_str()
            .unwrap()
            .contains("throttling threshold")
    );
    assert_eq!(sim.stats().faults.throttled, 1);
    assert_eq!(sim.stats().answers(Endpoint::ShowJob, 429), 1);
    sim.shutdown().await;

    let sim = start(faults(|f| f.server_error = 1.0)).await;
    let c = Client::new(&sim);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let (status, body) = c.get(&format!("/v1/{PROJECT}/image-server-jobs")).await;
        assert!(status == 500 || status == 503, "{status}");
        assert!(body["error_code"].is_string() && body["error_msg"].is_string());
        seen.insert(status);
    }
    assert_eq!(seen.len(), 2, "both 500 and 503 occur");
    assert_eq!(sim.stats().faults.server_errors, 20);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_bodies() {
    let sim = start(faults(|f| f.malformed = 1.0)).await;
    let c = Client::new(&sim);
    for _ in 0..10 {
        let response = c
            .http
            .get(format!("{}/v2/{PROJECT}/workspace-sub-jobs", c.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let text = response.text().await.unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    }
    // Errors stay intact: only successful bodies are spoiled.
    let (status, _) = c.get(&format!("/v2/{PROJECT}/workspace-jobs/none")).await;
    assert_eq!(status, 404);
    assert_eq!(sim.stats().faults.malformed, 10);
    sim.shutdown().await;
}

#[tokio::test]
async fn resets_and_hangs() {
    let sim = start(faults(|f| f.reset = 1.0)).await;
    let c = Client::new(&sim);
    let error = c
        .http
        .get(format!("{}/v1/{PROJECT}/image-server-jobs", c.base))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert!(error.is_request() || error.is_connect(), "{error:?}");
    let stats = sim.stats();
    assert_eq!(stats.faults.resets, 1);
    assert!(stats.endpoints["ListImageJobs"].statuses.is_empty());
    sim.shutdown().await;

    let sim = start(faults(|f| f.hang = 1.0)).await;
    let c = Client::new(&sim);
    let error = c
        .http
        .get(format!("{}/v1/{PROJECT}/image-server-jobs", c.base))
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(sim.stats().faults.hangs, 1);
    // Shutting down must not wait for the hanging request.
    tokio::time::timeout(Duration::from_secs(10), sim.shutdown())
        .await
        .expect("shutdown ends hanging connections");
}

#[tokio::test]
async fn faults_follow_the_seed() {
    async fn outcomes(seed: u64) -> Vec<u16> {
        let sim = start(faults(|f| {
            f.seed = seed;
            f.throttle = 0.3;
            f.server_error = 0.3;
        }))
        .await;
        let c = Client::new(&sim);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(c.get(&format!("/v2/{PROJECT}/job/app-1")).await.0);
        }
        sim.shutdown().await;
        statuses
    }
    let first = outcomes(9).await;
    assert_eq!(first, outcomes(9).await);
    assert_ne!(first, outcomes(10).await);
    assert!(first.contains(&200) && first.contains(&429));
}

#[tokio::test]
async fn token_authentication() {
    let sim = start(SimConfig {
        auth: SimAuth::Token("let-me-in".into()),
        ..SimConfig::default()
    })
    .await;
    let c = Client::new(&sim);
    let (status, body) = c.get(&format!("/v2/{PROJECT}/job/app-1")).await;
    assert_eq!(status, 401);
    assert!(body["error_code"].is_string());
    let response = c
        .http
        .get(format!("{}/v2/{PROJECT}/job/app-1", c.base))
        .header("X-Auth-Token", "let-me-in")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(sim.stats().faults.auth_rejected, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn demo_serves_every_kind() {
    let sim = Simulator::start(Scenario::demo(), SimConfig::default(), loopback())
        .await
        .unwrap();
    let c = Client::new(&sim);
    let demo = Scenario::demo();
    let project = &demo.project_id;
    for job in &sim.stats().jobs {
        let path = match job.kind {
            jobgate::sim::JobKind::ImageJob => {
                format!("/v1/{project}/image-server-jobs/{}", job.id)
            }
            jobgate::sim::JobKind::AppServerJob => format!("/v2/{project}/job/{}", job.id),
            jobgate::sim::JobKind::DesktopJob => format!("/v2/{project}/workspace-jobs/{}", job.id),
        };
        if job.visible_after_ms == 0 {
            let body = c.ok(&path).await;
            assert_eq!(body["id"].as_str(), Some(job.id.as_str()));
        }
        assert_eq!(job.terminal_status.as_deref(), Some("SUCCESS"));
    }
    sim.shutdown().await;
}
