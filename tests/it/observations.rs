//! Every observation is a consistent snapshot: pages, counts and job answers
//! that do not fit together are malformed (counted by the error budget),
//! never judged, so no server can open the gate with a partial, torn or
//! foreign answer. Each case drives the real binary against a scripted
//! server on loopback and asserts the exit code and the report.

use crate::common::harness;
use crate::common::hostile;
use crate::common::test::Test;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply, Seen};

const JOB: &str = "800000000000000001";

/// A wait on a job's image sub-jobs that pages the list (`all:` needs the
/// items), with a small error budget so that malformed polls end it soon.
fn list_spec(timeout: &str) -> String {
    format!(
        "version: 1\nwaits:\n  subs:\n    image_sub_jobs: {{ job_id: \"{JOB}\", job_type: CREATE_SERVER }}\n    success: {{ all: [SUCCESS] }}\n    timeout: {timeout}\n    error_budget: 1\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

fn items(ids: std::ops::Range<usize>, status: &str) -> String {
    ids.map(|i| format!(r#"{{"id":"s{i}","job_type":"CREATE_SERVER","status":"{status}"}}"#))
        .collect::<Vec<_>>()
        .join(",")
}

/// `{"count": COUNT, "items": [...]}`, or without `count` if it is `None`.
fn page(count: Option<&str>, items: &str) -> String {
    match count {
        Some(c) => format!(r#"{{"count":{c},"items":[{items}]}}"#),
        None => format!(r#"{{"items":[{items}]}}"#),
    }
}

fn offset(seen: &Seen) -> usize {
    seen.param("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0)
}

/// The report's wait, after checking the run did not open the gate.
fn shut(out: &std::process::Output, report: &serde_json::Value) -> serde_json::Value {
    assert_ne!(code(out), 0, "the gate opened: {report:#}");
    report["waits"][0].clone()
}

/// 100 SUCCESS sub-jobs on page 1 and 50 FAILED on page 2: whatever the
/// list's total says (missing, fractional, negative, or 100), the FAILED
/// page is either read or the poll is malformed; `all: [SUCCESS]` never
/// holds.
#[test]
fn a_total_that_cannot_be_trusted_never_ends_paging_early() {
    for count in [None, Some("150.0"), Some("-1"), Some("100"), Some("1.5e2")] {
        let server = Hostile::start(move |seen| {
            Reply::json(match offset(seen) {
                0 => page(count, &items(0..100, "SUCCESS")),
                100 => page(count, &items(100..150, "FAILED")),
                _ => page(count, ""),
            })
        });
        let (out, report) = run_reported(&server.url(), &list_spec("20s"), &[]);
        let wait = shut(&out, &report);
        assert_eq!(code(&out), 5, "{count:?}: {wait:#}");
        assert_eq!(wait["outcome"], "api_error", "{count:?}: {wait:#}");
        let error = wait["last_error"]["message"].as_str().unwrap_or_default();
        let why = match count {
            None => "no total",
            Some("100") => "more than the list's total of 100",
            Some(_) => "not a whole number",
        };
        assert!(error.contains(why), "{count:?}: {error}");
    }
    // The same pages with the true total: read whole, the FAILED page fails it.
    let server = Hostile::start(|seen| {
        Reply::json(match offset(seen) {
            0 => page(Some("150"), &items(0..100, "SUCCESS")),
            100 => page(Some("150"), &items(100..150, "FAILED")),
            _ => page(Some("150"), ""),
        })
    });
    let (out, report) = run_reported(&server.url(), &list_spec("20s"), &[]);
    assert_eq!(code(&out), 1, "{report:#}");
}

/// `eval` judges a saved page as a poll would: a page that is not the
/// whole list (its total says more) is not judged.
#[test]
fn eval_refuses_a_page_that_is_not_the_whole_list() {
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &list_spec("20s"));
    for (body, code_wanted) in [
        (page(Some("150"), &items(0..100, "SUCCESS")), None),
        (page(None, &items(0..100, "SUCCESS")), None),
        (page(Some("100"), &items(0..100, "SUCCESS")), Some(0)),
    ] {
        let response = dir.write("response.json", &body);
        let out = output_within(
            jobgate()
                .arg("eval")
                .arg(&spec)
                .args(["--wait", "subs", "--response"])
                .arg(&response),
            Duration::from_secs(60),
        );
        match code_wanted {
            Some(c) => assert_eq!(code(&out), c, "{}", stderr(&out)),
            None => assert!(
                ![0, 3].contains(&code(&out)),
                "a partial list was judged: {}",
                stderr(&out)
            ),
        }
    }
}

/// A total of 150 whose second page repeats the first: the list never
/// showed its other 50 items.
#[test]
fn a_repeated_page_is_not_the_rest_of_the_list() {
    let server = Hostile::start(|_| Reply::json(page(Some("150"), &items(0..100, "SUCCESS"))));
    let (out, report) = run_reported(&server.url(), &list_spec("20s"), &[]);
    let wait = shut(&out, &report);
    assert_eq!(code(&out), 5, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(error.contains("only repeats items already read"), "{error}");
    // The full page was followed by one more request, never by a verdict.
    assert!(server.seen().len() >= 2);
}

/// A sub-job SUCCESS on page 1 and FAILED on page 2, with a total that the
/// distinct items match: which status is current is unknown.
#[test]
fn an_id_seen_with_two_statuses_across_pages_is_inconsistent() {
    let server = Hostile::start(|seen| {
        Reply::json(match offset(seen) {
            0 => page(Some("100"), &items(0..100, "SUCCESS")),
            100 => page(Some("100"), &items(0..1, "FAILED")),
            _ => page(Some("100"), ""),
        })
    });
    let (out, report) = run_reported(&server.url(), &list_spec("20s"), &[]);
    let wait = shut(&out, &report);
    assert_eq!(code(&out), 5, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(error.contains("different statuses"), "{error}");
}

fn job_spec(conditions: &str) -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n{conditions}    timeout: 20s\n    error_budget: 1\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// The same sub-job twice in one job answer, once as `1` and once as `"1"`,
/// SUCCESS and FAILED: one id, two states.
#[test]
fn an_id_seen_twice_in_one_job_answer_is_inconsistent() {
    let server = Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"id":"{JOB}","status":"SUCCESS","sub_jobs":[{{"id":1,"status":"SUCCESS"}},{{"id":"1","status":"FAILED"}}]}}"#
        ))
    });
    let spec = job_spec("    success: { all: [SUCCESS] }\n");
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = shut(&out, &report);
    assert_eq!(code(&out), 5, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(error.contains("sub-job 1 is listed twice"), "{error}");
}

/// An answer about another job (a server, a proxy, or an id rounded on the
/// way) is not evidence about the job asked for.
#[test]
fn an_answer_about_another_job_is_malformed() {
    for (body, why) in [
        (
            r#"{"id":"800000000000000002","status":"SUCCESS","sub_jobs":[]}"#.to_owned(),
            "is about job 800000000000000002",
        ),
        (
            r#"{"id":800000000000000000,"status":"SUCCESS","sub_jobs":[]}"#.to_owned(),
            "is about job 800000000000000000",
        ),
        (
            r#"{"status":"SUCCESS","sub_jobs":[]}"#.to_owned(),
            "has no `id`",
        ),
        (
            format!(
                r#"{{"id":"{JOB}","status":"SUCCESS","sub_jobs":[{{"id":"s","status":"SUCCESS","job_id":"9"}}]}}"#
            ),
            "belongs to job 9",
        ),
    ] {
        let server = Hostile::start(move |_| Reply::json(body.clone()));
        let (out, report) = run_reported(&server.url(), &job_spec("    target: [SUCCESS]\n"), &[]);
        let wait = shut(&out, &report);
        assert_eq!(code(&out), 5, "{wait:#}");
        let error = wait["last_error"]["message"].as_str().unwrap_or_default();
        assert!(error.contains(why), "{why}: {error}");
    }
}

/// A job with a FAILED sub-job and a field nested 200 levels deep, judged
/// by a `path:` failure condition: the document cannot be read as a tree,
/// so the answer is malformed, never judged as `null` (where the failure
/// path would find nothing).
#[test]
fn deep_json_is_never_judged_as_null() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let body = format!(
        r#"{{"id":"{JOB}","status":"SUCCESS","sub_jobs":[{{"id":"s1","status":"FAILED"}}],"extra":{deep}}}"#
    );
    let spec = job_spec(
        "    success: { status: [SUCCESS] }\n    failure: { path: \"$.sub_jobs[*].status\", equals: FAILED }\n",
    );
    let served = body.clone();
    let server = Hostile::start(move |_| Reply::json(served.clone()));
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    let wait = shut(&out, &report);
    assert_eq!(code(&out), 5, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(error.contains("JSON tree"), "{error}");

    // `eval` reads the saved answer the same way.
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &spec);
    let response = dir.write("response.json", &body);
    let out = output_within(
        jobgate()
            .arg("eval")
            .arg(&spec)
            .args(["--wait", "build", "--response"])
            .arg(&response),
        Duration::from_secs(60),
    );
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("JSON tree"), "{}", stderr(&out));
}

/// The count plan of `image-clean`'s shape: no FAILED/ABNORMAL and no
/// WAITING/RUNNING sub-jobs. The last RUNNING sub-job fails while the
/// counts are read: FAILED and ABNORMAL were counted before it failed,
/// RUNNING after. No instant had both zero, so the gate must not open.
#[test]
fn a_sub_job_that_fails_between_count_requests_does_not_open_the_gate() {
    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    let server = Hostile::start(move |seen| {
        // 2 SUCCESS and 1 RUNNING, until RUNNING is first asked for.
        if seen.param("status") == Some("RUNNING") {
            flag.store(true, Ordering::SeqCst);
        }
        let now_failed = flag.load(Ordering::SeqCst);
        let n = match seen.param("status") {
            None => 3,
            Some("FAILED") => u32::from(now_failed),
            Some("RUNNING") => u32::from(!now_failed),
            Some("SUCCESS") => 2,
            Some(_) => 0,
        };
        Reply::json(format!(r#"{{"count":{n}}}"#))
    });
    let spec = format!(
        "version: 1\nwaits:\n  image-clean:\n    image_sub_job_count: {{ job_id: \"{JOB}\", job_type: [CREATE_SERVER] }}\n    success:\n      - count: [FAILED, ABNORMAL]\n        is: \"== 0\"\n      - count: [WAITING, RUNNING]\n        is: \"== 0\"\n    timeout: 3s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    );
    // Several count requests per poll: faster than the default rate, so
    // that polls fit in the timeout.
    let (out, report) = run_reported(&server.url(), &spec, &["--max-rps", "10"]);
    let wait = shut(&out, &report);
    assert!(failed.load(Ordering::SeqCst));
    // The torn poll did not count; later polls see the FAILED sub-job and
    // keep waiting (the spec names no failure) until the timeout.
    assert_eq!(code(&out), 3, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(
        error.contains("the counts changed while they were read"),
        "{error}"
    );
    let statuses: Vec<Option<String>> = server
        .seen()
        .iter()
        .take(6)
        .map(|s| s.param("status").map(str::to_owned))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        statuses,
        [
            s("FAILED"),
            s("ABNORMAL"),
            None,
            s("WAITING"),
            s("RUNNING"),
            s("FAILED")
        ],
        "the counts, then the first of them again"
    );
}

/// A list of a billion SUCCESS sub-jobs, each page of 100 a second late:
/// paging through it outlasts any wait.
fn endless_slow_pages() -> Hostile {
    Hostile::start(|seen| {
        let at = offset(seen);
        Reply::Delayed(
            Duration::from_secs(1),
            Box::new(Reply::json(page(
                Some("1000000000"),
                &items(at..at + 100, "SUCCESS"),
            ))),
        )
    })
}

/// An endless list whose pages each take a second: the wait ends timed
/// out at its deadline (not still paging), and the report counts every
/// request the server saw.
#[test]
fn paging_ends_at_the_deadline_and_counts_every_request() {
    let server = endless_slow_pages();
    let (out, report) = run_reported(&server.url(), &list_spec("3s"), &[]);
    let wait = shut(&out, &report);
    assert_eq!(code(&out), 3, "{wait:#}");
    assert_eq!(wait["outcome"], "timed_out", "{wait:#}");
    let seen = settled(&server);
    assert!(seen >= 2, "{seen}");
    assert_eq!(wait["requests_sent"], seen as u64, "{wait:#}");
}

/// SIGTERM in the middle of a slow, endless paged poll: the report counts
/// the requests already sent, including the one in flight.
#[cfg(unix)]
#[test]
fn a_poll_cut_short_by_sigterm_reports_the_requests_it_sent() {
    let server = endless_slow_pages();
    let ran = Test::new()
        .endpoint(&server.url())
        .spec(&list_spec("60s"))
        .spawn()
        .signal_when("TERM", |_| server.seen().len() >= 3)
        .exit(143);
    let report = &ran.report;
    let wait = &report["waits"][0];
    assert_eq!(wait["outcome"], "cancelled", "{wait:#}");
    let seen = settled(&server);
    assert_eq!(wait["requests_sent"], seen as u64, "{wait:#}");
}

/// The number of requests the server saw, once no more arrive (the process
/// has exited; this only lets the server finish reading what was sent).
fn settled(server: &Hostile) -> usize {
    let mut seen = server.seen().len();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = server.seen().len();
        if now == seen {
            return seen;
        }
        seen = now;
    }
}
