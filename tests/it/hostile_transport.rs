//! The transport fails closed: redirects are not followed, endpoints are
//! parsed as URLs, bodies are capped, TLS failures end at once, and no
//! credential reaches a host other than the endpoint. Each case runs the
//! real binary against scripted servers on loopback.

use crate::common::harness;
use crate::common::hostile;

use std::ffi::OsString;
use std::io::{Read, Write};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply, Seen};

const JOB: &str = "800000000000000001";
const TOKEN: &str = "tok-SECRET-0123456789";

fn spec(timeout: &str) -> String {
    format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: {timeout}\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    )
}

fn success() -> Reply {
    Reply::json(format!(
        r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
    ))
}

/// `jobgate run` with a report, like [`run_reported`], after `setup` has
/// adjusted the command (environment, extra arguments).
fn run_with(
    endpoint: &str,
    spec: &str,
    setup: impl FnOnce(&mut Command),
) -> (Output, Option<serde_json::Value>) {
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", spec);
    let report_path = dir.path("report.json");
    let mut cmd = jobgate();
    cmd.arg("run")
        .arg(&spec)
        .args(["--endpoint", endpoint, "--seed", "1"])
        .arg("--report")
        .arg(&report_path);
    setup(&mut cmd);
    let out = output_within(&mut cmd, Duration::from_secs(120));
    let report = report_path.exists().then(|| report(&report_path));
    if let Some(report) = &report {
        assert_eq!(
            report["exit_code"].as_i64(),
            Some(i64::from(code(&out))),
            "{}",
            stderr(&out)
        );
    }
    (out, report)
}

/// Authenticates with an IAM token (sent as `X-Auth-Token`) instead of AK/SK.
fn with_token(cmd: &mut Command) {
    cmd.env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env("JOBGATE_AUTH_TOKEN", TOKEN);
}

fn no_credential_in(seen: &[Seen]) {
    for s in seen {
        assert!(
            s.header("authorization").is_none()
                && s.header("x-auth-token").is_none()
                && s.header("x-security-token").is_none()
                && !s.head.contains(TOKEN),
            "a credential reached the other host: {}",
            s.head
        );
    }
}

/// A redirect, to another host or the same one, is never followed: the
/// other host sees nothing, the wait ends `api_error` at once (not
/// retried), and the message names the status and the location.
#[test]
fn a_redirect_is_refused_and_no_credential_reaches_the_other_host() {
    let other = Hostile::start(|_| success());
    for status in [301, 302, 303, 307, 308] {
        for token in [false, true] {
            let location = format!("{}/v1/elsewhere/{JOB}", other.url());
            let server = Hostile::start(move |_| Reply::redirect(status, &location));
            let (out, report) = run_with(&server.url(), &spec("10s"), |cmd| {
                if token {
                    with_token(cmd);
                }
            });
            let report = report.expect("a report is written");
            assert_eq!(code(&out), 5, "{status}: {}", stderr(&out));
            assert_eq!(report["waits"][0]["outcome"], "api_error");
            let reason = report["waits"][0]["reason"].as_str().unwrap();
            assert!(
                reason.contains(&format!("answered {status} redirecting to {}", other.url()))
                    && reason.contains("never follows redirects"),
                "{reason}"
            );
            assert_eq!(server.seen().len(), 1, "a redirect is not retried");
            assert!(other.seen().is_empty(), "{:?}", other.seen());
            assert!(!String::from_utf8_lossy(&out.stdout).contains(TOKEN));
            assert!(!stderr(&out).contains(TOKEN));
        }
    }
    no_credential_in(&other.seen());
}

/// A plain-http proxy named in the environment would read the token of a
/// loopback endpoint in clear; for loopback endpoints no proxy is used.
#[test]
fn a_proxy_never_sees_the_request_to_a_loopback_endpoint() {
    let proxy = Hostile::start(|_| success());
    let server = Hostile::start(|_| success());
    let (out, report) = run_with(&server.url(), &spec("10s"), |cmd| {
        with_token(cmd);
        cmd.env("HTTP_PROXY", proxy.url())
            .env("http_proxy", proxy.url())
            .env("ALL_PROXY", proxy.url())
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
    });
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(report.unwrap()["waits"][0]["outcome"], "met");
    assert!(proxy.seen().is_empty(), "{:?}", proxy.seen());
    assert_eq!(server.seen().len(), 1);
}

