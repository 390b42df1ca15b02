//! Cross-checks jobgate's SDK-HMAC-SHA256 signer against the official
//! Huawei Cloud Python SDK: `tests/sdk/sign_cases.py` signs a spread of
//! requests with the SDK's own signer, and every Authorization value must be
//! identical byte for byte.

use crate::common::sdk_python;

use jobgate::api::signer::{self, SigningRequest};
use serde::Deserialize;

/// One request signed by the official SDK.
#[derive(Debug, Deserialize)]
struct Case {
    name: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: String,
    access_key: String,
    secret_key: String,
    /// The SDK's Authorization value.
    authorization: String,
    /// The query string the SDK puts on the URL.
    sent_query: String,
}

#[test]
fn signer_matches_the_official_sdk() {
    let Some(python) = sdk_python::sdk_python("signer_matches_the_official_sdk") else {
        return;
    };
    let output = sdk_python::run_sdk_script(&python, "sign_cases.py", &[]);
    let cases: Vec<Case> = serde_json::from_str(&output).expect("sign_cases.py prints JSON cases");
    assert!(
        cases.len() >= 10,
        "expected at least 10 cases, got {}",
        cases.len()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let req = SigningRequest {
            method: &case.method,
            path: &case.path,
            query: &case.query,
            headers: &case.headers,
            body: case.body.as_bytes(),
        };
        let ours = signer::authorization(&req, &case.access_key, &case.secret_key);
        if ours != case.authorization {
            failures.push(format!(
                "{}:\n  sdk:     {}\n  jobgate: {}\n  canonical request:\n{}",
                case.name,
                case.authorization,
                ours,
                signer::canonical_request(&req)
            ));
        }
        // The SDK sends the query exactly in canonical form; so can we.
        let query = signer::canonical_query(&case.query);
        if query != case.sent_query {
            failures.push(format!(
                "{}: query sent by the SDK {:?}, jobgate's canonical query {:?}",
                case.name, case.sent_query, query
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from the official SDK:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
