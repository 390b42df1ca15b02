//! `jobgate validate --structure-only`: the pull-request check of a spec.
//! It needs no credentials, project id or variable values (unset `${VAR}`s
//! stand for values supplied at run time) and still refuses every mistake
//! of structure, with exit 2 and the usual located message.

use crate::common::harness;

use std::process::Output;
use std::time::Duration;

use harness::*;

/// A spec whose job ids and project id all come from the environment.
const TEMPLATED: &str = "version: 1
defaults:
  region: cn-north-4
  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}
waits:
  image:
    image_job: ${IMAGE_JOB_ID}
    target: [SUCCESS]
    timeout: ${IMAGE_TIMEOUT:-30m}
  desktops:
    after: [image]
    desktop_job: ${DESKTOP_JOB_ID}
    target: [SUCCESS]
";

/// `jobgate validate [ARGS] SPEC` with no credential, project id or job
/// variable in the environment.
fn validate(spec: &str, args: &[&str]) -> Output {
    let dir = Workdir::new();
    let path = dir.write("spec.yaml", spec);
    let mut cmd = jobgate();
    cmd.env_remove("HUAWEICLOUD_SDK_AK")
        .env_remove("HUAWEICLOUD_SDK_SK")
        .env_remove("HUAWEICLOUD_SDK_PROJECT_ID")
        .env_remove("IMAGE_JOB_ID")
        .env_remove("DESKTOP_JOB_ID")
        .env_remove("IMAGE_TIMEOUT");
    for name in [
        "HUAWEI_CLOUD_PROJECT_ID",
        "HW_PROJECT_ID",
        "HUAWEI_CLOUD_ACCESS_KEY_ID",
        "HW_ACCESS_KEY",
    ] {
        cmd.env_remove(name);
    }
    cmd.current_dir(dir.dir.path())
        .arg("validate")
        .args(args)
        .arg(path);
    output_within(&mut cmd, Duration::from_secs(60))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unset_variables_are_placeholders_in_structure_only_mode() {
    // The full check needs the values...
    let full = validate(TEMPLATED, &[]);
    assert_eq!(full.status.code(), Some(2), "{}", stderr(&full));
    assert!(
        stderr(&full).contains("spec::unset_variable"),
        "{}",
        stderr(&full)
    );

    // ...the structure check does not, and says which it took as placeholders.
    let out = validate(TEMPLATED, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("valid structure"), "{err}");
    assert!(err.contains("DESKTOP_JOB_ID"), "{err}");
    assert!(err.contains("IMAGE_JOB_ID"), "{err}");
    // The project id is filled in silently, and a default is a value.
    assert!(!err.contains("IMAGE_TIMEOUT"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_spec_without_any_project_id_checks_in_structure_only_mode() {
    let spec = "version: 1\nwaits:\n  build:\n    image_job: ${JOB}\n    target: [SUCCESS]\n";
    assert_eq!(validate(spec, &[]).status.code(), Some(2));
    let out = validate(spec, &["--structure-only"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn structure_mistakes_are_still_refused_and_unset_variables_not_blamed() {
    let spec = TEMPLATED.replace(
        "    target: [SUCCESS]\n    timeout",
        "    targte: [SUCCESS]\n    timeout",
    );
    let out = validate(&spec, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("spec::unknown_key"), "{err}");
    assert!(err.contains("targte"), "{err}");
    assert!(!err.contains("spec::unset_variable"), "{err}");
}

#[test]
fn unknown_statuses_are_still_refused() {
    let spec = TEMPLATED.replace(
        "target: [SUCCESS]\n    timeout",
        "target: [SUCESS]\n    timeout",
    );
    let out = validate(&spec, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("SUCESS"), "{err}");
}

/// The checks across waits run only on a spec otherwise valid: unset
/// variables must not switch them off.
#[test]
fn a_wrong_dependency_is_refused_even_with_unset_variables() {
    let spec = TEMPLATED.replace("after: [image]", "after: [imgae]");
    let out = validate(&spec, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("imgae"), "{err}");
    assert!(!err.contains("spec::unset_variable"), "{err}");
}

#[test]
fn mistakes_in_the_placeholders_own_values_are_not_reported() {
    // A duration, a status and a dependency, each from an unset variable.
    let spec = TEMPLATED
        .replace("${IMAGE_TIMEOUT:-30m}", "${IMAGE_TIMEOUT}")
        .replace("after: [image]", "after: [\"${UPSTREAM}\"]");
    let out = validate(&spec, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("IMAGE_TIMEOUT") && err.contains("UPSTREAM"),
        "{err}"
    );
}

#[test]
fn values_that_are_set_are_still_checked() {
    let out = validate(
        TEMPLATED,
        &["--structure-only", "--var", "IMAGE_TIMEOUT=soon"],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("spec::duration"), "{err}");

    let out = validate(
        TEMPLATED,
        &[
            "--structure-only",
            "--var",
            "HUAWEICLOUD_SDK_PROJECT_ID=not a project",
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("spec::project_id"), "{err}");
}

#[test]
fn malformed_references_are_not_placeholders() {
    let spec = TEMPLATED.replace("${DESKTOP_JOB_ID}", "${DESKTOP JOB}");
    let out = validate(&spec, &["--structure-only"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("spec::interpolation"), "{err}");
}
