//! Count conditions filtered by job type are answered by the count endpoint,
//! which takes `job_type`, instead of paging the list: asserted from the
//! simulator's request counters.

use crate::common::harness;

use harness::*;
use jobgate::sim::Endpoint;

/// App-server work of three types: servers created, one OS reinstall
/// failed, an access agent upgraded.
const SERVERS: &str = r#"project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: app-1
    kind: app_server_job
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER
        timeline: [{at: 0s, status: SUCCESS}]
      - id: s2
        job_type: REINSTALL_OS
        timeline: [{at: 0s, status: FAILED}]
      - id: s3
        job_type: UPGRADE_ACCESS_AGENT
        timeline: [{at: 0s, status: SUCCESS}]
"#;

fn spec(waits: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 20s\nwaits:\n{waits}"
    )
}

fn run_spec(waits: &str) -> (Sim, i32, serde_json::Value) {
    let sim = Sim::start(SERVERS);
    let (out, report) = run_reported(&sim.url(), &spec(waits), &[]);
    (sim, code(&out), report)
}

#[test]
fn a_list_wait_counting_one_job_type_asks_the_count_endpoint() {
    let (sim, code, report) = run_spec(
        "  servers:\n    app_server_sub_jobs: { job_id: app-1 }\n    success: { count: [SUCCESS], where: { job_type: CREATE_SERVER }, is: \"== 1\" }\n",
    );
    assert_eq!(code, 0, "{report:#}");
    let stats = sim.stats();
    assert_eq!(stats.requests_to(Endpoint::ListSubJobs), 0, "not paged");
    // SUCCESS of that type, every status of that type, and the total; then,
    // as the counts end the wait, the first two again: unchanged, they were
    // one state of the job at the instant of the third.
    assert_eq!(stats.requests_to(Endpoint::CountSubJobs), 5);
    let wait = &report["waits"][0];
    assert_eq!(wait["polls"], 1, "{wait:#}");
    assert_eq!(
        wait["requests"],
        serde_json::json!([
            format!(
                "GET {}/v1/{PROJECT}/app-server-sub-jobs/actions/count?job_id=app-1&job_type=CREATE_SERVER&status=SUCCESS",
                sim.url()
            ),
            format!(
                "GET {}/v1/{PROJECT}/app-server-sub-jobs/actions/count?job_id=app-1&job_type=CREATE_SERVER",
                sim.url()
            ),
            format!(
                "GET {}/v1/{PROJECT}/app-server-sub-jobs/actions/count?job_id=app-1",
                sim.url()
            ),
        ]),
        "{wait:#}"
    );
    assert_eq!(
        wait["last_observation"]["counts"],
        serde_json::json!({
            "SUCCESS where job_type in [CREATE_SERVER]": 1,
            "* where job_type in [CREATE_SERVER]": 1,
            "*": 3,
        }),
        "{wait:#}"
    );
}

#[test]
fn a_count_wait_kind_filters_its_conditions_by_job_type() {
    // The failed reinstall is of another type than the work counted for
    // success, so the failure condition decides.
    let (sim, code, report) = run_spec(
        "  rollout:\n    app_server_sub_job_count: { job_id: app-1 }\n    success: { count: [SUCCESS], where: { job_type: [CREATE_SERVER, UPGRADE_ACCESS_AGENT] }, is: \">= 100%\" }\n    failure: { count: [FAILED], where: { job_type: REINSTALL_OS }, is: \">= 1\" }\n",
    );
    assert_eq!(code, 1, "{report:#}");
    let wait = &report["waits"][0];
    assert_eq!(wait["outcome"], "failed", "{wait:#}");
    assert_eq!(sim.stats().requests_to(Endpoint::ListSubJobs), 0);
    assert_eq!(
        wait["last_observation"]["counts"]["FAILED where job_type in [REINSTALL_OS]"], 1,
        "{wait:#}"
    );
    // Each condition counted only its own types: the success condition's
    // 2 of 2 (not 2 of 3) held too, and the failure condition decided.
    assert_eq!(
        wait["last_observation"]["counts"],
        serde_json::json!({
            "SUCCESS where job_type in [CREATE_SERVER, UPGRADE_ACCESS_AGENT]": 2,
            "* where job_type in [CREATE_SERVER, UPGRADE_ACCESS_AGENT]": 2,
            "FAILED where job_type in [REINSTALL_OS]": 1,
            "* where job_type in [REINSTALL_OS]": 1,
            "*": 3,
        }),
        "{wait:#}"
    );
}

#[test]
fn a_where_on_another_field_still_pages_the_list() {
    let (sim, code, report) = run_spec(
        "  named:\n    app_server_sub_jobs: { job_id: app-1 }\n    success: { count: [FAILED, ABNORMAL], where: { id: s1 }, is: \"== 0\" }\n",
    );
    assert_eq!(code, 0, "{report:#}");
    let stats = sim.stats();
    assert_eq!(stats.requests_to(Endpoint::CountSubJobs), 0);
    assert_eq!(stats.requests_to(Endpoint::ListSubJobs), 1);
}
