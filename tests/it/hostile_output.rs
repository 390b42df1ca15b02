//! No server can read a secret out of jobgate's outputs or forge them:
//! hostile servers on loopback echo the request head in their errors, or put
//! workflow commands, control bytes and Markdown into every field, and every
//! output a CI runner reads (stdout, stderr, the JSON report, JUnit, the step
//! summary, `$GITHUB_OUTPUT`) is checked for secrets and forged commands.

use crate::common::harness;
use crate::common::hostile;
use crate::common::test::Test;

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use harness::*;
use hostile::{Hostile, Reply, Seen};

const SECURITY_TOKEN: &str = "STStoken-0123456789abcdefghijklmnopqrstuvwxyz/ABCDEFGH+IJKLMNOP==";
const AUTH_TOKEN: &str = "MIIauthtoken0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP";

const JOB: &str = "800000000000000001";
const JOB2: &str = "800000000000000002";

/// Everything one run wrote, as text.
struct Outputs {
    code: i32,
    stdout: String,
    stderr: String,
    report_text: String,
    report: serde_json::Value,
    junit: String,
    summary: String,
    github_output: String,
}

impl Outputs {
    fn all(&self) -> [(&'static str, &str); 6] {
        [
            ("stdout", &self.stdout),
            ("stderr", &self.stderr),
            ("report", &self.report_text),
            ("junit", &self.junit),
            ("step summary", &self.summary),
            ("GITHUB_OUTPUT", &self.github_output),
        ]
    }
}

/// Runs `spec` against `url` as a GitHub Actions step, with every output
/// requested; `setup` adjusts the command (credentials).
fn github_run(url: &str, spec: &str, extra: &[&str], setup: impl FnOnce(&mut Command)) -> Outputs {
    let dir = Workdir::new();
    let spec_path = dir.write("gate.yaml", spec);
    let github_output = dir.write("github_output", "");
    let summary = dir.write("step_summary", "");
    let report_path = dir.path("report.json");
    let junit_path = dir.path("junit.xml");
    let mut cmd = jobgate();
    cmd.current_dir(dir.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_OUTPUT", &github_output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .arg("run")
        .arg(&spec_path)
        .args(["--endpoint", url, "--seed", "1", "--keep-going"])
        .arg("--report")
        .arg(&report_path)
        .arg("--junit")
        .arg(&junit_path)
        .args(extra);
    setup(&mut cmd);
    let out = output_within(&mut cmd, Duration::from_secs(120));
    let read = |p: &std::path::Path| std::fs::read_to_string(p).unwrap_or_default();
    let report_text = read(&report_path);
    Outputs {
        code: code(&out),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: stderr(&out),
        report: report(&report_path),
        report_text,
        junit: read(&junit_path),
        summary: read(&summary),
        github_output: read(&github_output),
    }
}

fn spec(jobs: &[&str]) -> String {
    let mut spec = String::from(
        "version: 1\ndefaults:\n  timeout: 10s\n  poll: { initial: 100ms, max: 200ms }\n  error_budget: 1\nwaits:\n",
    );
    for (n, job) in jobs.iter().enumerate() {
        spec.push_str(&format!(
            "  w{n}:\n    image_job: \"{job}\"\n    target: [SUCCESS]\n"
        ));
    }
    spec
}

/// A JSON error answer whose `error_msg` is `message`.
fn error_reply(status: u16, message: &str) -> Reply {
    Reply::status_json(
        status,
        serde_json::json!({ "error_code": "WKS.0500", "error_msg": message }).to_string(),
    )
}

/// The request head, and the same head percent-encoded, JSON-escaped and
/// in base64: what a proxy dumping the request might send back.
fn echo(seen: &Seen) -> String {
    let head = &seen.head;
    let percent =
        percent_encoding::utf8_percent_encode(head, percent_encoding::NON_ALPHANUMERIC).to_string();
    let json = serde_json::to_string(head).unwrap().replace('/', "\\/");
    let base64 = base64::engine::general_purpose::STANDARD.encode(head);
    format!("gateway rejected the request: {head}\nencoded: {percent}\njson: {json}\nb64: {base64}")
}

/// Every form of `secret` that must not appear anywhere.
fn forms(secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
        serde_json::to_string(secret).unwrap().replace('/', "\\/"),
    ]
}

fn assert_no_secret(out: &Outputs, secrets: &[&str]) {
    for (name, text) in out.all() {
        // The masks themselves name the secrets: the runner hides them, and
        // these very lines, from the log.
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        for secret in secrets {
            for form in forms(secret) {
                let form = form.trim_matches('"');
                assert!(
                    !text.contains(form),
                    "{name} shows a secret ({form}):\n{text}"
                );
            }
        }
    }
}

/// The lines of `text` a GitHub runner would act on as workflow commands.
fn runner_commands(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("::") || l.contains("##["))
        .collect()
}

