//! The plain live view (CI logs, pipes): the real binary against the
//! simulator with stderr on a pipe, so jobgate picks plain lines. Asserts
//! what is printed and in which order, never when: the heartbeat interval is
//! shortened with `JOBGATE_HEARTBEAT` so that a wait held for a second sees
//! several beats.

use crate::common::harness;

use harness::*;

const SCENARIO: &str = r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: img-steps
    kind: image_job
    sub_jobs:
      - id: s1
        job_type: CREATE_SERVER
        timeline: [{at: 0s, status: RUNNING}, {at: 300ms, status: SUCCESS}]
      - id: s2
        job_type: CREATE_SERVER_IMAGE
        timeline: [{at: 0s, status: WAITING}, {at: 200ms, status: RUNNING}, {at: 600ms, status: SUCCESS}]
  - id: img-stuck
    kind: image_job
    timeline: [{at: 0s, status: RUNNING}]
  - id: img-odd
    kind: image_job
    timeline: [{at: 0s, status: "RUN\e[2J\e]0;owned\aNING"}]
"#;

fn spec(waits: &str) -> String {
    format!(
        "version: 1\ndefaults:\n  project_id: ${{HUAWEICLOUD_SDK_PROJECT_ID}}\n  timeout: 20s\n  poll: {{ initial: 50ms, max: 100ms }}\nwaits:\n{waits}"
    )
}

/// The live lines (`[   1.2s] text`), without their time prefix. The
/// summary that follows them has no such prefix.
fn live_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?;
            let (time, text) = rest.split_once("s] ")?;
            time.trim().parse::<f64>().ok()?;
            Some(text.to_owned())
        })
        .collect()
}

fn assert_no_control_characters(text: &str) {
    let bad: Vec<(usize, char)> = text
        .char_indices()
        .filter(|(_, c)| c.is_control() && *c != '\n')
        .collect();
    assert!(bad.is_empty(), "control characters {bad:?} in:\n{text}");
}

/// The states in a wait's report history, in order.
fn history(report: &serde_json::Value, wait: &str) -> Vec<String> {
    wait_named(report, wait)["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["state"].as_str().unwrap().to_owned())
        .collect()
}

/// Where `line` is in `lines`, failing the test if it is absent.
fn position(lines: &[String], what: &str, pred: impl Fn(&str) -> bool) -> usize {
    lines
        .iter()
        .position(|l| pred(l))
        .unwrap_or_else(|| panic!("no line {what} in:\n{}", lines.join("\n")))
}

#[test]
fn plain_lines_follow_state_changes_and_a_heartbeat_lists_what_is_left() {
    let sim = Sim::start(SCENARIO);
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &spec(
            "  build:\n    image_job: img-steps\n    target: [SUCCESS]\n  stuck:\n    image_job: img-stuck\n    target: [SUCCESS]\n    timeout: 1s\n",
        ),
    );
    let report_path = dir.path("report.json");
    let out = jobgate()
        .env("JOBGATE_HEARTBEAT", "100ms")
        .args(["run", spec.to_str().unwrap(), "--keep-going"])
        // Faster than the default rate: the heartbeat is checked against
        // polls that end within its first seconds.
        .args(["--max-rps", "10"])
        .args(["--endpoint", &sim.url()])
        .args(["--report", report_path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 3, "{err}");
    assert_no_control_characters(&err);
    let report = report(&report_path);
    let lines = live_lines(&err);

    for wait in ["build", "stuck"] {
        // One line per change of the observed state, the same changes the
        // report's history records, in the same order.
        let prefix = format!("{wait}: ");
        let finished = position(&lines, &format!("{wait} finished"), |l| {
            l.starts_with(&prefix) && (l.contains(" ✔ ") || l.contains(" ⧗ "))
        });
        let states: Vec<String> = lines[..finished]
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix))
            // Progress, where the API gives it, follows the state: `[45%]`.
            .map(|l| match l.rsplit_once(" [") {
                Some((state, p)) if p.ends_with("%]") => state.to_owned(),
                _ => l.to_owned(),
            })
            .collect();
        let expected = history(&report, wait);
        assert!(!expected.is_empty(), "{wait} saw a state");
        assert_eq!(states, expected, "{wait}:\n{err}");
        assert!(
            lines[finished + 1..]
                .iter()
                .all(|l| !l.starts_with(&prefix) && !l.contains(&format!("{wait} ("))),
            "nothing about {wait} after it finished:\n{err}"
        );
    }
    assert!(
        lines.contains(&"build: SUCCESS; 2 sub-jobs: 2 SUCCESS".to_owned()),
        "{err}"
    );
    let stuck_done = position(&lines, "stuck timed out", |l| {
        l.starts_with("stuck: ⧗ timed out — ") && l.contains("RUNNING")
    });

    // The heartbeat lists the waits still running, each with its last
    // state and its time left.
    let beats: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("still waiting: "))
        .collect();
    assert!(
        !beats.is_empty(),
        "a wait held for 1s sees a 100ms heartbeat:\n{err}"
    );
    for &i in &beats {
        assert!(i < stuck_done, "no heartbeat once nothing runs:\n{err}");
        let last_stuck_state = lines[..i]
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix("stuck: "))
            .unwrap_or("no answer yet");
        let entry = format!("stuck ({last_stuck_state}, ");
        assert!(lines[i].contains(&entry), "{entry} in {}", lines[i]);
        let left = lines[i].split(&entry).nth(1).unwrap();
        assert!(
            left.starts_with("1s left)") || left.starts_with("0s left)"),
            "the time left of a 1s timeout: {}",
            lines[i]
        );
    }
    // The summary follows the live lines.
    let summary = err.lines().last().unwrap();
    assert_eq!(
        summary, "⧗ timed out — 1 met, 1 timed out — exit code 3",
        "{err}"
    );
}

