//! Polling from the duration model, end to end: poll counts and orders
//! against the simulator, never timings. Jobs take seconds; with
//! `JOBGATE_TIME_SCALE=60` jobgate's built-in priors run sixty times faster,
//! as they do against the time-compressed benchmark.

use crate::common::harness::*;

/// One image job RUNNING from the start that ends SUCCESS at `end_s`; with
/// `past` finished jobs of its type that each took `end_s`.
fn image_scenario(jobs: usize, end_s: u32, past: u32) -> String {
    let mut yaml = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..jobs {
        yaml.push_str(&format!(
            "  - id: build-{i}\n    kind: image_job\n    job_type: CREATE_SERVER_IMAGE\n    timeline: [{{at: 0s, status: RUNNING}}, {{at: {end_s}s, status: SUCCESS}}]\n"
        ));
    }
    if past > 0 {
        yaml.push_str(&format!(
            "past_image_jobs:\n  - job_type: CREATE_SERVER_IMAGE\n    count: {past}\n    took: {{min: {end_s}s, max: {end_s}s}}\n"
        ));
    }
    yaml
}

/// Waits on `jobs` image jobs with `poll` settings.
fn image_spec(jobs: usize, poll: &str) -> String {
    let mut yaml = format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 60s\n  poll: {poll}\nwaits:\n"
    );
    for i in 0..jobs {
        yaml.push_str(&format!(
            "  build-{i}:\n    image_job: build-{i}\n    pending: [WAITING, RUNNING]\n    target: [SUCCESS]\n"
        ));
    }
    yaml
}

const SCALED: &[(&str, &str)] = &[("JOBGATE_TIME_SCALE", "60")];

/// Runs `spec` against a simulator of `scenario`; returns the first wait's
/// polls, the whole report and the process output.
fn polls_of(
    scenario: &str,
    spec: &str,
    extra: &[&str],
) -> (u64, serde_json::Value, std::process::Output) {
    let sim = Sim::start(scenario);
    let mut args = vec!["--max-rps", "50"];
    args.extend_from_slice(extra);
    let (out, report) = run_reported_env(&sim.url(), spec, &args, SCALED);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_report_matches_schema(&report);
    let polls = report["waits"][0]["polls"].as_u64().unwrap();
    (polls, report, out)
}

#[test]
fn a_job_with_a_long_history_is_polled_less_than_a_fixed_interval() {
    // A 12 s job whose ten predecessors took 12 s: a fixed 250 ms interval
    // polls about 49 times; the model sleeps until the end is near.
    let scenario = image_scenario(1, 12, 10);
    let fixed = "{ initial: 250ms, max: 2s, factor: 1, jitter: none, adaptive: false }";
    let model = "{ initial: 250ms, max: 2s, jitter: none }";
    let (fixed_polls, _, _) = polls_of(&scenario, &image_spec(1, fixed), &["--no-history"]);
    let (model_polls, report, _) = polls_of(&scenario, &image_spec(1, model), &["--no-history"]);
    assert!(
        model_polls * 2 <= fixed_polls,
        "model {model_polls} polls, fixed {fixed_polls}"
    );
    let estimate = &report["waits"][0]["estimate"];
    assert_eq!(estimate["basis"], "history", "{report:#}");
    assert_eq!(estimate["samples"], 10, "{report:#}");
}

#[test]
fn eager_never_polls_less_than_gentle() {
    let scenario = image_scenario(1, 8, 0);
    let poll =
        |effort: &str| format!("{{ initial: 250ms, max: 2s, jitter: none, effort: {effort} }}");
    let (gentle, _, _) = polls_of(
        &scenario,
        &image_spec(1, &poll("gentle")),
        &["--no-history"],
    );
    let (eager, _, _) = polls_of(&scenario, &image_spec(1, &poll("eager")), &["--no-history"]);
    assert!(eager > gentle, "eager {eager} polls, gentle {gentle}");
    // The command line overrides the spec.
    let (overridden, _, _) = polls_of(
        &scenario,
        &image_spec(1, &poll("gentle")),
        &["--no-history", "--effort", "eager"],
    );
    assert!(
        overridden > gentle,
        "--effort eager {overridden} polls, gentle {gentle}"
    );
}

