//! Fleets: many generated sub-jobs under one job, with seeded random
//! durations and failures, for benchmarks and load tests.

use std::time::Duration;

use super::scenario::{ErrorInfo, Job, JobKind, Resource, SubJob};
use super::timeline::{Point, Progress, Step, Timeline};
use crate::api::Status;

/// A validated fleet description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fleet {
    /// The job the sub-jobs belong to; created when no job has this id.
    pub(crate) job_id: String,
    pub(crate) kind: JobKind,
    /// The job's type when the fleet creates the job.
    pub(crate) job_type: String,
    pub(crate) sub_job_type: String,
    pub(crate) count: u64,
    /// Each sub-job runs for a uniformly drawn duration in `min..=max`.
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    /// Probability that a sub-job ends FAILED instead of SUCCESS.
    pub(crate) failure_rate: f64,
    /// When the sub-jobs start RUNNING (WAITING before).
    pub(crate) start: Duration,
    /// When the job (if created by the fleet) becomes visible.
    pub(crate) visible_after: Duration,
    pub(crate) seed: u64,
}

impl Fleet {
    /// A new job holding the fleet's sub-jobs, its status derived from them.
    pub(crate) fn job(&self) -> Job {
        Job {
            id: self.job_id.clone(),
            kind: self.kind,
            job_type: self.job_type.clone(),
            visible_after: self.visible_after,
            timeline: None,
            sub_jobs: self.sub_jobs(),
            error: None,
            desktop_pool_id: None,
        }
    }

    /// The generated sub-jobs; the same seed always gives the same ones.
    pub(crate) fn sub_jobs(&self) -> Vec<SubJob> {
        let mut rng = fastrand::Rng::with_seed(self.seed);
        // A per-fleet prefix keeps ids apart across fleets; the index keeps
        // them apart within one.
        let prefix = rng.u32(..);
        let spread = self.max.saturating_sub(self.min);
        (0..self.count)
            .map(|index| {
                let duration = self.min + spread.mul_f64(rng.f64());
                let failed = rng.f64() < self.failure_rate;
                let id = format!(
                    "{prefix:08x}-{:04x}-4{:03x}-8{:03x}-{index:012x}",
                    rng.u16(..),
                    rng.u16(..0x1000),
                    rng.u16(..0x1000),
                );
                self.sub_job(id, index, duration, failed)
            })
            .collect()
    }

    fn sub_job(&self, id: String, index: u64, duration: Duration, failed: bool) -> SubJob {
        let end = self.start.saturating_add(duration);
        let final_status = if failed {
            Status::Failed
        } else {
            Status::Success
        };
        let mut steps = Vec::with_capacity(3);
        if self.start > Duration::ZERO {
            steps.push(Step {
                at: Duration::ZERO,
                status: Status::Waiting,
            });
        }
        if end > self.start {
            steps.push(Step {
                at: self.start,
                status: Status::Running,
            });
        }
        steps.push(Step {
            at: end,
            status: final_status,
        });
        let timeline = Timeline::new(steps).expect("steps are strictly increasing by construction");
        let number = index + 1;
        let desktop = self.kind == JobKind::DesktopJob;
        let resource = Resource {
            id: format!("res-{id}"),
            name: if desktop {
                format!("desktop-{number:05}")
            } else {
                format!("server-{number:05}")
            },
            user_name: desktop.then(|| format!("user-{number:05}")),
            product_id: desktop.then(|| "workspace.x86.ultimate.large2".to_owned()),
            ip_address: desktop.then(|| {
                format!(
                    "10.{}.{}.{}",
                    number >> 16 & 255,
                    number >> 8 & 255,
                    number & 255
                )
            }),
        };
        let progress = desktop.then(|| {
            let reached = if failed { 60 } else { 100 };
            let points = if end > self.start {
                vec![
                    Point {
                        at: self.start,
                        value: 0,
                    },
                    Point {
                        at: end,
                        value: reached,
                    },
                ]
            } else {
                vec![Point {
                    at: end,
                    value: reached,
                }]
            };
            Progress::new(points).expect("points are increasing and at most 100 by construction")
        });
        SubJob {
            id,
            job_type: self.sub_job_type.clone(),
            visible_after: Duration::ZERO,
            resource,
            timeline,
            progress,
            error: failed.then(ErrorInfo::generic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(seed: u64, failure_rate: f64) -> Fleet {
        Fleet {
            job_id: "fleet".into(),
            kind: JobKind::DesktopJob,
            job_type: "createDesktops".into(),
            sub_job_type: "createDesktops".into(),
            count: 1000,
            min: Duration::from_secs(2),
            max: Duration::from_secs(20),
            failure_rate,
            start: Duration::from_secs(1),
            visible_after: Duration::ZERO,
            seed,
        }
    }

    #[test]
    fn generation_is_seeded() {
        assert_eq!(fleet(1, 0.1).sub_jobs(), fleet(1, 0.1).sub_jobs());
        assert_ne!(fleet(1, 0.1).sub_jobs(), fleet(2, 0.1).sub_jobs());
    }

    #[test]
    fn durations_and_failures_follow_the_spec() {
        let subs = fleet(5, 0.25).sub_jobs();
        let mut ids = std::collections::HashSet::new();
        let mut failed = 0;
        for sub in &subs {
            assert!(ids.insert(sub.id.clone()));
            let end = sub.timeline.terminal().unwrap();
            assert!(end.at >= Duration::from_secs(3) && end.at <= Duration::from_secs(21));
            assert_eq!(sub.status_at(Duration::ZERO), Status::Waiting);
            if end.status == Status::Failed {
                failed += 1;
                assert!(sub.error.is_some());
            } else {
                assert_eq!(sub.progress_at(end.at), 100);
            }
        }
        assert!((150..350).contains(&failed), "{failed}");
        assert!(
            fleet(5, 0.0)
                .job()
                .terminal()
                .is_some_and(|(s, _)| s == Status::Success)
        );
    }
}
