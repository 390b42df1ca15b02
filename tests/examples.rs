//! Every spec in `examples/` validates and plans without network access, so
//! the documentation never shows a spec that does not work.

#[path = "common/harness.rs"]
mod harness;

use std::process::Command;

/// The binary with a clean environment plus the variables the examples use.
fn jobgate() -> Command {
    let mut cmd = harness::jobgate();
    for var in ["IMAGE_JOB_ID", "DESKTOP_JOB_ID", "APP_JOB_ID"] {
        cmd.env(var, "0123456789abcdef");
    }
    cmd
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
    let shipped: serde_json::Value = serde_json::from_str(include_str!("../docs/spec.schema.json"))
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
