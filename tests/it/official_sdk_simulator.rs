//! Proof that the simulator speaks the real API: the official Huawei Cloud
//! Python SDK clients call every served endpoint and deserialize the answers
//! (`tests/sdk/call_every_endpoint.py`), and every row of jobgate's table of
//! operations (service, method, path template, page limits, name) is the
//! SDK's own.
//!
//! Needs a Python with `huaweicloudsdkcore`, `huaweicloudsdkworkspace` and
//! `huaweicloudsdkworkspaceapp` 3.1.219, named by `JOBGATE_SDK_PYTHON`:
//!
//! ```sh
//! python3 -m venv .venv-sdk
//! .venv-sdk/bin/pip install huaweicloudsdkcore==3.1.219 \
//!     huaweicloudsdkworkspace==3.1.219 huaweicloudsdkworkspaceapp==3.1.219
//! JOBGATE_SDK_PYTHON=.venv-sdk/bin/python cargo test --test it official_sdk_simulator::
//! ```
//!
//! Without it the test is skipped locally and fails in CI (`CI` set).

use std::time::Duration;

use jobgate::api::Operation;
use jobgate::sim::{Scenario, SimAuth, SimConfig, Simulator};

const ACCESS_KEY: &str = "SIMULATORACCESSKEY01";
const SECRET_KEY: &str = "simulator-secret-key-0123456789abcdef";

/// Everything finished at offset 0, with failures carrying errors, so that
/// every field the script checks is populated.
const SCENARIO: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: 702364883651395584
    kind: image_job
    job_type: CREATE_SERVER_IMAGE
    sub_jobs:
      - id: 702364884037271552
        job_type: CREATE_SERVER
        resource: {id: f5d443de-a623-4950-a74d-569fe63c1f7a, name: builder}
        timeline: [{at: 0s, status: RUNNING}, {at: 1ms, status: SUCCESS}]
      - id: 702364884037271553
        job_type: CREATE_SERVER_IMAGE
        resource: {id: 7c1e2f30-5b8a-4d6e-9f01-23456789abcd, name: golden}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00129901, message: The service is now unavailable to process the request.}
  - id: 8e3a9c1d-2b4f-4a6e-8c0d-1f2e3d4c5b6a
    kind: app_server_job
    job_type: CREATE_SERVER
    sub_jobs:
      - id: 3f6c1a2b-9d8e-4c7b-a6f5-0e1d2c3b4a59
        job_type: CREATE_SERVER
        resource: {id: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d, name: app-server-001}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00000001, message: quota exceeded}
      - id: 3f6c1a2b-9d8e-4c7b-a6f5-0e1d2c3b4a5a
        job_type: CREATE_SERVER
        resource: {id: 5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1e, name: app-server-002}
        timeline: [{at: 0s, status: SUCCESS}]
  - id: 0e2dae94-23ff-449a-bb9c-1b808cf2106d
    kind: desktop_job
    sub_jobs:
      - id: e43caef5-e478-4624-9e8c-b0b636331cbc
        resource: {id: 9d30c8ac-77b5-4453-80da-8f027223ee99, name: finance-01, user_name: alice, product_id: workspace.c2.large.windows, ip_address: 192.168.0.11}
        timeline: [{at: 0s, status: SUCCESS}]
"#;

#[tokio::test]
async fn official_sdk_reads_every_endpoint() {
    let Some(python) = std::env::var_os("JOBGATE_SDK_PYTHON") else {
        if std::env::var_os("CI").is_some() {
            panic!(
                "JOBGATE_SDK_PYTHON is not set: CI must run the official SDK check \
                 (see the doc comment of tests/it/official_sdk_simulator.rs)"
            );
        }
        eprintln!("skipped: set JOBGATE_SDK_PYTHON");
        return;
    };
    let scenario = Scenario::from_yaml(SCENARIO, "tests/it/official_sdk_simulator.rs").unwrap();
    let project_id = scenario.project_id.clone();
    let config = SimConfig {
        auth: SimAuth::AkSk {
            access_key: ACCESS_KEY.into(),
            secret_key: SECRET_KEY.into(),
        },
        ..SimConfig::default()
    };
    let sim = Simulator::start(scenario, config, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // Let the 1 ms step pass so every sub-job has ended.
    tokio::time::sleep(Duration::from_millis(20)).await;

    let table: Vec<serde_json::Value> = Operation::ALL
        .into_iter()
        .map(|op| {
            serde_json::json!({
                "sdk_name": op.sdk_name(),
                "service": op.service().name(),
                "method": op.method(),
                "path": op.template(),
                "page": op.page().map(|p| [p.min, p.max, p.default]),
            })
        })
        .collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/sdk/call_every_endpoint.py"
    );
    let run = tokio::process::Command::new(&python)
        .arg(script)
        .args(["--endpoint", &sim.base_url()])
        .args(["--project-id", &project_id])
        .args(["--ak", ACCESS_KEY, "--sk", SECRET_KEY])
        .args(["--operations", &serde_json::Value::from(table).to_string()])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the SDK script finishes within 2 minutes")
        .expect("JOBGATE_SDK_PYTHON can be run");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "SDK script failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("all 9 endpoints"), "{stdout}");
    assert!(
        stdout.contains("the table's 9 operations are the SDK's"),
        "{stdout}"
    );

    // The SDK's requests really reached every endpoint and were all answered 200.
    let stats = sim.stats();
    for endpoint in jobgate::sim::Endpoint::SERVED {
        assert!(
            stats.answers(endpoint, 200) >= 1,
            "{} not called successfully: {stats:?}",
            endpoint.name()
        );
    }
    assert_eq!(stats.requests_to(jobgate::sim::Endpoint::Unknown), 0);
    sim.shutdown().await;
}
