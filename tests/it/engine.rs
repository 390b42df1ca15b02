//! The engine's shared limits and wait semantics end to end: the real binary
//! against the simulator on loopback, plus `jobgate eval` offline.
//!
//! Nothing here asserts how long something took. Assertions are on counts
//! (the simulator's counters, the report's `polls`) and orders. Bounds that
//! involve the clock follow from minimum delays the engine guarantees (a
//! sleep is never short), so load can only make them easier to meet; where a
//! poll must land in a window of a job's timeline, the window is a second or
//! more.

use crate::common::harness;
use crate::common::test::{Ran, Test};

use std::time::Duration;

use harness::*;
use jobgate::sim::{Endpoint, Faults, Slow};

fn spec(poll: &str, waits: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 20s\n  poll: {poll}\nwaits:\n{waits}"
    )
}

const FAST: &str = "{ initial: 50ms, max: 200ms, factor: 2, jitter: full }";

/// `n` image jobs `{prefix}-{i}`, in `status` from the start for good;
/// distinct ids keep requests from being coalesced.
fn image_jobs(prefix: &str, status: &str, n: usize) -> String {
    let mut yaml = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: {prefix}-{i}\n    kind: image_job\n    timeline: [{{at: 0s, status: {status}}}]\n"
        ));
    }
    yaml
}

/// `n` image jobs that are SUCCESS from the start, so each wait on one of
/// them polls exactly once.
fn ready_jobs(n: usize) -> String {
    image_jobs("ready", "SUCCESS", n)
}

/// `n` image jobs RUNNING for good.
fn running_jobs(n: usize) -> String {
    image_jobs("running", "RUNNING", n)
}

/// One wait per ready job.
fn one_wait_per_job(n: usize) -> String {
    (0..n)
        .map(|i| format!("  w{i}:\n    image_job: ready-{i}\n    target: [SUCCESS]\n"))
        .collect()
}

fn waits_of(report: &serde_json::Value) -> &Vec<serde_json::Value> {
    report["waits"].as_array().unwrap()
}

// --- --max-concurrency --------------------------------------------------

const CONCURRENT_WAITS: usize = 8;

/// Runs 8 single-poll waits against answers slowed by 400 ms, so requests
/// that are allowed to overlap do, and returns the simulator's peak of
/// requests in flight.
fn peak_in_flight(max_concurrency: &str) -> u64 {
    let faults = Faults {
        slow: Some(Slow {
            rate: 1.0,
            delay: Duration::from_millis(400),
        }),
        ..Faults::default()
    };
    let ran = Test::new()
        .scenario(&ready_jobs(CONCURRENT_WAITS))
        .faults(faults)
        .spec(&spec(FAST, &one_wait_per_job(CONCURRENT_WAITS)))
        // A high rate so only the concurrency cap holds requests back.
        .args(&["--max-concurrency", max_concurrency, "--max-rps", "1000"])
        .run()
        .exit(0);
    let stats = ran.sim().stats();
    assert_eq!(stats.requests, CONCURRENT_WAITS as u64, "{stats:?}");
    assert_eq!(stats.faults.slowed, stats.requests);
    stats.peak_in_flight
}

#[test]
fn max_concurrency_caps_requests_in_flight_and_is_reached() {
    // Eight requests queued behind a cap of two, each held 400 ms: the cap
    // must be reached (or the test would pass without testing anything)
    // and never exceeded.
    assert_eq!(peak_in_flight("2"), 2);
}

#[test]
fn a_higher_concurrency_cap_lets_more_requests_overlap() {
    // The same run with room for all eight: the peak measurement sees more
    // than two, so the exact 2 above is the cap at work.
    let peak = peak_in_flight("8");
    assert!((3..=CONCURRENT_WAITS as u64).contains(&peak), "peak {peak}");
}

// --- --max-rps ------------------------------------------------------------

/// What the gate guarantees for `--max-rps R`: it hands out send slots at
/// least 1/R apart, the first no earlier than the process starts, and no
/// request leaves before its slot. A request may still arrive late (a busy
/// machine, a slow connection) and land in the same second as the next one,
/// so "at most R in any one-second window" is *not* guaranteed. What is: by
/// any time T, at most 1 + R·(T − launch) requests can have arrived.
///
/// Checks that envelope at the end of each of the simulator's one-second
/// buckets; `launched` is the simulator's clock just before the binary was
/// started. Returns the first bucket that breaks it.
fn rate_envelope_broken(per_second: &[u64], launched: Duration, rps: f64) -> Option<String> {
    let mut arrived = 0;
    for (second, n) in per_second.iter().enumerate() {
        arrived += n;
        let end = (second + 1) as f64;
        let allowed = 1.0 + ((end - launched.as_secs_f64()) * rps).floor();
        if arrived > 0 && arrived as f64 > allowed {
            return Some(format!(
                "{arrived} requests by {end}s, at most {allowed} allowed at {rps}/s from a launch at {launched:?}: {per_second:?}"
            ));
        }
    }
    None
}

const PACED_WAITS: usize = 8;

/// Runs 8 single-poll waits at `--max-rps rps` and returns the simulator's
/// requests per second and its clock at the launch.
fn paced_run(rps: &str) -> (Vec<u64>, Duration) {
    let ran = Test::new()
        .scenario(&ready_jobs(PACED_WAITS))
        .spec(&spec(FAST, &one_wait_per_job(PACED_WAITS)))
        .args(&["--max-rps", rps, "--max-concurrency", "8"])
        .run()
        .exit(0);
    let launched = ran.launched();
    let stats = ran.sim().stats();
    assert_eq!(stats.requests, PACED_WAITS as u64, "{stats:?}");
    assert_eq!(
        stats.requests_per_second.iter().sum::<u64>(),
        stats.requests
    );
    (stats.requests_per_second, launched)
}

#[test]
fn max_rps_spaces_requests_across_every_second() {
    // Eight requests ready at once, at two per second: the eighth cannot
    // arrive before 3.5 s after the launch, so the run spans several
    // buckets and the envelope is checked at each of them.
    let (per_second, launched) = paced_run("2");
    assert_eq!(rate_envelope_broken(&per_second, launched, 2.0), None);
    assert!(per_second.len() >= 4, "{per_second:?}");
}

