//! How long a job will take in all: a distribution of its total duration,
//! built from every signal jobgate has, which the schedule reads as a
//! hazard rate at the job's age (see [`super::schedule`]).
//!
//! The distribution is a mixture of log-normal parts, each with a weight:
//! - a *vague* part (median 2 minutes, spread 2.5: from seconds to days),
//!   always present, so no signal can rule out a job ending now or running
//!   much longer than anything seen;
//! - a *quick* part (median 10 seconds) while nothing is known about the
//!   job type or the job itself: jobs that fail, fail fast, so a job
//!   seconds old is watched at the floor whatever its kind usually takes;
//! - a default [prior] per job kind, for when nothing else is known;
//! - past durations of the same job type, from the API's lists and from
//!   jobgate's own [local history](store), fitted together;
//! - [progress] (desktops' `process`, or for jobs without it the
//!   [sub-jobs](subjobs) already finished), which says when this very job
//!   ends and so outweighs the rest.
//!
//! A fleet ends with its slowest member: a part that describes one member
//! (one server, one desktop) is raised to the fleet's size (the maximum of
//! N members), never averaged.

pub(crate) mod lognormal;
pub(crate) mod planner;
pub(crate) mod prior;
pub(crate) mod progress;
pub(crate) mod scale;
pub(crate) mod store;
pub(crate) mod subjobs;
pub(crate) mod urgency;

use lognormal::LogNormal;

use crate::report::model::{Estimate, EstimateBasis};

/// One part of the mixture: a distribution of one member's duration, and
/// how many members must all end (1 for a single job).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Part {
    weight: f64,
    dist: LogNormal,
    members: u32,
}

impl Part {
    /// Survival and density of the slowest of `members`: with `F` one
    /// member's distribution, the slowest has `F^N`.
    fn sf_pdf(&self, t: f64) -> (f64, f64) {
        let (s, f) = (self.dist.sf(t), self.dist.pdf(t));
        if self.members <= 1 {
            return (s, f);
        }
        let n = f64::from(self.members);
        // 1 - (1 - s)^n without cancellation when s is tiny.
        let log_cdf = (-s).ln_1p();
        let sf = -(n * log_cdf).exp_m1();
        let pdf = n * ((n - 1.0) * log_cdf).exp() * f;
        (sf, pdf)
    }
}

/// A job's total duration, as far as jobgate can tell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Model {
    parts: Vec<Part>,
    /// Which signals went into it, strongest first.
    signals: Vec<EstimateBasis>,
    /// Past durations it rests on (API lists and local history).
    samples: usize,
    /// The job type the past durations are of.
    job_type: Option<String>,
    /// The members the end waits for (1: a single job).
    members: u32,
    /// Nothing says the job is not one of those that end within seconds.
    quick: bool,
}

/// Everything known about one job, for [`Model::build`]. Durations are
/// seconds of the job's own time (divided by the time scale already where
/// they are built-in constants).
#[derive(Debug, Clone, Default)]
pub(crate) struct Signals {
    /// The default prior for the job's kind (`None`: the vague part only).
    pub(crate) prior: Option<LogNormal>,
    /// How many members the job waits for; the prior and past durations
    /// describe one member when this is more than 1.
    pub(crate) members: u32,
    /// The job type past durations are of.
    pub(crate) job_type: Option<String>,
    /// Past durations from the API's lists.
    pub(crate) api_history: Vec<f64>,
    /// Past durations jobgate observed itself in earlier runs.
    pub(crate) local_history: Vec<f64>,
    /// Seconds until the slowest member ends, by its rate of progress.
    pub(crate) progress_remaining: Option<f64>,
    /// Seconds until the last sub-job ends, from the sub-jobs already
    /// finished, and how many finished.
    pub(crate) sub_jobs_remaining: Option<(f64, usize)>,
    /// How long the job has run, in seconds.
    pub(crate) age: f64,
}

/// The vague part: a job may end within seconds or run for days.
pub(crate) const VAGUE_MEDIAN_SECS: f64 = 120.0;
const VAGUE_SIGMA: f64 = 2.5;

/// The quick part: many jobs fail or finish within seconds (a bad
/// parameter, nothing to do), whatever their kind usually takes.
pub(crate) const QUICK_MEDIAN_SECS: f64 = 10.0;
const QUICK_SIGMA: f64 = 1.0;
/// The quick part's share of what the guesses weigh, when there is no
/// evidence about the job type or the job itself.
const QUICK_SHARE: f64 = 0.67;

