//! The verdict contract (README, "The verdict contract"): one test per row.

use super::tests::{all_success, items, job, set, terraform};
use super::*;
use crate::api::model::parse_item;
use crate::condition::{Check, Comparison, ItemFilter, Quantifier};
use serde_json::json;

fn job_with(status: &str, total: Option<u64>, subs: &[&str]) -> Observation {
    let mut obs = items(subs);
    obs.job = job(status).job;
    if let Some(job) = obs.job.as_mut() {
        job.sub_jobs_total = total;
    }
    obs
}

fn users(listed: &[(&str, &str)]) -> Observation {
    Observation {
        items: listed
            .iter()
            .enumerate()
            .map(|(i, (user, status))| {
                parse_item(
                    json!({"id": i.to_string(), "status": status, "job_type": "T",
                    "entities": {"user_name": user}}),
                )
                .unwrap()
            })
            .collect(),
        ..Default::default()
    }
}

fn check(rules: &mut Rules, success: Check) -> &mut Rules {
    rules.uses_items |= success.uses_items();
    rules.success = Condition::Check(success);
    rules
}

fn for_users(names: &[&str]) -> ItemFilter {
    ItemFilter {
        fields: vec![(
            "entities.user_name".into(),
            names.iter().map(|n| n.to_string()).collect(),
        )],
    }
}

/// A count of the sub-jobs in `status` that `filter` selects.
fn count(status: &str, filter: ItemFilter, is: &str) -> Check {
    Check::Count {
        statuses: Some(set(&[status])),
        filter,
        comparison: Comparison::parse(is).unwrap(),
    }
}

fn is_met(v: &Verdict) -> bool {
    matches!(v, Verdict::Met { .. })
}

#[test]
fn a_failed_job_fails_whatever_its_sub_jobs_show() {
    // 17.2: FAILED named for sub-jobs does not make the job's FAILED expected.
    let rules = all_success();
    let obs = job_with("FAILED", Some(3), &["SUCCESS", "SUCCESS", "SUCCESS"]);
    assert!(matches!(judge(&rules, &obs), Verdict::Failed { .. }));
    // Under `unknown_status: wait` it is still not "keep polling".
    let mut waiting = all_success();
    waiting.unknown_status = UnknownStatusPolicy::Wait;
    assert!(matches!(judge(&waiting, &obs), Verdict::Failed { .. }));
    // Nor when the wait names FAILED for the job as a success.
    let mut named = all_success();
    named.success = Condition::AllOf(vec![
        Condition::Check(Check::JobStatus(set(&["SUCCESS", "FAILED"]))),
        named.success.clone(),
    ]);
    assert!(matches!(judge(&named, &obs), Verdict::Failed { .. }));
    for status in JOB_FAILURE {
        let v = judge(&waiting, &job_with(status, Some(1), &["SUCCESS"]));
        assert!(matches!(v, Verdict::Failed { .. }), "{status}: {v:?}");
    }
}

#[test]
fn a_job_judged_by_its_sub_jobs_or_paths_alone_can_be_met() {
    let obs = job_with("SUCCESS", Some(2), &["SUCCESS", "SUCCESS"]);
    assert!(is_met(&judge(&all_success(), &obs)));
    let mut rules = terraform(&["WAITING", "RUNNING"], &["SUCCESS"]);
    rules.success = Condition::Check(Check::Path {
        source: "$.status".into(),
        path: serde_json_path::JsonPath::parse("$.status").unwrap(),
        test: crate::condition::PathTest::Exists(true),
    });
    let mut obs = job("SUCCESS");
    obs.source = crate::api::model::Source::Json(json!({"status": "SUCCESS"}));
    assert!(is_met(&judge(&rules, &obs)));
}

#[test]
fn unknown_statuses_never_satisfy_none_under_wait() {
    // 17.3: desktop-settle with ABNORMAL desktops.
    let mut rules = all_success();
    rules.unknown_status = UnknownStatusPolicy::Wait;
    rules.success = Condition::Check(Check::Items {
        quantifier: Quantifier::None,
        statuses: set(&["WAITING", "RUNNING"]),
        filter: ItemFilter::default(),
    });
    let v = judge(&rules, &items(&["SUCCESS", "ABNORMAL", "ABNORMAL", "FAIL"]));
    assert!(matches!(v, Verdict::Pending { .. }), "{v:?}");
    // An undeclared job status keeps polling too.
    let v = judge(&rules, &job_with("COMPLETE", Some(1), &["SUCCESS"]));
    assert!(matches!(v, Verdict::Pending { .. }), "{v:?}");
    // Declared, the same answer passes.
    assert!(is_met(&judge(&rules, &items(&["SUCCESS", "SUCCESS"]))));
}

