//! The simulated IAM token exchange.

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::fields::{duration, place};
use crate::sim::error::ScenarioError;
use crate::sim::iam::IamConfig;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIam {
    idp_id: String,
    audience: Option<String>,
    lifetime: Option<String>,
    claimed_lifetime: Option<String>,
}

pub(super) fn iam(origin: &str, node: &Spanned<RawIam>) -> Result<IamConfig, ScenarioError> {
    let here = place(origin, node, "iam".to_owned());
    let lifetime = match &node.value.lifetime {
        Some(text) => duration(text, "lifetime", &here)?,
        None => Duration::from_secs(3600),
    };
    if node.value.idp_id.trim().is_empty() {
        return Err(here.error(
            "idp_id is empty",
            "name the identity provider clients send as X-Idp-Id",
        ));
    }
    let claimed_lifetime = match &node.value.claimed_lifetime {
        Some(text) => Some(duration(text, "claimed_lifetime", &here)?),
        None => None,
    };
    Ok(IamConfig {
        idp_id: node.value.idp_id.clone(),
        audience: node.value.audience.clone(),
        lifetime,
        claimed_lifetime,
    })
}
