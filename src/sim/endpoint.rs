//! The served operations, their routes, and recognising them from a path
//! (needed before routing, to count and fault requests the router never sees).
//! Routes, names and services come from the API's table of operations.

use serde::Serialize;

use crate::api::{Operation, Service};

/// An API operation, named as in the official SDKs, or a path the API does
/// not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Endpoint {
    ShowImageJob,
    ListImageJobs,
    ListImageSubJobs,
    CountImageSubJobs,
    ListSubJobs,
    CountSubJobs,
    ShowJobDetail,
    /// Workspace `ShowJob` (`/v2/{project_id}/workspace-jobs/{job_id}`).
    ShowJob,
    ListItaSubJobs,
    /// A path the API does not have.
    Unknown,
}

impl Endpoint {
    /// Every served operation.
    pub const SERVED: [Endpoint; 9] = [
        Self::ShowImageJob,
        Self::ListImageJobs,
        Self::ListImageSubJobs,
        Self::CountImageSubJobs,
        Self::ListSubJobs,
        Self::CountSubJobs,
        Self::ShowJobDetail,
        Self::ShowJob,
        Self::ListItaSubJobs,
    ];

    /// The operation of the API's table it serves (`None`: [`Endpoint::Unknown`]).
    pub const fn operation(self) -> Option<Operation> {
        match self {
            Self::ShowImageJob => Some(Operation::ShowImageJob),
            Self::ListImageJobs => Some(Operation::ListImageJobs),
            Self::ListImageSubJobs => Some(Operation::ListImageSubJobs),
            Self::CountImageSubJobs => Some(Operation::CountImageSubJobs),
            Self::ListSubJobs => Some(Operation::ListSubJobs),
            Self::CountSubJobs => Some(Operation::CountSubJobs),
            Self::ShowJobDetail => Some(Operation::ShowJobDetail),
            Self::ShowJob => Some(Operation::ShowJob),
            Self::ListItaSubJobs => Some(Operation::ListItaSubJobs),
            Self::Unknown => None,
        }
    }

    /// The SDK operation name, used as the counter key.
    pub fn name(self) -> &'static str {
        self.operation().map_or("unknown", Operation::sdk_name)
    }

    /// The served operation named `name` (its SDK name, as [`Self::name`]).
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Self::SERVED.into_iter().find(|e| e.name() == name)
    }

    /// The route, in axum's syntax: the operation's path template.
    pub fn route(self) -> &'static str {
        self.operation().map_or("/{*rest}", Operation::template)
    }

    /// Whether errors from this operation use the workspace v2 body (which
    /// adds `error_detail`).
    pub fn is_workspace(self) -> bool {
        self.operation()
            .is_some_and(|operation| operation.service() == Service::Workspace)
    }

    /// Recognises the operation a request path is for.
    pub fn classify(path: &str) -> Endpoint {
        Self::SERVED
            .into_iter()
            .find(|endpoint| matches_route(endpoint.route(), path))
            .unwrap_or(Self::Unknown)
    }
}

