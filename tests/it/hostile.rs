//! jobgate against hostile servers on loopback: whatever a server sends,
//! only positive evidence opens the gate. The scripted server lives in
//! `common/hostile.rs`; each case asserts the exit code and the report.

use crate::common::harness;
use crate::common::hostile;

use harness::*;
use hostile::{Hostile, Reply};

const JOB: &str = "800000000000000001";

fn image_job_spec() -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

/// The harness itself: a well-formed SUCCESS answer opens the gate, and the
/// server saw exactly the signed request for the job asked.
#[test]
fn a_plain_success_answer_opens_the_gate() {
    let server = Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
        ))
    });
    let (out, report) = run_reported(&server.url(), &image_job_spec(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "met");
    let seen = server.seen();
    assert!(
        seen[0].path.ends_with(&format!("/image-server-jobs/{JOB}")),
        "{seen:?}"
    );
    assert!(seen[0].header("authorization").is_some(), "{seen:?}");
}

/// A server that closes every connection without a byte is an outage:
/// retried within the error budget, then `api_error`, never a pass.
#[test]
fn a_connection_closed_without_a_byte_never_opens_the_gate() {
    let server = Hostile::start(|_| Reply::Close);
    let spec = image_job_spec() + "    error_budget: 1\n";
    let (out, report) = run_reported(&server.url(), &spec, &[]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let wait = &report["waits"][0];
    assert_eq!(wait["outcome"], "api_error");
    let reason = wait["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("gave up after 2 failed polls in a row"),
        "{reason}"
    );
    assert!(server.seen().len() >= 2, "{:?}", server.seen());
}
