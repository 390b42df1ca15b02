//! Counts: the keys count-endpoint answers are stored under, and count
//! checks judged on listed items or on those answers.

use super::evidence::{Gap, evidence_gap, finding};
use super::{Finding, ItemFilter, Role, names};
use crate::api::model::{Item, Observation};
use crate::condition::{Comparison, StatusSet};

/// "Any status": how a count of every status is written where text is
/// needed (`count: "*"` in a spec, the report's `counts`, a saved count
/// answer), for the key `None` in [`Observation::counts`].
pub(crate) const ANY_STATUS: &str = "*";

/// A count key as text: [`ANY_STATUS`] for the unfiltered total.
pub(crate) fn count_key_text(key: Option<&str>) -> &str {
    key.unwrap_or(ANY_STATUS)
}

/// A count key from text: the inverse of [`count_key_text`].
pub(crate) fn count_key_from_text(text: &str) -> Option<&str> {
    (text != ANY_STATUS).then_some(text)
}

/// The key a count endpoint's answer is stored under in
/// [`Observation::counts`]: the statuses counted (`*` for any), and the
/// filter when there is one; `None` for the unfiltered total. Count checks
/// read and the engine writes through this one function.
pub(crate) fn count_key(statuses: &Option<StatusSet>, filter: &ItemFilter) -> Option<String> {
    let statuses = statuses.as_ref().map(names);
    if filter.fields.is_empty() {
        return statuses;
    }
    Some(format!(
        "{}{}",
        count_key_text(statuses.as_deref()),
        filter.describe()
    ))
}

/// A count check, as [`super::Check::Count`] holds it.
pub(super) struct CountCheck<'c> {
    pub statuses: &'c Option<StatusSet>,
    pub filter: &'c ItemFilter,
    pub comparison: &'c Comparison,
}

impl CountCheck<'_> {
    /// The check on one observation: on the count endpoint's answers when
    /// that is what was fetched, otherwise on the listed items.
    pub(super) fn evaluate<'a>(
        &self,
        obs: &'a Observation,
        role: Role,
        allow_empty: bool,
    ) -> Finding<'a> {
        if obs.items.is_empty() && !obs.counts.is_empty() {
            self.answered(obs, role, allow_empty)
        } else {
            self.listed(obs, role, allow_empty)
        }
    }

    /// A count of the listed items.
    fn listed<'a>(&self, obs: &'a Observation, role: Role, allow_empty: bool) -> Finding<'a> {
        let CountCheck {
            statuses,
            filter,
            comparison,
        } = *self;
        let selected: Vec<&Item> = obs.items.iter().filter(|i| filter.matches(i)).collect();
        let matching: Vec<&Item> = selected
            .iter()
            .copied()
            .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status)))
            .collect();
        let (matched, total) = (matching.len() as u64, selected.len() as u64);
        let mut gap = None;
        if role == Role::Success {
            gap = evidence_gap(obs, filter, &selected, allow_empty);
            // A count that can only grow proves `>`/`>=` on part of
            // the set; a share needs the whole set it is a share of.
            if gap.as_ref().is_some_and(|g| g.partial_only) && comparison.is_lower_bound() {
                gap = None;
            }
            if gap.is_none()
                && comparison.is_share()
                && obs.job.as_ref().is_none_or(|j| j.sub_jobs_total.is_none())
            {
                gap = Some(Gap::new(
                    "a share needs the job's sub_jobs_total: a list shows only the items that exist so far",
                ));
            }
        }
        self.judged(matched, total, role, gap, matching)
    }

    /// A count judged from count-endpoint answers. A number that was not
    /// answered is not zero: without it the check does not hold.
    fn answered<'a>(&self, obs: &'a Observation, role: Role, allow_empty: bool) -> Finding<'a> {
        let count = |s| obs.counts.get(&count_key(s, self.filter)).copied();
        let (Some(matched), Some(total)) = (count(self.statuses), count(&None)) else {
            return Finding {
                holds: false,
                found: "a count was not answered".into(),
                blame: Vec::new(),
            };
        };
        let gap = if matched > total {
            Some(Gap::new(format!(
                "{matched} counted of a total of {total}: conflicting answers"
            )))
        } else if role == Role::Failure {
            None
        } else if total == 0 && !allow_empty {
            Some(Gap::new("the count endpoint reports no such sub-jobs"))
        } else if self.comparison.is_share() {
            Some(Gap::new(
                "a share needs the job's sub_jobs_total: a count answers only the sub-jobs that exist so far",
            ))
        } else if !allow_empty
            && self
                .filter
                .fields
                .iter()
                .any(|(_, values)| values.len() > 1)
        {
            Some(Gap::new(
                "a count answer sums the `where` values, so it cannot show that each one is present: write one count per value",
            ))
        } else {
            None
        };
        self.judged(matched, total, role, gap, Vec::new())
    }

    /// The finding on `matched` of `total`, unless `gap` keeps it unproven.
    fn judged<'a>(
        &self,
        matched: u64,
        total: u64,
        role: Role,
        gap: Option<Gap>,
        blame: Vec<&'a Item>,
    ) -> Finding<'a> {
        let holds = self.comparison.holds(matched, total);
        let found = if holds && role == Role::Failure {
            self.tripped(matched, total)
        } else {
            format!("count {matched} of {total}")
        };
        finding(holds, found, gap, blame)
    }

    /// A failure count that tripped, in the words of its threshold
    /// (`6 FAILED > 5 (6 of 10 selected)`), so the reason names the count
    /// that ended the wait.
    fn tripped(&self, matched: u64, total: u64) -> String {
        let comparison = self.comparison;
        let what = self
            .statuses
            .as_ref()
            .map(|s| names(s).replace(", ", "/"))
            .unwrap_or_else(|| "sub-jobs".into());
        if comparison.is_share() {
            // Only shown: the comparison itself is exact integer arithmetic.
            let percent = matched as f64 * 100.0 / total.max(1) as f64;
            format!("{matched} of {total} {what} ({percent:.1}%) {comparison}")
        } else {
            format!("{matched} {what} {comparison} ({matched} of {total} selected)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Status;
    use crate::api::model::parse_item;
    use crate::condition::Check;
    use serde_json::json;

    #[test]
    fn a_tripped_failure_count_names_the_count_and_the_threshold() {
        let obs = Observation {
            items: ["FAILED"; 6]
                .iter()
                .chain(["SUCCESS"; 4].iter())
                .enumerate()
                .map(|(i, s)| parse_item(json!({"id": i.to_string(), "status": s})).unwrap())
                .collect(),
            source: crate::api::model::Source::List,
            ..Default::default()
        };
        let count = |is: &str| Check::Count {
            statuses: Some([Status::parse("FAILED")].into_iter().collect()),
            filter: ItemFilter::default(),
            comparison: Comparison::parse(is).unwrap(),
        };
        let f = count("> 5").evaluate(&obs, Role::Failure, false);
        assert!(f.holds);
        assert_eq!(f.found, "6 FAILED > 5 (6 of 10 selected)");
        let f = count("> 50%").evaluate(&obs, Role::Failure, false);
        assert_eq!(f.found, "6 of 10 FAILED (60.0%) > 50%");
        // Not tripped, or on the success side: the plain count.
        assert_eq!(
            count("> 6").evaluate(&obs, Role::Failure, false).found,
            "count 6 of 10"
        );
        assert_eq!(
            count("> 5").evaluate(&obs, Role::Success, false).found,
            "count 6 of 10"
        );
    }
}
