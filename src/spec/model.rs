//! The validated spec. Values of these types exist only after validation, so
//! the engine never meets an empty target, a negative timeout or a cycle.

use std::time::Duration;

use serde_json_path::JsonPath;

use super::interpolate::Piece;
use crate::api::Service;
use crate::condition::{Rules, UnknownStatusPolicy};

/// A whole spec, ready to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Where the spec came from, as given (for reports).
    pub origin: String,
    /// Region and endpoint overrides.
    pub endpoints: Endpoints,
    /// One deadline over all waits, if set.
    pub deadline: Option<Duration>,
    /// Whether the first failure cancels the other waits.
    pub fail_fast: bool,
    /// Requests per second across all waits, when the spec sets it
    /// (`--max-rps` wins over it).
    pub max_rps: Option<f64>,
    /// The waits, in the order they appear in the file.
    pub waits: Vec<Wait>,
    /// Where the local history of job durations lives, when the spec moves
    /// it (`--history-file` and `JOBGATE_HISTORY_FILE` win over it).
    pub history_file: Option<std::path::PathBuf>,
}

/// Where the services live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The region, which selects the default hosts.
    pub region: String,
    /// Per-service overrides from the spec.
    pub overrides: Vec<(Service, String)>,
}

/// A string that may refer to outputs of earlier waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Piece>);

impl Template {
    /// A template without references.
    pub fn literal(text: impl Into<String>) -> Self {
        Template(vec![Piece::Text(text.into())])
    }

    /// The waits and keys this template reads.
    pub fn references(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|p| match p {
            Piece::Output { wait, key } => Some((wait.as_str(), key.as_str())),
            Piece::Text(_) => None,
        })
    }

    /// Fills in outputs; `lookup` answers `(wait, key)`.
    pub fn render(&self, lookup: &dyn Fn(&str, &str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Output { wait, key } => match lookup(wait, key) {
                    Some(v) => out.push_str(&v),
                    None => {
                        return Err(format!(
                            "output `{key}` of wait `{wait}` was not captured (its JSONPath selected nothing)"
                        ));
                    }
                },
            }
        }
        Ok(out)
    }

    /// The template as written, with references shown as `${outputs.W.K}`.
    pub fn display(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Output { wait, key } => format!("${{outputs.{wait}.{key}}}"),
            })
            .collect()
    }
}

/// Filters of the list and count endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub job_id: Option<Template>,
    /// Comma-separated on the wire.
    pub job_type: Vec<String>,
    pub status: Option<String>,
    pub desktop_pool_id: Option<Template>,
}

/// What a wait polls: one of the job endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `GET /v1/{project_id}/image-server-jobs/{job_id}`
    ImageJob { job_id: Template },
    /// `GET /v2/{project_id}/job/{job_id}`
    AppServerJob { job_id: Template },
    /// `GET /v2/{project_id}/workspace-jobs/{job_id}`
    DesktopJob { job_id: Template },
    /// `GET /v1/{project_id}/image-server-sub-jobs`
    ImageSubJobs(ListFilter),
    /// `GET /v1/{project_id}/app-server-sub-jobs`
    AppServerSubJobs(ListFilter),
    /// `GET /v2/{project_id}/workspace-sub-jobs`
    DesktopSubJobs(ListFilter),
    /// `GET /v1/{project_id}/image-server-sub-jobs/actions/count`
    ImageSubJobCount(ListFilter),
    /// `GET /v1/{project_id}/app-server-sub-jobs/actions/count`
    AppServerSubJobCount(ListFilter),
    /// Any other `GET` under either service.
    Get {
        service: Service,
        path: Template,
        query: Vec<(String, Template)>,
    },
}

/// The broad shape of a target's response, which decides what conditions
/// can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A job with a status and sub-jobs.
    Job,
    /// A paged list of sub-jobs.
    List,
    /// A count.
    Count,
    /// Arbitrary JSON.
    Json,
}

impl Target {
    /// The spec keys that select a kind, in the order hints list them; each
    /// is what [`Target::kind`] answers for one variant.
    pub const KINDS: [&'static str; 9] = [
        "image_job",
        "app_server_job",
        "desktop_job",
        "image_sub_jobs",
        "app_server_sub_jobs",
        "desktop_sub_jobs",
        "image_sub_job_count",
        "app_server_sub_job_count",
        "get",
    ];