#[test]
fn verbose_plain_lines_say_when_a_wait_starts_and_how_long_it_has() {
    let sim = Sim::start(SCENARIO);
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &spec("  build:\n    image_job: img-steps\n    target: [SUCCESS]\n    timeout: 90s\n"),
    );
    let out = run(&sim, &spec, &["--verbose"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert_no_control_characters(&err);
    let lines = live_lines(&err);
    assert_eq!(lines[0], "build: started, 1m30s left", "{err}");
    assert!(lines[1].starts_with("build: "), "{err}");
    assert!(
        lines.last().unwrap().starts_with("build: ✔ met — "),
        "{err}"
    );
}

#[test]
fn quiet_mode_prints_only_the_summary() {
    let sim = Sim::start(SCENARIO);
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &spec("  build:\n    image_job: img-steps\n    target: [SUCCESS]\n"),
    );
    let out = jobgate()
        .env("JOBGATE_HEARTBEAT", "100ms")
        .args(["run", spec.to_str().unwrap(), "--quiet"])
        .args(["--endpoint", &sim.url()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(live_lines(&err).is_empty(), "{err}");
    assert!(err.ends_with("✔ met — 1 met — exit code 0\n"), "{err}");
}

#[test]
fn api_text_cannot_put_control_characters_in_the_log() {
    let sim = Sim::start(SCENARIO);
    let (out, report) = run_reported(
        &sim.url(),
        &spec("  odd:\n    image_job: img-odd\n    target: [SUCCESS]\n"),
        &[],
    );
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert_no_control_characters(&err);
    // The report shows the same defused text: every output goes through
    // one redactor, and a later `jq -r` must not replay the escapes.
    assert_eq!(
        history(&report, "odd"),
        ["RUN\u{FFFD}[2J\u{FFFD}]0;owned\u{FFFD}NING"]
    );
    assert!(
        live_lines(&err).contains(&"odd: RUN\u{FFFD}[2J\u{FFFD}]0;owned\u{FFFD}NING".to_owned()),
        "{err}"
    );
    assert!(
        err.contains("RUN\u{FFFD}[2J\u{FFFD}]0;owned\u{FFFD}NING"),
        "the summary names the status too: {err}"
    );
}

#[test]
fn progress_that_moves_within_a_state_reaches_the_heartbeat_not_new_lines() {
    let sim = Sim::start(
        r#"
project_id: 0123456789abcdef0123456789abcdef
jobs:
  - id: desk
    kind: desktop_job
    sub_jobs:
      - id: d1
        timeline: [{at: 0s, status: RUNNING}, {at: 2s, status: SUCCESS}]
        progress: [{at: 0s, value: 0}, {at: 2s, value: 100}]
"#,
    );
    let dir = Workdir::new();
    let spec = dir.write(
        "spec.yaml",
        &spec("  desk:\n    desktop_sub_jobs: { job_id: desk }\n    target: [SUCCESS]\n"),
    );
    let report_path = dir.path("report.json");
    let out = jobgate()
        .env("JOBGATE_HEARTBEAT", "100ms")
        .args(["run", spec.to_str().unwrap()])
        .args(["--endpoint", &sim.url()])
        .args(["--report", report_path.to_str().unwrap()])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    let report = report(&report_path);
    let lines = live_lines(&err);
    // Only state changes get lines of their own...
    let state_lines = lines.iter().filter(|l| l.starts_with("desk: ")).count();
    assert_eq!(state_lines, history(&report, "desk").len() + 1, "{err}");
    // ...while the heartbeat shows the progress as it climbs: some beat
    // shows a figure other than the one its last state line printed.
    let percent = |l: &str| {
        let (_, rest) = l.rsplit_once(" [")?;
        rest.split_once("%]").map(|(p, _)| p.to_owned())
    };
    let moved = (0..lines.len()).any(|i| {
        lines[i].starts_with("still waiting: ")
            && lines[..i]
                .iter()
                .rev()
                .find(|l| l.starts_with("desk: "))
                .is_some_and(|last| percent(last).is_some() && percent(last) != percent(&lines[i]))
    });
    assert!(moved, "{err}");
}
