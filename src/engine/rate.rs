//! How a run stays inside the API's quota, as pure decisions the gate
//! applies: what a throttling answer says ([`Throttle::parse`]) and which
//! requests it concerns ([`Scope`]), the request rate after throttles and
//! successes ([`RateController`](control::RateController)) per API and for the whole process
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

use std::time::Duration;

mod budget;
mod control;

pub(crate) use budget::RetryBudget;
pub(crate) use control::Rates;

/// What one throttling answer says about the quota behind it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Throttle {
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
    pub(crate) fn parse(message: &str) -> Throttle {
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
    pub(crate) fn ceiling(&self) -> Option<f64> {
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
    pub(crate) fn scope(&self) -> Scope {
        match self {
            Throttle::Policy {
                dimension: Some(d), ..
            } if matches!(d.as_str(), "user" | "app" | "api") => Scope::Api,
            _ => Scope::All,
        }
    }

    /// A policy's parts (`None`: the daily quota), for the two wordings.
    fn policy(&self) -> Option<(&Option<String>, Option<u32>, Option<Duration>)> {
        match self {
            Throttle::Daily => None,
            Throttle::Policy {
                dimension,
                limit,
                window,
            } => Some((dimension, *limit, *window)),
        }
    }

    /// The throttle as the gateway would word it, rebuilt from what was
    /// parsed (so `parse(canonical())` gives it back), never the server's
    /// own text.
    pub(crate) fn canonical(&self) -> String {
        let Some((dimension, limit, window)) = self.policy() else {
            return "daily quota exhausted".to_owned();
        };
        let policy = dimension.as_ref().map(|d| format!("policy {d} "));
        let limit = limit.map(|l| format!(",limit:{l}"));
        let time = window.map(|w| format!(",time:{} second", w.as_secs()));
        [policy, Some("over ratelimit".to_owned()), limit, time]
            .into_iter()
            .flatten()
            .collect()
    }

    /// How the report names the quota.
    pub(crate) fn describe(&self) -> String {
        let Some((dimension, limit, window)) = self.policy() else {
            return "the daily quota".to_owned();
        };
        let name = match dimension {
            Some(d) => format!("the per-{d} rate limit"),
            None => "a rate limit".to_owned(),
        };
        let (Some(limit), Some(window)) = (limit, window) else {
            return name;
        };
        let requests = if limit == 1 { "request" } else { "requests" };
        let per = crate::spec::duration::format(window);
        format!("{name} ({limit} {requests} per {per})")
    }
}

/// Which requests a throttle slows (see [`Throttle::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Only the API that was throttled.
    Api,
    /// Every API.
    All,
}

/// A throttle that makes waiting until the deadline pointless: the quota
/// cannot reset before it, so the wait ends at once instead of sitting to
/// its timeout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HardStop {
    /// The quota, as parsed ([`Throttle::describe`]).
    pub(crate) quota: String,
    pub(crate) why: StopWhy,
}

/// Why a [`HardStop`] is certain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StopWhy {
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
pub(crate) const QUOTA_WINDOW: Duration = Duration::from_secs(86_400);

/// Whether `throttle` (with the server's `retry_after`, if any) ends a wait
/// that has `left` before its deadline: only when its quota certainly does
/// not reset before the deadline.
pub(crate) fn hard_stop(
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
    pub(crate) fn reason(&self) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn policy(dimension: &str, limit: u32, seconds: u64) -> Throttle {
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
}
