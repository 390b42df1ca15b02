//! How a run stays inside the API's quota, as pure decisions the gate
//! applies: what a throttling answer says ([`Throttle::parse`]), the request
//! rate after throttles and successes ([`RateController`]), and whether one
//! more retry may be spent ([`RetryBudget`]).
//!
//! Every pipeline using one account shares the gateway's per-user limit, so
//! a throttle is evidence that the whole fleet is too fast: the rate drops
//! multiplicatively and climbs back slowly (AIMD, as TCP and the AWS SDKs'
//! adaptive mode), instead of pausing every wait and returning to full speed.

use std::time::Duration;

/// What one throttling answer says about the quota behind it.
#[derive(Debug, Clone, PartialEq)]
pub enum Throttle {
    /// A quota that resets once a day: retrying before the deadline of any
    /// CI job cannot succeed.
    Daily,
    /// A rate policy (`policy user over ratelimit,limit:200,time:5 minute`).
    /// `limit` and `window` are absent when the message does not name them.
    Policy {
        /// `user`, `ip`, `api`… as the gateway names it (lower case, at most
        /// 16 ASCII letters), `None` when not named.
        dimension: Option<String>,
        limit: Option<u32>,
        window: Option<Duration>,
    },
}

impl Throttle {
    /// Reads the gateway's throttling message. The message is untrusted:
    /// anything not recognised exactly leaves its part unknown, and a
    /// message naming nothing is an unspecified policy (slow down, retry).
    pub fn parse(message: &str) -> Throttle {
        let lower = message.to_ascii_lowercase();
        if lower.contains("daily quota") || lower.contains("quota exhausted") {
            return Throttle::Daily;
        }
        let dimension = lower.split_once("policy ").and_then(|(_, rest)| {
            let word: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            (!word.is_empty() && word.len() <= 16).then_some(word)
        });
        let value = |key: &str| {
            lower
                .split(',')
                .find_map(|part| part.trim().strip_prefix(key))
                .map(str::trim)
        };
        let limit = value("limit:").and_then(|v| v.parse::<u32>().ok().filter(|n| *n > 0));
        let window = value("time:").and_then(parse_window);
        Throttle::Policy {
            dimension,
            limit,
            window,
        }
    }

    /// The highest rate (requests per second) the policy allows, when it
    /// names both its limit and its window.
    pub fn ceiling(&self) -> Option<f64> {
        match self {
            Throttle::Policy {
                limit: Some(limit),
                window: Some(window),
                ..
            } => Some(f64::from(*limit) / window.as_secs_f64()),
            _ => None,
        }
    }

    /// How the report names the quota.
    pub fn describe(&self) -> String {
        match self {
            Throttle::Daily => "the daily quota".to_owned(),
            Throttle::Policy {
                dimension,
                limit,
                window,
            } => {
                let mut out = match dimension {
                    Some(d) => format!("the per-{d} rate limit"),
                    None => "a rate limit".to_owned(),
                };
                if let (Some(limit), Some(window)) = (limit, window) {
                    out.push_str(&format!(
                        " ({limit} requests per {})",
                        crate::spec::duration::format(*window)
                    ));
                }
                out
            }
        }
    }
}

/// `5 minute`, `1 second`, `1 hour`, `1 day` (plural and short forms too);
/// `None` for anything else, zero, or windows beyond a day.
fn parse_window(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let unit = match unit.trim().trim_end_matches('s') {
        "second" | "sec" | "" => 1,
        "minute" | "min" | "m" => 60,
        "hour" | "h" => 3600,
        "day" | "d" => 86_400,
        _ => return None,
    };
    let seconds = number.checked_mul(unit).filter(|s| *s <= 86_400)?;
    Some(Duration::from_secs(seconds))
}

/// The request rate of one run: at most `ceiling`, ×[`Self::DECREASE`] on
/// each throttle, +[`Self::RECOVERY`] of the ceiling per success. Counting
/// answers rather than time keeps it deterministic and means a run that
/// sends little also probes little.
#[derive(Debug, Clone, PartialEq)]
pub struct RateController {
    rate: f64,
    ceiling: f64,
}

impl RateController {
    /// The factor a throttle multiplies the rate by (the AWS SDKs' adaptive
    /// mode uses the same).
    pub const DECREASE: f64 = 0.7;
    /// The share of the ceiling one success adds back: fifty successes
    /// climb from nothing to the ceiling, so a throttled fleet probes the
    /// limit again only after a few dozen answers each.
    pub const RECOVERY: f64 = 0.02;
    /// The rate never drops below this (one request every 10 s): the waits'
    /// own deadlines, not the limiter, end a run against a closed API.
    pub const FLOOR: f64 = 0.1;

