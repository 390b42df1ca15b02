//! The commonest integration test in one fluent chain: a spec, the
//! simulator on a scenario (or another endpoint), `jobgate run` with a JSON
//! report, then assertions on the exit code, the report and the simulator.
//! A test states only what differs from the plain run: variables set,
//! removed or naming a file of the run's directory, the gateway's auth, the
//! GitHub runner's files, a JUnit report.
//!
//! ```ignore
//! Test::new()
//!     .scenario(IMAGE_JOBS)
//!     .spec(&spec("  build:\n    image_job: img-bad\n    target: [SUCCESS]\n"))
//!     .github_actions()
//!     .run()
//!     .exit(1)
//!     .report(|r| assert_eq!(r["waits"][0]["outcome"], "failed"))
//!     .stderr_has(&["FAILED"]);
//! ```
//!
//! Every run has `--seed 1`, a hang guard, and (unless
//! [`Test::no_report`]) its report checked against the schema and its exit
//! code against the process's. [`super::harness::run_reported`] is this
//! builder with an endpoint, a spec and arguments.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use jobgate::sim::{Faults, SimAuth, stats::Stats};
use serde_json::Value;

use super::harness::{
    AK, SK, Sim, Workdir, code, exit_within, jobgate, output_within, report, stderr,
};

/// What an environment variable of the run is set to.
enum EnvValue {
    Text(String),
    /// The simulator's URL (known once it has started).
    SimUrl,
    /// The path of a file in the run's directory.
    Path(String),
}

/// A run to be made.
#[must_use = "a Test does nothing until `.run()`"]
pub struct Test {
    spec: String,
    spec_path: Option<PathBuf>,
    spec_name: String,
    in_workdir: bool,
    scenario: Option<String>,
    faults: Option<Faults>,
    seeded: bool,
    auth: Option<SimAuth>,
    endpoint: Option<String>,
    args: Vec<String>,
    env: Vec<(String, EnvValue)>,
    env_remove: Vec<String>,
    files: Vec<(String, String)>,
    dirs: Vec<String>,
    junit: bool,
    report: bool,
}

impl Test {
    pub fn new() -> Test {
        Test {
            spec: String::new(),
            spec_path: None,
            spec_name: "spec.yaml".to_owned(),
            in_workdir: false,
            scenario: None,
            faults: None,
            seeded: false,
            auth: None,
            endpoint: None,
            args: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            files: Vec::new(),
            dirs: Vec::new(),
            junit: false,
            report: true,
        }
    }

    /// The spec to run.
    pub fn spec(mut self, yaml: &str) -> Test {
        yaml.clone_into(&mut self.spec);
        self
    }

    /// Runs the spec file at `path` (an example, say) instead of `.spec()`.
    pub fn spec_path(mut self, path: &Path) -> Test {
        self.spec_path = Some(path.to_owned());
        self
    }

    /// Runs from the run's own directory, naming the spec `name` there, as
    /// a workflow runs from the repository root: annotations and messages
    /// then name the spec by that relative path.
    pub fn in_workdir(mut self, name: &str) -> Test {
        name.clone_into(&mut self.spec_name);
        self.in_workdir = true;
        self
    }

    /// The simulator's scenario; the run polls the simulator.
    pub fn scenario(mut self, yaml: &str) -> Test {
        self.scenario = Some(yaml.to_owned());
        self
    }

    /// Faults overriding the scenario's own.
    pub fn faults(mut self, faults: Faults) -> Test {
        self.faults = Some(faults);
        self
    }

    /// Faults overriding the scenario's own, deciding on their own `seed`
    /// (chosen by the test to meet a known sequence of faults).
    pub fn seeded_faults(mut self, faults: Faults) -> Test {
        self.faults = Some(faults);
        self.seeded = true;
        self
    }

    /// What the simulator's gateway accepts instead of the harness's AK/SK.
    pub fn auth(mut self, auth: SimAuth) -> Test {
        self.auth = Some(auth);
        self
    }

    /// Polls `url` (a hostile server, say) instead of a simulator.
    pub fn endpoint(mut self, url: &str) -> Test {
        self.endpoint = Some(url.to_owned());
        self
    }

