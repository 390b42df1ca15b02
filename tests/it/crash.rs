//! The crash path publishes like any run: a panic under GitHub Actions
//! leaves the report, the step outputs, the summary and an annotation.

use crate::common::harness::parse_command_file;
use crate::common::scenarios::OK_AND_BAD_IMAGES;
use crate::common::test::Test;

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
    let ran = Test::new()
        .scenario(OK_AND_BAD_IMAGES)
        .in_workdir("gate.yaml")
        .spec(SPEC)
        .github_actions()
        .env("JOBGATE_DEBUG_PANIC", "engine")
        .run()
        .exit(70)
        .report(|report| {
            assert_eq!(report["exit_code"], 70, "{report:#}");
            assert_eq!(report["waits"][0]["outcome"], "internal_error");
        });

    let outputs = parse_command_file(&ran.file("github_output"));
    let exit_code: Vec<&str> = outputs
        .iter()
        .filter(|(name, _)| name == "exit-code")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(exit_code.last(), Some(&"70"), "{outputs:?}");
    let summary = ran.file("step_summary");
    assert!(summary.contains("exit code 70"), "{summary}");

    let stdout = ran.stdout();
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
