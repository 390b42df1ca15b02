//! No silent mis-configuration: a spec or command line that does not say
//! what the user meant is refused with exit 2 and a message that says what,
//! where and how to fix it, before anything is polled; and what the user
//! wrote (ids, `where` values, wait names) is used as written.

use crate::common::harness;
use crate::common::hostile;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use harness::*;
use hostile::{Hostile, Reply};

const JOB: &str = "800000000000000001";

/// A wait on one image job; `extra` adds lines to the wait.
fn image_spec(job: &str, extra: &str) -> String {
    format!("version: 1\nwaits:\n  build:\n    image_job: {job}\n    target: [SUCCESS]\n{extra}")
}

/// A server that answers SUCCESS for whatever job is asked.
fn success_server() -> Hostile {
    Hostile::start(|seen| {
        let id = seen.path.rsplit('/').next().unwrap_or_default().to_owned();
        Reply::json(format!(
            r#"{{"id":"{id}","status":"SUCCESS","job_type":"CREATE_IMAGE","sub_jobs":[]}}"#
        ))
    })
}

fn validate(spec: &str) -> Output {
    let dir = Workdir::new();
    let path = dir.write("spec.yaml", spec);
    output_within(
        jobgate()
            .current_dir(dir.dir.path())
            .arg("validate")
            .arg(path),
        Duration::from_secs(60),
    )
}

/// `jobgate plan` against an endpoint that is never contacted.
fn plan(spec: &str, envs: &[(&str, &str)]) -> Output {
    let dir = Workdir::new();
    let path = dir.write("spec.yaml", spec);
    let mut cmd = jobgate();
    cmd.arg("plan")
        .arg(path)
        .args(["--endpoint", "http://127.0.0.1:9"]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    output_within(&mut cmd, Duration::from_secs(60))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 2, no panic, and `needles` in the message.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(code(out), 2, "expected exit 2:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` not in:\n{err}");
    }
}

// ---- 1. durations ------------------------------------------------------

#[test]
fn a_timeout_beyond_the_ceiling_is_refused_where_it_is_written() {
    for timeout in ["18000000000000000000s", "8d", "99999999999999999999999h"] {
        let out = validate(&image_spec("\"1\"", &format!("    timeout: {timeout}\n")));
        assert_refused(&out, &["spec::duration", "7d", "spec.yaml:6:14"]);
    }
    let deadline = format!(
        "deadline: 18000000000000000000s\n{}",
        image_spec("\"1\"", "")
    );
    assert_refused(&validate(&deadline), &["spec::duration", "spec.yaml:1:11"]);
    let poll = image_spec("\"1\"", "    poll: { initial: 1s, max: 5h }\n");
    assert_refused(&validate(&poll), &["spec::duration", "1h"]);
}

