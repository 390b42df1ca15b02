//! Property tests of the verdict: for random jobs, sub-job sets and condition
//! trees, `judge` returns exactly the verdict an obviously correct reference
//! decides by plain loops over the raw data, never passes a gate when a
//! failure condition holds, and never passes an empty set without opt-in.
//!
//! The reference shares no code with `src/condition/`: it follows the order
//! and the verdict contract the README documents (failure first, judged on
//! what is seen; then the job's own failure status; then unknown statuses of
//! the job and of the items some check selects; then the empty set; then
//! success, judged only on complete evidence: a non-empty selection, every
//! `where` value present, the job's `sub_jobs_total` all listed).

use jobgate::api::Status;
use jobgate::api::model::{Item, JobState, Observation, parse_item};
use jobgate::condition::{
    Check, Comparison, Condition, ItemFilter, Quantifier, Role, Rules, StatusSet,
    UnknownStatusPolicy, Verdict, judge,
};
use proptest::prelude::*;

const STATUSES: [&str; 8] = [
    "WAITING", "RUNNING", "SUCCESS", "FAILED", "ABNORMAL", "ROLLBACK", "ABORTING", "COMPLETE",
];
const TYPES: [&str; 3] = ["CREATE_SERVER", "CREATE_SERVER_IMAGE", "DELETE_SERVER"];
/// The wait's `pending`: WAITING and RUNNING.
const PENDING: [usize; 2] = [0, 1];
/// SUCCESS, declared by every wait.
const SUCCESS: usize = 2;
/// The job statuses that fail a wait whatever it says: FAILED, ABNORMAL,
/// ROLLBACK, ABORTING.
const JOB_FAILURE: [usize; 4] = [3, 4, 5, 6];

fn items() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..STATUSES.len(), 0..TYPES.len()), 0..12)
}

fn status_set() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..STATUSES.len(), 1..4)
}

/// A `where: { job_type: [...] }`, or none.
fn type_filter() -> impl Strategy<Value = Option<Vec<usize>>> {
    prop::option::of(prop::collection::vec(0..TYPES.len(), 1..3))
}

/// The right-hand side of `is:`.
#[derive(Debug, Clone, Copy)]
enum Threshold {
    /// `OP N`
    Count(u64),
    /// `OP P%`
    Percent(u64),
}

fn threshold() -> impl Strategy<Value = Threshold> {
    prop_oneof![
        (0u64..6).prop_map(Threshold::Count),
        // The shares specs use, and any other.
        prop::sample::select(vec![0u64, 25, 50, 75, 95, 100]).prop_map(Threshold::Percent),
        (0u64..=100).prop_map(Threshold::Percent),
    ]
}

/// One check, as plain data.
#[derive(Debug, Clone)]
enum Spec {
    /// `status: [...]`
    Job(Vec<usize>),
    /// `all` / `any` / `none: [...]` with an optional `where`.
    Items(u8, Vec<usize>, Option<Vec<usize>>),
    /// `count: [...]` (`None`: `count: "*"`), an optional `where`, the
    /// operator and the threshold.
    Count(Option<Vec<usize>>, Option<Vec<usize>>, u8, Threshold),
}

fn check(job_checks: bool) -> BoxedStrategy<Spec> {
    let items = (0u8..3, status_set(), type_filter()).prop_map(|(q, s, t)| Spec::Items(q, s, t));
    let count = (
        prop::option::of(status_set()),
        type_filter(),
        0u8..6,
        threshold(),
    )
        .prop_map(|(s, t, op, n)| Spec::Count(s, t, op, n));
    if job_checks {
        prop_oneof![
            1 => status_set().prop_map(Spec::Job),
            2 => items,
            2 => count,
        ]
        .boxed()
    } else {
        prop_oneof![items, count].boxed()
    }
}

