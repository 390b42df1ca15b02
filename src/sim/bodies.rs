//! Response bodies, with the field names and shapes of the API pages and
//! the official SDK models.

use std::time::Duration;

use serde_json::{Map, Value, json};

use super::clock::Clock;
use super::past::PastJob;
use super::scenario::{ErrorInfo, Job, SubJob};
use super::timeline;
use crate::api::Status;

/// Renders (sub-)jobs as they look at one offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Render<'a> {
    pub(crate) clock: &'a Clock,
    pub(crate) project_id: &'a str,
    /// The offset the responses describe.
    pub(crate) t: Duration,
}

/// Which time stamp format a service uses.
#[derive(Debug, Clone, Copy)]
enum Format {
    AppStream,
    Workspace,
}

impl Render<'_> {
    fn time(&self, format: Format, offset: Duration) -> Value {
        let text = match format {
            Format::AppStream => self.clock.appstream_time(offset),
            Format::Workspace => self.clock.workspace_time(offset),
        };
        text.map_or(Value::Null, Value::String)
    }

    /// `begin_time` is when the (sub-)job appeared; `end_time` is null until
    /// it reaches its final state.
    fn times(&self, format: Format, begin: Duration, end: Option<Duration>) -> (Value, Value) {
        let end = end
            .filter(|end| *end <= self.t)
            .map_or(Value::Null, |end| self.time(format, end));
        (self.time(format, begin), end)
    }

    fn sub_times(&self, format: Format, job: &Job, sub: &SubJob) -> (Value, Value) {
        let begin = job.visible_after.max(sub.visible_after);
        let end = sub.timeline.terminal().map(|step| step.at.max(begin));
        self.times(format, begin, end)
    }

    fn job_times(&self, format: Format, job: &Job) -> (Value, Value) {
        self.times(format, job.visible_after, job.terminal().map(|(_, at)| at))
    }

    /// What an Application Streaming sub-job item says of a current sub-job.
    fn current_sub<'s>(&self, job: &'s Job, sub: &'s SubJob) -> AppStreamSub<'s> {
        let (begin, end) = self.sub_times(Format::AppStream, job, sub);
        AppStreamSub {
            id: &sub.id,
            job_type: &sub.job_type,
            resource_id: sub.resource.id.clone(),
            resource_name: sub.resource.name.clone(),
            begin,
            end,
            status: sub.status_at(self.t),
            error: sub.error_at(self.t),
            job_id: &job.id,
        }
    }

    /// An Application Streaming sub-job item; `error_fields` lays out its
    /// error, which the two services' item types place differently.
    fn appstream_sub_job(
        &self,
        sub: AppStreamSub<'_>,
        error_fields: impl FnOnce(Option<&ErrorInfo>) -> Vec<(&'static str, Value)>,
    ) -> Value {
        let mut body = Map::new();
        body.insert("id".into(), json!(sub.id));
        body.insert("job_type".into(), json!(sub.job_type));
        body.insert(
            "job_resource_info".into(),
            json!({
                "resource_id": sub.resource_id,
                "resource_name": sub.resource_name,
            }),
        );
        body.insert("begin_time".into(), sub.begin);
        body.insert("end_time".into(), sub.end);
        body.insert("status".into(), json!(sub.status.as_str()));
        for (key, value) in error_fields(sub.error.as_ref()) {
            body.insert(key.into(), value);
        }
        body.insert("project_id".into(), json!(self.project_id));
        body.insert("job_id".into(), json!(sub.job_id));
        Value::Object(body)
    }

    /// An image-server sub-job (`ImageJobDetailInfo`): errors nested in
    /// `job_execute_info`, empty strings when there is none (as on the page).
    pub(crate) fn image_sub_job(&self, job: &Job, sub: &SubJob) -> Value {
        self.appstream_sub_job(self.current_sub(job, sub), |error| {
            vec![(
                "job_execute_info",
                json!({
                    "error_code": error.map_or("", |e| e.code.as_str()),
                    "error_message": error.map_or("", |e| e.message.as_str()),
                }),
            )]
        })
    }

    /// An app-server sub-job (`SubJobDetailInfo`/`JobDetailInfo`): flat
    /// `error_code`/`error_message`, null when there is no error.
    pub(crate) fn app_sub_job(&self, job: &Job, sub: &SubJob) -> Value {
        self.appstream_sub_job(self.current_sub(job, sub), flat_error)
    }

    /// A workspace sub-job (`JobDetailInfo` of the v2 API): the desktop in
    /// `entities`, progress in `process`, errors in `error_code`/`fail_reason`.
    pub(crate) fn desktop_sub_job(&self, job: &Job, sub: &SubJob) -> Value {
        let (begin, end) = self.sub_times(Format::Workspace, job, sub);
        let error = sub.error_at(self.t);
        let resource = &sub.resource;
        let mut entities = Map::new();
        entities.insert("desktop_id".into(), json!(resource.id));
        if !resource.name.is_empty() {
            entities.insert("desktop_name".into(), json!(resource.name));
        }
        for (key, value) in [
            ("user_name", &resource.user_name),
            ("product_id", &resource.product_id),
            ("ip_address", &resource.ip_address),
        ] {
            if let Some(value) = value {
                entities.insert(key.into(), json!(value));
            }
        }
        json!({
            "id": sub.id,
            "job_type": sub.job_type,
            "entities": entities,
            "begin_time": begin,
            "end_time": end,
            "status": sub.status_at(self.t).as_str(),
            "error_code": error.as_ref().map(|e| e.code.as_str()),
            "fail_reason": error.as_ref().map(|e| e.message.as_str()),
            "host": Value::Null,
            "project_id": self.project_id,
            "job_id": job.id,
            "process": sub.progress_at(self.t),
            "attach_user": resource.user_name,
            "entity": resource.id,
            "ip_address": resource.ip_address,
        })
    }

    /// The fields every job body starts with.
    fn job_fields(&self, format: Format, job: &Job) -> Map<String, Value> {
        let (begin, end) = self.job_times(format, job);
        let mut fields = Map::new();
        fields.insert("id".into(), json!(job.id));
        fields.insert("job_type".into(), json!(job.job_type));
        fields.insert("begin_time".into(), begin);
        fields.insert("end_time".into(), end);
        fields.insert("status".into(), json!(job.status_at(self.t).as_str()));
        fields
    }

    /// An image job as listed (`ImageJobInfo`).
    pub(crate) fn image_job_summary(&self, job: &Job) -> Value {
        let mut body = self.job_fields(Format::AppStream, job);
        let total = job.visible_sub_jobs(self.t).count();
        body.insert("sub_jobs_total".into(), json!(total));
        Value::Object(body)
    }

    fn time_before(&self, ago: Duration) -> Value {
        self.clock
            .appstream_time_before(ago)
            .map_or(Value::Null, Value::String)
    }

    /// A `ListImageJobs` item for a job that ended before the start.
    pub(crate) fn past_image_job_summary(&self, job: &PastJob) -> Value {
        json!({
            "id": job.id,
            "job_type": job.job_type,
            "begin_time": self.time_before(job.began_ago()),
            "end_time": self.time_before(job.ended_ago),
            "status": job.status.as_str(),
            "sub_jobs_total": 1,
        })
    }

    /// A `ListSubJobs` item for an app-server sub-job that ended before the
    /// start; its job, long gone, shares its id.
    pub(crate) fn past_app_sub_job(&self, sub: &PastJob) -> Value {
        let failed = timeline::is_failure(&sub.status);
        let server = format!("server-{}", sub.id);
        let item = AppStreamSub {
            id: &sub.id,
            job_type: &sub.job_type,
            resource_id: server.clone(),
            resource_name: server,
            begin: self.time_before(sub.began_ago()),
            end: self.time_before(sub.ended_ago),
            status: sub.status.clone(),
            error: failed.then(ErrorInfo::generic),
            job_id: &sub.id,
        };
        self.appstream_sub_job(item, flat_error)
    }

    /// `ShowImageJob`: the summary plus image sub-jobs.
    pub(crate) fn image_job(&self, job: &Job) -> Value {
        self.summary_with_sub_jobs(job, Self::image_sub_job)
    }

    /// `ShowJobDetail` (app servers, v2): same shape with app sub-jobs.
    pub(crate) fn app_job(&self, job: &Job) -> Value {
        self.summary_with_sub_jobs(job, Self::app_sub_job)
    }

    fn summary_with_sub_jobs(
        &self,
        job: &Job,
        sub_job: fn(&Self, &Job, &SubJob) -> Value,
    ) -> Value {
        let mut body = self.image_job_summary(job);
        let subs: Vec<Value> = job
            .visible_sub_jobs(self.t)
            .map(|sub| sub_job(self, job, sub))
            .collect();
        body["sub_jobs"] = Value::Array(subs);
        body
    }

    /// Workspace `ShowJob`: adds `job_error_code` and `fail_reason`, set once
    /// the job has failed.
    pub(crate) fn desktop_job(&self, job: &Job) -> Value {
        let mut body = self.job_fields(Format::Workspace, job);
        let error = self.job_error(job);
        let subs: Vec<Value> = job
            .visible_sub_jobs(self.t)
            .map(|sub| self.desktop_sub_job(job, sub))
            .collect();
        let code = error.as_ref().map(|e| e.code.as_str());
        let reason = error.as_ref().map(|e| e.message.as_str());
        body.insert("job_error_code".into(), json!(code));
        body.insert("fail_reason".into(), json!(reason));
        body.insert("sub_jobs_total".into(), json!(subs.len()));
        body.insert("sub_jobs".into(), Value::Array(subs));
        Value::Object(body)
    }

    /// A failed job's error: its own, else its first failed sub-job's.
    fn job_error(&self, job: &Job) -> Option<ErrorInfo> {
        if !timeline::is_failure(&job.status_at(self.t)) {
            return None;
        }
        job.error
            .clone()
            .or_else(|| job.sub_jobs.iter().find_map(|sub| sub.error_at(self.t)))
            .or_else(|| Some(ErrorInfo::generic()))
    }
}

