//! Reading what IAM or STS answered: the credentials it issued, or its
//! error code and message (server text: bounded, printable, masked).

use serde_json::Value;

use super::{ExchangeError, IdpConfig, Temporary, malformed};
use crate::api::credentials::{Credentials, Secret};

/// Reads temporary credentials: `credential.{access, secret,
/// securitytoken, expires_at}` (IAM) or `credentials.{access_key_id,
/// secret_access_key, security_token, expiration}` (STS), every one
/// required, under the names the official Python SDK accepts.
pub(crate) fn parse_credential(
    body: &[u8],
) -> Result<(Credentials, jiff::Timestamp), &'static str> {
    let json: Value = serde_json::from_slice(body).map_err(|_| "the answer is not JSON")?;
    let credential = json
        .get("credential")
        .or_else(|| json.get("credentials"))
        .ok_or("the answer has no `credential`")?;
    // Each field under any of its names; two that disagree are refused.
    let field = |names: &[&str]| -> Result<Option<&str>, ()> {
        let mut found: Option<&str> = None;
        for name in names {
            let Some(value) = credential.get(*name) else {
                continue;
            };
            let value = value
                .as_str()
                .map(str::trim)
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or(())?;
            if found.is_some_and(|f| f != value) {
                return Err(());
            }
            found = Some(value);
        }
        Ok(found)
    };
    let required = |names: &[&str], why: &'static str| field(names).ok().flatten().ok_or(why);
    let access = required(
        &["access", "accessKeyId", "access_key_id"],
        "`credential.access` is missing or not text",
    )?;
    let secret = required(
        &["secret", "secretAccessKey", "secret_access_key"],
        "`credential.secret` is missing or not text",
    )?;
    let token = required(
        &["securitytoken", "securityToken", "security_token"],
        "`credential.securitytoken` is missing or not text",
    )?;
    let expires_at: jiff::Timestamp = required(
        &["expires_at", "expiration"],
        "`credential.expires_at` is missing",
    )?
    .parse()
    .map_err(|_| "`credential.expires_at` is not an RFC 3339 time")?;
    Ok((
        Credentials::AkSk {
            access_key: access.to_owned(),
            secret_key: Secret::new(secret),
            security_token: Some(Secret::new(token)),
        },
        expires_at,
    ))
}

/// The temporary credentials of a successful last step, provided they have
/// not already expired by this machine's clock.
pub(super) fn issued(
    config: &IdpConfig,
    step: &'static str,
    status: u16,
    answer: &[u8],
    id_token: Secret,
    iam_token: Secret,
) -> Result<Temporary, ExchangeError> {
    let obtained_at = jiff::Timestamp::now();
    let (credentials, expires_at) =
        parse_credential(answer).map_err(|why| malformed(config, step, status, why, answer))?;
    if expires_at <= obtained_at {
        return Err(malformed(
            config,
            step,
            status,
            "the credentials it issued have already expired (or this machine's clock is wrong)",
            answer,
        ));
    }
    Ok(Temporary {
        credentials,
        expires_at,
        obtained_at,
        id_token,
        iam_token,
    })
}

/// IAM's error code and message, in either of the shapes it uses
/// (`{"error":{"code","message"}}` or the gateway's
/// `{"error_code","error_msg"}`), shortened and printable, with the
/// tokens the request carried masked (IAM, or a proxy, may echo them).
pub(super) fn iam_error(body: &[u8], secrets: &[&str]) -> (Option<String>, String) {
    let mask = |mut text: String| {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            text = text.replace(secret, crate::redact::MASK);
        }
        text
    };
    let Some(json) = serde_json::from_slice::<Value>(body).ok() else {
        return (None, "no error details".to_owned());
    };
    let error = json.get("error");
    // Masked before shortening, so a token cut in half is masked too.
    let text = |v: Option<&Value>| {
        v.and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .map(|s| {
            mask(s)
                .chars()
                .filter(|c| !c.is_control())
                .take(300)
                .collect::<String>()
        })
    };
    let code = text(json.get("error_code")).or_else(|| text(error.and_then(|e| e.get("code"))));
    let message = text(json.get("error_msg"))
        .or_else(|| text(error.and_then(|e| e.get("message"))))
        .unwrap_or_else(|| "no error message".to_owned());
    (code, message)
}
