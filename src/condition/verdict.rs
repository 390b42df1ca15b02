//! Judging one observation against a wait's rules.

use super::check::{Finding, Role};
use super::{Condition, Rules, StatusSet, UnknownStatusPolicy};
use crate::api::Status;
use crate::api::model::{Item, Observation};

/// The verdict on one observation.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Success holds.
    Met { found: String },
    /// A failure condition holds.
    Failed { reason: String, blame: Vec<Item> },
    /// A status nobody declared was seen and the policy is to fail.
    Unexpected { status: Status, blame: Vec<Item> },
    /// No items yet: the job's sub-jobs (or the list) have not appeared.
    Empty,
    /// Keep polling.
    Pending { found: String },
}

struct Outcome<'a> {
    holds: bool,
    found: Vec<String>,
    blame: Vec<&'a Item>,
}

fn evaluate<'a>(
    condition: &Condition,
    obs: &'a Observation,
    role: Role,
    allow_empty: bool,
) -> Outcome<'a> {
    match condition {
        Condition::Check(check) => {
            let Finding {
                holds,
                found,
                blame,
            } = check.evaluate(obs, role, allow_empty);
            Outcome {
                holds,
                found: vec![found],
                blame,
            }
        }
        Condition::AllOf(list) | Condition::AnyOf(list) => {
            let all = matches!(condition, Condition::AllOf(_));
            let results: Vec<Outcome> = list
                .iter()
                .map(|c| evaluate(c, obs, role, allow_empty))
                .collect();
            let holds = if all {
                results.iter().all(|r| r.holds)
            } else {
                results.iter().any(|r| r.holds)
            };
            let mut out = Outcome {
                holds,
                found: Vec::new(),
                blame: Vec::new(),
            };
            for r in results {
                out.found.extend(r.found);
                // Blame only the members that decided the result.
                if r.holds == holds {
                    out.blame.extend(r.blame);
                }
            }
            out
        }
    }
}

/// Judges one observation; the engine turns verdicts into outcomes.
pub fn judge(rules: &Rules, obs: &Observation) -> Verdict {
    // 1. Failure first, judged on what is seen.
    if let Some(failure) = &rules.failure {
        let result = evaluate(failure, obs, Role::Failure, rules.allow_empty);
        if result.holds {
            return Verdict::Failed {
                reason: format!(
                    "failure condition holds: {} (found {})",
                    failure.describe(),
                    result.found.join("; ")
                ),
                blame: result.blame.into_iter().cloned().collect(),
            };
        }
    }
    // 2. The job's own status always counts: whatever its sub-jobs show, a
    // job in a documented failure status fails the wait, and at once. It is
    // `failed`, never `unexpected_state`: the API says it failed, so neither
    // jobgate nor the spec is surprised.
    let job_declared = rules.job_declared();
    if let Some(job) = &obs.job
        && is_failure_status(&job.status)
    {
        return Verdict::Failed {
            reason: format!(
                "the job itself is {}: a job in a failure status fails the wait whatever its sub-jobs show",
                job.status
            ),
            blame: Vec::new(),
        };
    }
    // 3. Statuses nobody declared: end the wait, or keep polling, but
    // never judge success on them.
    if let Some((status, blame)) = stranger(rules, &job_declared, obs) {
        return match rules.unknown_status {
            UnknownStatusPolicy::Fail => Verdict::Unexpected { status, blame },
            UnknownStatusPolicy::Wait => Verdict::Pending {
                found: format!(
                    "status {status} is declared nowhere in the wait: keep polling (unknown_status: wait)"
                ),
            },
        };
    }
    // 4. Conflicting sightings are no evidence.
    if let Some(id) = duplicate_id(&obs.items) {
        return Verdict::Pending {
            found: format!("sub-job {id} is listed more than once: conflicting observations"),
        };
    }
    // 5. Empty is not success. A list answered by the count endpoint has
    // no items but a total; without the total nothing is known.
    let seen = if obs.counts.is_empty() {
        obs.items.len() as u64
    } else {
        match obs.counts.get(&None) {
            Some(total) => *total,
            None => {
                return Verdict::Pending {
                    found: "the count endpoint's total was not answered".into(),
                };
            }
        }
    };
    if rules.uses_items && seen == 0 && !rules.allow_empty {
        return Verdict::Empty;
    }
    // 6. Success, on positive and complete evidence.
    let result = evaluate(&rules.success, obs, Role::Success, rules.allow_empty);
    let found = result.found.join("; ");
    if result.holds {
        Verdict::Met { found }
    } else {
        Verdict::Pending { found }
    }
}