/// Only jobgate's own commands, and masks only of the given values.
fn assert_no_forged_commands(out: &Outputs, masked: &[&str]) {
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let mut tokens: Vec<String> = Vec::new();
        for line in runner_commands(text) {
            assert!(!line.contains("##["), "{name}: {line}");
            let body = line.trim_start().trim_start_matches("::");
            let command = body.split([' ', ':']).next().unwrap_or_default().to_owned();
            match command.as_str() {
                "add-mask" => {
                    let value = body.trim_start_matches("add-mask::");
                    assert!(masked.contains(&value), "{name}: a forged mask {line}");
                }
                "error" => assert!(
                    body.contains("title=jobgate"),
                    "{name}: a forged annotation {line}"
                ),
                "group" | "endgroup" => {}
                "stop-commands" => tokens.push(body.trim_start_matches("stop-commands::").into()),
                token if tokens.iter().any(|t| t == token) && body == format!("{token}::") => {}
                _ => panic!("{name}: a command jobgate does not send: {line}\n{text}"),
            }
        }
    }
}

fn assert_printable(out: &Outputs) {
    for (name, text) in out.all() {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{name} has a control character:\n{text:?}"
        );
    }
    // Control characters are not even escaped in the report: they are gone.
    let report = out.report.to_string();
    for escaped in ["\\u001b", "\\u0007", "\\u0000", "\\r"] {
        assert!(!report.contains(escaped), "{escaped} in {report}");
    }
}

/// A hostile 500 (retried, then given up) and 400 (reported at once) whose
/// messages are the request head, raw and encoded: no secret of temporary
/// AK/SK credentials reaches any output, and the rest of the message does.
#[test]
fn echoed_request_heads_never_show_the_ak_sk_or_security_token() {
    let server = Hostile::start(|seen| {
        if seen.path.ends_with(JOB) {
            error_reply(500, &echo(seen))
        } else {
            error_reply(400, &echo(seen))
        }
    });
    let out = github_run(&server.url(), &spec(&[JOB, JOB2]), &[], |cmd| {
        cmd.env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SECURITY_TOKEN);
    });
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(
        server
            .seen()
            .iter()
            .all(|s| s.header("x-security-token") == Some(SECURITY_TOKEN)),
        "the token was sent, so the echo carries it"
    );
    assert_no_secret(&out, &[AK, SK, SECURITY_TOKEN]);
    assert_no_forged_commands(&out, &[AK, SK, SECURITY_TOKEN]);
    for wait in out.report["waits"].as_array().unwrap() {
        assert_eq!(wait["outcome"], "api_error", "{wait:#}");
        let message = wait["last_error"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("gateway rejected the request: GET /v1/")
                && message.contains("x-security-token: ***")
                && message.contains("host: 127.0.0.1"),
            "the rest of the message stays: {message}"
        );
    }
    assert!(out.summary.contains("gateway rejected the request"));
    assert!(out.junit.contains("gateway rejected the request"));
}

/// The same with an IAM token sent as `X-Auth-Token`.
#[test]
fn echoed_request_heads_never_show_the_auth_token() {
    let server = Hostile::start(|seen| error_reply(400, &echo(seen)));
    let out = github_run(&server.url(), &spec(&[JOB]), &["--json"], |cmd| {
        cmd.env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env("JOBGATE_AUTH_TOKEN", AUTH_TOKEN);
    });
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert_eq!(
        server.seen()[0].header("x-auth-token"),
        Some(AUTH_TOKEN),
        "the token was sent, so the echo carries it"
    );
    assert_no_secret(&out, &[AUTH_TOKEN]);
    assert_no_forged_commands(&out, &[AUTH_TOKEN]);
    let stdout: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(stdout["waits"][0]["outcome"], "api_error");
    let message = stdout["waits"][0]["last_error"]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("x-auth-token: ***"), "{message}");
}

/// What a hostile server puts in every text field.
const PWNED: &str = "\n::error::pwned\n  ::add-mask::x\n::set-output name=outcome::met\n##[error]legacy\n\x1b[2J\x1b]0;title\x07\0nul\rcr <img src=x onerror=alert(1)> [click](https://evil.example) | cell";