#[test]
fn a_high_rps_breaks_the_low_rate_envelope() {
    // The same eight requests at 100 per second arrive far faster than two
    // per second allows: the envelope check does detect an unpaced client.
    let (per_second, launched) = paced_run("100");
    assert!(
        rate_envelope_broken(&per_second, launched, 2.0).is_some(),
        "{per_second:?}"
    );
}

// --- stable_for ----------------------------------------------------------

/// A fixed 400 ms between polls: every gap between two polls of a wait is at
/// least that (sleeps are never short), whatever the machine's load.
const EVERY_400MS: &str = "{ initial: 400ms, max: 400ms, factor: 1, jitter: none }";

const STABLE_JOBS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: steady
    kind: image_job
    timeline: [{at: 0s, status: SUCCESS}]
  # SUCCESS, then RUNNING again (an eventually consistent read), then
  # SUCCESS for good. Five polls 400 ms apart span 1.6 s, longer than the
  # first SUCCESS, so `stable_for: 5` cannot be met before the flap; the
  # RUNNING lasts long enough for several polls to see it even on a
  # loaded machine.
  - id: flapping
    kind: image_job
    timeline:
      - {at: 0s, status: SUCCESS}
      - {at: 1500ms, status: RUNNING}
      - {at: 4s, status: SUCCESS}
"#;

/// Runs one wait on `job` with `stable_for`, returning its report and the
/// simulator's stats.
fn stable_run(job: &str, stable_for: u32) -> (serde_json::Value, jobgate::sim::Stats) {
    let ran = Test::new()
        .scenario(STABLE_JOBS)
        .spec(&spec(
            EVERY_400MS,
            &format!(
                "  w:\n    image_job: {job}\n    target: [SUCCESS]\n    stable_for: {stable_for}\n"
            ),
        ))
        .run()
        .exit(0);
    let wait = waits_of(&ran.report)[0].clone();
    assert_eq!(wait["outcome"], "met");
    let stats = ran.sim().stats();
    // One wait, one request per poll.
    assert_eq!(
        wait["polls"].as_u64().unwrap(),
        stats.requests_to(Endpoint::ShowImageJob),
        "{wait}"
    );
    (wait, stats)
}

#[test]
fn stable_for_takes_exactly_that_many_met_polls() {
    let (wait, _) = stable_run("steady", 3);
    assert_eq!(wait["polls"], 3, "{wait}");
    assert!(
        wait["reason"]
            .as_str()
            .unwrap()
            .contains("on 3 polls in a row"),
        "{wait}"
    );
    let (wait, _) = stable_run("steady", 1);
    assert_eq!(wait["polls"], 1, "{wait}");
}

/// The states a wait's history recorded, with the poll that saw each.
fn history(wait: &serde_json::Value) -> Vec<(String, u64)> {
    wait["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["state"].as_str().unwrap().to_owned(),
                h["poll"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn stable_for_starts_over_when_success_flaps() {
    let (stable, _) = stable_run("flapping", 5);
    let seen = history(&stable);
    let states: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    // (A slow start may miss the first SUCCESS; the rest is the same.)
    assert!(
        states == ["SUCCESS", "RUNNING", "SUCCESS"] || states == ["RUNNING", "SUCCESS"],
        "{stable}"
    );
    // Met on exactly the fifth met poll counted from the one that saw the
    // last SUCCESS: the met polls before the RUNNING did not count.
    let (_, last_success) = seen.last().unwrap();
    assert_eq!(
        stable["polls"].as_u64().unwrap(),
        last_success + 4,
        "{stable}"
    );

    // `stable_for: 1` is met by the first poll that sees SUCCESS.
    let (once, _) = stable_run("flapping", 1);
    let (state, poll) = history(&once).last().unwrap().clone();
    assert_eq!(state, "SUCCESS", "{once}");
    assert_eq!(once["polls"].as_u64().unwrap(), poll, "{once}");
}

// --- 429 Retry-After --------------------------------------------------------

/// Runs one wait against an API that always throttles, with a 2.5 s
/// timeout, and returns its report and the requests the simulator received.
/// It times out (exit 3), unless a `Retry-After` longer than the time left
/// ends it at once (exit 5, `expect`).
fn throttled_run(retry_after: Option<Duration>, expect: (i32, &str)) -> (serde_json::Value, u64) {
    let faults = Faults {
        throttle: 1.0,
        retry_after,
        ..Faults::default()
    };
    let ran = Test::new()
        .scenario(&ready_jobs(1))
        .faults(faults)
        // Polls 50 ms apart unless a pause says otherwise; `max` is high so
        // it does not clamp the pause.
        .spec(&spec(
            "{ initial: 50ms, max: 10s, factor: 1, jitter: none }",
            "  w:\n    image_job: ready-0\n    target: [SUCCESS]\n    timeout: 2500ms\n",
        ))
        .run()
        .exit(expect.0);
    let wait = waits_of(&ran.report)[0].clone();
    assert_eq!(wait["outcome"], expect.1);
    assert_eq!(wait["last_error"]["http_status"], 429);
    let stats = ran.sim().stats();
    let sent = stats.requests_to(Endpoint::ShowImageJob);
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), sent);
    (wait, sent)
}

#[test]
fn retry_after_paces_retries_and_nothing_is_sent_past_the_deadline() {
    // Each 429 says "retry after 1 s": within a 2.5 s timeout that leaves
    // room for the first request and two retries (not the ~50 of a 50 ms
    // poll interval); a fourth would come at 3 s, after the deadline, so
    // the 429 that asks for it ends the wait at once, exit 5.
    let (wait, sent) = throttled_run(Some(Duration::from_secs(1)), (5, "api_error"));
    assert!(
        wait["reason"].as_str().unwrap().contains("resets in 1s"),
        "{wait}"
    );
    assert!(sent <= 3, "{sent} requests: {wait}");
    // And the 1 s of the header was used, not the default pause of 3 s
    // (which would allow only the first request; see below).
    assert!(sent >= 2, "{sent} requests: {wait}");
}

#[test]
fn without_retry_after_a_429_pauses_three_seconds() {
    // The default pause outlasts the 2.5 s timeout: one request, and the
    // wait does not sit out the pause to send another after its deadline.
    let (wait, sent) = throttled_run(None, (3, "timed_out"));
    assert_eq!(sent, 1, "{wait}");
}

// --- SIGTERM --------------------------------------------------------------

#[cfg(unix)]
#[test]
fn sigterm_writes_a_complete_cancelled_report_and_exits_143() {
    let ran = Test::new()
        .scenario(&running_jobs(2))
        .spec(&spec(
            FAST,
            "  a:\n    image_job: running-0\n    target: [SUCCESS]\n  b:\n    image_job: running-1\n    target: [SUCCESS]\n",
        ))
        .spawn()
        // A wait sends its next request only once its previous poll is
        // recorded, so after three requests from two waits at least one of
        // them has an observation in its report.
        .signal_when("TERM", |run| {
            run.sim().stats().requests_to(Endpoint::ShowImageJob) >= 3
        })
        .exit(143);
    let report = &ran.report;
    assert_eq!(report["outcome"], "cancelled");
    assert_eq!(report["exit_code"], 143);
    assert_eq!(report["interrupted_by"], "SIGTERM");
    assert!(report["ended_at"].is_string());
    let waits = waits_of(report);
    assert_eq!(waits.len(), 2);
    for wait in waits {
        assert_eq!(wait["outcome"], "cancelled", "{wait}");
        assert_eq!(wait["reason"], "terminated by SIGTERM", "{wait}");
        assert!(wait["polls"].as_u64().unwrap() >= 1, "{wait}");
    }
    // What was seen before the signal is kept.
    assert!(
        waits
            .iter()
            .any(|w| w["last_observation"]["job"]["status"] == "RUNNING"),
        "{report}"
    );
    ran.stderr_has(&["SIGTERM"]);
}

// --- jobgate eval ---------------------------------------------------------

const EVAL_SPEC: &str = r#"version: 1
defaults:
  project_id: 0123456789abcdef0123456789abcdef
waits:
  image:
    image_job: build-1
    target: [SUCCESS]
  images:
    image_sub_jobs: { job_id: build-1, job_type: CREATE_SERVER_IMAGE }
    success: { all: [SUCCESS] }
    failure: { any: [FAILED, ABNORMAL] }
  servers-total:
    app_server_sub_job_count: { job_id: app-1 }
    success: { count: "*", is: ">= 3" }
  no-abnormal-servers:
    app_server_sub_job_count: { job_id: app-1 }
    success: { count: [ABNORMAL], is: "== 0" }
"#;

const JOB_DETAIL: &str = r#"{
  "id": "build-1", "job_type": "CREATE_SERVER_IMAGE", "status": "SUCCESS",
  "begin_time": "2024-05-20T10:39:49.61Z", "end_time": "2024-05-20T10:52:01Z",
  "sub_jobs_total": 2,
  "sub_jobs": [
    {"id": "s-1", "job_type": "CREATE_SERVER", "status": "SUCCESS"},
    {"id": "s-2", "job_type": "CREATE_SERVER_IMAGE", "status": "SUCCESS",
     "job_resource_info": {"resource_id": "image-42", "resource_name": "golden"}}
  ]
}"#;

