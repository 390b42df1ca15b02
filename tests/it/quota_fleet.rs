//! The rate per API, the hard-quota stop and many waits under random
//! throttling, end to end against the simulator and the scripted server.
//! Counts, orders and outcomes only, never timings.

use crate::common::harness;
use crate::common::hostile;

use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};
use jobgate::sim::{Endpoint, Faults, Quota};

fn throttled(message: &str) -> Reply {
    Reply::status_json(
        429,
        format!(r#"{{"error_code":"APIG.0308","error_msg":"{message}"}}"#),
    )
}

fn waits_of(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["waits"].as_array().unwrap().clone()
}

/// The simulator's per-API policy counts each operation on its own, over
/// every client together: two clients share one API's allowance, and an
/// API without a policy is never throttled.
#[tokio::test]
async fn the_simulator_counts_each_api_on_its_own_for_every_client() {
    let scenario = jobgate::sim::Scenario::from_yaml(
        &format!(
            "project_id: {PROJECT}\njobs:\n  - id: img\n    kind: image_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n  - id: desk\n    kind: desktop_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
        ),
        "quota scenario",
    )
    .unwrap();
    let faults = Faults {
        // An hour's window: nothing in this test can outlast it.
        api_quotas: [(
            Endpoint::ShowImageJob,
            Quota {
                limit: 3,
                window: Duration::from_secs(3600),
            },
        )]
        .into(),
        ..Faults::default()
    };
    let sim = jobgate::sim::Simulator::start(
        scenario,
        jobgate::sim::SimConfig {
            faults: Some(faults),
            ..Default::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let clients: Vec<reqwest::Client> = (0..2)
        .map(|_| {
            reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        })
        .collect();
    let get = |client: &reqwest::Client, path: String| {
        let request = client.get(format!("{}{path}", sim.base_url())).send();
        async move {
            let response = request.await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let mut image = Vec::new();
    for i in 0..4 {
        let client = &clients[i % 2];
        image.push(get(client, format!("/v1/{PROJECT}/image-server-jobs/img")).await);
        // The other API, in between, from both clients.
        let (status, _) = get(client, format!("/v2/{PROJECT}/workspace-jobs/desk")).await;
        assert_eq!(status, 200);
    }
    let statuses: Vec<u16> = image.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [200, 200, 200, 429], "{image:?}");
    assert!(
        image[3]
            .1
            .contains("policy user over ratelimit,limit:3,time:60 minute"),
        "{}",
        image[3].1
    );
    let stats = sim.stats();
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 429), 0, "{stats:?}");
    sim.shutdown().await;
}

/// Waits on two APIs, one of them (`ShowImageJob`) under a policy of one
/// request a second: the throttles it draws slow that API only. The waits
/// on the other API (`ShowJob`) need 20 polls each, 80 requests, which they
/// make at the run's 40 a second and are met; slowed with the throttled API
/// to 70% of its policy (0.7 a second, as one rate for the whole run did)
/// they would have needed minutes, and timed out.
#[test]
fn a_throttled_api_does_not_slow_the_others() {
    let n = 4;
    let mut scenario = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..n {
        for kind in ["image_job", "desktop_job"] {
            scenario.push_str(&format!(
                "  - id: {kind}-{i}\n    kind: {kind}\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
            ));
        }
    }
    let faults = Faults {
        api_quotas: [(
            Endpoint::ShowImageJob,
            Quota {
                limit: 1,
                window: Duration::from_secs(1),
            },
        )]
        .into(),
        ..Faults::default()
    };
    let sim = Sim::start_with(&scenario, Some(faults));
    let mut spec = String::from(
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  poll: { initial: 50ms, max: 200ms }\nwaits:\n",
    );
    for i in 0..n {
        spec.push_str(&format!(
            "  image{i}:\n    image_job: image_job-{i}\n    target: [SUCCESS]\n    timeout: 60s\n  desk{i}:\n    desktop_job: desktop_job-{i}\n    target: [SUCCESS]\n    stable_for: 20\n    timeout: 30s\n"
        ));
    }
    let (out, report) = run_reported(&sim.url(), &spec, &["--max-rps", "40", "--keep-going"]);
    let stats = sim.stats();
    assert_eq!(code(&out), 0, "{report}\n{stats:?}");
    for wait in waits_of(&report) {
        assert_eq!(wait["outcome"], "met", "{wait}");
        if wait["name"].as_str().unwrap().starts_with("desk") {
            assert_eq!(wait["polls"], 20, "{wait}");
        }
    }
    // The policy was met, and only on its own API.
    assert!(
        stats.answers(Endpoint::ShowImageJob, 429) >= 1,
        "the test no longer throttles ShowImageJob: {stats:?}"
    );
    assert_eq!(stats.answers(Endpoint::ShowJob, 429), 0, "{stats:?}");
    assert_eq!(
        stats.answers(Endpoint::ShowJob, 200),
        20 * n as u64,
        "{stats:?}"
    );
}

/// A `Retry-After` of an hour with 30 s left: waiting cannot help, so the
/// wait ends at once, `api_error` (exit 5), saying which limit and when it
/// resets, after one request (it used to retry every `max` until its
/// timeout, exit 3). The server's own words are not repeated.
#[test]
fn a_retry_after_past_the_deadline_ends_the_wait_at_once() {
    let server = Hostile::start(|_| {
        throttled("Too many requests <b>token=abc123</b>").with_header("Retry-After", "3600")
    });
    let (out, report) = run_reported(
        &server.url(),
        "version: 1\nwaits:\n  w:\n    image_job: \"800000000000000001\"\n    target: [SUCCESS]\n    timeout: 30s\n    poll: { initial: 100ms, max: 1s }\n",
        &[],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let wait = &waits_of(&report)[0];
    assert_eq!(wait["outcome"], "api_error", "{wait}");
    let reason = wait["reason"].as_str().unwrap();
    assert!(reason.contains("a rate limit"), "{reason}");
    assert!(reason.contains("resets in 1h"), "{reason}");
    assert!(
        !reason.contains("abc123") && !reason.contains('<'),
        "{reason}"
    );
    assert_eq!(server.seen().len(), 1);
    assert_eq!(wait["requests_sent"], 1, "{wait}");
}

/// A per-user policy of one request a day on `ShowImageJob`: the first
/// image wait is met, the next one throttled; the quota cannot reset before
/// the deadlines, so that wait ends at once (exit 5) and the third without
/// sending anything (the run remembers the quota), while the wait on another
/// API (`ShowJob`) is met.
#[test]
fn a_day_long_quota_ends_the_waits_on_its_api_only() {
    let mut scenario = format!(
        "project_id: {PROJECT}\njobs:\n  - id: desk\n    kind: desktop_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
    );
    let mut spec = String::from(
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 60s\nwaits:\n  desk:\n    desktop_job: desk\n    target: [SUCCESS]\n",
    );
    for i in 0..3 {
        scenario.push_str(&format!(
            "  - id: img-{i}\n    kind: image_job\n    timeline: [{{at: 0s, status: SUCCESS}}]\n"
        ));
        spec.push_str(&format!(
            "  image{i}:\n    image_job: img-{i}\n    target: [SUCCESS]\n"
        ));
    }
    let faults = Faults {
        api_quotas: [(
            Endpoint::ShowImageJob,
            Quota {
                limit: 1,
                window: Duration::from_secs(86_400),
            },
        )]
        .into(),
        ..Faults::default()
    };
    let sim = Sim::start_with(&scenario, Some(faults));
    // One request a second: each answer is back long before the next turn.
    let (out, report) = run_reported(&sim.url(), &spec, &["--max-rps", "1", "--keep-going"]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let waits = waits_of(&report);
    let outcome = |w: &serde_json::Value| w["outcome"].as_str().unwrap().to_owned();
    let desk = waits.iter().find(|w| w["name"] == "desk").unwrap();
    assert_eq!(outcome(desk), "met", "{desk}");
    let images: Vec<&serde_json::Value> = waits.iter().filter(|w| w["name"] != "desk").collect();
    assert_eq!(
        images.iter().filter(|w| outcome(w) == "met").count(),
        1,
        "{report}"
    );
    let stopped: Vec<&&serde_json::Value> = images
        .iter()
        .filter(|w| outcome(w) == "api_error")
        .collect();
    assert_eq!(stopped.len(), 2, "{report}");
    for wait in &stopped {
        let reason = wait["reason"].as_str().unwrap();
        assert!(
            reason.contains("the per-user rate limit (1 request per 24h) is exhausted"),
            "{reason}"
        );
        assert!(reason.contains("resets within 24h"), "{reason}");
    }
    let sent: Vec<u64> = stopped
        .iter()
        .map(|w| w["requests_sent"].as_u64().unwrap())
        .collect();
    assert_eq!(
        sent.iter().sum::<u64>(),
        1,
        "one asked, one refused unsent: {sent:?}"
    );
    let stats = sim.stats();
    assert_eq!(stats.requests_to(Endpoint::ShowImageJob), 2, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowImageJob, 429), 1, "{stats:?}");
    assert_eq!(stats.answers(Endpoint::ShowJob, 200), 1, "{stats:?}");
}

/// A few hundred waits in one process, with 5% of the answers random 429s
/// (and some 5xx): every wait reaches its job's true outcome, as the
/// simulator records it, and the run's retry budget is never spent.
#[test]
fn hundreds_of_waits_under_random_throttling_reach_their_true_outcomes() {
    let n = 200;
    let mut scenario = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..n {
        let end = if i % 10 == 3 { "FAILED" } else { "SUCCESS" };
        scenario.push_str(&format!(
            "  - id: job-{i}\n    kind: image_job\n    timeline: [{{at: 0s, status: RUNNING}}, {{at: {}ms, status: {end}}}]\n",
            (i % 20) * 100 + 100
        ));
    }
    let faults = Faults {
        seed: 11,
        throttle: 0.05,
        server_error: 0.02,
        ..Faults::default()
    };
    let sim = Sim::start_with(&scenario, Some(faults));
    let mut spec = String::from(
        "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 90s\n  poll: { initial: 200ms, max: 1s }\nwaits:\n",
    );
    for i in 0..n {
        spec.push_str(&format!(
            "  w{i}:\n    image_job: job-{i}\n    target: [SUCCESS]\n"
        ));
    }
    let (out, report) = run_reported(&sim.url(), &spec, &["--max-rps", "200", "--keep-going"]);
    let stats = sim.stats();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stats.faults.throttled > 0,
        "nothing was throttled: {stats:?}"
    );
    let truth: std::collections::HashMap<String, String> = stats
        .jobs
        .iter()
        .map(|j| (j.id.clone(), j.terminal_status.clone().unwrap()))
        .collect();
    let waits = waits_of(&report);
    assert_eq!(waits.len(), n);
    for (i, wait) in waits.iter().enumerate() {
        let name = wait["name"].as_str().unwrap();
        let job = format!("job-{}", &name[1..]);
        let expected = match truth[&job].as_str() {
            "SUCCESS" => "met",
            _ => "failed",
        };
        assert_eq!(wait["outcome"], expected, "wait {i}: {wait}");
        let reason = wait["reason"].as_str().unwrap_or_default();
        assert!(!reason.contains("retry budget"), "{wait}");
    }
    eprintln!(
        "{} requests, {} throttled",
        stats.requests, stats.faults.throttled
    );
}

/// A throttle naming a broader policy than the per-API one (`policy ip`,
/// all of the address's requests) slows every API: the waits on `ShowJob`,
/// never throttled themselves, are held to 70% of the policy's one request
/// a second along with the throttled `ShowImageJob`, so they cannot make
/// the 80 polls they need within their 10 s and time out, having sent a
/// fraction of them (were only the throttled API slowed, they would have
/// been met, as in `a_throttled_api_does_not_slow_the_others`).
#[test]
fn a_throttle_of_a_broader_policy_slows_every_api() {
    let server = Hostile::start(|seen| {
        if seen.path.contains("/image-server-jobs/") {
            throttled(
                "The throttling threshold has been reached: policy ip over ratelimit,limit:1,time:1 second",
            )
        } else {
            let id = seen.path.rsplit('/').next().unwrap_or("");
            Reply::json(format!(
                r#"{{"id":"{id}","status":"SUCCESS","sub_jobs_total":0,"sub_jobs":[]}}"#
            ))
        }
    });
    let n = 4;
    let mut spec = String::from(
        "version: 1\nwaits:\n  image:\n    image_job: \"800000000000000001\"\n    target: [SUCCESS]\n    timeout: 10s\n",
    );
    for i in 0..n {
        spec.push_str(&format!(
            "  desk{i}:\n    desktop_job: d{i}\n    target: [SUCCESS]\n    stable_for: 20\n    timeout: 10s\n    poll: {{ initial: 50ms, max: 200ms }}\n"
        ));
    }
    let (out, report) = run_reported(&server.url(), &spec, &["--max-rps", "40", "--keep-going"]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    for wait in waits_of(&report) {
        assert_eq!(wait["outcome"], "timed_out", "{wait}");
    }
    let desk = server
        .seen()
        .iter()
        .filter(|s| s.path.contains("/workspace-jobs/"))
        .count();
    eprintln!("{desk} ShowJob requests");
    assert!(desk >= 1, "no ShowJob was answered");
    assert!(desk <= 30, "{desk} ShowJob requests: not slowed");
}

/// A `Retry-After` that fits in the time left holds the throttled API for
/// all of it, and only that API: the image wait's answers are a per-API
/// throttle asking for 3 s until 2.5 s after the first, so it asks again
/// once, after them (not every 200 ms, its `max`, as when the pause was
/// clamped to it), and is met; meanwhile the waits on `ShowJob` go on
/// polling, and are met on their 20 polls each.
#[test]
fn a_retry_after_holds_the_throttled_api_only() {
    let first: std::sync::Mutex<Option<std::time::Instant>> = std::sync::Mutex::new(None);
    let server = Hostile::start(move |seen| {
        let id = seen.path.rsplit('/').next().unwrap_or("");
        let mut first = first.lock().unwrap();
        if seen.path.contains("/image-server-jobs/")
            && first.get_or_insert_with(std::time::Instant::now).elapsed()
                < Duration::from_millis(2500)
        {
            return throttled(
                "The throttling threshold has been reached: policy user over ratelimit,limit:100,time:1 minute",
            )
            .with_header("Retry-After", "3");
        }
        Reply::json(format!(
            r#"{{"id":"{id}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs_total":0,"sub_jobs":[]}}"#
        ))
    });
    let n = 4;
    let mut spec = String::from(
        "version: 1\ndefaults:\n  poll: { initial: 50ms, max: 200ms }\n  timeout: 30s\nwaits:\n  image:\n    image_job: \"800000000000000001\"\n    target: [SUCCESS]\n",
    );
    for i in 0..n {
        spec.push_str(&format!(
            "  desk{i}:\n    desktop_job: d{i}\n    target: [SUCCESS]\n    stable_for: 20\n"
        ));
    }
    let (out, report) = run_reported(&server.url(), &spec, &["--max-rps", "40"]);
    assert_eq!(code(&out), 0, "{}\n{report}", stderr(&out));
    let seen = server.seen();
    let image: Vec<usize> = seen
        .iter()
        .filter(|s| s.path.contains("/image-server-jobs/"))
        .map(|s| s.seq)
        .collect();
    assert_eq!(image.len(), 2, "the hold was not kept: {image:?}");
    let desk_between = seen
        .iter()
        .filter(|s| s.path.contains("/workspace-jobs/") && s.seq > image[0] && s.seq < image[1])
        .count();
    assert!(
        desk_between >= 5,
        "only {desk_between} ShowJob requests during the hold: it held every API"
    );
    assert_eq!(seen.len(), 2 + 20 * n, "{}", seen.len());
}
