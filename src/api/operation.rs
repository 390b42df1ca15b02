//! The API's operations in one table: which service answers each, its
//! method and path template, how it pages, and its name in the official
//! SDKs. The engine builds its requests from this table and the simulator
//! routes by it, so the two cannot disagree about a path; the official-SDK
//! tests check the table against the SDKs' own.

use super::Service;
use super::request::ApiRequest;

/// The documented bounds and default of a list operation's `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    pub min: u32,
    /// The largest page the operation serves: the engine asks for this much.
    pub max: u32,
    /// The page size when `limit` is not given.
    pub default: u32,
}

/// Application Streaming lists: `limit` 1 to 100, 10 by default.
const APPSTREAM_LIST: PageLimits = PageLimits {
    min: 1,
    max: 100,
    default: 10,
};

/// Workspace lists: `limit` 0 to 1,000, 1,000 by default.
const WORKSPACE_LIST: PageLimits = PageLimits {
    min: 0,
    max: 1000,
    default: 1000,
};

/// One job API operation jobgate reads, named as in the official SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// One image job with its sub-jobs.
    ShowImageJob,
    /// Image jobs, newest first: past durations for estimates.
    ListImageJobs,
    /// Image sub-jobs, filtered.
    ListImageSubJobs,
    /// The number of image sub-jobs matching a filter.
    CountImageSubJobs,
    /// App-server sub-jobs, filtered.
    ListSubJobs,
    /// The number of app-server sub-jobs matching a filter.
    CountSubJobs,
    /// One app-server job with its sub-jobs.
    ShowJobDetail,
    /// One desktop job with its sub-jobs.
    ShowJob,
    /// Desktop sub-jobs, filtered.
    ListItaSubJobs,
}

/// One row of the table.
struct Row {
    service: Service,
    method: &'static str,
    template: &'static str,
    page: Option<PageLimits>,
    sdk_name: &'static str,
}

impl Operation {
    /// Every operation, in the table's order.
    pub const ALL: [Operation; 9] = [
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

    /// The table. `{project_id}` and `{job_id}` stand for one path segment
    /// each (the same syntax the simulator's router takes).
    const fn row(self) -> Row {
        use Service::{AppStream, Workspace};
        let (service, template, page, sdk_name) = match self {
            Self::ShowImageJob => (
                AppStream,
                "/v1/{project_id}/image-server-jobs/{job_id}",
                None,
                "ShowImageJob",
            ),
            Self::ListImageJobs => (
                AppStream,
                "/v1/{project_id}/image-server-jobs",
                Some(APPSTREAM_LIST),
                "ListImageJobs",
            ),
            Self::ListImageSubJobs => (
                AppStream,
                "/v1/{project_id}/image-server-sub-jobs",
                Some(APPSTREAM_LIST),
                "ListImageSubJobs",
            ),
            Self::CountImageSubJobs => (
                AppStream,
                "/v1/{project_id}/image-server-sub-jobs/actions/count",
                None,
                "CountImageSubJobs",
            ),
            Self::ListSubJobs => (
                AppStream,
                "/v1/{project_id}/app-server-sub-jobs",
                Some(APPSTREAM_LIST),
                "ListSubJobs",
            ),
            Self::CountSubJobs => (
                AppStream,
                "/v1/{project_id}/app-server-sub-jobs/actions/count",
                None,
                "CountSubJobs",
            ),
            Self::ShowJobDetail => (
                AppStream,
                "/v2/{project_id}/job/{job_id}",
                None,
                "ShowJobDetail",
            ),
            Self::ShowJob => (
                Workspace,
                "/v2/{project_id}/workspace-jobs/{job_id}",
                None,
                "ShowJob",
            ),
            Self::ListItaSubJobs => (
                Workspace,
                "/v2/{project_id}/workspace-sub-jobs",
                Some(WORKSPACE_LIST),
                "ListItaSubJobs",
            ),
        };
        // Every operation jobgate uses reads: the client sends nothing else.
        Row {
            service,
            method: "GET",
            template,
            page,
            sdk_name,
        }
    }

    /// The service that answers it.
    pub const fn service(self) -> Service {
        self.row().service
    }

    /// The HTTP method.
    pub const fn method(self) -> &'static str {
        self.row().method
    }

    /// The path template, with `{project_id}` and `{job_id}` placeholders.
    pub const fn template(self) -> &'static str {
        self.row().template
    }

    /// How a list operation pages; `None` for one that answers at once.
    pub const fn page(self) -> Option<PageLimits> {
        self.row().page
    }

    /// The operation's name in the official SDKs (`ListImageJobs`).
    pub const fn sdk_name(self) -> &'static str {
        self.row().sdk_name
    }

    /// Whether the path names one job (`{job_id}`).
    pub(crate) fn takes_job_id(self) -> bool {
        self.template().contains("{job_id}")
    }

    /// The path for `project_id` and, for an operation on one job, `job_id`
    /// (given exactly when [`Operation::takes_job_id`]). Both go in as given:
    /// the caller has made them bare, encoded segments.
    pub(crate) fn path(self, project_id: &str, job_id: Option<&str>) -> String {
        debug_assert_eq!(job_id.is_some(), self.takes_job_id(), "{self:?}");
        let path = self.template().replace("{project_id}", project_id);
        match job_id {
            Some(job_id) => path.replace("{job_id}", job_id),
            None => path,
        }
    }

    /// The request without query parameters, as [`Operation::path`] spells it.
    pub(crate) fn request(self, project_id: &str, job_id: Option<&str>) -> ApiRequest {
        ApiRequest::new(self.service(), self.path(project_id, job_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_a_read_with_its_own_path() {
        for op in Operation::ALL {
            assert_eq!(op.method(), "GET", "{op:?}");
            assert_eq!(op.sdk_name(), format!("{op:?}"));
            assert!(op.template().starts_with("/v"), "{op:?}");
            let placeholders = op.template().matches('{').count();
            assert_eq!(placeholders, 1 + usize::from(op.takes_job_id()), "{op:?}");
        }
        let mut templates: Vec<_> = Operation::ALL.iter().map(|op| op.template()).collect();
        templates.sort();
        templates.dedup();
        assert_eq!(templates.len(), Operation::ALL.len());
    }

    #[test]
    fn only_lists_page_and_desktops_page_largest() {
        for op in Operation::ALL {
            let paged = op.page().is_some();
            assert_eq!(paged, op.sdk_name().starts_with("List"), "{op:?}");
        }
        assert_eq!(Operation::ListItaSubJobs.page().map(|p| p.max), Some(1000));
        assert_eq!(Operation::ListSubJobs.page().map(|p| p.max), Some(100));
    }

    #[test]
    fn paths_fill_the_template() {
        assert_eq!(
            Operation::ShowJobDetail.path("p", Some("j")),
            "/v2/p/job/j".to_owned()
        );
        let request = Operation::ListItaSubJobs.request("p", None);
        assert_eq!(request.service, Service::Workspace);
        assert_eq!(request.path, "/v2/p/workspace-sub-jobs");
    }
}