#[test]
fn a_second_run_learns_from_the_local_history_of_the_first() {
    let dir = Workdir::new();
    let file = dir.path("history.json");
    let file = file.to_str().unwrap();
    let poll = "{ initial: 250ms, max: 2s, jitter: none }";
    // The first run sees three jobs of the type start and end: no history
    // from the API, nothing known locally.
    let (first, report, _) = polls_of(
        &image_scenario(3, 12, 0),
        &image_spec(3, poll),
        &["--history-file", file],
    );
    assert_eq!(
        report["waits"][0]["estimate"]["basis"], "prior",
        "{report:#}"
    );
    // It recorded what it saw.
    let text = std::fs::read_to_string(file).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        stored["entries"][0]["secs"].as_array().unwrap().len(),
        3,
        "{text}"
    );
    // The second run, on a job of the same type, polls less.
    let (second, report, _) = polls_of(
        &image_scenario(1, 12, 0),
        &image_spec(1, poll),
        &["--history-file", file],
    );
    let estimate = &report["waits"][0]["estimate"];
    assert_eq!(estimate["basis"], "local_history", "{report:#}");
    assert_eq!(estimate["samples"], 3, "{report:#}");
    assert!(second < first, "second run {second} polls, first {first}");
    // And recorded one more.
    let text = std::fs::read_to_string(file).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        stored["entries"][0]["secs"].as_array().unwrap().len(),
        4,
        "{text}"
    );
}

