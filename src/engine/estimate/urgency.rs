//! Failure is an end too: a wait whose failure condition is about to trip
//! (e.g. `count` of FAILED one below its threshold) wants that moment seen
//! soon, so the schedule does not stretch such a poll to `max`.

use crate::api::model::{Item, Observation};
use crate::condition::{Check, Operator, Rules, Threshold, count_key};

/// Whether one of the failure condition's counts is within a fifth of its
/// threshold (at least one item) of tripping: `count > 5` at 4 or 5 matching
/// items. Only counts that grow toward a threshold (`>`, `>=`) can be near.
pub(crate) fn near_failure(rules: &Rules, obs: &Observation) -> bool {
    let Some(failure) = &rules.failure else {
        return false;
    };
    failure.checks().into_iter().any(|check| {
        let Check::Count {
            statuses,
            filter,
            comparison,
        } = check
        else {
            return false;
        };
        if !matches!(comparison.op, Operator::Gt | Operator::Ge) {
            return false;
        }
        let (matched, total) = if obs.items.is_empty() && !obs.counts.is_empty() {
            let count = |s| obs.counts.get(&count_key(s, filter)).copied();
            match (count(statuses), count(&None)) {
                (Some(m), Some(t)) => (m, t),
                _ => return false,
            }
        } else {
            let selected: Vec<&Item> = obs.items.iter().filter(|i| filter.matches(i)).collect();
            let matched = selected
                .iter()
                .filter(|i| statuses.as_ref().is_none_or(|s| s.contains(&i.status)))
                .count() as u64;
            (matched, selected.len() as u64)
        };
        // The count at which the comparison holds.
        let trips_at = match comparison.threshold {
            Threshold::Count(n) => n as f64,
            Threshold::Percent(p) => p * total as f64 / 100.0,
        };
        let trips_at = match comparison.op {
            Operator::Gt => trips_at.floor() + 1.0,
            _ => trips_at.ceil(),
        };
        let missing = trips_at - matched as f64;
        let margin = (trips_at / 5.0).ceil().max(1.0);
        missing >= 1.0 && missing <= margin
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(failure: &str) -> Rules {
        let spec = format!(
            "version: 1\ndefaults: {{ project_id: p1 }}\nwaits:\n  w:\n    desktop_sub_jobs: {{ job_id: j }}\n    success: {{ all: [SUCCESS] }}\n    failure: {failure}\n"
        );
        crate::spec::parse("s.yaml", &spec, &|_| None)
            .unwrap()
            .waits
            .remove(0)
            .rules
    }

    fn obs(failed: usize, running: usize) -> Observation {
        let items: Vec<serde_json::Value> = (0..failed)
            .map(|i| serde_json::json!({"id": format!("f{i}"), "status": "FAILED"}))
            .chain(
                (0..running)
                    .map(|i| serde_json::json!({"id": format!("r{i}"), "status": "RUNNING"})),
            )
            .collect();
        let page = serde_json::json!({"count": items.len(), "items": items});
        let page = crate::api::model::parse_page(page.to_string().as_bytes()).unwrap();
        Observation {
            job: None,
            items: page.items,
            counts: Default::default(),
            source: crate::api::model::Source::List,
        }
    }

    #[test]
    fn a_count_one_below_its_threshold_is_near() {
        let r = rules("{ count: [FAILED], is: '> 5' }");
        assert!(!near_failure(&r, &obs(0, 10)));
        assert!(!near_failure(&r, &obs(3, 10)));
        assert!(near_failure(&r, &obs(4, 10)));
        assert!(near_failure(&r, &obs(5, 10)));
        // Tripped already is the verdict's business, not the schedule's.
        assert!(!near_failure(&r, &obs(6, 10)));
    }

    #[test]
    fn a_share_counts_in_items_of_the_total() {
        let r = rules("{ count: [FAILED], is: '>= 10%' }");
        // 10% of 100 is 10: 8 and 9 are near, 5 is not.
        assert!(!near_failure(&r, &obs(5, 95)));
        assert!(near_failure(&r, &obs(8, 92)));
    }

    #[test]
    fn no_failure_condition_or_a_falling_count_is_never_near() {
        let r = rules("{ count: [RUNNING], is: '< 2' }");
        assert!(!near_failure(&r, &obs(0, 3)));
    }
}
