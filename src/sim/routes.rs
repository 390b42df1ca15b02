//! The API's read endpoints: filters, paging and bodies per operation, plus
//! the simulator's own `/_sim/` endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::{Value, json};

use super::bodies::Render;
use super::endpoint::Endpoint;
use super::error::ApiError;
use super::past::PastJob;
use super::query::{DEFAULT_IMAGE_COUNT_TYPES, Page, Query, TypeFilter};
use super::scenario::{Job, JobKind, SubJob};
use super::server::Shared;
use crate::api::{Operation, Status};

type SharedState = State<Arc<Shared>>;

/// The router for every API endpoint and `/_sim/{stats,health}`.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Endpoint::SERVED
        .into_iter()
        .fold(Router::new(), |router, endpoint| {
            router.route(endpoint.route(), handler(endpoint))
        })
        .route("/_sim/stats", get(stats))
        .route("/_sim/health", get(health))
        .fallback(no_such_api)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// What answers each operation of the API's table.
fn handler(endpoint: Endpoint) -> MethodRouter<Arc<Shared>> {
    let Some(operation) = endpoint.operation() else {
        return get(no_such_api);
    };
    match operation {
        Operation::ShowImageJob => show(endpoint, JobKind::ImageJob, |render, job| {
            render.image_job(job)
        }),
        Operation::ListImageJobs => list(endpoint, list_image_jobs),
        Operation::ListImageSubJobs => list(endpoint, list_image_sub_jobs),
        Operation::CountImageSubJobs => list(endpoint, count_image_sub_jobs),
        Operation::ListSubJobs => list(endpoint, list_app_sub_jobs),
        Operation::CountSubJobs => list(endpoint, count_app_sub_jobs),
        Operation::ShowJobDetail => show(endpoint, JobKind::AppServerJob, |render, job| {
            render.app_job(job)
        }),
        Operation::ShowJob => show(endpoint, JobKind::DesktopJob, |render, job| {
            render.desktop_job(job)
        }),
        Operation::ListItaSubJobs => list(endpoint, list_desktop_sub_jobs),
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}

fn respond(endpoint: Endpoint, result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(body) => json_response(200, &body),
        Err(error) => json_response(error.status, &error.body(endpoint.is_workspace())),
    }
}

/// Everything a handler needs for one request: the world at one instant.
struct Ctx<'a> {
    shared: &'a Shared,
    /// The operation asked for.
    endpoint: Endpoint,
    render: Render<'a>,
    query: Query,
}

impl<'a> Ctx<'a> {
    fn new(
        shared: &'a Shared,
        endpoint: Endpoint,
        project_id: &str,
        raw_query: Option<&str>,
    ) -> Result<Self, ApiError> {
        let world = &shared.world;
        if !world.knows_project(project_id) {
            return Err(ApiError::not_found(format!(
                "The project {project_id} does not exist."
            )));
        }
        Ok(Self {
            shared,
            endpoint,
            render: Render {
                clock: &world.clock,
                project_id: &world.scenario.project_id,
                t: world.now(),
            },
            query: Query::parse(raw_query),
        })
    }

    fn t(&self) -> std::time::Duration {
        self.render.t
    }

    fn job(&self, kind: JobKind, id: &str) -> Result<&'a Job, ApiError> {
        self.shared
            .world
            .visible_job(kind, id, self.t())
            .ok_or_else(|| ApiError::not_found(format!("The job {id} does not exist.")))
    }

    /// Sub-jobs of `kind` passing the status, job_id and job_type filters.
    fn sub_jobs(
        &self,
        kind: JobKind,
        statuses: &[&str],
        types: &TypeFilter,
    ) -> Result<Vec<(&'a Job, &'a SubJob)>, ApiError> {
        let job_id = self.query.single("job_id")?;
        let t = self.t();
        Ok(self
            .shared
            .world
            .visible_sub_jobs(kind, t)
            .filter(|(job, sub)| {
                job_id.is_none_or(|id| job.id == id)
                    && types.admits(&sub.job_type)
                    && status_matches(statuses, &sub.status_at(t))
            })
            .collect())
    }

    /// App-server sub-jobs that ended before the start, passing the same
    /// filters as [`Ctx::sub_jobs`]; each is its own job.
    fn past_app_sub_jobs<'s>(
        &'s self,
        statuses: &'s [&str],
        types: &'s TypeFilter,
    ) -> Result<impl Iterator<Item = &'a PastJob> + 's, ApiError> {
        let job_id = self.query.single("job_id")?;
        let past = &self.shared.world.scenario.past_app_server_sub_jobs;
        Ok(self.past(past, job_id, statuses, types))
    }

    /// The jobs of `past` passing the filters (`job_id` when given).
    fn past<'s>(
        &self,
        past: &'a [PastJob],
        job_id: Option<&'s str>,
        statuses: &'s [&str],
        types: &'s TypeFilter,
    ) -> impl Iterator<Item = &'a PastJob> + 's
    where
        'a: 's,
    {
        past.iter().filter(move |job| {
            job_id.is_none_or(|id| job.id == id)
                && types.admits(&job.job_type)
                && status_matches(statuses, &job.status)
        })
    }

    fn statuses(&self) -> Result<Vec<&str>, ApiError> {
        Ok(self.query.single("status")?.into_iter().collect())
    }

    /// The page asked of `endpoint`, within its documented limits.
    fn page(&self) -> Result<Page, ApiError> {
        let endpoint = self.endpoint;
        let limits = endpoint
            .operation()
            .and_then(|op| op.page())
            .ok_or(ApiError {
                status: 500,
                code: "WKS.00000500",
                message: format!("{} has no pages.", endpoint.name()),
            })?;
        self.query.page(limits)
    }
}

