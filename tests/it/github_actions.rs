//! jobgate inside GitHub Actions: the binary runs with the runner's
//! environment and files (GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY)
//! against the simulator, and the outputs, step summary, annotations and
//! masks are checked as the runner would read them.

use crate::common::harness;
use crate::common::scenarios::OK_AND_BAD_IMAGES;
use crate::common::test::Test;

use harness::*;

const SPEC: &str = "version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 20s
  poll: { initial: 50ms, max: 200ms }
waits:
  build:
    image_job: img-ok
    target: [SUCCESS]
    outputs:
      image_id: $.sub_jobs[0].job_resource_info.resource_id
  broken:
    image_job: img-bad
    success: { all: [SUCCESS] }
    failure: { any: [FAILED] }
";

#[test]
fn writes_outputs_summary_annotations_and_masks() {
    // Run from the directory holding the spec, as a workflow runs from the
    // repository root, so the annotation's file is the relative path.
    let ran = Test::new()
        .scenario(OK_AND_BAD_IMAGES)
        .in_workdir("gate.yaml")
        .spec(SPEC)
        .github_actions()
        .file("github_output", "EXISTING=kept\n")
        .env("CI", "true")
        .args(&["--keep-going"])
        .run()
        .exit(1);
    let stdout = ran.stdout();
    let report_path = ran.path("report.json");

    let outputs = parse_command_file(&ran.file("github_output"));
    let get = |k: &str| outputs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(
        get("EXISTING").as_deref(),
        Some("kept"),
        "the file must be appended to"
    );
    assert_eq!(get("outcome").as_deref(), Some("failed"));
    assert_eq!(get("exit-code").as_deref(), Some("1"));
    assert_eq!(get("build-image_id").as_deref(), Some("image-42"));
    assert_eq!(
        get("report").as_deref(),
        Some(report_path.to_str().unwrap())
    );

    let summary = ran.file("step_summary");
    assert!(summary.contains("| "), "a Markdown table: {summary}");
    assert!(
        summary.contains("broken") && summary.contains("disk quota exceeded"),
        "{summary}"
    );

    let errors = ran.annotations();
    assert_eq!(
        errors.len(),
        1,
        "one annotation for the failed wait: {stdout}"
    );
    // On the line and column of `broken:` in SPEC.
    assert_eq!(
        errors[0],
        "::error file=gate.yaml,line=12,col=3,title=jobgate%3A wait broken failed::sub-job bad-1 (CREATE_SERVER_IMAGE) FAILED on bad-1 — WKS.00129901 disk quota exceeded%0Aended because: failure condition holds: any of the sub-jobs in [FAILED] (found 1 of 1 selected sub-jobs in [FAILED])%0A• bad-1 CREATE_SERVER_IMAGE FAILED WKS.00129901: disk quota exceeded (resource bad-1)"
    );
    assert!(
        stdout.contains(&format!("::add-mask::{SK}")),
        "the secret key is masked first"
    );
    assert!(stdout.contains("::group::") && stdout.contains("::endgroup::"));
    // Apart from its own mask command, the secret appears nowhere.
    let unmasked = stdout.replace(&format!("::add-mask::{SK}"), "");
    assert!(!unmasked.contains(SK) && !ran.stderr().contains(SK));
    assert!(!ran.report_text.contains(SK));
}

#[test]
fn json_on_stdout_stays_pure_json_under_actions() {
    let ran = Test::new()
        .scenario(OK_AND_BAD_IMAGES)
        .spec(SPEC)
        .github_actions()
        .args(&["--keep-going", "--json"])
        .run()
        .exit(1);
    let stdout = ran.stdout();
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"));
    assert_eq!(json["outcome"], "failed");
    assert_report_matches_schema(&json);
    assert!(!stdout.contains(SK), "no secret in the report");
    // The workflow commands moved to stderr, which the runner reads too.
    let err = ran.stderr();
    assert!(err.contains(&format!("::add-mask::{SK}")), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("::error")).count(),
        1,
        "{err}"
    );
}

#[test]
fn spec_errors_become_located_annotations() {
    let dir = Workdir::new();
    let spec = dir.write(
        "gate.yaml",
        "version: 1\nwaits:\n  build:\n    image_job: x\n    target: [SUCESS]\n",
    );
    let out = jobgate()
        .env("GITHUB_ACTIONS", "true")
        .args(["validate", spec.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let annotation = stdout
        .lines()
        .find(|l| l.starts_with("::error"))
        .expect("an annotation");
    assert!(
        annotation.contains("line=5") && annotation.contains("col=14"),
        "{annotation}"
    );
    assert!(annotation.contains("SUCESS"), "{annotation}");
}

#[test]
fn missing_credentials_still_write_the_report_outputs_and_summary() {
    let ran = Test::new()
        // Nothing listens here: the run must not get as far as a request.
        .endpoint("http://127.0.0.1:9")
        .in_workdir("gate.yaml")
        .spec(SPEC)
        .env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .github_actions()
        .junit()
        .run()
        .exit(4)
        .stderr_has(&["error: no credentials"]);

    let report = &ran.report;
    assert_eq!(report["outcome"], "auth_error", "{report:#}");
    assert_eq!(report["exit_code"], 4);
    for wait in report["waits"].as_array().unwrap() {
        assert_eq!(wait["outcome"], "auth_error", "{wait:#}");
        assert_eq!(wait["polls"], 0);
        assert!(
            wait["reason"]
                .as_str()
                .unwrap()
                .starts_with("not started: no credentials"),
            "{wait:#}"
        );
    }
    // An auth error is an error in JUnit terms, not a test failure.
    assert!(
        ran.file("junit.xml")
            .contains("<error message=\"auth error: not started")
    );

    let outputs = parse_command_file(&ran.file("github_output"));
    let get = |k: &str| outputs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("outcome").as_deref(), Some("auth_error"));
    assert_eq!(get("exit-code").as_deref(), Some("4"));
    let summary = ran.file("step_summary");
    assert!(summary.contains("not started: no credentials"), "{summary}");
    let stdout = ran.stdout();
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::error file=gate.yaml,line=") && l.contains("wait build")),
        "{stdout}"
    );
}
