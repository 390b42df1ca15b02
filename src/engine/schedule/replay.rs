//! The schedule replayed offline, as the engine runs it, against fixed
//! intervals and the best possible schedule, on the benchmark's jobs.
//!
//! Each replayed wait rebuilds the model on every poll the way the planner
//! does (the job's age, the API's past jobs once their read has answered,
//! the local history, the sub-jobs already finished, the state change's
//! urgency; no jitter), counts the history read's request, and polls until
//! a poll sees the job ended. No clock: the schedule is a pure function, so
//! whole waits are replayed in a loop over durations drawn deterministically
//! from the benchmark's distributions (`bench/run.py`, in real-time
//! seconds), each job with its own past durations (a fixed seed per job).
//!
//! Two yardsticks, both on the same durations:
//! - a **fixed interval** `T` spending the same mean requests: polls at
//!   `0, T, 2T, …`, exactly `T·ceil(D/T) − D` late on a job of `D`;
//! - the **oracle**: Keller's density `√(h/2c)` with the scenario's true
//!   distribution (which no waiter knows), `c` set for the same requests,
//!   no floor: the best any schedule can do at that cost.

use std::time::Duration;

use super::{Effort, Inputs, Urgency, plan};
use crate::engine::estimate::lognormal::LogNormal;
use crate::engine::estimate::prior::{self, Prior};
use crate::engine::estimate::{Model, Signals, subjobs};
use crate::engine::past_jobs;

/// The benchmark's default bounds: `initial: 5s, max: 1m`.
const FLOOR: f64 = 5.0;
const MAX: f64 = 60.0;
/// Jobs replayed per scenario.
const JOBS: usize = 300;

/// A scenario's true duration distribution.
#[derive(Debug, Clone, Copy)]
enum Truth {
    /// A log-normal truncated to `[lo, hi]`.
    LogNormal {
        median: f64,
        sigma: f64,
        lo: f64,
        hi: f64,
    },
    Uniform {
        lo: f64,
        hi: f64,
    },
}

impl Truth {
    fn bounds(self) -> (f64, f64) {
        match self {
            Truth::LogNormal { lo, hi, .. } | Truth::Uniform { lo, hi } => (lo, hi),
        }
    }

    /// Survival and density at `t`.
    fn sf_pdf(self, t: f64) -> (f64, f64) {
        match self {
            Truth::LogNormal {
                median,
                sigma,
                lo,
                hi,
            } => {
                let d = LogNormal::new(median, sigma).expect("a positive median");
                let mass = d.sf(lo) - d.sf(hi);
                if t < lo {
                    (1.0, 0.0)
                } else if t >= hi {
                    (0.0, 0.0)
                } else {
                    ((d.sf(t) - d.sf(hi)) / mass, d.pdf(t) / mass)
                }
            }
            Truth::Uniform { lo, hi } => {
                if t < lo {
                    (1.0, 0.0)
                } else if t >= hi {
                    (0.0, 0.0)
                } else {
                    ((hi - t) / (hi - lo), 1.0 / (hi - lo))
                }
            }
        }
    }

