//! `jobgate run` end to end: the real binary against the simulator over
//! loopback, asserting exit codes, reports and the simulator's request
//! counters. Timelines are chosen so no assertion depends on timing.

use crate::common::harness;
use crate::common::test::Test;

use harness::*;
use jobgate::sim::Endpoint;

const FAST: &str = "  poll: { initial: 50ms, max: 200ms, factor: 2, jitter: full }\n";

fn spec(waits: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 20s\n{FAST}waits:\n{waits}"
    )
}

const IMAGE_JOBS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: img-ok
    kind: image_job
    job_type: CREATE_SERVER_IMAGE
    sub_jobs:
      - id: img-ok-1
        job_type: CREATE_SERVER
        resource: {id: srv-1, name: builder}
        timeline: [{at: 0s, status: RUNNING}, {at: 300ms, status: SUCCESS}]
      - id: img-ok-2
        job_type: CREATE_SERVER_IMAGE
        resource: {id: image-42, name: golden}
        timeline: [{at: 0s, status: WAITING}, {at: 400ms, status: SUCCESS}]
  - id: img-bad
    kind: image_job
    sub_jobs:
      - id: img-bad-1
        job_type: CREATE_SERVER_IMAGE
        resource: {id: image-x, name: broken}
        timeline: [{at: 0s, status: RUNNING}, {at: 200ms, status: FAILED}]
        error: {code: WKS.00129901, message: disk quota exceeded}
  - id: img-stuck
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}]
  - id: img-odd
    kind: image_job
    timeline: [{at: 0s, status: COMPLETE}]
"#;

#[test]
fn success_exits_zero_and_writes_outputs() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec("  build:\n    image_job: img-ok\n    target: [SUCCESS]\n    outputs:\n      image_id: $.sub_jobs[?@.job_type == 'CREATE_SERVER_IMAGE'].job_resource_info.resource_id\n"))
        .run()
        .exit(0)
        .report(|report| {
            assert_eq!(report["outcome"], "met");
            assert_eq!(report["exit_code"], 0);
            assert_eq!(report["waits"][0]["outputs"]["image_id"], "image-42");
        })
        .stats(|stats| assert!(stats.requests_to(Endpoint::ShowImageJob) >= 1));
}

#[test]
fn a_failed_job_is_a_failure_exit_one() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  build:\n    image_job: img-bad\n    target: [SUCCESS]\n",
        ))
        .run()
        .exit(1)
        .first_wait(|wait| assert_eq!(wait["outcome"], "failed"))
        .stderr_has(&["FAILED"]);
}

#[test]
fn failure_condition_blames_the_failing_sub_job() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec("  build:\n    image_job: img-bad\n    success: { all: [SUCCESS] }\n    failure: { any: [FAILED, ABNORMAL] }\n"))
        .run()
        .exit(1)
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "failed");
            assert_eq!(wait["blame"][0]["id"], "img-bad-1");
            assert_eq!(wait["blame"][0]["error_message"], "disk quota exceeded");
        })
        .stderr_has(&["disk quota exceeded"]);
}

#[test]
fn unknown_status_is_never_success() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  odd:\n    image_job: img-odd\n    target: [SUCCESS]\n",
        ))
        .run()
        .exit(1)
        .stderr_has(&["COMPLETE"]);
}

#[test]
fn timeout_exits_three_with_the_last_state() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n    timeout: 700ms\n",
        ))
        .run()
        .exit(3)
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "timed_out");
            assert!(wait["reason"].as_str().unwrap().contains("RUNNING"));
        });
}

#[test]
fn global_deadline_overrides_longer_timeouts() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n    timeout: 1h\n",
        ))
        .args(&["--deadline", "600ms"])
        .run()
        .exit(3)
        .stderr_has(&["global deadline"]);
}

#[test]
fn wrong_secret_key_exits_four_after_one_request() {
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n",
        ))
        .env(
            "HUAWEICLOUD_SDK_SK",
            "not-the-right-secret-key-000000000000000",
        )
        .run()
        .exit(4)
        .stderr_has(&["APIG.0301", "request id"])
        .stats(|stats| assert_eq!(stats.requests, 1, "a 401 must never be retried"));
    let err = ran.stderr();
    assert!(
        !err.contains("not-the-right-secret"),
        "the secret leaked: {err}"
    );
}

