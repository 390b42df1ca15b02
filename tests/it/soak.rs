//! Fault soak: hundreds of waits of every kind, run by the real binary against
//! the simulator while it throttles, fails, spoils, resets and delays
//! answers. Every verdict is checked against the scenario's ground truth,
//! every report for completeness and every output for leaked secrets; a
//! server that never answers must not hold a run past its deadline.
//!
//! The scenario, the fault decisions and the poll jitter are all seeded.
//! Which wait meets which fault still depends on scheduling, so error budgets
//! are sized far beyond the streaks these fault rates make plausible: an
//! `api_error` here is a failure of the test, never a tolerated outcome.

use crate::common::harness;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use harness::*;
use jobgate::sim::{Faults, SimAuth, Slow};
use serde_json::Value;

/// The seed of the generated scenario.
const SEED: u64 = 0x50a6;

/// Jobs in the soak scenario (each gets a wait, some get two).
const JOBS: usize = 300;

/// Loose upper bound on any one run: far beyond every deadline used here.
const GUARD: Duration = Duration::from_secs(120);

/// The security token of temporary AK/SK credentials (signed, not verified
/// by the simulator).
const STS: &str = "STSsoaktoken0000000000000000000000000001";

/// An IAM token for token-mode runs.
const TOKEN: &str = "MIIsoaktoken000000000000000000000000000000001";

/// How a job or sub-job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Success,
    Failed,
    /// Stays RUNNING for ever.
    Never,
}

impl End {
    fn draw(rng: &mut fastrand::Rng, failed: u32, never: u32) -> End {
        let n = rng.u32(0..100);
        if n < never {
            End::Never
        } else if n < never + failed {
            End::Failed
        } else {
            End::Success
        }
    }

    /// A timeline RUNNING from `start` (ms) and ending `len` ms later, or
    /// never.
    fn timeline(self, start: u64, len: u64) -> String {
        let last = match self {
            End::Success => "SUCCESS",
            End::Failed => "FAILED",
            End::Never => return format!("[{{at: {start}ms, status: RUNNING}}]"),
        };
        format!(
            "[{{at: {start}ms, status: RUNNING}}, {{at: {}ms, status: {last}}}]",
            start + len
        )
    }

    /// The final status as the simulator's ground truth names it.
    fn status(self) -> Option<&'static str> {
        match self {
            End::Success => Some("SUCCESS"),
            End::Failed => Some("FAILED"),
            End::Never => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Image,
    AppServer,
    Desktop,
}

impl Kind {
    fn scenario_name(self) -> &'static str {
        match self {
            Kind::Image => "image_job",
            Kind::AppServer => "app_server_job",
            Kind::Desktop => "desktop_job",
        }
    }
}

struct SubJob {
    id: String,
    job_type: &'static str,
    end: End,
}

struct Job {
    id: String,
    kind: Kind,
    /// Becomes visible only after an hour, so never within the run.
    ghost: bool,
    visible_after_ms: u64,
    /// The job's own timeline; without it the status derives from sub-jobs.
    own: Option<(u64, u64, End)>,
    subs: Vec<(SubJob, u64, u64)>,
}

impl Job {
    /// The job's final status, derived as the simulator documents it.
    fn end(&self) -> End {
        if let Some((_, _, end)) = self.own {
            return end;
        }
        let ends: Vec<End> = self.subs.iter().map(|(s, _, _)| s.end).collect();
        if ends.contains(&End::Never) {
            End::Never
        } else if ends.contains(&End::Failed) {
            End::Failed
        } else {
            End::Success
        }
    }

    fn sub_jobs(&self) -> impl Iterator<Item = &SubJob> {
        self.subs.iter().map(|(s, _, _)| s)
    }
}

/// How a wait judges its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// `target: [SUCCESS]` on the job: FAILED is an unexpected state.
    JobTarget,
    /// `status: [SUCCESS]` to succeed, `status: [FAILED]` to fail.
    JobStatus,
    /// `all: [SUCCESS]` / `any: [FAILED]` over the sub-jobs in the job's answer.
    JobSubJobs,
    /// The same over the sub-job list endpoint (paged).
    List,
    /// The count endpoint: `SUCCESS == n` / `FAILED >= 1`.
    Count,
}

struct Wait {
    name: String,
    job: usize,
    shape: Shape,
    expected: &'static str,
}

