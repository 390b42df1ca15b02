//! SDK-HMAC-SHA256 request signing, byte for byte as the official
//! `huaweicloudsdkcore` (3.1.219) `signer/signer.py` computes it.
//!
//! Everything here is pure: the caller supplies the request (including the
//! `Host` and `X-Sdk-Date` headers) and gets strings back, so the same code
//! serves the HTTP client (signing) and the simulator (verifying).

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::{Digest, Sha256};

/// The algorithm name that starts the string to sign and the
/// `Authorization` value.
pub(crate) const ALGORITHM: &str = "SDK-HMAC-SHA256";

/// The header that carries the signing time, `YYYYMMDDTHHMMSSZ` in UTC.
pub(crate) const HEADER_SDK_DATE: &str = "X-Sdk-Date";

/// A header that, when present on a request with a body, replaces the body
/// hash in the canonical request (the SDK sets it to `UNSIGNED-PAYLOAD` for
/// non-JSON uploads).
pub(crate) const HEADER_CONTENT_SHA256: &str = "X-Sdk-Content-Sha256";

/// SHA-256 of the empty string: the payload hash of every bodiless request.
const EMPTY_HASH: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What Python's `urllib.parse.quote(s, safe='~')` leaves alone: the RFC 3986
/// unreserved characters. Everything else, `/` and `,` included, is encoded
/// as `%XX` (upper-case hex) over the UTF-8 bytes.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request as the signer sees it.
///
/// Header names are taken as given (any case); query pairs and the path are
/// *unencoded* (the signer does the encoding); the body is the exact bytes
/// sent (empty for a GET).
#[derive(Debug, Clone, Copy)]
pub struct SigningRequest<'a> {
    /// HTTP method, any case (upper-cased for signing).
    pub method: &'a str,
    /// Unencoded path, e.g. `/v1/{project}/image-server-jobs/{id}`.
    pub path: &'a str,
    /// Unencoded query pairs, in any order; repeated keys allowed.
    pub query: &'a [(String, String)],
    /// Every header that is sent, including `Host` and `X-Sdk-Date`.
    pub headers: &'a [(String, String)],
    /// The exact body bytes.
    pub body: &'a [u8],
}

/// Percent-encodes one path segment, query name or query value as the SDK's
/// `_url_encode` does.
pub(crate) fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// The canonical URI: every `/`-separated segment encoded on its own, and a
/// trailing `/` added when missing (the SDK always signs `.../vpcs/` for
/// `.../vpcs`).
pub(crate) fn canonical_uri(path: &str) -> String {
    let mut uri = path
        .split('/')
        .map(url_encode)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// The canonical query string: pairs sorted by name then value (on the raw,
/// unencoded text, as the SDK sorts its tuples), each encoded, joined by `&`.
///
/// Sending the query in exactly this form (as the SDK does) guarantees that
/// what the gateway decodes is what was signed.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> = query.iter().collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The names of the headers that are signed: every header whose name has no
/// `_`, lower-cased and sorted (the gateway drops `_` headers, so signing
/// them would break verification).
fn signed_header_names(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> = headers
        .iter()
        .filter(|(name, _)| !name.contains('_'))
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    names.sort();
    names
}

/// The `SignedHeaders` list, e.g. `content-type;host;x-sdk-date`.
pub(crate) fn signed_headers(req: &SigningRequest) -> String {
    signed_header_names(req.headers).join(";")
}

/// The value of the last header named `name` (case-insensitive), trimmed.
///
/// The SDK builds a lower-cased map of the headers, so a later duplicate
/// overrides an earlier one; mirroring that keeps signatures identical even
/// for odd inputs.
fn header_value<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// Finds a header by name, ignoring case (the first match, as the SDK's
/// `_get_header_ignore_case` does).
fn first_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The hash line of the canonical request.
fn payload_hash(req: &SigningRequest) -> String {
    if req.body.is_empty() {
        return EMPTY_HASH.to_owned();
    }
    match first_header(req.headers, HEADER_CONTENT_SHA256) {
        Some(v) if !v.is_empty() => v.to_owned(),
        _ => sha256_hex(req.body),
    }
}

/// The canonical request: method, URI, query, header lines, signed header
/// list and payload hash, joined by `\n`.
pub fn canonical_request(req: &SigningRequest) -> String {
    let names = signed_header_names(req.headers);
    let mut canonical_headers = String::new();
    for name in &names {
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(header_value(req.headers, name).unwrap_or_default());
        canonical_headers.push('\n');
    }
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        names.join(";"),
        payload_hash(req),
    )
}

