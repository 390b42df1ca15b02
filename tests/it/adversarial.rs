//! Adversarial cases against the gate, the crash path and the request
//! paths: each one a way a run could open the gate wrongly, or say
//! something untrue, that the binary must refuse.

use crate::common::harness;
use crate::common::hostile;
use crate::common::test::Test;

use harness::*;
use hostile::{Hostile, JOB, Reply, one_wait};

fn job(id: &str, status: &str, extra: &str) -> Reply {
    Reply::json(format!(
        r#"{{"id":"{id}","status":"{status}","job_type":"CREATE_IMAGE","sub_jobs":[]{extra}}}"#
    ))
}

/// A spec whose wait `first` outputs the answer's `next`, then `then`, a
/// wait that is `after: [first]` and splices that output.
fn after_first(then: &str) -> String {
    format!(
        "version: 1\nwaits:\n  first:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    outputs: {{ next: $.next }}\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n{then}    after: [first]\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// A server's output of `.` spliced into a path is not a bare id: as a URL
/// segment it means "this directory", so the request would go to the
/// collection (`/image-server-jobs/`), not to a job, and an answer about
/// something else would be judged. It is refused before any request, like
/// `..` or `/`.
#[test]
fn a_dot_from_a_server_never_becomes_a_path_segment() {
    let server = Hostile::start(|seen| {
        if seen.path.ends_with(&format!("/image-server-jobs/{JOB}")) {
            job(JOB, "SUCCESS", r#","next":".""#)
        } else {
            // Whatever sits at the collection's address, claiming to be
            // the job asked for.
            job(".", "SUCCESS", "")
        }
    });
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&after_first(
            "  second:\n    image_job: ${outputs.first.next}\n    target: [SUCCESS]\n    timeout: 10s\n",
        ))
        .run();
    let paths: Vec<String> = server.seen().iter().map(|s| s.path.clone()).collect();
    assert_ne!(ran.code(), 0, "{paths:?}\n{:#}", ran.report);
    let ran = ran.exit(1);
    let report = &ran.report;
    let second = wait_named(&ran.report, "second");
    assert_eq!(second["outcome"], "failed", "{report:#}");
    let reason = second["reason"].as_str().unwrap();
    assert!(
        reason.contains("cannot go into the request path"),
        "{reason}"
    );
    assert!(
        paths
            .iter()
            .all(|p| p.ends_with(&format!("/image-server-jobs/{JOB}"))),
        "a request went elsewhere: {paths:?}"
    );
}

/// A panic after every wait was met (while publishing, say) is still a
/// crash: the report the crash path writes, and the step outputs, must say
/// 70 like the process, never the waits' 0.
#[test]
fn a_crash_after_every_wait_was_met_is_not_reported_as_a_pass() {
    let server = Hostile::start(|_| job(JOB, "SUCCESS", ""));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .env("JOBGATE_DEBUG_PANIC", "settled")
        .github_actions()
        .run()
        .exit(70);
    let report = &ran.report;
    assert_eq!(report["exit_code"], 70, "{report:#}");
    assert_eq!(report["outcome"], "internal_error", "{report:#}");
    assert_eq!(
        report["waits"][0]["outcome"], "met",
        "the wait's own outcome stays"
    );
    let outputs = parse_command_file(&ran.file("github_output"));
    let last = |name: &str| {
        outputs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(last("exit-code").as_deref(), Some("70"), "{outputs:?}");
    assert_eq!(
        last("outcome").as_deref(),
        Some("internal_error"),
        "{outputs:?}"
    );
}

fn throttled(message: &str) -> Reply {
    Reply::status_json(
        429,
        format!(
            r#"{{"error_code":"APIG.0308","error_msg":{}}}"#,
            serde_json::json!(message)
        ),
    )
}

/// `Retry-After` at the edges of what it can say: the largest number of
/// seconds, a date in year 9999, and 0. A pause past the deadline ends the
/// wait at once with exit 5 (no overflow, no panic, no sitting out the
/// timeout); 0 is no pause at all, and the next answer opens the gate.
#[test]
fn retry_after_extremes_end_closed_or_retry_at_once() {
    for (value, want) in [
        ("18446744073709551615", 5),
        ("Thu, 30 Dec 9999 00:00:00 GMT", 5),
        ("0", 0),
    ] {
        let server = Hostile::start(move |seen| {
            if seen.seq == 0 {
                throttled("Too Many Requests").with_header("Retry-After", value)
            } else {
                job(JOB, "SUCCESS", "")
            }
        });
        let ran = Test::new().endpoint(&server.url()).spec(&one_wait()).run();
        assert_eq!(ran.code(), want, "Retry-After {value}: {}", ran.stderr());
        if want == 5 {
            let reason = ran.report["waits"][0]["reason"].as_str().unwrap();
            assert!(reason.contains("not retried"), "{reason}");
            assert_eq!(server.seen().len(), 1, "Retry-After {value}");
        }
    }
}

/// A throttling message is server text: what it claims about the quota is
/// only parsed, and what it says is never a workflow command, nor leaks
/// a secret, in any output.
#[test]
fn a_crafted_throttle_message_neither_commands_the_runner_nor_leaks() {
    let message = "Daily quota exhausted\n::error::pwned\n::add-mask::x\n%0A::set-output name=exit-code::0\n\u{1b}[2J policy user over ratelimit,limit:0,time:99999 day SECRETSK";
    let server = Hostile::start(move |_| throttled(message));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .github_actions()
        .env("HUAWEICLOUD_SDK_SK", "SECRETSK")
        .run()
        .exit(5);
    let reason = ran.report["waits"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("the daily quota is exhausted"), "{reason}");
    let all = format!(
        "{}\n{}\n{}\n{}",
        ran.stdout(),
        ran.stderr(),
        ran.file("github_output"),
        ran.file("step_summary")
    );
    let unmasked = all.replace("::add-mask::SECRETSK", "");
    assert!(!unmasked.contains("SECRETSK"), "{all}");
    assert!(!all.contains('\u{1b}'), "{all}");
    for line in all.lines() {
        let line = line.trim_start();
        if line.starts_with("::add-mask::") && !line.starts_with("::add-mask::x") {
            continue; // jobgate's own masks name the secrets by design
        }
        assert!(
            !line.starts_with("::error::pwned")
                && !line.starts_with("::add-mask::x")
                && !line.starts_with("::set-output"),
            "a server line became a workflow command: {line:?}\n{all}"
        );
    }
    let outputs = parse_command_file(&ran.file("github_output"));
    assert!(
        outputs.iter().all(|(k, v)| k != "exit-code" || v == "5"),
        "{outputs:?}"
    );
}

/// A request the gate held back for a `Retry-After` goes out near the
/// deadline; it may then take only what is left of the wait (at least a
/// second), not the timeout it was given when the poll began, or a server
/// that never answers keeps the wait, and the run, open long past its
/// timeout. (The guard is generous: held to the old timeout the run ends
/// about 19 s after its deadline; with the time left, at it.)
#[test]
fn a_request_held_for_retry_after_cannot_outlive_the_deadline() {
    let server = Hostile::start(|seen| {
        if seen.seq == 0 {
            throttled("Too Many Requests").with_header("Retry-After", "19")
        } else {
            Reply::Hang
        }
    });
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &format!(
            "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 20s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
        ),
    );
    let report_path = dir.path("report.json");
    let mut cmd = jobgate();
    cmd.arg("run")
        .arg(&spec)
        .args(["--endpoint", &server.url(), "--seed", "1", "--report"])
        .arg(&report_path);
    let out = output_within(&mut cmd, std::time::Duration::from_secs(32));
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let report = report(&report_path);
    assert_eq!(report["waits"][0]["outcome"], "timed_out", "{report:#}");
    assert_eq!(server.seen().len(), 2, "one throttled request, one held");
}

/// A 403 says the credentials are good but not permitted; the waits the
/// gate then keeps from sending must not be told the opposite (to check
/// the keys, lest the gateway lock them): every wait's hint is the one for
/// the answer that stopped them.
#[test]
fn waits_stopped_by_an_earlier_403_are_told_it_is_a_permission() {
    let server = Hostile::start(|_| {
        Reply::status_json(
            403,
            r#"{"error_code":"APIGW.0302","error_msg":"not authorized"}"#,
        )
    });
    let spec = format!(
        "version: 1\nwaits:\n  a:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n  b:\n    image_job: \"800000000000000002\"\n    target: [SUCCESS]\n    timeout: 10s\n  c:\n    image_job: \"800000000000000003\"\n    target: [SUCCESS]\n    timeout: 10s\n"
    );
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&spec)
        .args(&["--keep-going"])
        .run()
        .exit(4);
    let report = &ran.report;
    assert_eq!(server.seen().len(), 1, "one request tried the credentials");
    for w in report["waits"].as_array().unwrap() {
        assert_eq!(w["outcome"], "auth_error", "{report:#}");
        let reason = w["reason"].as_str().unwrap();
        assert!(reason.contains("not permitted"), "{reason}");
        assert!(!reason.contains("locks an access key"), "{reason}");
    }
}

/// An output spliced into a list or count filter that came back empty
/// would send `job_id=` — no filter at all on endpoints that ignore an
/// empty parameter — and judge every job's sub-jobs as this job's: three
/// successes anywhere in the account would meet "at least 3 of this job's
/// sub-jobs succeeded". An empty value is refused like an empty path
/// segment, before any request.
#[test]
fn an_empty_output_never_widens_a_filter_to_every_job() {
    let server = Hostile::start(|seen| {
        if seen.path.ends_with(&format!("/image-server-jobs/{JOB}")) {
            job(JOB, "SUCCESS", r#","next":"""#)
        } else if seen.param("job_id").is_some_and(|id| !id.is_empty()) {
            Reply::json(r#"{"count":0}"#)
        } else {
            // The whole account.
            Reply::json(r#"{"count":50}"#)
        }
    });
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&after_first(
            "  count:\n    image_sub_job_count: { job_type: CREATE_SERVER, job_id: \"${outputs.first.next}\" }\n    success: { count: [SUCCESS], is: \">= 3\" }\n    timeout: 3s\n",
        ))
        .run();
    let queries: Vec<String> = server.seen().iter().map(|s| s.query.clone()).collect();
    assert_ne!(ran.code(), 0, "{queries:?}\n{:#}", ran.report);
    let ran = ran.exit(1);
    let report = &ran.report;
    let count = wait_named(&ran.report, "count");
    assert_eq!(count["outcome"], "failed", "{report:#}");
    let reason = count["reason"].as_str().unwrap();
    assert!(
        reason.contains("`job_id` would be sent empty") && reason.contains("output `next`"),
        "{reason}"
    );
    assert!(
        server.seen().iter().all(|s| s.param("job_id") != Some("")),
        "{queries:?}"
    );
}

/// A run whose every wait was met but that exits non-zero for another
/// reason (here an output it could not write) must not leave a JUnit
/// report that a test-report gate reads as all green: `errors` counts
/// something, not only the `exit_code` property.
#[test]
fn a_junit_report_of_a_failed_run_is_never_all_green() {
    let server = Hostile::start(|_| job(JOB, "SUCCESS", ""));
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&one_wait())
        .unwritable_step_summary()
        .junit()
        .run()
        .exit(5)
        .first_wait(|wait| assert_eq!(wait["outcome"], "met"));
    let xml = ran.file("junit.xml");
    assert!(
        xml.contains(r#"<property name="exit_code" value="5"/>"#),
        "{xml}"
    );
    assert!(
        !xml.contains(r#"failures="0" errors="0""#),
        "a JUnit reader sees a pass:\n{xml}"
    );
}