    /// The spec key that selects this kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::ImageJob { .. } => "image_job",
            Target::AppServerJob { .. } => "app_server_job",
            Target::DesktopJob { .. } => "desktop_job",
            Target::ImageSubJobs(_) => "image_sub_jobs",
            Target::AppServerSubJobs(_) => "app_server_sub_jobs",
            Target::DesktopSubJobs(_) => "desktop_sub_jobs",
            Target::ImageSubJobCount(_) => "image_sub_job_count",
            Target::AppServerSubJobCount(_) => "app_server_sub_job_count",
            Target::Get { .. } => "get",
        }
    }

    /// What the response looks like.
    pub fn shape(&self) -> Shape {
        match self {
            Target::ImageJob { .. } | Target::AppServerJob { .. } | Target::DesktopJob { .. } => {
                Shape::Job
            }
            Target::ImageSubJobs(_) | Target::AppServerSubJobs(_) | Target::DesktopSubJobs(_) => {
                Shape::List
            }
            Target::ImageSubJobCount(_) | Target::AppServerSubJobCount(_) => Shape::Count,
            Target::Get { .. } => Shape::Json,
        }
    }

    /// Every template in the target, for reference checks.
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            Target::ImageJob { job_id }
            | Target::AppServerJob { job_id }
            | Target::DesktopJob { job_id } => vec![job_id],
            Target::ImageSubJobs(f)
            | Target::AppServerSubJobs(f)
            | Target::DesktopSubJobs(f)
            | Target::ImageSubJobCount(f)
            | Target::AppServerSubJobCount(f) => {
                f.job_id.iter().chain(f.desktop_pool_id.iter()).collect()
            }
            Target::Get { path, query, .. } => std::iter::once(path)
                .chain(query.iter().map(|(_, v)| v))
                .collect(),
        }
    }
}

/// How often to poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PollSchedule {
    /// The first delay.
    pub initial: Duration,
    /// The cap on any delay.
    pub max: Duration,
    /// Growth per poll (at least 1).
    pub factor: f64,
    /// Whether delays are randomised.
    pub jitter: Jitter,
    /// Whether polls are placed from a model of the job's duration (on)
    /// or on the plain progression from `initial` by `factor` (off).
    pub adaptive: bool,
    /// Requests against detection latency, for adaptive polling.
    pub effort: Effort,
    /// How many times faster than real time jobgate's built-in time
    /// constants run (`JOBGATE_TIME_SCALE`, for benchmarks; 1 otherwise):
    /// the default priors are divided by it. Not a spec key.
    pub time_scale: f64,
}

/// How hard adaptive polling chases a job's end: `eager` never polls later
/// than `balanced`, which never polls later than `gentle`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Effort {
    /// Fewer requests, later detection.
    Gentle,
    /// The default.
    #[default]
    Balanced,
    /// More requests, sooner detection.
    Eager,
}

impl Effort {
    /// Every value, as the spec writes it.
    pub const NAMES: [&'static str; 3] = ["gentle", "balanced", "eager"];

    /// The value the spec writes, if it is one.
    pub fn parse(text: &str) -> Option<Effort> {
        match text {
            "gentle" => Some(Effort::Gentle),
            "balanced" => Some(Effort::Balanced),
            "eager" => Some(Effort::Eager),
            _ => None,
        }
    }

    /// The spec's word for it.
    pub fn name(self) -> &'static str {
        match self {
            Effort::Gentle => "gentle",
            Effort::Balanced => "balanced",
            Effort::Eager => "eager",
        }
    }
}

/// Randomisation of poll delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Each delay is uniform in `[0, computed]` ("full jitter"), floored at
    /// the initial delay so the API is never hammered.
    Full,
    /// Exact delays.
    None,
}

/// Every value a spec may leave out, in one place. The validator fills each
/// gap from here; README's "Defaults without a spec value" repeats them (a
/// test keeps the two in step).
#[derive(Debug, Clone, PartialEq)]
pub struct Defaults {
    /// How long a wait may take.
    pub timeout: Duration,
    /// How often it polls.
    pub poll: PollSchedule,
    /// How long its job may stay invisible before it ends as not found.
    pub not_found_grace: Duration,
    /// Transient errors tolerated in a row.
    pub error_budget: u32,
    /// What a status the wait does not declare does.
    pub unknown_status: UnknownStatusPolicy,
    /// Consecutive polls on which success must hold.
    pub stable_for: u32,
}

impl Defaults {
    /// jobgate's own defaults, which `defaults:` in a spec overrides and a
    /// wait's own keys override in turn.
    pub const BUILT_IN: Defaults = Defaults {
        timeout: Duration::from_secs(30 * 60),
        poll: PollSchedule {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(60),
            factor: 2.0,
            jitter: Jitter::Full,
            adaptive: true,
            effort: Effort::Balanced,
            time_scale: 1.0,
        },
        not_found_grace: Duration::from_secs(30),
        error_budget: 6,
        unknown_status: UnknownStatusPolicy::Fail,
        stable_for: 1,
    };