fn hostile_job(id: &str) -> String {
    let sub = |n: u32, status: &str| {
        serde_json::json!({
            "id": format!("sub{n}{PWNED}"),
            "status": status,
            "job_type": format!("CREATE{PWNED}"),
            "job_resource_info": { "resource_id": format!("res{PWNED}"), "resource_name": format!("name{PWNED}") },
            "job_execute_info": { "error_code": format!("E{PWNED}"), "error_message": format!("broke{PWNED}") },
            "begin_time": format!("2026{PWNED}"),
        })
    };
    serde_json::json!({
        "id": id,
        "status": "FAILED",
        "job_type": format!("CREATE_IMAGE{PWNED}"),
        "error_code": format!("WKS{PWNED}"),
        "error_message": format!("job failed{PWNED}"),
        "sub_jobs": [sub(1, "FAILED"), sub(2, &format!("WEIRD{PWNED}")), sub(3, "SUCCESS")],
    })
    .to_string()
}

/// Workflow commands, control bytes and Markdown in statuses, messages and
/// sub-job fields: no output carries a command the runner would act on, a
/// raw control byte, live HTML or a link; the run still fails.
#[test]
fn server_text_cannot_forge_workflow_commands_or_markup() {
    let server = Hostile::start(|seen| {
        if seen.path.ends_with(JOB) {
            Reply::json(hostile_job(JOB))
        } else {
            // An undocumented, hostile status on the job itself.
            Reply::json(
                serde_json::json!({ "id": JOB2, "status": format!("RUNNING{PWNED}"), "sub_jobs": [] })
                    .to_string(),
            )
        }
    });
    // The first wait blames sub-jobs, so they reach the summary's table.
    let spec = spec(&[JOB, JOB2]).replace(
        "    target: [SUCCESS]\n  w1:",
        "    success: [{ status: [SUCCESS] }]\n    failure: [{ any: [FAILED] }]\n  w1:",
    );
    let out = github_run(&server.url(), &spec, &["--verbose"], |_| {});
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_ne!(out.report["outcome"], "met");
    assert_no_secret(&out, &[AK, SK]);
    assert_no_forged_commands(&out, &[AK, SK]);
    assert_printable(&out);
    // The server text is still there, defused.
    assert!(out.stderr.contains(": :error::pwned"), "{}", out.stderr);
    let outputs = parse_command_file(&out.github_output);
    let outcomes: Vec<&str> = outputs
        .iter()
        .filter(|(k, _)| k == "outcome")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(outcomes.len(), 1, "{outputs:?}");
    assert_ne!(outcomes[0], "met", "{outputs:?}");
    assert_eq!(out.report["waits"][0]["outcome"], "failed");
    assert_eq!(out.report["waits"][1]["outcome"], "unexpected_state");
    assert!(out.summary.contains("### Failing items"), "{}", out.summary);
    for forbidden in ["<img", "](https://", "https://evil", "| cell"] {
        assert!(
            !out.summary.contains(forbidden),
            "{forbidden} in the summary:\n{}",
            out.summary
        );
    }
    assert!(out.summary.contains("&lt;img src=x"), "{}", out.summary);
}