/// An Application Streaming sub-job item's fields, current or past.
struct AppStreamSub<'s> {
    id: &'s str,
    job_type: &'s str,
    resource_id: String,
    resource_name: String,
    begin: Value,
    end: Value,
    status: Status,
    error: Option<ErrorInfo>,
    job_id: &'s str,
}

/// `error_code` and `error_message` beside the other fields, null without
/// an error.
fn flat_error(error: Option<&ErrorInfo>) -> Vec<(&'static str, Value)> {
    vec![
        ("error_code", json!(error.map(|e| e.code.as_str()))),
        ("error_message", json!(error.map(|e| e.message.as_str()))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Scenario;

    /// Current and past app-server sub-jobs are listed side by side, so a
    /// client must find the same fields in both, failed or not.
    #[test]
    fn past_and_current_app_sub_jobs_have_one_shape() {
        let scenario = Scenario::from_yaml(
            r#"
project_id: p1
jobs:
  - {id: app-1, kind: app_server_job,
     sub_jobs: [{id: s1, timeline: [{at: 0s, status: FAILED}],
                 error: {code: E1, message: broke}}]}
past_app_server_sub_jobs:
  - {durations: [1m], status: FAILED}
"#,
            "shape",
        )
        .unwrap();
        let clock = Clock::start();
        let render = Render {
            clock: &clock,
            project_id: "p1",
            t: Duration::from_secs(1),
        };
        let job = &scenario.jobs[0];
        let current = render.app_sub_job(job, &job.sub_jobs[0]);
        let past = render.past_app_sub_job(&scenario.past_app_server_sub_jobs[0]);
        let keys = |body: &Value| {
            body.as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&current), keys(&past));
        assert_eq!(
            keys(&current["job_resource_info"]),
            keys(&past["job_resource_info"])
        );
        assert_eq!(current["error_code"], "E1");
        assert_eq!(past["error_code"], ErrorInfo::generic().code);
        assert_eq!(past["job_id"], past["id"]);
    }
}
