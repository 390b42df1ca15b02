//! The JSONPath conditions (`path:` with `exists`, `equals`, `in`, `matches`
//! or `count`) through `jobgate eval` on saved responses: for each test,
//! a response where it holds and one where it does not, asserting the
//! verdict, the exit code and what the condition found.

use crate::common::harness;

use harness::*;

/// One wait per test, each with a single condition, so the verdict is that
/// condition's: met (exit 0) when it holds, pending (exit 3) when it does
/// not, or failed (exit 1) for a failure condition.
const SPEC: &str = r#"version: 1
defaults:
  project_id: 0123456789abcdef0123456789abcdef
waits:
  status-in:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.status, in: [SUCCESS, COMPLETE] }
  every-sub-job-done:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[*].status", in: [SUCCESS, COMPLETE] }
  status-matches:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.status, matches: "SUCC.*" }
  fails-on-match:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.status, equals: SUCCESS }
    failure: { path: $.status, matches: "^FAIL(ED)?$" }
  total-matches:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.sub_jobs_total, matches: "2" }
  no-failed-sub-jobs:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[?@.status == 'FAILED']", count: "== 0" }
  more-than-two-sub-jobs:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[*].id", count: "> 2" }
  desktops-exist:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[?@.status == 'SUCCESS'].entities.desktop_id", exists: true }
  no-failed-sub-job-exists:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[?@.status == 'FAILED']", exists: false }
  status-equals:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.status, equals: SUCCESS }
  total-equals:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.sub_jobs_total, equals: 2 }
  total-equals-text:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: $.sub_jobs_total, equals: "2" }
  progress-equals:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/job-1" }
    success: { path: "$.sub_jobs[0].process", equals: 100 }
  desktop-list:
    desktop_sub_jobs: { job_id: job-1 }
    success:
      - { path: $.count, equals: 2 }
      - { path: "$.items[?@.status == 'FAILED']", count: "== 0" }
"#;

/// A desktop job's record once done.
const DONE: &str = r#"{
  "id": "job-1", "job_type": "createDesktops", "status": "SUCCESS", "sub_jobs_total": 2,
  "job_error_code": null, "fail_reason": null,
  "sub_jobs": [
    {"id": "s-1", "status": "SUCCESS", "process": 100,
     "entities": {"desktop_id": "d-1", "desktop_name": "pc-01"}},
    {"id": "s-2", "status": "SUCCESS", "process": 100,
     "entities": {"desktop_id": "d-2", "desktop_name": "pc-02"}}
  ]
}"#;

/// The same job failed: two desktops FAILED, one ABNORMAL.
const FAILED: &str = r#"{
  "id": "job-1", "job_type": "createDesktops", "status": "FAILED", "sub_jobs_total": 3,
  "job_error_code": "WKS.0163", "fail_reason": "the flavor is sold out",
  "sub_jobs": [
    {"id": "s-1", "status": "FAILED", "process": 40,
     "entities": {"desktop_id": "d-1", "desktop_name": "pc-01"}},
    {"id": "s-2", "status": "FAILED", "process": 10,
     "entities": {"desktop_id": "d-2", "desktop_name": "pc-02"}},
    {"id": "s-3", "status": "ABNORMAL", "process": 0,
     "entities": {"desktop_id": "d-3", "desktop_name": "pc-03"}}
  ]
}"#;

/// `eval` of `wait` on `response` (in a fresh directory, with relative
/// paths): the exit code and standard output.
fn eval(wait: &str, response: &str) -> (i32, String) {
    let dir = Workdir::new();
    dir.write("spec.yaml", SPEC);
    dir.write("response.json", response);
    let out = jobgate()
        .current_dir(dir.dir.path())
        .args(["eval", "spec.yaml", "--wait", wait])
        .args(["--response", "response.json"])
        .output()
        .unwrap();
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code(&out), String::from_utf8(out.stdout).unwrap())
}

const MET: (i32, &str) = (0, "  verdict: met");
const PENDING: (i32, &str) = (3, "  verdict: pending: keep polling");
const FAILED_VERDICT: (i32, &str) = (1, "  verdict: failed");

/// Asserts that `eval` of `wait` on `response` prints `lines` (the lines
/// of the conditions, in order) and ends with `verdict`.
fn assert_eval(wait: &str, response: &str, lines: &[&str], verdict: (i32, &str)) {
    let (code, stdout) = eval(wait, response);
    let printed: Vec<&str> = stdout.lines().collect();
    assert!(
        printed.len() >= 3,
        "expected a header, the observation and a verdict:\n{stdout}"
    );
    // The header, then what was observed, then one line per condition.
    assert_eq!(
        printed[0],
        format!("wait {wait} ({}) against response.json", kind(wait)),
        "{stdout}"
    );
    assert_eq!(&printed[2..printed.len() - 1], lines, "{stdout}");
    assert_eq!(*printed.last().unwrap(), verdict.1, "{stdout}");
    assert_eq!(code, verdict.0, "{stdout}");
}

