//! The JSON report.
//!
//! The JSON report is the machine-readable contract: its shape is described by
//! `docs/report.schema.json` and versioned by [`SCHEMA_VERSION`]; the tests
//! below validate sample reports against that schema so the two cannot drift.
//!
//! [`SCHEMA_VERSION`]: super::model::SCHEMA_VERSION

use std::io;
use std::path::Path;

use super::file::write_atomic;
use super::model::RunReport;

/// Serialises the report as pretty-printed JSON with a final newline.
///
/// Fails only if a value cannot be represented in JSON, which the report's
/// types rule out; the `Result` is kept so that a future field cannot turn
/// into a panic.
pub(crate) fn to_json(report: &RunReport) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

/// Writes the JSON report to `path` atomically (see [`write_atomic`]).
pub(crate) fn write(report: &RunReport, path: &Path) -> io::Result<()> {
    let text = to_json(report).map_err(io::Error::other)?;
    write_atomic(path, text.as_bytes())
}

/// Sample reports shared by the tests of every format, so that each format is
/// checked against the same situations.
#[cfg(test)]
pub(crate) mod samples {
    use std::collections::BTreeMap;

    use crate::api::Status;
    use crate::api::model::{Item, JobState, Timestamp};
    use crate::report::model::*;

    fn base(outcome: Outcome, waits: Vec<WaitReport>) -> RunReport {
        RunReport {
            schema_version: SCHEMA_VERSION,
            tool: "jobgate".into(),
            version: "0.1.0".into(),
            spec: "gates/release.yaml".into(),
            started_at: "2025-03-04T10:00:00Z".into(),
            ended_at: "2025-03-04T10:12:04Z".into(),
            exit_code: crate::exit::combine([outcome.own_exit_code()]),
            outcome,
            interrupted_by: None,
            waits,
        }
    }

    fn wait(name: &str, kind: &str, outcome: Outcome, elapsed_ms: u64, reason: &str) -> WaitReport {
        WaitReport {
            name: name.into(),
            kind: kind.into(),
            requests: vec![request(kind)],
            success: "job status is SUCCESS".into(),
            failure: None,
            outcome,
            reason: reason.into(),
            polls: 12,
            requests_sent: 12,
            retries: 0,
            elapsed_ms,
            last_observation: None,
            blame: Vec::new(),
            evidence: None,
            outputs: BTreeMap::new(),
            last_error: None,
            history: vec![
                HistoryEntry {
                    at_ms: 0,
                    poll: 1,
                    state: "RUNNING".into(),
                },
                HistoryEntry {
                    at_ms: elapsed_ms,
                    poll: 12,
                    state: outcome.as_str().to_uppercase(),
                },
            ],
            estimate: None,
            declared_at: None,
        }
    }

    /// A plausible request line for each kind used in the samples.
    fn request(kind: &str) -> String {
        let path = match kind {
            "image_job" => {
                "workspace.cn-north-4.myhuaweicloud.com/v1/p123/image-server-jobs/job-42"
            }
            "app_server_job" => "appstream.cn-north-4.myhuaweicloud.com/v2/p123/job/job-43",
            "app_server_sub_jobs" => {
                "appstream.cn-north-4.myhuaweicloud.com/v1/p123/app-server-sub-jobs?job_id=job-43&offset=0&limit=100"
            }
            "desktop_sub_jobs" => {
                "workspace.cn-north-4.myhuaweicloud.com/v2/p123/workspace-sub-jobs?job_id=job-44&offset=0&limit=100"
            }
            "image_sub_job_count" => {
                "workspace.cn-north-4.myhuaweicloud.com/v1/p123/image-server-sub-jobs/actions/count?job_type=CREATE_SERVER_IMAGE"
            }
            _ => "workspace.cn-north-4.myhuaweicloud.com/v2/p123/desktop-pools/pool-1",
        };
        format!("GET https://{path}")
    }

    fn failed_item(n: usize) -> Item {
        Item {
            id: format!("sub-{n:03}"),
            job_type: Some("CREATE_SERVER".into()),
            status: Status::Failed,
            resource_id: Some(format!("srv-id-{n:03}")),
            resource_name: Some(format!("app-server-{n:03}")),
            user_name: None,
            error_code: Some("WKS.0163".into()),
            error_message: Some("The flavor is sold out in this availability zone.".into()),
            begin_time: Some(Timestamp::parse("2025-03-04T10:01:00Z")),
            end_time: Some(Timestamp::parse("2025-03-04 10:03:10")),
            progress: None,
            raw: crate::api::wire::RawJson::null(),
        }
    }