#[test]
fn missing_credentials_exit_four_before_any_request() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n",
        ))
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .run()
        .exit(4)
        .stderr_has(&["HUAWEICLOUD_SDK_AK"])
        .stats(|stats| assert_eq!(stats.requests, 0));
}

#[test]
fn invalid_spec_exits_two_and_polls_nothing() {
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec("version: 1\nwaits:\n  build:\n    image_job: img-ok\n    target: [SUCESS]\n")
        .no_report()
        .run()
        .exit(2)
        .stderr_has(&["did you mean `SUCCESS`?"])
        .stats(|stats| assert_eq!(stats.requests, 0));
}

#[test]
fn colour_flag_and_no_color_apply_to_spec_errors() {
    let run_spec = |args: &[&str], no_color: bool| {
        let mut test = Test::new()
            .endpoint("http://127.0.0.1:9")
            .spec("version: 1\nwaits:\n  build:\n    image_job: img-ok\n    target: [SUCESS]\n")
            .args(args)
            .no_report();
        if no_color {
            test = test.env("NO_COLOR", "1");
        }
        let ran = test.run().exit(2).stderr_has(&["did you mean `SUCCESS`?"]);
        ran.stderr().contains('\x1b')
    };
    // stderr is a pipe here: colour only when asked for.
    assert!(run_spec(&["--color", "always"], false), "--color always");
    assert!(
        run_spec(&["--color", "always"], true),
        "the flag wins over NO_COLOR"
    );
    assert!(!run_spec(&["--color", "never"], false), "--color never");
    assert!(!run_spec(&[], false), "auto on a pipe");
    assert!(!run_spec(&["--color", "auto"], true), "NO_COLOR");
}

#[test]
fn identical_requests_of_concurrent_waits_are_coalesced() {
    let mut waits = String::new();
    for i in 0..5 {
        waits.push_str(&format!("  w{i}:\n    image_job: img-stuck\n    target: [SUCCESS]\n    timeout: 400ms\n    poll: {{ initial: 100ms, max: 100ms, factor: 1, jitter: none }}\n"));
    }
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(&waits))
        .args(&["--keep-going"])
        .run()
        .exit(3);
    let polls: u64 = ran.report["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["polls"].as_u64().unwrap())
        .sum();
    let sent = ran.sim().stats().requests_to(Endpoint::ShowImageJob);
    assert!(
        sent < polls,
        "{sent} requests for {polls} polls: identical requests were not shared"
    );
}

const SUB_JOBS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: build-1
    kind: image_job
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER_IMAGE
        timeline: [{at: 0s, status: SUCCESS}]
      - id: s2
        job_type: CREATE_SERVER_IMAGE
        timeline: [{at: 0s, status: SUCCESS}]
  - id: app-1
    kind: app_server_job
    sub_jobs:
      - id: a1
        job_type: CREATE_SERVER
        timeline: [{at: 0s, status: SUCCESS}]
  - id: desk-1
    kind: desktop_job
    sub_jobs:
      - id: d1
        timeline: [{at: 0s, status: RUNNING}, {at: 300ms, status: SUCCESS}]
        progress: [{at: 0s, value: 10}, {at: 300ms, value: 100}]
"#;

#[test]
fn count_conditions_use_the_count_endpoint() {
    Test::new()
        .scenario(SUB_JOBS)
        .spec(&spec("  no-failures:\n    image_sub_jobs: { job_id: build-1, job_type: CREATE_SERVER_IMAGE }\n    success: { count: [FAILED], is: \"== 0\" }\n"))
        .run()
        .exit(0)
        .stats(|stats| {
            assert_eq!(
                stats.requests_to(Endpoint::ListImageSubJobs),
                0,
                "the list should not be paged"
            );
            assert_eq!(
                stats.requests_to(Endpoint::CountImageSubJobs),
                3,
                "one count for FAILED, one for the total, then FAILED again: the counts that end a wait are confirmed"
            );
        });
}

