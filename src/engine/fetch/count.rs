//! The counts a count wait needs: which numbers its conditions ask the
//! count endpoint for, the requests that answer each, and the observation
//! their answers make.

use std::collections::BTreeMap;

use crate::api::model::{Observation, Source};
use crate::api::request::ApiRequest;
use crate::condition::{Check, Condition, ItemFilter, StatusSet, count_key};
use crate::spec::{ListFilter, Wait};

/// One number a count endpoint answers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Count {
    /// The statuses counted, one request each (`None`: any status).
    pub(crate) statuses: Option<StatusSet>,
    /// The job types counted, sent as `job_type` in place of the target's
    /// filter (`None`: the target's; empty: no type can match, so zero
    /// without a request).
    pub(crate) job_types: Option<Vec<String>>,
    /// The key the answer is stored under: [`count_key`].
    pub(crate) key: Option<String>,
}

impl Count {
    /// The requests that answer it, each with the status it counts.
    pub(crate) fn requests(&self, base: &ApiRequest) -> Vec<ApiRequest> {
        let base = match &self.job_types {
            Some(types) if types.is_empty() => return Vec::new(),
            Some(types) => base.clone().set("job_type", types.join(",")),
            None => base.clone(),
        };
        match &self.statuses {
            None => vec![base],
            Some(set) => set
                .iter()
                .map(|s| base.clone().with("status", s.as_str()))
                .collect(),
        }
    }
}

pub(super) fn conditions(wait: &Wait) -> Vec<&Condition> {
    std::iter::once(&wait.rules.success)
        .chain(wait.rules.failure.iter())
        .collect()
}

/// The count checks of a wait whose every check counts with a filter the
/// count endpoint can express (none, or `job_type`) and that captures no
/// outputs: such a wait needs no item.
pub(super) fn countable(wait: &Wait) -> Option<Vec<(&Option<StatusSet>, &ItemFilter)>> {
    if !wait.outputs.is_empty() {
        return None;
    }
    let checks: Vec<&Check> = conditions(wait)
        .into_iter()
        .flat_map(|c| c.checks())
        .collect();
    let countable = checks.iter().all(|c| {
        matches!(c, Check::Count { filter, .. }
            if filter.fields.iter().all(|(field, _)| field == "job_type"))
    });
    countable.then(|| count_checks(wait))
}

/// The statuses and filter of every count check.
pub(super) fn count_checks(wait: &Wait) -> Vec<(&Option<StatusSet>, &ItemFilter)> {
    conditions(wait)
        .into_iter()
        .flat_map(|c| c.checks())
        .filter_map(|check| match check {
            Check::Count {
                statuses, filter, ..
            } => Some((statuses, filter)),
            _ => None,
        })
        .collect()
}

/// The numbers to ask for: each check's count, the total of each filter
/// (shares divide by it), and the unfiltered total, which tells an empty
/// list from a list without matches.
pub(super) fn counts(
    checks: &[(&Option<StatusSet>, &ItemFilter)],
    target: &ListFilter,
) -> Vec<Count> {
    let none = ItemFilter::default();
    let wanted = checks
        .iter()
        .flat_map(|(statuses, filter)| [(*statuses, *filter), (&None, *filter)])
        .chain([(&None, &none)]);
    let mut counts: Vec<Count> = Vec::new();
    for (statuses, filter) in wanted {
        let key = count_key(statuses, filter);
        if counts.iter().any(|c| c.key == key) {
            continue;
        }
        let job_types = filter
            .fields
            .iter()
            .find(|(field, _)| field == "job_type")
            .map(|(_, wanted)| {
                wanted
                    .iter()
                    .filter(|t| target.job_type.is_empty() || target.job_type.contains(t))
                    .cloned()
                    .collect()
            });
        counts.push(Count {
            statuses: statuses.clone(),
            job_types,
            key,
        });
    }
    counts
}