    /// Every wait met its condition; one captured outputs.
    pub(crate) fn met() -> RunReport {
        let mut image = wait(
            "golden-image",
            "image_job",
            Outcome::Met,
            724_000,
            "job status is SUCCESS",
        );
        image.outputs.insert("image_id".into(), "img-7c1e2f".into());
        image.last_observation = Some(LastObservation {
            job: Some(JobState {
                id: "job-42".into(),
                job_type: Some("CREATE_SERVER_IMAGE".into()),
                status: Status::Success,
                begin_time: Some(Timestamp::parse("2025-03-04T10:00:01Z")),
                end_time: Some(Timestamp::parse("2025-03-04T10:12:03Z")),
                sub_jobs_total: Some(3),
                error_code: None,
                error_message: None,
            }),
            status_counts: BTreeMap::from([("SUCCESS".into(), 3)]),
            items: 3,
            counts: BTreeMap::new(),
            progress: Some(100),
            found: "SUCCESS".into(),
        });
        let mut desktops = wait(
            "desktops",
            "desktop_sub_jobs",
            Outcome::Met,
            95_500,
            "all 20 sub-jobs are SUCCESS",
        );
        desktops.success = "all sub-jobs are SUCCESS".into();
        desktops.retries = 1;
        base(Outcome::Met, vec![image, desktops])
    }

    /// The evidence the engine would attach for a list of these items.
    fn evidence_of(items: &[Item], outcome: Outcome) -> Option<super::super::evidence::Evidence> {
        let obs = crate::api::model::Observation {
            items: items.to_vec(),
            source: crate::api::model::Source::List,
            ..Default::default()
        };
        super::super::evidence::extract(&obs, outcome, &[])
    }

    /// A list wait failed with more blamed items than any format lists.
    pub(crate) fn failed() -> RunReport {
        let mut servers = wait(
            "app-servers",
            "app_server_sub_jobs",
            Outcome::Failed,
            190_000,
            "14 sub-jobs are FAILED (failure: any sub-job is FAILED)",
        );
        servers.success = "all sub-jobs are SUCCESS".into();
        servers.failure = Some("any sub-job is FAILED".into());
        servers.blame = (1..=14).map(failed_item).collect();
        servers.last_error = Some(ApiErrorInfo {
            http_status: Some(429),
            code: Some("APIG.0308".into()),
            message: "The request is throttled.".into(),
            request_id: Some("5e0f7d2c9b1a4e8f".into()),
        });
        servers.retries = 2;
        servers.evidence = evidence_of(&servers.blame, Outcome::Failed);
        base(Outcome::Failed, vec![servers])
    }

    /// The only wait ran out of time.
    pub(crate) fn timed_out() -> RunReport {
        let mut image = wait(
            "golden-image",
            "image_job",
            Outcome::TimedOut,
            2_700_000,
            "timeout of 45m ran out; last seen RUNNING (progress 80%)",
        );
        image.blame = vec![Item {
            status: Status::Running,
            error_code: None,
            error_message: None,
            progress: Some(80),
            ..failed_item(1)
        }];
        image.evidence = evidence_of(&image.blame, Outcome::TimedOut);
        base(Outcome::TimedOut, vec![image])
    }

    /// Credentials were rejected: the gate could not check anything.
    pub(crate) fn auth_error() -> RunReport {
        let mut image = wait(
            "golden-image",
            "image_job",
            Outcome::AuthError,
            1_200,
            "the API rejected the credentials (HTTP 401)",
        );
        image.last_error = Some(ApiErrorInfo {
            http_status: Some(401),
            code: Some("APIGW.0301".into()),
            message: "Incorrect IAM authentication information: verify aksk signature fail".into(),
            request_id: Some("a1b2c3d4e5f6".into()),
        });
        base(Outcome::AuthError, vec![image])
    }