const SUB_JOBS: &str = r#"{
  "count": 4,
  "items": [
    {"id": "i-1", "job_type": "CREATE_SERVER_IMAGE", "status": "SUCCESS",
     "job_execute_info": {"error_code": "", "error_message": ""}},
    {"id": "i-2", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED",
     "job_execute_info": {"error_code": "WKS.00129901", "error_message": "disk quota exceeded"}},
    {"id": "i-3", "job_type": "CREATE_SERVER_IMAGE", "status": "RUNNING",
     "job_execute_info": {"error_code": "", "error_message": ""}},
    {"id": "i-4", "job_type": "CREATE_SERVER_IMAGE", "status": "ABNORMAL",
     "job_execute_info": {"error_code": "WKS.0163", "error_message": "the flavor is sold out"}}
  ]
}"#;

/// Runs `jobgate eval spec.yaml --wait WAIT --response RESPONSE` in `dir`,
/// with relative paths so the output names no machine-specific directory.
fn eval(dir: &Workdir, wait: &str, response: &str) -> std::process::Output {
    jobgate()
        .current_dir(dir.dir.path())
        .args(["eval", "spec.yaml", "--wait", wait, "--response", response])
        .output()
        .unwrap()
}

fn eval_dir() -> Workdir {
    let dir = Workdir::new();
    dir.write("spec.yaml", EVAL_SPEC);
    dir.write("job.json", JOB_DETAIL);
    dir.write("sub-jobs.json", SUB_JOBS);
    dir.write("count.json", r#"{"count": 3}"#);
    dir.write(
        "truncated.json",
        r#"{"count": 4, "items": [{"id": "i-1", "sta"#,
    );
    dir
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn eval_snapshot(name: &str, output: &std::process::Output) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("../snapshots/eval");
    settings.bind(|| insta::assert_snapshot!(name, stdout(output)));
}

/// Judges the saved `response` for `wait`, expecting exit `exit` and the
/// summary in snapshot `snapshot`.
fn eval_case(wait: &str, response: &str, exit: i32, snapshot: &str) {
    let dir = eval_dir();
    let out = eval(&dir, wait, response);
    assert_eq!(code(&out), exit, "{}", stderr(&out));
    eval_snapshot(snapshot, &out);
}

#[test]
fn eval_blames_the_failed_sub_jobs_and_exits_one() {
    eval_case("images", "sub-jobs.json", 1, "eval-failed-sub-jobs");
}

#[test]
fn eval_of_a_finished_job_is_met_and_exits_zero() {
    eval_case("image", "job.json", 0, "eval-job-met");
}

#[test]
fn eval_of_a_count_response() {
    eval_case("servers-total", "count.json", 0, "eval-count-total");
}

#[test]
fn eval_of_a_count_by_status_is_refused() {
    // A saved count answers one request and does not say which status it
    // counted, while the wait needs the ABNORMAL count and the total.
    let dir = eval_dir();
    let out = eval(&dir, "no-abnormal-servers", "count.json");
    assert_eq!(code(&out), 2, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert!(stderr(&out).contains("ABNORMAL"), "{}", stderr(&out));
}

#[test]
fn eval_of_counts_by_status_takes_every_answer() {
    // The form the report's last observation shows: one answer per filter.
    let dir = eval_dir();
    dir.write("counts.json", r#"{"counts": {"*": 3, "ABNORMAL": 1}}"#);
    let out = eval(&dir, "no-abnormal-servers", "counts.json");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("found count 1 of 3"),
        "{}",
        stdout(&out)
    );
    dir.write("counts.json", r#"{"counts": {"*": 3, "ABNORMAL": 0}}"#);
    assert_eq!(code(&eval(&dir, "no-abnormal-servers", "counts.json")), 0);
}

#[test]
fn eval_refuses_malformed_json_with_exit_two() {
    let dir = eval_dir();
    let out = eval(&dir, "images", "truncated.json");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("truncated.json is not JSON"), "{err}");
}

#[test]
fn eval_names_the_waits_when_the_wait_does_not_exist() {
    let dir = eval_dir();
    let out = eval(&dir, "imagez", "job.json");
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    assert_eq!(
        stderr(&out),
        "error: no wait named `imagez` in spec.yaml; waits: image, images, servers-total, no-abnormal-servers\n"
    );
}

// --- Retry-After beyond poll.max ---------------------------------------------

#[test]
fn a_retry_after_longer_than_the_time_left_ends_the_wait_at_once() {
    // The first answer is 429 with `Retry-After: 3600`, longer than the
    // 10 s timeout: no request can be answered in time, so the wait ends at
    // once, `api_error`, after that one request. (Clamped to the wait's
    // `max` of 1 s, as before, it polled again three times and was met on
    // the fourth answer, against the server's word.)
    let faults = Faults {
        seed: 5,
        throttle: 0.5,
        retry_after: Some(Duration::from_secs(3600)),
        ..Faults::default()
    };
    let throttled: Vec<bool> = (0..4)
        .map(|n| faults.decide(n).action == jobgate::sim::faults::Action::Throttle)
        .collect();
    assert_eq!(
        throttled,
        [true, true, true, false],
        "this fault seed no longer throttles exactly the first three requests: pick another"
    );
    let ran = Test::new()
        .scenario(&ready_jobs(1))
        .seeded_faults(faults)
        .spec(&spec(
            "{ initial: 100ms, max: 1s, factor: 2, jitter: none }",
            "  w:\n    image_job: ready-0\n    target: [SUCCESS]\n    timeout: 10s\n",
        ))
        .run()
        .exit(5);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "api_error", "{wait}");
    assert!(
        wait["reason"].as_str().unwrap().contains("resets in 1h"),
        "{wait}"
    );
    assert_eq!(wait["polls"], 1, "{wait}");
    assert_eq!(wait["requests_sent"], 1, "{wait}");
    assert_eq!(wait["retries"], 0, "{wait}");
    let stats = ran.sim().stats();
    assert_eq!(stats.requests_to(Endpoint::ShowImageJob), 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), 1, "{stats:?}");
}