fn kind(wait: &str) -> &'static str {
    if wait == "desktop-list" {
        "desktop_sub_jobs"
    } else {
        "get"
    }
}

// --- in --------------------------------------------------------------------------

#[test]
fn in_holds_when_a_selected_value_is_one_of_the_list() {
    assert_eval(
        "status-in",
        DONE,
        &[
            r#"  success ✓ $.status is one of ["SUCCESS", "COMPLETE"] — found 1 value(s): ["SUCCESS"]"#,
        ],
        MET,
    );
    assert_eval(
        "status-in",
        FAILED,
        &[
            r#"  success ✗ $.status is one of ["SUCCESS", "COMPLETE"] — found 1 value(s): ["FAILED"]"#,
        ],
        PENDING,
    );
}

#[test]
fn in_as_success_needs_every_selected_value_listed() {
    // Every selected status is listed...
    assert_eval(
        "every-sub-job-done",
        DONE,
        &[
            r#"  success ✓ $.sub_jobs[*].status is one of ["SUCCESS", "COMPLETE"] — found 2 value(s): ["SUCCESS", "SUCCESS"]"#,
        ],
        MET,
    );
    // ...and one that is not keeps the gate shut.
    assert_eval(
        "every-sub-job-done",
        FAILED,
        &[
            r#"  success ✗ $.sub_jobs[*].status is one of ["SUCCESS", "COMPLETE"] — found 3 value(s): ["FAILED", "FAILED", "ABNORMAL"]"#,
        ],
        PENDING,
    );
}

// --- matches -------------------------------------------------------------------------

