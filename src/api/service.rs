//! The two Workspace services and where each one lives per region.

use std::fmt;

/// A Huawei Cloud service that reports job state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    /// Workspace (cloud desktops), API v2.
    Workspace,
    /// Workspace Application Streaming (app servers, image servers), API v1/v2.
    AppStream,
}

/// Regions where Application Streaming has its own `appstream.` host; every
/// other region serves it from the `workspace.` host.
const APPSTREAM_HOST_REGIONS: [&str; 5] = [
    "cn-north-4",
    "cn-north-9",
    "cn-east-3",
    "cn-south-1",
    "cn-southwest-2",
];

impl Service {
    /// Both services, for iteration in help text and overrides.
    pub(crate) const ALL: [Service; 2] = [Service::Workspace, Service::AppStream];

    /// The spelling used in specs, flags and environment variables.
    pub fn name(self) -> &'static str {
        match self {
            Self::Workspace => "workspace",
            Self::AppStream => "appstream",
        }
    }

    /// The public HTTPS endpoint for `region`, as the official SDKs resolve it.
    pub(crate) fn default_endpoint(self, region: &str) -> String {
        let host_prefix = match self {
            Self::AppStream if APPSTREAM_HOST_REGIONS.contains(&region) => "appstream",
            _ => "workspace",
        };
        format!("https://{host_prefix}.{region}.myhuaweicloud.com")
    }

    /// The environment variable that overrides this service's endpoint in
    /// every region (private endpoints, proxies, the simulator).
    pub(crate) fn endpoint_env_var(self) -> &'static str {
        match self {
            Self::Workspace => "JOBGATE_WORKSPACE_ENDPOINT",
            Self::AppStream => "JOBGATE_APPSTREAM_ENDPOINT",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appstream_host_depends_on_region() {
        assert_eq!(
            Service::AppStream.default_endpoint("cn-north-4"),
            "https://appstream.cn-north-4.myhuaweicloud.com"
        );
        assert_eq!(
            Service::AppStream.default_endpoint("ap-southeast-1"),
            "https://workspace.ap-southeast-1.myhuaweicloud.com"
        );
        assert_eq!(
            Service::Workspace.default_endpoint("cn-north-4"),
            "https://workspace.cn-north-4.myhuaweicloud.com"
        );
    }
}
