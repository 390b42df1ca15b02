//! Adaptive polling from history: an image job without a progress signal is
//! polled where past jobs of its type ended, learned from one
//! `ListImageJobs` request per job type and run.
//!
//! Assertions are on counts (the report's polls, the simulator's request
//! counters) and on the report's estimate. The jobs take seconds, so the
//! first seconds, which any job's schedule watches at the floor, weigh
//! more here than on real jobs. The API's past jobs are read only once a
//! job has run 4 floors (4 s here), so the jobs run 20 s: long enough for
//! the history to answer and move the polls.

use crate::common::harness;

use harness::*;

/// Image jobs RUNNING from the start that end at 20 s, plus `past` finished
/// jobs of the same type that each took 20 s.
fn scenario(jobs: usize, past: u64) -> String {
    let mut yaml = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..jobs {
        yaml.push_str(&format!(
            "  - id: build-{i}\n    kind: image_job\n    job_type: CREATE_SERVER_IMAGE\n    timeline: [{{at: 0s, status: RUNNING}}, {{at: 20s, status: SUCCESS}}]\n"
        ));
    }
    if past > 0 {
        yaml.push_str(&format!(
            "past_image_jobs:\n  - job_type: CREATE_SERVER_IMAGE\n    count: {past}\n    took: {{min: 20s, max: 20s}}\n"
        ));
    }
    yaml
}

/// A blind schedule of 1 s, 2 s, 4 s, 8 s, then 10 s would poll at 0, 1,
/// 3, 7, 15 and 25 s.
fn spec(waits: usize, adaptive: bool) -> String {
    let mut yaml = format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 90s\n  poll: {{ initial: 1s, max: 10s, factor: 2, jitter: none, adaptive: {adaptive} }}\nwaits:\n"
    );
    for i in 0..waits {
        yaml.push_str(&format!(
            "  build-{i}:\n    image_job: build-{i}\n    pending: [WAITING, RUNNING]\n    target: [SUCCESS]\n"
        ));
    }
    yaml
}

fn history_requests(sim: &Sim) -> u64 {
    sim.stats()
        .endpoints
        .get("ListImageJobs")
        .map_or(0, |e| e.requests)
}

fn run_case(jobs: usize, past: u64, adaptive: bool) -> (Sim, serde_json::Value) {
    let sim = Sim::start(&scenario(jobs, past));
    let (out, report) = run_reported(&sim.url(), &spec(jobs, adaptive), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    (sim, report)
}

#[test]
fn history_moves_the_next_poll_to_the_likely_end() {
    let (sim, report) = run_case(1, 10, true);
    let wait = &report["waits"][0];
    // At the floor for 4 s, then the history is read; past jobs ended at
    // 20 s, so the polls gather there: more of them before this 20 s end
    // than the default prior (20 minutes) spends on it, fewer than a loop
    // at the floor (21).
    let polls = wait["polls"].as_u64().unwrap();
    let (_, prior) = run_case(1, 2, true);
    let prior_polls = prior["waits"][0]["polls"].as_u64().unwrap();
    assert!(
        polls > prior_polls && polls <= 15,
        "{wait:#} against {prior_polls}"
    );
    // The polls, plus the history.
    assert_eq!(wait["requests_sent"], polls + 1, "{wait:#}");
    assert_eq!(history_requests(&sim), 1);
    let estimate = &wait["estimate"];
    assert_eq!(estimate["basis"], "history", "{wait:#}");
    assert_eq!(estimate["signals"][0], "history", "{wait:#}");
    assert_eq!(estimate["job_type"], "CREATE_SERVER_IMAGE");
    assert_eq!(estimate["samples"], 10);
    let median = estimate["median_ms"].as_u64().unwrap();
    assert!((18_000..=22_000).contains(&median), "{wait:#}");
}

#[test]
fn without_adaptive_polling_the_blind_schedule_runs_and_reads_no_history() {
    let (sim, report) = run_case(1, 10, false);
    let wait = &report["waits"][0];
    // 0, 1, 3, 7, 15 s see it running; 25 s sees it done.
    assert_eq!(wait["polls"], 6, "{wait:#}");
    assert_eq!(history_requests(&sim), 0);
    assert!(wait.get("estimate").is_none(), "{wait:#}");
}

#[test]
fn too_little_history_leaves_the_prior() {
    // Two past jobs are fewer than the API history needs: the job is
    // planned from the default prior, polled at the floor (1 s) for its
    // first 4 s like a short job, then sparsely.
    let (sim, report) = run_case(1, 2, true);
    let wait = &report["waits"][0];
    let polls = wait["polls"].as_u64().unwrap();
    assert!((5..=8).contains(&polls), "{wait:#}");
    assert_eq!(history_requests(&sim), 1, "read once, not on every poll");
    assert_eq!(wait["estimate"]["basis"], "prior", "{wait:#}");
    assert_eq!(wait["estimate"]["samples"], 0, "{wait:#}");
}

#[test]
fn waits_on_jobs_of_one_type_share_one_history_request() {
    let (sim, report) = run_case(4, 10, true);
    assert_eq!(history_requests(&sim), 1);
    let waits = report["waits"].as_array().unwrap();
    let sent: u64 = waits
        .iter()
        .map(|w| w["requests_sent"].as_u64().unwrap())
        .sum();
    let polls: u64 = waits.iter().map(|w| w["polls"].as_u64().unwrap()).sum();
    // Every request is accounted to exactly one wait: the polls and one
    // history read.
    assert_eq!(sent, polls + 1, "{report:#}");
    assert!(
        waits.iter().all(|w| w["estimate"]["basis"] == "history"),
        "every wait uses the estimate: {report:#}"
    );
}

#[test]
fn an_app_server_job_learns_from_past_servers_of_its_type() {
    let sim = Sim::start(&format!(
        "project_id: {PROJECT}\njobs:\n  - id: scale-1\n    kind: app_server_job\n    job_type: CREATE_SERVER\n    timeline: [{{at: 0s, status: RUNNING}}, {{at: 20s, status: SUCCESS}}]\npast_app_server_sub_jobs:\n  - job_type: CREATE_SERVER\n    count: 10\n    took: {{min: 20s, max: 20s}}\n"
    ));
    let (out, report) = run_reported(
        &sim.url(),
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 90s\n  poll: { initial: 1s, max: 10s, factor: 2, jitter: none }\nwaits:\n  scale:\n    app_server_job: scale-1\n    pending: [WAITING, RUNNING]\n    target: [SUCCESS]\n",
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let wait = &report["waits"][0];
    // Fewer than a loop at the floor (21).
    assert!(wait["polls"].as_u64().unwrap() <= 15, "{wait:#}");
    assert_eq!(
        sim.stats()
            .endpoints
            .get("ListSubJobs")
            .map_or(0, |e| e.requests),
        1
    );
    // Learned from the history of its own job type.
    assert_eq!(wait["estimate"]["basis"], "history", "{wait:#}");
    assert_eq!(wait["estimate"]["job_type"], "CREATE_SERVER", "{wait:#}");
    assert_eq!(wait["estimate"]["samples"], 10, "{wait:#}");
    let median = wait["estimate"]["median_ms"].as_u64().unwrap();
    assert!((18_000..=22_000).contains(&median), "{wait:#}");
}
