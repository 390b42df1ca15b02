//! Reading job details, items and pages: tolerant of a loose API, strict
//! where a guess could pass a gate.

use super::*;
use bytes::Bytes;
use serde_json::json;

fn job(value: Value) -> Result<Observation, Malformed> {
    parse_job(serde_json::to_vec(&value).unwrap().into())
}

fn page(value: Value) -> Result<Page, Malformed> {
    parse_page(&serde_json::to_vec(&value).unwrap())
}

#[test]
fn parses_both_timestamp_formats() {
    let a = Timestamp::parse("2024-05-20T10:39:49.61Z");
    let b = Timestamp::parse("2020-04-10 06:45:14");
    assert!(a.parsed.is_some() && b.parsed.is_some());
    assert_eq!(b.parsed.unwrap().to_string(), "2020-04-10T06:45:14Z");
    let c = Timestamp::parse("yesterday");
    assert_eq!((c.raw.as_str(), c.parsed), ("yesterday", None));
}

#[test]
fn parses_image_job_with_nested_errors() {
    let obs = job(json!({
        "id": "j1", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED", "sub_jobs_total": 2,
        "sub_jobs": [
            {"id": "s1", "job_type": "CREATE_SERVER", "status": "SUCCESS",
             "job_resource_info": {"resource_id": "r1", "resource_name": "srv"}},
            {"id": "s2", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED",
             "job_execute_info": {"error_code": "WKS.0001", "error_message": "disk full"}},
            {"id": "s2", "job_type": "CREATE_SERVER_IMAGE", "status": "FAILED"}
        ]
    }))
    .unwrap();
    assert_eq!(obs.job.as_ref().unwrap().status, Status::Failed);
    assert_eq!(obs.items.len(), 2, "duplicates are dropped");
    assert_eq!(obs.items[0].resource_id.as_deref(), Some("r1"));
    assert_eq!(obs.items[1].error_message.as_deref(), Some("disk full"));
}

#[test]
fn parses_flat_and_workspace_items() {
    let app = parse_item(
        json!({"id": "a", "status": "ABNORMAL", "error_code": "E", "error_message": "m"}),
    )
    .unwrap();
    assert_eq!(
        (app.error_code.as_deref(), app.error_message.as_deref()),
        (Some("E"), Some("m"))
    );
    let desk = parse_item(json!({"id": "d", "status": "RUNNING", "process": 40,
        "entities": {"desktop_id": "x", "desktop_name": "pc"}, "fail_reason": "f"}))
    .unwrap();
    assert_eq!(desk.progress, Some(40));
    assert_eq!(desk.resource_name.as_deref(), Some("pc"));
    assert_eq!(desk.error_message.as_deref(), Some("f"));
}

#[test]
fn unknown_values_are_kept_and_missing_status_is_malformed() {
    let obs = job(json!({"id": "j", "status": "COMPLETE", "job_type": "NEW_KIND"})).unwrap();
    assert_eq!(obs.job.unwrap().status, Status::Other("COMPLETE".into()));
    assert!(job(json!({"id": "j"})).is_err());
    assert!(job(json!([1, 2])).is_err());
    assert!(job(json!({"id": "j", "status": 3})).is_err());
    assert!(job(json!({"id": "j", "status": "RUNNING", "sub_jobs": {}})).is_err());
    assert!(parse_job(Bytes::from_static(b"{\"status\": \"RUN")).is_err());
    assert!(parse_job(Bytes::from_static(b"{\"status\": \"SUCCESS\"} trailing")).is_err());
    assert!(parse_item(json!({"status": "RUNNING"})).is_err());
}