#[test]
fn the_local_history_holds_no_secret_nor_server_string() {
    let dir = Workdir::new();
    let file = dir.path("history.json");
    let poll = "{ initial: 250ms, max: 1s, jitter: none }";
    let (_, _, out) = polls_of(
        &image_scenario(1, 2, 0),
        &image_spec(1, poll),
        &["--history-file", file.to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    for secret in [AK, SK, PROJECT, "build-0", "127.0.0.1", "http"] {
        assert!(!text.contains(secret), "the history holds {secret}: {text}");
    }
    assert!(text.contains("CREATE_SERVER_IMAGE"), "{text}");
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
}

#[test]
fn a_corrupt_history_file_warns_once_and_the_run_still_passes() {
    let dir = Workdir::new();
    // A history file cut short (as by a full disk on an earlier copy).
    let file = dir.write("history.json", r#"{"jobgate_history":1,"entries":[{"proj"#);
    let poll = "{ initial: 250ms, max: 1s, jitter: none }";
    let (_, report, out) = polls_of(
        &image_scenario(2, 2, 0),
        &image_spec(2, poll),
        &["--history-file", file.to_str().unwrap()],
    );
    assert_eq!(report["outcome"], "met", "{report:#}");
    let err = stderr(&out);
    assert_eq!(err.matches("warning: local history").count(), 1, "{err}");
    assert!(err.contains("--no-history"), "{err}");
    // Rewritten whole with what this run saw.
    let text = std::fs::read_to_string(&file).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(stored["jobgate_history"], 1, "{text}");
}

#[test]
fn a_history_file_that_is_not_jobgate_s_is_never_overwritten() {
    // `--history-file` naming the spec by mistake: the run passes, says
    // so once, and the spec is left byte for byte.
    let dir = Workdir::new();
    let spec = image_spec(2, "{ initial: 250ms, max: 1s, jitter: none }");
    let file = dir.write("gate.yaml", &spec);
    let (_, report, out) = polls_of(
        &image_scenario(2, 2, 0),
        &spec,
        &["--history-file", file.to_str().unwrap()],
    );
    assert_eq!(report["outcome"], "met", "{report:#}");
    let err = stderr(&out);
    assert_eq!(err.matches("warning: local history").count(), 1, "{err}");
    assert!(err.contains("left as it is"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), spec);
}

#[test]
fn without_history_nothing_is_written() {
    let dir = Workdir::new();
    let file = dir.path("history.json");
    let sim = Sim::start(&image_scenario(1, 1, 0));
    let (out, _) = run_reported_env(
        &sim.url(),
        &image_spec(1, "{ initial: 250ms, max: 1s, jitter: none }"),
        &["--no-history"],
        &[("JOBGATE_HISTORY_FILE", file.to_str().unwrap())],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        !file.exists(),
        "--no-history wins over JOBGATE_HISTORY_FILE"
    );
}

/// Ten desktops: two fail early, a third at `third_s`, the rest succeed at
/// 12 s.
fn fleet_scenario(third_s: u32) -> String {
    let mut yaml = format!(
        "project_id: {PROJECT}\njobs:\n  - id: desks\n    kind: desktop_job\n    sub_jobs:\n"
    );
    for i in 0..10 {
        let end = match i {
            0 => "{at: 1s, status: FAILED}".to_owned(),
            1 => "{at: 2s, status: FAILED}".to_owned(),
            2 => format!("{{at: {third_s}s, status: FAILED}}"),
            _ => "{at: 12s, status: SUCCESS}".to_owned(),
        };
        yaml.push_str(&format!(
            "      - id: desk-{i}\n        timeline: [{{at: 0s, status: RUNNING}}, {end}]\n"
        ));
    }
    yaml
}

/// Polls from the first one that saw two failed desktops to the one that
/// saw three, for a failure condition `failure` (a condition that does not
/// trip ends the wait by its timeout).
fn polls_between_second_and_third_failure(failure: &str) -> u64 {
    let sim = Sim::start(&fleet_scenario(9));
    let spec = format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 13s\n  poll: {{ initial: 250ms, max: 4s, jitter: none, effort: gentle }}\nwaits:\n  desks:\n    desktop_sub_jobs: {{ job_id: desks }}\n    success: {{ all: [SUCCESS] }}\n    failure: {failure}\n"
    );
    let (out, report) = run_reported_env(
        &sim.url(),
        &spec,
        &["--max-rps", "50", "--no-history"],
        SCALED,
    );
    assert_report_matches_schema(&report);
    let wait = &report["waits"][0];
    let history = wait["history"].as_array().unwrap();
    let poll_of =
        |n: &str| {
            history
            .iter()
            .find(|h| h["state"].as_str().unwrap().contains(&format!("{n} FAILED")))
            .unwrap_or_else(|| panic!("never saw {n} FAILED: {wait:#}\n{}", stderr(&out)))["poll"]
            .as_u64()
            .unwrap()
        };
    poll_of("3") - poll_of("2")
}

#[test]
fn a_failure_count_near_its_threshold_is_watched_closely() {
    // `> 2`: after the second failure one more trips it, so the schedule
    // polls at the floor; `> 5` is not near, so the model spaces the polls
    // (`gentle`, so they are spaced well beyond the floor).
    let near = polls_between_second_and_third_failure("{ count: [FAILED], is: '> 2' }");
    let far = polls_between_second_and_third_failure("{ count: [FAILED], is: '> 5' }");
    assert!(
        near >= 2 * far,
        "near the threshold {near} polls, far {far}"
    );
}

/// What `jobgate plan` says of the schedule of a one-wait spec with `poll`,
/// under `JOBGATE_TIME_SCALE=60`.
fn scaled_schedule(poll: &str) -> String {
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &image_spec(1, poll));
    let out = jobgate()
        .arg("plan")
        .arg(&spec)
        .args(["--endpoint", "http://127.0.0.1:9"])
        .env("JOBGATE_TIME_SCALE", "60")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find(|l| l.trim_start().starts_with("schedule:"))
        .unwrap_or_else(|| panic!("no schedule line: {stdout}"))
        .to_owned()
}

#[test]
fn the_time_scale_divides_built_in_bounds_never_the_specs() {
    // The built-in 5s → 1m, sixty times faster.
    let built_in = scaled_schedule("{ jitter: none }");
    assert!(built_in.contains("83ms to 1s apart"), "{built_in}");
    // What the spec sets is taken as written.
    let explicit = scaled_schedule("{ initial: 5s, max: 1m, jitter: none }");
    assert!(explicit.contains("5s to 1m apart"), "{explicit}");
}