    /// The statuses that mean "keep waiting" for a wait without `pending:`.
    pub const PENDING: [&'static str; 2] = ["WAITING", "RUNNING"];

    /// Whether an empty list of sub-jobs may pass, without `allow_empty:`.
    pub const ALLOW_EMPTY: bool = false;

    /// Whether the first failure cancels the other waits, without `fail_fast:`.
    pub const FAIL_FAST: bool = true;
}

impl Defaults {
    /// The built-in defaults with their time constants (the poll bounds)
    /// divided by `scale` (see `JOBGATE_TIME_SCALE`).
    pub fn built_in(scale: f64) -> Defaults {
        let mut d = Defaults::BUILT_IN;
        if scale.is_finite() && scale > 1.0 {
            d.poll.initial = d.poll.initial.div_f64(scale);
            d.poll.max = d.poll.max.div_f64(scale);
            d.poll.time_scale = scale;
        }
        d
    }
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults::BUILT_IN
    }
}

/// A value captured from a wait's last response.
#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub source: String,
    pub path: JsonPath,
}

/// One validated wait.
#[derive(Debug, Clone)]
pub struct Wait {
    pub name: String,
    /// Where the wait's name is in the spec file, for annotations.
    pub span: super::yaml::Span,
    pub project_id: String,
    pub target: Target,
    pub rules: Rules,
    pub timeout: Duration,
    pub poll: PollSchedule,
    /// Consecutive polls on which success must hold.
    pub stable_for: u32,
    /// How long a job may stay invisible (404, empty list) before the wait
    /// ends as not found.
    pub not_found_grace: Duration,
    /// Transient errors tolerated in a row before the wait gives up.
    pub error_budget: u32,
    /// Waits that must succeed first.
    pub after: Vec<String>,
    pub outputs: Vec<Output>,
}

#[cfg(test)]
mod tests {
    use super::{Defaults, Jitter, Target};
    use crate::condition::UnknownStatusPolicy;
    use crate::spec::duration::format;

    #[test]
    fn every_kind_key_builds_the_target_that_answers_it() {
        let env = |_: &str| Some("p1".to_owned());
        for kind in Target::KINDS {
            let (params, success) = match kind {
                "image_job" | "app_server_job" | "desktop_job" => ("x", "target: [SUCCESS]"),
                "get" => (
                    "{ service: workspace, path: /x }",
                    "success: { path: $.a, exists: true }",
                ),
                "image_sub_jobs" => ("{ job_type: CREATE_SERVER_IMAGE }", "target: [SUCCESS]"),
                k if k.ends_with("_count") => {
                    ("{ job_id: x }", "success: { count: '*', is: \"> 0\" }")
                }
                _ => ("{ job_id: x }", "target: [SUCCESS]"),
            };
            let source = format!("version: 1\nwaits:\n  a:\n    {kind}: {params}\n    {success}\n");
            let spec =
                crate::spec::parse("s", &source, &env).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(spec.waits[0].target.kind(), kind);
        }
    }

    #[test]
    fn the_readme_lists_the_built_in_defaults() {
        let d = Defaults::BUILT_IN;
        let jitter = match d.poll.jitter {
            Jitter::Full => "full jitter",
            Jitter::None => "no jitter",
        };
        let adaptive = if d.poll.adaptive {
            format!("adaptive, effort {}", d.poll.effort.name())
        } else {
            "fixed".to_owned()
        };
        let unknown = match d.unknown_status {
            UnknownStatusPolicy::Fail => "unknown statuses fail",
            UnknownStatusPolicy::Wait => "unknown statuses wait",
        };
        let fail_fast = if Defaults::FAIL_FAST {
            "fail fast"
        } else {
            "no fail fast"
        };
        let expected = format!(
            "Defaults without a spec value: timeout {}; poll {} → {}, factor {}, {jitter}, {adaptive}; not-found grace {}; error budget {}; `pending: [{}]`; {unknown}; {fail_fast}.",
            format(d.timeout),
            format(d.poll.initial),
            format(d.poll.max),
            d.poll.factor,
            format(d.not_found_grace),
            d.error_budget,
            Defaults::PENDING.join(", "),
        );
        let readme = include_str!("../../README.md");
        let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(readme.contains(&expected), "README should say: {expected}");
    }
}