// --- The last poll is fitted to the deadline ------------------------------

const LATE_SUCCESS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # RUNNING well past the wait's 2 s timeout, SUCCESS at 6 s.
  - id: late
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}, {at: 6s, status: SUCCESS}]
"#;

#[test]
fn the_last_poll_is_fitted_to_the_deadline() {
    // Polls 10 s apart and a 2 s timeout: after the first poll the next
    // delay is cut to the 2 s left, so the second and last poll lands at the
    // deadline, sees RUNNING and the wait times out. Without the fit, the
    // wait would sleep 10 s, and its second poll (a request that can go at
    // once still goes) would see the SUCCESS of 6 s and be met.
    let ran = Test::new()
        .scenario(LATE_SUCCESS)
        .spec(&spec(
            "{ initial: 10s, max: 10s, factor: 1, jitter: none }",
            "  w:\n    image_job: late\n    target: [SUCCESS]\n    timeout: 2s\n",
        ))
        .run()
        .exit(3);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "timed_out", "{wait}");
    assert_eq!(wait["polls"], 2, "{wait}");
    assert_eq!(
        wait["last_observation"]["job"]["status"], "RUNNING",
        "{wait}"
    );
    assert!(
        wait["reason"]
            .as_str()
            .unwrap()
            .contains("the timeout of 2s ran out"),
        "{wait}"
    );
    assert_eq!(ran.sim().stats().requests_to(Endpoint::ShowImageJob), 2);
}

// --- Not found through an empty list ----------------------------------------

const SUB_JOBS_LATER: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # The job exists, its only sub-job is not listed for a thousand hours.
  - id: hidden
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}]
    sub_jobs:
      - id: hidden-1
        job_type: CREATE_SERVER
        visible_after: 1000h
        timeline: [{at: 0s, status: SUCCESS}]
  # Its sub-job is listed from 2 s on, already SUCCESS.
  - id: late
    kind: image_job
    sub_jobs:
      - id: late-1
        job_type: CREATE_SERVER
        visible_after: 2s
        timeline: [{at: 0s, status: SUCCESS}]
"#;

/// One `image_sub_jobs` wait on `job` with `grace`, polling every 100 ms.
fn sub_job_list(job: &str, grace: &str) -> Test {
    Test::new().scenario(SUB_JOBS_LATER).spec(&spec(
        "{ initial: 100ms, max: 100ms, factor: 1, jitter: none }",
        &format!(
            "  w:\n    image_sub_jobs: {{ job_id: {job}, job_type: CREATE_SERVER }}\n    target: [SUCCESS]\n    not_found_grace: {grace}\n"
        ),
    ))
}

/// The wait's polls, each one page: one list request each.
fn polls_listed(ran: &Ran) -> u64 {
    let wait = &ran.report["waits"][0];
    let listed = ran.sim().stats().requests_to(Endpoint::ListImageSubJobs);
    assert_eq!(wait["polls"].as_u64().unwrap(), listed, "{wait}");
    listed
}

