//! For jobs without a progress figure: the sub-jobs already finished say how
//! long the rest of their type will take, so a job of ten servers learns
//! from its first ones.
//!
//! A sub-job still running ends about one typical sub-job duration after it
//! began; one not yet begun (or not yet listed, when `sub_jobs_total` says
//! more are coming) starts after the latest of those and takes as long
//! again. The job ends with its last sub-job. Only sub-jobs of one job
//! type predict each other: an image build's server, image and clean-up
//! steps differ too much for the first to time the others.

use std::collections::HashMap;
use std::time::Duration;

use crate::api::Status;
use crate::api::model::Observation;

/// Seconds from `now` until the job's last sub-job is likely to end, and how
/// many finished sub-jobs that rests on; `None` before one has finished
/// with both time stamps, or with nothing left to wait for.
pub(crate) fn remaining(obs: &Observation, now: jiff::Timestamp) -> Option<(f64, usize)> {
    let parsed = |t: &Option<crate::api::model::Timestamp>| t.as_ref().and_then(|t| t.parsed);
    // Durations of the finished sub-jobs, per job type.
    let mut took: HashMap<Option<&str>, Vec<f64>> = HashMap::new();
    for item in obs.items.iter().filter(|i| i.status == Status::Success) {
        if let (Some(begin), Some(end)) = (parsed(&item.begin_time), parsed(&item.end_time))
            && let Some(secs) = secs_between(begin, end)
        {
            took.entry(item.job_type.as_deref()).or_default().push(secs);
        }
    }
    let finished: usize = took.values().map(Vec::len).sum();
    if finished == 0 {
        return None;
    }
    let typical = |kind: Option<&str>| {
        let d = took.get(&kind)?;
        Some(d.iter().sum::<f64>() / d.len() as f64)
    };
    let unfinished: Vec<_> = obs
        .items
        .iter()
        .filter(|i| matches!(i.status, Status::Waiting | Status::Running))
        .collect();
    let listed = obs.items.len() as u64;
    let unlisted = obs
        .job
        .as_ref()
        .and_then(|j| j.sub_jobs_total)
        .map_or(0, |t| t.saturating_sub(listed));
    if unfinished.is_empty() && unlisted == 0 {
        return None;
    }
    // Sub-jobs of another kind (a server, then an image, then a clean-up)
    // say nothing about each other: each unfinished one needs finished
    // ones of its own job type, and those not yet listed need every listed
    // one to be of one type.
    let mut kinds = obs.items.iter().map(|i| i.job_type.as_deref());
    let one_kind = kinds
        .next()
        .and_then(|k| kinds.all(|o| o == k).then_some(k));
    // Seconds from now at which each running sub-job should end.
    let mut latest: f64 = 0.0;
    let mut queued = if unlisted > 0 {
        unlisted as f64 * typical(one_kind?)?
    } else {
        0.0
    };
    for item in unfinished {
        let typical = typical(item.job_type.as_deref())?;
        match parsed(&item.begin_time) {
            Some(begin) if item.status == Status::Running => {
                let ran = secs_between(begin, now).unwrap_or(0.0);
                latest = latest.max(typical - ran);
            }
            _ => queued += typical,
        }
    }
    let ends_in = latest.max(0.0) + queued;
    Some((ends_in, finished))
}

/// `end - begin` in seconds, when the end is not before the begin.
fn secs_between(begin: jiff::Timestamp, end: jiff::Timestamp) -> Option<f64> {
    Duration::try_from(end.duration_since(begin))
        .ok()
        .map(|d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::model;

    fn job(sub_jobs: serde_json::Value, total: u64) -> Observation {
        let body = serde_json::json!({
            "id": "j", "status": "RUNNING", "job_type": "CREATE_SERVER_IMAGE",
            "sub_jobs_total": total, "sub_jobs": sub_jobs,
        });
        model::parse_job(body.to_string().into()).unwrap()
    }

    fn now() -> jiff::Timestamp {
        "2024-05-20T10:05:00Z".parse().unwrap()
    }

    #[test]
    fn a_three_step_build_learns_from_its_first_two() {
        let obs = job(
            serde_json::json!([
                {"id": "a", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z", "end_time": "2024-05-20T10:02:00Z"},
                {"id": "b", "status": "SUCCESS", "begin_time": "2024-05-20T10:02:00Z", "end_time": "2024-05-20T10:04:00Z"},
                {"id": "c", "status": "RUNNING", "begin_time": "2024-05-20T10:04:00Z"},
            ]),
            3,
        );
        // c began a minute ago and sub-jobs take two: one minute left.
        assert_eq!(remaining(&obs, now()), Some((60.0, 2)));
    }

    #[test]
    fn sub_jobs_not_yet_listed_queue_after_the_running_ones() {
        let obs = job(
            serde_json::json!([
                {"id": "a", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z", "end_time": "2024-05-20T10:02:00Z"},
                {"id": "b", "status": "RUNNING", "begin_time": "2024-05-20T10:04:30Z"},
            ]),
            4,
        );
        // b: 90 s left; two more unlisted: 120 s each.
        assert_eq!(remaining(&obs, now()), Some((90.0 + 240.0, 1)));
    }

    #[test]
    fn sub_jobs_of_another_type_say_nothing() {
        // A server took two minutes: that does not time the image step.
        let obs = job(
            serde_json::json!([
                {"id": "a", "job_type": "CREATE_SERVER", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z", "end_time": "2024-05-20T10:02:00Z"},
                {"id": "b", "job_type": "CREATE_SERVER_IMAGE", "status": "RUNNING", "begin_time": "2024-05-20T10:02:00Z"},
                {"id": "c", "job_type": "DELETE_SERVER", "status": "WAITING"},
            ]),
            3,
        );
        assert_eq!(remaining(&obs, now()), None);
        // Servers of one app-server job do time each other, listed or not.
        let obs = job(
            serde_json::json!([
                {"id": "a", "job_type": "CREATE_SERVER", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z", "end_time": "2024-05-20T10:02:00Z"},
                {"id": "b", "job_type": "CREATE_SERVER", "status": "RUNNING", "begin_time": "2024-05-20T10:04:00Z"},
            ]),
            3,
        );
        assert_eq!(remaining(&obs, now()), Some((60.0 + 120.0, 1)));
        // Not yet listed, after sub-jobs of several types: unknown.
        let obs = job(
            serde_json::json!([
                {"id": "a", "job_type": "CREATE_SERVER", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z", "end_time": "2024-05-20T10:02:00Z"},
                {"id": "b", "job_type": "OTHER", "status": "SUCCESS", "begin_time": "2024-05-20T10:02:00Z", "end_time": "2024-05-20T10:04:00Z"},
            ]),
            3,
        );
        assert_eq!(remaining(&obs, now()), None);
    }

    #[test]
    fn nothing_finished_is_no_estimate() {
        let obs = job(
            serde_json::json!([
                {"id": "a", "status": "RUNNING", "begin_time": "2024-05-20T10:00:00Z"},
            ]),
            2,
        );
        assert_eq!(remaining(&obs, now()), None);
        // A finished sub-job without an end time says nothing either.
        let obs = job(
            serde_json::json!([
                {"id": "a", "status": "SUCCESS", "begin_time": "2024-05-20T10:00:00Z"},
                {"id": "b", "status": "RUNNING"},
            ]),
            2,
        );
        assert_eq!(remaining(&obs, now()), None);
    }
}
