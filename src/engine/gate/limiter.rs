//! The gate's memory of the API's limits: per API and for the process, the
//! rate, when the next request may go, and the holds throttled answers
//! asked for, with the refusal a hold makes of a request that cannot
//! succeed before its deadline. The gate keeps it behind one lock.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::api::client::{ApiError, ErrorKind};

use crate::engine::rate::{Rates, RetryBudget, Throttle, hard_stop};

/// The run's rates and retry budget, when the next request of each API and
/// of the process may go, and the holds throttled answers asked for.
#[derive(Debug)]
pub(super) struct Limiter {
    pub(super) rates: Rates,
    pub(super) budget: RetryBudget,
    /// Per API, keyed by [`api_of`](super::api_of); `None` is the process.
    pub(super) next: HashMap<Option<String>, Instant>,
    /// How many throttles changed each rate (a request whose slot was given
    /// at an older rate takes a new one), keyed as `next`.
    pub(super) epochs: HashMap<Option<String>, u64>,
    /// What throttled answers asked of later requests, keyed as `next`
    /// (`None`: every API).
    pub(super) holds: HashMap<Option<String>, Hold>,
}

/// What a throttled answer asks of later requests to the APIs it concerns.
#[derive(Debug, Clone)]
pub(super) struct Hold {
    pub(super) throttle: Throttle,
    /// Not before this (`Retry-After`).
    pub(super) until: Option<Instant>,
    pub(super) status: Option<u16>,
    pub(super) code: Option<String>,
}

impl Limiter {
    /// A limiter starting at `rps` requests per second, with nothing held.
    pub(super) fn new(rps: f64) -> Self {
        Limiter {
            rates: Rates::new(rps),
            budget: RetryBudget::new(),
            next: HashMap::new(),
            epochs: HashMap::new(),
            holds: HashMap::new(),
        }
    }

    pub(super) fn interval(&self, key: &Option<String>) -> Duration {
        let rate = match key {
            Some(api) => self.rates.api(api),
            None => self.rates.process(),
        };
        Duration::from_secs_f64(1.0 / rate)
    }

    pub(super) fn epoch(&self, key: &Option<String>) -> u64 {
        self.epochs.get(key).copied().unwrap_or(0)
    }

    /// The holds on `api`: its own and the process's.
    pub(super) fn holds<'a>(&'a self, api: &'a str) -> impl Iterator<Item = &'a Hold> + 'a {
        [self.holds.get(&None), self.holds.get(&Some(api.to_owned()))]
            .into_iter()
            .flatten()
    }

    /// The refusal of a request to `api` that a hold makes pointless before
    /// `not_after` (see [`hard_stop`]), phrased from the parsed throttle.
    pub(super) fn refusal(&self, api: &str, now: Instant, not_after: Instant) -> Option<ApiError> {
        let left = not_after.saturating_duration_since(now);
        self.holds(api).find_map(|hold| {
            let retry_after = hold.until.map(|u| u.saturating_duration_since(now));
            hard_stop(&hold.throttle, retry_after, left)?;
            let answered = hold
                .status
                .map_or_else(|| "refused".to_owned(), |s| format!("answered HTTP {s}"));
            // The parsed throttle last, so that the wait reads it back.
            let mut refusal = ApiError::new(
                ErrorKind::Throttled { retry_after },
                format!(
                    "not sent: an earlier request was {answered}: {}",
                    hold.throttle.canonical()
                ),
            );
            refusal.code = hold.code.clone();
            Some(refusal)
        })
    }

    /// The earliest a request to `api` may go by the holds on it.
    pub(super) fn held_until(&self, api: &str) -> Option<Instant> {
        self.holds(api).filter_map(|h| h.until).max()
    }

    /// Keeps what a throttled answer asks of later requests, when it asks
    /// anything: a pause (`Retry-After`), or none at all before a quota
    /// resets. A hold already without an end is kept.
    pub(super) fn hold(&mut self, key: Option<String>, hold: Hold) {
        let asks =
            hold.until.is_some() || hard_stop(&hold.throttle, None, Duration::ZERO).is_some();
        if !asks {
            return;
        }
        match self.holds.get(&key) {
            Some(old) if hard_stop(&old.throttle, None, Duration::ZERO).is_some() => {}
            Some(old) if old.until > hold.until && hold.until.is_some() => {}
            _ => {
                self.holds.insert(key, hold);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hold refuses a request that could not be answered before its
    /// deadline, in words that the wait reads back as the same stop, and
    /// only for the APIs the throttle concerns.
    #[test]
    fn a_hold_refuses_what_cannot_succeed_in_time_and_the_wait_reads_it_back() {
        let mut limiter = Limiter::new(2.0);
        let now = Instant::now();
        let minute = crate::engine::later(now, Duration::from_secs(60));
        let hold = |message: &str, after: Option<u64>| Hold {
            throttle: Throttle::parse(message),
            until: after.map(|s| crate::engine::later(now, Duration::from_secs(s))),
            status: Some(429),
            code: Some("APIG.0308".into()),
        };
        // A short policy without Retry-After asks nothing of later requests.
        limiter.hold(
            Some("a".into()),
            hold("policy user over ratelimit,limit:5,time:1 second", None),
        );
        assert!(limiter.holds.is_empty());
        // A day's policy on API `a`: `a` is refused, `b` is not.
        limiter.hold(
            Some("a".into()),
            hold("policy user over ratelimit,limit:5,time:1 day", None),
        );
        let refusal = limiter.refusal("a", now, minute).expect("refused");
        assert!(limiter.refusal("b", now, minute).is_none());
        let ApiError {
            kind: ErrorKind::Throttled { retry_after },
            status,
            message,
            ..
        } = &refusal
        else {
            panic!("{refusal:?}")
        };
        assert_eq!(*status, None, "nothing was sent");
        let stop = hard_stop(
            &Throttle::parse(message),
            *retry_after,
            Duration::from_secs(60),
        );
        assert!(stop.is_some(), "{message}");
        // A broad Retry-After of 30 s holds `b` until then, refusing only
        // requests whose deadline comes first.
        limiter.hold(None, hold("Too Many Requests", Some(30)));
        assert!(limiter.refusal("b", now, minute).is_none());
        assert!(limiter.held_until("b").is_some_and(|t| t > now));
        let soon = crate::engine::later(now, Duration::from_secs(10));
        let refusal = limiter.refusal("b", now, soon).expect("refused");
        let ApiError {
            kind: ErrorKind::Throttled { retry_after },
            message,
            ..
        } = &refusal
        else {
            panic!("{refusal:?}")
        };
        assert_eq!(*retry_after, Some(Duration::from_secs(30)));
        let stop = hard_stop(
            &Throttle::parse(message),
            *retry_after,
            Duration::from_secs(10),
        );
        assert!(stop.is_some(), "{message}");
    }
}