    /// More arguments for `jobgate run`.
    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|a| (*a).to_owned()));
        self
    }

    /// An environment variable for the process.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env
            .push((key.to_owned(), EnvValue::Text(value.to_owned())));
        self
    }

    /// A variable the harness sets (credentials, project) left unset.
    pub fn env_remove(mut self, key: &str) -> Test {
        self.env_remove.push(key.to_owned());
        self
    }

    /// An environment variable set to the simulator's URL.
    pub fn env_sim_url(mut self, key: &str) -> Test {
        self.env.push((key.to_owned(), EnvValue::SimUrl));
        self
    }

    /// Writes `text` to the file `name` in the run's directory and sets
    /// `key` to its path.
    pub fn env_file(self, key: &str, name: &str, text: &str) -> Test {
        self.file(name, text).env_path(key, name)
    }

    /// Sets `key` to the path of `name` in the run's directory, a file the
    /// test may or may not write.
    pub fn env_path(mut self, key: &str, name: &str) -> Test {
        self.env
            .push((key.to_owned(), EnvValue::Path(name.to_owned())));
        self
    }

    /// Writes `text` to the file `name` in the run's directory (in the
    /// order given: a later `file` replaces what an earlier one wrote, the
    /// empty runner files of [`Test::github_actions`], say).
    pub fn file(mut self, name: &str, text: &str) -> Test {
        self.files.push((name.to_owned(), text.to_owned()));
        self
    }

    /// Makes the directory `name` in the run's directory (where a file is
    /// expected, to make writing it fail).
    pub fn dir(mut self, name: &str) -> Test {
        self.dirs.push(name.to_owned());
        self
    }

    /// The runner's files, empty (`GITHUB_OUTPUT` in `github_output`,
    /// `GITHUB_STEP_SUMMARY` in `step_summary`), without `GITHUB_ACTIONS`.
    pub fn github_files(self) -> Test {
        self.env_file("GITHUB_OUTPUT", "github_output", "")
            .env_file("GITHUB_STEP_SUMMARY", "step_summary", "")
    }

    /// Runs as a GitHub Actions step: `GITHUB_ACTIONS=true` and the
    /// runner's files ([`Test::github_files`]); read them back with
    /// [`Ran::file`].
    pub fn github_actions(self) -> Test {
        self.env("GITHUB_ACTIONS", "true").github_files()
    }

    /// Under GitHub Actions, with the step summary a directory, so writing
    /// it fails (and only it: `GITHUB_OUTPUT` is left to the test).
    pub fn unwritable_step_summary(self) -> Test {
        self.env("GITHUB_ACTIONS", "true")
            .dir("summary-is-a-directory")
            .env_path("GITHUB_STEP_SUMMARY", "summary-is-a-directory")
    }

    /// Asks for a JUnit report, `junit.xml` in the run's directory.
    pub fn junit(mut self) -> Test {
        self.junit = true;
        self
    }

    /// Runs without `--report`, for a run that ends before it can write
    /// one (a usage error): `Ran::report` is then null.
    pub fn no_report(mut self) -> Test {
        self.report = false;
        self
    }

    /// Starts the simulator when there is a scenario; the endpoint to poll.
    fn endpoint_and_sim(&self) -> (String, Option<Sim>) {
        let sim = self.scenario.as_deref().map(|scenario| {
            let auth = self.auth.clone().unwrap_or_else(|| SimAuth::AkSk {
                access_key: AK.into(),
                secret_key: SK.into(),
            });
            match (&self.faults, self.seeded) {
                (Some(faults), true) => {
                    assert!(self.auth.is_none(), "seeded faults with another auth");
                    Sim::start_seeded(scenario, faults.clone())
                }
                _ => Sim::start_with_auth(scenario, self.faults.clone(), auth),
            }
        });
        let endpoint = match (&self.endpoint, &sim) {
            (Some(url), _) => url.clone(),
            (None, Some(sim)) => sim.url(),
            (None, None) => panic!("a Test needs a .scenario() or an .endpoint()"),
        };
        (endpoint, sim)
    }

    /// The command, its files written to `dir`.
    fn command(&self, dir: &Workdir, endpoint: &str, sim: Option<&Sim>) -> Command {
        for (name, text) in &self.files {
            dir.write(name, text);
        }
        for name in &self.dirs {
            std::fs::create_dir(dir.path(name)).unwrap();
        }
        let spec = match &self.spec_path {
            Some(path) => path.clone(),
            None => {
                let written = dir.write(&self.spec_name, &self.spec);
                if self.in_workdir {
                    PathBuf::from(&self.spec_name)
                } else {
                    written
                }
            }
        };
        let mut cmd = jobgate();
        if self.in_workdir {
            cmd.current_dir(dir.dir.path());
        }
        for key in &self.env_remove {
            cmd.env_remove(key);
        }
        for (key, value) in &self.env {
            match value {
                EnvValue::Text(text) => cmd.env(key, text),
                EnvValue::SimUrl => cmd.env(
                    key,
                    sim.expect("a simulator URL without a .scenario()").url(),
                ),
                EnvValue::Path(name) => cmd.env(key, dir.path(name)),
            };
        }
        cmd.arg("run")
            .arg(&spec)
            .args(["--endpoint", endpoint, "--seed", "1"]);
        if self.report {
            cmd.arg("--report").arg(dir.path("report.json"));
        }
        if self.junit {
            cmd.arg("--junit").arg(dir.path("junit.xml"));
        }
        cmd.args(&self.args);
        cmd
    }

    /// Runs it: starts the simulator when there is a scenario, then jobgate
    /// (under the [`output_within`] guard against hangs). The report is
    /// read with [`report`] (so checked against the schema) and its exit
    /// code checked against the process's.
    pub fn run(self) -> Ran {
        let (endpoint, sim) = self.endpoint_and_sim();
        let dir = Workdir::new();
        let mut cmd = self.command(&dir, &endpoint, sim.as_ref());
        let launched = sim.as_ref().map(Sim::elapsed);
        let out = output_within(&mut cmd, Duration::from_secs(120));
        let (report, report_text) = if self.report {
            let path = dir.path("report.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!("no report ({e}), exit {}: {}", code(&out), stderr(&out))
            });
            let report = report(&path);
            assert_eq!(
                report["exit_code"].as_i64(),
                Some(i64::from(code(&out))),
                "the report's exit code is not the process's: {}",
                stderr(&out)
            );
            (report, text)
        } else {
            (Value::Null, String::new())
        };
        Ran {
            out,
            report,
            report_text,
            sim,
            launched,
            dir,
        }
    }

    /// Starts jobgate without waiting for it to end, to signal it: see
    /// [`Running::signal_when`].
    pub fn spawn(self) -> Running {
        assert!(self.report, "a spawned Test always writes its report");
        let (endpoint, sim) = self.endpoint_and_sim();
        let dir = Workdir::new();
        let mut cmd = self.command(&dir, &endpoint, sim.as_ref());
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        Running {
            child: cmd.spawn().unwrap(),
            sim,
            dir,
        }
    }
}