/// A seeded scenario of `n` jobs and one or two waits per job.
struct Soak {
    jobs: Vec<Job>,
    waits: Vec<Wait>,
}

impl Soak {
    fn generate(seed: u64, n: usize) -> Soak {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut jobs = Vec::with_capacity(n);
        let mut waits = Vec::new();
        for i in 0..n {
            let kind = [Kind::Image, Kind::AppServer, Kind::Desktop][i % 3];
            let id = format!("soak-{i:03}-{}", kind.scenario_name().replace('_', "-"));
            let ghost = rng.u32(0..100) < 4;
            let visible_after_ms = if ghost {
                3_600_000
            } else if rng.bool() {
                rng.u64(0..600)
            } else {
                0
            };
            // Compressed timelines: everything that ends, ends within 7.5 s.
            let span = |rng: &mut fastrand::Rng| (rng.u64(0..1500), rng.u64(500..6000));
            let (own, subs) = if rng.u32(0..100) < 15 {
                let (start, len) = span(&mut rng);
                (Some((start, len, End::draw(&mut rng, 35, 10))), Vec::new())
            } else {
                let count = rng.usize(1..=4);
                let subs = (0..count)
                    .map(|k| {
                        let (start, len) = span(&mut rng);
                        let job_type = match kind {
                            Kind::Image if rng.bool() => "CREATE_SERVER_IMAGE",
                            Kind::Image | Kind::AppServer => "CREATE_SERVER",
                            Kind::Desktop => "createDesktops",
                        };
                        let sub = SubJob {
                            id: format!("{id}-s{k}"),
                            job_type,
                            end: End::draw(&mut rng, 15, 4),
                        };
                        (sub, start, len)
                    })
                    .collect();
                (None, subs)
            };
            let job = Job {
                id,
                kind,
                ghost,
                visible_after_ms,
                own,
                subs,
            };
            let shapes: &[Shape] = match (job.subs.is_empty(), kind) {
                (true, _) => &[Shape::JobTarget, Shape::JobStatus],
                (false, Kind::Desktop) => &[
                    Shape::JobTarget,
                    Shape::JobStatus,
                    Shape::JobSubJobs,
                    Shape::List,
                ],
                (false, _) => &[
                    Shape::JobTarget,
                    Shape::JobStatus,
                    Shape::JobSubJobs,
                    Shape::List,
                    Shape::Count,
                ],
            };
            let shape = shapes[rng.usize(..shapes.len())];
            waits.push(Wait {
                name: format!("w{i:03}-{shape:?}").to_lowercase(),
                job: i,
                shape,
                expected: expected(&job, shape),
            });
            // A second wait on some jobs: identical requests are coalesced.
            if i % 8 == 0 {
                let second = if shape == Shape::JobStatus {
                    Shape::JobTarget
                } else {
                    Shape::JobStatus
                };
                waits.push(Wait {
                    name: format!("w{i:03}-again-{second:?}").to_lowercase(),
                    job: i,
                    shape: second,
                    expected: expected(&job, second),
                });
            }
            jobs.push(job);
        }
        Soak { jobs, waits }
    }

    fn scenario(&self) -> String {
        let mut y = format!("project_id: {PROJECT}\nseed: 5\njobs:\n");
        for job in &self.jobs {
            let _ = writeln!(
                y,
                "  - id: {}\n    kind: {}\n    visible_after: {}ms",
                job.id,
                job.kind.scenario_name(),
                job.visible_after_ms
            );
            if let Some((start, len, end)) = job.own {
                let _ = writeln!(y, "    timeline: {}", end.timeline(start, len));
                if end == End::Failed {
                    let _ = writeln!(
                        y,
                        "    error: {{code: WKS.00129901, message: \"{} failed\"}}",
                        job.id
                    );
                }
            }
            if !job.subs.is_empty() {
                y.push_str("    sub_jobs:\n");
            }
            for (sub, start, len) in &job.subs {
                let _ = writeln!(
                    y,
                    "      - id: {}\n        job_type: {}\n        timeline: {}",
                    sub.id,
                    sub.job_type,
                    sub.end.timeline(*start, *len)
                );
                if sub.end == End::Failed {
                    let _ = writeln!(
                        y,
                        "        error: {{code: WKS.00129901, message: \"{} failed\"}}",
                        sub.id
                    );
                }
            }
        }
        y
    }

