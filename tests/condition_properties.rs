//! Property tests of the verdict: for random sub-job sets and random
//! conditions, `judge` agrees with an obviously correct reference, never
//! passes a gate when a failure condition holds, and never passes an empty
//! set without opt-in.

use jobgate::api::Status;
use jobgate::api::model::{Item, Observation, parse_item};
use jobgate::condition::{
    Check, Comparison, Condition, ItemFilter, Quantifier, Rules, StatusSet, UnknownStatusPolicy,
    Verdict, judge,
};
use proptest::prelude::*;

const STATUSES: [&str; 8] = [
    "WAITING", "RUNNING", "SUCCESS", "FAILED", "ABNORMAL", "ROLLBACK", "ABORTING", "COMPLETE",
];
const TYPES: [&str; 3] = ["CREATE_SERVER", "CREATE_SERVER_IMAGE", "DELETE_SERVER"];

fn items() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..STATUSES.len(), 0..TYPES.len()), 0..12)
}

fn status_set() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..STATUSES.len(), 1..4)
}

#[derive(Debug, Clone)]
enum Spec {
    Items(u8, Vec<usize>, Option<usize>),
    Count(Vec<usize>, Option<usize>, u8, u64),
}

fn check() -> impl Strategy<Value = Spec> {
    prop_oneof![
        (0u8..3, status_set(), prop::option::of(0..TYPES.len()))
            .prop_map(|(q, s, t)| Spec::Items(q, s, t)),
        (
            status_set(),
            prop::option::of(0..TYPES.len()),
            0u8..6,
            0u64..6
        )
            .prop_map(|(s, t, op, n)| Spec::Count(s, t, op, n)),
    ]
}

fn set(ix: &[usize]) -> StatusSet {
    ix.iter().map(|i| Status::parse(STATUSES[*i])).collect()
}

fn filter(t: Option<usize>) -> ItemFilter {
    ItemFilter {
        fields: t
            .map(|t| vec![("job_type".to_owned(), vec![TYPES[t].to_owned()])])
            .unwrap_or_default(),
    }
}

const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

fn build(spec: &Spec) -> Check {
    match spec {
        Spec::Items(q, s, t) => Check::Items {
            quantifier: [Quantifier::All, Quantifier::Any, Quantifier::None][*q as usize],
            statuses: set(s),
            filter: filter(*t),
        },
        Spec::Count(s, t, op, n) => Check::Count {
            statuses: Some(set(s)),
            filter: filter(*t),
            comparison: Comparison::parse(&format!("{} {n}", OPS[*op as usize])).unwrap(),
        },
    }
}

/// The reference: plain loops over the raw data, no shared code.
fn reference(spec: &Spec, items: &[(usize, usize)]) -> bool {
    let selected: Vec<&(usize, usize)> = match spec {
        Spec::Items(_, _, t) | Spec::Count(_, t, _, _) => items
            .iter()
            .filter(|(_, ty)| t.is_none_or(|t| *ty == t))
            .collect(),
    };
    match spec {
        Spec::Items(q, s, _) => {
            let inside = selected.iter().filter(|(st, _)| s.contains(st)).count();
            match q {
                // `all` over a filter that selects nothing, while other
                // items exist, does not hold: those sub-jobs have not appeared.
                0 => inside == selected.len() && (!selected.is_empty() || items.is_empty()),
                1 => inside > 0,
                _ => inside == 0,
            }
        }
        Spec::Count(s, _, op, n) => {
            let c = selected.iter().filter(|(st, _)| s.contains(st)).count() as u64;
            match op {
                0 => c == *n,
                1 => c != *n,
                2 => c < *n,
                3 => c <= *n,
                4 => c > *n,
                _ => c >= *n,
            }
        }
    }
}

fn observation(items: &[(usize, usize)]) -> Observation {
    let items: Vec<Item> = items
        .iter()
        .enumerate()
        .map(|(i, (s, t))| parse_item(serde_json::json!({"id": i.to_string(), "status": STATUSES[*s], "job_type": TYPES[*t]})).unwrap())
        .collect();
    Observation {
        items,
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn checks_agree_with_the_reference(items in items(), spec in check()) {
        let obs = observation(&items);
        let finding = build(&spec).evaluate(&obs);
        prop_assert_eq!(finding.holds, reference(&spec, &items));
    }

    #[test]
    fn verdict_never_passes_a_failing_or_empty_gate(
        items in items(),
        success in prop::collection::vec(check(), 1..3),
        failure in prop::collection::vec(check(), 0..3),
        allow_empty in any::<bool>(),
        wait_on_unknown in any::<bool>(),
    ) {
        let rules = Rules {
            pending: set(&[0, 1]),
            success: Condition::AllOf(success.iter().map(|s| Condition::Check(build(s))).collect()),
            failure: (!failure.is_empty()).then(|| Condition::AnyOf(failure.iter().map(|s| Condition::Check(build(s))).collect())),
            unknown_status: if wait_on_unknown { UnknownStatusPolicy::Wait } else { UnknownStatusPolicy::Fail },
            allow_empty,
            uses_items: true,
        };
        let verdict = judge(&rules, &observation(&items));
        let failure_holds = failure.iter().any(|f| reference(f, &items));
        let success_holds = success.iter().all(|s| reference(s, &items));
        let declared = rules.declared();
        // An undeclared status counts only on an item some check selects.
        let watched = |ty: usize| {
            success.iter().chain(&failure).any(|spec| match spec {
                Spec::Items(_, _, t) | Spec::Count(_, t, _, _) => t.is_none_or(|t| t == ty),
            })
        };
        let stranger = items
            .iter()
            .any(|(s, ty)| !declared.contains(&Status::parse(STATUSES[*s])) && watched(*ty));
        match verdict {
            Verdict::Met { .. } => {
                prop_assert!(!failure_holds, "passed while a failure condition holds");
                prop_assert!(success_holds);
                prop_assert!(!items.is_empty() || allow_empty, "passed an empty set");
                prop_assert!(!stranger || wait_on_unknown, "passed with an undeclared status");
            }
            Verdict::Failed { .. } => prop_assert!(failure_holds),
            Verdict::Unexpected { .. } => prop_assert!(stranger && !wait_on_unknown && !failure_holds),
            Verdict::Empty => prop_assert!(items.is_empty() && !allow_empty),
            Verdict::Pending { .. } => prop_assert!(!success_holds),
        }
    }
}
