//! The request rate after throttles and successes: one controller per API
//! and one for the process (AIMD; see the parent module).

use std::collections::HashMap;

use super::{Scope, Throttle};

/// The request rate of one run: at most `ceiling`, ×[`Self::DECREASE`] on
/// each throttle, +[`Self::RECOVERY`] of the ceiling per success. Counting
/// answers rather than time keeps it deterministic and means a run that
/// sends little also probes little.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateController {
    rate: f64,
    ceiling: f64,
}

impl RateController {
    /// The factor a throttle multiplies the rate by (the AWS SDKs' adaptive
    /// mode uses the same).
    pub(crate) const DECREASE: f64 = 0.7;
    /// The share of the ceiling one success adds back: fifty successes
    /// climb from nothing to the ceiling, so a throttled fleet probes the
    /// limit again only after a few dozen answers each.
    pub(crate) const RECOVERY: f64 = 0.02;
    /// The rate never drops below this (one request every 10 s): the waits'
    /// own deadlines, not the limiter, end a run against a closed API.
    pub(crate) const FLOOR: f64 = 0.1;

    /// A controller starting at (and never exceeding) `ceiling` per second.
    pub(crate) fn new(ceiling: f64) -> Self {
        let ceiling = if ceiling.is_finite() {
            ceiling.max(Self::FLOOR)
        } else {
            Self::FLOOR
        };
        RateController {
            rate: ceiling,
            ceiling,
        }
    }

    /// The requests per second allowed now.
    pub(crate) fn rate(&self) -> f64 {
        self.rate
    }

    /// The highest rate allowed.
    #[cfg(test)]
    pub(crate) fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// A throttling answer: slow down, and never again exceed the policy's
    /// own rate when it names one (below it, not at it: other pipelines
    /// share it).
    pub(crate) fn throttled(&mut self, throttle: &Throttle) {
        if let Some(policy) = throttle.ceiling() {
            self.ceiling = self.ceiling.min(policy * Self::DECREASE).max(Self::FLOOR);
        }
        self.rate = (self.rate * Self::DECREASE)
            .min(self.ceiling)
            .max(Self::FLOOR);
    }

    /// An answer that was not throttled: climb back towards the ceiling.
    pub(crate) fn succeeded(&mut self) {
        self.rate = (self.rate + self.ceiling * Self::RECOVERY).min(self.ceiling);
    }
}

/// The rates of one run: one controller per API (the gateway's per-user
/// policy counts each API on its own) under one for the whole process
/// (`--max-rps`, which also bounds each API). A request waits for both. A
/// throttle of one API's policy slows that API; a broader one (or one naming
/// no policy) slows the process, so every API.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rates {
    cap: f64,
    process: RateController,
    apis: HashMap<String, RateController>,
}

impl Rates {
    /// Every API and the process together at most `cap` per second.
    pub(crate) fn new(cap: f64) -> Self {
        Rates {
            cap,
            process: RateController::new(cap),
            apis: HashMap::new(),
        }
    }

    /// The rate `api` may be sent at now (before the process cap).
    pub(crate) fn api(&self, api: &str) -> f64 {
        self.apis.get(api).map_or_else(
            || RateController::new(self.cap).rate(),
            RateController::rate,
        )
    }

    /// The rate of all requests together.
    pub(crate) fn process(&self) -> f64 {
        self.process.rate()
    }

    /// A throttled answer from `api`: slows what the throttle concerns, and
    /// says what that is.
    pub(crate) fn throttled(&mut self, api: &str, throttle: &Throttle) -> Scope {
        let scope = throttle.scope();
        match scope {
            Scope::Api => self
                .apis
                .entry(api.to_owned())
                .or_insert_with(|| RateController::new(self.cap))
                .throttled(throttle),
            Scope::All => self.process.throttled(throttle),
        }
        scope
    }