/// Endpoints are parsed as URLs: only a loopback IP or `localhost` may
/// take plain http, no credentials-in-URL, no port beyond 65535. Each is
/// refused before any request (exit 2), naming where the URL came from.
#[test]
fn endpoints_that_only_look_local_are_refused_before_any_request() {
    let dir = Workdir::new();
    let spec_path = dir.write("spec.yaml", &spec("10s"));
    for (url, says) in [
        ("http://127.evil.example", "refusing plain http"),
        ("http://127.0.0.1.nip.io:8080", "refusing plain http"),
        ("http://127.0.0.1@evil.example", "user name or password"),
        ("https://user:pw-SECRET@127.0.0.1", "user name or password"),
        ("http://127.0.0.1:65536", "not a usable URL"),
        ("http://127.0.0.1:8080/#top", "not a usable URL"),
        ("http://127.0.0.1:8080/?x=1", "not a usable URL"),
    ] {
        let out = output_within(
            jobgate()
                .arg("run")
                .arg(&spec_path)
                .args(["--endpoint", url]),
            Duration::from_secs(60),
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{url}: {err}");
        assert!(
            err.contains("--endpoint") && err.contains(says),
            "{url}: {err}"
        );
        assert!(!err.contains("pw-SECRET"), "{err}");
        assert!(!err.contains("retry"), "{err}");
    }
    // The origin is named for an environment variable too.
    refused_naming_the_workspace_variable(
        &spec_path,
        &[
            (
                "JOBGATE_WORKSPACE_ENDPOINT",
                "https://127.0.0.1:99999".as_ref(),
            ),
            ("JOBGATE_APPSTREAM_ENDPOINT", "https://127.0.0.1:9".as_ref()),
        ],
    );
}

/// `jobgate run SPEC` without `--endpoint`, the endpoints from `vars`: it
/// is refused before any request (exit 2), naming
/// `JOBGATE_WORKSPACE_ENDPOINT`.
fn refused_naming_the_workspace_variable(
    spec_path: &std::path::Path,
    vars: &[(&str, &std::ffi::OsStr)],
) {
    let out = output_within(
        jobgate()
            .arg("run")
            .arg(spec_path)
            .envs(vars.iter().copied()),
        Duration::from_secs(60),
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("JOBGATE_WORKSPACE_ENDPOINT"),
        "{}",
        stderr(&out)
    );
}

/// An endless body is read up to the size limit and no further: the wait
/// ends `api_error` with a report (not an out-of-memory abort), not retried.
#[test]
fn an_endless_body_is_cut_at_the_limit_with_a_report() {
    let server = Hostile::start(|_| Reply::Endless);
    let (out, report) = run_with(&server.url(), &spec("60s"), |_| {});
    let report = report.expect("a report is written");
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "api_error");
    let reason = report["waits"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("larger than 64 MiB"), "{reason}");
    assert_eq!(server.seen().len(), 1, "an oversized answer is not retried");
}

/// A declared length over the limit is refused without reading the body.
#[test]
fn a_declared_length_over_the_limit_is_refused() {
    let server = Hostile::start(|_| {
        Reply::Raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 68719476736\r\nConnection: close\r\n\r\n{\"status\":\"SUCCESS\"}"
                .to_vec(),
        )
    });
    let (out, report) = run_with(&server.url(), &spec("30s"), |_| {});
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(report.unwrap()["waits"][0]["outcome"], "api_error");
    assert_eq!(server.seen().len(), 1);
}

/// A body that trickles forever is bounded by the per-request timeout and
/// the wait's deadline: the run ends non-zero with a report.
#[test]
fn a_trickling_body_ends_at_the_deadline_with_a_report() {
    let server = Hostile::start(|_| Reply::Trickle {
        chunk: b" ".to_vec(),
        every: Duration::from_millis(100),
    });
    let (out, report) = run_with(&server.url(), &spec("3s"), |_| {});
    let report = report.expect("a report is written");
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "timed_out");
}

/// The API answers 200 with a body; a 206 (or any other 2xx) holding a
/// SUCCESS document comes from something in between and opens nothing.
#[test]
fn a_success_document_under_another_2xx_status_opens_nothing() {
    let server = Hostile::start(|_| {
        let Reply::Full { headers, body, .. } = success() else {
            unreachable!()
        };
        Reply::Full {
            status: 206,
            headers,
            body,
        }
    });
    let (out, report) = run_with(&server.url(), &spec("30s"), |_| {});
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let report = report.unwrap();
    assert_eq!(report["waits"][0]["outcome"], "api_error");
    assert!(
        report["waits"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("always answers 200"),
        "{report:#}"
    );
}

/// A server on loopback that answers every connection with plain HTTP,
/// whatever it is sent (a TLS ClientHello included), and counts them.
struct PlainHttp {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl PlainHttp {
    fn start() -> PlainHttp {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                drain(&mut stream);
            }
        });
        PlainHttp { port, connections }
    }
}