#[test]
fn a_list_that_stays_empty_ends_not_found_after_the_grace() {
    let ran = sub_job_list("hidden", "500ms")
        .run()
        .exit(1)
        .report(|report| assert_eq!(report["outcome"], "not_found", "{report}"))
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "not_found", "{wait}");
            assert_eq!(
                wait["reason"], "no sub-jobs appeared within the not-found grace of 500ms",
                "{wait}"
            );
            assert_eq!(wait["last_observation"]["items"], 0, "{wait}");
        });
    // The first empty answer starts the grace; it takes at least one more
    // poll to see it run out.
    let listed = polls_listed(&ran);
    assert!(listed >= 2, "{listed} polls: {}", ran.report);
}

#[test]
fn sub_jobs_that_appear_within_the_grace_are_waited_for() {
    let ran = sub_job_list("late", "30s").run().exit(0);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "met", "{wait}");
    let states: Vec<String> = history(wait).into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        states,
        ["no sub-jobs yet", "1 sub-jobs: 1 SUCCESS"],
        "the empty list was not seen first: {wait}"
    );
    let listed = polls_listed(&ran);
    assert!(listed >= 2, "{listed} polls: {wait}");
}

// --- A scripted loopback server ------------------------------------------------

/// One answer of a [`Scripted`] server: status line, content type and body.
#[derive(Clone)]
struct Canned {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: &'static str,
}

impl Canned {
    fn json(status: u16, reason: &'static str, body: &'static str) -> Canned {
        Canned {
            status,
            reason,
            content_type: "application/json",
            body,
        }
    }
}

/// A loopback server that answers its `n`-th request (1-based) with the
/// `n`-th canned answer, repeating the last one, with `X-Request-Id:
/// scripted-n`, and counts the requests it receives: for answers the
/// simulator has no fault for (403, 502, 504, a throttling code on a status
/// other than 429).
struct Scripted {
    url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Scripted {
    fn start(script: Vec<Canned>) -> Scripted {
        use std::io::{BufRead, BufReader, Write};
        use std::sync::atomic::Ordering;
        assert!(!script.is_empty());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = requests.clone();
        // Lives until the test process ends; it only ever serves loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let counter = counter.clone();
                let script = script.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut head = 0;
                    loop {
                        let mut line = String::new();
                        match reader.read_line(&mut line) {
                            Ok(0) | Err(_) => return,
                            Ok(_) if line == "\r\n" || line == "\n" => break,
                            Ok(_) => head += 1,
                        }
                    }
                    if head == 0 {
                        return;
                    }
                    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                    let Canned {
                        status,
                        reason,
                        content_type,
                        body,
                    } = &script[(n as usize - 1).min(script.len() - 1)];
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\nx-request-id: scripted-{n}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Scripted { url, requests }
    }

    fn requests(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

// --- 403 ----------------------------------------------------------------------

#[test]
fn a_403_is_never_retried_and_exits_four() {
    // As a 401 (tests/it/run.rs), a 403 ends the wait at its first answer,
    // however large the error budget and the timeout.
    // The gateway's answer when IAM denies the action (the simulator
    // rejects signatures with 401 but has no 403).
    let server = Scripted::start(vec![Canned::json(
        403,
        "Forbidden",
        r#"{"error_code":"WKS.00000403","error_msg":"The user is not authorized to perform this action."}"#,
    )]);
    let ran = Test::new()
        .endpoint(&server.url)
        .spec(&spec(
            FAST,
            "  w:\n    image_job: ready-0\n    target: [SUCCESS]\n    error_budget: 50\n",
        ))
        .run()
        .exit(4);
    let report = &ran.report;
    assert_eq!(server.requests(), 1, "a 403 must never be retried");
    assert_eq!(report["outcome"], "auth_error", "{report}");
    assert_eq!(report["exit_code"], 4, "{report}");
    let wait = &waits_of(report)[0];
    assert_eq!(wait["outcome"], "auth_error", "{wait}");
    assert_eq!(wait["polls"], 1, "{wait}");
    assert_eq!(wait["retries"], 0, "{wait}");
    assert_eq!(wait["last_error"]["http_status"], 403, "{wait}");
    assert_eq!(wait["last_error"]["request_id"], "scripted-1", "{wait}");
    assert!(
        wait["reason"].as_str().unwrap().contains("IAM policy"),
        "{wait}"
    );
    let err = ran.stderr();
    assert!(!err.contains(SK), "the secret leaked: {err}");
}

// --- Failure is checked before success -----------------------------------------

const HALF_FAILED: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # From the first poll on: two of three servers built, one failed.
  - id: half-failed
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}]
    sub_jobs:
      - id: hf-1
        timeline: [{at: 0s, status: SUCCESS}]
      - id: hf-2
        timeline: [{at: 0s, status: SUCCESS}]
      - id: hf-3
        timeline: [{at: 0s, status: FAILED}]
        error: {code: WKS.0163, message: the flavor is sold out}
"#;

#[test]
fn a_poll_where_failure_and_success_both_hold_ends_failed() {
    // `>= 50%` of the sub-jobs succeeded and one failed, on every poll.
    // The success list names FAILED too (at most one), so FAILED is a
    // declared status and the two runs differ only in the failure condition.
    let success =
        "    success: [{ count: [SUCCESS], is: \">= 50%\" }, { count: [FAILED], is: \"<= 1\" }]\n";
    let failure = "    failure: { any: [FAILED] }\n";
    let wait = |failure: &str| {
        spec(
            FAST,
            &format!(
                "  w:\n    image_job: half-failed\n    unknown_status: wait\n{success}{failure}"
            ),
        )
    };

    // The success condition alone holds on that observation...
    Test::new()
        .scenario(HALF_FAILED)
        .spec(&wait(""))
        .run()
        .exit(0)
        .first_wait(|w| assert_eq!(w["outcome"], "met", "{w}"));

    // ...and with the failure condition added, the same first poll fails.
    let ran = Test::new()
        .scenario(HALF_FAILED)
        .spec(&wait(failure))
        .run()
        .exit(1)
        .report(|r| assert_eq!(r["outcome"], "failed", "{r}"))
        .stats(|stats| assert_eq!(stats.requests_to(Endpoint::ShowImageJob), 1));
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "failed", "{wait}");
    assert_eq!(wait["polls"], 1, "{wait}");
    assert!(
        wait["reason"]
            .as_str()
            .unwrap()
            .starts_with("failure condition holds"),
        "{wait}"
    );
    // Blame names the sub-job that made the failure hold, and only it.
    let blame = wait["blame"].as_array().unwrap();
    assert_eq!(blame.len(), 1, "{wait}");
    assert_eq!(blame[0]["id"], "hf-3", "{wait}");
    assert_eq!(blame[0]["status"], "FAILED", "{wait}");
    assert_eq!(
        blame[0]["error_message"], "the flavor is sold out",
        "{wait}"
    );
}

