//! Every gate that does not open says why: the API's own error fields, the
//! failed sub-jobs and what was still pending, in every output (summary on
//! stderr, JSON report, JUnit, step summary, annotations), within each
//! output's limits.

use crate::common::harness::PROJECT;
use crate::common::scenarios::OK_AND_BAD_IMAGES;
use crate::common::test::Test;

/// What one run wrote, in every format.
struct Outputs {
    code: i32,
    stderr: String,
    annotations: Vec<String>,
    report: serde_json::Value,
    junit: String,
    summary: String,
}

/// Runs `spec` against the simulator on `scenario` as a GitHub Actions
/// step, from the directory holding the spec (`gate.yaml`), with a JSON
/// report and a JUnit report.
fn run_everywhere(scenario: &str, spec: &str) -> Outputs {
    let ran = Test::new()
        .scenario(scenario)
        .in_workdir("gate.yaml")
        .spec(spec)
        .github_actions()
        .junit()
        .args(&["--keep-going"])
        .run();
    Outputs {
        code: ran.code(),
        stderr: ran.stderr(),
        annotations: ran.annotations(),
        junit: ran.file("junit.xml"),
        summary: ran.file("step_summary"),
        report: ran.report,
    }
}

fn spec(kind: &str, id: &str) -> String {
    format!(
        "version: 1
defaults:
  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}
  timeout: 30s
  poll: {{ initial: 50ms, max: 200ms }}
waits:
  golden:
    {kind}: {id}
    target: [SUCCESS]
"
    )
}

/// The cause leads every output: the summary line, the JUnit failure
/// message, the step summary's row and the annotation.
fn assert_cause_everywhere(o: &Outputs, needles: &[&str]) {
    assert_eq!(o.code, 1, "{}", o.stderr);
    let wait = &o.report["waits"][0];
    let cause = wait["evidence"]["cause"].as_str().unwrap();
    for needle in needles {
        assert!(cause.contains(needle), "{needle} not in the cause {cause}");
    }
    // The summary line names the cause (not the verdict's words).
    let line = o
        .stderr
        .lines()
        .find(|l| l.starts_with("✘ golden"))
        .unwrap();
    assert!(line.contains(needles[0]), "summary line: {}", o.stderr);
    // The summary wraps long lines: compare words.
    let words = o.stderr.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in needles {
        assert!(words.contains(needle), "{needle} not in: {}", o.stderr);
        assert!(o.junit.contains(needle), "{needle} not in: {}", o.junit);
        assert!(o.summary.contains(needle), "{needle} not in: {}", o.summary);
        assert_eq!(o.annotations.len(), 1, "{:?}", o.annotations);
        assert!(
            o.annotations[0].contains(needle),
            "{needle} not in: {:?}",
            o.annotations
        );
    }
    assert!(
        o.junit
            .contains(&format!("message=\"failed: {}", needles[0]))
            || o.junit
                .contains(&format!("message=\"unexpected state: {}", needles[0])),
        "the JUnit message leads with the cause: {}",
        o.junit
    );
    let row = o
        .summary
        .lines()
        .find(|l| l.starts_with("| golden"))
        .unwrap();
    assert!(row.contains(needles[0]), "step summary row: {row}");
    let message = o.annotations[0].split("::").nth(2).unwrap();
    assert!(
        message.starts_with("sub-job") || message.starts_with("job"),
        "{message}"
    );
}

#[test]
fn a_failed_image_job_with_only_a_target_says_why_everywhere() {
    let scenario = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: "702364883651395584"
    kind: image_job
    sub_jobs:
      - id: "702364883651395610"
        job_type: CREATE_SERVER
        timeline: [{at: 0s, status: SUCCESS}]
      - id: "702364883651395611"
        job_type: CREATE_SERVER_IMAGE
        resource: {id: img-1, name: golden-builder}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.00129901, message: The service is now unavailable to process the request.}
"#;
    let o = run_everywhere(scenario, &spec("image_job", "\"702364883651395584\""));
    assert_cause_everywhere(
        &o,
        &[
            "sub-job 702364883651395611 (CREATE_SERVER_IMAGE) FAILED",
            "WKS.00129901",
            "The service is now unavailable to process the request.",
        ],
    );
    let evidence = &o.report["waits"][0]["evidence"];
    assert_eq!(evidence["failed_total"], 1);
    assert_eq!(evidence["failed"][0]["resource_name"], "golden-builder");
    assert_eq!(evidence["job"]["status"], "FAILED");
    // The live view's closing line leads with the cause too.
    assert!(
        o.stderr
            .lines()
            .any(|l| l.starts_with('[') && l.contains("— sub-job 702364883651395611")),
        "{}",
        o.stderr
    );
    // The failed sub-job is blamed even though no condition names sub-jobs.
    assert_eq!(o.report["waits"][0]["blame"][0]["id"], "702364883651395611");
}

