//! Publishing a run's outputs: an output that cannot be written fails the
//! run, and every output that was written says so with the process's exit
//! code; standard output under `--json` holds the JSON report alone.

use crate::common::harness;
use crate::common::hostile;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};

const JOB: &str = "800000000000000001";

/// A server on which the job has succeeded: the verdict is exit 0.
fn succeeded() -> Hostile {
    Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
        ))
    })
}

fn spec() -> String {
    format!(
        "version: 1\ndefaults:\n  timeout: 10s\n  poll: {{ initial: 100ms, max: 200ms }}\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n"
    )
}

/// Paths of every output of one GitHub Actions run.
struct Files {
    dir: Workdir,
    spec: std::path::PathBuf,
    report: std::path::PathBuf,
    junit: std::path::PathBuf,
    github_output: std::path::PathBuf,
    summary: std::path::PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = Workdir::new();
        Files {
            spec: dir.write("gate.yaml", &spec()),
            report: dir.path("report.json"),
            junit: dir.path("junit.xml"),
            github_output: dir.write("github_output", ""),
            summary: dir.write("step_summary", ""),
            dir,
        }
    }

    /// Runs the spec against `server` with every output requested, plus
    /// `extra` arguments.
    fn run(&self, server: &Hostile, extra: &[&str]) -> Output {
        let mut cmd: Command = jobgate();
        cmd.env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_OUTPUT", &self.github_output)
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .arg("run")
            .arg(&self.spec)
            .args(["--endpoint", &server.url(), "--seed", "1"])
            .arg("--report")
            .arg(&self.report)
            .arg("--junit")
            .arg(&self.junit)
            .args(extra);
        output_within(&mut cmd, Duration::from_secs(120))
    }
}

/// The `exit_code` property of a JUnit report.
fn junit_exit_code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    doc.descendants()
        .find(|n| n.has_tag_name("property") && n.attribute("name") == Some("exit_code"))
        .and_then(|n| n.attribute("value"))
        .unwrap_or_default()
        .to_owned()
}