// --- unknown_status -------------------------------------------------------------

const ODD_THEN_SUCCESS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # COMPLETE is no status a `target: [SUCCESS]` wait declares.
  - id: odd-then-ok
    kind: image_job
    timeline: [{at: 0s, status: COMPLETE}, {at: 3s, status: SUCCESS}]
"#;

/// Polls every 200 ms: the 3 s of COMPLETE span many polls.
const EVERY_200MS: &str = "{ initial: 200ms, max: 200ms, factor: 1, jitter: none }";

/// One wait on the job that is COMPLETE before SUCCESS, with `policy`.
fn odd_status(policy: &str) -> Test {
    Test::new().scenario(ODD_THEN_SUCCESS).spec(&spec(
        EVERY_200MS,
        &format!("  w:\n    image_job: odd-then-ok\n    target: [SUCCESS]\n{policy}"),
    ))
}

#[test]
fn unknown_status_wait_keeps_polling_through_an_undeclared_status() {
    let ran = odd_status("    unknown_status: wait\n").run().exit(0);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "met", "{wait}");
    let seen = history(wait);
    assert_eq!(seen[0].0, "COMPLETE", "{wait}");
    assert_eq!(seen.last().unwrap().0, "SUCCESS", "{wait}");
    // Several polls saw COMPLETE before the one that saw SUCCESS ended it.
    let (_, success_poll) = *seen.last().unwrap();
    assert!(success_poll >= 4, "{wait}");
    assert_eq!(wait["polls"].as_u64().unwrap(), success_poll, "{wait}");
    assert_eq!(
        ran.sim().stats().requests_to(Endpoint::ShowImageJob),
        success_poll
    );
}

#[test]
fn by_default_an_undeclared_status_ends_unexpected_state_at_once() {
    odd_status("")
        .run()
        .exit(1)
        .report(|report| assert_eq!(report["outcome"], "unexpected_state", "{report}"))
        .stats(|stats| assert_eq!(stats.requests_to(Endpoint::ShowImageJob), 1))
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "unexpected_state", "{wait}");
            assert_eq!(wait["polls"], 1, "{wait}");
            assert_eq!(
                wait["reason"],
                "the job reached status COMPLETE, which the wait neither waits through (pending) nor expects (target or conditions): add COMPLETE to `pending:` to wait through it, to `target:` or a condition to expect it, or set `unknown_status: wait` to keep polling",
                "{wait}"
            );
        });
}

// --- A 429 pauses every wait ------------------------------------------------------

/// Polls every second; `adaptive: false` keeps the requests to the jobs'
/// history (sent on a first RUNNING) out of the count.
const EVERY_SECOND_BLIND: &str =
    "{ initial: 1s, max: 10s, factor: 1, jitter: none, adaptive: false }";

/// The first fault seed at which, with these rates, the simulator's first
/// requests meet exactly the faults `wanted` says (`None`: no fault) and the
/// next `then_quiet` none.
fn seed_for(
    faults: &Faults,
    wanted: &[Option<jobgate::sim::faults::Action>],
    then_quiet: usize,
) -> u64 {
    use jobgate::sim::faults::Action;
    (0..100_000)
        .find(|seed| {
            let f = Faults {
                seed: *seed,
                ..faults.clone()
            };
            (0..wanted.len() + then_quiet).all(|n| {
                let action = f.decide(n as u64).action;
                match wanted.get(n).copied().flatten() {
                    Some(want) => action == want,
                    None => action == Action::Normal,
                }
            })
        })
        .expect("no fault seed gives that sequence")
}

/// Faults that throttle the simulator's first request, with `Retry-After`
/// of `secs`, and nothing in the ten after it.
fn first_request_throttled(secs: u64) -> Faults {
    let mut faults = Faults {
        throttle: 0.2,
        retry_after: Some(Duration::from_secs(secs)),
        ..Faults::default()
    };
    faults.seed = seed_for(&faults, &[Some(jobgate::sim::faults::Action::Throttle)], 10);
    faults
}

#[test]
fn a_429_pauses_the_other_waits_too() {
    // Two waits on two jobs, polling every second for 2.5 s. The very first
    // request the simulator receives is throttled with `Retry-After: 3`,
    // longer than the waits have left; nothing else is. The gate then holds
    // every wait's requests past its deadline, so neither sends again: at
    // most the other wait's first request (already under way when the 429
    // came back) gets through. Were the pause the throttled wait's alone,
    // the other wait would poll again a second later, and again at 2 s and
    // at its deadline. Since the pause outlasts both deadlines, both waits
    // end at once, `api_error` (exit 5), instead of sitting to them.
    let ran = Test::new()
        .scenario(&running_jobs(2))
        .seeded_faults(first_request_throttled(3))
        .spec(&spec(
            EVERY_SECOND_BLIND,
            "  a:\n    image_job: running-0\n    target: [SUCCESS]\n    timeout: 2500ms\n  b:\n    image_job: running-1\n    target: [SUCCESS]\n    timeout: 2500ms\n",
        ))
        .args(&["--keep-going"])
        .run()
        .exit(5);
    let report = &ran.report;
    let stats = ran.sim().stats();
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), 1, "{stats:?}");
    assert!(
        stats.requests_to(Endpoint::ShowImageJob) <= 2,
        "a wait sent during the pause: {stats:?}\n{report}"
    );
    let waits = waits_of(report);
    let (throttled, other): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) = waits
        .iter()
        .partition(|w| w["last_error"]["http_status"] == 429);
    assert_eq!(throttled.len(), 1, "{report}");
    assert_eq!(throttled[0]["requests_sent"], 1, "{report}");
    assert!(other[0]["requests_sent"].as_u64().unwrap() <= 1, "{report}");
    for wait in waits {
        assert_eq!(wait["outcome"], "api_error", "{wait}");
    }
}

