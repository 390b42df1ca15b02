//! The served operations, their routes, and recognising them from a path
//! (needed before routing, to count and fault requests the router never sees).

use serde::Serialize;

/// An API operation, named as in the official SDKs.
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

    /// The SDK operation name, used as the counter key.
    pub fn name(self) -> &'static str {
        match self {
            Self::ShowImageJob => "ShowImageJob",
            Self::ListImageJobs => "ListImageJobs",
            Self::ListImageSubJobs => "ListImageSubJobs",
            Self::CountImageSubJobs => "CountImageSubJobs",
            Self::ListSubJobs => "ListSubJobs",
            Self::CountSubJobs => "CountSubJobs",
            Self::ShowJobDetail => "ShowJobDetail",
            Self::ShowJob => "ShowJob",
            Self::ListItaSubJobs => "ListItaSubJobs",
            Self::Unknown => "unknown",
        }
    }

    /// The served operation named `name` (its SDK name, as [`Self::name`]).
    pub fn from_name(name: &str) -> Option<Endpoint> {
        Self::SERVED.into_iter().find(|e| e.name() == name)
    }

    /// The route, in axum's syntax.
    pub fn route(self) -> &'static str {
        match self {
            Self::ShowImageJob => "/v1/{project_id}/image-server-jobs/{job_id}",
            Self::ListImageJobs => "/v1/{project_id}/image-server-jobs",
            Self::ListImageSubJobs => "/v1/{project_id}/image-server-sub-jobs",
            Self::CountImageSubJobs => "/v1/{project_id}/image-server-sub-jobs/actions/count",
            Self::ListSubJobs => "/v1/{project_id}/app-server-sub-jobs",
            Self::CountSubJobs => "/v1/{project_id}/app-server-sub-jobs/actions/count",
            Self::ShowJobDetail => "/v2/{project_id}/job/{job_id}",
            Self::ShowJob => "/v2/{project_id}/workspace-jobs/{job_id}",
            Self::ListItaSubJobs => "/v2/{project_id}/workspace-sub-jobs",
            Self::Unknown => "/{*rest}",
        }
    }

    /// Whether errors from this operation use the workspace v2 body (which
    /// adds `error_detail`).
    pub fn is_workspace(self) -> bool {
        matches!(self, Self::ShowJob | Self::ListItaSubJobs)
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
}