/// A jobgate process under way.
pub struct Running {
    child: Child,
    sim: Option<Sim>,
    dir: Workdir,
}

impl Running {
    /// The simulator it polls.
    pub fn sim(&self) -> &Sim {
        self.sim
            .as_ref()
            .expect("this Test runs against an endpoint, not a simulator")
    }

    /// Once `ready` holds (failing the test if jobgate ends first), sends
    /// it `signal` (`INT`, `TERM`) and waits for it to exit; the hang
    /// guard is far above the time the exit takes, not a measurement.
    #[cfg(unix)]
    pub fn signal_when(mut self, signal: &str, ready: impl Fn(&Running) -> bool) -> Ran {
        while !ready(&self) {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "jobgate ended early"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(killed.success(), "kill -{signal} {pid}");
        exit_within(&mut self.child, Duration::from_secs(30));
        let out = self.child.wait_with_output().unwrap();
        let report_path = self.dir.path("report.json");
        let report_text = std::fs::read_to_string(&report_path).unwrap();
        let report = report(&report_path);
        assert_eq!(
            report["exit_code"].as_i64(),
            Some(i64::from(code(&out))),
            "the report's exit code is not the process's: {}",
            stderr(&out)
        );
        Ran {
            out,
            report,
            report_text,
            sim: self.sim,
            launched: None,
            dir: self.dir,
        }
    }
}

/// A finished run, to assert on.
pub struct Ran {
    pub out: Output,
    /// The JSON report, checked against the schema (null after
    /// [`Test::no_report`]).
    pub report: Value,
    /// The report as written.
    pub report_text: String,
    sim: Option<Sim>,
    /// The simulator's clock just before jobgate started.
    launched: Option<Duration>,
    dir: Workdir,
}

impl Ran {
    /// The process exited `expected`.
    pub fn exit(self, expected: i32) -> Ran {
        assert_eq!(code(&self.out), expected, "{}", self.stderr());
        self
    }

    /// Asserts on the report.
    pub fn report(self, check: impl FnOnce(&Value)) -> Ran {
        check(&self.report);
        self
    }

    /// Asserts on the report of the first wait.
    pub fn first_wait(self, check: impl FnOnce(&Value)) -> Ran {
        check(&self.report["waits"][0]);
        self
    }

    /// Stderr contains each of `needles`.
    pub fn stderr_has(self, needles: &[&str]) -> Ran {
        let err = self.stderr();
        for needle in needles {
            assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
        }
        self
    }

    /// Asserts on the simulator's counters.
    pub fn stats(self, check: impl FnOnce(&Stats)) -> Ran {
        check(&self.sim().stats());
        self
    }

    pub fn stderr(&self) -> String {
        stderr(&self.out)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    pub fn code(&self) -> i32 {
        code(&self.out)
    }

    /// The `::error` workflow commands on stdout.
    pub fn annotations(&self) -> Vec<String> {
        self.stdout()
            .lines()
            .filter(|l| l.starts_with("::error"))
            .map(str::to_owned)
            .collect()
    }

    /// A file of the run's directory (`github_output`, `step_summary`,
    /// `junit.xml`, one given to [`Test::file`]), as the run left it.
    pub fn file(&self, name: &str) -> String {
        let path = self.dir.path(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The path of `name` in the run's directory (`report.json`, ...).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path(name)
    }

    /// The simulator's clock just before jobgate was started.
    pub fn launched(&self) -> Duration {
        self.launched
            .expect("this Test ran against an endpoint, not a simulator")
    }

    /// The simulator the run polled.
    pub fn sim(&self) -> &Sim {
        self.sim
            .as_ref()
            .expect("this Test ran against an endpoint, not a simulator")
    }
}