/// The last `exit-code` in `$GITHUB_OUTPUT`: the one the runner keeps.
fn github_exit_code(path: &Path) -> String {
    parse_command_file(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .rev()
        .find(|(name, _)| name == "exit-code")
        .map(|(_, value)| value)
        .unwrap_or_default()
}

/// `$GITHUB_OUTPUT` fails after the report and JUnit were written with the
/// verdict's 0: both are rewritten, so no file says 0 when the step exits 5.
#[test]
fn a_late_failed_write_rewrites_the_reports_with_the_process_code() {
    let server = succeeded();
    let files = Files::new();
    std::fs::remove_file(&files.github_output).unwrap();
    // A directory cannot be appended to.
    std::fs::create_dir(&files.github_output).unwrap();
    let out = files.run(&server, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 5, "{err}");
    assert!(err.contains("GITHUB_OUTPUT="), "{err}");
    let report = report(&files.report);
    assert_eq!(report["outcome"], "met", "the verdict itself stays");
    assert_eq!(report["exit_code"], 5, "{report}");
    assert_eq!(junit_exit_code(&files.junit), "5");
    let summary = std::fs::read_to_string(&files.summary).unwrap();
    assert!(summary.contains("(exit code 5)"), "{summary}");
    assert!(err.contains("exit code 5"), "{err}");
}

/// The step summary is the last file written: `$GITHUB_OUTPUT`, written
/// before it, gets the corrected `exit-code`, the reports too.
#[test]
fn a_failed_step_summary_corrects_the_step_outputs() {
    let server = succeeded();
    let files = Files::new();
    std::fs::remove_file(&files.summary).unwrap();
    std::fs::create_dir(&files.summary).unwrap();
    let out = files.run(&server, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 5, "{err}");
    assert!(err.contains("GITHUB_STEP_SUMMARY="), "{err}");
    assert_eq!(github_exit_code(&files.github_output), "5");
    assert_eq!(report(&files.report)["exit_code"], 5);
    assert_eq!(junit_exit_code(&files.junit), "5");
}

/// A report file that cannot be written: the outputs after it carry 5.
#[test]
fn an_unwritable_report_fails_the_run_and_the_other_outputs_say_so() {
    let server = succeeded();
    let files = Files::new();
    std::fs::create_dir(&files.report).unwrap();
    std::fs::write(files.report.join("inside"), "x").unwrap();
    let out = files.run(&server, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 5, "{err}");
    assert!(err.contains("report.json"), "{err}");
    assert_eq!(junit_exit_code(&files.junit), "5");
    assert_eq!(github_exit_code(&files.github_output), "5");
}

/// `--save-responses` into a path that is a file: the run fails, and the
/// report written after it says 5.
#[test]
fn an_unwritable_responses_directory_is_in_the_report_s_exit_code() {
    let server = succeeded();
    let files = Files::new();
    let taken = files.dir.write("taken", "a file, not a directory");
    let out = files.run(&server, &["--save-responses", taken.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(code(&out), 5, "{err}");
    assert_eq!(report(&files.report)["exit_code"], 5);
    assert_eq!(github_exit_code(&files.github_output), "5");
}

/// `--json` on stdout is printed after the files, so it has the final code.
#[test]
fn json_stdout_has_the_final_exit_code() {
    let server = succeeded();
    let files = Files::new();
    std::fs::remove_file(&files.github_output).unwrap();
    std::fs::create_dir(&files.github_output).unwrap();
    let out = files.run(&server, &["--json"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["exit_code"], 5);
}

/// When everything is written the code is the verdict's, everywhere.
#[test]
fn written_outputs_keep_the_verdict_s_code() {
    let server = succeeded();
    let files = Files::new();
    let out = files.run(&server, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(report(&files.report)["exit_code"], 0);
    assert_eq!(junit_exit_code(&files.junit), "0");
    assert_eq!(github_exit_code(&files.github_output), "0");
}

/// An invalid spec under GitHub Actions with `--report -` (which means
/// `--json`): standard output stays empty, the annotations go to stderr.
#[test]
fn report_to_stdout_keeps_annotations_off_it_when_the_spec_is_invalid() {
    let dir = Workdir::new();
    let spec = dir.write(
        "gate.yaml",
        "version: 1\nwaits:\n  build:\n    image_job: x\n    target: [SUCESS]\n",
    );
    for flag in [&["--json"][..], &["--report", "-"][..]] {
        let out = output_within(
            jobgate()
                .env("GITHUB_ACTIONS", "true")
                .arg("run")
                .arg(&spec)
                .args(flag),
            Duration::from_secs(60),
        );
        assert_eq!(code(&out), 2, "{flag:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{flag:?}");
        let err = stderr(&out);
        assert!(
            err.lines().any(|l| l.starts_with("::error file=")),
            "{flag:?}: {err}"
        );
    }
}

/// `eval --response` with a file that does not exist names the response,
/// not the spec, and exits 2.
#[test]
fn eval_names_a_missing_response_not_the_spec() {
    let dir = Workdir::new();
    let spec = dir.write("gate.yaml", &spec());
    let out = output_within(
        jobgate()
            .arg("eval")
            .arg(&spec)
            .args(["--wait", "build", "--response"])
            .arg(dir.path("missing.json")),
        Duration::from_secs(60),
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("cannot read the response"), "{err}");
    assert!(err.contains("missing.json"), "{err}");
    assert!(!err.contains("cannot read the spec"), "{err}");
}

/// A run that cannot start (no credentials) keeps its exit 4 when its
/// report cannot be written, and says the report was not written instead
/// of dropping that silently; the outputs written carry 4.
#[test]
fn a_run_that_cannot_start_says_which_output_was_not_written() {
    let server = succeeded();
    let files = Files::new();
    std::fs::create_dir(&files.report).unwrap();
    std::fs::write(files.report.join("inside"), "x").unwrap();
    let mut cmd = jobgate();
    cmd.env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .arg("run")
        .arg(&files.spec)
        .args(["--endpoint", &server.url()])
        .arg("--report")
        .arg(&files.report)
        .arg("--junit")
        .arg(&files.junit);
    let out = output_within(&mut cmd, Duration::from_secs(60));
    let err = stderr(&out);
    assert_eq!(code(&out), 4, "{err}");
    assert!(err.contains("cannot write"), "{err}");
    assert!(err.contains("report.json"), "{err}");
    assert_eq!(junit_exit_code(&files.junit), "4");
}
