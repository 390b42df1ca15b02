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
pub(crate) const JOB_FAILURE: [&str; 5] = ["FAILED", "ABNORMAL", "ROLLBACK", "ABORTING", "FAIL"];

/// Whether a job in this status has failed.
pub(crate) fn is_failure_status(status: &Status) -> bool {
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
mod contract_tests;
#[cfg(test)]
mod tests;
