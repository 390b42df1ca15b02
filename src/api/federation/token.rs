//! Reading the ID token the CI platform wrote: again at every renewal,
//! bounded, and refused before sending when it has visibly expired.

use serde_json::Value;

use super::{ExchangeError, IdpConfig, MAX_TOKEN_FILE};
use crate::api::credentials::Secret;

/// Reads the ID token: trimmed, non-empty, header-safe, small.
pub(crate) fn read_token_file(config: &IdpConfig) -> Result<Secret, ExchangeError> {
    use std::io::Read;
    let error = |reason: String| ExchangeError::TokenFile {
        path: config.token_file.display().to_string(),
        variable: config.token_variable(),
        idp_id: config.idp_id.clone(),
        reason,
    };
    let file = std::fs::File::open(&config.token_file).map_err(|e| error(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(error(
            "it is larger than 64 KiB, far more than an ID token".into(),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| error("it is not UTF-8 text".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(error("it is empty".into()));
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(error(
            "it holds characters no ID token has (only visible ASCII)".into(),
        ));
    }
    if let Some(expired) = jwt_expired_at(token, jiff::Timestamp::now()) {
        return Err(error(format!(
            "the ID token in it expired at {expired}; the CI platform must write a fresh one (GitHub ID tokens last a few minutes: fetch it right before the run)"
        )));
    }
    Ok(Secret::new(token))
}

/// The `exp` of a JWT if it is already past at `now`. A token that is not
/// a readable JWT is left to IAM to judge.
pub(crate) fn jwt_expired_at(token: &str, now: jiff::Timestamp) -> Option<jiff::Timestamp> {
    use base64::Engine as _;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    let exp = jiff::Timestamp::from_second(claims.get("exp")?.as_i64()?).ok()?;
    (exp <= now).then_some(exp)
}