/// Closes the sending side and reads until the client closes: a socket
/// dropped with unread bytes sends a reset, which could reach the client
/// before the answer does.
fn drain(stream: &mut std::net::TcpStream) {
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// A TLS failure is a configuration problem: it ends the wait at once with
/// a message that says so, instead of seven retries and advice to raise
/// `error_budget`.
#[test]
fn a_tls_failure_is_not_retried() {
    let server = PlainHttp::start();
    let endpoint = format!("https://127.0.0.1:{}", server.port);
    let (out, report) = run_with(&endpoint, &spec("30s"), |_| {});
    let report = report.expect("a report is written");
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "api_error");
    let reason = report["waits"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("TLS handshake with 127.0.0.1") && reason.contains("not retried"),
        "{reason}"
    );
    assert!(!reason.contains("error_budget"), "{reason}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// `--ca-cert`, `JOBGATE_CA_CERT` and `SSL_CERT_FILE` must name a readable
/// PEM file: anything else is exit 2 before any request, naming the source.
#[test]
fn an_unusable_ca_file_is_invalid_input() {
    let server = Hostile::start(|_| success());
    let dir = Workdir::new();
    let spec_path = dir.write("spec.yaml", &spec("10s"));
    let garbage = dir.write("ca.pem", "this is not a certificate\n");
    let missing = dir.path("missing.pem");
    // (the source the message names, an argument, an environment variable)
    let cases = [
        ("--ca-cert", Some(&missing), None),
        ("--ca-cert", None, Some(("JOBGATE_CA_CERT", &garbage))),
        ("SSL_CERT_FILE", None, Some(("SSL_CERT_FILE", &garbage))),
    ];
    for (origin, arg, env) in cases {
        let mut cmd = jobgate();
        cmd.arg("run")
            .arg(&spec_path)
            .args(["--endpoint", &server.url()]);
        if let Some(path) = arg {
            cmd.arg("--ca-cert").arg(path);
        }
        if let Some((name, path)) = env {
            cmd.env(name, path);
        }
        let out = output_within(&mut cmd, Duration::from_secs(60));
        assert_eq!(code(&out), 2, "{}", stderr(&out));
        assert!(
            stderr(&out).contains(origin) && stderr(&out).contains("PEM"),
            "{}",
            stderr(&out)
        );
    }
    assert!(server.seen().is_empty());
}

/// A token that is not UTF-8 is named as such, not reported as missing.
#[cfg(unix)]
#[test]
fn a_non_utf8_token_is_named() {
    use std::os::unix::ffi::OsStringExt;
    let server = Hostile::start(|_| success());
    let (out, report) = run_with(&server.url(), &spec("10s"), |cmd| {
        cmd.env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env(
                "JOBGATE_AUTH_TOKEN",
                OsString::from_vec(b"tok\xffen".to_vec()),
            );
    });
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("JOBGATE_AUTH_TOKEN") && err.contains("UTF-8"),
        "{err}"
    );
    assert!(!err.contains("no credentials"), "{err}");
    assert_eq!(report.unwrap()["waits"][0]["outcome"], "auth_error");
    assert!(server.seen().is_empty());
}

/// A TLS server on loopback with the test certificate of
/// `tests/fixtures/tls` (signed by a private CA): answers every request
/// with a SUCCESS job, and counts connections.
struct TlsServer {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl TlsServer {
    fn start() -> TlsServer {
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
        let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(certs, key)
                .unwrap(),
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                count.fetch_add(1, Ordering::SeqCst);
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let tls = rustls::ServerConnection::new(config).unwrap();
                    let mut stream = rustls::StreamOwned::new(tls, stream);
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let body = format!(
                        r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
                    );
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    stream.conn.send_close_notify();
                    let _ = stream.flush();
                    drain(&mut stream.sock);
                });
            }
        });
        TlsServer { port, connections }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A certificate from a private CA is not trusted by default: the run ends
