//! A saved response read as a poll of its wait would read it, for
//! `jobgate eval` and the response fuzz target.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::api::model::{self, Observation, Source};
use crate::spec::{ListFilter, Target, Wait};

use super::asked_job;
use super::count::{count_checks, counts, counts_observation};

/// Reads one saved response the way a poll of this wait would, from the
/// same bytes with the same readers: `jobgate eval` and the response fuzz
/// target judge exactly what the engine would judge.
///
/// A count wait asks the count endpoint once per status filter, so one
/// `{"count": N}` cannot answer it: it takes every answer at once, as
/// `{"counts": {"*": N, "ABNORMAL": M}}`, the form the report's last
/// observation shows.
pub fn observe_saved(wait: &Wait, text: &[u8]) -> Result<Observation, model::Malformed> {
    use crate::spec::Shape;
    let json = || {
        serde_json::from_slice(text)
            .map_err(|e| model::Malformed(format!("the response is not valid JSON ({e})")))
    };
    match wait.target.shape() {
        Shape::Job => {
            let obs = model::parse_job(Bytes::copy_from_slice(text))?;
            // An id that needs an earlier wait's output cannot be known here.
            if let Ok(Some(asked)) = asked_job(wait, &|_, _| None) {
                model::check_job_id(&obs, &asked)?;
            }
            Ok(obs)
        }
        // One saved page must be the whole list, as a poll's pages must.
        Shape::List => {
            let job_id = match &wait.target {
                Target::ImageSubJobs(f)
                | Target::AppServerSubJobs(f)
                | Target::DesktopSubJobs(f) => {
                    f.job_id.as_ref().and_then(|t| t.render(&|_, _| None).ok())
                }
                _ => None,
            };
            let mut paging = crate::engine::observe::Paging::new(u32::MAX, job_id);
            paging.add(model::parse_page(text)?)?;
            paging.finish()
        }
        Shape::Count => saved_counts(wait, &json()?),
        Shape::Json => Ok(Observation {
            source: Source::Json(json()?),
            ..Default::default()
        }),
    }
}

fn saved_counts(wait: &Wait, json: &serde_json::Value) -> Result<Observation, model::Malformed> {
    let keys: Vec<Option<String>> = counts(&count_checks(wait), &ListFilter::default())
        .into_iter()
        .map(|c| c.key)
        .collect();
    let names: Vec<String> = keys
        .iter()
        .map(|k| crate::condition::count_key_text(k.as_deref()).to_owned())
        .collect();
    let wanted = || {
        let example: Vec<String> = names.iter().map(|n| format!("\"{n}\": N")).collect();
        format!("{{\"counts\": {{{}}}}}", example.join(", "))
    };
    // A lone `{"count": N}` answers a wait that only needs the total.
    if keys == [None]
        && let Some(n) = json.get("count").and_then(serde_json::Value::as_u64)
    {
        return Ok(counts_observation([(None, n)].into()));
    }
    let Some(answers) = json.get("counts").and_then(serde_json::Value::as_object) else {
        return Err(model::Malformed(format!(
            "this wait reads the count endpoint once per count it needs ({}); give every answer as {} (the report's last observation shows them so)",
            names.join("; "),
            wanted()
        )));
    };
    let mut counts = BTreeMap::new();
    for (key, name) in keys.into_iter().zip(&names) {
        let n = answers
            .get(name)
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| {
                model::Malformed(format!(
                    "`counts` has no number for `{name}`; expected {}",
                    wanted()
                ))
            })?;
        counts.insert(key, n);
    }
    Ok(counts_observation(counts))
}
