//! The wait spec: YAML in, validated types out.
//!
//! [`parse`] is the only way to get a [`Spec`]; it either returns a spec the
//! engine can run as is, or every mistake found, located in the file.

pub(crate) mod code;
pub(crate) mod diagnostic;
pub(crate) mod duration;
pub(crate) mod interpolate;
pub mod model;
mod validate;
pub(crate) mod yaml;

pub use code::DiagnosticCode;
pub use diagnostic::{SpecDiagnostic, SpecErrors};
pub use model::*;
pub use yaml::Span;

/// Parses and validates a spec. `env` answers `${VAR}` look-ups (the process
/// environment plus `--var` overrides).
pub fn parse(
    origin: &str,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Spec, SpecErrors> {
    let fail = |diagnostics| SpecErrors {
        origin: origin.to_owned(),
        source: source.to_owned(),
        diagnostics,
    };
    let root = yaml::parse(source).map_err(|e| {
        fail(vec![if e.second_document {
            SpecDiagnostic::new(DiagnosticCode::Documents, e.span, e.message)
                .label("a second document starts here")
                .help("a spec is one YAML document: remove this `---` and what follows, or put each spec in its own file")
        } else {
            SpecDiagnostic::new(DiagnosticCode::Yaml, e.span, format!("invalid YAML: {}", e.message))
                .label("the YAML parser stopped here")
                .help("check indentation, quotes and brackets around this point")
        }])
    })?;
    validate::Validator::new(source, env)
        .spec(origin, &root)
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::{Check, Condition};

    fn env(name: &str) -> Option<String> {
        match name {
            "IMAGE_JOB_ID" => Some("job-1".into()),
            "HUAWEICLOUD_SDK_PROJECT_ID" => Some("p123".into()),
            _ => None,
        }
    }

    /// Asserts that `source` is a valid spec, showing the diagnostics if not.
    fn assert_valid(source: &str) {
        let ok = parse("s", source, &env);
        assert!(ok.is_ok(), "{:?}", ok.err().map(|e| e.to_string()));
    }

    fn errors(source: &str) -> Vec<(&'static str, usize, usize)> {
        parse("spec.yaml", source, &env)
            .unwrap_err()
            .diagnostics
            .iter()
            .map(|d| (d.code.as_str(), d.span.line, d.span.column))
            .collect()
    }

    #[test]
    fn parses_the_readme_example() {
        let spec = parse(
            "spec.yaml",
            "version: 1\ndefaults:\n  region: cn-north-4\n  project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}\n  timeout: 45m\n  poll: { initial: 5s, max: 1m, factor: 2, jitter: full }\nwaits:\n  golden-image:\n    image_job: ${IMAGE_JOB_ID}\n    pending: [WAITING, RUNNING]\n    target: [SUCCESS]\n    timeout: 60m\n",
            &env,
        )
        .unwrap();
        let wait = &spec.waits[0];
        assert_eq!(wait.name, "golden-image");
        assert_eq!(wait.project_id, "p123");
        assert_eq!(
            wait.target,
            Target::ImageJob {
                job_id: Template::literal("job-1")
            }
        );
        assert_eq!(wait.timeout.as_secs(), 3600);
        assert_eq!(wait.poll.max.as_secs(), 60);
        assert!(matches!(
            wait.rules.success,
            Condition::Check(Check::JobStatus(_))
        ));
        assert_eq!(spec.endpoints.region, "cn-north-4");
    }

    #[test]
    fn reports_every_error_with_location() {
        let found = errors(
            "version: 1\nwaits:\n  a:\n    image_job: ${NOPE}\n    target: [SUCESS]\n    timout: 5m\n  b:\n    image_job: x\n    pending: [RUNNING]\n    target: [RUNNING, SUCCESS]\n    timeout: soon\n",
        );
        assert_eq!(
            found,
            vec![
                ("spec::unset_variable", 4, 16),
                ("spec::unknown_status", 5, 14),
                ("spec::unknown_key", 6, 5),
                ("spec::overlap", 10, 14),
                ("spec::duration", 11, 14),
            ]
        );
    }

    #[test]
    fn bare_variables_are_refused_where_they_would_be_sent() {
        for (kind, line, column) in [
            ("image_job: job-$IMAGE_JOB_ID", 4, 20),
            ("desktop_sub_jobs: { desktop_pool_id: $POOL }", 4, 42),
            ("get: { service: workspace, path: /v2/$P/x }", 4, 42),
            (
                "get: { service: workspace, path: /x, query: { a: $Q } }",
                4,
                54,
            ),
        ] {
            let success = if kind.starts_with("get") {
                "success: { path: $.a, exists: true }"
            } else {
                "target: [SUCCESS]"
            };
            let found = errors(&format!(
                "version: 1\nwaits:\n  a:\n    {kind}\n    {success}\n"
            ));
            assert_eq!(found, [("spec::bare_variable", line, column)], "{kind}");
        }
        // `$` not before a name, and `$${`, are text.
        assert_valid(
            "version: 1\nwaits:\n  a:\n    image_job: a$1-$$${x}\n    target: [SUCCESS]\n",
        );
    }

    #[test]
    fn graph_errors() {
        let found = errors(
            "version: 1\nwaits:\n  a:\n    image_job: x\n    target: [SUCCESS]\n    after: [b]\n  b:\n    image_job: y\n    target: [SUCCESS]\n    after: [a, c]\n",
        );
        assert!(
            found.contains(&("spec::after_unknown", 10, 16)),
            "{found:?}"
        );
        assert!(
            found.iter().any(|f| f.0 == "spec::after_cycle"),
            "{found:?}"
        );
    }

    #[test]
    fn jsonpath_errors_point_at_the_character() {
        let found = errors(
            "version: 1\nwaits:\n  a:\n    image_job: x\n    success: { path: \"$.status[?\", exists: true }\n",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "spec::jsonpath");
        assert!(found[0].2 > 22, "{found:?}");
    }

    #[test]
    fn output_references_need_after() {
        let found = errors(
            "version: 1\nwaits:\n  a:\n    image_job: x\n    target: [SUCCESS]\n    outputs: { img: $.id }\n  b:\n    image_job: ${outputs.a.img}\n    target: [SUCCESS]\n",
        );
        assert_eq!(found[0].0, "spec::output_order");
        assert_valid(
            "version: 1\nwaits:\n  a:\n    image_job: x\n    target: [SUCCESS]\n    outputs: { img: $.id }\n  b:\n    image_job: ${outputs.a.img}\n    target: [SUCCESS]\n    after: [a]\n",
        );
    }

    #[test]
    fn output_reference_columns_count_characters() {
        // `é` is two bytes: the reference starts at column 47 in characters
        // (49 in bytes).
        let found = errors(
            "version: 1\nwaits:\n  a:\n    image_job: x\n    target: [SUCCESS]\n    outputs: { img: $.id }\n  b:\n    get: { service: workspace, path: \"/v2/é/é/${outputs.a.img}\" }\n    success: { path: $.status, exists: true }\n",
        );
        assert!(found.contains(&("spec::output_order", 8, 47)), "{found:?}");
    }

    #[test]
    fn an_empty_count_is_never_success() {
        use crate::condition::{Verdict, judge};
        use crate::engine::fetch::counts_observation;
        // What the count endpoint answers for a job that does not exist.
        let nothing = counts_observation([(None, 0), (Some("FAILED".into()), 0)].into());
        for target in ["app_server_sub_job_count", "app_server_sub_jobs"] {
            let spec = parse(
                "s",
                &format!("version: 1\nwaits:\n  a:\n    {target}: {{ job_id: x }}\n    success: {{ count: [FAILED], is: \"== 0\" }}\n"),
                &env,
            )
            .unwrap();
            assert_eq!(
                judge(&spec.waits[0].rules, &nothing),
                Verdict::Empty,
                "{target}"
            );
        }
    }
}
