//! Injected faults: throttling, server errors, slow, malformed, reset and
//! hanging responses. Each request's fate is a pure function of the seed and
//! the request's sequence number, so a run is reproducible.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::endpoint::Endpoint;

/// Fault rates (each 0.0..=1.0, the probability per request) and settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Faults {
    /// Seeds every decision.
    pub seed: u64,
    /// 429 `APIG.0308` throttling.
    pub throttle: f64,
    /// Sent as `Retry-After` (whole seconds, rounded up) on 429 answers.
    pub retry_after: Option<Duration>,
    /// 500 or 503 with an error body.
    pub server_error: f64,
    /// A 200 whose JSON body is truncated or not JSON at all.
    pub malformed: f64,
    /// The connection is reset without any response.
    pub reset: f64,
    /// Answers delayed by `delay` (combined with any other outcome).
    pub slow: Option<Slow>,
    /// The request is accepted and never answered.
    pub hang: f64,
    /// The gateway's per-user rate policy, per API: shared by every client
    /// of the simulator, so several processes contend for it.
    pub quota: Option<Quota>,
    /// Per-user rate policies of single APIs, in place of `quota` for them
    /// (a quota on one API only: leave `quota` unset).
    pub api_quotas: BTreeMap<Endpoint, Quota>,
    /// Requests answered before every further one is refused with
    /// `Daily quota exhausted`.
    pub daily_quota: Option<u64>,
}

/// A rate policy: at most `limit` requests to one API within any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quota {
    pub limit: u32,
    pub window: Duration,
}

impl Quota {
    /// The gateway's answer once the policy is exceeded, naming it as the
    /// gateway does.
    pub fn body(&self) -> serde_json::Value {
        let secs = self.window.as_secs().max(1);
        let window = if secs.is_multiple_of(60) {
            format!("{} minute", secs / 60)
        } else {
            format!("{secs} second")
        };
        serde_json::json!({
            "error_code": "APIG.0308",
            "error_msg": format!(
                "The throttling threshold has been reached: policy user over ratelimit,limit:{},time:{window}",
                self.limit
            ),
        })
    }
}

/// The gateway's answer once the daily quota is spent.
pub fn daily_quota_body() -> serde_json::Value {
    serde_json::json!({
        "error_code": "APIG.0308",
        "error_msg": "Daily quota exhausted",
    })
}

/// Slow responses.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Slow {
    pub rate: f64,
    pub delay: Duration,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Wait this long before acting.
    pub delay: Option<Duration>,
    pub action: Action,
}

/// The outcome of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Answer normally.
    Normal,
    /// Answer normally but spoil a successful body.
    Malformed(Malformation),
    /// 429 `APIG.0308`.
    Throttle,
    /// 500 or 503 with an error body.
    ServerError(u16),
    /// Close the connection without answering.
    Reset,
    /// Never answer.
    Hang,
}

/// How a body is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformation {
    /// The JSON is cut in the middle.
    Truncated,
    /// An HTML error page, still labelled `application/json`.
    NotJson,
}

impl Faults {
    /// The rate policy `endpoint` is under, if any: its own, else the one
    /// of every API.
    pub fn quota_of(&self, endpoint: Endpoint) -> Option<Quota> {
        self.api_quotas.get(&endpoint).copied().or(self.quota)
    }

    /// Checks that every rate is a probability.
    pub fn validate(&self) -> Result<(), String> {
        let mut rates = vec![
            ("throttle", self.throttle),
            ("server_error", self.server_error),
            ("malformed", self.malformed),
            ("reset", self.reset),
            ("hang", self.hang),
        ];
        if let Some(slow) = &self.slow {
            rates.push(("slow.rate", slow.rate));
        }
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!(
                    "{name} is {rate}: rates are probabilities, use a number from 0 to 1"
                ));
            }
        }
        Ok(())
    }

    /// Whether no fault can ever happen.
    pub fn is_quiet(&self) -> bool {
        self.throttle == 0.0
            && self.server_error == 0.0
            && self.malformed == 0.0
            && self.reset == 0.0
            && self.hang == 0.0
            && self.slow.is_none_or(|slow| slow.rate == 0.0)
            && self.quota.is_none()
            && self.api_quotas.is_empty()
            && self.daily_quota.is_none()
    }

    /// The fate of the `request_number`-th request (0-based). Every fault is
    /// drawn independently in a fixed order, so changing one rate does not
    /// reshuffle the others' decisions.
    pub fn decide(&self, request_number: u64) -> Decision {
        let mut rng = fastrand::Rng::with_seed(mix(self.seed, request_number));
        let mut hit = |rate: f64| rng.f64() < rate;
        let hang = hit(self.hang);
        let reset = hit(self.reset);
        let slow = self
            .slow
            .filter(|slow| hit(slow.rate))
            .map(|slow| slow.delay);
        let throttle = hit(self.throttle);
        let server_error = hit(self.server_error);
        let malformed = hit(self.malformed);
        let coin = rng.bool();
        let action = if hang {
            Action::Hang
        } else if reset {
            Action::Reset
        } else if throttle {
            Action::Throttle
        } else if server_error {
            Action::ServerError(if coin { 500 } else { 503 })
        } else if malformed {
            Action::Malformed(if coin {
                Malformation::Truncated
            } else {
                Malformation::NotJson
            })
        } else {
            Action::Normal
        };
        Decision {
            delay: slow,
            action,
        }
    }
}

