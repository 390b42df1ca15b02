//! Finds the Python that has the official Huawei Cloud SDK installed
//! (`tests/sdk/requirements.txt`), for tests that cross-check against it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variable naming a Python interpreter with the official SDK installed.
pub const ENV_SDK_PYTHON: &str = "JOBGATE_SDK_PYTHON";

/// The Python named by `JOBGATE_SDK_PYTHON`, or `None` when the test should
/// be skipped. On CI (`CI` set) a missing variable fails instead, so the
/// cross-check cannot silently stop running.
pub fn sdk_python(test: &str) -> Option<PathBuf> {
    match std::env::var_os(ENV_SDK_PYTHON) {
        Some(python) if !python.is_empty() => Some(PathBuf::from(python)),
        _ if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) => panic!(
            "{test}: {ENV_SDK_PYTHON} is not set, but CI is: run .ci/run, or install \
             tests/sdk/requirements.txt into a virtualenv and set {ENV_SDK_PYTHON} to its python"
        ),
        _ => {
            // Written to the stderr handle directly: the test harness captures
            // eprintln! output of passing tests, and a skip must be visible.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: set {ENV_SDK_PYTHON}=/path/to/venv/bin/python (a Python with \
                 tests/sdk/requirements.txt installed) to cross-check against the official SDK"
            );
            None
        }
    }
}

/// A file under `tests/sdk/`.
pub fn sdk_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sdk")
        .join(name)
}

/// Runs a script from `tests/sdk/` and returns its standard output; panics
/// with the script's standard error if it fails.
pub fn run_sdk_script(python: &Path, name: &str, args: &[&str]) -> String {
    let script = sdk_script(name);
    let output = Command::new(python)
        .arg(&script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", python.display(), script.display()));
    assert!(
        output.status.success(),
        "{} {} failed ({}); is tests/sdk/requirements.txt installed for it?\n{}",
        python.display(),
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("the script prints UTF-8")
}

/// Runs `tests/sdk/keyless_flow.py --mode MODE` with the SDK's own keyless
/// variables `env`, against the simulator at `sim` (IAM and Workspace),
/// and checks that the official SDK read job `desk-1` as SUCCESS.
pub fn keyless_flow(python: &Path, mode: &str, env: &[(&str, &std::ffi::OsStr)], sim: &str) {
    let mut cmd = Command::new(python);
    cmd.arg(sdk_script("keyless_flow.py"))
        .args(["--mode", mode])
        .envs(env.iter().copied())
        .env("HUAWEICLOUD_SDK_PROJECT_ID", super::harness::PROJECT)
        .args(["--endpoint", sim, "--job-id", "desk-1"]);
    let out = super::harness::output_within(&mut cmd, std::time::Duration::from_secs(120));
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("status SUCCESS"));
}