    fn spec(&self) -> String {
        let mut y = String::from(
            "version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 45s
  poll: { initial: 100ms, max: 250ms, factor: 2, jitter: full }
  not_found_grace: 2s
  error_budget: 40
waits:
",
        );
        for wait in &self.waits {
            let job = &self.jobs[wait.job];
            let _ = writeln!(y, "  {}:", wait.name);
            let key = |suffix: &str| match job.kind {
                Kind::Image => format!("image{suffix}"),
                Kind::AppServer => format!("app_server{suffix}"),
                Kind::Desktop => format!("desktop{suffix}"),
            };
            let (all_any, status) = (
                "    success: { all: [SUCCESS] }\n    failure: { any: [FAILED] }\n",
                "    success: { status: [SUCCESS] }\n    failure: { status: [FAILED] }\n",
            );
            match wait.shape {
                Shape::JobTarget => {
                    let _ = writeln!(y, "    {}: {}\n    target: [SUCCESS]", key("_job"), job.id);
                }
                Shape::JobStatus => {
                    let _ = write!(y, "    {}: {}\n{status}", key("_job"), job.id);
                }
                Shape::JobSubJobs => {
                    let _ = write!(y, "    {}: {}\n{all_any}", key("_job"), job.id);
                }
                Shape::List => {
                    let filter =
                        list_filter(job).map_or(String::new(), |t| format!(", job_type: {t}"));
                    let _ = write!(
                        y,
                        "    {}: {{ job_id: {}{filter} }}\n{all_any}",
                        key("_sub_jobs"),
                        job.id
                    );
                }
                Shape::Count => {
                    let filter =
                        list_filter(job).map_or(String::new(), |t| format!(", job_type: [{t}]"));
                    let n = selected(job).len();
                    let _ = write!(
                        y,
                        "    {}: {{ job_id: {}{filter} }}\n    success: {{ count: [SUCCESS], is: \"== {n}\" }}\n    failure: {{ count: [FAILED], is: \">= 1\" }}\n",
                        key("_sub_job_count"),
                        job.id
                    );
                }
            }
            // Only a wait whose job never ends may run into its timeout; it
            // gets a short one so the soak stays short.
            if wait.expected == "timed_out" {
                y.push_str("    timeout: 10s\n");
            }
        }
        y
    }
}

/// The `job_type` filter of list and count waits: the image endpoints need
/// one, so they select the first sub-job's type.
fn list_filter(job: &Job) -> Option<&'static str> {
    (job.kind == Kind::Image).then(|| job.subs[0].0.job_type)
}

/// The sub-jobs a list or count wait selects.
fn selected(job: &Job) -> Vec<&SubJob> {
    let filter = list_filter(job);
    job.sub_jobs()
        .filter(|s| filter.is_none_or(|t| s.job_type == t))
        .collect()
}

/// The outcome the spec's semantics give for the job's ground truth:
/// failure conditions first, then undeclared statuses, then emptiness, then
/// success; a wait that reaches none of them keeps polling into its timeout.
fn expected(job: &Job, shape: Shape) -> &'static str {
    if job.ghost {
        // A job answers 404; a list stays empty and a count stays at zero.
        return "not_found";
    }
    let over_items = |items: Vec<&SubJob>| {
        if items.is_empty() {
            "not_found"
        } else if items.iter().any(|s| s.end == End::Failed) {
            "failed"
        } else if items.iter().all(|s| s.end == End::Success) {
            "met"
        } else {
            "timed_out"
        }
    };
    match (shape, job.end()) {
        (Shape::JobTarget | Shape::JobStatus, End::Success) => "met",
        (Shape::JobTarget | Shape::JobStatus, End::Failed) => "failed",
        (Shape::JobTarget | Shape::JobStatus, End::Never) => "timed_out",
        (Shape::JobSubJobs, _) => over_items(job.sub_jobs().collect()),
        (Shape::List | Shape::Count, _) => over_items(selected(job)),
    }
}

/// The documented exit code of a run whose waits ended so: the first of 1, 4,
/// 5, 3 that occurred (README, "Exit codes").
fn documented_exit_code<'a>(outcomes: impl IntoIterator<Item = &'a str>) -> i32 {
    let codes: BTreeSet<i32> = outcomes
        .into_iter()
        .map(|o| match o {
            "met" | "skipped" | "cancelled" => 0,
            "failed" | "unexpected_state" | "not_found" => 1,
            "timed_out" => 3,
            "auth_error" => 4,
            "api_error" => 5,
            other => panic!("undocumented outcome {other}"),
        })
        .collect();
    [1, 4, 5, 3]
        .into_iter()
        .find(|c| codes.contains(c))
        .unwrap_or(0)
}

