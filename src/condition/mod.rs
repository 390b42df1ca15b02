//! The condition language: what a wait waits for, and how one observation is
//! judged.
//!
//! Conditions are built by the spec's validation and are valid by
//! construction; evaluation is pure, so the verdict logic is tested without a
//! server. The rules, in the order they are applied to each observation:
//!
//! 1. a **failure** condition that holds on what is seen ends the wait;
//! 2. a job in a failure status (`JOB_FAILURE` in `verdict`) fails the
//!    wait, whatever its sub-jobs show;
//! 3. an observed status that the wait never declares follows the wait's
//!    [`UnknownStatusPolicy`] (fail, as Terraform does, or keep polling;
//!    never judge success on it);
//! 4. an empty set of items never satisfies **success** unless the wait allows
//!    it (a job whose sub-jobs have not appeared must not pass a gate);
//! 5. **success** must hold on complete evidence ([`Role::Success`]);
//!    `stable_for` (counted by the engine) asks it to hold on several polls
//!    in a row.
//!
//! Only positive evidence opens a gate: an empty selection, a `where` value
//! not yet listed, a job listing fewer sub-jobs than its `sub_jobs_total`,
//! an unanswered count or conflicting sightings never make success hold.
//! README's "verdict contract" table is the specification.

mod check;
mod compare;
mod verdict;

pub use check::Finding;
pub use check::{Check, ItemFilter, PathTest, Quantifier, Role};
pub(crate) use check::{count_key, count_key_from_text, count_key_text};
pub use compare::{Comparison, Operator, Threshold};
pub(crate) use verdict::is_failure_status;
pub use verdict::{Verdict, judge};

use std::collections::BTreeSet;

use crate::api::Status;
use crate::api::model::Observation;

/// A set of statuses as written in a spec.
pub type StatusSet = BTreeSet<Status>;

/// A tree of checks composed with all-of / any-of.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Holds when every member holds (an empty list holds).
    AllOf(Vec<Condition>),
    /// Holds when at least one member holds.
    AnyOf(Vec<Condition>),
    /// A single check.
    Check(Check),
}

/// What to do when the API reports a status the wait does not mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownStatusPolicy {
    /// End the wait as `unexpected_state` (Terraform's behaviour).
    #[default]
    Fail,
    /// Keep polling, as if the status were pending.
    Wait,
}

/// Everything that decides a wait's verdict from one observation.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Statuses that mean "not yet" (Terraform's `pending`).
    pub pending: StatusSet,
    /// What must hold for the wait to succeed.
    pub success: Condition,
    /// What ends the wait as failed, checked first.
    pub failure: Option<Condition>,
    /// Policy for statuses nobody declared.
    pub unknown_status: UnknownStatusPolicy,
    /// Whether an empty set of items may satisfy success.
    pub allow_empty: bool,
    /// Whether the wait's conditions look at items, so item statuses count
    /// for the unknown-status rule and an empty set matters.
    pub uses_items: bool,
}

impl Condition {
    /// Every status the condition names: together with `pending` these are
    /// the statuses a wait declares.
    pub(crate) fn statuses(&self) -> StatusSet {
        let mut out = StatusSet::new();
        self.visit(&mut |check| out.extend(check.statuses().iter().cloned()));
        out
    }

    /// Whether any check looks at items (sub-jobs or list items).
    pub(crate) fn uses_items(&self) -> bool {
        let mut uses = false;
        self.visit(&mut |check| uses |= check.uses_items());
        uses
    }

    /// Every check in the tree, depth first.
    pub(crate) fn checks(&self) -> Vec<&Check> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Check>) {
        match self {
            Condition::AllOf(list) | Condition::AnyOf(list) => {
                list.iter().for_each(|c| c.collect(out))
            }
            Condition::Check(check) => out.push(check),
        }
    }

    fn visit(&self, f: &mut dyn FnMut(&Check)) {
        for check in self.checks() {
            f(check);
        }
    }

    /// The condition in plain words, for `plan` and reports.
    pub(crate) fn describe(&self) -> String {
        match self {
            Condition::Check(check) => check.describe(),
            Condition::AllOf(list) if list.len() == 1 => list[0].describe(),
            Condition::AnyOf(list) if list.len() == 1 => list[0].describe(),
            Condition::AllOf(list) => join(list, " and "),
            Condition::AnyOf(list) => join(list, " or "),
        }
    }
}

