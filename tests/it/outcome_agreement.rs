//! The run's verdict agrees with itself everywhere it is written: a failed
//! output write or a crash after the waits must never leave an `outcome`,
//! a JUnit count or a second `--json` document that reads as a pass, nor
//! hide a signal or a crash behind the write's exit 5.

use crate::common::harness;
use crate::common::hostile;

use crate::common::test::{Ran, Test};
use harness::*;
use hostile::{Hostile, job, one_wait};
use jobgate::sim::Endpoint;

/// The last value of `name` in the run's `$GITHUB_OUTPUT` file (the runner
/// keeps the last one).
fn last_output(ran: &Ran, name: &str) -> Option<String> {
    let outputs = parse_command_file(&ran.file("github_output"));
    outputs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Every wait met, the summary file cannot be written: exit 5, and the
/// report, `outcome=` and the JUnit property all say `api_error`, not
/// `met`, while the wait's own outcome stays.
#[test]
fn a_failed_write_turns_the_run_outcome_with_the_exit_code() {
    let server = Hostile::start(|_| job("SUCCESS"));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .unwritable_step_summary()
        .env_file("GITHUB_OUTPUT", "github_output", "")
        .junit()
        .run()
        .exit(5)
        .report(|report| {
            assert_eq!(report["outcome"], "api_error", "{report:#}");
            assert_eq!(report["waits"][0]["outcome"], "met", "{report:#}");
        });
    assert_eq!(last_output(&ran, "outcome").as_deref(), Some("api_error"));
    assert_eq!(last_output(&ran, "exit-code").as_deref(), Some("5"));
    let xml = ran.file("junit.xml");
    assert!(
        xml.contains(r#"<property name="outcome" value="api_error"/>"#),
        "{xml}"
    );
    assert!(ran.stderr().contains("api_error") || ran.stderr().contains("API error"));
}

/// A wait that crashed (exit 70) and an output that cannot be written: the
/// crash comes first, the write does not turn it into 5.
#[test]
fn a_failed_write_does_not_hide_a_crash() {
    let server = Hostile::start(|_| job("SUCCESS"));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .env("JOBGATE_DEBUG_PANIC", "wait:build")
        .unwritable_step_summary()
        .run()
        .exit(70)
        .report(|report| assert_eq!(report["outcome"], "internal_error", "{report:#}"));
    assert!(
        ran.stderr().contains("GITHUB_STEP_SUMMARY="),
        "the write's error is still said: {}",
        ran.stderr()
    );
}

/// A run stopped by SIGTERM and an output that cannot be written: the
/// signal wins, the exit code stays 143.
#[cfg(unix)]
#[test]
fn a_failed_write_does_not_hide_a_signal() {
    let ran = Test::new()
        .scenario(
            "project_id: 0123456789abcdef0123456789abcdef\njobs:\n  - id: stuck\n    kind: image_job\n    timeline: [{at: 0s, status: RUNNING}]\n",
        )
        .spec(
            "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 10m\n  poll: { initial: 50ms, max: 200ms }\nwaits:\n  build:\n    image_job: stuck\n    target: [SUCCESS]\n",
        )
        .unwritable_step_summary()
        .spawn()
        .signal_when("TERM", |run| {
            run.sim().stats().requests_to(Endpoint::ShowImageJob) >= 1
        })
        .exit(143);
    assert_eq!(ran.report["exit_code"], 143);
    assert_eq!(ran.report["outcome"], "cancelled");
    ran.stderr_has(&["GITHUB_STEP_SUMMARY="]);
}

/// A panic after publishing printed the `--json` document: stdout still
/// holds exactly one document, and the exit code and report say 70.
#[test]
fn a_crash_after_publishing_prints_one_json_document() {
    let server = Hostile::start(|_| job("SUCCESS"));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .args(&["--json"])
        .env("JOBGATE_DEBUG_PANIC", "published")
        .run()
        .exit(70)
        .report(|report| assert_eq!(report["outcome"], "internal_error", "{report:#}"));
    let stdout = String::from_utf8(ran.out.stdout.clone()).unwrap();
    let documents: Vec<serde_json::Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(documents.len(), 1, "{stdout}");
}
