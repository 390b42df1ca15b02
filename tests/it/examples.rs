//! Every spec in `examples/` validates and plans without network access, so
//! the documentation never shows a spec that does not work; each plan is a
//! snapshot, and the examples written for the simulator's story
//! (`examples/conditions.scenario.yaml`) run against it to the outcome their
//! comments promise.

use crate::common::harness;

use crate::common::test::{Ran, Test};

use std::path::Path;
use std::process::Command;

use harness::{Sim, wait_named};
use jobgate::sim::Endpoint;

/// The binary with a clean environment plus the variables the examples use.
fn jobgate() -> Command {
    let mut cmd = harness::jobgate();
    for var in [
        "IMAGE_JOB_ID",
        "DESKTOP_JOB_ID",
        "APP_JOB_ID",
        "DESKTOP_POOL_ID",
    ] {
        cmd.env(var, "0123456789abcdef");
    }
    cmd
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn specs() -> Vec<std::path::PathBuf> {
    let mut specs: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "yaml")
                && !p.to_string_lossy().ends_with(".scenario.yaml")
        })
        .collect();
    specs.sort();
    specs
}

#[test]
fn every_example_validates() {
    let specs = specs();
    assert!(specs.len() >= 5, "{specs:?}");
    for spec in specs {
        let out = jobgate().arg("validate").arg(&spec).output().unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            spec.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn every_example_plans() {
    for spec in specs() {
        let out = jobgate()
            .arg("plan")
            .arg(&spec)
            .args(["--endpoint", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {}",
            spec.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("request: GET http://127.0.0.1:9/v"),
            "{}: {stdout}",
            spec.display()
        );
        assert!(stdout.contains("success:"), "{stdout}");
    }
}

/// `jobgate plan` of every example, compared with
/// `tests/snapshots/plan/<example>.snap` (insta, as the other snapshots).
/// After a deliberate change, `INSTA_UPDATE=always cargo test --test it
/// examples::` rewrites them (or `cargo insta review`); review the diff.
#[test]
fn every_example_plan_matches_its_snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_path("../snapshots/plan");
    let _guard = settings.bind_to_scope();
    for spec in specs() {
        let name = spec.file_stem().unwrap().to_string_lossy().into_owned();
        // Relative to the repository root: the plan names the spec as given,
        // and must not name a directory of this machine.
        let out = jobgate()
            .current_dir(root())
            .arg("plan")
            .arg(format!("examples/{name}.yaml"))
            .args(["--endpoint", "http://127.0.0.1:9"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", harness::stderr(&out));
        let stdout = String::from_utf8(out.stdout).expect("the plan is UTF-8");
        assert!(
            !stdout.contains(&*root().to_string_lossy()),
            "{name}: the plan names this machine's checkout:\n{stdout}"
        );
        insta::assert_snapshot!(name, stdout);
    }
}

#[test]
fn every_plan_snapshot_belongs_to_an_example() {
    let examples: Vec<String> = specs()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for entry in std::fs::read_dir(root().join("tests/snapshots/plan")).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().into_owned();
        // `.snap.new` files are insta's pending changes, not snapshots.
        let Some(stem) = file.strip_suffix(".snap") else {
            continue;
        };
        assert!(
            examples.iter().any(|e| e == stem),
            "tests/snapshots/plan/{file} has no example: delete it"
        );
    }
}

#[test]
fn demo_runs_green_against_the_built_in_simulator() {
    let out = jobgate()
        .args(["demo", "--quiet", "--color", "never"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("4 met"), "{stderr}");
}

#[test]
fn every_example_names_the_spec_schema_for_editors() {
    for spec in specs() {
        let text = std::fs::read_to_string(&spec).unwrap();
        assert!(
            text.lines()
                .next()
                .is_some_and(|l| l.starts_with("# yaml-language-server: $schema=")
                    && l.ends_with("docs/spec.schema.json")),
            "{}: the first line should point editors at the schema",
            spec.display()
        );
    }
}

#[test]
fn schema_command_prints_the_shipped_schema() {
    let out = jobgate().arg("schema").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let shipped: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/spec.schema.json"))
            .expect("docs/spec.schema.json is JSON");
    assert_eq!(
        printed, shipped,
        "docs/spec.schema.json is stale: regenerate it with `jobgate schema`"
    );
}

#[test]
fn completions_cover_every_command() {
    // How each shell's script offers a subcommand, so that a command missing
    // from the script fails the test rather than matching stray text.
    let offers = [
        ("bash", "jobgate,CMD)"),
        ("zsh", "'CMD:"),
        ("fish", "-a \"CMD\""),
        ("elvish", "cand CMD "),
        ("powershell", "[CompletionResult]::new('CMD'"),
    ];
    for (shell, offer) in offers {
        let out = jobgate().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        for command in [
            "run", "validate", "plan", "eval", "simulate", "demo", "schema",
        ] {
            assert!(
                script.contains(&offer.replace("CMD", command)),
                "{shell} completions do not offer `{command}`"
            );
        }
    }
    let bad = jobgate().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

// --- The condition examples against their scenario ----------------------------

/// The project of `examples/conditions.scenario.yaml` (and of the demo).
const SCENARIO_PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";
const IMAGE_JOB: &str = "702364883651395590";
const IMAGE_ID: &str = "9e8d7c6b-5a49-4382-b1c0-d9e8f7a6b5c4";
const ONBOARDING_JOB: &str = "4d2c8b6a-1e3f-4a5b-9c7d-8e0f1a2b3c4d";
const ROLLOUT_JOB: &str = "7b9d1f3a-5c7e-4a0b-8d2f-4a6c8e0b2d4f";

/// The story the condition examples are written for.
fn conditions_scenario() -> String {
    std::fs::read_to_string(root().join("examples/conditions.scenario.yaml")).unwrap()
}

/// `examples/NAME.yaml` against a fresh simulator on the conditions story.
fn on_the_conditions_story(name: &str) -> Test {
    example(name).scenario(&conditions_scenario())
}

/// The wait `w` polled once per request to the image job.
fn one_image_job_request_per_poll(ran: &Ran, w: &serde_json::Value) {
    assert_eq!(
        w["polls"].as_u64().unwrap(),
        ran.sim().stats().requests_to(Endpoint::ShowImageJob),
        "{w}"
    );
}

/// `examples/NAME.yaml`, run as its comment says, in the scenarios' project.
fn example(name: &str) -> Test {
    Test::new()
        .spec_path(&root().join(format!("examples/{name}.yaml")))
        .env("HUAWEICLOUD_SDK_PROJECT_ID", SCENARIO_PROJECT)
        .args(&["--color", "never"])
}

#[test]
fn image_capture_is_met_by_the_image_sub_job_before_the_job_ends() {
    let ran = on_the_conditions_story("image-capture")
        .env("IMAGE_JOB_ID", IMAGE_JOB)
        .run()
        .exit(0);
    let report = &ran.report;
    let w = wait_named(report, "image-captured");
    assert_eq!(w["outcome"], "met", "{w}");
    // `where` selected the one CREATE_SERVER_IMAGE sub-job of three...
    assert!(
        w["reason"]
            .as_str()
            .unwrap()
            .contains("1 of 1 selected sub-jobs in [SUCCESS]"),
        "{w}"
    );
    // ...and the gate passed while the job itself was still RUNNING (its
    // DELETE_SERVER sub-job runs for ten minutes).
    assert_eq!(w["last_observation"]["job"]["status"], "RUNNING", "{w}");
    assert_eq!(w["last_observation"]["status_counts"]["RUNNING"], 1, "{w}");
    assert_eq!(w["outputs"]["image_id"], IMAGE_ID, "{w}");
    one_image_job_request_per_poll(&ran, w);
}

#[test]
fn image_record_is_met_by_jsonpath_equals_and_exists() {
    let ran = on_the_conditions_story("image-record")
        .env("IMAGE_JOB_ID", IMAGE_JOB)
        .run()
        .exit(0);
    let report = &ran.report;
    let w = wait_named(report, "image-record");
    assert_eq!(w["outcome"], "met", "{w}");
    let reason = w["reason"].as_str().unwrap();
    // What each success path selected: the status it equals, the image id
    // that exists.
    assert!(reason.contains(r#"1 value(s): ["SUCCESS"]"#), "{w}");
    assert!(
        reason.contains(&format!(r#"1 value(s): ["{IMAGE_ID}"]"#)),
        "{w}"
    );
    assert_eq!(w["outputs"]["image_id"], IMAGE_ID, "{w}");
    // `get` on the image job's path is one request per poll.
    one_image_job_request_per_poll(&ran, w);
}

#[test]
fn desktop_rollout_is_met_by_the_finished_branch_with_one_failure() {
    let ran = on_the_conditions_story("desktop-rollout")
        .env("DESKTOP_JOB_ID", ROLLOUT_JOB)
        .run()
        .exit(0);
    let report = &ran.report;
    let w = wait_named(report, "roll-out");
    assert_eq!(w["outcome"], "met", "{w}");
    // 9 of 10 is below the 99% branch and exactly the 90% of the finished
    // branch; the one failure (10%) is not more than 10%.
    assert_eq!(
        w["last_observation"]["status_counts"],
        serde_json::json!({"FAILED": 1, "SUCCESS": 9}),
        "{w}"
    );
    assert!(
        w["reason"]
            .as_str()
            .unwrap()
            .contains("0 of 10 selected sub-jobs in [WAITING, RUNNING]; count 9 of 10"),
        "{w}"
    );
}

#[test]
fn desktop_onboarding_selects_by_user_and_lets_an_empty_pool_pass() {
    // Both runs poll the one story, as two steps of a workflow would.
    let sim = Sim::start(&conditions_scenario());
    let onboarding = || {
        example("desktop-onboarding")
            .endpoint(&sim.url())
            .env("DESKTOP_JOB_ID", ONBOARDING_JOB)
    };

    // The pool of the batch: quiet once carol's desktop is done too.
    let ran = onboarding()
        .env("DESKTOP_POOL_ID", "pool-finance")
        .run()
        .exit(0);
    let report = &ran.report;
    let hires = wait_named(report, "new-hires");
    assert_eq!(hires["outcome"], "met", "{hires}");
    // `where` on `entities.user_name` selected alice's and bob's desktops
    // out of the three listed.
    assert!(
        hires["reason"]
            .as_str()
            .unwrap()
            .contains("2 of 2 selected sub-jobs in [SUCCESS]"),
        "{hires}"
    );
    assert_eq!(hires["last_observation"]["items"], 3, "{hires}");
    let quiet = wait_named(report, "pool-quiet");
    assert_eq!(quiet["outcome"], "met", "{quiet}");
    assert_eq!(
        quiet["last_observation"]["status_counts"],
        serde_json::json!({"SUCCESS": 3}),
        "{quiet}"
    );

    // A pool without any job: the empty list passes on the first poll,
    // because of `allow_empty: true`.
    let ran = onboarding()
        .env("DESKTOP_POOL_ID", "pool-empty")
        .run()
        .exit(0);
    let report = &ran.report;
    let quiet = wait_named(report, "pool-quiet");
    assert_eq!(quiet["outcome"], "met", "{quiet}");
    assert_eq!(quiet["polls"], 1, "{quiet}");
    assert_eq!(quiet["last_observation"]["items"], 0, "{quiet}");
}

// --- The other examples, against the demo story -------------------------

/// The demo scenario's jobs: an image build, an app-server job and a
/// desktop job, all successful within about six seconds.
const DEMO_VARS: [(&str, &str); 3] = [
    ("IMAGE_JOB_ID", "702364883651395584"),
    ("APP_JOB_ID", "8e3a9c1d-2b4f-4a6e-8c0d-1f2e3d4c5b6a"),
    ("DESKTOP_JOB_ID", "0e2dae94-23ff-449a-bb9c-1b808cf2106d"),
];

/// Runs `examples/NAME.yaml` against a fresh demo simulator and checks
/// that every wait is met, so no example documents a gate that cannot pass.
fn assert_met_on_the_demo(name: &str) {
    let scenario = std::fs::read_to_string(root().join("examples/demo.scenario.yaml")).unwrap();
    let mut test = example(name).scenario(&scenario);
    for (var, value) in DEMO_VARS {
        test = test.env(var, value);
    }
    let report = test.run().exit(0).report;
    let waits = report["waits"].as_array().unwrap();
    assert!(!waits.is_empty(), "{name}: {report}");
    for w in waits {
        assert_eq!(w["outcome"], "met", "{name}: {w}");
        assert!(w["polls"].as_u64().unwrap() >= 1, "{name}: {w}");
    }
}

#[test]
fn image_build_passes_on_the_demo() {
    assert_met_on_the_demo("image-build");
}

#[test]
fn app_servers_pass_on_the_demo() {
    assert_met_on_the_demo("app-servers");
}

#[test]
fn desktop_fleet_passes_on_the_demo() {
    assert_met_on_the_demo("desktop-fleet");
}

#[test]
fn chained_waits_pass_on_the_demo() {
    assert_met_on_the_demo("chained");
}

#[test]
fn jsonpath_passes_on_the_demo() {
    assert_met_on_the_demo("jsonpath");
}

#[test]
fn desktop_settle_passes_on_the_demo() {
    assert_met_on_the_demo("desktop-settle");
}