#[test]
fn every_wait_kind_passes_with_signing_on() {
    let waits = "  image-job:\n    image_job: build-1\n    success: { all: [SUCCESS] }\n  image-subs:\n    image_sub_jobs: { job_id: build-1, job_type: CREATE_SERVER_IMAGE }\n    target: [SUCCESS]\n  image-count:\n    image_sub_job_count: { job_id: build-1, job_type: [CREATE_SERVER_IMAGE] }\n    success: { count: [SUCCESS], is: \"== 2\" }\n  app-subs:\n    app_server_sub_jobs: { job_id: app-1 }\n    target: [SUCCESS]\n  app-count:\n    app_server_sub_job_count: { job_id: app-1 }\n    success: { count: [SUCCESS], is: \">= 1\" }\n  app-job:\n    app_server_job: app-1\n    target: [SUCCESS]\n  desktop-job:\n    desktop_job: desk-1\n    target: [SUCCESS]\n  desktop-subs:\n    desktop_sub_jobs: { job_id: desk-1 }\n    target: [SUCCESS]\n  raw-get:\n    get: { service: workspace, path: \"/v2/{project_id}/workspace-jobs/desk-1\" }\n    success: { path: $.status, equals: SUCCESS }\n";
    let ran = Test::new()
        .scenario(SUB_JOBS)
        .spec(&spec(waits))
        .run()
        .exit(0);
    assert_eq!(ran.report["waits"].as_array().unwrap().len(), 9);
    let stats = ran.sim().stats();
    for endpoint in [
        Endpoint::ShowImageJob,
        Endpoint::ListImageSubJobs,
        Endpoint::CountImageSubJobs,
        Endpoint::ListSubJobs,
        Endpoint::CountSubJobs,
        Endpoint::ShowJobDetail,
        Endpoint::ShowJob,
        Endpoint::ListItaSubJobs,
    ] {
        assert!(
            stats.requests_to(endpoint) >= 1,
            "{endpoint:?} was not called"
        );
        assert_eq!(
            stats.answers(endpoint, 401),
            0,
            "{endpoint:?} rejected a signature"
        );
    }
}

#[test]
fn later_waits_use_outputs_and_are_skipped_after_a_failure() {
    let waits = "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n    outputs: { job: $.id }\n  again:\n    image_job: ${outputs.build.job}\n    target: [SUCCESS]\n    after: [build]\n  broken:\n    image_job: img-bad\n    target: [SUCCESS]\n  after-broken:\n    image_job: img-ok\n    target: [SUCCESS]\n    after: [broken]\n";
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(waits))
        .args(&["--keep-going"])
        .run()
        .exit(1);
    let report = &ran.report;
    let outcome = |name: &str| wait_named(report, name)["outcome"].clone();
    assert_eq!(outcome("build"), "met");
    assert_eq!(outcome("again"), "met");
    assert_eq!(outcome("broken"), "failed");
    assert_eq!(outcome("after-broken"), "skipped");
}

#[test]
fn fail_fast_cancels_the_others() {
    let waits = "  broken:\n    image_job: img-bad\n    target: [SUCCESS]\n  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n";
    Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(waits))
        .run()
        .exit(1)
        .report(|report| assert_eq!(report["waits"][1]["outcome"], "cancelled"));
}

#[test]
fn a_job_that_never_appears_ends_not_found() {
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec("  ghost:\n    image_job: no-such-job\n    target: [SUCCESS]\n    not_found_grace: 300ms\n"))
        .run()
        .exit(1);
    let err = ran.stderr();
    assert!(
        err.contains("not_found") || err.contains("not found"),
        "{err}"
    );
}

#[test]
fn throttling_and_server_errors_are_retried() {
    let faults = jobgate::sim::Faults {
        throttle: 0.3,
        server_error: 0.2,
        ..Default::default()
    };
    Test::new()
        .scenario(IMAGE_JOBS)
        .faults(faults)
        .spec(&spec(
            "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n    error_budget: 20\n    poll: { initial: 20ms, max: 200ms, factor: 1, jitter: full, adaptive: false }\n",
        ))
        // Polls fast enough for the seeded faults to hit some of them (on
        // the plain progression: this is about retries, not the schedule).
        .args(&["--max-rps", "50"])
        .run()
        .exit(0)
        .stats(|stats| {
            assert!(
                stats.answers(Endpoint::ShowImageJob, 429)
                    + stats.answers(Endpoint::ShowImageJob, 500)
                    + stats.answers(Endpoint::ShowImageJob, 503)
                    > 0,
                "no fault was injected: {stats:?}"
            );
        });
}

