//! How a run stays inside the API's quota, as pure decisions the gate
//! applies: what a throttling answer says ([`Throttle::parse`]) and which
//! requests it concerns ([`Scope`]), the request rate after throttles and
//! successes ([`RateController`]) per API and for the whole process
//! ([`Rates`]), whether one more retry may be spent ([`RetryBudget`]), and
//! whether a throttle makes waiting pointless ([`hard_stop`]).
//!
//! Every pipeline using one account shares the gateway's per-user limit, so
//! a throttle is evidence that the whole fleet is too fast: the rate drops
//! multiplicatively and climbs back slowly (AIMD, as TCP and the AWS SDKs'
//! adaptive mode), instead of pausing every wait and returning to full speed.
//! The gateway counts its per-user policy per API, so a throttle naming it
//! slows only the API that was throttled; a throttle naming a broader policy
//! (per IP) or none slows every API.

use std::collections::HashMap;
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

    /// Which requests the throttle concerns. The gateway's `user` (and
    /// `app`, `api`) policies are bound to each API ("200 requests per
    /// minute per API"); anything else, unnamed included, may count every
    /// request of the account or address, so it slows them all.
    pub fn scope(&self) -> Scope {
        match self {
            Throttle::Policy {
                dimension: Some(d), ..
            } if matches!(d.as_str(), "user" | "app" | "api") => Scope::Api,
            _ => Scope::All,
        }
    }

    /// The throttle as the gateway would word it, rebuilt from what was
    /// parsed (so `parse(canonical())` gives it back), never the server's
    /// own text.
    pub fn canonical(&self) -> String {
        match self {
            Throttle::Daily => "daily quota exhausted".to_owned(),
            Throttle::Policy {
                dimension,
                limit,
                window,
            } => {
                let mut out = match dimension {
                    Some(d) => format!("policy {d} over ratelimit"),
                    None => "over ratelimit".to_owned(),
                };
                if let Some(limit) = limit {
                    out.push_str(&format!(",limit:{limit}"));
                }
                if let Some(window) = window {
                    out.push_str(&format!(",time:{} second", window.as_secs()));
                }
                out
            }
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
                    let requests = if *limit == 1 { "request" } else { "requests" };
                    out.push_str(&format!(
                        " ({limit} {requests} per {})",
                        crate::spec::duration::format(*window)
                    ));
                }
                out
            }
        }
    }
}

/// Which requests a throttle slows (see [`Throttle::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the API that was throttled.
    Api,
    /// Every API.
    All,
}

/// A throttle that makes waiting until the deadline pointless: the quota
/// cannot reset before it, so the wait ends at once instead of sitting to
/// its timeout.
#[derive(Debug, Clone, PartialEq)]
pub struct HardStop {
    /// The quota, as parsed ([`Throttle::describe`]).
    pub quota: String,
    pub why: StopWhy,
}

/// Why a [`HardStop`] is certain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StopWhy {
    /// The daily quota is spent: it resets the next day.
    Daily,
    /// The server asked for no request for `after`, more than the `left`
    /// before the deadline.
    RetryAfter { after: Duration, left: Duration },
    /// A policy over a `window` of a day or more, longer than the `left`
    /// before the deadline: its allowance is spent for that window.
    Window { window: Duration, left: Duration },
}

/// Windows this long or longer are quotas rather than rates: once one is
/// throttled, its allowance is gone for the window (the gateway does not say
/// where in the window it is, so a shorter window may reset at any moment).
pub const QUOTA_WINDOW: Duration = Duration::from_secs(86_400);

/// Whether `throttle` (with the server's `retry_after`, if any) ends a wait
/// that has `left` before its deadline: only when its quota certainly does
/// not reset before the deadline.
pub fn hard_stop(
    throttle: &Throttle,
    retry_after: Option<Duration>,
    left: Duration,
) -> Option<HardStop> {
    let why = match (throttle, retry_after) {
        (Throttle::Daily, _) => StopWhy::Daily,
        (_, Some(after)) if after > left => StopWhy::RetryAfter { after, left },
        (
            Throttle::Policy {
                window: Some(window),
                ..
            },
            _,
        ) if *window >= QUOTA_WINDOW && *window > left => StopWhy::Window {
            window: *window,
            left,
        },
        _ => return None,
    };
    Some(HardStop {
        quota: throttle.describe(),
        why,
    })
}