/// Statuses that end a job as failed, whatever a wait says about its
/// sub-jobs: the documented failures, and `FAIL`, seen in the wild.
pub const JOB_FAILURE: [&str; 5] = ["FAILED", "ABNORMAL", "ROLLBACK", "ABORTING", "FAIL"];

/// Whether a job in this status has failed.
pub fn is_failure_status(status: &Status) -> bool {
    JOB_FAILURE.contains(&status.as_str())
}

/// The first status no one declared, of the job or of a sub-job some
/// check selects, with the sub-jobs in such statuses.
fn stranger(
    rules: &Rules,
    job_declared: &StatusSet,
    obs: &Observation,
) -> Option<(Status, Vec<Item>)> {
    if let Some(job) = &obs.job
        && !job_declared.contains(&job.status)
    {
        return Some((job.status.clone(), Vec::new()));
    }
    if !rules.uses_items {
        return None;
    }
    let declared = rules.declared();
    // Items every `where` leaves out are not the wait's business. JSONPath
    // conditions name no statuses, so a list judged by paths alone declares
    // none beyond `pending`: it watches no item, or every finished item
    // would be a stranger.
    let watched = rules.item_filters();
    let strangers: Vec<Item> = obs
        .items
        .iter()
        .filter(|i| !declared.contains(&i.status) && watched.iter().any(|f| f.matches(i)))
        .cloned()
        .collect();
    strangers
        .first()
        .map(|first| (first.status.clone(), strangers.clone()))
}

fn duplicate_id(items: &[Item]) -> Option<&str> {
    let mut ids = std::collections::BTreeSet::new();
    items
        .iter()
        .find(|i| !ids.insert(i.id.as_str()))
        .map(|i| i.id.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{JobState, parse_item};
    use crate::condition::{Check, Comparison, ItemFilter, Quantifier, StatusSet};
    use serde_json::json;

    fn set(names: &[&str]) -> StatusSet {
        names.iter().map(|n| Status::parse(n)).collect()
    }

    fn job(status: &str) -> Observation {
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

    fn items(statuses: &[&str]) -> Observation {
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

    fn terraform(pending: &[&str], target: &[&str]) -> Rules {
        Rules {
            pending: set(pending),
            success: Condition::Check(Check::JobStatus(set(target))),
            failure: None,
            unknown_status: UnknownStatusPolicy::Fail,
            allow_empty: false,
            uses_items: false,
        }
    }

    fn all_success() -> Rules {
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
        obs.items.push(
            parse_item(json!({"id": "other", "status": "ROLLBACK", "job_type": "U"})).unwrap(),
        );
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

    // The verdict contract (README, "The verdict contract"): one test per row.

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
        check(
            &mut rules,
            Check::Count {
                statuses: Some(set(&["FAILED"])),
                filter: for_users(&["bob"]),
                comparison: Comparison::parse("== 0").unwrap(),
            },
        );
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
        let share = |text: &str| Check::Count {
            statuses: Some(set(&["SUCCESS"])),
            filter: ItemFilter::default(),
            comparison: Comparison::parse(text).unwrap(),
        };
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
        check(
            &mut rules,
            Check::Count {
                statuses: Some(set(&["FAILED"])),
                filter: ItemFilter::default(),
                comparison: Comparison::parse("== 0").unwrap(),
            },
        );
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
        check(
            &mut rules,
            Check::Count {
                statuses: Some(set(&["SUCCESS"])),
                filter: ItemFilter::default(),
                comparison: Comparison::parse(">= 1").unwrap(),
            },
        );
        assert!(!is_met(&judge(
            &rules,
            &counted(&[(None, 1), (Some("SUCCESS"), 2)])
        )));
        // A share over a count answer has no known whole.
        check(
            &mut rules,
            Check::Count {
                statuses: Some(set(&["SUCCESS"])),
                filter: ItemFilter::default(),
                comparison: Comparison::parse(">= 50%").unwrap(),
            },
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
}