/// A condition: one check, or all-of / any-of nested up to three deep.
#[derive(Debug, Clone)]
enum Tree {
    Check(Spec),
    All(Vec<Tree>),
    Any(Vec<Tree>),
}

fn tree(job_checks: bool) -> impl Strategy<Value = Tree> {
    check(job_checks)
        .prop_map(Tree::Check)
        .prop_recursive(3, 16, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..4).prop_map(Tree::All),
                prop::collection::vec(inner, 1..4).prop_map(Tree::Any),
            ]
        })
}

fn set(ix: &[usize]) -> StatusSet {
    ix.iter().map(|i| Status::parse(STATUSES[*i])).collect()
}

fn filter(types: &Option<Vec<usize>>) -> ItemFilter {
    ItemFilter {
        fields: types
            .as_ref()
            .map(|types| {
                vec![(
                    "job_type".to_owned(),
                    types.iter().map(|t| TYPES[*t].to_owned()).collect(),
                )]
            })
            .unwrap_or_default(),
    }
}

const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

fn build(spec: &Spec) -> Check {
    match spec {
        Spec::Job(s) => Check::JobStatus(set(s)),
        Spec::Items(q, s, t) => Check::Items {
            quantifier: [Quantifier::All, Quantifier::Any, Quantifier::None][*q as usize],
            statuses: set(s),
            filter: filter(t),
        },
        Spec::Count(s, t, op, n) => {
            let rhs = match n {
                Threshold::Count(n) => format!("{n}"),
                Threshold::Percent(p) => format!("{p}%"),
            };
            Check::Count {
                statuses: s.as_ref().map(|s| set(s)),
                filter: filter(t),
                comparison: Comparison::parse(&format!("{} {rhs}", OPS[*op as usize])).unwrap(),
            }
        }
    }
}

fn build_tree(tree: &Tree) -> Condition {
    match tree {
        Tree::Check(spec) => Condition::Check(build(spec)),
        Tree::All(list) => Condition::AllOf(list.iter().map(build_tree).collect()),
        Tree::Any(list) => Condition::AnyOf(list.iter().map(build_tree).collect()),
    }
}

/// What a poll saw, as plain data: the job's status and its
/// `sub_jobs_total` (`None` for a list wait) and the items' (status, job
/// type), ids being their positions.
#[derive(Debug, Clone)]
struct Raw {
    job: Option<usize>,
    total: Option<u64>,
    items: Vec<(usize, usize)>,
}

/// How a job's `sub_jobs_total` relates to the sub-jobs it lists.
fn total_of(kind: u8, listed: usize) -> Option<u64> {
    match kind {
        0 => None,
        1 => Some(listed as u64 + 1),
        2 if listed > 0 => Some(listed as u64 - 1),
        _ => Some(listed as u64),
    }
}

fn compare(op: u8, left: u64, right: u64) -> bool {
    match op {
        0 => left == right,
        1 => left != right,
        2 => left < right,
        3 => left <= right,
        4 => left > right,
        _ => left >= right,
    }
}

fn selects(types: &Option<Vec<usize>>, ty: usize) -> bool {
    types.as_ref().is_none_or(|types| types.contains(&ty))
}

/// Why what is seen cannot prove a success check on items: `Some(true)`
/// when only part of the set is listed (a growing count may still be
/// proven), `Some(false)` for anything else.
fn gap(raw: &Raw, types: &Option<Vec<usize>>, allow_empty: bool) -> Option<bool> {
    let selected: Vec<usize> = raw
        .items
        .iter()
        .filter(|(_, ty)| selects(types, *ty))
        .map(|(_, ty)| *ty)
        .collect();
    if !allow_empty {
        if selected.is_empty() {
            return Some(false);
        }
        if let Some(types) = types
            && types.iter().any(|t| !selected.contains(t))
        {
            return Some(false);
        }
    }
    raw.job?;
    let listed = raw.items.len() as u64;
    match raw.total {
        Some(n) if n == listed => None,
        Some(n) if listed < n => Some(true),
        Some(_) => Some(false),
        None => Some(true),
    }
}