#[test]
fn every_value_a_where_names_must_be_present() {
    // 17.4: `all:` for alice and bob while only alice's desktop exists.
    for quantifier in [Quantifier::All, Quantifier::None] {
        let statuses = match quantifier {
            Quantifier::All => set(&["SUCCESS"]),
            _ => set(&["FAILED"]),
        };
        let mut rules = all_success();
        let rules = check(
            &mut rules,
            Check::Items {
                quantifier,
                statuses,
                filter: for_users(&["alice", "bob"]),
            },
        );
        let only_alice = users(&[("alice", "SUCCESS"), ("carol", "RUNNING")]);
        assert!(!is_met(&judge(rules, &only_alice)), "{quantifier:?}");
        let both = users(&[
            ("alice", "SUCCESS"),
            ("bob", "SUCCESS"),
            ("carol", "RUNNING"),
        ]);
        assert!(is_met(&judge(rules, &both)), "{quantifier:?}");
        // Explicit consent to an empty selection.
        rules.allow_empty = true;
        assert!(is_met(&judge(rules, &only_alice)), "{quantifier:?}");
    }
}

#[test]
fn none_and_count_over_an_empty_selection_do_not_hold() {
    // 17.5: the failing item is spelled `Bob`.
    let listed = users(&[("Bob", "FAILED"), ("carol", "SUCCESS")]);
    let mut rules = all_success();
    rules.failure = None;
    check(
        &mut rules,
        Check::Items {
            quantifier: Quantifier::None,
            statuses: set(&["FAILED"]),
            filter: for_users(&["bob"]),
        },
    );
    assert!(!is_met(&judge(&rules, &listed)));
    check(&mut rules, count("FAILED", for_users(&["bob"]), "== 0"));
    assert!(!is_met(&judge(&rules, &listed)));
    rules.allow_empty = true;
    assert!(is_met(&judge(&rules, &listed)));
}

#[test]
fn a_job_listing_fewer_sub_jobs_than_its_total_is_not_all() {
    // 17.6: RUNNING, total 3, 2 SUCCESS listed.
    let rules = all_success();
    assert!(!is_met(&judge(
        &rules,
        &job_with("RUNNING", Some(3), &["SUCCESS", "SUCCESS"])
    )));
    // No total at all: not proven either; more than the total conflicts.
    assert!(!is_met(&judge(
        &rules,
        &job_with("RUNNING", None, &["SUCCESS"])
    )));
    assert!(!is_met(&judge(
        &rules,
        &job_with("SUCCESS", Some(1), &["SUCCESS", "SUCCESS"])
    )));
    assert!(is_met(&judge(
        &rules,
        &job_with("RUNNING", Some(2), &["SUCCESS", "SUCCESS"])
    )));
}

#[test]
fn shares_are_taken_over_the_whole_expected_set() {
    // 11.6: 25 of 200 desktops listed, all up.
    let share = |text: &str| count("SUCCESS", ItemFilter::default(), text);
    let mut rules = all_success();
    check(&mut rules, share(">= 95%"));
    let mut partial = job_with("RUNNING", Some(200), &["SUCCESS"; 25]);
    assert!(!is_met(&judge(&rules, &partial)));
    // A list with no known total: never held.
    assert!(!is_met(&judge(&rules, &items(&["SUCCESS"; 25]))));
    // The whole set in view: held.
    partial.job.as_mut().unwrap().sub_jobs_total = Some(25);
    assert!(is_met(&judge(&rules, &partial)));
    // A count that can only grow is proven on part of the set.
    check(&mut rules, share(">= 20"));
    assert!(is_met(&judge(
        &rules,
        &job_with("RUNNING", Some(200), &["SUCCESS"; 25])
    )));
    check(&mut rules, share("< 30"));
    assert!(!is_met(&judge(
        &rules,
        &job_with("RUNNING", Some(200), &["SUCCESS"; 25])
    )));
}

#[test]
fn failure_is_judged_on_what_is_seen() {
    // A failure condition fires on a partial list and a `where` value
    // that has not appeared yet: failing early keeps the gate shut.
    let mut rules = all_success();
    rules.failure = Some(Condition::Check(Check::Items {
        quantifier: Quantifier::Any,
        statuses: set(&["FAILED"]),
        filter: for_users(&["alice", "bob"]),
    }));
    let v = judge(&rules, &users(&[("alice", "FAILED")]));
    assert!(matches!(v, Verdict::Failed { .. }), "{v:?}");
}

#[test]
fn conflicting_sightings_are_no_evidence() {
    let mut obs = items(&["SUCCESS", "SUCCESS"]);
    obs.items[1].id = obs.items[0].id.clone();
    let v = judge(&all_success(), &obs);
    assert!(matches!(v, Verdict::Pending { .. }), "{v:?}");
}

fn counted(pairs: &[(Option<&str>, u64)]) -> Observation {
    crate::engine::fetch::counts_observation(
        pairs
            .iter()
            .map(|(k, n)| (k.map(str::to_owned), *n))
            .collect(),
    )
}

