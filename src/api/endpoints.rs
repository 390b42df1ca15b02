//! Resolving each service's base URL from the region and the overrides.
//!
//! Precedence, highest first: `--endpoint SERVICE=URL` on the command line,
//! `JOBGATE_<SERVICE>_ENDPOINT` in the environment, `defaults.endpoints` in
//! the spec, then the public host for `defaults.region`.

use super::Service;

/// The resolved base URL of each service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    workspace: String,
    appstream: String,
}

/// Where the overrides come from, highest precedence first.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// From `--endpoint`; a value without `SERVICE=` applies to both.
    pub cli: Vec<(Option<Service>, String)>,
    /// From the environment.
    pub env: Vec<(Service, String)>,
    /// From the spec.
    pub spec: Vec<(Service, String)>,
}

/// A problem resolving endpoints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "no region and no endpoint for the {0} service: set `defaults.region` in the spec (e.g. cn-north-4) or pass --endpoint {0}=URL"
    )]
    NoRegion(Service),
    #[error(
        "refusing plain http to {0}: credentials would cross the network unencrypted; use https, or pass --allow-http if this really is a trusted network"
    )]
    PlainHttp(String),
    #[error("`{0}` is not an http(s) URL")]
    NotUrl(String),
}

impl Endpoints {
    /// Resolves both services. Plain `http://` is accepted only for loopback
    /// hosts unless `allow_http` is set.
    pub fn resolve(
        region: &str,
        overrides: &Overrides,
        allow_http: bool,
    ) -> Result<Endpoints, EndpointError> {
        let pick = |service: Service| -> Result<String, EndpointError> {
            let chosen = overrides
                .cli
                .iter()
                .rev()
                .find(|(s, _)| s.is_none_or(|s| s == service))
                .map(|(_, u)| u.clone())
                .or_else(|| {
                    overrides
                        .env
                        .iter()
                        .find(|(s, _)| *s == service)
                        .map(|(_, u)| u.clone())
                })
                .or_else(|| {
                    overrides
                        .spec
                        .iter()
                        .find(|(s, _)| *s == service)
                        .map(|(_, u)| u.clone())
                });
            let url = match chosen {
                Some(url) => url.trim_end_matches('/').to_owned(),
                None if region.is_empty() => return Err(EndpointError::NoRegion(service)),
                None => service.default_endpoint(region),
            };
            check_scheme(&url, allow_http)?;
            Ok(url)
        };
        Ok(Endpoints {
            workspace: pick(Service::Workspace)?,
            appstream: pick(Service::AppStream)?,
        })
    }

    /// The base URL of a service.
    pub fn base(&self, service: Service) -> &str {
        match service {
            Service::Workspace => &self.workspace,
            Service::AppStream => &self.appstream,
        }
    }
}

fn check_scheme(url: &str, allow_http: bool) -> Result<(), EndpointError> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(EndpointError::NotUrl(url.to_owned()));
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    let loopback = host == "localhost" || host == "[::1]" || host.starts_with("127.");
    if loopback || allow_http {
        Ok(())
    } else {
        Err(EndpointError::PlainHttp(url.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_cli_env_spec_region() {
        let mut o = Overrides::default();
        let e = Endpoints::resolve("cn-north-4", &o, false).unwrap();
        assert_eq!(
            e.base(Service::AppStream),
            "https://appstream.cn-north-4.myhuaweicloud.com"
        );
        o.spec
            .push((Service::Workspace, "https://spec.example".into()));
        o.env
            .push((Service::Workspace, "https://env.example".into()));
        assert_eq!(
            Endpoints::resolve("cn-north-4", &o, false)
                .unwrap()
                .base(Service::Workspace),
            "https://env.example"
        );
        o.cli.push((None, "http://127.0.0.1:9/".into()));
        let e = Endpoints::resolve("", &o, false).unwrap();
        assert_eq!(e.base(Service::Workspace), "http://127.0.0.1:9");
        assert_eq!(e.base(Service::AppStream), "http://127.0.0.1:9");
    }

    #[test]
    fn plain_http_only_for_loopback_or_opt_in() {
        let mut o = Overrides::default();
        o.cli.push((None, "http://10.1.2.3:80".into()));
        assert!(matches!(
            Endpoints::resolve("", &o, false),
            Err(EndpointError::PlainHttp(_))
        ));
        assert!(Endpoints::resolve("", &o, true).is_ok());
        assert!(matches!(
            Endpoints::resolve("", &Overrides::default(), false),
            Err(EndpointError::NoRegion(_))
        ));
    }
}