/// at once (one connection), saying which host and how to trust the CA.
#[test]
fn a_certificate_from_an_unknown_ca_ends_the_run_at_once() {
    let server = TlsServer::start();
    let (out, report) = run_with(&server.url(), &spec("30s"), |cmd| {
        cmd.env_remove("SSL_CERT_FILE");
    });
    let report = report.expect("a report is written");
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "api_error");
    let reason = report["waits"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("the TLS certificate of 127.0.0.1:")
            && reason.contains("not trusted")
            && reason.contains("--ca-cert FILE"),
        "{reason}"
    );
    assert!(
        !reason.contains("UnknownIssuer") && !reason.contains("error_budget"),
        "{reason}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// `--ca-cert`, `JOBGATE_CA_CERT` and `SSL_CERT_FILE` each make the private
/// CA trusted, and the gate opens on the server's answer.
#[test]
fn a_private_ca_is_trusted_when_given() {
    let server = TlsServer::start();
    let ca = fixture("ca.pem");
    let setups: [&dyn Fn(&mut Command); 3] = [
        &|cmd| {
            cmd.arg("--ca-cert").arg(&ca).env_remove("SSL_CERT_FILE");
        },
        &|cmd| {
            cmd.env("JOBGATE_CA_CERT", &ca).env_remove("SSL_CERT_FILE");
        },
        &|cmd| {
            cmd.env("SSL_CERT_FILE", &ca);
        },
    ];
    for setup in setups {
        let (out, report) = run_with(&server.url(), &spec("30s"), setup);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        assert_eq!(report.unwrap()["waits"][0]["outcome"], "met");
    }
}

/// A value captured from one answer and spliced into the next wait's path
/// must not turn that request into another one: a `../` path would reach
/// another API with the signature of this one, and its answer would be
/// judged. Whatever the value, no request leaves the job API and the gate
/// stays closed.
#[test]
fn a_captured_value_cannot_steer_the_next_request_elsewhere() {
    let server = Hostile::start(|seen| {
        if seen.path.contains("/v3/") {
            success()
        } else if seen.path.ends_with(&format!("/image-server-jobs/{JOB}")) {
            Reply::json(format!(
                r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[],"note":"../../../v3/auth/tokens?x="}}"#
            ))
        } else {
            Reply::status_json(
                404,
                r#"{"error_code":"WKS.00000404","error_msg":"The job does not exist."}"#,
            )
        }
    });
    let spec = format!(
        "version: 1\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n    poll: {{ initial: 100ms, max: 200ms }}\n    outputs:\n      note: $.note\n  next:\n    after: [build]\n    image_job: \"${{outputs.build.note}}\"\n    target: [SUCCESS]\n    timeout: 10s\n    not_found_grace: 1s\n    poll: {{ initial: 100ms, max: 200ms }}\n"
    );
    let (out, report) = run_with(&server.url(), &spec, |_| {});
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    let report = report.expect("a report is written");
    assert_eq!(report["waits"][0]["outcome"], "met");
    assert_ne!(report["waits"][1]["outcome"], "met");
    let seen = server.seen();
    assert!(
        seen.iter().all(|s| !s.path.contains("/v3/")),
        "{:?}",
        seen.iter().map(|s| &s.path).collect::<Vec<_>>()
    );
}

/// An endpoint override that is set but not UTF-8 is refused, not
/// silently replaced by the public host of the region.
#[cfg(unix)]
#[test]
fn a_non_utf8_endpoint_variable_is_refused() {
    use std::os::unix::ffi::OsStringExt;
    let dir = Workdir::new();
    let spec_path = dir.write(
        "spec.yaml",
        &format!(
            "version: 1\ndefaults:\n  region: cn-north-4\nwaits:\n  build:\n    image_job: \"{JOB}\"\n    target: [SUCCESS]\n    timeout: 10s\n"
        ),
    );
    let value = OsString::from_vec(b"http://127.0.0.1:\xff".to_vec());
    refused_naming_the_workspace_variable(
        &spec_path,
        &[("JOBGATE_WORKSPACE_ENDPOINT", value.as_os_str())],
    );
}

/// Server text in an error (its message, code and request id) reaches
/// every report and summary; a megabyte of it is cut to a readable size.
#[test]
fn a_huge_error_text_is_cut() {
    let server = Hostile::start(|_| {
        Reply::status_json(
            400,
            format!(
                r#"{{"error_code":"WKS.0001","error_msg":"{}"}}"#,
                "m".repeat(1_000_000)
            ),
        )
        .with_header("X-Request-Id", &"r".repeat(20_000))
    });
    let (out, report) = run_with(&server.url(), &spec("10s"), |_| {});
    assert_eq!(code(&out), 5, "{}", stderr(&out));
    let report = report.unwrap();
    let wait = &report["waits"][0];
    assert_eq!(wait["outcome"], "api_error");
    assert!(
        wait["reason"].as_str().unwrap().len() < 4_000,
        "{}",
        wait["reason"].as_str().unwrap().len()
    );
    assert!(wait["last_error"]["message"].as_str().unwrap().len() < 4_000);
    assert!(wait["last_error"]["request_id"].as_str().unwrap().len() < 1_000);
    assert!(out.stderr.len() < 20_000, "{}", out.stderr.len());
}