/// The fault mix: 20% throttling or server errors, 5% malformed
/// bodies, 1% resets and some slow answers.
fn soak_faults() -> Faults {
    Faults {
        seed: 11,
        throttle: 0.1,
        retry_after: None,
        server_error: 0.1,
        malformed: 0.05,
        reset: 0.01,
        slow: Some(Slow {
            rate: 0.1,
            delay: Duration::from_millis(300),
        }),
        hang: 0.0,
        quota: None,
        api_quotas: Default::default(),
        daily_quota: None,
    }
}

/// A run's files, all written by jobgate into one work directory.
struct Files {
    report: std::path::PathBuf,
    junit: std::path::PathBuf,
    summary: std::path::PathBuf,
    outputs: std::path::PathBuf,
}

impl Files {
    fn new(dir: &Workdir) -> Files {
        Files {
            report: dir.path("report.json"),
            junit: dir.path("junit.xml"),
            summary: dir.write("step_summary.md", ""),
            outputs: dir.write("github_output", ""),
        }
    }

    /// `jobgate run` inside GitHub Actions, writing every report.
    fn command(&self, sim: &Sim, spec: &Path, extra: &[&str]) -> Command {
        let mut cmd = jobgate();
        cmd.env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_STEP_SUMMARY", &self.summary)
            .env("GITHUB_OUTPUT", &self.outputs)
            .arg("run")
            .arg(spec)
            .args(["--endpoint", &sim.url(), "--seed", "1"])
            .arg("--report")
            .arg(&self.report)
            .arg("--junit")
            .arg(&self.junit)
            .args(extra);
        cmd
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
    }
}

/// Fails if anything looks like a panic or a crash.
fn assert_no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "jobgate panicked:\n{err}");
    assert_ne!(code(out), 101, "jobgate crashed:\n{err}");
}

/// Every wait of the spec appears once, in order, with a complete record;
/// the JUnit file has one matching testcase per wait and counts that agree.
fn assert_complete(report: &Value, junit: &str, names: &[&str]) {
    let waits = report["waits"].as_array().expect("waits");
    let listed: Vec<&str> = waits.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(listed, names, "the report must list every wait once");
    for w in waits {
        let name = &w["name"];
        for key in ["outcome", "reason", "kind", "success"] {
            assert!(
                w[key].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: `{key}` is missing or empty: {w}"
            );
        }
        assert_ne!(w["outcome"], "running", "{name} never finished: {w}");
        for key in ["polls", "requests_sent", "retries", "elapsed_ms"] {
            assert!(w[key].is_u64(), "{name}: `{key}` is not a count: {w}");
        }
        // A wait whose every request was still queued behind the shared
        // limits at its deadline made no poll; it can only have timed out.
        if w["polls"] == 0 {
            assert_eq!(w["outcome"], "timed_out", "{name} never polled: {w}");
            assert_eq!(w["requests_sent"], 0, "{name}: {w}");
        }
        assert!(
            w["requests"].as_array().is_some_and(|r| !r.is_empty()),
            "{name}: no requests described: {w}"
        );
        assert!(w["history"].is_array() && w["blame"].is_array(), "{w}");
        if let Some(error) = w.get("last_error") {
            assert!(error["message"].is_string(), "{name}: {error}");
        }
    }
    assert!(report["started_at"].is_string() && report["ended_at"].is_string());

    let xml = roxmltree::Document::parse(junit).expect("the JUnit file is XML");
    let cases: Vec<roxmltree::Node> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let case_names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(case_names, names, "one JUnit testcase per wait");
    let suite = xml
        .descendants()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(
        suite.attribute("tests"),
        Some(names.len().to_string().as_str())
    );
    for (attribute, tag) in [("failures", "failure"), ("errors", "error")] {
        let n = cases
            .iter()
            .filter(|c| c.children().any(|e| e.has_tag_name(tag)))
            .count();
        assert_eq!(suite.attribute(attribute), Some(n.to_string().as_str()));
    }
    for (case, w) in cases.iter().zip(waits) {
        let child = |tag: &str| case.children().any(|c| c.has_tag_name(tag));
        let (failure, error, skipped) = (child("failure"), child("error"), child("skipped"));
        let expected = match w["outcome"].as_str().unwrap() {
            "met" => (false, false, false),
            "auth_error" | "api_error" => (false, true, false),
            "skipped" | "cancelled" => (false, false, true),
            _ => (true, false, false),
        };
        assert_eq!(
            (failure, error, skipped),
            expected,
            "JUnit testcase {} does not match {w}",
            w["name"]
        );
    }
}