/// Whether `path` fits `route`, where `{name}` matches one non-empty segment.
fn matches_route(route: &str, path: &str) -> bool {
    let mut route_segments = route.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (route_segments.next(), path_segments.next()) {
            (None, None) => return true,
            (Some(wanted), Some(given)) => {
                let placeholder = wanted.starts_with('{');
                if !(placeholder && !given.is_empty() || wanted == given) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_route() {
        let cases = [
            ("/v1/p/image-server-jobs/j", Endpoint::ShowImageJob),
            ("/v1/p/image-server-jobs", Endpoint::ListImageJobs),
            ("/v1/p/image-server-sub-jobs", Endpoint::ListImageSubJobs),
            (
                "/v1/p/image-server-sub-jobs/actions/count",
                Endpoint::CountImageSubJobs,
            ),
            ("/v1/p/app-server-sub-jobs", Endpoint::ListSubJobs),
            (
                "/v1/p/app-server-sub-jobs/actions/count",
                Endpoint::CountSubJobs,
            ),
            ("/v2/p/job/j", Endpoint::ShowJobDetail),
            ("/v2/p/workspace-jobs/j", Endpoint::ShowJob),
            ("/v2/p/workspace-sub-jobs", Endpoint::ListItaSubJobs),
            ("/v2/p/workspace-sub-jobs/", Endpoint::Unknown),
            ("/v1//image-server-jobs", Endpoint::Unknown),
            ("/v3/p/job/j", Endpoint::Unknown),
            ("/", Endpoint::Unknown),
        ];
        for (path, expected) in cases {
            assert_eq!(Endpoint::classify(path), expected, "{path}");
        }
        for endpoint in Endpoint::SERVED {
            assert_eq!(Endpoint::from_name(endpoint.name()), Some(endpoint));
        }
        assert_eq!(Endpoint::from_name("unknown"), None);
    }

    #[test]
    fn serves_every_operation_of_the_api_once() {
        let served: Vec<_> = Endpoint::SERVED.iter().map(|e| e.operation()).collect();
        let table: Vec<_> = Operation::ALL.into_iter().map(Some).collect();
        assert_eq!(served, table);
        assert_eq!(Endpoint::Unknown.operation(), None);
        for endpoint in Endpoint::SERVED {
            assert_eq!(endpoint.name(), format!("{endpoint:?}"));
        }
    }

    /// One job of each kind, so that every operation on one job finds it.
    const SCENARIO: &str = r#"
project_id: p1
jobs:
  - {id: image-1, kind: image_job, job_type: CREATE_SERVER_IMAGE,
     sub_jobs: [{id: s1, job_type: CREATE_SERVER, timeline: [{at: 0s, status: RUNNING}]}]}
  - {id: app-1, kind: app_server_job, job_type: CREATE_SERVER,
     sub_jobs: [{id: s2, timeline: [{at: 0s, status: RUNNING}]}]}
  - {id: desktop-1, kind: desktop_job,
     sub_jobs: [{id: s3, timeline: [{at: 0s, status: RUNNING}]}]}
"#;

    /// The request the engine would send for `operation`, with the largest
    /// page when it pages (`limit` one more than that when `too_large`).
    fn request(operation: Operation, too_large: bool) -> String {
        let job = match operation.service() {
            _ if !operation.takes_job_id() => None,
            Service::Workspace => Some("desktop-1"),
            Service::AppStream if operation == Operation::ShowImageJob => Some("image-1"),
            Service::AppStream => Some("app-1"),
        };
        let mut request = operation.request("p1", job);
        if operation == Operation::ListImageSubJobs {
            request = request.with("job_type", "CREATE_SERVER");
        }
        if let Some(limits) = operation.page() {
            let limit = limits.max + u32::from(too_large);
            request = request.with("offset", "0").with("limit", limit.to_string());
        }
        request.path_and_query()
    }

    #[tokio::test]
    async fn every_operation_round_trips_through_the_router() {
        let scenario = crate::sim::Scenario::from_yaml(SCENARIO, "round trip").unwrap();
        let sim = crate::sim::Simulator::start(
            scenario,
            crate::sim::SimConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let get = |path: String| {
            let url = format!("{}{path}", sim.base_url());
            let client = client.clone();
            async move { client.get(url).send().await.unwrap().status().as_u16() }
        };
        for operation in Operation::ALL {
            let path = request(operation, false);
            let endpoint = Endpoint::classify(path.split('?').next().unwrap());
            assert_eq!(endpoint.operation(), Some(operation), "{path}");
            assert_eq!(get(path.clone()).await, 200, "{path}");
            if operation.page().is_some() {
                // The largest page is the documented one, not a smaller one.
                let beyond = request(operation, true);
                assert_eq!(get(beyond.clone()).await, 400, "{beyond}");
            }
        }
        let stats = sim.stats();
        for endpoint in Endpoint::SERVED {
            assert_eq!(
                stats.answers(endpoint, 200),
                1,
                "{}: {stats:?}",
                endpoint.name()
            );
        }
        assert_eq!(stats.requests_to(Endpoint::Unknown), 0, "{stats:?}");
        sim.shutdown().await;
    }
}
