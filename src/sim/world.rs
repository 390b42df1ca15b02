//! The served world: the scenario indexed for lookups, in the order lists
//! return it, plus the clock.

use std::collections::HashMap;
use std::time::Duration;

use super::clock::Clock;
use super::scenario::{Job, JobKind, Scenario, SubJob};

/// The scenario as the request handlers see it.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) scenario: Scenario,
    pub(crate) clock: Clock,
    by_id: HashMap<(JobKind, String), usize>,
    /// Indexes of image jobs in list order.
    image_jobs: Vec<usize>,
    /// (job index, sub-job index) per kind, in list order.
    sub_jobs: HashMap<JobKind, Vec<(usize, usize)>>,
}

impl World {
    /// Indexes `scenario`. The API documents no ordering, so lists use a
    /// shuffle seeded by `order_seed`: stable across pages and runs, but not
    /// sorted, so clients cannot come to depend on an order.
    pub(crate) fn new(scenario: Scenario, clock: Clock, order_seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(order_seed);
        let by_id = scenario
            .jobs
            .iter()
            .enumerate()
            .map(|(index, job)| ((job.kind, job.id.clone()), index))
            .collect();
        let mut image_jobs: Vec<usize> = scenario
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, job)| job.kind == JobKind::ImageJob)
            .map(|(index, _)| index)
            .collect();
        rng.shuffle(&mut image_jobs);
        let mut sub_jobs: HashMap<JobKind, Vec<(usize, usize)>> = HashMap::new();
        for (job_index, job) in scenario.jobs.iter().enumerate() {
            let entry = sub_jobs.entry(job.kind).or_default();
            entry.extend((0..job.sub_jobs.len()).map(|sub_index| (job_index, sub_index)));
        }
        for list in sub_jobs.values_mut() {
            rng.shuffle(list);
        }
        Self {
            scenario,
            clock,
            by_id,
            image_jobs,
            sub_jobs,
        }
    }

    /// The current offset from the start.
    pub(crate) fn now(&self) -> Duration {
        self.clock.offset()
    }

    /// Whether `project_id` is the scenario's project.
    pub(crate) fn knows_project(&self, project_id: &str) -> bool {
        self.scenario.project_id == project_id
    }

    /// A job of `kind` that exists at offset `t`.
    pub(crate) fn visible_job(&self, kind: JobKind, id: &str, t: Duration) -> Option<&Job> {
        let index = *self.by_id.get(&(kind, id.to_owned()))?;
        self.scenario
            .jobs
            .get(index)
            .filter(|job| job.is_visible(t))
    }

    /// Image jobs that exist at `t`, in list order.
    pub(crate) fn visible_image_jobs(&self, t: Duration) -> impl Iterator<Item = &Job> {
        self.image_jobs
            .iter()
            .filter_map(|index| self.scenario.jobs.get(*index))
            .filter(move |job| job.is_visible(t))
    }

    /// Sub-jobs of `kind` that exist at `t`, with their jobs, in list order.
    pub(crate) fn visible_sub_jobs(
        &self,
        kind: JobKind,
        t: Duration,
    ) -> impl Iterator<Item = (&Job, &SubJob)> {
        self.sub_jobs
            .get(&kind)
            .into_iter()
            .flatten()
            .filter_map(|(job_index, sub_index)| {
                let job = self.scenario.jobs.get(*job_index)?;
                Some((job, job.sub_jobs.get(*sub_index)?))
            })
            .filter(move |(job, sub)| job.is_visible(t) && t >= sub.visible_after)
    }
}
