//! Faults: random failures, slow and hanging answers, and quotas.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::fields::{Place, duration, place};
use crate::sim::endpoint::Endpoint;
use crate::sim::error::ScenarioError;
use crate::sim::faults::{Faults, Quota, Slow};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFaults {
    seed: Option<u64>,
    #[serde(default)]
    throttle: f64,
    retry_after: Option<String>,
    #[serde(default)]
    server_error: f64,
    #[serde(default)]
    malformed: f64,
    #[serde(default)]
    reset: f64,
    slow: Option<RawSlow>,
    hang: Option<RawHang>,
    quota: Option<RawQuota>,
    api_quotas: Option<BTreeMap<String, RawQuota>>,
    daily_quota: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuota {
    limit: u32,
    window: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSlow {
    rate: f64,
    delay: String,
}

/// `hang: true` hangs every request; a number is a rate like the others.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawHang {
    Always(bool),
    Rate(f64),
}

pub(super) fn faults(
    origin: &str,
    node: &Spanned<RawFaults>,
    scenario_seed: u64,
) -> Result<Faults, ScenarioError> {
    let raw = &node.value;
    let here = place(origin, node, "faults".into());
    let slow = match &raw.slow {
        Some(slow) => Some(Slow {
            rate: slow.rate,
            delay: duration(&slow.delay, "slow.delay", &here)?,
        }),
        None => None,
    };
    let faults = Faults {
        seed: raw.seed.unwrap_or(scenario_seed),
        throttle: raw.throttle,
        retry_after: match &raw.retry_after {
            Some(text) => Some(duration(text, "retry_after", &here)?),
            None => None,
        },
        server_error: raw.server_error,
        malformed: raw.malformed,
        reset: raw.reset,
        slow,
        hang: match raw.hang {
            Some(RawHang::Always(true)) => 1.0,
            Some(RawHang::Always(false)) | None => 0.0,
            Some(RawHang::Rate(rate)) => rate,
        },
        quota: match &raw.quota {
            Some(q) => Some(quota(q, "quota", &here)?),
            None => None,
        },
        api_quotas: match &raw.api_quotas {
            Some(map) => map
                .iter()
                .map(|(name, q)| {
                    let endpoint = Endpoint::from_name(name).ok_or_else(|| {
                        let names: Vec<&str> = Endpoint::SERVED.iter().map(|e| e.name()).collect();
                        here.error(
                            format!("api_quotas names `{name}`, which is not an API the simulator serves"),
                            format!("use one of {}", names.join(", ")),
                        )
                    })?;
                    Ok((endpoint, quota(q, &format!("api_quotas.{name}"), &here)?))
                })
                .collect::<Result<_, ScenarioError>>()?,
            None => BTreeMap::new(),
        },
        daily_quota: raw.daily_quota,
    };
    faults
        .validate()
        .map_err(|message| here.error(message, ""))?;
    Ok(faults)
}

/// A rate policy; `what` names it in errors.
fn quota(raw: &RawQuota, what: &str, here: &Place<'_>) -> Result<Quota, ScenarioError> {
    if raw.limit == 0 {
        return Err(here.error(
            format!("{what}.limit is 0"),
            "a policy allows at least one request per window",
        ));
    }
    Ok(Quota {
        limit: raw.limit,
        window: duration(&raw.window, &format!("{what}.window"), here)?,
    })
}
