use std::time::Duration;

use crate::api::Status;
use crate::sim::endpoint::Endpoint;
use crate::sim::faults::Quota;
use crate::sim::scenario::Scenario;

fn error_of(yaml: &str) -> String {
    Scenario::from_yaml(yaml, "bad.yaml")
        .unwrap_err()
        .to_string()
}

const HEAD: &str = "project_id: 0123456789abcdef0123456789abcdef\n";

#[test]
fn full_example_parses() {
    let yaml = format!(
        "{HEAD}{}",
        r#"seed: 3
jobs:
  - id: 2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab
    kind: image_job
    job_type: CREATE_SERVER_IMAGE
    visible_after: 500ms
    timeline: [{at: 0s, status: WAITING}, {at: 1s, status: RUNNING}, {at: 3s, status: COMPLETE}]
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER
        resource: {id: r1, name: builder}
        timeline: [{at: 0s, status: RUNNING}, {at: 3s, status: FAILED}]
        error: {code: WKS.00129901, message: broken}
  - id: d1
    kind: desktop_job
    sub_jobs:
      - id: s2
        resource: {id: desk-1, name: desk, user_name: alice, ip_address: 10.0.0.4}
        timeline: [{at: 0s, status: RUNNING}, {at: 3s, status: SUCCESS}]
        progress: [{at: 0s, value: 0}, {at: 3s, value: 100}]
fleets:
  - job_id: fleet-job
    kind: desktop_job
    count: 25
    duration: {min: 2s, max: 20s}
    failure_rate: 0.5
faults: {seed: 7, throttle: 0.2, retry_after: 1s, server_error: 0.1, malformed: 0.05, reset: 0.01, slow: {rate: 0.1, delay: 2s}, hang: false}
"#
    );
    let scenario = Scenario::from_yaml(&yaml, "ok.yaml").unwrap();
    assert_eq!(scenario.seed, 3);
    assert_eq!(scenario.jobs.len(), 3);
    let image = &scenario.jobs[0];
    assert_eq!(image.visible_after, Duration::from_millis(500));
    assert_eq!(image.terminal().unwrap().0.as_str(), "COMPLETE");
    assert_eq!(image.sub_jobs[0].error.as_ref().unwrap().message, "broken");
    assert_eq!(
        scenario.jobs[1].sub_jobs[0].resource.user_name.as_deref(),
        Some("alice")
    );
    assert_eq!(scenario.jobs[1].job_type, "createDesktops");
    assert_eq!(scenario.jobs[2].sub_jobs.len(), 25);
    assert_eq!(scenario.faults.seed, 7);
    assert_eq!(scenario.faults.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(scenario.faults.hang, 0.0);
}

#[test]
fn numeric_looking_ids_are_strings() {
    let yaml = "project_id: 702364883651395584\njobs:\n  - id: 702364883651395584\n    kind: image_job\n    timeline: [{at: 0s, status: SUCCESS}]\n";
    let scenario = Scenario::from_yaml(yaml, "n.yaml").unwrap();
    assert_eq!(scenario.jobs[0].id, "702364883651395584");
}

#[test]
fn unknown_key_is_named() {
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timelime: []\n"
    ));
    assert!(message.contains("bad.yaml"), "{message}");
    assert!(message.contains("timelime"), "{message}");
}

#[test]
fn unknown_kind_lists_the_choices() {
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: vm_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
    ));
    assert!(message.contains("vm_job"), "{message}");
    assert!(message.contains("desktop_job"), "{message}");
}

#[test]
fn bad_duration_points_at_the_step_and_explains() {
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timeline:\n      - {{at: 0s, status: WAITING}}\n      - {{at: soon, status: SUCCESS}}\n"
    ));
    assert!(message.contains("bad.yaml:7:"), "{message}");
    assert!(message.contains("jobs[0] (id j).timeline[1]"), "{message}");
    assert!(message.contains("`soon` is not a duration"), "{message}");
    assert!(message.contains("hint:"), "{message}");
}

#[test]
fn steps_out_of_order_are_rejected() {
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    timeline: [{{at: 2s, status: RUNNING}}, {{at: 1s, status: SUCCESS}}]\n"
    ));
    assert!(message.contains("increasing time order"), "{message}");
}

#[test]
fn job_needs_a_timeline_or_sub_jobs() {
    let message = error_of(&format!("{HEAD}jobs:\n  - id: j\n    kind: image_job\n"));
    assert!(message.contains("timeline or sub_jobs"), "{message}");
}

#[test]
fn ids_must_be_unique_and_url_safe() {
    let step = "timeline: [{at: 0s, status: SUCCESS}]";
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - {{id: j, kind: image_job, {step}}}\n  - {{id: j, kind: desktop_job, {step}}}\n"
    ));
    assert!(message.contains("more than once"), "{message}");
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - {{id: 'a/b', kind: image_job, {step}}}\n"
    ));
    assert!(message.contains("escaping"), "{message}");
    assert!(error_of("project_id: ''\n").contains("project_id"));
}

#[test]
fn desktop_only_fields_are_checked() {
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: image_job\n    sub_jobs:\n      - id: s\n        timeline: [{{at: 0s, status: SUCCESS}}]\n        progress: [{{at: 0s, value: 10}}]\n"
    ));
    assert!(message.contains("desktop_job"), "{message}");
    let message = error_of(&format!(
        "{HEAD}jobs:\n  - id: j\n    kind: desktop_job\n    sub_jobs:\n      - id: s\n        timeline: [{{at: 0s, status: SUCCESS}}]\n        progress: [{{at: 0s, value: 101}}]\n"
    ));
    assert!(message.contains("0 to 100"), "{message}");
}

