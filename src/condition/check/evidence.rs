//! The evidence a success check needs: why what is seen cannot stand for
//! the whole set the check speaks of.

use super::{Finding, ItemFilter};
use crate::api::model::{Item, Observation};

/// Why what is seen cannot prove a success check.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Gap {
    pub(super) reason: String,
    /// Only part of the set is listed (no empty selection, no missing
    /// `where` value): a count that can only grow may still be proven.
    pub(super) partial_only: bool,
}

impl Gap {
    pub(super) fn new(reason: impl Into<String>) -> Gap {
        Gap {
            reason: reason.into(),
            partial_only: false,
        }
    }
}

pub(super) fn finding<'a>(
    seen: bool,
    found: String,
    gap: Option<Gap>,
    blame: Vec<&'a Item>,
) -> Finding<'a> {
    match gap {
        Some(gap) => Finding {
            holds: false,
            found: format!("{found}; not proven: {}", gap.reason),
            blame,
        },
        None => Finding {
            holds: seen,
            found,
            blame,
        },
    }
}

/// What keeps the items in view from standing for the whole set a success
/// check speaks of: an empty selection (unless the wait allows it), a value
/// named in the `where` that no item has yet, or a job that lists fewer (or
/// more) sub-jobs than its `sub_jobs_total`.
pub(super) fn evidence_gap(
    obs: &Observation,
    filter: &ItemFilter,
    selected: &[&Item],
    allow_empty: bool,
) -> Option<Gap> {
    if !allow_empty {
        if selected.is_empty() {
            return Some(Gap::new(if filter.fields.is_empty() {
                "no sub-jobs yet".to_owned()
            } else if let Some(why) = filter.unmatched(&obs.items) {
                why
            } else {
                format!(
                    "the `where` ({}) selects nothing",
                    filter.describe().trim_start()
                )
            }));
        }
        if let Some((field, value)) = filter.missing(selected) {
            return Some(Gap::new(format!(
                "no selected sub-job has {field} = {value} yet"
            )));
        }
    }
    if let Some(job) = &obs.job {
        let listed = obs.items.len() as u64;
        return match job.sub_jobs_total {
            Some(total) if total == listed => None,
            Some(total) if listed < total => Some(Gap {
                reason: format!("the job lists {listed} of its {total} sub-jobs"),
                partial_only: true,
            }),
            Some(total) => Some(Gap::new(format!(
                "the job lists {listed} sub-jobs but says it has {total}: conflicting"
            ))),
            None => Some(Gap {
                reason: "the job does not say how many sub-jobs it has (`sub_jobs_total`)"
                    .to_owned(),
                partial_only: true,
            }),
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::api::Status;
    use crate::api::model::Observation;
    use crate::condition::check::fixtures::{filter, subjobs};
    use crate::condition::{Check, Quantifier, Role};

    #[test]
    fn the_success_gap_of_an_unmatched_where_says_so() {
        let obs = Observation {
            items: subjobs(&["CREATE_SERVER"]),
            source: crate::api::model::Source::List,
            ..Default::default()
        };
        let check = Check::Items {
            quantifier: Quantifier::All,
            statuses: [Status::parse("SUCCESS")].into_iter().collect(),
            filter: filter(&[("job_type", &["CREATE_SERVR"])]),
        };
        let f = check.evaluate(&obs, Role::Success, false);
        assert!(!f.holds);
        assert!(
            f.found.contains("did you mean `CREATE_SERVER`?"),
            "{}",
            f.found
        );
    }
}