#[test]
fn a_failed_app_server_job_says_why_everywhere() {
    let scenario = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: app-1
    kind: app_server_job
    sub_jobs:
      - id: srv-1
        job_type: CREATE_SERVER
        resource: {id: server-1, name: app-server-01}
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.0163, message: The flavor is sold out in this availability zone.}
"#;
    let o = run_everywhere(scenario, &spec("app_server_job", "app-1"));
    assert_cause_everywhere(
        &o,
        &[
            "sub-job srv-1 (CREATE_SERVER) FAILED on app-server-01",
            "WKS.0163",
            "The flavor is sold out in this availability zone.",
        ],
    );
}

#[test]
fn a_failed_desktop_job_says_why_everywhere() {
    let scenario = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: desk-job
    kind: desktop_job
    timeline: [{at: 0s, status: RUNNING}, {at: 100ms, status: FAILED}]
    error: {code: WKS.00010110, message: Desktops cannot obtain valid IP addresses.}
    sub_jobs:
      - id: desk-sub-1
        resource: {id: d-1, name: desk-01, user_name: alice}
        timeline: [{at: 0s, status: RUNNING}, {at: 100ms, status: FAILED}]
        error: {code: WKS.00010110, message: no address for desk-01}
"#;
    let o = run_everywhere(scenario, &spec("desktop_job", "desk-job"));
    assert_cause_everywhere(
        &o,
        &[
            "sub-job desk-sub-1",
            "WKS.00010110",
            "no address for desk-01",
        ],
    );
    let evidence = &o.report["waits"][0]["evidence"];
    // The job's own error fields are kept beside the sub-job's.
    assert_eq!(evidence["job"]["error_code"], "WKS.00010110");
    assert_eq!(
        evidence["job"]["error_message"],
        "Desktops cannot obtain valid IP addresses."
    );
    assert_eq!(evidence["failed"][0]["user_name"], "alice");
    // A documented code comes with its meaning and remedy.
    let meaning = evidence["known_codes"]["WKS.00010110"].as_str().unwrap();
    assert!(meaning.contains("DHCP"), "{meaning}");
    assert!(o.stderr.contains("DHCP"), "{}", o.stderr);
}

#[test]
fn a_failed_job_without_sub_job_errors_names_the_jobs_own_error() {
    let scenario = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: desk-job
    kind: desktop_job
    timeline: [{at: 0s, status: FAILED}]
    error: {code: WKS.00099999, message: The pool is gone.}
"#;
    let o = run_everywhere(scenario, &spec("desktop_job", "desk-job"));
    assert_cause_everywhere(&o, &["job desk-job", "WKS.00099999", "The pool is gone."]);
    // An unknown code is shown as it came, with no meaning made up.
    assert!(o.report["waits"][0]["evidence"]["known_codes"].is_null());
}

#[test]
fn a_timeout_lists_the_items_still_running() {
    let scenario = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: desk-job
    kind: desktop_job
    sub_jobs:
      - id: quick
        resource: {id: d-1, name: desk-01}
        timeline: [{at: 0s, status: SUCCESS}]
      - id: slow-1
        resource: {id: d-2, name: desk-02}
        timeline: [{at: 0s, status: RUNNING}, {at: 1h, status: SUCCESS}]
        progress: [{at: 0s, value: 40}, {at: 1h, value: 100}]
      - id: slow-2
        resource: {id: d-3, name: desk-03}
        timeline: [{at: 0s, status: WAITING}, {at: 1h, status: SUCCESS}]
"#;
    let spec = "version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 1s
  poll: { initial: 50ms, max: 200ms }
waits:
  golden:
    desktop_job: desk-job
    target: [SUCCESS]
";
    let o = run_everywhere(scenario, spec);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let evidence = &o.report["waits"][0]["evidence"];
    assert_eq!(evidence["pending_total"], 2);
    let ids: Vec<&str> = evidence["pending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.contains(&"slow-1") && ids.contains(&"slow-2"),
        "{ids:?}"
    );
    assert_eq!(evidence["pending_counts"]["RUNNING"], 1);
    assert_eq!(evidence["pending_counts"]["WAITING"], 1);
    let cause = evidence["cause"].as_str().unwrap();
    assert!(cause.starts_with("2 of 3 items had not ended"), "{cause}");
    for text in [&o.stderr, &o.junit, &o.summary, &o.annotations[0]] {
        assert!(text.contains("had not ended"), "{text}");
        assert!(text.contains("slow-1") && text.contains("slow-2"), "{text}");
    }
    assert!(o.stderr.contains("40%"), "progress shown: {}", o.stderr);
    // The reason still says which time ran out.
    assert!(
        o.stderr.contains("the timeout of 1s ran out"),
        "{}",
        o.stderr
    );
}

