//! The quiet failures explained, and offline debugging as documented: a
//! `where` that selects nothing says so, a tripped failure count names the
//! count, and `run --save-responses` writes the answers `eval` judges the
//! same way `run` did, without a project id or the run's variables.

use crate::common::harness;
use crate::common::hostile;

use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};

const IMAGE_JOB: &str = "702364883651395584";

/// An image job whose three sub-jobs succeeded, one of them failed if
/// `failed`.
fn image_sim(failed: bool) -> Sim {
    let last = if failed { "FAILED" } else { "SUCCESS" };
    Sim::start(&format!(
        r#"
project_id: {PROJECT}
jobs:
  - id: "{IMAGE_JOB}"
    kind: image_job
    sub_jobs:
      - id: "702364883651395610"
        job_type: CREATE_SERVER
        timeline: [{{at: 0s, status: SUCCESS}}]
      - id: "702364883651395611"
        job_type: CREATE_SERVER_IMAGE
        resource: {{id: img-1, name: golden-builder}}
        timeline: [{{at: 0s, status: {last}}}]
        error: {{code: WKS.00129901, message: The service is now unavailable to process the request.}}
      - id: "702364883651395612"
        job_type: DELETE_SERVER
        timeline: [{{at: 0s, status: SUCCESS}}]
"#
    ))
}

const HEADER: &str = "version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 2s
  poll: { initial: 50ms, max: 200ms }
waits:
";