#[test]
fn matches_holds_when_a_selected_string_matches_the_regex() {
    assert_eval(
        "status-matches",
        DONE,
        &[r#"  success ✓ $.status matches /SUCC.*/ — found 1 value(s): ["SUCCESS"]"#],
        MET,
    );
    assert_eval(
        "status-matches",
        FAILED,
        &[r#"  success ✗ $.status matches /SUCC.*/ — found 1 value(s): ["FAILED"]"#],
        PENDING,
    );
}

#[test]
fn matches_as_a_failure_condition_fails_the_wait() {
    // examples/jsonpath.yaml's failure condition.
    assert_eval(
        "fails-on-match",
        FAILED,
        &[
            r#"  failure ✓ $.status matches /^FAIL(ED)?$/ — found 1 value(s): ["FAILED"]"#,
            r#"  success ✗ $.status equals "SUCCESS" — found 1 value(s): ["FAILED"]"#,
        ],
        FAILED_VERDICT,
    );
    assert_eval(
        "fails-on-match",
        DONE,
        &[
            r#"  failure ✗ $.status matches /^FAIL(ED)?$/ — found 1 value(s): ["SUCCESS"]"#,
            r#"  success ✓ $.status equals "SUCCESS" — found 1 value(s): ["SUCCESS"]"#,
        ],
        MET,
    );
}

#[test]
fn matches_never_holds_on_a_value_that_is_not_a_string() {
    // The number 2 is not the text "2".
    assert_eval(
        "total-matches",
        DONE,
        &["  success ✗ $.sub_jobs_total matches /2/ — found 1 value(s): [2]"],
        PENDING,
    );
}

// --- count ----------------------------------------------------------------------------

#[test]
fn count_compares_the_number_of_selected_values() {
    assert_eval(
        "no-failed-sub-jobs",
        DONE,
        &[
            "  success ✓ $.sub_jobs[?@.status == 'FAILED'] selects == 0 values — found 0 value(s): []",
        ],
        MET,
    );
    assert_eval(
        "no-failed-sub-jobs",
        FAILED,
        &[
            r#"  success ✗ $.sub_jobs[?@.status == 'FAILED'] selects == 0 values — found 2 value(s): [{"entities":{"desktop_id":"d-1","desktop_name":"pc-01"},"id":"s-1","process":40,"status":"FAILED"}, {"entities":{"desktop_id":"d-2","desktop_name":"pc-02"},"id":"s-2","process":10,"status":"FAILED"}]"#,
        ],
        PENDING,
    );
    assert_eval(
        "more-than-two-sub-jobs",
        FAILED,
        &[
            r#"  success ✓ $.sub_jobs[*].id selects > 2 values — found 3 value(s): ["s-1", "s-2", "s-3"]"#,
        ],
        MET,
    );
    assert_eval(
        "more-than-two-sub-jobs",
        DONE,
        &[r#"  success ✗ $.sub_jobs[*].id selects > 2 values — found 2 value(s): ["s-1", "s-2"]"#],
        PENDING,
    );
}

// --- exists ---------------------------------------------------------------------------

#[test]
fn exists_true_holds_when_the_path_selects_something() {
    assert_eval(
        "desktops-exist",
        DONE,
        &[
            r#"  success ✓ $.sub_jobs[?@.status == 'SUCCESS'].entities.desktop_id exists — found 2 value(s): ["d-1", "d-2"]"#,
        ],
        MET,
    );
    assert_eval(
        "desktops-exist",
        FAILED,
        &[
            "  success ✗ $.sub_jobs[?@.status == 'SUCCESS'].entities.desktop_id exists — found 0 value(s): []",
        ],
        PENDING,
    );
}

#[test]
fn exists_false_holds_when_the_path_selects_nothing() {
    assert_eval(
        "no-failed-sub-job-exists",
        DONE,
        &["  success ✓ $.sub_jobs[?@.status == 'FAILED'] does not exist — found 0 value(s): []"],
        MET,
    );
    let (code, stdout) = eval("no-failed-sub-job-exists", FAILED);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains(
            "  success ✗ $.sub_jobs[?@.status == 'FAILED'] does not exist — found 2 value(s): ["
        ),
        "{stdout}"
    );
}

// --- equals ---------------------------------------------------------------------------

#[test]
fn equals_holds_when_a_selected_value_is_that_string() {
    assert_eval(
        "status-equals",
        DONE,
        &[r#"  success ✓ $.status equals "SUCCESS" — found 1 value(s): ["SUCCESS"]"#],
        MET,
    );
    assert_eval(
        "status-equals",
        FAILED,
        &[r#"  success ✗ $.status equals "SUCCESS" — found 1 value(s): ["FAILED"]"#],
        PENDING,
    );
}

#[test]
fn equals_holds_when_a_selected_value_is_that_number() {
    assert_eval(
        "total-equals",
        DONE,
        &["  success ✓ $.sub_jobs_total equals 2 — found 1 value(s): [2]"],
        MET,
    );
    assert_eval(
        "total-equals",
        FAILED,
        &["  success ✗ $.sub_jobs_total equals 2 — found 1 value(s): [3]"],
        PENDING,
    );
}

#[test]
fn equals_compares_types_a_quoted_number_is_text() {
    assert_eval(
        "total-equals-text",
        DONE,
        &[r#"  success ✗ $.sub_jobs_total equals "2" — found 1 value(s): [2]"#],
        PENDING,
    );
    assert_eval(
        "total-equals-text",
        r#"{"sub_jobs_total": "2"}"#,
        &[r#"  success ✓ $.sub_jobs_total equals "2" — found 1 value(s): ["2"]"#],
        MET,
    );
}

#[test]
fn equals_compares_numbers_by_value() {
    // JSON has one number type: a server may send 100 as `100.0` or
    // `1e2`. JSONPath's own `==` agrees (`$[?@ == 100]` selects 100.0).
    for written in ["100.0", "1e2"] {
        let response = format!(r#"{{"sub_jobs": [{{"process": {written}}}]}}"#);
        let (code, stdout) = eval("progress-equals", &response);
        assert_eq!(code, 0, "{written}: {stdout}");
    }
}

// --- What list waits see ------------------------------------------------------------

#[test]
fn list_waits_see_count_and_items_whatever_the_page_calls_them() {
    // The workspace list calls them `total_count` and `jobs`, and lists
    // `s-1` twice (the total counts it once: a total that the distinct
    // items do not match is inconsistent); paths read the de-duplicated
    // `{count, items}`.
    let page = r#"{"total_count": 2, "jobs": [
        {"id": "s-1", "status": "SUCCESS", "process": 100},
        {"id": "s-2", "status": "SUCCESS", "process": 100},
        {"id": "s-1", "status": "SUCCESS", "process": 100}
    ]}"#;
    let (code, stdout) = eval("desktop-list", page);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("  success ✓ $.count equals 2 — found 1 value(s): [2]\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  success ✓ $.items[?@.status == 'FAILED'] selects == 0 values — found 0 value(s): []\n"
        ),
        "{stdout}"
    );
    let failed = r#"{"total_count": 2, "jobs": [
        {"id": "s-1", "status": "SUCCESS", "process": 100},
        {"id": "s-2", "status": "FAILED", "process": 30}
    ]}"#;
    let (code, stdout) = eval("desktop-list", failed);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains(
            r#"  success ✗ $.items[?@.status == 'FAILED'] selects == 0 values — found 1 value(s): [{"id":"s-2","process":30,"status":"FAILED"}]"#
        ),
        "{stdout}"
    );
}