fn join(list: &[Condition], sep: &str) -> String {
    list.iter()
        .map(|c| match c {
            Condition::Check(_) => c.describe(),
            _ => format!("({})", c.describe()),
        })
        .collect::<Vec<_>>()
        .join(sep)
}

impl Rules {
    /// Every status the wait declares for sub-jobs: pending, SUCCESS (the
    /// status every sub-job is for, never a stranger), and those its
    /// conditions name.
    pub(crate) fn declared(&self) -> StatusSet {
        let mut declared = self.pending.clone();
        declared.insert(Status::Success);
        declared.extend(self.success.statuses());
        if let Some(failure) = &self.failure {
            declared.extend(failure.statuses());
        }
        declared
    }

    /// The statuses the job itself may be in without being a stranger:
    /// pending, SUCCESS (what every job is for, so a wait judged by its
    /// sub-jobs or by JSONPath alone can end `met`), and those a `status:`
    /// check names. A status named only for sub-jobs says nothing about
    /// the job: `any: [FAILED]` does not make a FAILED job expected.
    pub(crate) fn job_declared(&self) -> StatusSet {
        let mut declared = self.pending.clone();
        declared.insert(Status::Success);
        for check in std::iter::once(&self.success)
            .chain(self.failure.iter())
            .flat_map(Condition::checks)
        {
            if let Check::JobStatus(statuses) = check {
                declared.extend(statuses.iter().cloned());
            }
        }
        declared
    }

    /// The first `where` of the success checks that selects none of the
    /// items seen, explained ([`ItemFilter::unmatched`]): a wait that times
    /// out so says why what it waited for never showed up. A failure
    /// check's `where` selecting nothing is no reason to keep waiting.
    pub(crate) fn unmatched_where(&self, obs: &Observation) -> Option<String> {
        self.success
            .checks()
            .into_iter()
            .find_map(|check| match check {
                Check::Items { filter, .. } | Check::Count { filter, .. } => {
                    filter.unmatched(&obs.items)
                }
                _ => None,
            })
    }

    /// The filters of the checks that read items: an item none of them
    /// selects is outside the wait, so its status cannot end it.
    pub(crate) fn item_filters(&self) -> Vec<&ItemFilter> {
        std::iter::once(&self.success)
            .chain(self.failure.iter())
            .flat_map(Condition::checks)
            .filter_map(|check| match check {
                Check::Items { filter, .. } | Check::Count { filter, .. } => Some(filter),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::check::fixtures::{filter, subjobs};

    #[test]
    fn only_a_success_where_explains_a_timeout() {
        let items = |f: &[(&str, &[&str])]| Check::Items {
            quantifier: Quantifier::All,
            statuses: [Status::parse("SUCCESS")].into_iter().collect(),
            filter: filter(f),
        };
        let obs = Observation {
            items: subjobs(&["CREATE_SERVER"]),
            ..Default::default()
        };
        let mut rules = Rules {
            pending: Default::default(),
            success: Condition::Check(items(&[("job_type", &["CREATE_SERVER"])])),
            failure: Some(Condition::Check(items(&[("job_type", &["CREATE_IMAGE"])]))),
            unknown_status: UnknownStatusPolicy::Fail,
            allow_empty: false,
            uses_items: true,
        };
        assert_eq!(rules.unmatched_where(&obs), None);
        rules.success = Condition::Check(items(&[("job_type", &["CREATE_SERVR"])]));
        assert!(
            rules
                .unmatched_where(&obs)
                .is_some_and(|w| w.contains("did you mean `CREATE_SERVER`?"))
        );
    }
}
