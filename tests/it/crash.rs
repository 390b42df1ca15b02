//! The crash path publishes like any run: a panic under GitHub Actions
//! leaves the report, the step outputs, the summary and an annotation.

use crate::common::harness;

use std::time::Duration;

use harness::*;

const SCENARIO: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: img-ok
    kind: image_job
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER_IMAGE
        timeline: [{at: 0s, status: SUCCESS}]
"#;

const SPEC: &str = "version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 30s
  poll: { initial: 50ms, max: 200ms }
waits:
  golden:
    image_job: img-ok
    target: [SUCCESS]
";

/// A panic in the run itself, on the main thread, under GitHub Actions:
/// the step outputs and the summary say exit 70, the report is written, and
/// the failed wait is annotated on the line that declares it, as for a run
/// that ends normally.
#[test]
fn a_crash_under_github_actions_is_published_like_any_run() {
    let sim = Sim::start(SCENARIO);
    let dir = Workdir::new();
    dir.write("gate.yaml", SPEC);
    let summary_file = dir.write("step_summary", "");
    let output_file = dir.write("github_output", "");
    let report_path = dir.path("report.json");
    let out = output_within(
        jobgate()
            .current_dir(dir.dir.path())
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_STEP_SUMMARY", &summary_file)
            .env("JOBGATE_DEBUG_PANIC", "engine")
            .args(["run", "gate.yaml", "--endpoint", &sim.url()])
            .arg("--report")
            .arg(&report_path),
        Duration::from_secs(60),
    );
    assert_eq!(code(&out), 70, "{}", stderr(&out));
    let report = report(&report_path);
    assert_eq!(report["exit_code"], 70, "{report:#}");
    assert_eq!(report["waits"][0]["outcome"], "internal_error");

    let outputs = parse_command_file(&std::fs::read_to_string(&output_file).unwrap());
    let exit_code: Vec<&str> = outputs
        .iter()
        .filter(|(name, _)| name == "exit-code")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(exit_code.last(), Some(&"70"), "{outputs:?}");
    let summary = std::fs::read_to_string(&summary_file).unwrap();
    assert!(summary.contains("exit code 70"), "{summary}");

    let stdout = String::from_utf8_lossy(&out.stdout);
    let annotation = stdout
        .lines()
        .find(|line| line.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation on stdout:\n{stdout}"));
    assert!(
        annotation.contains("file=gate.yaml,line=7,col=3,")
            && annotation.contains("wait golden internal error"),
        "{annotation}"
    );
}
