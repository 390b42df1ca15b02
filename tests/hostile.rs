//! jobgate against hostile servers on loopback: whatever a server sends,
//! only positive evidence opens the gate. The scripted server lives in
//! `common/hostile.rs`; each case asserts the exit code and the report.

#[path = "common/harness.rs"]
mod harness;
#[path = "common/hostile.rs"]
mod hostile;

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
