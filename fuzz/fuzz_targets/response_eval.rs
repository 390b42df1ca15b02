//! Any bytes answered by the API are either refused as malformed or judged,
//! by every kind of condition, without panicking; and a job response without
//! a status never passes a gate.
#![no_main]

use std::sync::OnceLock;

use jobgate::condition::{Verdict, judge};
use jobgate::engine::{capture_outputs, fetch::observe_saved};
use jobgate::spec::{Shape, Spec};
use libfuzzer_sys::fuzz_target;

/// One wait per response shape, with every condition form between them.
const SPEC: &str = r#"
version: 1
defaults: { project_id: 0123456789abcdef0123456789abcdef, region: cn-north-4 }
waits:
  job:
    image_job: "702364883651395584"
    success: [{ status: [SUCCESS] }, { all: [SUCCESS], where: { job_type: CREATE_SERVER_IMAGE } }]
    failure: { any: [FAILED, ABNORMAL] }
    outputs:
      image_id: $.sub_jobs[?@.job_type == 'CREATE_SERVER_IMAGE'].job_resource_info.resource_id
  list:
    desktop_sub_jobs: { job_id: "702364883651395584" }
    success: { count: [SUCCESS], is: ">= 95%" }
    failure: { none: [SUCCESS, RUNNING, WAITING] }
    allow_empty: true
  count:
    app_server_sub_job_count: { job_id: "702364883651395584" }
    success: { count: [ABNORMAL], is: "== 0" }
  json:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/702364883651395584" }
    success:
      - path: $.status
        in: [SUCCESS, COMPLETE]
      - path: $.sub_jobs[?@.status == 'FAILED']
        count: "== 0"
    failure: { path: $.status, matches: "^FAIL(ED)?$" }
"#;

fn spec() -> &'static Spec {
    static SPEC_CELL: OnceLock<Spec> = OnceLock::new();
    SPEC_CELL.get_or_init(|| match jobgate::spec::parse("fuzz.yaml", SPEC, &|_| None) {
        Ok(spec) => spec,
        Err(e) => panic!("the fuzz spec is invalid:\n{}", e.render(false, 100)),
    })
}

fuzz_target!(|data: &[u8]| {
    // The JSON tree is only the reference for the checks below; the waits
    // read the bytes as a poll would.
    let json = serde_json::from_slice::<serde_json::Value>(data).unwrap_or_default();
    for wait in &spec().waits {
        let Ok(obs) = observe_saved(wait, data) else {
            continue;
        };
        let verdict = judge(&wait.rules, &obs);
        if wait.target.shape() == Shape::Job {
            let status = json.get("status").and_then(|s| s.as_str());
            assert!(
                status.is_some() || !matches!(verdict, Verdict::Met { .. }),
                "a job without a status passed: {json}"
            );
        }
        let _ = capture_outputs(wait, &obs);
        let _ = jobgate::engine::summarize(&obs);
    }
});