#[test]
fn faults_and_fleets_are_checked() {
    assert!(error_of(&format!("{HEAD}faults: {{throttle: 2}}\n")).contains("throttle"));
    let fleet = "fleets: [{job_id: f, kind: desktop_job, count: 5, duration: {min: 5s, max: 1s}}]";
    assert!(error_of(&format!("{HEAD}{fleet}\n")).contains("duration.min"));
    let fleet = "fleets: [{job_id: f, kind: desktop_job, count: 0, duration: {min: 1s, max: 1s}}]";
    assert!(error_of(&format!("{HEAD}{fleet}\n")).contains("count"));
    let hang = Scenario::from_yaml(&format!("{HEAD}faults: {{hang: true}}\n"), "h").unwrap();
    assert_eq!(hang.faults.hang, 1.0);
}

#[test]
fn past_image_jobs_are_generated_and_checked() {
    let past = |entry: &str| format!("{HEAD}past_image_jobs: [{entry}]\n");
    let ok = Scenario::from_yaml(&past("{count: 4, took: {min: 1s, max: 2s}}"), "p").unwrap();
    assert_eq!(ok.past_image_jobs.len(), 4);
    assert!(
        ok.past_image_jobs
            .iter()
            .all(|j| j.job_type == "CREATE_SERVER_IMAGE" && j.status == Status::Success)
    );
    let error = error_of(&past("{count: 2, took: {min: 3s, max: 1s}}"));
    assert!(
        error.contains("took.min is longer than took.max"),
        "{error}"
    );
    let error = error_of(&past(
        "{count: 2, took: {min: 1s, max: 1s}, status: RUNNING}",
    ));
    assert!(
        error.contains("use SUCCESS (the default) or FAILED"),
        "{error}"
    );
    assert!(error_of(&past("{count: 0, took: {min: 1s, max: 1s}}")).contains("past jobs"));
    // Absurd durations are refused, the longest valid ones neither
    // panic nor wrap around.
    let error = error_of(&past(
        "{count: 3, took: {min: 300000000000d, max: 300000000000d}}",
    ));
    assert!(error.contains("longer than the longest"), "{error}");
    let long = Scenario::from_yaml(&past("{count: 3, took: {min: 365d, max: 365d}}"), "p").unwrap();
    assert_eq!(long.past_image_jobs.len(), 3);
    // Listed durations, one job each, in order; mixing the forms, or
    // giving neither, is refused with the fix.
    let listed = Scenario::from_yaml(&past("{durations: [90s, 500ms, 1m 30s]}"), "p").unwrap();
    let took: Vec<Duration> = listed.past_image_jobs.iter().map(|j| j.took).collect();
    assert_eq!(
        took,
        [
            Duration::from_secs(90),
            Duration::from_millis(500),
            Duration::from_secs(90)
        ]
    );
    for bad in [
        "{count: 2, took: {min: 1s, max: 1s}, durations: [1s]}",
        "{count: 2}",
        "{took: {min: 1s, max: 1s}}",
        "{status: SUCCESS}",
    ] {
        let error = error_of(&past(bad));
        assert!(error.contains("or `durations` alone"), "{bad}: {error}");
    }
    assert!(error_of(&past("{durations: []}")).contains("past jobs"));
    let error = error_of(&past("{durations: [1s, soon]}"));
    assert!(error.contains("durations[1]"), "{error}");
    let servers = Scenario::from_yaml(
        &format!("{HEAD}past_app_server_sub_jobs: [{{count: 3, took: {{min: 1s, max: 1s}}}}]\n"),
        "p",
    )
    .unwrap();
    assert_eq!(servers.past_app_server_sub_jobs.len(), 3);
    assert!(
        servers
            .past_app_server_sub_jobs
            .iter()
            .all(|j| j.job_type == "CREATE_SERVER")
    );
}

#[test]
fn a_quota_can_cover_one_api_only() {
    let yaml = format!(
        "{HEAD}jobs: []\nfaults:\n  quota: {{limit: 200, window: 1m}}\n  api_quotas:\n    ListImageJobs: {{limit: 5, window: 1s}}\n"
    );
    let faults = Scenario::from_yaml(&yaml, "q.yaml").unwrap().faults;
    assert_eq!(
        faults.quota_of(Endpoint::ListImageJobs),
        Some(Quota {
            limit: 5,
            window: Duration::from_secs(1)
        })
    );
    assert_eq!(
        faults.quota_of(Endpoint::ShowJob).map(|q| q.limit),
        Some(200)
    );
    let message = error_of(&format!(
        "{HEAD}jobs: []\nfaults:\n  api_quotas:\n    ListJobs: {{limit: 5, window: 1s}}\n"
    ));
    assert!(
        message.contains("ListJobs") && message.contains("ListImageJobs"),
        "{message}"
    );
    let message = error_of(&format!(
        "{HEAD}jobs: []\nfaults:\n  api_quotas:\n    ShowJob: {{limit: 0, window: 1s}}\n"
    ));
    assert!(
        message.contains("api_quotas.ShowJob.limit is 0"),
        "{message}"
    );
}

#[test]
fn garbage_never_panics() {
    for text in [
        "",
        ":",
        "[1, 2",
        "project_id: [x]",
        "jobs: 7",
        "\u{0}",
        "project_id: p\njobs: [{}]",
    ] {
        assert!(Scenario::from_yaml(text, "g").is_err(), "{text:?}");
    }
}