    /// An answer from `api` that was not throttled.
    pub(crate) fn succeeded(&mut self, api: &str) {
        if let Some(c) = self.apis.get_mut(api) {
            c.succeeded();
        }
        self.process.succeeded();
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::policy;
    use super::*;

    #[test]
    fn throttles_drop_the_rate_multiplicatively_and_successes_recover_it() {
        let mut c = RateController::new(2.0);
        let unnamed = Throttle::parse("Too Many Requests");
        c.throttled(&unnamed);
        assert!((c.rate() - 1.4).abs() < 1e-9, "{}", c.rate());
        c.throttled(&unnamed);
        assert!((c.rate() - 0.98).abs() < 1e-9, "{}", c.rate());
        assert_eq!(c.ceiling(), 2.0, "an unnamed policy leaves the ceiling");
        // 0.04 per success: 26 successes climb back and stop at the ceiling.
        for _ in 0..25 {
            c.succeeded();
        }
        assert!((c.rate() - 1.98).abs() < 1e-9, "{}", c.rate());
        c.succeeded();
        c.succeeded();
        assert_eq!(c.rate(), 2.0);
        // Throttles without end never stop the run altogether.
        for _ in 0..100 {
            c.throttled(&unnamed);
        }
        assert_eq!(c.rate(), RateController::FLOOR);
    }

    #[test]
    fn a_named_policy_sets_the_ceiling_below_it() {
        let mut c = RateController::new(10.0);
        c.throttled(&policy("user", 5, 1));
        assert!((c.ceiling() - 3.5).abs() < 1e-9, "{}", c.ceiling());
        assert!((c.rate() - 3.5).abs() < 1e-9, "{}", c.rate());
        for _ in 0..100 {
            c.succeeded();
        }
        assert!(
            (c.rate() - 3.5).abs() < 1e-9,
            "never above the policy again"
        );
        // A looser policy does not raise it.
        c.throttled(&policy("ip", 1000, 1));
        assert!((c.ceiling() - 3.5).abs() < 1e-9);
        // Nor do absurd rates.
        assert_eq!(RateController::new(f64::NAN).rate(), RateController::FLOOR);
    }

    #[test]
    fn a_policy_per_api_slows_that_api_and_a_broader_one_slows_all() {
        let mut r = Rates::new(2.0);
        let per_user = Throttle::parse(
            "The throttling threshold has been reached: policy user over ratelimit,limit:60,time:1 minute",
        );
        let per_ip = Throttle::parse("policy ip over ratelimit,limit:1000,time:1 second");
        let unnamed = Throttle::parse("Too Many Requests");
        // (api throttled, throttle) in, (ListImageJobs, ShowJob, process) out.
        let steps: [(&str, &Throttle, [f64; 3]); 4] = [
            // 60/min: ListImageJobs capped at 0.7 of 1/s, ShowJob untouched.
            ("ListImageJobs", &per_user, [0.7, 2.0, 2.0]),
            ("ListImageJobs", &per_user, [0.49, 2.0, 2.0]),
            // A per-IP policy slows the process, so both APIs (its
            // ceiling, 700/s, is above the cap and changes nothing).
            ("ShowJob", &per_ip, [0.49, 2.0, 1.4]),
            // So does a throttle naming no policy, whichever API it hit.
            ("ListImageJobs", &unnamed, [0.49, 2.0, 0.98]),
        ];
        for (api, throttle, [list, show, process]) in steps {
            r.throttled(api, throttle);
            let got = [r.api("ListImageJobs"), r.api("ShowJob"), r.process()];
            for (g, want) in got.iter().zip([list, show, process]) {
                assert!(
                    (g - want).abs() < 1e-9,
                    "after {throttle:?} on {api}: {got:?}"
                );
            }
        }
        // Answers from ShowJob let the process recover, not ListImageJobs.
        for _ in 0..100 {
            r.succeeded("ShowJob");
        }
        assert_eq!((r.api("ShowJob"), r.process()), (2.0, 2.0));
        assert!((r.api("ListImageJobs") - 0.49).abs() < 1e-9);
        // ListImageJobs climbs back, but never above its policy's 0.7.
        for _ in 0..100 {
            r.succeeded("ListImageJobs");
        }
        assert!((r.api("ListImageJobs") - 0.7).abs() < 1e-9);
        assert_eq!(per_user.scope(), Scope::Api);
        assert_eq!(Throttle::Daily.scope(), Scope::All);
        assert_eq!(
            Throttle::parse("policy domain over ratelimit").scope(),
            Scope::All
        );
    }
}