#[test]
fn persistent_server_errors_exit_five() {
    let faults = jobgate::sim::Faults {
        server_error: 1.0,
        ..Default::default()
    };
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .faults(faults)
        .spec(&spec(
            "  build:\n    image_job: img-ok\n    target: [SUCCESS]\n    error_budget: 2\n",
        ))
        .run()
        .exit(5)
        .stats(|stats| {
            assert_eq!(
                stats.requests_to(Endpoint::ShowImageJob),
                3,
                "budget of 2 means 3 tries"
            )
        });
    // The report keeps the last error as the API gave it, and says why.
    let r = &ran.report;
    assert_report_matches_schema(r);
    let wait = &r["waits"][0];
    assert_eq!(wait["outcome"], "api_error", "{wait}");
    assert_eq!(wait["retries"], 3, "{wait}");
    let last = &wait["last_error"];
    assert!(
        matches!(last["http_status"].as_u64(), Some(500 | 503)),
        "{last}"
    );
    assert!(
        matches!(last["code"].as_str(), Some("WKS.00000500" | "WKS.00129901")),
        "{last}"
    );
    assert!(!last["message"].as_str().unwrap_or("").is_empty(), "{last}");
    assert!(
        !last["request_id"].as_str().unwrap_or("").is_empty(),
        "{last}"
    );
    let reason = wait["reason"].as_str().unwrap();
    assert!(reason.contains("3 failed polls in a row"), "{reason}");
    assert!(reason.contains("raise `error_budget` (now 2)"), "{reason}");
    ran.stderr_has(&["request id"]);
}

#[cfg(unix)]
#[test]
fn sigint_writes_a_cancelled_report_and_exits_130() {
    let ran = Test::new()
        .scenario(IMAGE_JOBS)
        .spec(&spec(
            "  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n",
        ))
        .spawn()
        // Once it has polled at least once, interrupt.
        .signal_when("INT", |run| {
            run.sim().stats().requests_to(Endpoint::ShowImageJob) > 0
        })
        .exit(130);
    let report = &ran.report;
    assert_eq!(report["outcome"], "cancelled");
    assert_eq!(report["exit_code"], 130);
    assert_eq!(report["interrupted_by"], "SIGINT");
    assert_eq!(report["waits"][0]["outcome"], "cancelled");
    assert_eq!(report["waits"][0]["reason"], "interrupted by SIGINT");
}

/// A desktop job that becomes visible (answers 200 instead of 404) at 1 s.
const LATE_DESKTOP: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: late-desk
    kind: desktop_job
    visible_after: 1s
    timeline: [{at: 0s, status: SUCCESS}]
"#;

#[test]
fn a_get_of_a_job_not_yet_visible_is_tolerated_for_the_grace() {
    let ran = Test::new()
        .scenario(LATE_DESKTOP)
        .spec(&spec("  raw:\n    get: { service: workspace, path: \"/v2/{project_id}/workspace-jobs/late-desk\" }\n    success: { path: $.status, equals: SUCCESS }\n    not_found_grace: 30s\n"))
        .run()
        .exit(0);
    let stats = ran.sim().stats();
    let not_found = stats.answers(Endpoint::ShowJob, 404);
    assert!(not_found >= 1, "the first poll comes before 1 s: {stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), 1, "{stats:?}");
    let report = &ran.report;
    assert_eq!(report["waits"][0]["polls"], not_found + 1, "{report:#}");
}

#[test]
fn a_get_of_an_api_the_gateway_does_not_route_fails_at_once() {
    Test::new()
        .scenario(LATE_DESKTOP)
        .spec(&spec("  raw:\n    get: { service: workspace, path: \"/v2/{project_id}/no-such-api\" }\n    success: { path: $.status, equals: SUCCESS }\n    not_found_grace: 30s\n"))
        .run()
        .exit(5)
        .stats(|stats| {
            assert_eq!(stats.requests, 1, "no grace for a path that does not exist")
        })
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "api_error", "{wait:#}");
            assert_eq!(wait["last_error"]["code"], "APIG.0101", "{wait:#}");
        });
}
