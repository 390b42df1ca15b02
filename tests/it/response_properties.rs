//! Properties of response parsing and evaluation, with a fixed case budget
//! so they run in CI (the `response_eval` fuzz target explores further):
//! whatever the API answers, jobgate refuses it as malformed or judges it
//! without panicking, and a verdict of `met` is always one a reference
//! reading of the raw JSON agrees with.

use jobgate::api::model::{Malformed, Observation, parse_job, parse_page};
use jobgate::condition::{Verdict, judge};
use jobgate::engine::{capture_outputs, fetch::observe_saved, summarize};
use jobgate::spec::{Spec, Wait};
use proptest::prelude::*;
use serde_json::{Value, json};

const SPEC: &str = r#"
version: 1
defaults: { project_id: 0123456789abcdef0123456789abcdef, region: cn-north-4 }
waits:
  job:
    image_job: "702364883651395584"
    success: [{ status: [SUCCESS] }, { all: [SUCCESS], where: { job_type: CREATE_SERVER_IMAGE } }]
    failure: { any: [FAILED, ABNORMAL] }
    outputs:
      image_id: $.sub_jobs[?@.job_type == 'CREATE_SERVER_IMAGE'].job_resource_info.resource_id
  list:
    desktop_sub_jobs: { job_id: "702364883651395584" }
    success: { count: [SUCCESS], is: ">= 50%" }
    failure: { any: [FAILED] }
    unknown_status: wait
  count:
    app_server_sub_job_count: { job_id: "702364883651395584" }
    success: { count: [ABNORMAL], is: "== 0" }
  json:
    get: { service: workspace, path: "/v2/{project_id}/workspace-jobs/702364883651395584" }
    success:
      - path: $.status
        in: [SUCCESS, COMPLETE]
      - path: $.sub_jobs[?@.status == 'FAILED']
        count: "== 0"
    failure: { path: $.status, matches: "^FAIL(ED)?$" }
"#;

fn spec() -> Spec {
    jobgate::spec::parse("properties.yaml", SPEC, &|_| None)
        .unwrap_or_else(|e| panic!("the test spec is invalid:\n{}", e.render(false, 100)))
}

fn wait<'a>(spec: &'a Spec, name: &str) -> &'a Wait {
    spec.waits.iter().find(|w| w.name == name).unwrap()
}

const STATUSES: [&str; 8] = [
    "WAITING", "RUNNING", "SUCCESS", "FAILED", "ABNORMAL", "COMPLETE", "success", "",
];
const KEYS: [&str; 12] = [
    "id",
    "status",
    "job_type",
    "sub_jobs",
    "items",
    "jobs",
    "count",
    "counts",
    "process",
    "job_resource_info",
    "resource_id",
    "*",
];

/// Any JSON, biased towards the keys and statuses the parsers look at, so
/// that near-valid responses with one wrong type are common.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0u64..20).prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(&STATUSES[..]).prop_map(|s| json!(s)),
        "[A-Z_]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(&KEYS[..]), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.into(), v)).collect())),
        ]
    })
}

/// A well-typed sub-job with a random status and job type.
fn sub_job() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(&STATUSES[..6]),
        prop::sample::select(&["CREATE_SERVER", "CREATE_SERVER_IMAGE", "DELETE_SERVER"][..]),
        0u32..=100,
    )
        .prop_map(|(status, job_type, process)| {
            json!({
                "status": status,
                "job_type": job_type,
                "process": process,
                "job_resource_info": { "resource_id": format!("res-{process}") },
            })
        })
}

/// A job detail or list page with unique sub-job ids.
fn job_like() -> impl Strategy<Value = (Value, Vec<Value>)> {
    (
        prop::sample::select(&STATUSES[..6]),
        prop::collection::vec(sub_job(), 0..12),
    )
        .prop_map(|(status, mut subs)| {
            for (i, s) in subs.iter_mut().enumerate() {
                s["id"] = json!(format!("sub-{i}"));
            }
            (
                json!({ "id": "702364883651395584", "status": status, "sub_jobs": subs }),
                subs,
            )
        })
}

/// Reads a response the way a poll would, from its JSON text.
fn saved(wait: &Wait, doc: &Value) -> Result<Observation, Malformed> {
    observe_saved(wait, &serde_json::to_vec(doc).unwrap())
}

