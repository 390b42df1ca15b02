//! A scenario: the jobs the simulator serves and how they evolve over time,
//! plus the faults it injects. Parsed once from YAML (see [`super::parse`]) into
//! these typed values.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::error::ScenarioError;
use super::faults::Faults;
use super::past::PastJob;
use super::timeline::{self, Progress, Timeline};
use crate::api::Status;

/// The demo story served by `jobgate demo` and by `jobgate simulate` without
/// `--scenario`.
const DEMO_YAML: &str = include_str!("../../examples/demo.scenario.yaml");

/// Jobs on both services, their timelines relative to the simulator's start,
/// and the faults to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The only project the simulator knows; other project ids get 404.
    pub project_id: String,
    /// Seeds the generated fleets (already expanded into [`Scenario::jobs`])
    /// and, unless overridden, the order in which lists return items.
    pub(crate) seed: u64,
    /// Every job, fleets included.
    pub(crate) jobs: Vec<Job>,
    /// Faults to inject unless the simulator's configuration overrides them.
    pub(crate) faults: Faults,
    /// Image jobs that ended before the start: `ListImageJobs` history.
    pub(crate) past_image_jobs: Vec<PastJob>,
    /// App-server sub-jobs that ended before the start: `ListSubJobs`
    /// history.
    pub(crate) past_app_server_sub_jobs: Vec<PastJob>,
    /// The simulated IAM for keyless authentication, when `iam:` is given.
    pub(crate) iam: Option<super::iam::IamConfig>,
}

/// Which API serves a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// An image-server job: `/v1/{project_id}/image-server-jobs/{job_id}`.
    ImageJob,
    /// An app-server job: `/v2/{project_id}/job/{job_id}`.
    AppServerJob,
    /// A cloud-desktop job: `/v2/{project_id}/workspace-jobs/{job_id}`.
    DesktopJob,
}

impl JobKind {
    /// The spelling used in scenario files.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::ImageJob => "image_job",
            Self::AppServerJob => "app_server_job",
            Self::DesktopJob => "desktop_job",
        }
    }

    /// The job type used when a scenario does not name one.
    pub(crate) fn default_job_type(self) -> &'static str {
        match self {
            Self::ImageJob => "CREATE_SERVER_IMAGE",
            Self::AppServerJob => "CREATE_SERVER",
            Self::DesktopJob => "createDesktops",
        }
    }

    /// The sub-job type used when a scenario does not name one.
    pub(crate) fn default_sub_job_type(self) -> &'static str {
        match self {
            Self::ImageJob | Self::AppServerJob => "CREATE_SERVER",
            Self::DesktopJob => "createDesktops",
        }
    }
}

/// A job and its sub-jobs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub(crate) id: String,
    pub(crate) kind: JobKind,
    pub(crate) job_type: String,
    /// Before this offset the job does not exist yet (404), as right after
    /// the request that creates it.
    pub(crate) visible_after: Duration,
    /// The job's own statuses; `None` derives them from the sub-jobs.
    pub(crate) timeline: Option<Timeline>,
    pub(crate) sub_jobs: Vec<SubJob>,
    /// Reported (workspace `job_error_code`/`fail_reason`) once the job fails.
    pub(crate) error: Option<ErrorInfo>,
    /// Desktop jobs only: the pool the `desktop_pool_id` filter matches.
    pub(crate) desktop_pool_id: Option<String>,
}

/// One sub-job (a server, an image, a desktop).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SubJob {
    pub(crate) id: String,
    pub(crate) job_type: String,
    /// Hidden from every response before this offset (and before its job).
    pub(crate) visible_after: Duration,
    pub(crate) resource: Resource,
    pub(crate) timeline: Timeline,
    /// Desktop sub-jobs' `process`; without it, 100 once successful, else 0.
    pub(crate) progress: Option<Progress>,
    /// Reported once the sub-job fails; a generic error otherwise.
    pub(crate) error: Option<ErrorInfo>,
}

/// What a sub-job works on. Image and app-server sub-jobs report `id` and
/// `name` as `job_resource_info`; desktop sub-jobs report all of it as
/// `entities` (`desktop_id`, `desktop_name`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Resource {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) user_name: Option<String>,
    pub(crate) product_id: Option<String>,
    pub(crate) ip_address: Option<String>,
}

/// An error code and message as the API reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorInfo {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl ErrorInfo {
    /// What a failed (sub-)job reports when the scenario gives no error.
    pub(crate) fn generic() -> Self {
        Self {
            code: "WKS.00129901".into(),
            message: "The service is now unavailable to process the request.".into(),
        }
    }
}

impl Scenario {
    /// Parses a scenario; `origin` names the source (a file name) in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        super::parse::parse(text, origin)
    }

    /// Reads and parses a scenario file.
    pub(crate) fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::from_yaml(&text, &origin)
    }

    /// The built-in demo: an image build, an app-server job and a desktop
    /// job that all succeed within about six seconds.
    pub fn demo() -> Scenario {
        // The file is embedded and covered by a unit test, so it always parses.
        Self::from_yaml(DEMO_YAML, "examples/demo.scenario.yaml")
            .expect("the embedded demo scenario is valid")
    }
}