/// The string to sign: algorithm, `X-Sdk-Date` value and the hex SHA-256 of
/// the canonical request, joined by `\n`.
pub(crate) fn string_to_sign(canonical_request: &str, sdk_date: &str) -> String {
    format!(
        "{ALGORITHM}\n{sdk_date}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// HMAC-SHA256 of `string_to_sign` keyed with the secret key, as a MAC
/// ready to finalize or verify in constant time.
pub(crate) fn mac(secret_key: &str, string_to_sign: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret_key.as_bytes()).expect("HMAC accepts any key size");
    mac.update(string_to_sign.as_bytes());
    mac
}

/// The hex signature of a string to sign.
pub(crate) fn signature(secret_key: &str, string_to_sign: &str) -> String {
    hex::encode(mac(secret_key, string_to_sign).finalize().into_bytes())
}

/// The full `Authorization` header value:
/// `SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<list>, Signature=<hex>`.
///
/// The request's headers must already contain `Host` and `X-Sdk-Date` (and
/// `X-Security-Token` with temporary credentials): unlike the SDK, this
/// function never adds headers, so the caller sends exactly what was signed.
/// Without `X-Sdk-Date` the date line is empty and the gateway will reject
/// the signature.
pub fn authorization(req: &SigningRequest, access_key: &str, secret_key: &str) -> String {
    let canonical = canonical_request(req);
    let date = first_header(req.headers, HEADER_SDK_DATE).unwrap_or_default();
    let sig = signature(secret_key, &string_to_sign(&canonical, date));
    format!(
        "{ALGORITHM} Access={access_key}, SignedHeaders={}, Signature={sig}",
        signed_headers(req)
    )
}

/// The `X-Sdk-Date` value for an instant: `YYYYMMDDTHHMMSSZ` in UTC.
pub(crate) fn sdk_date(now: jiff::Timestamp) -> String {
    now.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// Parses an `X-Sdk-Date` value back into an instant (for clock checks).
pub(crate) fn parse_sdk_date(value: &str) -> Option<jiff::Timestamp> {
    // `%Y` would also accept signs and more digits; the gateway wants exactly
    // 16 characters, so check the shape before parsing.
    if value.len() != 16 || !value.ends_with('Z') {
        return None;
    }
    let civil = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%SZ", value).ok()?;
    jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()
}

/// The parts of an `SDK-HMAC-SHA256` `Authorization` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedAuthorization {
    /// The access key (AK) that claims to have signed.
    pub(crate) access_key: String,
    /// The lower-cased header names that were signed, in the order given.
    pub(crate) signed_headers: Vec<String>,
    /// The hex signature.
    pub(crate) signature: String,
}

/// Parses `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`.
///
/// Returns `None` for another algorithm, a missing or empty part, or
/// anything else that the gateway could not verify.
pub(crate) fn parse_authorization(value: &str) -> Option<ParsedAuthorization> {
    let rest = value.trim().strip_prefix(ALGORITHM)?;
    // The algorithm must be followed by whitespace, not e.g. "SDK-HMAC-SHA2561".
    if !rest.starts_with(' ') {
        return None;
    }
    let (mut access_key, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (key, val) = part.trim().split_once('=')?;
        let slot = match key {
            "Access" => &mut access_key,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return None,
        };
        if val.is_empty() || slot.replace(val).is_some() {
            return None;
        }
    }
    Some(ParsedAuthorization {
        access_key: access_key?.to_owned(),
        signed_headers: signed_headers?
            .split(';')
            .map(str::to_ascii_lowercase)
            .collect(),
        signature: signature?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Pairs = Vec<(String, String)>;

    fn pairs(items: &[(&str, &str)]) -> Pairs {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const V1_AK: &str = "QTWAOYTTINDUT2QVKYUC";
    const V1_SK: &str = "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc";

    fn v1_parts() -> (Pairs, Pairs) {
        (
            pairs(&[
                ("limit", "2"),
                ("marker", "13551d6b-755d-4757-b956-536f674975c0"),
            ]),
            pairs(&[
                ("Content-Type", "application/json"),
                ("Host", "service.region.example.com"),
                ("X-Sdk-Date", "20191115T033655Z"),
            ]),
        )
    }

    #[test]
    fn v1_published_guide_canonical_request_string_to_sign_and_authorization() {
        let (query, headers) = v1_parts();
        let req = SigningRequest {
            method: "GET",
            path: "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            query: &query,
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(&req);
        assert_eq!(
            canonical,
            "GET\n\
             /v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/\n\
             limit=2&marker=13551d6b-755d-4757-b956-536f674975c0\n\
             content-type:application/json\n\
             host:service.region.example.com\n\
             x-sdk-date:20191115T033655Z\n\
             \n\
             content-type;host;x-sdk-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            string_to_sign(&canonical, "20191115T033655Z"),
            "SDK-HMAC-SHA256\n\
             20191115T033655Z\n\
             b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a"
        );
        assert_eq!(signed_headers(&req), "content-type;host;x-sdk-date");
        assert_eq!(
            authorization(&req, V1_AK, V1_SK),
            "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, \
             Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
        );
    }

    fn v4(method: &str, body: &[u8]) -> String {
        let query = pairs(&[("size", "1")]);
        let headers = pairs(&[
            ("X-Sdk-Date", "20200608T023900Z"),
            ("TEST_UNDERSCORE", "value"),
            ("Host", "service.endpoint.myhuaweicloud.com"),
        ]);
        let req = SigningRequest {
            method,
            path: "/resources",
            query: &query,
            headers: &headers,
            body,
        };
        authorization(&req, "AccessKey", "SecretKey")
    }

    #[test]
    fn v4_sdk_core_get_skips_underscore_header() {
        assert_eq!(
            v4("GET", b""),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, \
             Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842"
        );
    }

    #[test]
    fn v4_sdk_core_post_hashes_the_body() {
        assert_eq!(
            v4("POST", br#"{"name":"test","id":1}"#),
            "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, \
             Signature=436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f"
        );
    }

    const P: &str = "0123456789abcdef0123456789abcdef";
    const WS_AK: &str = "AKTESTEXAMPLE000001";
    const WS_SK: &str = "SKtestexample0000000000000000000000000001";

    fn ws_headers(host: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut h = pairs(&[
            ("Content-Type", "application/json"),
            ("X-Project-Id", P),
            ("X-Sdk-Date", "20240102T030405Z"),
            ("Host", host),
        ]);
        h.extend(pairs(extra));
        h
    }

    #[test]
    fn v6_repeated_query_keys_sort_by_value() {
        let query = pairs(&[
            ("status", "RUNNING"),
            ("status", "FAILED"),
            ("job_type", "createDesktops"),
        ]);
        let headers = ws_headers("workspace.cn-north-4.myhuaweicloud.com", &[]);
        let path = format!("/v2/{P}/workspace-sub-jobs");
        let req = SigningRequest {
            method: "GET",
            path: &path,
            query: &query,
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            canonical_query(&query),
            "job_type=createDesktops&status=FAILED&status=RUNNING"
        );
        assert_eq!(
            authorization(&req, WS_AK, WS_SK),
            "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE000001, \
             SignedHeaders=content-type;host;x-project-id;x-sdk-date, \
             Signature=6104315480bd776a204c8bfdf555f082cfe3759d7c4f98ce7a542436c0fe7fc3"
        );
    }

    #[test]
    fn v7_comma_encoded_in_query_but_not_in_header_values() {
        let query = pairs(&[
            ("job_type", "CREATE_SERVER,DELETE_SERVER"),
            ("status", "RUNNING"),
        ]);
        let headers = ws_headers(
            "workspace.cn-north-4.myhuaweicloud.com",
            &[("X-Security-Token", "tok/en+with=chars")],
        );
        let path = format!("/v1/{P}/app-server-sub-jobs/actions/count");
        let req = SigningRequest {
            method: "GET",
            path: &path,
            query: &query,
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(&req);
        assert!(canonical.contains(&format!("\n/v1/{P}/app-server-sub-jobs/actions/count/\n")));
        assert!(canonical.contains("\njob_type=CREATE_SERVER%2CDELETE_SERVER&status=RUNNING\n"));
        assert!(canonical.contains("\nx-security-token:tok/en+with=chars\n"));
        assert_eq!(
            authorization(&req, WS_AK, WS_SK),
            "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE000001, \
             SignedHeaders=content-type;host;x-project-id;x-sdk-date;x-security-token, \
             Signature=cf8785f6dc9e58508c4cb2c6bc9184d8fd0f352aebea19bff1384b60f63dec45"
        );
    }

    #[test]
    fn v8_no_query_leaves_an_empty_line() {
        let headers = ws_headers("appstream.cn-north-4.myhuaweicloud.com", &[]);
        let path = format!("/v1/{P}/image-server-jobs/2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab");
        let req = SigningRequest {
            method: "GET",
            path: &path,
            query: &[],
            headers: &headers,
            body: b"",
        };
        assert!(canonical_request(&req).contains("0123456789ab/\n\ncontent-type:"));
        assert_eq!(
            authorization(&req, WS_AK, WS_SK),
            "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE000001, \
             SignedHeaders=content-type;host;x-project-id;x-sdk-date, \
             Signature=ddd2c680539c036a0e61e1da5f8c6576dbca9d4f8be05b84c76e3736fb10e66c"
        );
    }

    #[test]
    fn v9_query_sorted_by_name() {
        let query = pairs(&[
            ("job_type", "CREATE_SERVER_IMAGE"),
            ("limit", "100"),
            ("offset", "0"),
            ("job_id", "2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab"),
        ]);
        let headers = ws_headers("appstream.cn-north-4.myhuaweicloud.com", &[]);
        let path = format!("/v1/{P}/image-server-sub-jobs");
        let req = SigningRequest {
            method: "GET",
            path: &path,
            query: &query,
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            canonical_query(&query),
            "job_id=2c9eb2a5-7f1a-4d2b-9a0c-0123456789ab&job_type=CREATE_SERVER_IMAGE&limit=100&offset=0"
        );
        assert_eq!(
            authorization(&req, WS_AK, WS_SK),
            "SDK-HMAC-SHA256 Access=AKTESTEXAMPLE000001, \
             SignedHeaders=content-type;host;x-project-id;x-sdk-date, \
             Signature=ec5c7099ca1acf0661f4cb5d14a445ed29c93424ecb2fe7a1c48738c4e6b1c7b"
        );
    }

    #[test]
    fn encoding_keeps_only_unreserved_characters() {
        assert_eq!(url_encode("aZ09-._~"), "aZ09-._~");
        assert_eq!(url_encode("a b/c,d+e=f"), "a%20b%2Fc%2Cd%2Be%3Df");
        assert_eq!(url_encode("é"), "%C3%A9");
        assert_eq!(canonical_uri("/a b/ü/"), "/a%20b/%C3%BC/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
    }

    #[test]
    fn header_values_are_trimmed_and_names_lowercased() {
        let headers = pairs(&[("HOST", "h"), ("X-Sdk-Date", " 20240102T030405Z ")]);
        let req = SigningRequest {
            method: "get",
            path: "/x",
            query: &[],
            headers: &headers,
            body: b"",
        };
        let canonical = canonical_request(&req);
        assert!(
            canonical.starts_with(
                "GET\n/x/\n\nhost:h\nx-sdk-date:20240102T030405Z\n\nhost;x-sdk-date\n"
            )
        );
    }

    #[test]
    fn unsigned_payload_header_replaces_body_hash() {
        let headers = pairs(&[("Host", "h"), ("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")]);
        let req = SigningRequest {
            method: "PUT",
            path: "/x",
            query: &[],
            headers: &headers,
            body: b"raw bytes",
        };
        assert!(canonical_request(&req).ends_with("\nUNSIGNED-PAYLOAD"));
    }

    #[test]
    fn sdk_date_is_utc_basic_format_and_round_trips() {
        let ts: jiff::Timestamp = "2024-01-02T03:04:05.9+08:00".parse().unwrap();
        assert_eq!(sdk_date(ts), "20240101T190405Z");
        assert_eq!(
            parse_sdk_date("20240101T190405Z"),
            Some("2024-01-01T19:04:05Z".parse().unwrap())
        );
        assert_eq!(parse_sdk_date("2024-01-01T19:04:05Z"), None);
        assert_eq!(parse_sdk_date("20241301T190405Z"), None);
    }

    #[test]
    fn parse_authorization_round_trips_and_rejects_garbage() {
        let (query, headers) = v1_parts();
        let req = SigningRequest {
            method: "GET",
            path: "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs",
            query: &query,
            headers: &headers,
            body: b"",
        };
        let parsed = parse_authorization(&authorization(&req, V1_AK, V1_SK)).unwrap();
        assert_eq!(
            parsed,
            ParsedAuthorization {
                access_key: V1_AK.into(),
                signed_headers: vec!["content-type".into(), "host".into(), "x-sdk-date".into()],
                signature: "7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe"
                    .into(),
            }
        );
        for bad in [
            "",
            "Bearer abc",
            "SDK-HMAC-SHA256",
            "SDK-HMAC-SHA2561 Access=a, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=host",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256 Access=a, Access=b, SignedHeaders=host, Signature=00",
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=00, Extra=1",
            "SDK-HMAC-SHA256 Access=a SignedHeaders=host Signature=00",
        ] {
            assert_eq!(parse_authorization(bad), None, "{bad:?}");
        }
    }
}