#[test]
fn a_429_pauses_requests_already_queued_behind_the_rate_limit() {
    // Six waits start at once behind `--max-rps 2`: the gate gives their
    // first requests slots 0.5 s apart, over 2.5 s. The first request is
    // throttled with `Retry-After: 5`, longer than the 4 s the waits have.
    // Every request not yet sent when the 429 came back should be held by
    // the pause, and so never sent; at most the one slotted 0.5 s after
    // the first can have left before the 429 was handled. The pause
    // outlasts the deadlines, so the waits end at once (exit 5).
    let waits: String = (0..6)
        .map(|i| {
            format!("  w{i}:\n    image_job: running-{i}\n    target: [SUCCESS]\n    timeout: 4s\n")
        })
        .collect();
    let ran = Test::new()
        .scenario(&running_jobs(6))
        .seeded_faults(first_request_throttled(5))
        .spec(&spec(EVERY_SECOND_BLIND, &waits))
        .args(&["--max-rps", "2"])
        .run()
        .exit(5);
    let stats = ran.sim().stats();
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), 1, "{stats:?}");
    assert!(
        stats.requests_to(Endpoint::ShowImageJob) <= 2,
        "requests were sent during the pause: {stats:?}"
    );
}

// --- A throttling code on another status ------------------------------------------

const THROTTLED_400: &str = r#"{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached: policy user over ratelimit"}"#;
const THROTTLED_503: &str = r#"{"error_code":"APIG.0308","error_msg":"The throttling threshold has been reached: policy domain over ratelimit"}"#;

/// One wait with no error budget at all on `build-1`, against a server that
/// answers `first` and then the job, SUCCESS.
fn throttled_then_ok(first: Canned) -> (Scripted, Test) {
    let server = Scripted::start(vec![first, Canned::json(200, "OK", JOB_DETAIL)]);
    let test = Test::new().endpoint(&server.url).spec(&spec(
        "{ initial: 50ms, max: 200ms, factor: 1, jitter: none }",
        "  w:\n    image_job: build-1\n    target: [SUCCESS]\n    error_budget: 0\n",
    ));
    (server, test)
}

#[test]
fn a_throttling_code_on_a_400_is_throttling_not_a_rejected_request() {
    // A 400 is otherwise reported at once (exit 5); `APIGW.0308` makes it
    // a pause and a retry, which does not spend the (empty) error budget.
    let (server, test) = throttled_then_ok(Canned::json(400, "Bad Request", THROTTLED_400));
    test.run().exit(0).first_wait(|wait| {
        assert_eq!(wait["outcome"], "met", "{wait}");
        assert_eq!(wait["retries"], 1, "{wait}");
        assert_eq!(wait["last_error"]["http_status"], 400, "{wait}");
        assert_eq!(wait["last_error"]["code"], "APIGW.0308", "{wait}");
    });
    assert_eq!(server.requests(), 2);
}

#[test]
fn a_throttling_code_on_a_503_is_throttling_not_a_server_error() {
    // A 503 is otherwise a transient error, and with `error_budget: 0` the
    // first one ends the wait (exit 5); `APIG.0308` makes it throttling.
    let (server, test) = throttled_then_ok(Canned::json(503, "Service Unavailable", THROTTLED_503));
    test.run().exit(0).first_wait(|wait| {
        assert_eq!(wait["outcome"], "met", "{wait}");
        assert_eq!(wait["retries"], 1, "{wait}");
        assert_eq!(wait["last_error"]["code"], "APIG.0308", "{wait}");
    });
    assert_eq!(server.requests(), 2);
}

#[test]
fn without_a_throttling_code_the_same_answers_end_the_wait() {
    // The control for the two tests above: the same statuses with other
    // codes are not retried with an empty budget.
    for (status, reason, body) in [
        (
            400,
            "Bad Request",
            r#"{"error_code":"WKS.00000400","error_msg":"bad"}"#,
        ),
        (
            503,
            "Service Unavailable",
            r#"{"error_code":"WKS.00129901","error_msg":"busy"}"#,
        ),
    ] {
        let (server, test) = throttled_then_ok(Canned::json(status, reason, body));
        test.run()
            .exit(5)
            .first_wait(|wait| assert_eq!(wait["outcome"], "api_error", "{wait}"));
        assert_eq!(server.requests(), 1);
    }
}

// --- Gateway errors and timeouts spend the error budget ---------------------------

#[test]
fn gateway_errors_are_retried_within_the_budget_then_exit_five() {
    // 502 with the gateway's JSON, then 504 with an HTML page, in turn.
    let bad_gateway = Canned::json(
        502,
        "Bad Gateway",
        r#"{"error_code":"APIG.0202","error_msg":"Backend unavailable"}"#,
    );
    let gateway_timeout = Canned {
        status: 504,
        reason: "Gateway Timeout",
        content_type: "text/html",
        body: "<html><body><h1>504 Gateway Time-out</h1></body></html>",
    };
    let server = Scripted::start(vec![
        bad_gateway.clone(),
        gateway_timeout.clone(),
        bad_gateway,
        gateway_timeout,
    ]);
    let ran = Test::new()
        .endpoint(&server.url)
        .spec(&spec(
            FAST,
            "  w:\n    image_job: build-1\n    target: [SUCCESS]\n    error_budget: 3\n",
        ))
        .run()
        .exit(5)
        .report(|r| assert_eq!(r["outcome"], "api_error", "{r}"));
    // A budget of 3: the first try and 3 retries, then no more requests.
    assert_eq!(server.requests(), 4);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "api_error", "{wait}");
    assert_eq!(wait["polls"], 4, "{wait}");
    assert_eq!(wait["retries"], 4, "{wait}");
    // The last error, the fourth answer: a 504 without a JSON body.
    let last = &wait["last_error"];
    assert_eq!(last["http_status"], 504, "{last}");
    assert_eq!(last["request_id"], "scripted-4", "{last}");
    assert_eq!(last["message"], "Gateway Timeout", "{last}");
    assert!(last.get("code").is_none_or(|c| c.is_null()), "{last}");
    let reason = wait["reason"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 4 failed polls in a row"),
        "{reason}"
    );
    assert!(reason.contains("HTTP 504"), "{reason}");
    assert!(reason.contains("(now 3)"), "{reason}");
}

