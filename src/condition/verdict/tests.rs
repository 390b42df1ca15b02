//! The rules of [`judge`] one by one; the fixtures here serve the
//! contract tests too.

use super::*;
use crate::api::model::{JobState, parse_item};
use crate::condition::{Check, ItemFilter, Quantifier, StatusSet};
use serde_json::json;

pub(super) fn set(names: &[&str]) -> StatusSet {
    names.iter().map(|n| Status::parse(n)).collect()
}

pub(super) fn job(status: &str) -> Observation {
    Observation {
        job: Some(JobState {
            id: "j".into(),
            job_type: None,
            status: Status::parse(status),
            begin_time: None,
            end_time: None,
            sub_jobs_total: None,
            error_code: None,
            error_message: None,
        }),
        ..Default::default()
    }
}

pub(super) fn items(statuses: &[&str]) -> Observation {
    Observation {
        items: statuses
            .iter()
            .enumerate()
            .map(|(i, s)| {
                parse_item(json!({"id": i.to_string(), "status": s, "job_type": "T"})).unwrap()
            })
            .collect(),
        source: crate::api::model::Source::List,
        ..Default::default()
    }
}

pub(super) fn terraform(pending: &[&str], target: &[&str]) -> Rules {
    Rules {
        pending: set(pending),
        success: Condition::Check(Check::JobStatus(set(target))),
        failure: None,
        unknown_status: UnknownStatusPolicy::Fail,
        allow_empty: false,
        uses_items: false,
    }
}

pub(super) fn all_success() -> Rules {
    Rules {
        pending: set(&["WAITING", "RUNNING"]),
        success: Condition::Check(Check::Items {
            quantifier: Quantifier::All,
            statuses: set(&["SUCCESS"]),
            filter: ItemFilter::default(),
        }),
        failure: Some(Condition::Check(Check::Items {
            quantifier: Quantifier::Any,
            statuses: set(&["FAILED"]),
            filter: ItemFilter::default(),
        })),
        unknown_status: UnknownStatusPolicy::Fail,
        allow_empty: false,
        uses_items: true,
    }
}

#[test]
fn terraform_semantics() {
    let rules = terraform(&["WAITING", "RUNNING"], &["SUCCESS"]);
    assert!(matches!(
        judge(&rules, &job("SUCCESS")),
        Verdict::Met { .. }
    ));
    assert!(matches!(
        judge(&rules, &job("RUNNING")),
        Verdict::Pending { .. }
    ));
    // A documented failure status is a failure, not a surprise.
    assert!(matches!(
        judge(&rules, &job("FAILED")),
        Verdict::Failed { .. }
    ));
    assert!(matches!(
        judge(&rules, &job("COMPLETE")),
        Verdict::Unexpected { .. }
    ));
}

#[test]
fn unknown_policy_wait_keeps_polling() {
    let mut rules = terraform(&["RUNNING"], &["SUCCESS"]);
    rules.unknown_status = UnknownStatusPolicy::Wait;
    assert!(matches!(
        judge(&rules, &job("COMPLETE")),
        Verdict::Pending { .. }
    ));
}

#[test]
fn failure_is_checked_first_and_blames_items() {
    let verdict = judge(&all_success(), &items(&["SUCCESS", "FAILED", "RUNNING"]));
    let Verdict::Failed { blame, .. } = verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(blame.len(), 1);
    assert_eq!(blame[0].status, Status::Failed);
}

#[test]
fn empty_set_is_not_success_unless_allowed() {
    let mut rules = all_success();
    assert_eq!(judge(&rules, &items(&[])), Verdict::Empty);
    rules.allow_empty = true;
    assert!(matches!(judge(&rules, &items(&[])), Verdict::Met { .. }));
}

#[test]
fn all_over_a_filter_selecting_nothing_is_not_success() {
    // The image sub-job has not appeared yet; the others all succeeded.
    let mut rules = all_success();
    rules.success = Condition::Check(Check::Items {
        quantifier: Quantifier::All,
        statuses: set(&["SUCCESS"]),
        filter: ItemFilter {
            fields: vec![("job_type".into(), vec!["CREATE_SERVER_IMAGE".into()])],
        },
    });
    assert!(matches!(
        judge(&rules, &items(&["SUCCESS", "SUCCESS"])),
        Verdict::Pending { .. }
    ));
}

#[test]
fn statuses_of_items_outside_every_filter_are_not_unexpected() {
    let mut rules = all_success();
    let only = |t: &str| ItemFilter {
        fields: vec![("job_type".into(), vec![t.into()])],
    };
    rules.success = Condition::Check(Check::Items {
        quantifier: Quantifier::All,
        statuses: set(&["SUCCESS"]),
        filter: only("T"),
    });
    rules.failure = Some(Condition::Check(Check::Items {
        quantifier: Quantifier::Any,
        statuses: set(&["FAILED"]),
        filter: only("T"),
    }));
    let mut obs = items(&["SUCCESS"]);
    obs.items
        .push(parse_item(json!({"id": "other", "status": "ROLLBACK", "job_type": "U"})).unwrap());
    assert!(matches!(judge(&rules, &obs), Verdict::Met { .. }));
    // Selected by the filter, the same status ends the wait.
    let obs = items(&["SUCCESS", "ROLLBACK"]);
    assert!(matches!(judge(&rules, &obs), Verdict::Unexpected { .. }));
}

#[test]
fn a_list_judged_by_jsonpath_alone_leaves_statuses_to_its_paths() {
    let mut rules = all_success();
    rules.success = Condition::Check(Check::Path {
        source: "$.items[?@.status == 'RUNNING']".into(),
        path: serde_json_path::JsonPath::parse("$.items[?@.status == 'RUNNING']").unwrap(),
        test: crate::condition::PathTest::Exists(false),
    });
    rules.failure = None;
    // Its paths decide: SUCCESS is no stranger although no list names it.
    let verdict = judge(&rules, &items(&["SUCCESS", "SUCCESS"]));
    assert!(matches!(verdict, Verdict::Met { .. }), "{verdict:?}");
}

#[test]
fn all_items_success() {
    assert!(matches!(
        judge(&all_success(), &items(&["SUCCESS", "SUCCESS"])),
        Verdict::Met { .. }
    ));
    assert!(matches!(
        judge(&all_success(), &items(&["SUCCESS", "RUNNING"])),
        Verdict::Pending { .. }
    ));
    let verdict = judge(&all_success(), &items(&["SUCCESS", "ROLLBACK"]));
    assert!(matches!(
        verdict,
        Verdict::Unexpected {
            status: Status::Rollback,
            ..
        }
    ));
}
