//! jobgate against the API gateway's quotas: a per-user rate limit is met by
//! slowing down (few throttled answers, every wait still met), a daily quota
//! ends the waits at once, and a failing API is not hammered by every wait
//! spending its own error budget. Counts only, never timings.

use crate::common::harness;
use crate::common::hostile;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use harness::*;
use hostile::{Hostile, Reply};

/// `n` waits on image jobs 800000000000000001, 800000000000000002...
fn many_waits(n: usize, extra: &str) -> String {
    let mut spec = String::from("version: 1\nwaits:\n");
    for i in 1..=n {
        spec.push_str(&format!(
            "  w{i}:\n    image_job: \"{}\"\n    target: [SUCCESS]\n    timeout: 90s\n{extra}",
            800_000_000_000_000_000u64 + i as u64
        ));
    }
    spec
}

/// The job id a request asks for (the last path segment).
fn job_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

fn success(path: &str) -> Reply {
    Reply::json(format!(
        r#"{{"id":"{}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#,
        job_of(path)
    ))
}

fn throttled(message: &str) -> Reply {
    Reply::status_json(
        429,
        format!(r#"{{"error_code":"APIG.0308","error_msg":"{message}"}}"#),
    )
}

/// The gateway's per-user policy: more than 5 requests within any second
/// are throttled, with the gateway's own message naming the policy. Sixty
/// waits asked for at 50 requests per second meet it by slowing the whole
/// run to below the policy: a handful of throttled answers, not one per
/// burst, and every wait met. (Pausing every wait for 3 s on each 429 and
/// then returning to full speed drew a 429 or more per burst of five
/// successes: a dozen or more here.)
#[test]
fn a_per_user_rate_limit_is_met_by_slowing_down() {
    const LIMIT: usize = 5;
    let window = Duration::from_secs(1);
    let accepted: Mutex<VecDeque<Instant>> = Mutex::new(VecDeque::new());
    let server = Hostile::start(move |seen| {
        let now = Instant::now();
        let mut accepted = accepted.lock().unwrap();
        while accepted.front().is_some_and(|t| now - *t >= window) {
            accepted.pop_front();
        }
        if accepted.len() >= LIMIT {
            return throttled(
                "The throttling threshold has been reached: policy user over ratelimit,limit:5,time:1 second",
            );
        }
        accepted.push_back(now);
        success(&seen.path)
    });
    let waits = 60;
    let (out, report) = run_reported(
        &server.url(),
        &many_waits(waits, "    poll: { initial: 100ms, max: 1s }\n"),
        &["--max-rps", "50"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let all = report["waits"].as_array().unwrap();
    assert_eq!(all.len(), waits);
    assert!(all.iter().all(|w| w["outcome"] == "met"), "{report}");
    let seen = server.seen();
    let throttles = seen.len() - waits;
    assert!(
        throttles <= 8,
        "{throttles} throttled answers for {waits} waits: the rate did not adapt"
    );
}

/// `Daily quota exhausted` cannot pass before any CI deadline: every wait
/// ends at once with exit 5 and says which quota, after one request each
/// (retrying it used to last until the timeout, exit 3).
#[test]
fn a_daily_quota_ends_the_waits_at_once() {
    let server = Hostile::start(|_| throttled("Daily quota exhausted"));
    let waits = 3;
    let (out, report) = run_reported(
        &server.url(),
        &many_waits(waits, "    poll: { initial: 100ms, max: 200ms }\n"),
        &["--keep-going"],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    for w in report["waits"].as_array().unwrap() {
        assert_eq!(w["outcome"], "api_error", "{report}");
        let reason = w["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("daily quota is exhausted"), "{reason}");
        assert!(reason.contains("resets"), "{reason}");
    }
    assert!(server.seen().len() <= waits, "{:?}", server.seen().len());
}

/// An API that only fails: each wait may ride out a long outage on its own
/// (`error_budget: 10000`), but all of them together stop once the run's
/// shared retry budget (500 tokens, 2 a retry) is spent: 250 retries, not
/// twenty waits times ten thousand.
#[test]
fn a_failing_api_is_not_hammered_by_every_wait() {
    let server =
        Hostile::start(|_| Reply::status_json(503, r#"{"error_code":"X.503","error_msg":"down"}"#));
    let waits = 20;
    let (out, report) = run_reported(
        &server.url(),
        &many_waits(
            waits,
            "    error_budget: 10000\n    poll: { initial: 10ms, max: 20ms }\n",
        ),
        &["--max-rps", "500", "--keep-going"],
    );
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let all = report["waits"].as_array().unwrap();
    assert!(all.iter().all(|w| w["outcome"] == "api_error"), "{report}");
    assert!(
        all.iter().any(|w| w["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("retry budget is spent")),
        "{report}"
    );
    let sent = server.seen().len();
    // 250 paid retries, and the request of each wait that could not pay
    // for its retry.
    assert!(sent <= 250 + waits, "{sent} requests");
}

/// The rate comes from `--max-rps`, else `JOBGATE_MAX_RPS`, else the spec's
/// `max_rps`, else the default. At 0.1 requests a second the second of two
/// waits cannot be polled within its 3 s timeout (its slot is 10 s after
/// the first): it times out, unsent. At any rate given above that, both are met.
#[test]
fn the_rate_is_set_by_flag_env_or_spec() {
    let spec = |top: &str| {
        format!(
            "version: 1\n{top}waits:\n  a:\n    image_job: \"800000000000000001\"\n    target: [SUCCESS]\n    timeout: 3s\n  b:\n    image_job: \"800000000000000002\"\n    target: [SUCCESS]\n    timeout: 3s\n"
        )
    };
    let run = |top: &str, extra: &[&str], env: &[(&str, &str)]| {
        let server = Hostile::start(|seen| success(&seen.path));
        let (out, report) = run_reported_env(&server.url(), &spec(top), extra, env);
        (code(&out), report, server.seen().len())
    };
    let (code, report, sent) = run("max_rps: 0.1\n", &["--keep-going"], &[]);
    assert_eq!((code, sent), (3, 1), "{report}");
    let (code, _, sent) = run("", &["--keep-going"], &[("JOBGATE_MAX_RPS", "0.1")]);
    assert_eq!((code, sent), (3, 1));
    let (code, _, sent) = run("max_rps: 0.1\n", &["--max-rps", "5"], &[]);
    assert_eq!((code, sent), (0, 2), "the flag wins over the spec");
    let (code, _, sent) = run("", &[], &[]);
    assert_eq!((code, sent), (0, 2), "the default is not that slow");
}

/// A spec rate outside 0.1 to 1000 is refused before anything is polled.
#[test]
fn a_spec_rate_out_of_range_is_refused() {
    for bad in ["0", "-1", "fast", "1e9"] {
        let dir = Workdir::new();
        let spec = dir.write(
            "spec.yaml",
            &format!(
                "version: 1\nmax_rps: {bad}\nwaits:\n  a:\n    image_job: \"800000000000000001\"\n    target: [SUCCESS]\n"
            ),
        );
        let out = output_within(
            jobgate().arg("validate").arg(&spec),
            Duration::from_secs(30),
        );
        assert_eq!(code(&out), 2, "{bad}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("requests per second"),
            "{}",
            stderr(&out)
        );
    }
}

/// Image jobs `fleet-0`… that run for 6 s and then succeed.
fn fleet_jobs(n: usize) -> String {
    let mut yaml = format!("project_id: {PROJECT}\njobs:\n");
    for i in 0..n {
        yaml.push_str(&format!(
            "  - id: fleet-{i}\n    kind: image_job\n    timeline: [{{at: 0s, status: RUNNING}}, {{at: 6s, status: SUCCESS}}]\n"
        ));
    }
    yaml
}

/// A fleet: three jobgate processes, each allowed 10 requests a second,
/// share one simulator whose per-user policy allows 10 a second per API.
/// Asked for three times the quota, they converge under it: every wait is
/// met, and the throttled answers stay a small share of the requests (most
/// of them in the first second, before the processes have slowed down).
#[test]
fn a_fleet_of_processes_converges_under_a_shared_quota() {
    let faults = jobgate::sim::Faults {
        quota: Some(jobgate::sim::Quota {
            limit: 10,
            window: Duration::from_secs(1),
        }),
        ..Default::default()
    };
    let processes = 3;
    let per_process = 10;
    let sim = Sim::start_with(&fleet_jobs(processes * per_process), Some(faults));
    let url = sim.url();
    let runs: Vec<_> = (0..processes)
        .map(|p| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut spec = String::from(
                    "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 90s\n  poll: { initial: 200ms, max: 1s }\nwaits:\n",
                );
                for i in 0..per_process {
                    let job = p * per_process + i;
                    spec.push_str(&format!(
                        "  w{i}:\n    image_job: fleet-{job}\n    target: [SUCCESS]\n"
                    ));
                }
                let (out, report) = run_reported(&url, &spec, &["--max-rps", "10"]);
                (code(&out), report)
            })
        })
        .collect();
    for run in runs {
        let (code, report) = run.join().unwrap();
        assert_eq!(code, 0, "{report}");
    }
    let stats = sim.stats();
    let throttled = stats.faults.throttled;
    eprintln!("{throttled} of {} requests throttled", stats.requests);
    assert!(
        throttled * 4 <= stats.requests,
        "{throttled} of {} requests throttled: {stats:?}",
        stats.requests
    );
}

/// The simulator's daily quota: once spent, jobgate stops at once (exit 5)
/// instead of retrying until the timeout.
#[test]
fn the_simulated_daily_quota_stops_the_run() {
    let faults = jobgate::sim::Faults {
        daily_quota: Some(1),
        ..Default::default()
    };
    let sim = Sim::start_with(&fleet_jobs(2), Some(faults));
    let spec = "version: 1\ndefaults:\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 60s\n  poll: { initial: 100ms, max: 200ms }\nwaits:\n  a:\n    image_job: fleet-0\n    target: [SUCCESS]\n";
    let (out, report) = run_reported(&sim.url(), spec, &[]);
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "api_error", "{report}");
    // The one request the quota allowed, then one refused (the history
    // read of an image job may be the one refused instead).
    assert!(sim.stats().requests <= 3, "{:?}", sim.stats());
}
