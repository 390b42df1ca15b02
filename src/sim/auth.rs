//! STAND-IN for the simulator's request authentication.
//!
//! This module only fixes the interface the simulator calls: the real
//! implementation, which verifies `SDK-HMAC-SHA256` (AK/SK) signatures, replaces
//! this file. Until then AK/SK requests are accepted without verification and
//! only a token mismatch is rejected.

use axum::http::{HeaderMap, Method, Uri};

/// How the simulator authenticates requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SimAuth {
    /// Every request is accepted.
    #[default]
    Off,
    /// Requests must be signed with this access key pair (`SDK-HMAC-SHA256`).
    AkSk {
        access_key: String,
        secret_key: String,
    },
    /// Requests must carry this IAM token in `X-Auth-Token`.
    Token(String),
}

/// Why a request was refused: the HTTP status and the JSON error body.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub status: u16,
    pub body: serde_json::Value,
}

/// Checks one request against `auth`.
///
/// Stand-in behaviour: accepts everything except a missing or different
/// `X-Auth-Token` when `auth` is [`SimAuth::Token`].
pub fn check(
    auth: &SimAuth,
    _method: &Method,
    _uri: &Uri,
    headers: &HeaderMap,
    _body: &[u8],
) -> Result<(), Rejection> {
    let SimAuth::Token(expected) = auth else {
        return Ok(());
    };
    let presented = headers
        .get("x-auth-token")
        .and_then(|value| value.to_str().ok());
    if presented == Some(expected.as_str()) {
        return Ok(());
    }
    Err(Rejection {
        status: 401,
        body: serde_json::json!({
            "error_code": "APIG.0307",
            "error_msg": "The token must be updated.",
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(token) = token {
            map.insert("x-auth-token", token.parse().unwrap());
        }
        map
    }

    #[test]
    fn token_must_match() {
        let auth = SimAuth::Token("secret".into());
        let uri: Uri = "/v2/p/workspace-sub-jobs".parse().unwrap();
        assert!(check(&auth, &Method::GET, &uri, &headers(Some("secret")), b"").is_ok());
        let refused = check(&auth, &Method::GET, &uri, &headers(Some("other")), b"").unwrap_err();
        assert_eq!(refused.status, 401);
        assert!(check(&auth, &Method::GET, &uri, &headers(None), b"").is_err());
        assert!(check(&SimAuth::Off, &Method::GET, &uri, &headers(None), b"").is_ok());
    }
}
