//! What the keyless tests share.

use std::process::Output;

/// No secret of the exchange in any output: the ID token (and its claims,
/// base64-encoded), and the simulator's temporary secrets and IAM tokens
/// (recognisable by their prefixes).
pub fn assert_no_secrets(out: &Output, report: &str, token: &str) {
    let all = format!(
        "{}\n{}\n{report}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let payload = token.split('.').nth(1).unwrap();
    for secret in [token, payload, "simsecret", "simsts", "MIIsim"] {
        assert!(!all.contains(secret), "output shows {secret}:\n{all}");
    }
}
