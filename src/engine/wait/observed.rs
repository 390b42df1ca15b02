//! What a wait reads off one observation for its report: the state in a
//! few words, the last observation, the outputs it captures.

use std::collections::BTreeMap;

use crate::api::client::ApiError;
use crate::api::model::Observation;
use crate::report::model::{ApiErrorInfo, LastObservation};
use crate::spec::Wait;

/// The state in a few words: job status and counts of sub-jobs by status.
pub fn summarize(obs: &Observation) -> String {
    let mut parts = Vec::new();
    if let Some(job) = &obs.job {
        parts.push(job.status.to_string());
    }
    let counts = status_counts(obs);
    if !counts.is_empty() {
        let total: u64 = counts.values().sum();
        let list: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
        parts.push(format!("{total} sub-jobs: {}", list.join(", ")));
    }
    for (k, v) in &obs.counts {
        parts.push(format!(
            "count[{}]={v}",
            crate::condition::count_key_text(k.as_deref())
        ));
    }
    if parts.is_empty() {
        parts.push(if obs.is_list() {
            "no sub-jobs yet".into()
        } else {
            "response received".into()
        });
    }
    parts.join("; ")
}

fn status_counts(obs: &Observation) -> BTreeMap<String, u64> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for item in &obs.items {
        *counts.entry(item.status.as_str()).or_insert(0) += 1;
    }
    counts.into_iter().map(|(s, n)| (s.to_owned(), n)).collect()
}

/// The observation as the report shows it.
pub(super) fn last_observation(obs: &Observation, found: String) -> LastObservation {
    let with_progress: Vec<u32> = obs.items.iter().filter_map(|i| i.progress).collect();
    let progress = (!with_progress.is_empty()).then(|| {
        // Items already done count as 100% even if the API stops reporting.
        let done = obs
            .items
            .iter()
            .filter(|i| i.progress.is_none() && i.status.as_str() == "SUCCESS")
            .count() as u32;
        let sum: u32 = with_progress.iter().sum::<u32>() + 100 * done;
        sum / (with_progress.len() as u32 + done)
    });
    LastObservation {
        job: obs.job.clone(),
        status_counts: status_counts(obs),
        items: obs.items.len() as u64,
        counts: obs
            .counts
            .iter()
            .map(|(k, v)| {
                (
                    crate::condition::count_key_text(k.as_deref()).to_owned(),
                    *v,
                )
            })
            .collect(),
        progress,
        found,
    }
}

/// The values a wait captures from an observation: what each output's path
/// selects, `null`s left out; one value as its text (a string as is,
/// anything else as JSON), several as a JSON list of them. An output whose
/// path selects nothing (or only `null`) is absent: see
/// `uncaptured_outputs`.
///
/// The document is built only for a wait that declares outputs: for a
/// list or job detail of 10,000 sub-jobs it is a JSON tree of tens of
/// megabytes, most of a run's peak memory when built for nothing.
pub fn capture_outputs(wait: &Wait, obs: &Observation) -> BTreeMap<String, String> {
    if wait.outputs.is_empty() {
        return BTreeMap::new();
    }
    let document = obs.document();
    wait.outputs
        .iter()
        .filter_map(|o| {
            let values: Vec<serde_json::Value> = o
                .path
                .query(&document)
                .into_iter()
                .filter(|v| !v.is_null())
                .cloned()
                .collect();
            let text = match values.as_slice() {
                [] => return None,
                [serde_json::Value::String(s)] => s.clone(),
                [one] => one.to_string(),
                several => serde_json::Value::Array(several.to_vec()).to_string(),
            };
            Some((o.name.clone(), text))
        })
        .collect()
}

/// The outputs a wait declares that `captured` lacks, with their sources.
pub(crate) fn uncaptured_outputs<'a>(
    wait: &'a Wait,
    captured: &BTreeMap<String, String>,
) -> Vec<&'a crate::spec::Output> {
    wait.outputs
        .iter()
        .filter(|o| !captured.contains_key(&o.name))
        .collect()
}

/// An API error as the report shows it.
pub(super) fn error_info(error: &ApiError) -> ApiErrorInfo {
    ApiErrorInfo {
        http_status: error.status,
        code: error.code.clone(),
        message: error.message.clone(),
        request_id: error.request_id.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model::Source;

    fn wait(body: &str) -> Wait {
        let env = |name: &str| (name == "HUAWEICLOUD_SDK_PROJECT_ID").then(|| "p".to_owned());
        let text = format!("version: 1\nwaits:\n  w:\n{body}");
        let mut spec = crate::spec::parse("s", &text, &env).unwrap_or_else(|e| panic!("{e}"));
        spec.waits.remove(0)
    }

    /// A wait without outputs never builds the answer's JSON tree: the
    /// detail below cannot become one (building it would panic), so the
    /// test fails if the tree is built.
    #[test]
    fn no_outputs_build_no_document() {
        let obs = Observation {
            source: Source::Job(bytes::Bytes::from_static(b"not a JSON tree")),
            ..Default::default()
        };
        let plain = wait("    image_job: j\n    target: [SUCCESS]\n");
        assert!(capture_outputs(&plain, &obs).is_empty());
    }
}
