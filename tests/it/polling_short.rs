//! A short job costs what a loop at the floor costs: no request for past
//! jobs before the job has run four floors. Counted by the simulator, no
//! timing asserted (the end sits between two polls with seconds of margin).

use crate::common::harness::*;

#[test]
fn a_short_job_costs_four_requests_like_a_5s_loop() {
    // RUNNING at 1 s, SUCCESS at 12 s; past jobs exist, so a read could be
    // made. The default bounds (5 s floor) poll at 0, 5, 10 and 15 s: the
    // fourth poll sees the end, at 15 s, under the 20 s from which past
    // jobs are read.
    let sim = Sim::start(&format!(
        "project_id: {PROJECT}\njobs:\n  - id: quick-1\n    kind: image_job\n    job_type: CREATE_SERVER_IMAGE\n    timeline: [{{at: 0s, status: WAITING}}, {{at: 1s, status: RUNNING}}, {{at: 12s, status: SUCCESS}}]\npast_image_jobs:\n  - job_type: CREATE_SERVER_IMAGE\n    count: 10\n    took: {{min: 12s, max: 12s}}\n"
    ));
    let (out, report) = run_reported(
        &sim.url(),
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 2m\n  poll: { jitter: none }\nwaits:\n  quick:\n    image_job: quick-1\n    pending: [WAITING, RUNNING]\n    target: [SUCCESS]\n",
        &["--no-history"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let wait = &report["waits"][0];
    assert_eq!(wait["polls"], 4, "{wait:#}");
    assert_eq!(wait["requests_sent"], 4, "{wait:#}");
    let stats = sim.stats();
    assert_eq!(stats.requests, 4, "{stats:?}");
    assert!(!stats.endpoints.contains_key("ListImageJobs"), "{stats:?}");
}
