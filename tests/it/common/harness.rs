//! Runs the real `jobgate` binary against the simulator on loopback.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jobgate::sim::{Faults, Scenario, SimAuth, SimConfig, Simulator, stats::Stats};

use super::test::Test;

pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";
pub const AK: &str = "AKTESTHARNESS0000001";
pub const SK: &str = "SKtestharness000000000000000000000000001";

/// A simulator running on its own runtime for the length of a test.
pub struct Sim {
    runtime: tokio::runtime::Runtime,
    sim: Option<Simulator>,
}

impl Sim {
    /// Starts the scenario with AK/SK verification on.
    pub fn start(scenario_yaml: &str) -> Sim {
        Self::start_with(scenario_yaml, None)
    }

    /// Starts the scenario with faults overriding the scenario's own.
    pub fn start_with(scenario_yaml: &str, faults: Option<Faults>) -> Sim {
        Self::start_with_auth(
            scenario_yaml,
            faults,
            SimAuth::AkSk {
                access_key: AK.into(),
                secret_key: SK.into(),
            },
        )
    }

    /// Like [`Sim::start_with`], with the gateway accepting `auth` instead.
    pub fn start_with_auth(scenario_yaml: &str, faults: Option<Faults>, auth: SimAuth) -> Sim {
        Self::start_config(scenario_yaml, faults, auth, Some(3))
    }

    /// Like [`Sim::start_with`], with the faults deciding on their own
    /// `seed` (the others fix it): for a test that picked the seed to meet
    /// a known sequence of faults.
    pub fn start_seeded(scenario_yaml: &str, faults: Faults) -> Sim {
        Self::start_config(
            scenario_yaml,
            Some(faults),
            SimAuth::AkSk {
                access_key: AK.into(),
                secret_key: SK.into(),
            },
            None,
        )
    }

    fn start_config(
        scenario_yaml: &str,
        faults: Option<Faults>,
        auth: SimAuth,
        seed: Option<u64>,
    ) -> Sim {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let scenario = Scenario::from_yaml(scenario_yaml, "test scenario").unwrap();
        let config = SimConfig { auth, faults, seed };
        let sim = runtime
            .block_on(Simulator::start(
                scenario,
                config,
                "127.0.0.1:0".parse().unwrap(),
            ))
            .unwrap();
        Sim {
            runtime,
            sim: Some(sim),
        }
    }

    pub fn url(&self) -> String {
        self.sim.as_ref().unwrap().base_url()
    }

    pub fn stats(&self) -> Stats {
        self.sim.as_ref().unwrap().stats()
    }

    /// Time since the simulator started, on the clock its stats use.
    pub fn elapsed(&self) -> std::time::Duration {
        self.sim.as_ref().unwrap().elapsed()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

/// A temporary directory holding a spec.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// The binary with a clean environment: credentials and project id for the
/// simulator, no CI or GitHub variables leaking in from the host.
pub fn jobgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jobgate"));
    for (key, _) in std::env::vars() {
        if key.starts_with("HUAWEICLOUD_")
            || key.starts_with("JOBGATE_")
            || key.starts_with("GITHUB_")
            || key == "CI"
            || key == "NO_COLOR"
        {
            cmd.env_remove(key);
        }
    }
    cmd.env("HUAWEICLOUD_SDK_AK", AK)
        .env("HUAWEICLOUD_SDK_SK", SK)
        .env("HUAWEICLOUD_SDK_PROJECT_ID", PROJECT)
        .env("COLUMNS", "100")
        // Each run its own (empty) local history, never the user's.
        .env("XDG_CACHE_HOME", fresh_cache_dir());
    cmd
}

/// A cache directory no other run uses (created only if a run writes).
pub fn fresh_cache_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("jobgate-test-cache-{}-{n}", std::process::id()))
}

/// Runs `jobgate run SPEC --endpoint URL` plus `extra` args.
pub fn run(sim: &Sim, spec: &std::path::Path, extra: &[&str]) -> Output {
    jobgate()
        .arg("run")
        .arg(spec)
        .arg("--endpoint")
        .arg(sim.url())
        .args(["--seed", "1"])
        .args(extra)
        .output()
        .unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Reads a JSON report.
///
/// Every report a test reads is checked against the published schema, so
/// each outcome the tests reach (timeouts, skips, signals...) proves the
/// schema right.
pub fn report(path: &std::path::Path) -> serde_json::Value {
    let report = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_report_matches_schema(&report);
    report
}

/// Writes `spec` to a fresh directory and runs `jobgate run` on it against
/// `endpoint` (with `--seed 1`, as [`run`], plus `extra`) and a JSON report,
/// under the [`output_within`] guard against hangs. Returns the output and
/// the report, read with [`report`] (so checked against the schema), after
/// checking that the report's exit code is the process's.
pub fn run_reported(endpoint: &str, spec: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    run_reported_env(endpoint, spec, extra, &[])
}

/// [`run_reported`] with `env` set for the process.
pub fn run_reported_env(
    endpoint: &str,
    spec: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Output, serde_json::Value) {
    let mut test = Test::new().endpoint(endpoint).spec(spec).args(extra);
    for (key, value) in env {
        test = test.env(key, value);
    }
    let ran = test.run();
    (ran.out, ran.report)
}

/// The report of the wait called `name`, failing the test if there is none.
pub fn wait_named<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["waits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("no wait `{name}` in {report:#}"))
}

/// Parses a runner command file (`$GITHUB_OUTPUT`, `$GITHUB_ENV`) as the
/// runner does: `NAME=VALUE`, or `NAME<<DELIMITER` and lines up to the
/// delimiter; whichever of `=` and `<<` comes first decides.
pub fn parse_command_file(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let heredoc = line.find("<<");
        match line.find('=') {
            Some(eq) if heredoc.is_none_or(|h| eq < h) => {
                out.push((line[..eq].to_owned(), line[eq + 1..].to_owned()));
            }
            _ => {
                let (name, delimiter) = line
                    .split_once("<<")
                    .unwrap_or_else(|| panic!("not NAME=VALUE nor a heredoc: {line:?}"));
                let mut value = Vec::new();
                loop {
                    match lines.next() {
                        Some(l) if l == delimiter => break,
                        Some(l) => value.push(l),
                        None => panic!("heredoc {name} not closed by {delimiter}"),
                    }
                }
                out.push((name.to_owned(), value.join("\n")));
            }
        }
    }
    out
}

/// Runs `cmd` to completion like [`Command::output`], but kills it and fails
/// the test if it is still running after `limit`: a guard against hangs that
/// is far looser than any deadline under test, not a timing assertion.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes as the child writes, so a chatty child cannot block.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let err = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
            panic!("jobgate was still running after {limit:?} and was killed; stderr:\n{err}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// Waits for a spawned jobgate to exit, failing the test (and killing the
/// process) if it has not within `limit`: a guard against a hung suite, set
/// far above the time the exit takes, not a measurement.
pub fn exit_within(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("jobgate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Checks a report as written by the binary against the published schema.
pub fn assert_report_matches_schema(report: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/report.schema.json"))
            .expect("docs/report.schema.json is valid JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the report breaks its schema: {errors:#?}\n{report:#}"
    );
}
