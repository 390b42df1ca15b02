//! The API's read endpoints: filters, paging and bodies per operation, plus
//! the simulator's own `/_sim/` endpoints.

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::ApiError;
use super::past::PastJob;
use super::query::{DEFAULT_IMAGE_COUNT_TYPES, Page, Query, TypeFilter};
use super::scenario::{Job, JobKind, SubJob};
use super::server::Shared;
use super::wire::Render;
use crate::api::Status;

type SharedState = State<Arc<Shared>>;

/// The router for every API endpoint and `/_sim/{stats,health}`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(Endpoint::ShowImageJob.route(), get(show_image_job))
        .route(Endpoint::ListImageJobs.route(), get(list_image_jobs))
        .route(Endpoint::ListImageSubJobs.route(), get(list_image_sub_jobs))
        .route(
            Endpoint::CountImageSubJobs.route(),
            get(count_image_sub_jobs),
        )
        .route(Endpoint::ListSubJobs.route(), get(list_app_sub_jobs))
        .route(Endpoint::CountSubJobs.route(), get(count_app_sub_jobs))
        .route(Endpoint::ShowJobDetail.route(), get(show_app_job))
        .route(Endpoint::ShowJob.route(), get(show_desktop_job))
        .route(Endpoint::ListItaSubJobs.route(), get(list_desktop_sub_jobs))
        .route("/_sim/stats", get(stats))
        .route("/_sim/health", get(health))
        .fallback(no_such_api)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// A JSON response with `status`.
pub fn json_response(status: u16, body: &Value) -> Response {
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
    render: Render<'a>,
    query: Query,
}

impl<'a> Ctx<'a> {
    fn new(
        shared: &'a Shared,
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
        Ok(self
            .shared
            .world
            .scenario
            .past_app_server_sub_jobs
            .iter()
            .filter(move |sub| {
                job_id.is_none_or(|id| sub.id == id)
                    && types.admits(&sub.job_type)
                    && status_matches(statuses, &sub.status)
            }))
    }

    fn statuses(&self) -> Result<Vec<&str>, ApiError> {
        Ok(self.query.single("status")?.into_iter().collect())
    }

    /// The page asked of `endpoint`, within its documented limits.
    fn page(&self, endpoint: Endpoint) -> Result<Page, ApiError> {
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

async fn show_image_job(
    State(shared): SharedState,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = path_ids(path).and_then(|(project_id, job_id)| {
        Ctx::new(&shared, &project_id, None)
            .and_then(|ctx| Ok(ctx.render.image_job(ctx.job(JobKind::ImageJob, &job_id)?)))
    });
    respond(Endpoint::ShowImageJob, result)
}

async fn list_image_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        let statuses = ctx.statuses()?;
        let types = TypeFilter::single(ctx.query.single("job_type")?);
        let page = ctx.page(Endpoint::ListImageJobs)?;
        let t = ctx.t();
        // Current jobs first, then the ones that ended before the start.
        let jobs: Vec<Listed> = shared
            .world
            .visible_image_jobs(t)
            .filter(|job| {
                types.admits(&job.job_type) && status_matches(&statuses, &job.status_at(t))
            })
            .map(Listed::Current)
            .chain(
                shared
                    .world
                    .scenario
                    .past_image_jobs
                    .iter()
                    .filter(|job| {
                        types.admits(&job.job_type) && status_matches(&statuses, &job.status)
                    })
                    .map(Listed::Past),
            )
            .collect();
        let items: Vec<Value> = page
            .slice(&jobs)
            .iter()
            .map(|job| match job {
                Listed::Current(job) => ctx.render.image_job_summary(job),
                Listed::Past(job) => ctx.render.past_image_job_summary(job),
            })
            .collect();
        Ok(json!({"count": jobs.len(), "items": items}))
    })();
    respond(Endpoint::ListImageJobs, result)
}

/// An item of `ListImageJobs`.
enum Listed<'a> {
    Current(&'a Job),
    Past(&'a PastJob),
}

/// An item of `ListSubJobs`.
enum ListedSub<'a> {
    Current(&'a Job, &'a SubJob),
    Past(&'a PastJob),
}

async fn list_image_sub_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        // The page marks job_type as mandatory on this list (not on the count).
        let job_type = ctx
            .query
            .single("job_type")?
            .ok_or_else(|| ApiError::bad_request("The parameter job_type is mandatory."))?;
        let statuses = ctx.statuses()?;
        let page = ctx.page(Endpoint::ListImageSubJobs)?;
        let subs = ctx.sub_jobs(
            JobKind::ImageJob,
            &statuses,
            &TypeFilter::single(Some(job_type)),
        )?;
        let items: Vec<Value> = page
            .slice(&subs)
            .iter()
            .map(|(job, sub)| ctx.render.image_sub_job(job, sub))
            .collect();
        Ok(json!({"count": subs.len(), "items": items}))
    })();
    respond(Endpoint::ListImageSubJobs, result)
}