/// An unwritable `$GITHUB_OUTPUT` does not keep the step summary, the report
/// or JUnit from being written; the run exits 5 naming the file.
#[test]
fn an_unwritable_github_output_still_writes_everything_else() {
    let server = Hostile::start(|_| {
        Reply::json(format!(
            r#"{{"id":"{JOB}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
        ))
    });
    let dir = Workdir::new();
    let spec_path = dir.write("gate.yaml", &spec(&[JOB]));
    let summary = dir.write("step_summary", "");
    let report_path = dir.path("report.json");
    let junit_path = dir.path("junit.xml");
    let out = output_within(
        jobgate()
            .env("GITHUB_ACTIONS", "true")
            // A directory cannot be appended to.
            .env("GITHUB_OUTPUT", dir.dir.path())
            .env("GITHUB_STEP_SUMMARY", &summary)
            .arg("run")
            .arg(&spec_path)
            .args(["--endpoint", &server.url()])
            .arg("--report")
            .arg(&report_path)
            .arg("--junit")
            .arg(&junit_path),
        Duration::from_secs(120),
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 5, "{err}");
    assert!(err.contains("GITHUB_OUTPUT="), "{err}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    // The run's outcome follows its exit code; the wait's own stays met.
    assert!(
        summary.starts_with("## ⚠️ jobgate: API error (exit code 5)"),
        "{summary}"
    );
    let report = report(&report_path);
    assert_eq!(report["outcome"], "api_error", "{report}");
    assert_eq!(report["waits"][0]["outcome"], "met", "{report}");
    assert!(
        std::fs::read_to_string(&junit_path)
            .unwrap()
            .contains("<testsuite")
    );
}

/// With `--json`, standard output is the JSON report or nothing: an invalid
/// spec's annotations go to stderr.
#[test]
fn json_stdout_stays_clean_when_the_spec_is_invalid() {
    let ran = Test::new()
        .endpoint("http://127.0.0.1:9")
        .spec("version: 1\nwaits:\n  build:\n    image_job: x\n    target: [SUCESS]\n")
        .env("GITHUB_ACTIONS", "true")
        .args(&["--json"])
        .no_report()
        .run()
        .exit(2);
    assert_eq!(ran.stdout(), "");
    let err = ran.stderr();
    assert!(
        err.lines()
            .any(|l| l.starts_with("::error file=gate.yaml") || l.starts_with("::error file=")),
        "{err}"
    );
}

/// `eval` prints a saved response's text on stdout: defused there too.
#[test]
fn eval_does_not_replay_a_saved_response() {
    let dir = Workdir::new();
    dir.write(
        "gate.yaml",
        "version: 1\nwaits:\n  build:\n    image_job: \"1\"\n    success: [{ status: [SUCCESS] }]\n    failure: [{ any: [FAILED] }]\n",
    );
    dir.write("response.json", &hostile_job("1"));
    let out = jobgate()
        .current_dir(dir.dir.path())
        .args([
            "eval",
            "gate.yaml",
            "--wait",
            "build",
            "--response",
            "response.json",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code(&out), 1, "{stdout}{}", stderr(&out));
    assert!(stdout.contains("broke"), "{stdout}");
    assert!(runner_commands(&stdout).is_empty(), "{stdout}");
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{stdout:?}"
    );
}

/// A spec value from an earlier step (an environment variable) quoted in a
/// spec error: no control character or forged command in either stream.
#[test]
fn hostile_spec_values_are_defused_in_spec_errors() {
    let dir = Workdir::new();
    dir.write(
        "gate.yaml",
        "version: 1\nwaits:\n  build:\n    image_job: \"1\"\n    target: [SUCCESS]\n    timeout: ${T}\n",
    );
    let out = jobgate()
        .current_dir(dir.dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("T", "5x\n::error::pwned\x1b[2J\x07")
        .args(["validate", "gate.yaml"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    for text in [
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    ] {
        assert!(text.contains("pwned"), "the value is still shown: {text}");
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        for line in runner_commands(&text) {
            assert!(
                line.starts_with("::error file=gate.yaml,") && line.contains("title=jobgate"),
                "{line}"
            );
        }
    }
}

/// A captured output that carries an echoed secret and forged commands:
/// the step output holds the rest of the value, with the secret masked, and
/// cannot add or change other outputs.
#[test]
fn captured_outputs_are_redacted_before_they_become_step_outputs() {
    let server = Hostile::start(|seen| {
        let note = format!("{}\noutcome=failed\n::error::pwned", echo(seen));
        Reply::json(
            serde_json::json!({ "id": JOB, "status": "SUCCESS", "job_type": note, "sub_jobs": [] })
                .to_string(),
        )
    });
    let spec = spec(&[JOB]).replace(
        "    target: [SUCCESS]\n",
        "    target: [SUCCESS]\n    outputs:\n      note: $.job_type\n",
    );
    let out = github_run(&server.url(), &spec, &[], |cmd| {
        cmd.env("HUAWEICLOUD_SDK_SECURITY_TOKEN", SECURITY_TOKEN);
    });
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_no_secret(&out, &[AK, SK, SECURITY_TOKEN]);
    assert_no_forged_commands(&out, &[AK, SK, SECURITY_TOKEN]);
    let outputs = parse_command_file(&out.github_output);
    let names: Vec<&str> = outputs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["outcome", "exit-code", "report", "w0-note"],
        "{outputs:?}"
    );
    assert_eq!(outputs[0].1, "met");
    let note = &outputs[3].1;
    assert!(
        note.starts_with("gateway rejected the request: GET /v1/")
            && note.contains("x-security-token: ***")
            && note.contains("\noutcome=failed\n: :error::pwned"),
        "{note}"
    );
}