impl HardStop {
    /// Why the wait ends, for its report: the quota and when it resets.
    pub fn reason(&self) -> String {
        let format = crate::spec::duration::format;
        let quota = &self.quota;
        match self.why {
            StopWhy::Daily => format!(
                "{quota} is exhausted: not retried, it resets only the next day; wait for the reset or raise the account's quota"
            ),
            StopWhy::RetryAfter { after, left } => format!(
                "{quota} was reached and the server asks for no request for {}, longer than the {} left before the deadline: not retried, it resets in {}; run again after that, lower the rate (`--max-rps`) or raise the quota",
                format(after),
                format(left),
                format(after)
            ),
            StopWhy::Window { window, left } => format!(
                "{quota} is exhausted for its window of {}, longer than the {} left before the deadline: not retried, it resets within {}; wait for the reset or raise the quota",
                format(window),
                format(left),
                format(window)
            ),
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
    // Whole words only: trimming a plural `s` off `ms` would read
    // milliseconds as minutes.
    let unit = match unit.trim() {
        "second" | "seconds" | "sec" | "secs" | "s" | "" => 1,
        "minute" | "minutes" | "min" | "mins" | "m" => 60,
        "hour" | "hours" | "h" => 3600,
        "day" | "days" | "d" => 86_400,
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

/// The rates of one run: one controller per API (the gateway's per-user
/// policy counts each API on its own) under one for the whole process
/// (`--max-rps`, which also bounds each API). A request waits for both. A
/// throttle of one API's policy slows that API; a broader one (or one naming
/// no policy) slows the process, so every API.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    cap: f64,
    process: RateController,
    apis: HashMap<String, RateController>,
}

impl Rates {
    /// Every API and the process together at most `cap` per second.
    pub fn new(cap: f64) -> Self {
        Rates {
            cap,
            process: RateController::new(cap),
            apis: HashMap::new(),
        }
    }

    /// The rate `api` may be sent at now (before the process cap).
    pub fn api(&self, api: &str) -> f64 {
        self.apis.get(api).map_or_else(
            || RateController::new(self.cap).rate(),
            RateController::rate,
        )
    }

    /// The rate of all requests together.
    pub fn process(&self) -> f64 {
        self.process.rate()
    }

    /// A throttled answer from `api`: slows what the throttle concerns, and
    /// says what that is.
    pub fn throttled(&mut self, api: &str, throttle: &Throttle) -> Scope {
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
    pub fn succeeded(&mut self, api: &str) {
        if let Some(c) = self.apis.get_mut(api) {
            c.succeeded();
        }
        self.process.succeeded();
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
        for plural in ["5 minutes", "5 mins", "300 seconds", "300 s"] {
            assert_eq!(
                Throttle::parse(&format!(
                    "policy user over ratelimit,limit:200,time:{plural}"
                )),
                policy("user", 200, 300),
                "{plural}"
            );
        }
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
            // Milliseconds are no unit a policy names, not minutes.
            "policy user over ratelimit,limit:200,time:100 ms",
            "policy user over ratelimit,limit:200,time:100 mss",
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

    #[test]
    fn the_canonical_wording_reads_back_the_same() {
        for t in [
            Throttle::Daily,
            policy("user", 200, 300),
            policy("ip", 5, 1),
            policy("user", 10, 86_400),
            Throttle::parse("Too Many Requests"),
            Throttle::parse("policy api over ratelimit"),
            Throttle::parse("over ratelimit,time:1 hour"),
        ] {
            assert_eq!(Throttle::parse(&t.canonical()), t, "{}", t.canonical());
        }
    }

    #[test]
    fn only_a_quota_that_cannot_reset_before_the_deadline_stops() {
        let s = Duration::from_secs;
        let unnamed = Throttle::parse("Too Many Requests");
        // Retry-After: past the deadline stops, within it does not.
        let stop = hard_stop(&unnamed, Some(s(3600)), s(30)).unwrap();
        assert_eq!(
            stop.why,
            StopWhy::RetryAfter {
                after: s(3600),
                left: s(30)
            }
        );
        let reason = stop.reason();
        assert!(reason.contains("a rate limit"), "{reason}");
        assert!(reason.contains("resets in 1h"), "{reason}");
        assert_eq!(hard_stop(&unnamed, Some(s(30)), s(30)), None);
        assert_eq!(hard_stop(&unnamed, Some(s(3)), s(30)), None);
        assert_eq!(hard_stop(&unnamed, None, Duration::ZERO), None);
        // The daily quota always stops.
        let daily = hard_stop(&Throttle::Daily, None, s(7 * 86_400)).unwrap();
        assert_eq!(daily.why, StopWhy::Daily);
        assert!(daily.reason().contains("the daily quota is exhausted"));
        assert!(daily.reason().contains("resets only the next day"));
        // A day's window stops a wait with less than a day left.
        let day = policy("user", 10_000, 86_400);
        let stop = hard_stop(&day, None, s(600)).unwrap();
        assert!(
            stop.reason()
                .contains("per-user rate limit (10000 requests per"),
            "{}",
            stop.reason()
        );
        assert!(
            stop.reason().contains("resets within 24h"),
            "{}",
            stop.reason()
        );
        assert_eq!(hard_stop(&day, None, s(2 * 86_400)), None);
        // Shorter windows may reset at any moment: not a stop.
        for short in [
            policy("user", 200, 300),
            policy("ip", 5, 1),
            policy("user", 1, 3600),
        ] {
            assert_eq!(hard_stop(&short, None, Duration::ZERO), None, "{short:?}");
        }
        // What the server wrote is never repeated, only what was parsed.
        let hostile = Throttle::parse("Daily quota exhausted <script>secret-token</script>");
        let reason = hard_stop(&hostile, None, s(1)).unwrap().reason();
        assert!(
            !reason.contains("secret") && !reason.contains('<'),
            "{reason}"
        );
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