/// Combines a seed and a counter into a well-spread RNG seed (SplitMix64).
pub(crate) fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed ^ n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 429 body the API gateway sends when throttling.
pub fn throttle_body() -> serde_json::Value {
    serde_json::json!({
        "error_code": "APIG.0308",
        // A burst limit, unlike the per-user quota (see [`Quota`]): random
        // throttling says nothing about a sustained rate.
        "error_msg": "The throttling threshold has been reached: policy ip over ratelimit,limit:1000,time:1 second",
    })
}

/// The body of an injected 500 or 503.
pub fn server_error_body(status: u16) -> serde_json::Value {
    if status == 503 {
        serde_json::json!({
            "error_code": "WKS.00129901",
            "error_msg": "The service is now unavailable to process the request.",
        })
    } else {
        serde_json::json!({
            "error_code": "WKS.00000500",
            "error_msg": "Internal server error.",
        })
    }
}

/// Spoils a JSON body the way broken proxies and crashing servers do.
pub fn spoil(body: &[u8], how: Malformation) -> Vec<u8> {
    match how {
        // Keep at most half (and at least the opening brace) so the body
        // always stays invalid JSON.
        Malformation::Truncated => body[..(body.len() / 2).max(1).min(body.len())].to_vec(),
        Malformation::NotJson => b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy(seed: u64) -> Faults {
        Faults {
            seed,
            throttle: 0.2,
            retry_after: None,
            server_error: 0.1,
            malformed: 0.1,
            reset: 0.05,
            slow: Some(Slow {
                rate: 0.1,
                delay: Duration::from_millis(5),
            }),
            hang: 0.01,
            quota: None,
            api_quotas: BTreeMap::new(),
            daily_quota: None,
        }
    }

    #[test]
    fn a_quota_of_one_api_replaces_the_common_one_for_it_alone() {
        let q = |limit| Quota {
            limit,
            window: Duration::from_secs(1),
        };
        let one_only = Faults {
            api_quotas: [(Endpoint::ListImageJobs, q(5))].into(),
            ..Faults::default()
        };
        assert!(!one_only.is_quiet());
        assert_eq!(one_only.quota_of(Endpoint::ListImageJobs), Some(q(5)));
        assert_eq!(one_only.quota_of(Endpoint::ShowJob), None);
        let both = Faults {
            quota: Some(q(200)),
            ..one_only
        };
        assert_eq!(both.quota_of(Endpoint::ListImageJobs), Some(q(5)));
        assert_eq!(both.quota_of(Endpoint::ShowJob), Some(q(200)));
        let shown = serde_json::to_value(&both).unwrap();
        assert_eq!(shown["api_quotas"]["ListImageJobs"]["limit"], 5, "{shown}");
    }

    #[test]
    fn a_quota_answers_as_the_gateway_does() {
        let q = Quota {
            limit: 200,
            window: Duration::from_secs(300),
        };
        let message = q.body()["error_msg"].as_str().unwrap().to_owned();
        assert!(message.ends_with("policy user over ratelimit,limit:200,time:5 minute"));
        let q = Quota {
            limit: 5,
            window: Duration::from_secs(1),
        };
        assert!(
            q.body()["error_msg"]
                .as_str()
                .unwrap()
                .ends_with("limit:5,time:1 second")
        );
    }

    #[test]
    fn same_seed_same_decisions() {
        let a: Vec<Decision> = (0..500).map(|n| busy(7).decide(n)).collect();
        let b: Vec<Decision> = (0..500).map(|n| busy(7).decide(n)).collect();
        let c: Vec<Decision> = (0..500).map(|n| busy(8).decide(n)).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn rates_are_roughly_honoured() {
        let faults = busy(1);
        let decisions: Vec<Decision> = (0..10_000).map(|n| faults.decide(n)).collect();
        let throttled = decisions
            .iter()
            .filter(|d| d.action == Action::Throttle)
            .count();
        // P(throttle) = 0.99 * 0.95 * 0.2 ≈ 0.188.
        assert!((1500..2300).contains(&throttled), "{throttled}");
        let slow = decisions.iter().filter(|d| d.delay.is_some()).count();
        assert!((700..1300).contains(&slow), "{slow}");
        assert!(decisions.iter().any(|d| d.action == Action::Hang));
        assert!(decisions.iter().any(|d| d.action == Action::Reset));
        assert!(
            decisions
                .iter()
                .any(|d| d.action == Action::ServerError(500))
        );
        assert!(
            decisions
                .iter()
                .any(|d| d.action == Action::ServerError(503))
        );
        assert!(
            decisions
                .iter()
                .any(|d| d.action == Action::Malformed(Malformation::NotJson))
        );
    }

    #[test]
    fn no_faults_means_normal() {
        let quiet = Faults::default();
        assert!(quiet.is_quiet());
        assert!((0..1000).all(|n| quiet.decide(n)
            == Decision {
                delay: None,
                action: Action::Normal
            }));
    }

    #[test]
    fn certain_faults_always_happen_and_rates_are_checked() {
        let always = Faults {
            throttle: 1.0,
            ..Faults::default()
        };
        assert!((0..100).all(|n| always.decide(n).action == Action::Throttle));
        let bad = Faults {
            reset: 1.5,
            ..Faults::default()
        };
        assert!(bad.validate().unwrap_err().contains("reset"));
        let nan = Faults {
            malformed: f64::NAN,
            ..Faults::default()
        };
        assert!(nan.validate().is_err());
    }

    #[test]
    fn spoiled_bodies_are_not_json() {
        let body = br#"{"count":1,"items":[]}"#;
        for how in [Malformation::Truncated, Malformation::NotJson] {
            let spoiled = spoil(body, how);
            assert!(serde_json::from_slice::<serde_json::Value>(&spoiled).is_err());
        }
        assert_eq!(spoil(b"", Malformation::Truncated), b"");
    }
}