/// Builds the observation of count answers.
pub(crate) fn counts_observation(counts: BTreeMap<Option<String>, u64>) -> Observation {
    let document = serde_json::json!({
        "counts": counts.iter().map(|(k, v)| (crate::condition::count_key_text(k.as_deref()), *v)).collect::<BTreeMap<_, _>>()
    });
    Observation {
        counts,
        source: Source::Json(document),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Service;
    use crate::engine::fetch::{IMAGE_JOB_TYPES, Plan, plan};

    use crate::api::Status;

    fn statuses(names: &[&str]) -> Option<StatusSet> {
        Some(names.iter().map(|n| Status::parse(n)).collect())
    }

    fn by_type(types: &[&str]) -> ItemFilter {
        ItemFilter {
            fields: vec![(
                "job_type".into(),
                types.iter().map(|t| t.to_string()).collect(),
            )],
        }
    }

    fn urls(counts: &[Count], base: &ApiRequest) -> Vec<String> {
        counts
            .iter()
            .flat_map(|c| c.requests(base))
            .map(|r| r.path_and_query())
            .collect()
    }

    #[test]
    fn a_count_by_job_type_asks_the_count_endpoint_for_that_type() {
        let base = ApiRequest::new(Service::AppStream, "/c".into()).with("job_id", "j");
        let failed = statuses(&["FAILED"]);
        let filter = by_type(&["CREATE_SERVER"]);
        let counts = counts(&[(&failed, &filter)], &ListFilter::default());
        let keys: Vec<_> = counts.iter().map(|c| c.key.clone()).collect();
        assert_eq!(
            keys,
            [
                Some("FAILED where job_type in [CREATE_SERVER]".into()),
                Some("* where job_type in [CREATE_SERVER]".into()),
                None,
            ]
        );
        assert_eq!(
            urls(&counts, &base),
            [
                "/c?job_id=j&job_type=CREATE_SERVER&status=FAILED",
                "/c?job_id=j&job_type=CREATE_SERVER",
                "/c?job_id=j",
            ]
        );
    }

    #[test]
    fn the_where_types_narrow_the_targets_and_none_left_means_zero() {
        let base = ApiRequest::new(Service::AppStream, "/c".into()).with("job_type", "A,B");
        let target = ListFilter {
            job_type: vec!["A".into(), "B".into()],
            ..Default::default()
        };
        let any = None;
        let (bc, c) = (by_type(&["B", "C"]), by_type(&["C"]));
        let narrowed = counts(&[(&any, &bc)], &target);
        assert_eq!(narrowed[0].job_types, Some(vec!["B".to_owned()]));
        assert_eq!(urls(&narrowed[..1], &base), ["/c?job_type=B"]);
        let disjoint = counts(&[(&any, &c)], &target);
        assert_eq!(disjoint[0].job_types, Some(Vec::new()));
        assert!(disjoint[0].requests(&base).is_empty());
    }

    fn plan_of(target: &str) -> Vec<String> {
        let env = |name: &str| (name == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| "p".to_owned());
        let text = format!(
            "version: 1\nwaits:\n  a:\n    {target}\n    success: {{ count: [FAILED], is: \"== 0\" }}\n"
        );
        let spec = crate::spec::parse("s", &text, &env).unwrap();
        let Plan::Counts { request, counts } = plan(&spec.waits[0], &|_, _| None).unwrap() else {
            panic!("not a count plan")
        };
        urls(&counts, &request)
    }

    #[test]
    fn an_image_count_without_job_type_counts_every_documented_type() {
        let every = IMAGE_JOB_TYPES.join("%2C");
        for url in plan_of("image_sub_job_count: { job_id: j }") {
            assert!(url.contains(&format!("job_type={every}")), "{url}");
        }
        // A named type is asked as named.
        for url in plan_of("image_sub_job_count: { job_id: j, job_type: GENERATE_IMAGE }") {
            assert!(
                url.contains("job_type=GENERATE_IMAGE") && !url.contains("%2C"),
                "{url}"
            );
        }
    }

    #[test]
    fn one_request_per_status_and_the_total_only_once() {
        let base = ApiRequest::new(Service::AppStream, "/c".into());
        let none = ItemFilter::default();
        let (failed, any) = (statuses(&["FAILED", "ABNORMAL"]), None);
        let counts = counts(&[(&failed, &none), (&any, &none)], &ListFilter::default());
        assert_eq!(
            urls(&counts, &base),
            ["/c?status=FAILED", "/c?status=ABNORMAL", "/c"]
        );
    }
}