async fn count_image_sub_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        let types = match ctx.query.single("job_type")? {
            Some(list) => TypeFilter::list(Some(list)),
            // Documented default: the three image-server sub-job types.
            None => TypeFilter::OneOf(DEFAULT_IMAGE_COUNT_TYPES.map(String::from).to_vec()),
        };
        let statuses = ctx.statuses()?;
        let count = ctx.sub_jobs(JobKind::ImageJob, &statuses, &types)?.len();
        Ok(json!({"count": count}))
    })();
    respond(Endpoint::CountImageSubJobs, result)
}

async fn list_app_sub_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        let types = TypeFilter::single(ctx.query.single("job_type")?);
        let statuses = ctx.statuses()?;
        let page = ctx.page(Endpoint::ListSubJobs)?;
        // Current sub-jobs first, then the ones that ended before the start.
        let subs: Vec<ListedSub> = ctx
            .sub_jobs(JobKind::AppServerJob, &statuses, &types)?
            .into_iter()
            .map(|(job, sub)| ListedSub::Current(job, sub))
            .chain(
                ctx.past_app_sub_jobs(&statuses, &types)?
                    .map(ListedSub::Past),
            )
            .collect();
        let items: Vec<Value> = page
            .slice(&subs)
            .iter()
            .map(|sub| match sub {
                ListedSub::Current(job, sub) => ctx.render.app_sub_job(job, sub),
                ListedSub::Past(sub) => ctx.render.past_app_sub_job(sub),
            })
            .collect();
        Ok(json!({"count": subs.len(), "items": items}))
    })();
    respond(Endpoint::ListSubJobs, result)
}

async fn count_app_sub_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        let types = TypeFilter::list(ctx.query.single("job_type")?);
        let statuses = ctx.statuses()?;
        let current = ctx
            .sub_jobs(JobKind::AppServerJob, &statuses, &types)?
            .len();
        let past = ctx.past_app_sub_jobs(&statuses, &types)?.count();
        Ok(json!({"count": current + past}))
    })();
    respond(Endpoint::CountSubJobs, result)
}

async fn show_app_job(
    State(shared): SharedState,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = path_ids(path).and_then(|(project_id, job_id)| {
        Ctx::new(&shared, &project_id, None)
            .and_then(|ctx| Ok(ctx.render.app_job(ctx.job(JobKind::AppServerJob, &job_id)?)))
    });
    respond(Endpoint::ShowJobDetail, result)
}

async fn show_desktop_job(
    State(shared): SharedState,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let result = path_ids(path).and_then(|(project_id, job_id)| {
        Ctx::new(&shared, &project_id, None).and_then(|ctx| {
            Ok(ctx
                .render
                .desktop_job(ctx.job(JobKind::DesktopJob, &job_id)?))
        })
    });
    respond(Endpoint::ShowJob, result)
}

async fn list_desktop_sub_jobs(
    State(shared): SharedState,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let project_id = path_ids(path)?;
        let ctx = Ctx::new(&shared, &project_id, raw.as_deref())?;
        // The page's own example repeats `status`; accept that as "any of".
        let statuses: Vec<&str> = ctx
            .query
            .all("status")
            .into_iter()
            .filter(|status| !status.is_empty())
            .collect();
        let types = TypeFilter::single(ctx.query.single("job_type")?);
        let pool = ctx.query.single("desktop_pool_id")?;
        let page = ctx.page(Endpoint::ListItaSubJobs)?;
        let subs: Vec<_> = ctx
            .sub_jobs(JobKind::DesktopJob, &statuses, &types)?
            .into_iter()
            .filter(|(job, _)| pool.is_none_or(|pool| job.desktop_pool_id.as_deref() == Some(pool)))
            .collect();
        let jobs: Vec<Value> = page
            .slice(&subs)
            .iter()
            .map(|(job, sub)| ctx.render.desktop_sub_job(job, sub))
            .collect();
        Ok(json!({"total_count": subs.len(), "jobs": jobs}))
    })();
    respond(Endpoint::ListItaSubJobs, result)
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