#[test]
fn count_answers_are_never_filled_in() {
    let mut rules = all_success();
    rules.failure = None;
    check(&mut rules, count("FAILED", ItemFilter::default(), "== 0"));
    assert!(is_met(&judge(
        &rules,
        &counted(&[(None, 3), (Some("FAILED"), 0)])
    )));
    // The FAILED count was not answered: it is not zero.
    assert!(!is_met(&judge(
        &rules,
        &counted(&[(None, 3), (Some("RUNNING"), 0)])
    )));
    // The total was not answered: nothing is known.
    assert!(!is_met(&judge(&rules, &counted(&[(Some("FAILED"), 0)]))));
    // More counted than the total: the answers conflict.
    check(&mut rules, count("SUCCESS", ItemFilter::default(), ">= 1"));
    assert!(!is_met(&judge(
        &rules,
        &counted(&[(None, 1), (Some("SUCCESS"), 2)])
    )));
    // A share over a count answer has no known whole.
    check(
        &mut rules,
        count("SUCCESS", ItemFilter::default(), ">= 50%"),
    );
    assert!(!is_met(&judge(
        &rules,
        &counted(&[(None, 2), (Some("SUCCESS"), 2)])
    )));
}

fn path_rules(path: &str, test: crate::condition::PathTest, failure: bool) -> Rules {
    let check = Condition::Check(Check::Path {
        source: path.into(),
        path: serde_json_path::JsonPath::parse(path).unwrap(),
        test,
    });
    let mut rules = terraform(&["WAITING", "RUNNING"], &["SUCCESS"]);
    if failure {
        rules.failure = Some(check);
    } else {
        rules.success = check;
    }
    rules
}

fn document(value: serde_json::Value) -> Observation {
    Observation {
        source: crate::api::model::Source::Json(value),
        ..Default::default()
    }
}

#[test]
fn jsonpath_success_needs_every_value_and_failure_any() {
    use crate::condition::PathTest;
    let mixed = document(json!({"sub_jobs": [{"status": "SUCCESS"}, {"status": "FAILED"}]}));
    let all_ok = document(json!({"sub_jobs": [{"status": "SUCCESS"}, {"status": "SUCCESS"}]}));
    let none = document(json!({"jobs": []}));
    let path = "$.sub_jobs[*].status";
    let tests = [
        PathTest::Equals(json!("SUCCESS")),
        PathTest::In(vec![json!("SUCCESS")]),
        PathTest::Matches(regex::Regex::new("SUCC").unwrap()),
    ];
    for test in tests {
        let success = path_rules(path, test.clone(), false);
        assert!(!is_met(&judge(&success, &mixed)), "{test:?}");
        assert!(
            !is_met(&judge(&success, &none)),
            "selects nothing: {test:?}"
        );
        let full = matches!(test, PathTest::Matches(_));
        assert_eq!(is_met(&judge(&success, &all_ok)), !full, "{test:?}");
    }
    // Failure: any selected value fires it.
    let failure = path_rules(path, PathTest::Equals(json!("FAILED")), true);
    assert!(matches!(judge(&failure, &mixed), Verdict::Failed { .. }));
    // Regexes match the whole string.
    let anchored = path_rules(
        path,
        PathTest::Matches(regex::Regex::new("SUCCESS|OK").unwrap()),
        false,
    );
    assert!(is_met(&judge(&anchored, &all_ok)));
    let not_success = document(json!({"sub_jobs": [{"status": "NOT_SUCCESS"}]}));
    assert!(!is_met(&judge(&anchored, &not_success)));
}

#[test]
fn exists_does_not_hold_on_null() {
    use crate::condition::PathTest;
    let rules = path_rules("$.image_id", PathTest::Exists(true), false);
    assert!(!is_met(&judge(
        &rules,
        &document(json!({"image_id": null}))
    )));
    assert!(!is_met(&judge(&rules, &document(json!({})))));
    assert!(is_met(&judge(
        &rules,
        &document(json!({"image_id": "img-1"}))
    )));
    let absent = path_rules("$.image_id", PathTest::Exists(false), false);
    assert!(is_met(&judge(
        &absent,
        &document(json!({"image_id": null}))
    )));
}

#[test]
fn absence_is_proven_only_where_the_container_exists() {
    use crate::condition::PathTest;
    // A list wait sees `{count, items}`: `jobs`, the API's name, is
    // not there, so "no FAILED job" proves nothing.
    let listed = document(json!({"count": 1, "items": [{"status": "FAILED"}]}));
    for test in [
        PathTest::Count(Comparison::parse("== 0").unwrap()),
        PathTest::Exists(false),
    ] {
        let wrong = path_rules("$.jobs[?@.status == 'FAILED']", test.clone(), false);
        assert!(!is_met(&judge(&wrong, &listed)), "{test:?}");
        let right = path_rules("$.items[?@.status == 'FAILED']", test.clone(), false);
        let clean = document(json!({"count": 1, "items": [{"status": "SUCCESS"}]}));
        assert!(is_met(&judge(&right, &clean)), "{test:?}");
        // An empty list is a container that exists.
        let empty = document(json!({"count": 0, "items": []}));
        assert!(is_met(&judge(&right, &empty)), "{test:?}");
    }
}
