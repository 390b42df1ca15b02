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
//! seconds).
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
use crate::engine::estimate::{Model, Signals};
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

/// What `subjobs::remaining` answers at `t` for sub-jobs `(begin, end)`
/// listed from the start.
fn sub_jobs_remaining(subs: &[(f64, f64)], t: f64) -> Option<(f64, usize)> {
    let took: Vec<f64> = subs
        .iter()
        .filter(|(_, e)| *e <= t)
        .map(|(b, e)| e - b)
        .collect();
    if took.is_empty() || took.len() == subs.len() {
        return None;
    }
    let typical = took.iter().sum::<f64>() / took.len() as f64;
    let (mut latest, mut queued) = (0.0f64, 0.0);
    for (b, e) in subs {
        if *e <= t {
            continue;
        }
        if *b <= t {
            latest = latest.max(typical - (t - b));
        } else {
            queued += 1.0;
        }
    }
    Some((latest.max(0.0) + queued * typical, took.len()))
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
    for &end in &ends {
        let (r, l) = wait(s, end, effort);
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

/// The table, for `cargo test --lib replay -- --nocapture`.
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

#[test]
fn print_the_table() {
    for effort in [Effort::Gentle, Effort::Balanced, Effort::Eager] {
        print(effort, &table(effort));
    }
}

#[test]
fn print_one_wait() {
    let s = &scenarios()[0];
    for end in [900.0, 1500.0, 2500.0] {
        let (r, l) = wait(s, end, Effort::Balanced);
        eprintln!("end {end}: {r} requests, {l:.1} late");
    }
    let model = Model::build(
        &Signals {
            prior: Some(prior::IMAGE.scaled(1.0)),
            members: 1,
            ..Signals::default()
        },
        1.0,
    );
    for age in [
        0.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1200.0, 1800.0, 2400.0, 3000.0,
    ] {
        let d = plan(Inputs {
            model: &model,
            age: Duration::from_secs_f64(age),
            floor: Duration::from_secs_f64(FLOOR),
            max: Duration::from_secs_f64(MAX),
            effort: Effort::Balanced,
            remaining: Duration::from_secs(100_000),
            urgency: Urgency::None,
            jitter: None,
        });
        eprintln!(
            "age {age}: hazard {:.2e} delay {:.1}",
            model.hazard(age),
            d.as_secs_f64()
        );
    }
}