#[test]
fn a_where_that_selects_nothing_times_out_saying_so_and_suggests_the_value() {
    let sim = image_sim(false);
    let spec = format!(
        "{HEADER}  captured:
    image_job: \"{IMAGE_JOB}\"
    success:
      all: [SUCCESS]
      where: {{ job_type: CREATE_SERVR }}
"
    );
    let (out, report) = run_reported(&sim.url(), &spec, &[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let wait = &report["waits"][0];
    assert_eq!(wait["outcome"], "timed_out");
    let reason = wait["reason"].as_str().unwrap();
    for needle in [
        "job_type: [CREATE_SERVR] matched none of the 3 sub-jobs seen",
        "CREATE_SERVER (1), CREATE_SERVER_IMAGE (1), DELETE_SERVER (1)",
        "did you mean `CREATE_SERVER`?",
    ] {
        assert!(
            reason.contains(needle),
            "{needle} not in the reason {reason}"
        );
    }
    // It leads every output: the evidence's cause, and so the summary.
    let cause = wait["evidence"]["cause"].as_str().unwrap();
    assert!(
        cause.starts_with("the `where` job_type: [CREATE_SERVR]"),
        "{cause}"
    );
    let words = stderr(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(words.contains("did you mean `CREATE_SERVER`?"), "{words}");
}

#[test]
fn a_tripped_failure_count_names_the_count_in_the_reason() {
    let mut sub_jobs = String::new();
    for i in 0..10 {
        let status = if i < 6 { "FAILED" } else { "SUCCESS" };
        sub_jobs.push_str(&format!(
            "      - id: \"s-{i}\"\n        job_type: CREATE_DESKTOP\n        timeline: [{{at: 0s, status: {status}}}]\n"
        ));
    }
    let sim = Sim::start(&format!(
        "project_id: {PROJECT}\njobs:\n  - id: d-1\n    kind: desktop_job\n    sub_jobs:\n{sub_jobs}"
    ));
    let spec = format!(
        "{HEADER}  fleet:
    desktop_job: d-1
    failure:
      count: [FAILED]
      is: \"> 5\"
    success:
      all: [SUCCESS]
"
    );
    let (out, report) = run_reported(&sim.url(), &spec, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let reason = report["waits"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("6 FAILED > 5 (6 of 10 selected)"),
        "{reason}"
    );
}

/// Runs `spec` with `--save-responses`, then `eval` on what it saved for
/// `wait`, as a user debugging offline would: without the project id or
/// the job id variable the run had.
fn run_then_eval(sim: &Sim, spec: &str, wait: &str) -> (serde_json::Value, std::process::Output) {
    let dir = Workdir::new();
    let spec_path = dir.write("spec.yaml", spec);
    let saved = dir.path("responses");
    let report_path = dir.path("report.json");
    let out = output_within(
        jobgate()
            .args(["run", "--seed", "1", "--endpoint", &sim.url()])
            // A count poll is several requests: above the default rate, so
            // that the short timeouts here see a whole poll.
            .args(["--max-rps", "20"])
            .args(["--var", &format!("IMAGE_JOB_ID={IMAGE_JOB}")])
            .arg(&spec_path)
            .arg("--report")
            .arg(&report_path)
            .arg("--save-responses")
            .arg(&saved),
        Duration::from_secs(120),
    );
    let report = report(&report_path);
    assert_eq!(
        report["exit_code"].as_i64(),
        Some(i64::from(code(&out))),
        "{}",
        stderr(&out)
    );
    let response = saved.join(format!("{wait}.json"));
    assert!(
        response.exists(),
        "{} not written: {}",
        response.display(),
        stderr(&out)
    );
    let evaluated = output_within(
        jobgate()
            .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
            .args(["eval", "--wait", wait, "--response"])
            .arg(&response)
            .arg(&spec_path),
        Duration::from_secs(60),
    );
    (report, evaluated)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `eval` exits as `run` did, and names the same cause.
fn assert_agrees(report: &serde_json::Value, evaluated: &std::process::Output) {
    assert_eq!(
        i64::from(code(evaluated)),
        report["exit_code"].as_i64().unwrap(),
        "{}{}",
        stdout(evaluated),
        stderr(evaluated)
    );
    if let Some(cause) = report["waits"][0]["evidence"]["cause"].as_str()
        && report["waits"][0]["outcome"] != "timed_out"
    {
        assert!(
            stdout(evaluated).contains(&format!("cause: {cause}")),
            "{cause} not in {}",
            stdout(evaluated)
        );
    }
}

#[test]
fn a_saved_job_answer_is_judged_by_eval_as_run_judged_it() {
    let sim = image_sim(true);
    let spec = format!(
        "{HEADER}  golden:
    image_job: ${{IMAGE_JOB_ID}}
    target: [SUCCESS]
"
    );
    let (report, evaluated) = run_then_eval(&sim, &spec, "golden");
    assert_eq!(report["exit_code"], 1);
    assert_agrees(&report, &evaluated);
    assert!(
        stdout(&evaluated).contains("WKS.00129901"),
        "{}",
        stdout(&evaluated)
    );
}

#[test]
fn a_saved_list_answer_is_judged_by_eval_as_run_judged_it() {
    let sim = image_sim(true);
    let spec = format!(
        "{HEADER}  subs:
    image_sub_jobs: {{ job_id: \"${{IMAGE_JOB_ID}}\", job_type: CREATE_SERVER_IMAGE }}
    failure:
      any: [FAILED]
      where: {{ job_type: CREATE_SERVER_IMAGE }}
    success:
      all: [SUCCESS]
"
    );
    let (report, evaluated) = run_then_eval(&sim, &spec, "subs");
    assert_eq!(report["exit_code"], 1);
    assert_agrees(&report, &evaluated);
}

#[test]
fn a_saved_count_answer_is_judged_by_eval_as_run_judged_it() {
    let sim = image_sim(true);
    let spec = format!(
        "{HEADER}  counted:
    image_sub_job_count: {{ job_id: \"${{IMAGE_JOB_ID}}\", job_type: [CREATE_SERVER, CREATE_SERVER_IMAGE, DELETE_SERVER] }}
    failure: {{ count: [FAILED], is: \">= 1\" }}
    success: {{ count: [SUCCESS], is: \">= 3\" }}
"
    );
    let (report, evaluated) = run_then_eval(&sim, &spec, "counted");
    assert_eq!(report["exit_code"], 1, "{report}");
    assert_agrees(&report, &evaluated);
}

#[test]
fn a_saved_answer_of_a_timed_out_wait_stays_pending_in_eval() {
    let sim = image_sim(false);
    let spec = format!(
        "{HEADER}  captured:
    image_job: ${{IMAGE_JOB_ID}}
    success:
      all: [SUCCESS]
      where: {{ job_type: CREATE_SERVR }}
"
    );
    let (report, evaluated) = run_then_eval(&sim, &spec, "captured");
    assert_eq!(report["exit_code"], 3);
    assert_agrees(&report, &evaluated);
    assert!(
        stdout(&evaluated).contains("did you mean `CREATE_SERVER`?"),
        "{}",
        stdout(&evaluated)
    );
}

#[test]
fn eval_names_an_unset_variable_its_conditions_need() {
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &format!(
            "{HEADER}  captured:
    image_job: ${{IMAGE_JOB_ID}}
    success:
      all: [SUCCESS]
      where: {{ job_type: \"${{STEP_TYPE}}\" }}
"
        ),
    );
    let response = dir.write(
        "job.json",
        r#"{"id": "1", "status": "SUCCESS", "sub_jobs_total": 0, "sub_jobs": []}"#,
    );
    let out = jobgate()
        .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
        .args(["eval", "--wait", "captured", "--response"])
        .arg(&response)
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--var STEP_TYPE="),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("IMAGE_JOB_ID"), "{}", stderr(&out));
}

#[test]
fn a_responses_directory_that_cannot_be_written_fails_the_run_after_the_report() {
    let sim = image_sim(false);
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &format!("{HEADER}  golden:\n    image_job: \"{IMAGE_JOB}\"\n    target: [SUCCESS]\n"),
    );
    // A file where the directory should be.
    let blocked = dir.write("responses", "");
    let report_path = dir.path("report.json");
    let out = output_within(
        jobgate()
            .args(["run", "--seed", "1", "--endpoint", &sim.url()])
            .arg(&spec)
            .arg("--report")
            .arg(&report_path)
            .arg("--save-responses")
            .arg(&blocked),
        Duration::from_secs(120),
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert!(stderr(&out).contains("responses"), "{}", stderr(&out));
    // The gate's own outputs were written first, and say what the run saw.
    assert_eq!(report(&report_path)["waits"][0]["outcome"], "met");
}

#[test]
fn a_saved_response_that_echoes_a_credential_is_masked_and_still_judged() {
    // A server that puts the secret key in the job's failure reason.
    let server = Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"id":"{IMAGE_JOB}","status":"FAILED","job_type":"CREATE_IMAGE","fail_reason":"bad signature with {SK} \u001b[2J","sub_jobs":[]}}"#
        ))
    });
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &format!("{HEADER}  golden:\n    image_job: \"{IMAGE_JOB}\"\n    target: [SUCCESS]\n"),
    );
    let saved = dir.path("responses");
    let out = output_within(
        jobgate()
            .args(["run", "--seed", "1", "--endpoint", &server.url()])
            .arg(&spec)
            .arg("--save-responses")
            .arg(&saved),
        Duration::from_secs(120),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = std::fs::read_to_string(saved.join("golden.json")).unwrap();
    assert!(!text.contains(SK), "{text}");
    assert!(!text.contains(&SK[..12]), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains("u001b"),
        "{text}"
    );
    assert!(text.contains("***"), "{text}");
    // Still the answer `eval` reads, and judges as `run` did.
    let evaluated = jobgate()
        .args(["eval", "--wait", "golden", "--response"])
        .arg(saved.join("golden.json"))
        .arg(&spec)
        .output()
        .unwrap();
    assert_eq!(code(&evaluated), 1, "{}", stderr(&evaluated));
}

#[test]
fn a_saved_response_that_would_overwrite_the_report_is_refused_before_polling() {
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &format!("{HEADER}  golden:\n    image_job: \"{IMAGE_JOB}\"\n    target: [SUCCESS]\n"),
    );
    let out = jobgate()
        .current_dir(dir.dir.path())
        .args(["run", "--endpoint", "http://127.0.0.1:9"])
        .arg(&spec)
        .args(["--report", "out/golden.json", "--save-responses", "out"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("name the same file"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path("out").exists());
}