#[test]
fn durations_in_units_that_could_be_misread_are_refused() {
    for (timeout, hint) in [
        ("30M", "months"),
        ("1y", "years"),
        ("2w", "weeks"),
        ("1.5h", "fraction"),
    ] {
        let out = validate(&image_spec("\"1\"", &format!("    timeout: {timeout}\n")));
        assert_refused(&out, &["spec::duration", hint]);
    }
    // Days are unambiguous, and a week is the longest timeout.
    let out = validate(&image_spec("\"1\"", "    timeout: 7d\n"));
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn a_zero_or_huge_deadline_flag_is_refused_before_any_request() {
    let server = success_server();
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &image_spec(&format!("\"{JOB}\""), ""));
    for deadline in ["0s", "0ms", "18000000000000000000s", "30M", "8d"] {
        let out = output_within(
            jobgate().arg("run").arg(&spec).args([
                "--endpoint",
                &server.url(),
                "--deadline",
                deadline,
            ]),
            Duration::from_secs(60),
        );
        assert_refused(&out, &["--deadline"]);
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

// ---- 2. `$NAME` without braces ----------------------------------------

#[test]
fn a_variable_without_braces_is_refused_with_the_braced_form() {
    let dir = Workdir::new();
    let path = dir.write("spec.yaml", &image_spec("$IMAGE_JOB_ID", ""));
    let out = output_within(
        jobgate().env("IMAGE_JOB_ID", JOB).arg("validate").arg(path),
        Duration::from_secs(60),
    );
    assert_refused(&out, &["spec::bare_variable", "${IMAGE_JOB_ID}", ":4:16"]);
    // A default is literal text, so `$NAME` there would be sent as is too.
    let out = validate(&image_spec("\"${UNSET_ID:-$FALLBACK_ID}\"", ""));
    assert_refused(&out, &["spec::bare_variable", "${FALLBACK_ID}", ":4:29"]);
}

// ---- 3. rate and concurrency flags -------------------------------------

#[test]
fn rate_and_concurrency_flags_outside_their_range_are_refused() {
    let server = success_server();
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &image_spec(&format!("\"{JOB}\""), ""));
    let cases: [(&str, &str); 7] = [
        ("--max-rps", "0"),
        ("--max-rps", "NaN"),
        ("--max-rps", "-1"),
        ("--max-rps", "inf"),
        ("--max-rps", "0.001"),
        ("--max-concurrency", "0"),
        ("--max-concurrency", "-3"),
    ];
    for (flag, value) in cases {
        let out = output_within(
            jobgate()
                .arg("run")
                .arg(&spec)
                .args(["--endpoint", &server.url()])
                .arg(format!("{flag}={value}")),
            Duration::from_secs(60),
        );
        assert_refused(&out, &[flag]);
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

// ---- 4. nested defaults -------------------------------------------------

#[test]
fn nested_defaults_expand_to_the_inner_value() {
    let spec = image_spec("${UNSET_OUTER:-${INNER_JOB}}", "");
    let out = plan(&spec, &[("INNER_JOB", JOB)]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("/image-server-jobs/{JOB}\n")),
        "{}",
        stdout(&out)
    );
    let spec = image_spec("${UNSET_A:-${UNSET_B:-fallback-1}}", "");
    let out = plan(&spec, &[]);
    assert!(
        stdout(&out).contains("/image-server-jobs/fallback-1\n"),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Both unset: the inner variable is named where it is written.
    let out = validate(&image_spec("${UNSET_A:-${UNSET_B}}", ""));
    assert_refused(&out, &["spec::unset_variable", "`UNSET_B`", ":4:27"]);
}

// ---- 5. scalars as written ------------------------------------------------

#[test]
fn unquoted_numeric_ids_are_polled_as_written() {
    let long = "123456789012345678901234567890123456";
    for id in ["0x1F", "0123", long, "1e3", "0o17"] {
        let out = plan(&image_spec(id, ""), &[]);
        assert_eq!(code(&out), 0, "{id}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("/image-server-jobs/{id}\n")),
            "{id}: {}",
            stdout(&out)
        );
    }
    // And the request really carries it.
    let server = success_server();
    let (out, report) = run_reported(&server.url(), &image_spec(long, ""), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(report["waits"][0]["outcome"], "met");
    let seen = server.seen();
    assert!(
        seen[0]
            .path
            .ends_with(&format!("/image-server-jobs/{long}")),
        "{seen:?}"
    );
}

#[test]
fn where_values_compare_as_the_text_written() {
    let dir = Workdir::new();
    dir.write(
        "spec.yaml",
        "version: 1\nwaits:\n  hires:\n    desktop_sub_jobs: { job_id: j-1 }\n    success:\n      all: [SUCCESS]\n      where: { entities.user_name: [007, alice] }\n    failure:\n      any: [FAILED]\n      where: { entities.user_name: [007, alice] }\n",
    );
    dir.write(
        "page.json",
        r#"{"count": 2, "jobs": [
            {"id": "1", "status": "FAILED", "entities": {"user_name": "007"}},
            {"id": "2", "status": "SUCCESS", "entities": {"user_name": "alice"}}
        ]}"#,
    );
    let out = eval(&dir, "hires", "page.json");
    // User 007's desktop failed: the gate stays shut.
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("verdict: failed"), "{}", stdout(&out));
}

#[test]
fn path_values_yaml_would_retype_are_refused() {
    for value in [
        "007",
        "0x1A",
        "no",
        "on",
        "123456789012345678901234567890123456",
    ] {
        let spec = format!(
            "version: 1\nwaits:\n  rec:\n    get: {{ service: workspace, path: /v2/x }}\n    success: {{ path: $.user, equals: {value} }}\n"
        );
        assert_refused(
            &validate(&spec),
            &["spec::ambiguous_value", &format!("\"{value}\"")],
        );
    }
    // Plain numbers and booleans are fine.
    for value in ["7", "-2", "1.5", "true"] {
        let spec = format!(
            "version: 1\nwaits:\n  rec:\n    get: {{ service: workspace, path: /v2/x }}\n    success: {{ path: $.user, equals: {value} }}\n"
        );
        let out = validate(&spec);
        assert_eq!(code(&out), 0, "{value}: {}", stderr(&out));
    }
}

#[test]
fn wait_names_are_taken_as_written() {
    let spec = "version: 1\nwaits:\n  on:\n    image_job: a\n    target: [SUCCESS]\n  yes:\n    image_job: b\n    target: [SUCCESS]\n  y:\n    image_job: c\n    target: [SUCCESS]\n";
    let out = plan(spec, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    for name in ["on", "yes", "y"] {
        assert!(
            stdout(&out).contains(&format!("\n{name} (image_job)\n")),
            "{name}: {}",
            stdout(&out)
        );
    }
}

// ---- 6. outputs ----------------------------------------------------------

#[test]
fn two_outputs_naming_one_file_are_refused_before_any_request() {
    let server = success_server();
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &image_spec(&format!("\"{JOB}\""), ""));
    let run = |extra: &[&str], envs: &[(&str, &Path)]| {
        let mut cmd = jobgate();
        cmd.current_dir(dir.dir.path())
            .arg("run")
            .arg(&spec)
            .args(["--endpoint", &server.url()])
            .args(extra);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        output_within(&mut cmd, Duration::from_secs(60))
    };
    let out = run(&["--report", "out.json", "--junit", "./out.json"], &[]);
    assert_refused(&out, &["--report", "--junit", "same file"]);
    let github_output = dir.path("github-output");
    let out = run(
        &["--report", "github-output"],
        &[("GITHUB_OUTPUT", &github_output)],
    );
    assert_refused(&out, &["$GITHUB_OUTPUT", "same file"]);
    let out = run(&["--junit", "-"], &[]);
    assert_refused(&out, &["--junit"]);
    // Nor may a report overwrite the spec it reports on.
    let before = std::fs::read(&spec).unwrap();
    let out = run(&["--report", "spec.yaml"], &[]);
    assert_refused(&out, &["--report", "the spec", "same file"]);
    assert_eq!(std::fs::read(&spec).unwrap(), before);
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    assert!(!dir.path("out.json").exists() && !github_output.exists());
}

#[test]
fn report_dash_prints_the_report_alone_on_stdout() {
    let server = success_server();
    let dir = Workdir::new();
    let spec = dir.write("spec.yaml", &image_spec(&format!("\"{JOB}\""), ""));
    let out = output_within(
        jobgate()
            .current_dir(dir.dir.path())
            .arg("run")
            .arg(&spec)
            .args(["--endpoint", &server.url(), "--report", "-"]),
        Duration::from_secs(60),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not the JSON report ({e}): {}", stdout(&out)));
    assert_report_matches_schema(&report);
    assert_eq!(report["waits"][0]["outcome"], "met");
    assert!(!dir.path("-").exists(), "a file named `-` was written");
}

// ---- 7. messages -----------------------------------------------------------

#[test]
fn a_second_yaml_document_is_named_plainly() {
    let spec = format!("{}---\n{}", image_spec("a", ""), image_spec("b", ""));
    let out = validate(&spec);
    assert_refused(
        &out,
        &["spec::documents", "more than one YAML document", ":6:1"],
    );
    assert!(!stderr(&out).contains("from_str"), "{}", stderr(&out));
}

#[test]
fn eval_calls_an_unreadable_response_the_response() {
    let dir = Workdir::new();
    dir.write("spec.yaml", &image_spec("a", ""));
    std::fs::write(dir.path("bad.json"), b"\xff\xfe{}").unwrap();
    let out = eval(&dir, "build", "bad.json");
    assert_refused(&out, &["cannot read the response bad.json", "UTF-8"]);
    assert!(!stderr(&out).contains("spec"), "{}", stderr(&out));
}

/// `jobgate eval spec.yaml --wait WAIT --response RESPONSE` in `dir`
/// (relative paths, so messages name no directory of this machine).
fn eval(dir: &Workdir, wait: &str, response: &str) -> Output {
    output_within(
        jobgate().current_dir(dir.dir.path()).args([
            "eval",
            "spec.yaml",
            "--wait",
            wait,
            "--response",
            response,
        ]),
        Duration::from_secs(120),
    )
}

// ---- 8. input size caps ------------------------------------------------------

/// A sparse file of `len` bytes (zeros), cheap to make at any size.
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

#[test]
fn a_spec_larger_than_the_cap_is_refused() {
    let dir = Workdir::new();
    let big = dir.path("big.yaml");
    sparse(&big, 16 * 1024 * 1024 + 1);
    let out = output_within(
        jobgate().arg("validate").arg(&big),
        Duration::from_secs(120),
    );
    assert_refused(&out, &["cannot read the spec", "larger than 16 MiB"]);
}

#[cfg(unix)]
#[test]
fn dev_zero_as_a_spec_or_a_response_ends_with_a_message() {
    let out = output_within(
        jobgate().args(["validate", "/dev/zero"]),
        Duration::from_secs(120),
    );
    assert_refused(
        &out,
        &["cannot read the spec /dev/zero", "larger than 16 MiB"],
    );
    let dir = Workdir::new();
    dir.write("spec.yaml", &image_spec("a", ""));
    let out = eval(&dir, "build", "/dev/zero");
    assert_refused(
        &out,
        &["cannot read the response /dev/zero", "larger than 64 MiB"],
    );
}

#[test]
fn a_response_larger_than_the_cap_is_refused() {
    let dir = Workdir::new();
    dir.write("spec.yaml", &image_spec("a", ""));
    sparse(&dir.path("big.json"), 64 * 1024 * 1024 + 1);
    let out = eval(&dir, "build", "big.json");
    assert_refused(
        &out,
        &["cannot read the response big.json", "larger than 64 MiB"],
    );
}

// ---- 9. endpoint ports ---------------------------------------------------------

#[test]
fn an_endpoint_port_above_65535_is_refused_in_the_spec() {
    for url in ["https://ws.example.com:70000", "http://127.0.0.1:65536/"] {
        let spec = format!(
            "version: 1\ndefaults:\n  endpoints: {{ workspace: \"{url}\" }}\n{}",
            image_spec("a", "").trim_start_matches("version: 1\n")
        );
        assert_refused(&validate(&spec), &["spec::endpoint", "65535", ":3:27"]);
    }
}

// ---- the schema agrees ------------------------------------------------------------

#[test]
fn the_spec_schema_refuses_what_the_validator_refuses() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/spec.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let valid = |yaml: &str| {
        let instance: serde_json::Value = serde_saphyr::from_str(yaml).unwrap();
        validator.is_valid(&instance)
    };
    for (job, timeout, ok) in [
        ("\"${IMAGE_JOB_ID}\"", "2d", true),
        ("\"a$1\"", "90s", true),
        ("\"$IMAGE_JOB_ID\"", "5m", false),
        ("\"x-$JOB\"", "5m", false),
        ("\"1\"", "30M", false),
        ("\"1\"", "2w", false),
        ("\"1\"", "1y", false),
    ] {
        let spec = image_spec(job, &format!("    timeout: {timeout}\n"));
        assert_eq!(valid(&spec), ok, "{spec}");
    }
    for (path, ok) in [
        ("/v2/{project_id}/x/${JOB}", true),
        ("/v2/$PROJECT/x", false),
        ("/v2/x?y=1", false),
    ] {
        let spec = format!(
            "version: 1\nwaits:\n  g:\n    get: {{ service: workspace, path: \"{path}\" }}\n    success: {{ path: $.a, exists: true }}\n"
        );
        assert_eq!(valid(&spec), ok, "{spec}");
        let out = validate(&spec.replace("${JOB}", "j"));
        assert_eq!(code(&out) == 0, ok, "{path}: {}", stderr(&out));
    }
}