/// The reference for one check: plain loops over the raw data, no shared code.
fn reference(spec: &Spec, raw: &Raw, success: bool, allow_empty: bool) -> bool {
    let items = &raw.items;
    match spec {
        Spec::Job(s) => raw.job.is_some_and(|j| s.contains(&j)),
        Spec::Items(q, s, t) => {
            let mut selected = 0;
            let mut inside = 0;
            for (st, ty) in items {
                if selects(t, *ty) {
                    selected += 1;
                    if s.contains(st) {
                        inside += 1;
                    }
                }
            }
            let seen = match q {
                // `all` over a filter that selects nothing, while other
                // items exist, does not hold: those sub-jobs have not appeared.
                0 => inside == selected && (selected > 0 || items.is_empty()),
                1 => inside > 0,
                _ => inside == 0,
            };
            // `all` and `none` as success need the whole set in view.
            let unproven = success && *q != 1 && gap(raw, t, allow_empty).is_some();
            seen && !unproven
        }
        Spec::Count(s, t, op, n) => {
            let mut total = 0u64;
            let mut matched = 0u64;
            for (st, ty) in items {
                if selects(t, *ty) {
                    total += 1;
                    if s.as_ref().is_none_or(|s| s.contains(st)) {
                        matched += 1;
                    }
                }
            }
            let seen = match n {
                Threshold::Count(n) => compare(*op, matched, *n),
                // A share of nothing never holds; otherwise compare
                // matched/total with p/100 without division.
                Threshold::Percent(_) if total == 0 => false,
                Threshold::Percent(p) => compare(*op, matched * 100, p * total),
            };
            if !success {
                return seen;
            }
            let unproven = match (gap(raw, t, allow_empty), n) {
                (None, _) => false,
                // `>`/`>=` a number: proven on part of the set.
                (Some(true), Threshold::Count(_)) => *op < 4,
                (Some(_), _) => true,
            };
            // A share needs the job's total.
            let no_whole = matches!(n, Threshold::Percent(_)) && raw.total.is_none();
            seen && !unproven && !no_whole
        }
    }
}

fn reference_tree(tree: &Tree, raw: &Raw, success: bool, allow_empty: bool) -> bool {
    match tree {
        Tree::Check(spec) => reference(spec, raw, success, allow_empty),
        Tree::All(list) => list
            .iter()
            .all(|t| reference_tree(t, raw, success, allow_empty)),
        Tree::Any(list) => list
            .iter()
            .any(|t| reference_tree(t, raw, success, allow_empty)),
    }
}

fn specs(tree: &Tree) -> Vec<&Spec> {
    match tree {
        Tree::Check(spec) => vec![spec],
        Tree::All(list) | Tree::Any(list) => list.iter().flat_map(specs).collect(),
    }
}

/// A wait: its conditions and policies, as plain data.
#[derive(Debug, Clone)]
struct Case {
    is_list: bool,
    success: Tree,
    failure: Option<Tree>,
    allow_empty: bool,
    wait_on_unknown: bool,
}

impl Case {
    fn all_specs(&self) -> Vec<&Spec> {
        let mut out = specs(&self.success);
        if let Some(failure) = &self.failure {
            out.extend(specs(failure));
        }
        out
    }

    /// Whether item statuses and the empty set matter: list waits, and
    /// waits with a check on items.
    fn uses_items(&self) -> bool {
        self.is_list
            || self
                .all_specs()
                .iter()
                .any(|s| matches!(s, Spec::Items(..) | Spec::Count(..)))
    }

    fn rules(&self) -> Rules {
        Rules {
            pending: set(&PENDING),
            success: build_tree(&self.success),
            failure: self.failure.as_ref().map(build_tree),
            unknown_status: if self.wait_on_unknown {
                UnknownStatusPolicy::Wait
            } else {
                UnknownStatusPolicy::Fail
            },
            allow_empty: self.allow_empty,
            uses_items: self.uses_items(),
        }
    }
}

