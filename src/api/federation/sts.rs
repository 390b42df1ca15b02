//! The second keyless mode: IAM v5 STS `AssumeAgencyWithOIDC`.

use serde_json::{Value, json};

use super::{
    ASSUME_WITH_OIDC_PATH, AgencyConfig, ExchangeError, IdpConfig, Temporary, issued, post,
};
use crate::api::credentials::Secret;

/// `AssumeAgencyWithOIDC`: one unsigned request, the body the Python SDK's
/// `OidcStsAccessor` sends.
pub(super) async fn assume_agency(
    http: &reqwest::Client,
    config: &IdpConfig,
    agency: &AgencyConfig,
    id_token: Secret,
) -> Result<Temporary, ExchangeError> {
    let step = "AssumeAgencyWithOIDC request for temporary credentials";
    let (status, _, answer) = post(
        http,
        config,
        step,
        ASSUME_WITH_OIDC_PATH,
        None,
        &assume_agency_body(&config.idp_id, agency, id_token.expose()),
        &[id_token.expose()],
    )
    .await?;
    // No IAM token in this flow; the empty value is never sent or shown.
    issued(config, step, status, &answer, id_token, Secret::new(""))
}

/// The body of `AssumeAgencyWithOIDC`, field for field the Python SDK's:
/// `policy` and `policy_ids` only when given.
pub(crate) fn assume_agency_body(
    provider_urn: &str,
    agency: &AgencyConfig,
    id_token: &str,
) -> Value {
    let mut body = json!({
        "provider_urn": provider_urn,
        "agency_urn": agency.agency_urn,
        "agency_session_name": agency.session_name,
        "id_token": id_token,
        "duration_seconds": agency.duration_seconds,
    });
    if let Some(policy) = &agency.policy {
        body["policy"] = Value::String(policy.clone());
    }
    if !agency.policy_ids.is_empty() {
        body["policy_ids"] = json!(agency.policy_ids);
    }
    body
}
