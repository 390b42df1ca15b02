//! The commonest integration test in one fluent chain: a spec, the
//! simulator on a scenario (or another endpoint), `jobgate run` with a JSON
//! report, then assertions on the exit code, the report and the simulator.
//!
//! ```ignore
//! Test::new()
//!     .scenario(IMAGE_JOBS)
//!     .spec(&spec("  build:\n    image_job: img-bad\n    target: [SUCCESS]\n"))
//!     .run()
//!     .exit(1)
//!     .report(|r| assert_eq!(r["waits"][0]["outcome"], "failed"))
//!     .stderr_has("FAILED");
//! ```
//!
//! The run goes through [`run_reported_env`]: `--seed 1`, a hang guard, the
//! report checked against the schema and its exit code against the
//! process's.

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use jobgate::sim::{Faults, stats::Stats};
use serde_json::Value;

use super::harness::{Sim, Workdir, code, exit_within, jobgate, report, run_reported_env, stderr};

/// A run to be made.
#[must_use = "a Test does nothing until `.run()`"]
pub struct Test {
    spec: String,
    scenario: Option<String>,
    faults: Option<Faults>,
    endpoint: Option<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            spec: String::new(),
            scenario: None,
            faults: None,
            endpoint: None,
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    /// The spec to run.
    pub fn spec(mut self, yaml: &str) -> Test {
        yaml.clone_into(&mut self.spec);
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
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts the simulator when there is a scenario; the endpoint to poll.
    fn endpoint_and_sim(&self) -> (String, Option<Sim>) {
        let sim = self
            .scenario
            .as_deref()
            .map(|scenario| Sim::start_with(scenario, self.faults.clone()));
        let endpoint = match (&self.endpoint, &sim) {
            (Some(url), _) => url.clone(),
            (None, Some(sim)) => sim.url(),
            (None, None) => panic!("a Test needs a .scenario() or an .endpoint()"),
        };
        (endpoint, sim)
    }

    /// Runs it: starts the simulator when there is a scenario, then jobgate.
    pub fn run(self) -> Ran {
        let (endpoint, sim) = self.endpoint_and_sim();
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (out, report) = run_reported_env(&endpoint, &self.spec, &args, &env);
        Ran { out, report, sim }
    }

    /// Starts jobgate without waiting for it to end, to signal it: see
    /// [`Running::signal_when`].
    pub fn spawn(self) -> Running {
        let (endpoint, sim) = self.endpoint_and_sim();
        let dir = Workdir::new();
        let spec = dir.write("spec.yaml", &self.spec);
        let report_path = dir.path("report.json");
        let mut cmd = jobgate();
        cmd.arg("run")
            .arg(&spec)
            .args(["--endpoint", &endpoint, "--seed", "1"])
            .arg("--report")
            .arg(&report_path)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        Running {
            child: cmd.spawn().unwrap(),
            sim,
            report_path,
            _dir: dir,
        }
    }
}

/// A jobgate process under way.
pub struct Running {
    child: Child,
    sim: Option<Sim>,
    report_path: PathBuf,
    _dir: Workdir,
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
        let report = report(&self.report_path);
        assert_eq!(
            report["exit_code"].as_i64(),
            Some(i64::from(code(&out))),
            "the report's exit code is not the process's: {}",
            stderr(&out)
        );
        Ran {
            out,
            report,
            sim: self.sim,
        }
    }
}

/// A finished run, to assert on.
pub struct Ran {
    pub out: Output,
    /// The JSON report, checked against the schema.
    pub report: Value,
    sim: Option<Sim>,
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

    /// The simulator the run polled.
    pub fn sim(&self) -> &Sim {
        self.sim
            .as_ref()
            .expect("this Test ran against an endpoint, not a simulator")
    }
}