/// The verdict the reference expects; `Unexpected` carries the status
/// reported and the ids of the items blamed.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    Met,
    Failed,
    Unexpected(Status, Vec<String>),
    Empty,
    Pending,
}

impl Case {
    fn failure_holds(&self, raw: &Raw) -> bool {
        self.failure
            .as_ref()
            .is_some_and(|f| reference_tree(f, raw, false, self.allow_empty))
    }

    fn success_holds(&self, raw: &Raw) -> bool {
        reference_tree(&self.success, raw, true, self.allow_empty)
    }
}

fn reference_verdict(case: &Case, raw: &Raw) -> Expected {
    // 1. Failure first.
    if case.failure_holds(raw) {
        return Expected::Failed;
    }
    // The job's statuses: pending, SUCCESS and those `status:` names.
    let mut job_declared: Vec<usize> = PENDING.to_vec();
    job_declared.push(SUCCESS);
    // The items': pending, SUCCESS and those any check names.
    let mut declared = job_declared.clone();
    for spec in case.all_specs() {
        match spec {
            Spec::Job(s) => {
                job_declared.extend(s);
                declared.extend(s);
            }
            Spec::Items(_, s, _) | Spec::Count(Some(s), _, _, _) => declared.extend(s),
            Spec::Count(None, _, _, _) => {}
        }
    }
    // 2. A job in a documented failure status fails the wait, declared or
    // not: the API itself says it failed.
    if let Some(job) = raw.job
        && JOB_FAILURE.contains(&job)
    {
        return Expected::Failed;
    }
    // 3. Unknown statuses end the wait, or keep it polling.
    let unknown = |status: usize, blame: Vec<String>| {
        if case.wait_on_unknown {
            Expected::Pending
        } else {
            Expected::Unexpected(Status::parse(STATUSES[status]), blame)
        }
    };
    if let Some(job) = raw.job
        && !job_declared.contains(&job)
    {
        return unknown(job, Vec::new());
    }
    if case.uses_items() {
        // Only items some check on items selects.
        let mut strangers = Vec::new();
        let mut first = None;
        for (id, (st, ty)) in raw.items.iter().enumerate() {
            let watched = case.all_specs().iter().any(|spec| match spec {
                Spec::Items(_, _, t) | Spec::Count(_, t, _, _) => selects(t, *ty),
                Spec::Job(_) => false,
            });
            if watched && !declared.contains(st) {
                first.get_or_insert(*st);
                strangers.push(id.to_string());
            }
        }
        if let Some(st) = first {
            return unknown(st, strangers);
        }
    }
    // 4. Empty is not success.
    if case.uses_items() && raw.items.is_empty() && !case.allow_empty {
        return Expected::Empty;
    }
    // 5. Success.
    if case.success_holds(raw) {
        Expected::Met
    } else {
        Expected::Pending
    }
}

fn observation(raw: &Raw) -> Observation {
    let items: Vec<Item> = raw
        .items
        .iter()
        .enumerate()
        .map(|(i, (s, t))| parse_item(serde_json::json!({"id": i.to_string(), "status": STATUSES[*s], "job_type": TYPES[*t]})).unwrap())
        .collect();
    Observation {
        job: raw.job.map(|s| JobState {
            id: "job".into(),
            job_type: None,
            status: Status::parse(STATUSES[s]),
            begin_time: None,
            end_time: None,
            sub_jobs_total: raw.total,
            error_code: None,
            error_message: None,
        }),
        items,
        ..Default::default()
    }
}

