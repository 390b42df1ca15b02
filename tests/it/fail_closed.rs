//! The wait lifecycle fails closed: only every wait `met` exits 0; a crash,
//! an overflow, a rejected credential, a slow auxiliary read or an
//! unreliable streak never opens the gate or delays it. Each case drives the
//! real binary over loopback and asserts exit codes, counts, request orders
//! and report contents (never timings).

use crate::common::harness;
use crate::common::hostile;
use crate::common::test::Test;

use harness::*;
use hostile::{Hostile, JOB, Reply, job};

// ---- 1. Exit 0 only when every wait is met ---------------------------------

fn three_waits() -> String {
    format!(
        "version: 1\nwaits:\n  crashing:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n  after-it:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    after: [crashing]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n  good:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// A wait whose task panics ends `internal_error` (exit 70) with the panic's
/// message; the wait after it is skipped, not left hanging; the good wait
/// next to it still runs to `met`, and the run is not a pass.
#[test]
fn a_panic_in_a_wait_is_an_internal_error_and_its_dependents_are_skipped() {
    let server = Hostile::start(|_| job("SUCCESS"));
    Test::new()
        .endpoint(&server.url())
        .spec(&three_waits())
        .args(&["--keep-going"])
        .env("JOBGATE_DEBUG_PANIC", "wait:crashing")
        .run()
        .exit(70)
        .report(|report| {
            assert_eq!(report["outcome"], "internal_error");
            let crashing = wait_named(report, "crashing");
            assert_eq!(crashing["outcome"], "internal_error", "{report:#}");
            assert!(
                crashing["reason"]
                    .as_str()
                    .unwrap()
                    .contains("deliberate panic"),
                "{crashing:#}"
            );
            assert_eq!(wait_named(report, "after-it")["outcome"], "skipped");
            assert_eq!(wait_named(report, "good")["outcome"], "met");
        });
}

/// A panic outside any wait (in the run itself, on the main thread) still
/// writes the report, with the unfinished waits `internal_error`, and exits
/// 70.
#[test]
fn a_panic_in_the_run_still_writes_the_report_and_exits_70() {
    let server = Hostile::start(|_| Reply::Hang);
    Test::new()
        .endpoint(&server.url())
        .spec(&three_waits())
        .env("JOBGATE_DEBUG_PANIC", "engine")
        .run()
        .exit(70)
        .report(|report| {
            assert_eq!(report["outcome"], "internal_error", "{report:#}");
            for w in report["waits"].as_array().unwrap() {
                assert_eq!(w["outcome"], "internal_error", "{report:#}");
            }
        })
        .stderr_has(&["internal error"]);
}

// ---- 5. `stable_for` counts consecutive observations -----------------------

/// SUCCESS, 404, SUCCESS, 404, SUCCESS is not "3 polls in a row": the 404s
/// (a job that vanished) break the streak. The job then fails, so a gate
/// that bridged the gaps would have opened (exit 0) before seeing it.
#[test]
fn stable_for_is_not_bridged_by_polls_without_an_observation() {
    let server = Hostile::start(|seen| match seen.seq {
        0 | 2 | 4 => job("SUCCESS"),
        1 | 3 => Reply::status_json(
            404,
            r#"{"error_code":"WKS.0404","error_msg":"job not found"}"#,
        ),
        5 => Reply::status_json(503, "{}"),
        _ => job("FAILED"),
    });
    let spec = format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    stable_for: 3\n    not_found_grace: 30s\n    timeout: 20s\n    poll: {{ initial: 100ms, max: 200ms, adaptive: false }}\n"
    );
    let (out, report) = run_reported_env(&server.url(), &spec, &[], &[]);
    assert_eq!(code(&out), 1, "{}\n{report:#}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "failed", "{report:#}");
    // Every scripted answer was asked for: nothing was skipped over.
    assert!(server.seen().len() >= 7, "{:?}", server.seen().len());
}

// ---- 3. Credentials are one shared fate ------------------------------------

/// Twelve waits with a bad key under `--keep-going`: the gateway sees one
/// failed signature, not twelve (it locks a key after five). Every wait ends
/// `auth_error`; those that sent nothing say so.
#[test]
fn the_first_rejection_stops_every_wait_from_sending_the_same_credentials() {
    let server = Hostile::start(|_| {
        Reply::status_json(
            401,
            r#"{"error_code":"APIG.0301","error_msg":"Incorrect IAM authentication information"}"#,
        )
    });
    let mut spec = String::from("version: 1\nwaits:\n");
    for i in 0..12 {
        spec.push_str(&format!(
            "  w{i}:\n    image_job: \"80000000000000{i:04}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
        ));
    }
    let (out, report) = run_reported_env(&server.url(), &spec, &["--keep-going"], &[]);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    assert_eq!(server.seen().len(), 1, "{:#?}", server.seen());
    let waits = report["waits"].as_array().unwrap();
    assert!(
        waits.iter().all(|w| w["outcome"] == "auth_error"),
        "{report:#}"
    );
    let not_sent = waits
        .iter()
        .filter(|w| {
            w["reason"]
                .as_str()
                .unwrap()
                .contains("not sent: credentials were rejected by an earlier request")
        })
        .count();
    assert_eq!(not_sent, 11, "{report:#}");
    let sent: u64 = waits
        .iter()
        .map(|w| w["requests_sent"].as_u64().unwrap())
        .sum();
    assert_eq!(sent, 1, "{report:#}");
}

// ---- 4. Auxiliary reads never delay a poll ---------------------------------

/// The past-jobs read (for adaptive polling) hangs; the job succeeds on the
/// second poll. The job is polled again while the history read is still
/// unanswered, and the wait is met well within a timeout that the hanging
/// read alone would have used up.
#[test]
fn a_hanging_history_read_does_not_delay_the_polls() {
    let server = Hostile::start(|seen| {
        if seen.path.ends_with("/image-server-jobs") {
            Reply::Hang
        } else if seen.seq == 0 {
            Reply::json(format!(
                r#"{{"id":"{JOB}","status":"RUNNING","job_type":"CREATE_IMAGE","begin_time":"2024-05-20T10:00:00Z","sub_jobs":[]}}"#
            ))
        } else {
            job("SUCCESS")
        }
    });
    let spec = format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 5s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    );
    let (out, report) = run_reported_env(&server.url(), &spec, &[], &[]);
    assert_eq!(code(&out), 0, "{}\n{report:#}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "met");
    let seen = server.seen();
    let history = seen
        .iter()
        .position(|s| s.path.ends_with("/image-server-jobs"))
        .unwrap_or_else(|| panic!("no history read: {seen:#?}"));
    let job_polls_after = seen[history..]
        .iter()
        .filter(|s| s.path.ends_with(&format!("/image-server-jobs/{JOB}")))
        .count();
    assert!(job_polls_after >= 1, "{seen:#?}");
}

// ---- 2. Outputs --------------------------------------------------------------

fn job_with(extra: &str) -> Reply {
    Reply::json(format!(
        r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE",{extra}"sub_jobs":[]}}"#
    ))
}

fn one_wait_with_outputs(outputs: &str) -> String {
    format!(
        "version: 1\nwaits:\n  first:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n    outputs:\n{outputs}"
    )
}

/// A captured value that would turn the next request into another one
/// (`GET /v3/auth/tokens?x=`) fails the wait that uses it, which sends
/// nothing.
#[test]
fn a_captured_value_cannot_steer_a_later_request_to_another_path() {
    let server = Hostile::start(|_| job_with(r#""next":"../../../v3/auth/tokens?x=","#));
    let spec = format!(
        "{}  second:\n    image_job: ${{outputs.first.next}}\n    after: [first]\n    target: [SUCCESS]\n    timeout: 10s\n",
        one_wait_with_outputs("      next: $.next\n")
    );
    let (out, report) = run_reported_env(&server.url(), &spec, &["--keep-going"], &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(wait_named(&report, "first")["outcome"], "met");
    let second = wait_named(&report, "second");
    assert_eq!(second["outcome"], "failed", "{report:#}");
    let reason = second["reason"].as_str().unwrap();
    assert!(reason.contains("output `next` of wait `first`"), "{reason}");
    assert!(reason.contains("contains `/`"), "{reason}");
    let seen = server.seen();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(seen.iter().all(|s| !s.path.contains("auth")), "{seen:#?}");
}

/// A value that is safe as one segment goes in percent-encoded.
#[test]
fn a_captured_value_goes_into_the_path_as_one_encoded_segment() {
    let server = Hostile::start(|_| job_with(r#""next":"id:1%","#));
    let spec = format!(
        "{}  second:\n    image_job: ${{outputs.first.next}}\n    after: [first]\n    target: [SUCCESS]\n    timeout: 10s\n",
        one_wait_with_outputs("      next: $.next\n")
    );
    let (out, _report) = run_reported_env(&server.url(), &spec, &[], &[]);
    let seen = server.seen();
    assert!(
        seen.iter()
            .any(|s| s.path.ends_with("/image-server-jobs/id%3A1%25")),
        "{seen:#?}"
    );
    // The answer is about another id than the one asked for, so it is never
    // judged (the wait runs out of time); and nothing was sent elsewhere.
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert!(
        seen.iter().all(|s| s.path.contains("/image-server-jobs/")),
        "{seen:#?}"
    );
}

/// A declared output the answer does not have fails the wait, even though
/// its success condition held: later steps rely on it.
#[test]
fn a_declared_output_that_selects_nothing_fails_the_wait() {
    let server = Hostile::start(|_| job_with(""));
    let spec =
        one_wait_with_outputs("      image_id: $.sub_jobs[*].job_resource_info.resource_id\n");
    let (out, report) = run_reported_env(&server.url(), &spec, &[], &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let first = &report["waits"][0];
    assert_eq!(first["outcome"], "failed", "{report:#}");
    let reason = first["reason"].as_str().unwrap();
    assert!(
        reason.contains("no value for output `image_id`"),
        "{reason}"
    );
}

/// `null` is not a value: it fails like no match.
#[test]
fn a_null_output_is_not_captured() {
    let server = Hostile::start(|_| job_with(r#""image":null,"#));
    let spec = one_wait_with_outputs("      image_id: $.image\n");
    let (out, report) = run_reported_env(&server.url(), &spec, &[], &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "failed", "{report:#}");
    assert!(report["waits"][0]["outputs"].get("image_id").is_none());
}

/// Several values are captured as a JSON list, not the first of them.
#[test]
fn several_values_are_captured_as_a_json_list() {
    let server = Hostile::start(|_| job_with(r#""images":["img-a",null,"img-b"],"#));
    let spec = one_wait_with_outputs("      image_ids: $.images[*]\n");
    let (out, report) = run_reported_env(&server.url(), &spec, &[], &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        report["waits"][0]["outputs"]["image_ids"], r#"["img-a","img-b"]"#,
        "{report:#}"
    );
}
