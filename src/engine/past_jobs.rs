//! Past durations of a job type from the API's own lists, read once per run,
//! one of the signals of the duration model (see [`super::estimate`]).
//!
//! Image jobs have a list of past jobs with begin and end times
//! (`ListImageJobs`). App-server jobs have none, but their sub-jobs do
//! (`ListSubJobs`): a job of N servers ends with its slowest server, which
//! the model takes as the slowest of N past servers. Desktops report
//! progress instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::gate::Gate;
use crate::api::client::{ApiError, ErrorKind};
use crate::api::model::{self, Item};
use crate::api::request::ApiRequest;
use crate::api::{Operation, Status};
use crate::spec::Target;

/// Fewer past jobs than this say too little about the next one.
pub(crate) const MIN_SAMPLES: usize = 3;

/// The most past jobs one estimate reads: one page of the list.
pub(crate) const MAX_SAMPLES: u32 = match Operation::ListImageJobs.page() {
    Some(limits) => limits.max,
    None => panic!("ListImageJobs pages"),
};

/// How many floors a job must have run before its type's past jobs are
/// read: a job that ends within them (a 5-20 s job at a 5 s floor) is seen
/// for what a loop at the floor spends, without a request that could not
/// have changed a poll (the schedule polls such young jobs at the floor
/// anyway, see `schedule::YOUNG_FLOORS`).
pub(crate) const AFTER_FLOORS: u32 = 4;

/// Whether a job of `age`, polled with a floor of `floor`, is worth a
/// request for its type's past jobs.
pub(crate) fn worth_reading(age: Duration, floor: Duration) -> bool {
    age >= floor.saturating_mul(AFTER_FLOORS)
}

/// How long past jobs of one type took, shortest first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Durations(Vec<Duration>);

impl Durations {
    /// The durations of the successful items with both time stamps, or
    /// `None` when there are fewer than [`MIN_SAMPLES`].
    pub(crate) fn from_items(items: &[Item]) -> Option<Durations> {
        let mut took: Vec<Duration> = items
            .iter()
            .filter(|i| i.status == Status::Success)
            .filter_map(|i| span(i.begin_time.as_ref()?.parsed?, i.end_time.as_ref()?.parsed?))
            .collect();
        if took.len() < MIN_SAMPLES {
            return None;
        }
        took.sort();
        Some(Durations(took))
    }

    /// The durations in seconds, shortest first.
    pub(crate) fn secs(&self) -> Vec<f64> {
        self.0.iter().map(Duration::as_secs_f64).collect()
    }

    /// The duration below which a share `q` (0 to 1) of past jobs ended,
    /// interpolated between neighbours.
    #[cfg(test)]
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let last = self.0.len() - 1;
        let position = q.clamp(0.0, 1.0) * last as f64;
        let (low, high) = (position.floor() as usize, position.ceil() as usize);
        let (a, b) = (self.0[low].as_secs_f64(), self.0[high].as_secs_f64());
        Duration::from_secs_f64(a + (b - a) * (position - low as f64))
    }
}

/// `end - begin`, when the end is not before the begin.
fn span(begin: jiff::Timestamp, end: jiff::Timestamp) -> Option<Duration> {
    Duration::try_from(end.duration_since(begin)).ok()
}

/// Where past durations of a target's jobs can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// `ListImageJobs`: past image jobs.
    ImageJobs,
    /// `ListSubJobs`: past app-server sub-jobs (one per server).
    AppServerSubJobs,
}

/// The history a wait on `target` can learn from, if any.
pub(crate) fn source(target: &Target) -> Option<Source> {
    match target {
        Target::ImageJob { .. } => Some(Source::ImageJobs),
        Target::AppServerJob { .. } => Some(Source::AppServerSubJobs),
        _ => None,
    }
}

/// The request that reads a job type's history.
pub(crate) fn request(project_id: &str, source: Source, job_type: &str) -> ApiRequest {
    let list = match source {
        Source::ImageJobs => Operation::ListImageJobs,
        Source::AppServerSubJobs => Operation::ListSubJobs,
    };
    list.request(project_id, None)
        .with("status", "SUCCESS")
        .with("job_type", job_type)
        .with("limit", MAX_SAMPLES.to_string())
}