/// Asserts that no output of a run contains any of `secrets`. Under GitHub
/// Actions jobgate prints `::add-mask::VALUE` for each credential value it
/// holds (the AK, SK, security token or IAM token) so the runner hides it:
/// exactly those lines are allowed, and only for `masked`.
fn assert_no_leak(out: &Output, files: &Files, secrets: &[&str], masked: &[&str]) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    for secret in masked {
        assert!(
            stdout.contains(&format!("::add-mask::{secret}\n")),
            "jobgate must mask its secrets under GitHub Actions:\n{stdout}"
        );
    }
    let unmasked: String = stdout
        .lines()
        .filter(|l| !masked.iter().any(|s| *l == format!("::add-mask::{s}")))
        .collect::<Vec<_>>()
        .join("\n");
    let outputs = [
        ("stdout", unmasked),
        ("stderr", stderr(out)),
        ("report", Files::read(&files.report)),
        ("JUnit", Files::read(&files.junit)),
        ("step summary", Files::read(&files.summary)),
        ("GITHUB_OUTPUT", Files::read(&files.outputs)),
    ];
    for (what, text) in &outputs {
        assert!(!text.is_empty() || *what == "stdout", "{what} is empty");
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "the {what} contains the secret `{secret}`:\n{text}"
            );
        }
    }
}