    /// A controller starting at (and never exceeding) `ceiling` per second.
    pub fn new(ceiling: f64) -> Self {
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
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// The highest rate allowed.
    pub fn ceiling(&self) -> f64 {
        self.ceiling
    }

    /// A throttling answer: slow down, and never again exceed the policy's
    /// own rate when it names one (below it, not at it: other pipelines
    /// share it).
    pub fn throttled(&mut self, throttle: &Throttle) {
        if let Some(policy) = throttle.ceiling() {
            self.ceiling = self.ceiling.min(policy * Self::DECREASE).max(Self::FLOOR);
        }
        self.rate = (self.rate * Self::DECREASE)
            .min(self.ceiling)
            .max(Self::FLOOR);
    }

    /// An answer that was not throttled: climb back towards the ceiling.
    pub fn succeeded(&mut self) {
        self.rate = (self.rate + self.ceiling * Self::RECOVERY).min(self.ceiling);
    }
}

/// Retries shared by every wait of a run, like the AWS SDKs' standard
/// mode: a retry costs tokens, a success refunds one, and an empty bucket
/// means no more retries, so a failing API is not hammered by every wait
/// spending its own error budget. A retry costs two successes (AWS: five),
/// so the budget lasts while at least two answers in three succeed: an API
/// that is merely flaky (a quarter of its answers failing) keeps being
/// retried, one that mostly fails is not.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryBudget {
    tokens: u32,
}

impl RetryBudget {
    pub const CAPACITY: u32 = 500;
    /// What a retry after an error or a throttle costs.
    pub const COST: u32 = 2;
    /// What a successful answer refunds.
    pub const REFUND: u32 = 1;

    pub fn new() -> Self {
        RetryBudget {
            tokens: Self::CAPACITY,
        }
    }

    /// Takes the cost of one retry; `false` (and nothing taken) when the
    /// budget cannot pay it.
    pub fn spend(&mut self) -> bool {
        match self.tokens.checked_sub(Self::COST) {
            Some(left) => {
                self.tokens = left;
                true
            }
            None => false,
        }
    }

    pub fn refund(&mut self) {
        self.tokens = (self.tokens + Self::REFUND).min(Self::CAPACITY);
    }
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dimension: &str, limit: u32, seconds: u64) -> Throttle {
        Throttle::Policy {
            dimension: Some(dimension.into()),
            limit: Some(limit),
            window: Some(Duration::from_secs(seconds)),
        }
    }

    #[test]
    fn reads_the_gateway_messages() {
        assert_eq!(
            Throttle::parse(
                "The throttling threshold has been reached: policy user over ratelimit,limit:200,time:5 minute"
            ),
            policy("user", 200, 300)
        );
        assert_eq!(
            Throttle::parse(
                "The throttling threshold has been reached: policy ip over ratelimit,limit:5,time:1 second"
            ),
            policy("ip", 5, 1)
        );
        assert_eq!(Throttle::parse("Daily quota exhausted"), Throttle::Daily);
        assert_eq!(Throttle::parse("daily QUOTA Exhausted."), Throttle::Daily);
        assert_eq!(
            policy("user", 200, 300).ceiling(),
            Some(200.0 / 300.0),
            "200 per 5 minutes"
        );
    }

    #[test]
    fn unknown_or_hostile_parts_stay_unknown() {
        let unknown = Throttle::Policy {
            dimension: None,
            limit: None,
            window: None,
        };
        assert_eq!(Throttle::parse("Too Many Requests"), unknown);
        assert_eq!(Throttle::parse(""), unknown);
        for bad in [
            "policy user over ratelimit,limit:0,time:1 second",
            "policy user over ratelimit,limit:-5,time:1 second",
            "policy user over ratelimit,limit:99999999999,time:1 second",
            "policy user over ratelimit,limit:200,time:0 second",
            "policy user over ratelimit,limit:200,time:5 fortnight",
            "policy user over ratelimit,limit:200,time:999999999999999999 day",
            "policy user over ratelimit,limit:200,time:400 day",
        ] {
            assert_eq!(Throttle::parse(bad).ceiling(), None, "{bad}");
        }
        let Throttle::Policy { dimension, .. } =
            Throttle::parse("policy aaaaaaaaaaaaaaaaaaaaaaaaa over ratelimit")
        else {
            panic!("not a policy")
        };
        assert_eq!(dimension, None, "an overlong name is not kept");
    }

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
    fn the_retry_budget_runs_dry_and_successes_refill_it() {
        let mut b = RetryBudget::new();
        let mut retries = 0;
        while b.spend() {
            retries += 1;
        }
        assert_eq!(retries, RetryBudget::CAPACITY / RetryBudget::COST);
        b.refund();
        assert!(!b.spend(), "one success does not pay a retry");
        b.refund();
        assert!(b.spend(), "two do");
        for _ in 0..10_000 {
            b.refund();
        }
        assert_eq!(b, RetryBudget::new(), "never above its capacity");
    }
}