fn status_of(v: &Value) -> Option<&str> {
    v.get("status").and_then(Value::as_str)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Arbitrary JSON never panics any stage, and a job answer without a
    /// string status is refused rather than judged.
    #[test]
    fn any_response_is_refused_or_judged(doc in any_json()) {
        let spec = spec();
        for wait in &spec.waits {
            match saved(wait, &doc) {
                Err(_) => {}
                Ok(obs) => {
                    let verdict = judge(&wait.rules, &obs);
                    let _ = capture_outputs(wait, &obs);
                    let _ = summarize(&obs);
                    if wait.name == "job" {
                        prop_assert!(status_of(&doc).is_some(), "judged a job without a status: {verdict:?}");
                    }
                }
            }
        }
    }

    /// A job detail passes exactly when the reference reading of its JSON
    /// says so: status SUCCESS, no FAILED/ABNORMAL sub-job, at least one
    /// CREATE_SERVER_IMAGE sub-job, all of them SUCCESS, and every sub-job
    /// its `sub_jobs_total` promises listed.
    #[test]
    fn job_verdict_agrees_with_the_reference((mut doc, subs) in job_like(), unlisted in 0usize..2) {
        doc["sub_jobs_total"] = json!(subs.len() + unlisted);
        let spec = spec();
        let w = wait(&spec, "job");
        let obs = saved(w, &doc).expect("a well-typed job parses");
        let failing = subs.iter().any(|s| matches!(status_of(s), Some("FAILED" | "ABNORMAL")));
        let images: Vec<&Value> = subs.iter().filter(|s| s["job_type"] == "CREATE_SERVER_IMAGE").collect();
        // Any status the wait never names (pending is WAITING, RUNNING by
        // default) ends it as unexpected, before success is considered.
        let declared = ["WAITING", "RUNNING", "SUCCESS", "FAILED", "ABNORMAL"];
        let all_declared = subs.iter().all(|s| status_of(s).is_some_and(|st| declared.contains(&st)));
        let expect_met = !failing
            && unlisted == 0
            && all_declared
            && status_of(&doc) == Some("SUCCESS")
            && !images.is_empty()
            && images.iter().all(|s| status_of(s) == Some("SUCCESS"));
        let verdict = judge(&w.rules, &obs);
        prop_assert_eq!(matches!(verdict, Verdict::Met { .. }), expect_met, "{:?}", verdict);
        if failing {
            prop_assert!(matches!(verdict, Verdict::Failed { .. }), "{:?}", verdict);
        }
        // The output is the image sub-job's resource id, a JSON list of
        // them when there are several, absent when there is none.
        let outputs = capture_outputs(w, &obs);
        let ids: Vec<&str> = images.iter().map(|s| s["job_resource_info"]["resource_id"].as_str().unwrap()).collect();
        let expected = match ids.as_slice() {
            [] => None,
            [one] => Some((*one).to_owned()),
            several => Some(serde_json::json!(several).to_string()),
        };
        prop_assert_eq!(outputs.get("image_id").cloned(), expected);
    }

    /// A list page never passes a share (`>= 50%`): a list shows only the
    /// items that exist so far, so it has no known whole. A FAILED item
    /// still fails it.
    #[test]
    fn share_verdict_agrees_with_the_reference((_, subs) in job_like()) {
        let spec = spec();
        let w = wait(&spec, "list");
        let page = json!({ "total_count": subs.len(), "jobs": subs });
        let obs = saved(w, &page).expect("a well-typed page parses");
        let failed = subs.iter().any(|s| status_of(s) == Some("FAILED"));
        let verdict = judge(&w.rules, &obs);
        prop_assert!(!matches!(verdict, Verdict::Met { .. }), "{:?}", verdict);
        prop_assert_eq!(matches!(verdict, Verdict::Failed { .. }), failed, "{:?}", verdict);
    }

    /// The byte-level readers never panic on cut JSON or garbage, and on a
    /// complete text they read a job exactly when a JSON tree reading finds
    /// an object with a string `status` (and no `sub_jobs` list that could
    /// be refused), with that status.
    #[test]
    fn byte_readers_agree_with_a_tree_reading(doc in any_json(), cut in any::<prop::sample::Index>(), garbage in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = serde_json::to_vec(&doc).unwrap();
        for bytes in [&text[..cut.index(text.len())], &garbage[..]] {
            let _ = parse_page(bytes);
            let _ = parse_job(bytes.to_vec().into());
        }
        match (parse_job(text.into()), status_of(&doc)) {
            (Ok(obs), Some(status)) => {
                prop_assert_eq!(obs.job.as_ref().unwrap().status.as_str(), status);
            }
            (Ok(obs), None) => prop_assert!(false, "read a job without a string status: {:?} from {}", obs.job, doc),
            (Err(e), Some(_)) => prop_assert!(
                doc.get("sub_jobs").is_some_and(|s| !s.is_null()),
                "refused a job with a string status and no sub-jobs ({}): {}", e, doc
            ),
            (Err(_), None) => {}
        }
    }

    /// Saved count answers pass exactly when the ABNORMAL count is zero and
    /// the total is not (an empty set is never success); a missing answer is
    /// refused, never read as zero.
    #[test]
    fn count_verdict_needs_every_answer(total in 0u64..50, abnormal in 0u64..50, drop_abnormal: bool) {
        let spec = spec();
        let w = wait(&spec, "count");
        let doc = if drop_abnormal {
            json!({ "counts": { "*": total } })
        } else {
            json!({ "counts": { "*": total, "ABNORMAL": abnormal } })
        };
        match saved(w, &doc) {
            Err(e) => prop_assert!(drop_abnormal, "refused a complete answer: {e}"),
            Ok(obs) => {
                prop_assert!(!drop_abnormal, "judged without the ABNORMAL count");
                let verdict = judge(&w.rules, &obs);
                prop_assert_eq!(matches!(verdict, Verdict::Met { .. }), abnormal == 0 && total > 0, "{:?}", verdict);
            }
        }
    }
}

#[test]
fn a_single_count_answer_is_refused_with_the_expected_form() {
    let spec = spec();
    let err = saved(wait(&spec, "count"), &json!({ "count": 3 })).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"this wait reads the count endpoint once per count it needs (ABNORMAL; *); give every answer as {"counts": {"ABNORMAL": N, "*": N}} (the report's last observation shows them so)"#
    );
}