fn raw(is_list: bool) -> BoxedStrategy<Raw> {
    if is_list {
        items()
            .prop_map(|items| Raw {
                job: None,
                total: None,
                items,
            })
            .boxed()
    } else {
        (0..STATUSES.len(), 0u8..6, items())
            .prop_map(|(job, kind, items)| Raw {
                job: Some(job),
                total: total_of(kind, items.len()),
                items,
            })
            .boxed()
    }
}

/// A job wait (job status and sub-jobs) or a list wait (items only), with
/// conditions that fit it: `status:` only on job waits, as the spec allows.
fn case_and_raw() -> impl Strategy<Value = (Case, Raw)> {
    any::<bool>().prop_flat_map(|is_list| {
        (
            tree(!is_list),
            prop::option::of(tree(!is_list)),
            any::<bool>(),
            any::<bool>(),
            raw(is_list),
        )
            .prop_map(
                move |(success, failure, allow_empty, wait_on_unknown, raw)| {
                    (
                        Case {
                            is_list,
                            success,
                            failure,
                            allow_empty,
                            wait_on_unknown,
                        },
                        raw,
                    )
                },
            )
    })
}

fn verdict_of(case: &Case, raw: &Raw) -> Expected {
    match judge(&case.rules(), &observation(raw)) {
        Verdict::Met { .. } => Expected::Met,
        Verdict::Failed { .. } => Expected::Failed,
        Verdict::Unexpected { status, blame } => {
            Expected::Unexpected(status, blame.into_iter().map(|i| i.id).collect())
        }
        Verdict::Empty => Expected::Empty,
        Verdict::Pending { .. } => Expected::Pending,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn checks_agree_with_the_reference(
        raw in any::<bool>().prop_flat_map(raw),
        spec in check(true),
        success in any::<bool>(),
        allow_empty in any::<bool>(),
    ) {
        let obs = observation(&raw);
        let role = if success { Role::Success } else { Role::Failure };
        let finding = build(&spec).evaluate(&obs, role, allow_empty);
        prop_assert_eq!(finding.holds, reference(&spec, &raw, success, allow_empty));
    }

    #[test]
    fn condition_trees_agree_with_the_reference(
        raw in raw(false),
        tree in tree(true),
    ) {
        // A tree as the success condition of a wait that tolerates unknown
        // statuses: met exactly when the job has not failed, every status
        // is declared and the tree holds on complete evidence.
        let case = Case {
            is_list: false,
            success: tree,
            failure: None,
            allow_empty: true,
            wait_on_unknown: true,
        };
        prop_assert_eq!(verdict_of(&case, &raw), reference_verdict(&case, &raw));
    }

    #[test]
    fn the_verdict_is_the_reference_verdict((case, raw) in case_and_raw()) {
        prop_assert_eq!(verdict_of(&case, &raw), reference_verdict(&case, &raw));
    }

    #[test]
    fn verdict_never_passes_a_failing_incomplete_or_empty_gate((case, raw) in case_and_raw()) {
        let verdict = judge(&case.rules(), &observation(&raw));
        let failure_holds = case.failure_holds(&raw);
        let success_holds = case.success_holds(&raw);
        match verdict {
            Verdict::Met { .. } => {
                prop_assert!(!failure_holds, "passed while a failure condition holds");
                prop_assert!(success_holds);
                prop_assert!(
                    raw.job.is_none_or(|j| !JOB_FAILURE.contains(&j)),
                    "passed a failed job"
                );
                prop_assert!(
                    !raw.items.is_empty() || case.allow_empty || !case.uses_items(),
                    "passed an empty set"
                );
            }
            Verdict::Failed { .. } => prop_assert!(
                failure_holds || raw.job.is_some_and(|j| JOB_FAILURE.contains(&j))
            ),
            Verdict::Unexpected { .. } => prop_assert!(!case.wait_on_unknown && !failure_holds),
            Verdict::Empty => prop_assert!(raw.items.is_empty() && !case.allow_empty),
            Verdict::Pending { .. } => prop_assert!(!success_holds || case.wait_on_unknown),
        }
    }
}
