//! Judging one observation against a wait's rules.

use super::check::Finding;
use super::{Condition, Rules, UnknownStatusPolicy};
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

fn evaluate<'a>(condition: &Condition, obs: &'a Observation) -> Outcome<'a> {
    match condition {
        Condition::Check(check) => {
            let Finding {
                holds,
                found,
                blame,
            } = check.evaluate(obs);
            Outcome {
                holds,
                found: vec![found],
                blame,
            }
        }
        Condition::AllOf(list) | Condition::AnyOf(list) => {
            let all = matches!(condition, Condition::AllOf(_));
            let results: Vec<Outcome> = list.iter().map(|c| evaluate(c, obs)).collect();
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
    if let Some(failure) = &rules.failure {
        let result = evaluate(failure, obs);
        if result.holds {
            return Verdict::Failed {
                reason: format!("failure condition holds: {}", failure.describe()),
                blame: result.blame.into_iter().cloned().collect(),
            };
        }
    }
    if rules.unknown_status == UnknownStatusPolicy::Fail {
        let declared = rules.declared();
        if let Some(job) = &obs.job
            && !declared.contains(&job.status)
        {
            return Verdict::Unexpected {
                status: job.status.clone(),
                blame: Vec::new(),
            };
        }
        if rules.uses_items {
            // Items every `where` leaves out are not the wait's business.
            // JSONPath conditions name no statuses, so a list judged by
            // paths alone declares none beyond `pending`: it watches no
            // item, or every finished item would be a stranger.
            let watched = rules.item_filters();
            let strangers: Vec<Item> = obs
                .items
                .iter()
                .filter(|i| !declared.contains(&i.status) && watched.iter().any(|f| f.matches(i)))
                .cloned()
                .collect();
            if let Some(first) = strangers.first() {
                return Verdict::Unexpected {
                    status: first.status.clone(),
                    blame: strangers,
                };
            }
        }
    }
    let result = evaluate(&rules.success, obs);
    let found = result.found.join("; ");
    // A list answered by the count endpoint has no items but a total.
    let seen = if obs.counts.is_empty() {
        obs.items.len() as u64
    } else {
        obs.counts.get(&None).copied().unwrap_or(1)
    };
    if rules.uses_items && seen == 0 && !rules.allow_empty {
        return Verdict::Empty;
    }
    if result.holds {
        Verdict::Met { found }
    } else {
        Verdict::Pending { found }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::{JobState, parse_item};
    use crate::condition::{Check, ItemFilter, Quantifier, StatusSet};
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
        assert!(matches!(
            judge(&rules, &job("FAILED")),
            Verdict::Unexpected { .. }
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
}
