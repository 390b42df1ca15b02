//! The verdict contract (README, "The verdict contract") end to end: the
//! real binary against scripted servers on loopback, each case a gate that
//! must stay shut (or, for a false fail, must open), asserting the exit
//! code and the report.

use crate::common::harness;
use crate::common::hostile;

use harness::*;
use hostile::{Hostile, Reply};

const JOB: &str = "800000000000000001";

/// A spec of one wait `w` with a short timeout and fast polls.
fn spec(body: &str) -> String {
    format!(
        "version: 1\nwaits:\n  w:\n{body}    timeout: 2s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

fn sub_job(id: usize, status: &str, extra: &str) -> String {
    format!(r#"{{"id":"s-{id}","job_type":"CREATE_SERVER","status":"{status}"{extra}}}"#)
}

/// A job detail answer: its status, `sub_jobs_total` and sub-jobs.
fn job(status: &str, total: usize, subs: &[String]) -> String {
    format!(
        r#"{{"id":"{JOB}","job_type":"CREATE_IMAGE","status":"{status}","sub_jobs_total":{total},"sub_jobs":[{}]}}"#,
        subs.join(",")
    )
}

fn successes(n: usize) -> Vec<String> {
    (0..n).map(|i| sub_job(i, "SUCCESS", "")).collect()
}

fn only_wait(report: &serde_json::Value) -> &serde_json::Value {
    &report["waits"][0]
}

/// 17.2: a FAILED job with three SUCCESS sub-jobs, under a spec that names
/// FAILED only for sub-jobs, fails at once (exit 1, `failed`: the API says
/// it failed) on the first poll, whether unknown statuses fail or wait.
#[test]
fn a_failed_job_fails_whatever_its_sub_jobs_say() {
    let server = Hostile::start(|_| Reply::json(job("FAILED", 3, &successes(3))));
    for (policy, outcome) in [("fail", "failed"), ("wait", "failed")] {
        let (out, report) = run_reported(
            &server.url(),
            &spec(&format!(
                "    image_job: \"{JOB}\"\n    success: {{ all: [SUCCESS] }}\n    failure: {{ any: [FAILED, ABNORMAL] }}\n    unknown_status: {policy}\n"
            )),
            &[],
        );
        assert_eq!(code(&out), 1, "{policy}: {}", stderr(&out));
        let w = only_wait(&report);
        assert_eq!(w["outcome"], outcome, "{policy}: {w}");
        assert_eq!(
            w["polls"], 1,
            "{policy}: ended at once, not by timeout: {w}"
        );
    }
}

/// 17.3: `examples/desktop-settle.yaml`, its conditions unchanged (polls
/// made fast so `stable_for: 3` is reached), with three of four desktops
/// ABNORMAL: the undeclared status keeps it polling until the deadline,
/// never `met`.
#[test]
fn desktop_settle_does_not_pass_abnormal_desktops() {
    let server = Hostile::start(|_| {
        let subs = vec![
            sub_job(0, "SUCCESS", ""),
            sub_job(1, "ABNORMAL", ""),
            sub_job(2, "ABNORMAL", ""),
            sub_job(3, "ABNORMAL", ""),
        ];
        Reply::json(job("SUCCESS", 4, &subs))
    });
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/desktop-settle.yaml"),
    )
    .unwrap()
    .replace("${DESKTOP_JOB_ID}", JOB)
    .replace(
        "  timeout: 30m\n",
        "  timeout: 30m\n  poll: { initial: 100ms, max: 200ms, adaptive: false }\n",
    );
    assert!(
        example.contains("initial: 100ms"),
        "the example's defaults moved"
    );
    let (out, report) = run_reported(&server.url(), &example, &["--deadline", "3s"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let w = only_wait(&report);
    assert_eq!(w["outcome"], "timed_out", "{w}");
    assert!(w["polls"].as_u64().unwrap() >= 3, "kept polling: {w}");
}

/// 17.4: `all:` for alice and bob while only alice's desktop is listed
/// (carol's is still running) does not hold; once bob's is listed, it does.
#[test]
fn all_over_a_multi_value_where_needs_every_value() {
    let user = |i, name: &str, status| {
        sub_job(
            i,
            status,
            &format!(r#","entities":{{"user_name":"{name}"}}"#),
        )
    };
    let body = r#"    desktop_sub_jobs: { job_id: "j" }
    success: { all: [SUCCESS], where: { entities.user_name: [alice, bob] } }
    failure: { any: [FAILED], where: { entities.user_name: [alice, bob] } }
"#;
    let alice_only = vec![user(0, "alice", "SUCCESS"), user(2, "carol", "RUNNING")];
    let page = |items: &[String]| {
        format!(
            r#"{{"total_count":{},"jobs":[{}]}}"#,
            items.len(),
            items.join(",")
        )
    };
    let text = page(&alice_only);
    let server = Hostile::start(move |_| Reply::json(text.clone()));
    let (out, report) = run_reported(&server.url(), &spec(body), &[]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(only_wait(&report)["outcome"], "timed_out");

    let mut both = alice_only.clone();
    both.push(user(1, "bob", "SUCCESS"));
    let text = page(&both);
    let server = Hostile::start(move |_| Reply::json(text.clone()));
    let (out, report) = run_reported(&server.url(), &spec(body), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(only_wait(&report)["outcome"], "met");
}

/// 17.5: `none: [FAILED]` and `count: [FAILED] == 0` for bob, whose failed
/// desktop is written `Bob`: the `where` selects nothing, which proves
/// nothing.
#[test]
fn none_and_count_over_an_empty_selection_do_not_pass() {
    let server = Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"total_count":2,"jobs":[{},{}]}}"#,
            sub_job(0, "FAILED", r#","entities":{"user_name":"Bob"}"#),
            sub_job(1, "SUCCESS", r#","entities":{"user_name":"carol"}"#),
        ))
    });
    for success in [
        "{ none: [FAILED], where: { entities.user_name: bob } }",
        "{ count: [FAILED], where: { entities.user_name: bob }, is: \"== 0\" }",
    ] {
        let (out, report) = run_reported(
            &server.url(),
            &spec(&format!(
                "    desktop_sub_jobs: {{ job_id: \"j\" }}\n    success: {success}\n"
            )),
            &[],
        );
        assert_eq!(code(&out), 3, "{success}: {}", stderr(&out));
        assert_eq!(only_wait(&report)["outcome"], "timed_out", "{success}");
    }
}

/// 17.6: a RUNNING job whose `sub_jobs_total` is 3 lists two SUCCESS
/// sub-jobs: `all: [SUCCESS]` is not proven.
#[test]
fn a_job_listing_fewer_sub_jobs_than_its_total_does_not_pass() {
    let server = Hostile::start(|_| Reply::json(job("RUNNING", 3, &successes(2))));
    let (out, report) = run_reported(
        &server.url(),
        &spec(&format!(
            "    image_job: \"{JOB}\"\n    success: {{ all: [SUCCESS] }}\n"
        )),
        &[],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let w = only_wait(&report);
    assert_eq!(w["outcome"], "timed_out", "{w}");
    let found = w["last_observation"]["found"].as_str().unwrap_or_default();
    assert!(found.contains("2 of its 3 sub-jobs"), "{w}");
}

/// 11.6: `>= 95%` over a roll-out of 200 desktops of which 25 are listed,
/// all up: the share is of the 200, so the gate stays shut; on a list
/// wait, which has no known whole, a share never holds.
#[test]
fn shares_are_taken_over_the_whole_roll_out() {
    let server = Hostile::start(|seen| {
        if seen.path.contains("workspace-jobs") {
            Reply::json(job("RUNNING", 200, &successes(25)))
        } else {
            Reply::json(format!(
                r#"{{"total_count":25,"jobs":[{}]}}"#,
                successes(25).join(",")
            ))
        }
    });
    for target in [
        format!("desktop_job: \"{JOB}\""),
        "desktop_sub_jobs: { job_id: \"j\" }".to_owned(),
    ] {
        let (out, report) = run_reported(
            &server.url(),
            &spec(&format!(
                "    {target}\n    success: {{ count: [SUCCESS], is: \">= 95%\" }}\n"
            )),
            &[],
        );
        assert_eq!(code(&out), 3, "{target}: {}", stderr(&out));
        assert_eq!(only_wait(&report)["outcome"], "timed_out", "{target}");
    }
}

/// 17.8: `image_sub_job_count` without `job_type` asks for every
/// documented type, so a FAILED GENERATE_IMAGE sub-job is seen.
#[test]
fn an_image_count_without_job_type_sees_every_type() {
    let server = Hostile::start(|seen| {
        let types = seen.param("job_type").unwrap_or_default();
        let generate = types.contains("GENERATE_IMAGE");
        let n = match seen.param("status") {
            Some("FAILED") => u64::from(generate),
            Some(_) => 0,
            None => 3 + u64::from(generate),
        };
        Reply::json(format!(r#"{{"count":{n}}}"#))
    });
    let (out, report) = run_reported(
        &server.url(),
        &spec(
            "    image_sub_job_count: { job_id: \"j\" }\n    success: { count: [FAILED], is: \"== 0\" }\n",
        ),
        &[],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let w = only_wait(&report);
    assert_eq!(w["last_observation"]["counts"]["FAILED"], 1, "{w}");
}

/// A job wait judged only by JSONPath can open: SUCCESS is no stranger.
#[test]
fn a_job_judged_by_jsonpath_alone_ends_met() {
    let server = Hostile::start(|_| Reply::json(job("SUCCESS", 2, &successes(2))));
    let (out, report) = run_reported(
        &server.url(),
        &spec(&format!(
            "    image_job: \"{JOB}\"\n    success: {{ path: \"$.sub_jobs[*].status\", equals: SUCCESS }}\n"
        )),
        &[],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(only_wait(&report)["outcome"], "met");
}

/// JSONPath as success needs every selected value: one FAILED sibling
/// keeps `equals: SUCCESS` from holding.
#[test]
fn jsonpath_equals_needs_every_selected_value() {
    let server = Hostile::start(|_| {
        let mut subs = successes(2);
        subs.push(sub_job(2, "FAILED", ""));
        Reply::json(job("RUNNING", 3, &subs))
    });
    let (out, report) = run_reported(
        &server.url(),
        &spec(&format!(
            "    image_job: \"{JOB}\"\n    success: {{ path: \"$.sub_jobs[*].status\", equals: SUCCESS }}\n"
        )),
        &[],
    );
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(only_wait(&report)["outcome"], "timed_out");
}
