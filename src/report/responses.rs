//! `run --save-responses DIR`: the last answer each wait judged, written as
//! the very file `eval --response` reads, so a gate that stayed shut can be
//! judged again offline, with the same conditions and the same parsers.
//!
//! What is written is the observation's document: a job detail as the API
//! sent it, list pages merged into one `{count, items}` page, count answers
//! as `{"counts": {...}}`, a `get` answer as is. Every string in it passes
//! through the run's redactor first: a saved answer is server text and
//! may echo a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::api::model::Observation;
use crate::redact::Redactor;

/// The last observation of each wait, kept while the run goes on.
#[derive(Debug, Default)]
pub struct Responses {
    last: Mutex<BTreeMap<String, Observation>>,
}

impl Responses {
    /// Keeps `obs` as `wait`'s last answer (replacing the one before).
    pub fn keep(&self, wait: &str, obs: &Observation) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(wait.to_owned(), obs.clone());
    }

    /// Writes `DIR/<wait>.json` for every wait that got an answer (wait
    /// names are letters, digits, `-` and `_`, so each is a plain file
    /// name), creating `dir` if needed. Returns the files written.
    pub fn write(&self, dir: &Path, redactor: &Redactor) -> std::io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut written = Vec::new();
        for (wait, obs) in last.iter() {
            let document = redacted(obs.document().into_owned(), redactor);
            let text = serde_json::to_string_pretty(&document).map_err(std::io::Error::other)?;
            let path = dir.join(format!("{wait}.json"));
            super::file::write_atomic(&path, format!("{text}\n").as_bytes())?;
            written.push(path);
        }
        Ok(written)
    }
}

/// Every string (keys too) through the redactor; the tree stays valid JSON
/// whatever the masks cover.
fn redacted(value: Value, redactor: &Redactor) -> Value {
    match value {
        Value::String(s) => Value::String(redactor.text(&s)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| redacted(v, redactor)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (redactor.text(&k), redacted(v, redactor)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_answer_masks_secrets_and_stays_json() {
        let obs = crate::engine::fetch::counts_observation([(None, 3)].into());
        let mut obs = obs;
        obs.source = crate::api::model::Source::Json(serde_json::json!({
            "status": "SUCCESS",
            "echo": {"token": "s3cr3t-value-123", "s3cr3t-value-123": ["x s3cr3t-value-123"]},
        }));
        let responses = Responses::default();
        responses.keep("w", &obs);
        let dir = std::env::temp_dir().join(format!("jobgate-responses-{}", std::process::id()));
        let written = responses
            .write(&dir, &Redactor::new(["s3cr3t-value-123"]))
            .unwrap();
        let text = std::fs::read_to_string(&written[0]).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!text.contains("s3cr3t"), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["status"], "SUCCESS");
    }
}
