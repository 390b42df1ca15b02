//! Past jobs: image jobs and app-server sub-jobs that ended before the
//! simulator started, so `ListImageJobs` and `ListSubJobs` have a history to
//! answer with, as a project that has built images and servers before does.
//! jobgate reads it to estimate how long a job takes.

use std::time::Duration;

use crate::api::Status;

/// A validated `past_image_jobs` or `past_app_server_sub_jobs` entry:
/// (sub-)jobs of one type and how long each took.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PastJobs {
    pub(crate) job_type: String,
    pub(crate) took: Took,
    /// SUCCESS or FAILED.
    pub(crate) status: Status,
    pub(crate) seed: u64,
}

/// How long the past jobs took.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Took {
    /// `count` jobs, each a seeded uniform draw in `min..=max`.
    Uniform {
        count: u64,
        min: Duration,
        max: Duration,
    },
    /// One job per duration, newest first: any distribution a benchmark
    /// wants (real durations are skewed, not uniform).
    Listed(Vec<Duration>),
}

/// One image job or app-server sub-job that ended before the simulator's
/// start.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PastJob {
    pub(crate) id: String,
    pub(crate) job_type: String,
    pub(crate) status: Status,
    /// How long before the start it ended.
    pub(crate) ended_ago: Duration,
    /// How long it ran.
    pub(crate) took: Duration,
}

impl PastJob {
    /// How long before the start it began.
    pub(crate) fn began_ago(&self) -> Duration {
        self.ended_ago.saturating_add(self.took)
    }
}

impl PastJobs {
    /// The generated jobs, one after the other going back in time, a minute
    /// apart; the same seed always gives the same ones.
    pub(crate) fn jobs(&self) -> Vec<PastJob> {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        let durations: Vec<Duration> = match &self.took {
            Took::Uniform { count, min, max } => {
                let spread = max.saturating_sub(*min);
                (0..*count)
                    .map(|_| *min + spread.mul_f64(rng.f64()))
                    .collect()
            }
            Took::Listed(durations) => durations.clone(),
        };
        let mut ended_ago = Duration::from_secs(60);
        durations
            .into_iter()
            .map(|took| {
                let job = PastJob {
                    // Image job ids are 18-digit numbers; app-server ids
                    // are UUIDs, but any URL-safe id serves.
                    id: format!("6{:017}", rng.u64(..100_000_000_000_000_000)),
                    job_type: self.job_type.clone(),
                    status: self.status.clone(),
                    ended_ago,
                    took,
                };
                // Absurd durations saturate; their times render as null.
                ended_ago = ended_ago
                    .saturating_add(took)
                    .saturating_add(Duration::from_secs(60));
                job
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_seeded_within_bounds_and_do_not_overlap() {
        let (min, max) = (Duration::from_secs(20), Duration::from_secs(40));
        let past = PastJobs {
            job_type: "CREATE_SERVER_IMAGE".into(),
            took: Took::Uniform {
                count: 20,
                min,
                max,
            },
            status: Status::Success,
            seed: 7,
        };
        let jobs = past.jobs();
        assert_eq!(jobs, past.jobs());
        assert_eq!(jobs.len(), 20);
        assert!(jobs.iter().all(|j| (min..=max).contains(&j.took)));
        assert!(jobs.windows(2).all(|w| w[1].ended_ago > w[0].began_ago()));
    }

    #[test]
    fn listed_durations_are_taken_as_given_in_order() {
        let durations = vec![
            Duration::from_millis(1500),
            Duration::from_secs(90),
            Duration::from_secs(5),
        ];
        let past = PastJobs {
            job_type: "CREATE_SERVER_IMAGE".into(),
            took: Took::Listed(durations.clone()),
            status: Status::Failed,
            seed: 1,
        };
        let jobs = past.jobs();
        let took: Vec<Duration> = jobs.iter().map(|j| j.took).collect();
        assert_eq!(took, durations);
        assert!(jobs.iter().all(|j| j.status == Status::Failed));
        assert!(jobs.windows(2).all(|w| w[1].ended_ago > w[0].began_ago()));
    }
}