/// The spread past durations of one job type are assumed to have before
/// they show their own (jobs of one type seldom vary by more than a
/// quarter), and how many samples that assumption counts as.
const TYPE_SIGMA: f64 = 0.25;
const TYPE_SIGMA_WEIGHT: f64 = 1.0;

impl Model {
    /// Combines the signals. `scale` divides the vague part's median as it
    /// divides every built-in time constant.
    pub(crate) fn build(signals: &Signals, scale: f64) -> Model {
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let members = signals.members.max(1);
        let vague = LogNormal::new(VAGUE_MEDIAN_SECS / scale, VAGUE_SIGMA)
            .expect("a positive constant median");
        let prior = signals.prior;
        let mut used = Vec::new();
        // (weight, distribution, members) before normalisation.
        let mut parts: Vec<Part> = Vec::new();
        let mut rest = 1.0;

        // This job's own progress outweighs everything about other jobs.
        let own = signals
            .progress_remaining
            .map(|r| (r, 0.2, EstimateBasis::Progress))
            .or_else(|| {
                signals.sub_jobs_remaining.map(|(r, finished)| {
                    // Fewer finished sub-jobs, wider spread.
                    let sigma = 0.1 + 0.5 / (finished.max(1) as f64).sqrt();
                    (r, sigma, EstimateBasis::SubJobs)
                })
            });
        if let Some((remaining, sigma, basis)) = own
            && let Some(d) = LogNormal::new(signals.age.max(0.0) + remaining.max(0.0), sigma)
        {
            parts.push(Part {
                weight: 0.8,
                dist: d,
                members: 1,
            });
            rest -= 0.8;
            used.push(basis);
        }

        let past: Vec<f64> = signals
            .api_history
            .iter()
            .chain(&signals.local_history)
            .copied()
            .filter(|s| s.is_finite() && *s > 0.0)
            .collect();
        if let Some(fit) = LogNormal::fit(&past, TYPE_SIGMA, TYPE_SIGMA_WEIGHT) {
            let n = past.len() as f64;
            // Three past jobs already outweigh the guesses; the vague part
            // keeps a few percent however many there are.
            let share = 0.98 * n / (n + 0.5);
            parts.push(Part {
                weight: rest * share,
                dist: fit,
                members,
            });
            rest *= 1.0 - share;
            if !signals.api_history.is_empty() {
                used.push(EstimateBasis::History);
            }
            if !signals.local_history.is_empty() {
                used.push(EstimateBasis::LocalHistory);
            }
        }
        if let Some(p) = prior {
            parts.push(Part {
                weight: rest * 0.7,
                dist: p,
                members,
            });
            rest *= 0.3;
            used.push(EstimateBasis::Prior);
        }
        // Evidence about this job type or this very job says how soon it
        // can end: the quick part only stands in for it.
        let quick_share = if past.is_empty() && own.is_none() {
            QUICK_SHARE
        } else {
            0.0
        };
        let quick = LogNormal::new(QUICK_MEDIAN_SECS / scale, QUICK_SIGMA)
            .expect("a positive constant median");
        parts.push(Part {
            weight: rest * quick_share,
            dist: quick,
            members: 1,
        });
        parts.push(Part {
            weight: rest * (1.0 - quick_share),
            dist: vague,
            members: 1,
        });
        if used.is_empty() {
            used.push(EstimateBasis::Prior);
        }
        Model {
            parts,
            signals: used,
            samples: past.len(),
            job_type: signals.job_type.clone(),
            members,
            quick: quick_share > 0.0,
        }
    }

    /// Whether nothing known rules out an end within seconds: no past
    /// durations of the job type, no progress, no finished sub-jobs.
    pub(crate) fn may_be_quick(&self) -> bool {
        self.quick
    }

    /// The probability of the job lasting longer than `t` seconds.
    pub(crate) fn sf(&self, t: f64) -> f64 {
        self.parts.iter().map(|p| p.weight * p.sf_pdf(t).0).sum()
    }

    /// The rate at which a job of age `t` seconds ends, per second: the
    /// density of ending at `t` given it has not ended before.
    pub(crate) fn hazard(&self, t: f64) -> f64 {
        let (mut s, mut f) = (0.0, 0.0);
        for p in &self.parts {
            let (ps, pf) = p.sf_pdf(t);
            s += p.weight * ps;
            f += p.weight * pf;
        }
        if s <= f64::MIN_POSITIVE || !f.is_finite() {
            // Beyond what the model can say: no hazard, the bounds rule.
            return 0.0;
        }
        (f / s).max(0.0)
    }