/// One job type's durations, read at most once (`None`: unknown).
type Cell = Arc<OnceCell<Option<Arc<Durations>>>>;

/// The run's estimates, one request per job type however many waits ask.
#[derive(Default)]
pub(crate) struct History {
    /// Keyed by project, source and job type.
    cells: Mutex<HashMap<(String, Source, String), Cell>>,
}

impl History {
    /// The durations of past `job_type` jobs from `source`, read on first
    /// use. An answer, even an error or too few samples, is kept for the
    /// rest of the run rather than spend more requests on an optimisation;
    /// throttling, or a request the limits could not send in time, is not
    /// an answer, so a later poll may ask again. Waits no longer than this
    /// caller's `not_after` plus `timeout`, however long the wait that is
    /// asking takes. Returns whether this call sent the request.
    pub(crate) async fn durations(
        &self,
        gate: &Gate,
        project_id: &str,
        source: Source,
        job_type: &str,
        timeout: Duration,
        not_after: Instant,
    ) -> (Option<Arc<Durations>>, bool) {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells
                .entry((project_id.to_owned(), source, job_type.to_owned()))
                .or_default()
                .clone()
        };
        let mut sent = false;
        let read = cell.get_or_try_init(|| async {
            let request = request(project_id, source, job_type);
            let answer = gate
                .get(&request, project_id, timeout, not_after)
                .await
                .ok_or(NoAnswer)?;
            sent = answer.sent;
            match answer.result {
                Err(ApiError {
                    kind: ErrorKind::Throttled { .. },
                    ..
                }) => Err(NoAnswer),
                Err(_) => Ok(None),
                Ok(body) => Ok(model::parse_page(&body.bytes)
                    .ok()
                    .and_then(|page| Durations::from_items(&page.items))
                    .map(Arc::new)),
            }
        });
        let durations = match tokio::time::timeout_at(super::later(not_after, timeout), read).await
        {
            Ok(Ok(durations)) => durations.clone(),
            Ok(Err(NoAnswer)) | Err(_) => None,
        };
        (durations, sent)
    }
}

/// The history request got no answer worth keeping.
struct NoAnswer;

#[cfg(test)]
mod tests {
    use super::*;

    fn durations(secs: &[u64]) -> Durations {
        let mut d: Vec<Duration> = secs.iter().map(|s| Duration::from_secs(*s)).collect();
        d.sort();
        Durations(d)
    }

    fn item(status: &str, begin: &str, end: Option<&str>) -> Item {
        let text = serde_json::json!({
            "id": "x", "status": status, "begin_time": begin, "end_time": end,
        })
        .to_string();
        model::parse_page(format!(r#"{{"count":1,"items":[{text}]}}"#).as_bytes())
            .unwrap()
            .items
            .remove(0)
    }

    #[test]
    fn quantiles_interpolate_between_samples() {
        let d = durations(&[10, 20, 30, 40, 50]);
        assert_eq!(d.quantile(0.0), Duration::from_secs(10));
        assert_eq!(d.quantile(0.5), Duration::from_secs(30));
        assert_eq!(d.quantile(1.0), Duration::from_secs(50));
        assert_eq!(d.quantile(0.1), Duration::from_secs(14));
    }

    #[test]
    fn only_successful_items_with_both_times_count() {
        let items = [
            item(
                "SUCCESS",
                "2024-05-20T10:00:00Z",
                Some("2024-05-20T10:00:30Z"),
            ),
            item(
                "SUCCESS",
                "2024-05-20 10:00:00",
                Some("2024-05-20 10:01:00"),
            ),
            item(
                "SUCCESS",
                "2024-05-20T10:00:00.5Z",
                Some("2024-05-20T10:00:10.5Z"),
            ),
            // Not counted: failed, unfinished, or ending before it began.
            item(
                "FAILED",
                "2024-05-20T10:00:00Z",
                Some("2024-05-20T10:00:01Z"),
            ),
            item("SUCCESS", "2024-05-20T10:00:00Z", None),
            item(
                "SUCCESS",
                "2024-05-20T10:00:10Z",
                Some("2024-05-20T10:00:00Z"),
            ),
        ];
        let d = Durations::from_items(&items).unwrap();
        assert_eq!(d, durations(&[10, 30, 60]));
        assert_eq!(Durations::from_items(&items[..2]), None);
    }
}