    /// The duration a share `u` of jobs stays under.
    fn quantile(self, u: f64) -> f64 {
        let (mut lo, mut hi) = self.bounds();
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if 1.0 - self.sf_pdf(mid).0 < u {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    /// `JOBS` durations at evenly spread quantiles: the distribution
    /// itself, without a sampling error to flatter or blame anyone.
    fn durations(self) -> Vec<f64> {
        (0..JOBS)
            .map(|i| self.quantile((i as f64 + 0.5) / JOBS as f64))
            .collect()
    }

    /// `n` durations drawn at random (a fixed seed), as past jobs are.
    fn sample(self, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = fastrand::Rng::with_seed(seed);
        (0..n).map(|_| self.quantile(rng.f64())).collect()
    }
}

const IMAGE: Truth = Truth::LogNormal {
    median: 1500.0,
    sigma: 0.5,
    lo: 600.0,
    hi: 3600.0,
};
const APP_SERVER: Truth = Truth::LogNormal {
    median: 600.0,
    sigma: 0.4,
    lo: 300.0,
    hi: 1200.0,
};
const SHORT: Truth = Truth::Uniform { lo: 5.0, hi: 20.0 };

/// One benchmark scenario, as the engine sees it.
#[derive(Debug, Clone)]
struct Scenario {
    name: &'static str,
    truth: Truth,
    prior: Prior,
    /// What the API's past-jobs read answers (an empty list: too few
    /// samples); `None`: no read (the kind has no list).
    api: Option<Vec<f64>>,
    local: Vec<f64>,
    /// The job is three sub-jobs one after the other.
    sub_jobs: bool,
    /// WAITING until then, RUNNING after.
    running_at: f64,
}

fn scenarios() -> Vec<Scenario> {
    let image = |name, api: Vec<f64>, local: Vec<f64>, sub_jobs| Scenario {
        name,
        truth: IMAGE,
        prior: prior::IMAGE,
        api: Some(api),
        local,
        sub_jobs,
        running_at: 30.0,
    };
    vec![
        image("image-none", Vec::new(), Vec::new(), false),
        image("image-api", IMAGE.sample(20, 1), Vec::new(), false),
        image("image-local", Vec::new(), IMAGE.sample(5, 2), false),
        image("image-subjobs", Vec::new(), Vec::new(), true),
        Scenario {
            name: "app-server",
            truth: APP_SERVER,
            prior: prior::APP_SERVER,
            api: Some(APP_SERVER.sample(20, 3)),
            local: Vec::new(),
            sub_jobs: false,
            running_at: 30.0,
        },
        Scenario {
            name: "short",
            truth: SHORT,
            prior: prior::IMAGE,
            api: Some(Vec::new()),
            local: Vec::new(),
            sub_jobs: false,
            running_at: 1.0,
        },
    ]
}

/// One replayed wait: requests (polls and the history read) and latency.
fn wait(s: &Scenario, end: f64, effort: Effort) -> (u32, f64) {
    // Sub-jobs: server, image, clean-up, about 40/50/10% of the RUNNING time.
    let subs: Vec<(f64, f64)> = if s.sub_jobs {
        let run = end - s.running_at;
        let a = s.running_at + 0.4 * run;
        let b = a + 0.5 * run;
        vec![(s.running_at, a), (a, b), (b, end)]
    } else {
        Vec::new()
    };
    let state = |t: f64| {
        let running = usize::from(t >= s.running_at);
        running + subs.iter().filter(|(_, e)| t >= *e).count()
    };
    let (mut t, mut requests) = (0.0, 0u32);
    let mut last: Option<usize> = None;
    // The read: not sent, sent (joined at the next poll), answered.
    let (mut sent, mut answered) = (false, false);
    loop {
        requests += 1;
        if t >= end {
            return (requests, t - end);
        }
        let now = state(t);
        let changed = last.is_some_and(|l| l != now);
        last = Some(now);
        if s.api.is_some() {
            if sent {
                answered = true;
            } else if past_jobs::worth_reading(
                Duration::from_secs_f64(t),
                Duration::from_secs_f64(FLOOR),
            ) {
                sent = true;
                requests += 1;
            }
        }
        let api = match (&s.api, answered) {
            (Some(api), true) => api.clone(),
            _ => Vec::new(),
        };
        let signals = Signals {
            prior: Some(s.prior.scaled(1.0)),
            members: 1,
            api_history: api,
            local_history: s.local.clone(),
            sub_jobs_remaining: sub_jobs_remaining(&subs, t),
            age: t,
            ..Signals::default()
        };
        let model = Model::build(&signals, 1.0);
        let delay = plan(Inputs {
            model: &model,
            age: Duration::from_secs_f64(t),
            floor: Duration::from_secs_f64(FLOOR),
            max: Duration::from_secs_f64(MAX),
            effort,
            remaining: Duration::from_secs(100_000),
            urgency: if changed {
                Urgency::Changed
            } else {
                Urgency::None
            },
            jitter: None,
        });
        t += delay.as_secs_f64();
    }
}

/// What `subjobs::remaining` answers at `t` for the image build's three
/// sub-jobs `(begin, end)` (server, image, clean-up), listed from the start.
fn sub_jobs_remaining(subs: &[(f64, f64)], t: f64) -> Option<(f64, usize)> {
    if subs.is_empty() {
        return None;
    }
    let base: jiff::Timestamp = "2024-05-20T10:00:00Z".parse().expect("a time stamp");
    let at = |s: f64| (base + jiff::SignedDuration::from_secs_f64(s)).to_string();
    let kinds = ["CREATE_SERVER", "CREATE_SERVER_IMAGE", "DELETE_SERVER"];
    let items: Vec<serde_json::Value> = subs
        .iter()
        .zip(kinds)
        .enumerate()
        .map(|(i, ((b, e), kind))| {
            let (status, begin, end) = if *e <= t {
                ("SUCCESS", Some(at(*b)), Some(at(*e)))
            } else if *b <= t {
                ("RUNNING", Some(at(*b)), None)
            } else {
                ("WAITING", None, None)
            };
            serde_json::json!({"id": format!("s{i}"), "job_type": kind, "status": status,
                "begin_time": begin, "end_time": end})
        })
        .collect();
    let body = serde_json::json!({"id": "j", "status": "RUNNING", "job_type": "CREATE_SERVER_IMAGE",
        "begin_time": at(0.0), "sub_jobs_total": subs.len(), "sub_jobs": items});
    let obs = crate::api::model::parse_job(body.to_string().into()).expect("a job");
    subjobs::remaining(&obs, base + jiff::SignedDuration::from_secs_f64(t))
}

/// A scenario's figures at one setting: mean requests and latency, and
/// the fixed interval's and the oracle's mean latency at those requests.
#[derive(Debug, Clone, Copy)]
struct Figures {
    requests: f64,
    latency: f64,
    fixed: f64,
    oracle: f64,
    /// The oracle kept to `max`.
    bounded: f64,
}

impl Figures {
    /// Latency against the fixed interval's at equal requests.
    fn vs_fixed(&self) -> f64 {
        self.latency / self.fixed
    }

    fn vs_oracle(&self) -> f64 {
        self.latency / self.oracle
    }
}

fn figures(s: &Scenario, effort: Effort) -> Figures {
    let ends = s.truth.durations();
    let (mut requests, mut latency) = (0.0, 0.0);
    for (i, &end) in ends.iter().enumerate() {
        // Each job has its own past jobs, drawn afresh: a few samples can
        // mislead, and the replay must see how often.
        let mut s = s.clone();
        let seed = 1000 + i as u64;
        if let Some(api) = s.api.as_mut().filter(|a| !a.is_empty()) {
            *api = s.truth.sample(api.len(), seed);
        }
        if !s.local.is_empty() {
            s.local = s.truth.sample(s.local.len(), seed + 500_000);
        }
        let (r, l) = wait(&s, end, effort);
        requests += f64::from(r);
        latency += l;
    }
    let n = ends.len() as f64;
    let (requests, latency) = (requests / n, latency / n);
    Figures {
        requests,
        latency,
        fixed: fixed_at(&ends, requests),
        oracle: oracle_at(s.truth, &ends, requests, None),
        bounded: oracle_at(s.truth, &ends, requests, Some(MAX)),
    }
}

/// Mean requests and latency of a fixed interval `step`.
fn fixed(ends: &[f64], step: f64) -> (f64, f64) {
    let (mut r, mut l) = (0.0, 0.0);
    for &d in ends {
        let k = (d / step).ceil();
        r += k + 1.0;
        l += k * step - d;
    }
    (r / ends.len() as f64, l / ends.len() as f64)
}

/// The mean latency of the fixed interval spending `requests` on average.
fn fixed_at(ends: &[f64], requests: f64) -> f64 {
    let (mut lo, mut hi) = (1e-3f64, 1e6f64);
    for _ in 0..100 {
        let mid = (lo * hi).sqrt();
        if fixed(ends, mid).0 > requests {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    fixed(ends, (lo * hi).sqrt()).1
}

/// The oracle's poll times for a cost `c`: one poll at 0, then one per unit
/// of `∫ √(h/2c)`, and one at the longest duration.
fn oracle_polls(truth: Truth, c: f64) -> Vec<f64> {
    let (_, hi) = truth.bounds();
    let steps = 20_000;
    let dt = hi / f64::from(steps);
    let mut polls = vec![0.0];
    let mut mass = 0.0;
    for k in 0..steps {
        let t = (f64::from(k) + 0.5) * dt;
        let (sf, pdf) = truth.sf_pdf(t);
        if sf > 0.0 {
            mass += (pdf / sf / (2.0 * c)).sqrt() * dt;
        }
        if mass >= 1.0 {
            mass -= mass.floor();
            polls.push((f64::from(k) + 1.0) * dt);
        }
    }
    if polls.last().is_some_and(|p| *p < hi) {
        polls.push(hi);
    }
    polls
}

/// The oracle's polls with no gap over `max` (the spec's hard bound).
fn bounded(polls: Vec<f64>, max: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::with_capacity(polls.len());
    for p in polls {
        while let Some(&last) = out.last() {
            if p - last <= max {
                break;
            }
            out.push(last + max);
        }
        out.push(p);
    }
    out
}

fn oracle(truth: Truth, ends: &[f64], c: f64, max: Option<f64>) -> (f64, f64) {
    let polls = oracle_polls(truth, c);
    let polls = match max {
        Some(max) => bounded(polls, max),
        None => polls,
    };
    let (mut r, mut l) = (0.0, 0.0);
    for &d in ends {
        let i = polls.partition_point(|p| *p < d).min(polls.len() - 1);
        r += i as f64 + 1.0;
        l += (polls[i] - d).max(0.0);
    }
    (r / ends.len() as f64, l / ends.len() as f64)
}

/// The oracle's mean latency at `requests` on average.
/// With `max`, the best schedule that keeps the spec's `max` as jobgate
/// must.
fn oracle_at(truth: Truth, ends: &[f64], requests: f64, max: Option<f64>) -> f64 {
    let (mut lo, mut hi) = (1e-9f64, 1e6f64);
    for _ in 0..60 {
        let mid = (lo * hi).sqrt();
        if oracle(truth, ends, mid, max).0 > requests {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    oracle(truth, ends, (lo * hi).sqrt(), max).1
}

/// The table (printed by the tests: `cargo test --lib replay -- --nocapture`).
fn table(effort: Effort) -> Vec<(&'static str, Figures)> {
    scenarios()
        .iter()
        .map(|s| (s.name, figures(s, effort)))
        .collect()
}

fn print(effort: Effort, rows: &[(&'static str, Figures)]) {
    eprintln!(
        "{effort:?}: scenario | requests | mean latency | fixed@equal | oracle@equal | oracle within max | ×fixed | ×oracle"
    );
    for (name, f) in rows {
        eprintln!(
            "{name} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2}",
            f.requests,
            f.latency,
            f.fixed,
            f.oracle,
            f.bounded,
            f.vs_fixed(),
            f.vs_oracle()
        );
    }
}

/// What the replay asserts at `balanced`: (scenario, at most this times a
/// fixed interval's mean latency at equal requests, at most this times the
/// oracle's, at most these requests). The fixed interval is beaten where
/// anything is known of the job type; without it the schedule matches a
/// fixed interval (the wide default prior has a nearly flat hazard over
/// 10-60 min, so no schedule built on it can do much better) while still
/// watching a job of seconds at the floor.
const BALANCED: [(&str, f64, f64, f64); 6] = [
    ("image-none", 1.0, 1.7, 80.0),
    ("image-api", 0.9, 1.55, 60.0),
    ("image-local", 0.9, 1.45, 55.0),
    ("image-subjobs", 1.02, 1.7, 80.0),
    ("app-server", 0.72, 1.5, 50.0),
    ("short", 1.02, 1.9, 4.0),
];

#[test]
fn balanced_is_below_the_fixed_interval_and_near_the_oracle() {
    let rows = table(Effort::Balanced);
    print(Effort::Balanced, &rows);
    for ((name, f), (want, vs_fixed, vs_oracle, requests)) in rows.iter().zip(BALANCED) {
        assert_eq!(*name, want);
        assert!(f.vs_fixed() <= vs_fixed, "{name}: {f:?}");
        assert!(f.vs_oracle() <= vs_oracle, "{name}: {f:?}");
        assert!(f.requests <= requests + 1e-9, "{name}: {f:?}");
    }
}

#[test]
fn a_short_job_costs_what_a_loop_at_the_floor_costs_and_is_seen_as_soon() {
    let short = &scenarios()[5];
    let ends = short.truth.durations();
    // The 5 s loop: polls at 0, 5, 10, ...
    let (loop_requests, loop_latency) = fixed(&ends, FLOOR);
    for effort in [Effort::Gentle, Effort::Balanced, Effort::Eager] {
        let f = figures(short, effort);
        assert!(f.requests <= loop_requests + 1e-9, "{effort:?}: {f:?}");
        assert!(f.latency <= loop_latency + 1e-9, "{effort:?}: {f:?}");
    }
}

#[test]
fn each_knob_setting_trades_requests_for_latency() {
    let [gentle, balanced, eager] = [Effort::Gentle, Effort::Balanced, Effort::Eager].map(|e| {
        let rows = table(e);
        print(e, &rows);
        rows
    });
    for ((g, b), e) in gentle.iter().zip(&balanced).zip(&eager) {
        let (g, b, e) = (g.1, b.1, e.1);
        assert!(
            g.requests <= b.requests && b.requests <= e.requests,
            "{}",
            gentle[0].0
        );
        assert!(
            g.latency >= b.latency && b.latency >= e.latency,
            "{}",
            gentle[0].0
        );
    }
}