/// Path segments that are not valid UTF-8 name nothing that exists.
fn path_ids<T>(path: Result<Path<T>, PathRejection>) -> Result<T, ApiError> {
    path.map(|Path(ids)| ids)
        .map_err(|_| ApiError::not_found("The requested resource does not exist."))
}

fn status_matches(wanted: &[&str], status: &Status) -> bool {
    wanted.is_empty() || wanted.contains(&status.as_str())
}

/// The handler of an operation on one job of `kind`, rendered by `render`.
fn show(
    endpoint: Endpoint,
    kind: JobKind,
    render: fn(&Render<'_>, &Job) -> Value,
) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(shared): SharedState, path: Result<Path<(String, String)>, PathRejection>| async move {
            let result = path_ids(path).and_then(|(project_id, job_id)| {
                let ctx = Ctx::new(&shared, endpoint, &project_id, None)?;
                Ok(render(&ctx.render, ctx.job(kind, &job_id)?))
            });
            respond(endpoint, result)
        },
    )
}

/// The handler of an operation on a project's jobs: `body` builds the answer.
fn list(
    endpoint: Endpoint,
    body: fn(&Ctx<'_>) -> Result<Value, ApiError>,
) -> MethodRouter<Arc<Shared>> {
    get(
        move |State(shared): SharedState,
              path: Result<Path<String>, PathRejection>,
              RawQuery(raw): RawQuery| async move {
            let result = path_ids(path)
                .and_then(|project_id| Ctx::new(&shared, endpoint, &project_id, raw.as_deref()))
                .and_then(|ctx| body(&ctx));
            respond(endpoint, result)
        },
    )
}

/// The total and the page asked for, each item rendered by `render`.
fn paged<T>(page: Page, all: &[T], render: impl Fn(&T) -> Value) -> (usize, Vec<Value>) {
    (all.len(), page.slice(all).iter().map(render).collect())
}

/// An item of a list that also answers with jobs that ended before the
/// start: current ones come first.
enum Listed<'a, C> {
    Current(C),
    Past(&'a PastJob),
}

fn list_image_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let statuses = ctx.statuses()?;
    let types = TypeFilter::single(ctx.query.single("job_type")?);
    let page = ctx.page()?;
    let t = ctx.t();
    let past = &ctx.shared.world.scenario.past_image_jobs;
    let jobs: Vec<Listed<&Job>> = ctx
        .shared
        .world
        .visible_image_jobs(t)
        .filter(|job| types.admits(&job.job_type) && status_matches(&statuses, &job.status_at(t)))
        .map(Listed::Current)
        .chain(ctx.past(past, None, &statuses, &types).map(Listed::Past))
        .collect();
    let (count, items) = paged(page, &jobs, |job| match job {
        Listed::Current(job) => ctx.render.image_job_summary(job),
        Listed::Past(job) => ctx.render.past_image_job_summary(job),
    });
    Ok(json!({"count": count, "items": items}))
}

fn list_image_sub_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    // The page marks job_type as mandatory on this list (not on the count).
    let job_type = ctx
        .query
        .single("job_type")?
        .ok_or_else(|| ApiError::bad_request("The parameter job_type is mandatory."))?;
    let statuses = ctx.statuses()?;
    let page = ctx.page()?;
    let subs = ctx.sub_jobs(
        JobKind::ImageJob,
        &statuses,
        &TypeFilter::single(Some(job_type)),
    )?;
    let (count, items) = paged(page, &subs, |(job, sub)| ctx.render.image_sub_job(job, sub));
    Ok(json!({"count": count, "items": items}))
}