/// `count` desktops of the job `fleet-job`, every one FAILED within 20 ms.
fn failing_fleet(count: u32) -> String {
    format!(
        "fleets:\n  - job_id: fleet-job\n    kind: desktop_job\n    count: {count}\n    duration: {{min: 10ms, max: 20ms}}\n    failure_rate: 1.0\n"
    )
}

#[test]
fn a_fleet_of_failing_desktops_stays_within_the_output_limits() {
    let scenario = format!("project_id: {PROJECT}\n{}", failing_fleet(5000));
    let o = run_everywhere(&scenario, &spec("desktop_job", "fleet-job"));
    assert_eq!(o.code, 1, "{}", o.stderr);
    let evidence = &o.report["waits"][0]["evidence"];
    assert_eq!(evidence["failed_total"], 5000);
    assert_eq!(evidence["failed"].as_array().unwrap().len(), 20);
    let cause = evidence["cause"].as_str().unwrap();
    assert!(cause.contains("(and 4999 more failed items)"), "{cause}");
    assert!(o.summary.len() <= 1024 * 1024, "{}", o.summary.len());
    assert!(o.summary.contains("4999 more"), "the rest counted");
    assert!(o.annotations.len() <= 10, "{:?}", o.annotations);
    assert!(
        o.annotations[0].len() < 4096,
        "one annotation stays short: {}",
        o.annotations[0].len()
    );
    assert!(
        o.annotations[0].contains("4995 more"),
        "{}",
        o.annotations[0]
    );
    assert!(o.stderr.contains("4995 more"), "{}", o.stderr);
    assert!(o.stderr.lines().count() < 40, "{}", o.stderr);
}

#[test]
fn a_tripped_failure_condition_names_the_count_and_outputs_show_in_the_summary() {
    let scenario = format!("{OK_AND_BAD_IMAGES}{}", failing_fleet(10));
    let spec = r#"version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 30s
  poll: { initial: 50ms, max: 200ms }
waits:
  build:
    image_job: img-ok
    target: [SUCCESS]
    outputs:
      image_id: $.sub_jobs[0].job_resource_info.resource_id
  golden:
    desktop_sub_jobs: { job_id: fleet-job }
    success: { all: [SUCCESS] }
    failure: { count: [FAILED], is: "> 5" }
"#;
    let o = run_everywhere(&scenario, spec);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let reason = o.report["waits"][1]["reason"].as_str().unwrap();
    assert!(reason.contains("10 of 10"), "{reason}");
    assert!(o.stderr.contains("10 of 10"), "{}", o.stderr);
    assert!(
        o.stderr.contains("output image_id = image-42"),
        "{}",
        o.stderr
    );
}

/// GitHub's files are written only under GitHub Actions, as docs/REPORTS.md
/// says: a variable left over in a shell is not written to, whether the run
/// ends normally or jobgate crashes.
#[test]
fn github_files_are_written_only_when_github_actions_is_true() {
    let spec_text = spec("image_job", "img-ok");
    for (panic, expected) in [(None, 0), (Some("engine"), 70)] {
        for actions in [false, true] {
            let mut test = Test::new()
                .scenario(OK_AND_BAD_IMAGES)
                .in_workdir("gate.yaml")
                .spec(&spec_text)
                .github_files();
            if actions {
                test = test.env("GITHUB_ACTIONS", "true");
            }
            if let Some(point) = panic {
                test = test.env("JOBGATE_DEBUG_PANIC", point);
            }
            let ran = test.run().exit(expected);
            let summary = ran.file("step_summary");
            let outputs = ran.file("github_output");
            assert_eq!(
                !summary.is_empty(),
                actions,
                "panic {panic:?}, GITHUB_ACTIONS {actions}: {summary}"
            );
            assert_eq!(!outputs.is_empty(), actions, "panic {panic:?}: {outputs}");
        }
    }
}