    /// The duration a share `q` of such jobs stays under, in seconds.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let target = 1.0 - q.clamp(1e-6, 1.0 - 1e-6);
        let (mut lo, mut hi) = (1e-3f64.ln(), 1e9f64.ln());
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if self.sf(mid.exp()) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (0.5 * (lo + hi)).exp()
    }

    /// How many members the end waits for.
    #[cfg(test)]
    pub(crate) fn members(&self) -> u32 {
        self.members
    }

    /// The signals used, strongest first.
    #[cfg(test)]
    pub(crate) fn signals(&self) -> &[EstimateBasis] {
        &self.signals
    }

    /// The model as the report shows it: durations on the run's own clock.
    pub(crate) fn report(&self) -> Estimate {
        let ms = |q: f64| (self.quantile(q) * 1000.0).round().min(u64::MAX as f64) as u64;
        Estimate {
            basis: self.signals[0],
            signals: self.signals.clone(),
            job_type: self.job_type.clone(),
            samples: self.samples as u64,
            members: (self.members > 1).then_some(u64::from(self.members)),
            median_ms: ms(0.5),
            p90_ms: ms(0.9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Signals {
        Signals {
            prior: LogNormal::new(1200.0, 0.6),
            members: 1,
            ..Signals::default()
        }
    }

    #[test]
    fn with_nothing_known_the_prior_and_the_vague_part_speak() {
        let m = Model::build(&Signals::default(), 1.0);
        assert_eq!(m.signals(), [EstimateBasis::Prior]);
        let median = m.quantile(0.5);
        assert!(
            median > QUICK_MEDIAN_SECS && median < VAGUE_MEDIAN_SECS,
            "{median}"
        );
        let m = Model::build(&image(), 1.0);
        let median = m.quantile(0.5);
        assert!(median > 300.0 && median < 1200.0, "{median}");
    }

    #[test]
    fn past_durations_pull_the_estimate_to_them() {
        let s = Signals {
            api_history: vec![290.0, 300.0, 310.0, 300.0, 305.0, 295.0],
            local_history: vec![300.0, 302.0],
            job_type: Some("CREATE_SERVER_IMAGE".into()),
            ..image()
        };
        let m = Model::build(&s, 1.0);
        let median = m.quantile(0.5);
        assert!((median - 300.0).abs() < 30.0, "{median}");
        assert_eq!(
            m.signals(),
            [
                EstimateBasis::History,
                EstimateBasis::LocalHistory,
                EstimateBasis::Prior
            ]
        );
        let r = m.report();
        assert_eq!(r.samples, 8);
        assert_eq!(r.basis, EstimateBasis::History);
        // The hazard peaks where past jobs ended, not an hour later.
        assert!(
            m.hazard(300.0) > 10.0 * m.hazard(3000.0),
            "{} vs {}",
            m.hazard(300.0),
            m.hazard(3000.0)
        );
    }

    #[test]
    fn progress_outweighs_the_rest() {
        let s = Signals {
            progress_remaining: Some(60.0),
            age: 120.0,
            ..image()
        };
        let m = Model::build(&s, 1.0);
        assert_eq!(m.signals()[0], EstimateBasis::Progress);
        let median = m.quantile(0.5);
        assert!((median - 180.0).abs() < 20.0, "{median}");
    }

    #[test]
    fn a_fleet_ends_with_its_slowest_member() {
        let one = Model::build(
            &Signals {
                prior: LogNormal::new(300.0, 0.5),
                members: 1,
                ..Signals::default()
            },
            1.0,
        );
        let many = Model::build(
            &Signals {
                prior: LogNormal::new(300.0, 0.5),
                members: 1000,
                ..Signals::default()
            },
            1.0,
        );
        // The slowest of 1,000 ends far later than the typical one.
        assert!(many.quantile(0.5) > 2.0 * one.quantile(0.5));
        assert_eq!(many.members(), 1000);
    }

    #[test]
    fn hazard_is_finite_and_non_negative_everywhere() {
        let m = Model::build(&image(), 1.0);
        for t in [0.0, 1e-3, 1.0, 60.0, 3600.0, 86_400.0 * 7.0, 1e12] {
            let h = m.hazard(t);
            assert!(h.is_finite() && h >= 0.0, "{t}: {h}");
        }
    }

    #[test]
    fn the_time_scale_compresses_the_vague_part() {
        let real = Model::build(&Signals::default(), 1.0);
        let fast = Model::build(&Signals::default(), 60.0);
        assert!((real.quantile(0.5) / fast.quantile(0.5) - 60.0).abs() < 0.01);
        assert!((real.hazard(600.0) / fast.hazard(10.0) - 1.0 / 60.0).abs() < 1e-6);
    }
}