#[test]
fn a_request_timeout_spends_the_error_budget_then_exits_five() {
    // The simulator answers 500/503 twice, then accepts the third request
    // and never answers. The wait has 3 s: the third request's timeout is
    // what is left of them, and its timing out is the third transient error
    // in a row, beyond the budget of 2.
    let mut faults = Faults {
        server_error: 0.5,
        hang: 0.3,
        ..Faults::default()
    };
    use jobgate::sim::faults::Action;
    faults.seed = seed_for(
        &faults,
        &[
            Some(Action::ServerError(500)),
            Some(Action::ServerError(503)),
            Some(Action::Hang),
        ],
        0,
    );
    let ran = Test::new()
        .scenario(&ready_jobs(1))
        .seeded_faults(faults)
        .spec(&spec(
            FAST,
            "  w:\n    image_job: ready-0\n    target: [SUCCESS]\n    timeout: 3s\n    error_budget: 2\n",
        ))
        .run()
        .exit(5)
        .stats(|stats| {
            assert_eq!(stats.requests_to(Endpoint::ShowImageJob), 3, "{stats:?}");
            assert_eq!(stats.faults.server_errors, 2, "{stats:?}");
            assert_eq!(stats.faults.hangs, 1, "{stats:?}");
        });
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "api_error", "{wait}");
    assert_eq!(wait["retries"], 3, "{wait}");
    // The last error is the timeout: no HTTP status, no request id.
    let last = &wait["last_error"];
    assert!(
        last.get("http_status").is_none_or(|s| s.is_null()),
        "{last}"
    );
    let message = last["message"].as_str().unwrap();
    assert!(message.contains("no answer from"), "{message}");
    assert!(message.contains("in time"), "{message}");
    let reason = wait["reason"].as_str().unwrap();
    assert!(
        reason.contains("gave up after 3 failed polls in a row"),
        "{reason}"
    );
}

// --- A job that appears late ----------------------------------------------------------

const APPEARS_LATE: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # 404 for its first 4 s, as right after the request that creates it.
  - id: appears-late
    kind: image_job
    visible_after: 4s
    timeline: [{at: 0s, status: SUCCESS}]
"#;

/// One wait on the job that is not found for its first 4 s, with `grace`.
fn appears_late(grace: &str) -> Test {
    Test::new().scenario(APPEARS_LATE).spec(&spec(
        EVERY_200MS,
        &format!(
            "  w:\n    image_job: appears-late\n    target: [SUCCESS]\n    not_found_grace: {grace}\n"
        ),
    ))
}

#[test]
fn a_job_that_appears_within_the_not_found_grace_is_met() {
    let ran = appears_late("30s").run().exit(0);
    let stats = ran.sim().stats();
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "met", "{wait}");
    let not_found = stats.answers(Endpoint::ShowImageJob, 404);
    // Polled every 200 ms through 4 s of 404s, then met at the first 200.
    assert!(not_found >= 2, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 200), 1, "{stats:?}");
    assert_eq!(
        stats.requests_to(Endpoint::ShowImageJob),
        not_found + 1,
        "{stats:?}"
    );
    assert_eq!(wait["polls"].as_u64().unwrap(), not_found + 1, "{wait}");
    // A 404 within the grace is not an error to retry.
    assert_eq!(wait["retries"], 0, "{wait}");
}

#[test]
fn a_job_that_appears_after_the_not_found_grace_is_not_found() {
    // The control: the same job with a grace shorter than its 4 s of 404s.
    appears_late("500ms")
        .run()
        .exit(1)
        .report(|report| assert_eq!(report["outcome"], "not_found", "{report}"))
        .first_wait(|wait| {
            assert_eq!(wait["outcome"], "not_found", "{wait}");
            assert!(
                wait["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("the job was not found within the not-found grace of 500ms"),
                "{wait}"
            );
        })
        // The first 404 starts the grace, a later one sees it run out.
        .stats(|stats| {
            assert!(stats.answers(Endpoint::ShowImageJob, 404) >= 2, "{stats:?}");
            assert_eq!(stats.answers(Endpoint::ShowImageJob, 200), 0, "{stats:?}");
        });
}

// --- Adaptive polling from progress -------------------------------------------------

const DESKTOPS_WITH_PROGRESS: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  # Progress climbs steadily from 0 to 100 over 8 s.
  - id: desks
    kind: desktop_job
    sub_jobs:
      - id: desk-1
        timeline: [{at: 0s, status: RUNNING}, {at: 8s, status: SUCCESS}]
        progress: [{at: 0s, value: 0}, {at: 8s, value: 100}]
      - id: desk-2
        timeline: [{at: 0s, status: RUNNING}, {at: 8s, status: SUCCESS}]
        progress: [{at: 0s, value: 0}, {at: 8s, value: 100}]
"#;

/// Runs the desktop wait with a fixed 250 ms blind schedule (bounded by 4 s)
/// and returns its polls.
fn progress_run(adaptive: bool) -> u64 {
    let ran = Test::new()
        .scenario(DESKTOPS_WITH_PROGRESS)
        .spec(&spec(
            &format!(
                "{{ initial: 250ms, max: 4s, factor: 1, jitter: none, adaptive: {adaptive} }}"
            ),
            "  w:\n    desktop_sub_jobs: { job_id: desks }\n    target: [SUCCESS]\n",
        ))
        .run()
        .exit(0);
    let wait = &waits_of(&ran.report)[0];
    assert_eq!(wait["outcome"], "met", "{wait}");
    let polls = wait["polls"].as_u64().unwrap();
    // One page per poll.
    assert_eq!(
        ran.sim().stats().requests_to(Endpoint::ListItaSubJobs),
        polls
    );
    polls
}

#[test]
fn adaptive_polling_uses_progress_to_poll_less() {
    // Blind, the wait polls every 250 ms for 8 s. Adaptive, two polls give
    // the rate of progress and the next ones land near the predicted end
    // (4 s apart at most); the first seconds of any job are watched closely
    // (jobs that fail, fail fast), so the saving is in the rest.
    let blind = progress_run(false);
    let adaptive = progress_run(true);
    assert!(adaptive < blind, "adaptive {adaptive} polls, blind {blind}");
}
