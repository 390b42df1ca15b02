//! How many pages a poll of a list reads: the items up to the list's total,
//! and the (empty) page after a full last page only when the list as read
//! would end the wait. Asserted from request counts, never from timing.

use crate::common::harness;
use crate::common::hostile;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use harness::*;
use hostile::{Hostile, Reply, Seen};
use jobgate::sim::Endpoint;

/// `count` desktops under one job, each running 1-2 s from the start, so
/// that the first polls find them running.
fn fleet(count: usize) -> Sim {
    Sim::start(&format!(
        "project_id: {PROJECT}\nfleets:\n  - job_id: fleet-job\n    kind: desktop_job\n    count: {count}\n    duration: {{min: 1s, max: 2s}}\n    failure_rate: 0.0\n"
    ))
}

const FLEET_SPEC: &str = "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 60s\n  poll: { initial: 100ms, max: 300ms }\nwaits:\n  desks:\n    desktop_sub_jobs: { job_id: fleet-job }\n    success: { all: [SUCCESS] }\n";

/// The listing requests of each poll of `count` desktops in pages of
/// 1,000: `pages` per poll, and one more on the poll that ends the wait
/// when the last page is full.
#[test]
fn a_poll_reads_the_pages_up_to_the_total_and_proves_the_end_only_for_a_verdict() {
    for (count, pages, proof) in [(2000, 2, 1), (2500, 3, 0), (1000, 1, 1)] {
        let sim = fleet(count);
        let (out, report) = run_reported(&sim.url(), FLEET_SPEC, &[]);
        let wait = &report["waits"][0];
        assert_eq!(code(&out), 0, "{count}: {wait:#}");
        let polls = wait["polls"].as_u64().unwrap();
        assert!(polls >= 2, "{count}: the fleet was already done: {wait:#}");
        let listed = sim.stats().requests_to(Endpoint::ListItaSubJobs);
        assert_eq!(
            listed,
            polls * pages + proof,
            "{count} desktops, {polls} polls: {wait:#}"
        );
        assert_eq!(wait["requests_sent"].as_u64(), Some(listed), "{wait:#}");
    }
}

const JOB: &str = "800000000000000001";

fn list_spec() -> String {
    format!(
        "version: 1\nwaits:\n  subs:\n    image_sub_jobs: {{ job_id: \"{JOB}\", job_type: CREATE_SERVER }}\n    success: {{ all: [SUCCESS] }}\n    timeout: 30s\n    error_budget: 1\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

fn page(total: usize, ids: std::ops::Range<usize>, status: &str) -> String {
    let items: Vec<String> = ids
        .map(|i| format!(r#"{{"id":"s{i}","job_type":"CREATE_SERVER","status":"{status}"}}"#))
        .collect();
    format!(r#"{{"count":{total},"items":[{}]}}"#, items.join(","))
}

fn offset(seen: &Seen) -> usize {
    seen.param("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0)
}

/// Two full pages of 100 that reach a total of 200, then 50 FAILED
/// sub-jobs the total does not count. While the sub-jobs run, the pages up
/// to the total are a poll; once they all read SUCCESS, the page after is
/// read before any verdict, and the list going on past its total is an
/// inconsistent answer, never a pass.
#[test]
fn a_list_that_goes_on_past_its_total_never_opens_the_gate() {
    let polls = Arc::new(AtomicUsize::new(0));
    let counted = polls.clone();
    let server = Hostile::start(move |seen| {
        let at = offset(seen);
        if at == 0 {
            counted.fetch_add(1, Ordering::SeqCst);
        }
        let status = if counted.load(Ordering::SeqCst) <= 3 {
            "RUNNING"
        } else {
            "SUCCESS"
        };
        Reply::json(match at {
            0 | 100 => page(200, at..at + 100, status),
            200 => page(200, 200..250, "FAILED"),
            _ => page(200, 0..0, status),
        })
    });
    let (out, report) = run_reported(&server.url(), &list_spec(), &[]);
    let wait = &report["waits"][0];
    assert_eq!(code(&out), 5, "{wait:#}");
    assert_eq!(wait["outcome"], "api_error", "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(
        error.contains("more than the list's total of 200"),
        "{error}"
    );
    assert!(error.contains("not one consistent state"), "{error}");
    // The running polls read two pages each; every read of the page after
    // the total came once the sub-jobs read SUCCESS.
    let offsets: Vec<usize> = server.seen().iter().map(offset).collect();
    let first_proof = offsets
        .iter()
        .position(|&o| o == 200)
        .expect("the end was checked");
    let before = offsets[..first_proof].iter().filter(|&&o| o == 0).count();
    assert!(
        before > 3,
        "the end was read while the list was pending: {offsets:?}"
    );
    assert_eq!(
        offsets[..first_proof].iter().filter(|&&o| o == 100).count(),
        before,
        "{offsets:?}"
    );
}

/// A total of 250 over pages that end at 200: part of the list is
/// missing, whichever status the items read have.
#[test]
fn a_list_that_ends_before_its_total_never_opens_the_gate() {
    let server = Hostile::start(|seen| {
        let at = offset(seen);
        Reply::json(match at {
            0 | 100 => page(250, at..at + 100, "SUCCESS"),
            _ => page(250, 0..0, "SUCCESS"),
        })
    });
    let (out, report) = run_reported(&server.url(), &list_spec(), &[]);
    let wait = &report["waits"][0];
    assert_eq!(code(&out), 5, "{wait:#}");
    let error = wait["last_error"]["message"].as_str().unwrap_or_default();
    assert!(
        error.contains("200 different item(s) were read but the list's total is 250"),
        "{error}"
    );
}