#[test]
fn the_document_is_the_response_as_json() {
    let detail = json!({"id": "j", "status": "RUNNING", "sub_jobs": [
        {"id": "s1", "status": "SUCCESS", "extra": {"k": 1}},
        {"id": "s2", "status": "RUNNING"}
    ]});
    let obs = job(detail.clone()).unwrap();
    assert_eq!(*obs.document(), detail);
    assert!(!obs.is_list());

    let bare = json!({"id": "j", "status": "RUNNING"});
    assert_eq!(*job(bare.clone()).unwrap().document(), bare);

    let listed = page(json!({"total_count": 2, "jobs": [
        {"id": "a", "status": "RUNNING"}, {"id": "a", "status": "RUNNING"}
    ]}))
    .unwrap();
    let list = list_observation(listed.items).unwrap();
    assert!(list.is_list());
    assert_eq!(
        *list.document(),
        json!({"count": 1, "items": [{"id": "a", "status": "RUNNING"}]})
    );
}

#[test]
fn a_job_that_cannot_be_read_as_a_tree_is_malformed() {
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    let body = format!(
        r#"{{"id":"j","status":"RUNNING","sub_jobs":[{{"id":"s","status":"FAILED"}}],"x":{deep}}}"#
    );
    let err = parse_job(body.into_bytes().into()).unwrap_err();
    assert!(err.0.contains("JSON tree"), "{err}");
    let in_item = format!(r#"{{"count":1,"items":[{{"id":"s","status":"FAILED","x":{deep}}}]}}"#);
    assert!(parse_page(in_item.as_bytes()).is_err());
    let huge = br#"{"id":"j","status":"RUNNING","x":1e999}"#;
    assert!(parse_job(Bytes::from_static(huge)).is_err());
}

#[test]
fn conflicting_sightings_and_other_jobs_are_malformed() {
    let twice = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
        {"id": "s", "status": "RUNNING"}, {"id": "s", "status": "FAILED"}
    ]}));
    assert!(twice.unwrap_err().0.contains("different statuses"));
    let retyped = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
        {"id": 1, "status": "SUCCESS"}, {"id": "1", "status": "FAILED"}
    ]}));
    assert!(retyped.is_err(), "1 and \"1\" are one id");
    // Repeats with the same status are one item, kept where first seen.
    let repeated = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
        {"id": "b", "status": "RUNNING"}, {"id": "a", "status": "SUCCESS"},
        {"id": "b", "status": "RUNNING"}, {"id": "c", "status": "FAILED"},
        {"id": "a", "status": "SUCCESS"}
    ]}))
    .unwrap();
    let ids: Vec<&str> = repeated.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, ["b", "a", "c"]);
    let foreign = job(json!({"id": "j", "status": "RUNNING", "sub_jobs": [
        {"id": "s", "status": "SUCCESS", "job_id": "k"}
    ]}));
    assert!(foreign.unwrap_err().0.contains("belongs to job k"));

    let obs = job(json!({"id": "702364883651395584", "status": "SUCCESS"})).unwrap();
    assert!(check_job_id(&obs, "702364883651395584").is_ok());
    assert!(check_job_id(&obs, "702364883651395585").is_err());
    let rounded = job(json!({"id": 702364883651395600u64, "status": "SUCCESS"})).unwrap();
    assert!(check_job_id(&rounded, "702364883651395584").is_err());
    let anonymous = job(json!({"status": "SUCCESS"})).unwrap();
    assert!(check_job_id(&anonymous, "j").is_err());
}

#[test]
fn pages_and_counts() {
    let one = page(json!({"total_count": 3, "jobs": [{"id": "1", "status": "RUNNING"}]})).unwrap();
    assert_eq!((one.total, one.items.len()), (3, 1));
    let apps = page(json!({"count": 5, "items": [{"id": 1, "status": "SUCCESS"}]})).unwrap();
    assert_eq!((apps.total, apps.items[0].id.as_str()), (5, "1"));
    assert!(page(json!({"count": 1})).is_err());
    assert!(page(json!({"count": 1, "items": null})).is_err());
    assert!(
        page(json!({"count": 1, "items": [1]})).is_err(),
        "an item must be an object"
    );
    assert!(page(json!([])).is_err());
    assert_eq!(parse_count(&json!({"count": 7})), Ok(7));
    assert!(parse_count(&json!({"count": "x"})).is_err());
}