fn count_image_sub_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let types = match ctx.query.single("job_type")? {
        Some(list) => TypeFilter::list(Some(list)),
        // Documented default: the three image-server sub-job types.
        None => TypeFilter::OneOf(DEFAULT_IMAGE_COUNT_TYPES.map(String::from).to_vec()),
    };
    let statuses = ctx.statuses()?;
    let count = ctx.sub_jobs(JobKind::ImageJob, &statuses, &types)?.len();
    Ok(json!({"count": count}))
}

fn list_app_sub_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let types = TypeFilter::single(ctx.query.single("job_type")?);
    let statuses = ctx.statuses()?;
    let page = ctx.page()?;
    let subs: Vec<Listed<(&Job, &SubJob)>> = ctx
        .sub_jobs(JobKind::AppServerJob, &statuses, &types)?
        .into_iter()
        .map(Listed::Current)
        .chain(ctx.past_app_sub_jobs(&statuses, &types)?.map(Listed::Past))
        .collect();
    let (count, items) = paged(page, &subs, |sub| match sub {
        Listed::Current((job, sub)) => ctx.render.app_sub_job(job, sub),
        Listed::Past(sub) => ctx.render.past_app_sub_job(sub),
    });
    Ok(json!({"count": count, "items": items}))
}

fn count_app_sub_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    let types = TypeFilter::list(ctx.query.single("job_type")?);
    let statuses = ctx.statuses()?;
    let current = ctx
        .sub_jobs(JobKind::AppServerJob, &statuses, &types)?
        .len();
    let past = ctx.past_app_sub_jobs(&statuses, &types)?.count();
    Ok(json!({"count": current + past}))
}

fn list_desktop_sub_jobs(ctx: &Ctx<'_>) -> Result<Value, ApiError> {
    // The page's own example repeats `status`; accept that as "any of".
    let statuses: Vec<&str> = ctx
        .query
        .all("status")
        .into_iter()
        .filter(|status| !status.is_empty())
        .collect();
    let types = TypeFilter::single(ctx.query.single("job_type")?);
    let pool = ctx.query.single("desktop_pool_id")?;
    let page = ctx.page()?;
    let subs: Vec<_> = ctx
        .sub_jobs(JobKind::DesktopJob, &statuses, &types)?
        .into_iter()
        .filter(|(job, _)| pool.is_none_or(|pool| job.desktop_pool_id.as_deref() == Some(pool)))
        .collect();
    let (total_count, jobs) = paged(page, &subs, |(job, sub)| {
        ctx.render.desktop_sub_job(job, sub)
    });
    Ok(json!({"total_count": total_count, "jobs": jobs}))
}

async fn stats(State(shared): SharedState) -> Response {
    let mut body = serde_json::to_value(shared.counters.snapshot()).unwrap_or(Value::Null);
    // The clock the ground truth's offsets count from, on the wall clock.
    if let Some(fields) = body.as_object_mut() {
        fields.insert(
            "started_at_unix_us".into(),
            json!(shared.world.clock.started_unix_us()),
        );
    }
    json_response(200, &body)
}

async fn health() -> Response {
    json_response(200, &json!({"status": "ok"}))
}

async fn no_such_api() -> Response {
    // What the API gateway answers for a path it does not route.
    json_response(
        404,
        &json!({
            "error_code": "APIG.0101",
            "error_msg": "The API does not exist or has not been published in the environment",
        }),
    )
}

async fn method_not_allowed() -> Response {
    json_response(
        405,
        &json!({
            "error_code": "WKS.00000405",
            "error_msg": "The request method is not allowed.",
        }),
    )
}

#[cfg(test)]
mod tests {
    use crate::sim::{Scenario, SimConfig, Simulator};

    /// The stats name the wall-clock start their offsets count from, so a
    /// benchmark measures latency against the simulator's own clock.
    #[tokio::test]
    async fn stats_name_the_start_on_the_wall_clock() {
        let now_us = || {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap();
            i64::try_from(since.as_micros()).unwrap()
        };
        let before = now_us();
        let sim = Simulator::start(
            Scenario::demo(),
            SimConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let after = now_us();
        let body: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.base_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = body["started_at_unix_us"].as_i64().expect("a number");
        assert!(
            (before..=after).contains(&started),
            "{before} {started} {after}"
        );
        // The counters are still there, the new field beside them.
        assert_eq!(body["requests"], 0);
        sim.shutdown().await;
    }
}