    /// The run was interrupted: one wait was cancelled, one never started.
    pub(crate) fn cancelled() -> RunReport {
        let image = wait(
            "golden-image",
            "image_job",
            Outcome::Cancelled,
            30_000,
            "interrupted by SIGINT",
        );
        let mut deploy = wait(
            "deploy",
            "app_server_job",
            Outcome::Skipped,
            0,
            "`golden-image` did not succeed",
        );
        deploy.polls = 0;
        deploy.requests_sent = 0;
        deploy.history.clear();
        let mut report = base(Outcome::Cancelled, vec![image, deploy]);
        report.interrupted_by = Some("SIGINT".into());
        report.exit_code = crate::exit::INTERRUPTED;
        report
    }

    /// Waits that ended every way at once, with text that needs escaping.
    pub(crate) fn mixed() -> RunReport {
        let mut met = self::met().waits.remove(0);
        met.outputs.insert(
            "note".into(),
            "line one\nline two | with <html> & 100%".into(),
        );
        let mut failed = self::failed().waits.remove(0);
        failed.blame.truncate(2);
        failed.blame[1].error_message =
            Some("quota \"instances\" exceeded: need 3, have 1 <limit>, 50% used".into());
        failed.reason = "2 sub-jobs are FAILED (failure: any sub-job is FAILED)".into();
        failed.evidence = evidence_of(&failed.blame, Outcome::Failed);
        let timed = self::timed_out().waits.remove(0);
        let timed = WaitReport {
            name: "image-sub-jobs".into(),
            kind: "image_sub_job_count".into(),
            ..timed
        };
        let mut api = wait(
            "count-check",
            "get",
            Outcome::ApiError,
            61_000,
            "the API kept answering HTTP 503 (error budget of 6 spent)",
        );
        api.last_error = Some(ApiErrorInfo {
            http_status: Some(503),
            code: None,
            message: "Service Unavailable".into(),
            request_id: None,
        });
        let skipped = wait(
            "deploy",
            "app_server_job",
            Outcome::Skipped,
            0,
            "`app-servers` did not succeed",
        );
        base(Outcome::Failed, vec![met, failed, timed, api, skipped])
    }

    /// Every sample, named, for tests that check all of them.
    pub(crate) fn all() -> Vec<(&'static str, RunReport)> {
        vec![
            ("met", met()),
            ("failed", failed()),
            ("timed_out", timed_out()),
            ("auth_error", auth_error()),
            ("cancelled", cancelled()),
            ("mixed", mixed()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn schema() -> Value {
        let text = include_str!("../../docs/report.schema.json");
        serde_json::from_str(text).expect("docs/report.schema.json is valid JSON")
    }

    fn violations(instance: &Value) -> Vec<String> {
        let validator = jsonschema::validator_for(&schema()).expect("the schema compiles");
        validator
            .iter_errors(instance)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    #[test]
    fn every_sample_report_matches_the_schema() {
        for (name, report) in samples::all() {
            let value: Value = serde_json::from_str(&to_json(&report).unwrap()).unwrap();
            let errors = violations(&value);
            assert!(
                errors.is_empty(),
                "sample `{name}` violates the schema: {errors:#?}"
            );
        }
    }

    #[test]
    fn the_schema_rejects_drift() {
        // Guards the test above: a schema that accepted anything would pass it.
        let mut value = serde_json::to_value(samples::failed()).unwrap();
        value["waits"][0]["outcome"] = "exploded".into();
        value["waits"][0]["surprise"] = true.into();
        value["schema_version"] = 2.into();
        value["waits"][0]["blame"][0]
            .as_object_mut()
            .unwrap()
            .remove("status");
        let errors = violations(&value);
        assert!(errors.len() >= 4, "{errors:#?}");
    }

    #[test]
    fn the_schema_is_pinned_to_the_model_version() {
        assert_eq!(
            schema()["properties"]["schema_version"]["const"],
            super::super::model::SCHEMA_VERSION
        );
    }

    #[test]
    fn json_is_pretty_and_ends_with_a_newline() {
        let text = to_json(&samples::met()).unwrap();
        assert!(text.starts_with("{\n  \"schema_version\": 1,"), "{text}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn write_serialises_the_report() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write(&samples::mixed(), &path).unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back["outcome"], "failed");
        assert_eq!(back["waits"].as_array().unwrap().len(), 5);
    }
}
