//! `docs/spec.schema.json` gives editors completion and checks; these tests
//! keep it in step with the spec grammar that jobgate itself validates.

use std::path::Path;

use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/spec.schema.json");
    let text = std::fs::read_to_string(path).expect("docs/spec.schema.json is readable");
    let schema: Value = serde_json::from_str(&text).expect("the schema is valid JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

fn violations(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let instance: Value = serde_saphyr::from_str(yaml).expect("the YAML parses");
    validator
        .iter_errors(&instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

fn env(name: &str) -> Option<String> {
    match name {
        "HUAWEICLOUD_SDK_PROJECT_ID" => Some("0123456789abcdef0123456789abcdef".into()),
        "IMAGE_JOB_ID" | "APP_JOB_ID" | "DESKTOP_JOB_ID" => Some("job-1".into()),
        _ => None,
    }
}

/// A single image job, with every default spelled out.
const IMAGE: &str = r#"# yaml-language-server: $schema=../docs/spec.schema.json
version: 1
defaults:
  region: cn-north-4
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  timeout: 45m
  poll: { initial: 5s, max: 1m, factor: 2, jitter: full, adaptive: true }
  not_found_grace: 30s
  error_budget: 6
  unknown_status: fail
  stable_for: 1
deadline: 1h30m
fail_fast: true
waits:
  golden-image:
    image_job: ${IMAGE_JOB_ID}
    pending: [WAITING, RUNNING]
    target: [SUCCESS]
    timeout: 60m
    outputs:
      image_id: $.job_resource_info.resource_id
"#;

/// Sub-job lists with quantifiers, counts, `where` and failure conditions.
const SUB_JOBS: &str = r#"version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
  endpoints: { workspace: "http://127.0.0.1:8080", appstream: "http://127.0.0.1:8080" }
fail_fast: false
waits:
  servers:
    app_server_sub_jobs: { job_id: "${APP_JOB_ID}", job_type: CREATE_SERVER }
    success:
      - all: [SUCCESS]
        where: { job_type: [CREATE_SERVER] }
      - count: "*"
        is: ">= 3"
    failure:
      - any: [FAILED, ABNORMAL]
      - { count: [ROLLBACK], is: "> 0" }
    allow_empty: false
    stable_for: 2
    unknown_status: wait
  desktops:
    desktop_sub_jobs: { job_id: "${DESKTOP_JOB_ID}", status: RUNNING }
    success: { count: SUCCESS, is: ">= 95%" }
    failure: { none: [SUCCESS, RUNNING, WAITING] }
    after: [servers]
    poll: { initial: 10s, max: 2m, jitter: none }
  images-counted:
    image_sub_job_count: { job_type: [CREATE_SERVER_IMAGE, CREATE_SERVER] }
    success: { count: "*", is: 0 }
    error_budget: 0
"#;

/// `get` with JSONPath tests, nested combinators and output references.
const GET: &str = r#"version: 1
defaults:
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
waits:
  job:
    desktop_job: ${DESKTOP_JOB_ID}
    success: { status: [SUCCESS, COMPLETE] }
    failure: { status: [FAILED, FAIL] }
    outputs: { pool: "$.entities.desktop_pool_id" }
  pool:
    get:
      service: workspace
      path: /v2/{project_id}/desktop-pools/${outputs.job.pool}
      query: { limit: 10 }
    after: job
    success:
      all_of:
        - { path: "$.status", equals: READY }
        - any_of:
            - { path: "$.desktops[*].id", exists: true }
            - { path: "$.state", in: [ACTIVE, "IDLE"] }
    failure:
      - { path: "$.error", exists: true }
      - { path: "$.message", matches: "^quota" }
    not_found_grace: 2m
"#;

#[test]
fn representative_specs_match_the_schema_and_the_validator() {
    let validator = validator();
    for (name, yaml) in [("image", IMAGE), ("sub_jobs", SUB_JOBS), ("get", GET)] {
        let errors = violations(&validator, yaml);
        assert!(errors.is_empty(), "{name} violates the schema: {errors:#?}");
        // The samples must be real specs, or agreeing with them proves nothing.
        if let Err(e) = jobgate::spec::parse(name, yaml, &env) {
            panic!("{name} is not a valid spec:\n{e}");
        }
    }
}

#[test]
fn every_example_matches_the_schema() {
    let validator = validator();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let entries = std::fs::read_dir(&dir).expect("examples/ exists");
    for entry in entries {
        let path = entry.expect("examples/ is readable").path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) || path.to_string_lossy().ends_with(".scenario.yaml")
        {
            // Simulator scenarios have their own format.
            continue;
        }
        let yaml = std::fs::read_to_string(&path).expect("the example is readable");
        let errors = violations(&validator, &yaml);
        assert!(
            errors.is_empty(),
            "{} violates the schema: {errors:#?}",
            path.display()
        );
    }
}

#[test]
fn mistakes_the_validator_rejects_are_rejected() {
    let validator = validator();
    let wait = |body: &str| format!("version: 1\nwaits:\n  w:\n{body}");
    let cases = [
        (
            "unknown top key",
            "version: 1\nwaits: { w: { image_job: x, target: SUCCESS } }\ntimeout: 5m\n".to_owned(),
        ),
        (
            "no version",
            "waits: { w: { image_job: x, target: SUCCESS } }\n".to_owned(),
        ),
        ("no waits", "version: 1\nwaits: {}\n".to_owned()),
        (
            "unknown wait key",
            wait("    image_job: x\n    target: [SUCCESS]\n    timout: 5m\n"),
        ),
        ("no kind", wait("    target: [SUCCESS]\n")),
        (
            "two kinds",
            wait("    image_job: x\n    desktop_job: y\n    target: [SUCCESS]\n"),
        ),
        (
            "unknown status",
            wait("    image_job: x\n    target: [SUCESS]\n"),
        ),
        (
            "duration without unit",
            wait("    image_job: x\n    target: [SUCCESS]\n    timeout: 30\n"),
        ),
        (
            "target and success",
            wait("    image_job: x\n    target: [SUCCESS]\n    success: { status: SUCCESS }\n"),
        ),
        ("no success", wait("    image_job: x\n")),
        (
            "count without is",
            wait("    image_sub_jobs: { job_type: T }\n    success: { count: [FAILED] }\n"),
        ),
        (
            "two path tests",
            wait(
                "    get: { service: workspace, path: /x }\n    success: { path: $.a, exists: true, equals: 1 }\n",
            ),
        ),
        (
            "bad comparison",
            wait(
                "    image_sub_jobs: { job_type: T }\n    success: { count: \"*\", is: \"about 3\" }\n",
            ),
        ),
        (
            "image_sub_jobs without job_type",
            wait("    image_sub_jobs: { job_id: x }\n    target: [SUCCESS]\n"),
        ),
        (
            "unknown filter",
            wait("    app_server_sub_jobs: { job_id: x, pool: y }\n    target: [SUCCESS]\n"),
        ),
        (
            "bad wait name",
            "version: 1\nwaits:\n  \"a b\": { image_job: x, target: SUCCESS }\n".to_owned(),
        ),
        (
            "bad jitter",
            wait("    image_job: x\n    target: [SUCCESS]\n    poll: { jitter: some }\n"),
        ),
        (
            "bad output name",
            wait("    image_job: x\n    target: [SUCCESS]\n    outputs: { image-id: $.id }\n"),
        ),
    ];
    for (name, yaml) in cases {
        assert!(
            !violations(&validator, &yaml).is_empty(),
            "the schema accepts: {name}\n{yaml}"
        );
        let project = |n: &str| (n == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| "p1".to_owned());
        assert!(
            jobgate::spec::parse(name, &yaml, &project).is_err(),
            "the validator accepts: {name}"
        );
    }
}
