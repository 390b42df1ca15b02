//! The catalogue of invalid specs: every file under `tests/fixtures/invalid`
//! is one mistake a user can make. `jobgate validate` must refuse each with
//! exit code 2 and a diagnostic that says what is wrong, where, and how to
//! fix it; the rendered diagnostics are snapshots under `tests/snapshots/`.
//!
//! A fixture's first line is a comment saying what it tests. A second line
//! `# env: -NAME` removes `NAME` from the environment the binary sees;
//! `# env: NAME=value` sets it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use jobgate::spec::DiagnosticCode;

const PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid")
}

/// Runs `jobgate validate FILE` in `dir` with a clean, fixed environment.
fn validate(dir: &Path, file: &str, removed: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobgate"));
    cmd.current_dir(dir).arg("validate").arg(file);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["HUAWEICLOUD_", "JOBGATE_", "GITHUB_"]
            .iter()
            .any(|p| name.starts_with(p))
        {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd.env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("FORCE_COLOR")
        .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT_ID);
    for name in removed {
        match name.split_once('=') {
            Some((name, value)) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    cmd.output().expect("the jobgate binary runs")
}

/// The `# env: -NAME` and `# env: NAME=value` directives in a fixture's
/// leading comment lines (as `NAME` and `NAME=value`).
fn removed_vars(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter_map(|l| l.strip_prefix("# env:"))
        .flat_map(|rest| {
            rest.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter_map(|v| match v.strip_prefix('-') {
            Some(name) => Some(name.to_owned()),
            None => v.contains('=').then_some(v),
        })
        .collect()
}

/// Checks what holds for every refusal, whatever the mistake.
fn assert_refused(name: &str, output: &Output) -> String {
    let stderr = String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8");
    assert_eq!(
        output.status.code(),
        Some(2),
        "{name}: expected exit code 2\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{name}: the binary panicked\n{stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "{name}: validate wrote to stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    // Validation never polls: no request may appear on stderr.
    assert!(
        !stderr.contains("GET /v") && !stderr.contains("POST /v"),
        "{name}: something was polled\n{stderr}"
    );
    stderr
}

#[test]
fn every_invalid_fixture_is_refused_with_a_located_diagnostic() {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures directory")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "only {} fixtures", names.len());
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("../snapshots/invalid");
    let _guard = settings.bind_to_scope();
    for name in &names {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        assert!(
            bytes.starts_with(b"# "),
            "{name}: the first line must be a comment saying what it tests"
        );
        let removed = removed_vars(&bytes);
        let removed: Vec<&str> = removed.iter().map(String::as_str).collect();
        let output = validate(&dir, name, &removed);
        let stderr = assert_refused(name, &output);
        // Spec diagnostics name the file with line and column; read errors
        // (not UTF-8) name the file and the reason.
        assert!(
            stderr.contains(name.as_str()),
            "{name}: file not named\n{stderr}"
        );
        let stem = name.trim_end_matches(".yaml");
        insta::assert_snapshot!(stem, stderr);
    }
}

#[test]
fn spec_diagnostics_carry_a_code_a_location_and_a_hint() {
    let dir = fixtures_dir();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        if std::str::from_utf8(&bytes).is_err() {
            continue;
        }
        let removed = removed_vars(&bytes);
        let removed: Vec<&str> = removed.iter().map(String::as_str).collect();
        let stderr = assert_refused(&name, &validate(&dir, &name, &removed));
        assert!(
            stderr.contains("spec::"),
            "{name}: no diagnostic code\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("[{name}:")),
            "{name}: no file:line:column\n{stderr}"
        );
        assert!(stderr.contains("help:"), "{name}: no hint\n{stderr}");
        assert!(
            stderr.ends_with("nothing was polled.\n"),
            "{name}: no summary\n{stderr}"
        );
    }
}

#[test]
fn a_zero_byte_file_is_an_empty_spec() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.yaml"), b"").unwrap();
    let output = validate(dir.path(), "empty.yaml", &[]);
    let stderr = assert_refused("empty.yaml", &output);
    assert!(stderr.contains("spec::empty"), "{stderr}");
}

/// A spec far larger than anyone writes: the binary must answer promptly,
/// without panicking, and without printing megabytes of diagnostics.
fn assert_huge_file_is_refused(file_name: &str, contents: &str) -> String {
    assert!(contents.len() >= 5 * 1024 * 1024);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file_name), contents).unwrap();
    let started = Instant::now();
    let output = validate(dir.path(), file_name, &[]);
    let elapsed = started.elapsed();
    let stderr = assert_refused(file_name, &output);
    assert!(
        elapsed < Duration::from_secs(60),
        "{file_name}: took {elapsed:?}"
    );
    assert!(
        stderr.len() < 64 * 1024,
        "{file_name}: {} bytes of diagnostics",
        stderr.len()
    );
    stderr
}

const VALID_HEAD: &str =
    "version: 1\nwaits:\n  build:\n    image_job: \"7023648\"\n    target: [SUCCESS]\n";

#[test]
fn a_huge_file_with_a_quarter_million_keys_hits_the_parser_budget() {
    let mut contents = String::from(VALID_HEAD);
    let mut i = 0;
    while contents.len() < 5 * 1024 * 1024 {
        contents.push_str(&format!("unexpected_key_{i:07}: some value\n"));
        i += 1;
    }
    let stderr = assert_huge_file_is_refused("many-keys.yaml", &contents);
    assert!(stderr.contains("spec::yaml"), "{stderr}");
}

#[test]
fn a_huge_file_with_thousands_of_mistakes_shows_the_first_ones() {
    let mut contents = String::from(VALID_HEAD);
    let value = "v".repeat(1000);
    let mut i = 0;
    while contents.len() < 5 * 1024 * 1024 {
        contents.push_str(&format!("unexpected_key_{i:05}: {value}\n"));
        i += 1;
    }
    let stderr = assert_huge_file_is_refused("long-keys.yaml", &contents);
    assert!(stderr.contains("spec::unknown_key"), "{stderr}");
    assert!(stderr.contains("more not shown"), "{stderr}");
    assert!(stderr.contains(&format!("{i} errors")), "{stderr}");
}

#[test]
fn a_huge_file_with_one_very_long_line_is_refused_promptly() {
    let long = "x/".repeat(5 * 512 * 1024 + 1);
    let contents =
        format!("version: 1\nwaits:\n  build:\n    image_job: \"{long}\"\n    target: [SUCCESS]\n");
    let stderr = assert_huge_file_is_refused("long-line.yaml", &contents);
    assert!(stderr.contains("spec::job_id"), "{stderr}");
}

/// Codes that no spec file can trigger, each with the reason. Every other
/// code must be shown by at least one fixture.
const CODES_WITHOUT_A_FIXTURE: &[(DiagnosticCode, &str)] = &[];

#[test]
fn every_diagnostic_code_has_a_snapshot() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The rendered diagnostics show each code on a line of its own.
    let mut shown = BTreeSet::new();
    for entry in std::fs::read_dir(root.join("tests/snapshots/invalid")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        shown.extend(
            text.lines()
                .filter(|l| l.starts_with("spec::"))
                .map(str::to_owned),
        );
    }
    let exempt: BTreeSet<&str> = CODES_WITHOUT_A_FIXTURE
        .iter()
        .map(|(c, _)| c.as_str())
        .collect();
    let missing: Vec<&str> = DiagnosticCode::ALL
        .iter()
        .filter(|c| !exempt.contains(c.as_str()) && !shown.contains(c.as_str()))
        .map(|c| c.as_str())
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
    // And every code shown is in the catalogue.
    let unknown: Vec<&String> = shown
        .iter()
        .filter(|s| !DiagnosticCode::ALL.iter().any(|c| c == &s.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "codes not in DiagnosticCode: {unknown:?}"
    );
    for (code, _) in CODES_WITHOUT_A_FIXTURE {
        assert!(!shown.contains(code.as_str()), "{code} has a fixture now");
    }
}