impl Job {
    /// Whether the job exists at offset `t`.
    pub(crate) fn is_visible(&self, t: Duration) -> bool {
        t >= self.visible_after
    }

    /// The job's status at offset `t`: its own timeline, or else derived from
    /// its sub-jobs (WAITING while all wait, RUNNING until all are final,
    /// then FAILED if any failed, else SUCCESS).
    pub(crate) fn status_at(&self, t: Duration) -> Status {
        if let Some(timeline) = &self.timeline {
            return timeline.status_at(t);
        }
        let statuses: Vec<Status> = self.sub_jobs.iter().map(|sub| sub.status_at(t)).collect();
        if statuses.iter().all(|status| *status == Status::Waiting) {
            Status::Waiting
        } else if !statuses.iter().all(timeline::is_terminal) {
            Status::Running
        } else if statuses.iter().any(timeline::is_failure) {
            Status::Failed
        } else {
            Status::Success
        }
    }

    /// When and how the job ends, if it ever does: the ground truth against
    /// which detection latency is measured.
    pub(crate) fn terminal(&self) -> Option<(Status, Duration)> {
        if let Some(timeline) = &self.timeline {
            return timeline
                .terminal()
                .map(|step| (step.status.clone(), step.at.max(self.visible_after)));
        }
        let mut last = Duration::ZERO;
        for sub in &self.sub_jobs {
            last = last.max(sub.timeline.terminal()?.at);
        }
        // A job without sub-jobs and timeline is rejected when parsed.
        let at = last.max(self.visible_after);
        Some((self.status_at(at), at))
    }

    /// The sub-jobs that exist at offset `t`.
    pub(crate) fn visible_sub_jobs(&self, t: Duration) -> impl Iterator<Item = &SubJob> {
        let job_visible = self.is_visible(t);
        self.sub_jobs
            .iter()
            .filter(move |sub| job_visible && t >= sub.visible_after)
    }
}

impl SubJob {
    /// The sub-job's status at offset `t`.
    pub(crate) fn status_at(&self, t: Duration) -> Status {
        self.timeline.status_at(t)
    }

    /// The error to report at offset `t`: `None` unless the sub-job has failed.
    pub(crate) fn error_at(&self, t: Duration) -> Option<ErrorInfo> {
        timeline::is_failure(&self.status_at(t))
            .then(|| self.error.clone().unwrap_or_else(ErrorInfo::generic))
    }

    /// The progress (`process`) at offset `t`, 0..=100.
    pub(crate) fn progress_at(&self, t: Duration) -> u8 {
        match &self.progress {
            Some(progress) => progress.value_at(t),
            None if self.status_at(t) == Status::Success => 100,
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_parses_and_finishes_successfully_in_about_six_seconds() {
        let demo = Scenario::demo();
        let kinds: Vec<JobKind> = demo.jobs.iter().map(|job| job.kind).collect();
        assert!(kinds.contains(&JobKind::ImageJob));
        assert!(kinds.contains(&JobKind::AppServerJob));
        assert!(kinds.contains(&JobKind::DesktopJob));
        let image = demo
            .jobs
            .iter()
            .find(|job| job.kind == JobKind::ImageJob)
            .unwrap();
        assert_eq!(image.sub_jobs.len(), 3);
        for job in &demo.jobs {
            let (status, at) = job.terminal().expect("every demo job ends");
            assert_eq!(status, Status::Success, "job {}", job.id);
            assert!(
                at <= Duration::from_secs(7),
                "job {} ends at {at:?}",
                job.id
            );
        }
    }

    #[test]
    fn derived_status_follows_sub_jobs() {
        let yaml = r#"
project_id: p1
jobs:
  - id: j1
    kind: app_server_job
    sub_jobs:
      - id: a
        timeline: [{at: 1s, status: RUNNING}, {at: 2s, status: SUCCESS}]
      - id: b
        timeline: [{at: 1s, status: RUNNING}, {at: 4s, status: FAILED}]
"#;
        let scenario = Scenario::from_yaml(yaml, "t.yaml").unwrap();
        let job = &scenario.jobs[0];
        let at = Duration::from_secs;
        assert_eq!(job.status_at(at(0)), Status::Waiting);
        assert_eq!(job.status_at(at(1)), Status::Running);
        assert_eq!(job.status_at(at(3)), Status::Running);
        assert_eq!(job.status_at(at(4)), Status::Failed);
        assert_eq!(job.terminal(), Some((Status::Failed, at(4))));
        assert!(job.sub_jobs[1].error_at(at(4)).is_some());
        assert!(job.sub_jobs[0].error_at(at(4)).is_none());
    }
}