#[test]
fn hundreds_of_waits_under_faults_get_the_right_verdicts() {
    let soak = Soak::generate(SEED, JOBS);
    // The generator must exercise every outcome its jobs can reach, or the
    // soak proves little. (The simulator's jobs end in documented statuses
    // only, so `unexpected_state` is left to the engine tests.)
    let expected: BTreeSet<&str> = soak.waits.iter().map(|w| w.expected).collect();
    assert_eq!(
        expected,
        BTreeSet::from(["met", "failed", "timed_out", "not_found"])
    );
    let shapes: BTreeSet<String> = soak
        .waits
        .iter()
        .map(|w| format!("{:?}", w.shape))
        .collect();
    assert_eq!(shapes.len(), 5, "{shapes:?}");

    let sim = Sim::start_with(&soak.scenario(), Some(soak_faults()));
    // The simulator's ground truth agrees with the generator's.
    let truth = sim.stats();
    for job in &soak.jobs {
        let t = truth.job(&job.id).expect("every job has a ground truth");
        assert_eq!(
            t.terminal_status.as_deref(),
            job.end().status(),
            "{}",
            job.id
        );
        assert_eq!(t.visible_after_ms >= 3_600_000, job.ghost, "{}", job.id);
    }

    let dir = Workdir::new();
    let spec = dir.write("soak.yaml", &soak.spec());
    let files = Files::new(&dir);
    let out = output_within(
        files
            .command(
                &sim,
                &spec,
                &[
                    "--keep-going",
                    "--deadline",
                    "60s",
                    "--max-rps",
                    "400",
                    "--max-concurrency",
                    "32",
                ],
            )
            .env("HUAWEICLOUD_SDK_SECURITY_TOKEN", STS),
        GUARD,
    );
    assert_no_panic(&out);
    let report = report(&files.report);

    // Verdicts: compare all, then report every mismatch at once.
    let waits = report["waits"].as_array().unwrap();
    let mut wrong = Vec::new();
    for (wait, got) in soak.waits.iter().zip(waits) {
        let outcome = got["outcome"].as_str().unwrap_or("?");
        if outcome != wait.expected {
            let job = &soak.jobs[wait.job];
            let hint = if outcome == "api_error" {
                " (the error budget ran out: the faults were not absorbed)"
            } else {
                ""
            };
            wrong.push(format!(
                "{}: expected {}, got {outcome}{hint}; truth {:?}, reason: {}",
                wait.name,
                wait.expected,
                truth.job(&job.id),
                got["reason"]
            ));
        }
        // A wait that times out does so at its own timeout (10s), loosely:
        // queued requests must not carry it far past.
        if outcome == "timed_out" {
            let elapsed = got["elapsed_ms"].as_u64().unwrap_or(u64::MAX);
            assert!(
                elapsed <= 20_000 && got["reason"].as_str().unwrap().contains("timeout of 10s"),
                "{} timed out after {elapsed} ms: {}",
                wait.name,
                got["reason"]
            );
        }
        // Blame names only sub-jobs that really failed.
        if outcome == "failed" {
            for item in got["blame"].as_array().unwrap() {
                let id = item["id"].as_str().unwrap_or_default();
                let failed = soak.jobs[wait.job]
                    .sub_jobs()
                    .any(|s| s.id == id && s.end == End::Failed);
                assert!(
                    failed || id == soak.jobs[wait.job].id,
                    "{} blames {item}",
                    wait.name
                );
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} waits got a wrong verdict:\n{}",
        wrong.len(),
        soak.waits.len(),
        wrong.join("\n")
    );

    let names: Vec<&str> = soak.waits.iter().map(|w| w.name.as_str()).collect();
    assert_complete(&report, &Files::read(&files.junit), &names);
    let code_expected = documented_exit_code(soak.waits.iter().map(|w| w.expected));
    assert_eq!(code(&out), code_expected, "{}", stderr(&out));
    assert_eq!(report["exit_code"], code_expected);
    let outputs = Files::read(&files.outputs);
    assert!(
        outputs.contains(&format!("exit-code={code_expected}\n")),
        "{outputs}"
    );

    // The faults really happened, and none of them was taken for a bad
    // signature.
    let stats = sim.stats();
    let f = &stats.faults;
    assert!(
        f.throttled > 0 && f.server_errors > 0 && f.malformed > 0 && f.resets > 0 && f.slowed > 0,
        "faults were not all injected: {f:?}"
    );
    assert_eq!(f.auth_rejected, 0, "{f:?}");
    let retries: u64 = waits.iter().map(|w| w["retries"].as_u64().unwrap()).sum();
    assert!(retries > 0, "no wait ever retried");
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    for wait in &soak.waits {
        *tally.entry(wait.expected).or_default() += 1;
    }
    eprintln!(
        "soak: {} waits {tally:?}, {} requests, {retries} retries, faults {f:?}",
        soak.waits.len(),
        stats.requests
    );

    assert_no_leak(&out, &files, &[AK, SK, STS], &[AK, SK, STS]);
}

/// A small scenario for the runs that check outputs rather than verdicts.
fn small_soak() -> Soak {
    Soak::generate(SEED + 1, 24)
}

#[test]
fn a_server_that_never_answers_ends_the_run_at_its_deadline() {
    let faults = Faults {
        hang: 1.0,
        ..Faults::default()
    };
    let sim = Sim::start_with(&small_soak().scenario(), Some(faults));
    let dir = Workdir::new();
    // Far more distinct requests than the default limits (8 in flight, 10
    // per second) let out before the deadline: the queued ones must not
    // outlive it either.
    let kinds = [Kind::Image, Kind::AppServer, Kind::Desktop];
    let mut waits = String::new();
    for i in 0..64 {
        let _ = write!(
            waits,
            "  hang-{i:02}:\n    {}: hang-job-{i:02}\n    target: [SUCCESS]\n",
            kinds[i % 3].scenario_name()
        );
    }
    let spec = dir.write(
        "hang.yaml",
        &format!(
            "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 10m\nwaits:\n{waits}"
        ),
    );
    let files = Files::new(&dir);
    const DEADLINE_MS: u64 = 3000;
    let out = output_within(
        &mut files.command(&sim, &spec, &["--keep-going", "--deadline", "3s"]),
        Duration::from_millis(DEADLINE_MS) + Duration::from_secs(30),
    );
    assert_no_panic(&out);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let report = report(&files.report);
    assert_eq!(report["outcome"], "timed_out");
    let names: Vec<String> = (0..64).map(|i| format!("hang-{i:02}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_complete(&report, &Files::read(&files.junit), &names);
    // Loose consistency with the deadline, not a timing measurement: every
    // wait ran into the deadline and none far beyond it. Requests queued in
    // the gate used to each wait a full timeout after the ones before them,
    // ending this run near 8 times its deadline.
    let slack = 10_000;
    for w in report["waits"].as_array().unwrap() {
        assert_eq!(w["outcome"], "timed_out", "{w}");
        assert!(
            w["reason"].as_str().unwrap().contains("global deadline"),
            "{w}"
        );
        let elapsed = w["elapsed_ms"].as_u64().unwrap();
        assert!(
            elapsed <= DEADLINE_MS + slack,
            "{}: ended after {elapsed} ms with a deadline of {DEADLINE_MS} ms",
            w["name"]
        );
    }
    let ts = |key: &str| {
        report[key]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let run_ms = ts("ended_at").duration_since(ts("started_at")).as_millis();
    assert!(
        run_ms + 1000 >= i128::from(DEADLINE_MS) && run_ms <= i128::from(DEADLINE_MS + slack),
        "the run took {run_ms} ms with a deadline of {DEADLINE_MS} ms"
    );
    assert!(sim.stats().faults.hangs > 0);
}

#[test]
fn token_auth_under_faults_leaks_no_secret() {
    let soak = small_soak();
    let sim = Sim::start_with_auth(
        &soak.scenario(),
        Some(soak_faults()),
        SimAuth::Token(TOKEN.into()),
    );
    let dir = Workdir::new();
    let spec = dir.write("soak.yaml", &soak.spec());
    let files = Files::new(&dir);
    let out = output_within(
        files
            .command(&sim, &spec, &["--keep-going", "--max-rps", "100", "-v"])
            .env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK")
            .env("JOBGATE_AUTH_TOKEN", TOKEN),
        GUARD,
    );
    assert_no_panic(&out);
    let report = report(&files.report);
    let outcomes: Vec<&str> = report["waits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["outcome"].as_str().unwrap())
        .collect();
    let expected: Vec<&str> = soak.waits.iter().map(|w| w.expected).collect();
    assert_eq!(outcomes, expected, "{}", stderr(&out));
    assert_eq!(sim.stats().faults.auth_rejected, 0);
    assert_no_leak(&out, &files, &[TOKEN, AK, SK], &[TOKEN]);
}

/// Runs the small soak with credentials the gateway refuses, under faults,
/// with `env` set; `masked` are the secrets jobgate holds (and masks).
fn assert_refused_without_leaks(auth: SimAuth, env: &[(&str, &str)], masked: &[&str]) {
    let soak = small_soak();
    let sim = Sim::start_with_auth(&soak.scenario(), Some(soak_faults()), auth.clone());
    let dir = Workdir::new();
    let spec = dir.write("soak.yaml", &soak.spec());
    let files = Files::new(&dir);
    let mut cmd = files.command(&sim, &spec, &["--keep-going", "--max-rps", "100", "-v"]);
    if matches!(auth, SimAuth::Token(_)) {
        cmd.env_remove("HUAWEICLOUD_SDK_AK")
            .env_remove("HUAWEICLOUD_SDK_SK");
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = output_within(&mut cmd, GUARD);
    assert_no_panic(&out);
    assert_eq!(code(&out), 4, "{}", stderr(&out));
    let report = report(&files.report);
    let names: Vec<&str> = soak.waits.iter().map(|w| w.name.as_str()).collect();
    assert_complete(&report, &Files::read(&files.junit), &names);
    for w in report["waits"].as_array().unwrap() {
        assert_eq!(w["outcome"], "auth_error", "every wait is refused: {w}");
    }
    assert!(sim.stats().faults.auth_rejected > 0);
    let mut secrets = vec![AK, SK, STS, TOKEN];
    secrets.extend_from_slice(masked);
    assert_no_leak(&out, &files, &secrets, masked);
}

#[test]
fn a_rejected_signature_under_faults_leaks_no_secret() {
    let wrong_sk = "SKwrongsoak00000000000000000000000000001";
    assert_refused_without_leaks(
        SimAuth::AkSk {
            access_key: AK.into(),
            secret_key: SK.into(),
        },
        &[
            ("HUAWEICLOUD_SDK_SK", wrong_sk),
            ("HUAWEICLOUD_SDK_SECURITY_TOKEN", STS),
        ],
        &[AK, wrong_sk, STS],
    );
}

#[test]
fn a_rejected_token_under_faults_leaks_no_secret() {
    let wrong_token = "MIIwrongsoaktoken0000000000000000000000001";
    assert_refused_without_leaks(
        SimAuth::Token(TOKEN.into()),
        &[("JOBGATE_AUTH_TOKEN", wrong_token)],
        &[wrong_token],
    );
}
