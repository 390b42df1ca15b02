//! Resolving each service's base URL from the region and the overrides.
//!
//! Precedence, highest first: `--endpoint SERVICE=URL` on the command line,
//! `JOBGATE_<SERVICE>_ENDPOINT` in the environment, `defaults.endpoints` in
//! the spec, then the public host for `defaults.region`.
//!
//! Every endpoint is read with a real URL parser before anything is sent:
//! a string test cannot tell `http://127.0.0.1@evil.example` (a host named
//! `evil.example`) from a loopback address.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use reqwest::Url;
use reqwest::tls::Certificate;

use super::Service;

/// Where the extra trusted certificates come from when `--ca-cert` is not
/// given: the variable OpenSSL, curl and most HTTP clients honour.
pub(crate) const ENV_SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The resolved base URL of each service, and the private CAs trusted on
/// top of the built-in roots.
#[derive(Debug, Clone)]
pub struct Endpoints {
    workspace: String,
    appstream: String,
    trusted: Vec<Certificate>,
}

/// Where the overrides come from, highest precedence first.
#[derive(Debug, Default, Clone)]
pub(crate) struct Overrides {
    /// From `--endpoint`; a value without `SERVICE=` applies to both.
    pub(crate) cli: Vec<(Option<Service>, String)>,
    /// From the environment.
    pub(crate) env: Vec<(Service, String)>,
    /// From the spec.
    pub(crate) spec: Vec<(Service, String)>,
}

/// A problem resolving endpoints. `origin` says where the URL came from
/// (`--endpoint`, an environment variable or the spec) so the user knows
/// which one to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error(
        "no region and no endpoint for the {0} service: set `defaults.region` in the spec (e.g. cn-north-4) or pass --endpoint {0}=URL"
    )]
    NoRegion(Service),
    #[error(
        "{origin}: refusing plain http to {url}: credentials would cross the network unencrypted; use https, or pass --allow-http if this really is a trusted network (plain http needs no flag only for 127.0.0.0/8, ::1 and `localhost`)"
    )]
    PlainHttp { origin: String, url: String },
    #[error("`{0}` is not an http(s) URL")]
    NotUrl(String),
    #[error(
        "{origin}: `{url}` is not a usable URL ({reason}); write it as https://HOST[:PORT][/PATH]"
    )]
    Invalid {
        origin: String,
        url: String,
        reason: String,
    },
    #[error(
        "{origin}: `{url}` has a user name or password before `@`: the host that receives the credentials is the one after `@`, which is rarely what was meant; jobgate takes no credentials in URLs, so remove the part before `@`"
    )]
    Userinfo { origin: String, url: String },
    #[error(
        "{origin}: cannot use the CA certificate file {path}: {reason}; give a file of one or more PEM certificates (-----BEGIN CERTIFICATE-----)"
    )]
    CaCert {
        origin: String,
        path: String,
        reason: String,
    },
}

impl Endpoints {
    /// Resolves both services. Plain `http://` is accepted only for loopback
    /// hosts unless `allow_http` is set.
    pub(crate) fn resolve(
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
                .map(|(_, u)| (u.clone(), "--endpoint".to_owned()))
                .or_else(|| {
                    overrides
                        .env
                        .iter()
                        .find(|(s, _)| *s == service)
                        .map(|(_, u)| (u.clone(), service.endpoint_env_var().to_owned()))
                })
                .or_else(|| {
                    overrides
                        .spec
                        .iter()
                        .find(|(s, _)| *s == service)
                        .map(|(_, u)| {
                            (
                                u.clone(),
                                format!("the spec's defaults.endpoints.{service}"),
                            )
                        })
                });
            let (url, origin) = match chosen {
                Some((url, origin)) => (url.trim_end_matches('/').to_owned(), origin),
                None if region.is_empty() => return Err(EndpointError::NoRegion(service)),
                None => (
                    service.default_endpoint(region),
                    format!("the region `{region}`"),
                ),
            };
            check_url(&url, &origin, allow_http)?;
            Ok(url)
        };
        Ok(Endpoints {
            workspace: pick(Service::Workspace)?,
            appstream: pick(Service::AppStream)?,
            trusted: Vec::new(),
        })
    }

    /// Adds the certificates of `ca_cert` (from `--ca-cert` or
    /// `JOBGATE_CA_CERT`), or else of `$SSL_CERT_FILE`, to the roots TLS
    /// trusts, for private CAs and TLS-inspecting proxies. The built-in
    /// roots stay trusted. A file that cannot be read or holds no
    /// certificate is an error now, before any request.
    pub(crate) fn trust(
        self,
        ca_cert: Option<&Path>,
        ssl_cert_file: Option<PathBuf>,
    ) -> Result<Endpoints, EndpointError> {
        let (path, origin) = match (ca_cert, ssl_cert_file) {
            (Some(path), _) => (path.to_owned(), "--ca-cert (JOBGATE_CA_CERT)"),
            (None, Some(path)) if !path.as_os_str().is_empty() => (path, ENV_SSL_CERT_FILE),
            _ => return Ok(self),
        };
        let trusted = load_certificates(&path, origin)?;
        Ok(Endpoints { trusted, ..self })
    }

    /// The base URL of a service.
    pub(crate) fn base(&self, service: Service) -> &str {
        match service {
            Service::Workspace => &self.workspace,
            Service::AppStream => &self.appstream,
        }
    }

    /// The extra certificates TLS trusts besides the built-in roots.
    pub(crate) fn trusted(&self) -> &[Certificate] {
        &self.trusted
    }

    /// Whether every endpoint is on this machine, where no proxy can (or
    /// should, since the token would cross it) stand in between.
    pub(crate) fn all_loopback(&self) -> bool {
        [&self.workspace, &self.appstream]
            .into_iter()
            .all(|u| Url::parse(u).is_ok_and(|u| is_loopback(&u)))
    }
}

/// Checks a base URL that is not one of the two services' (IAM's, for
/// keyless authentication) by the same rules, and says whether it is on
/// this machine.
pub(crate) fn check_other(
    url: &str,
    origin: &str,
    allow_http: bool,
) -> Result<bool, EndpointError> {
    check_url(url, origin, allow_http)?;
    Ok(Url::parse(url).is_ok_and(|u| is_loopback(&u)))
}

/// Reads a PEM bundle; `origin` names the option or variable it came from.
fn load_certificates(path: &Path, origin: &str) -> Result<Vec<Certificate>, EndpointError> {
    let error = |reason: String| EndpointError::CaCert {
        origin: origin.to_owned(),
        path: path.display().to_string(),
        reason,
    };
    // A CA bundle is kilobytes; refuse to read a device or a huge file whole.
    const MAX_BUNDLE: u64 = 16 * 1024 * 1024;
    let file = std::fs::File::open(path).map_err(|e| error(e.to_string()))?;
    let mut pem = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_BUNDLE + 1), &mut pem)
        .map_err(|e| error(e.to_string()))?;
    if pem.len() as u64 > MAX_BUNDLE {
        return Err(error("it is larger than 16 MiB".into()));
    }
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let ders: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|_| error("it is not valid PEM".into()))?;
    // A system bundle named by SSL_CERT_FILE may hold an old certificate
    // that cannot be used as a root; one given explicitly must be whole.
    let strict = origin != ENV_SSL_CERT_FILE;
    let mut certificates = Vec::new();
    for der in ders {
        if rustls::RootCertStore::empty().add(der.clone()).is_ok() {
            certificates.push(Certificate::from_der(&der).map_err(|e| error(e.to_string()))?);
        } else if strict {
            return Err(error(format!(
                "certificate {} in it cannot be parsed",
                certificates.len() + 1
            )));
        }
    }
    if certificates.is_empty() {
        return Err(error("it holds no usable PEM certificate".into()));
    }
    Ok(certificates)
}

/// Whether a parsed URL's host is this machine: an IP literal in
/// 127.0.0.0/8 or `::1`, or exactly `localhost`. A name that merely starts
/// with `127.` (`127.0.0.1.nip.io`) is a remote host.
fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// The URL without any user name or password, for messages.
fn shown(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

fn check_url(url: &str, origin: &str, allow_http: bool) -> Result<(), EndpointError> {
    let invalid = |reason: &str| EndpointError::Invalid {
        origin: origin.to_owned(),
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| EndpointError::Invalid {
        origin: origin.to_owned(),
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(EndpointError::NotUrl(url.to_owned()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(EndpointError::Userinfo {
            origin: origin.to_owned(),
            url: shown(url),
        });
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid(
            "an endpoint is a base URL: request paths are appended to it, so it takes no `?` query or `#` fragment",
        ));
    }
    if parsed.scheme() == "http" && !is_loopback(&parsed) && !allow_http {
        return Err(EndpointError::PlainHttp {
            origin: origin.to_owned(),
            url: url.to_owned(),
        });
    }
    Ok(())
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
        assert!(e.all_loopback());
    }

    #[test]
    fn plain_http_only_for_loopback_or_opt_in() {
        let mut o = Overrides::default();
        o.cli.push((None, "http://10.1.2.3:80".into()));
        assert!(matches!(
            Endpoints::resolve("", &o, false),
            Err(EndpointError::PlainHttp { .. })
        ));
        assert!(Endpoints::resolve("", &o, true).is_ok());
        assert!(matches!(
            Endpoints::resolve("", &Overrides::default(), false),
            Err(EndpointError::NoRegion(_))
        ));
    }

    fn check(url: &str) -> Result<(), EndpointError> {
        check_url(url, "--endpoint", false)
    }

    #[test]
    fn loopback_means_a_loopback_ip_or_localhost() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.1.2.3",
            "http://localhost:9000/prefix",
            "http://LOCALHOST",
            "http://[::1]:9000",
            "https://workspace.cn-north-4.myhuaweicloud.com",
            "https://10.0.0.1:8443",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for remote in [
            "http://127.evil.example",
            "http://127.0.0.1.nip.io",
            "http://localhost.evil.example",
            "http://[::2]",
            "http://10.0.0.1",
            "http://128.0.0.1",
        ] {
            assert!(
                matches!(check(remote), Err(EndpointError::PlainHttp { .. })),
                "{remote}: {:?}",
                check(remote)
            );
        }
    }

    #[test]
    fn userinfo_is_refused_and_never_shown() {
        for url in [
            "http://127.0.0.1@evil.example",
            "https://user:hunter2@example.com",
            "http://user@127.0.0.1:80",
        ] {
            let err = check(url).unwrap_err();
            assert!(
                matches!(err, EndpointError::Userinfo { .. }),
                "{url}: {err:?}"
            );
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn unparsable_urls_are_refused_with_their_origin() {
        for url in [
            "http://127.0.0.1:65536",
            "https://example.com:99999999",
            "https://exa mple.com",
            "https://",
            "https://example.com/base?x=1",
            "https://example.com/#frag",
        ] {
            let err = check(url).unwrap_err();
            assert!(
                matches!(err, EndpointError::Invalid { .. }),
                "{url}: {err:?}"
            );
            assert!(err.to_string().starts_with("--endpoint: "), "{err}");
        }
        assert!(matches!(
            check("ftp://example.com"),
            Err(EndpointError::NotUrl(_))
        ));
        assert!(matches!(
            check("example.com"),
            Err(EndpointError::Invalid { .. })
        ));
        let mut o = Overrides::default();
        o.env
            .push((Service::Workspace, "https://example.com:70000".into()));
        let err = Endpoints::resolve("cn-north-4", &o, false).unwrap_err();
        assert!(
            err.to_string().starts_with("JOBGATE_WORKSPACE_ENDPOINT: "),
            "{err}"
        );
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let e = Endpoints::resolve("cn-north-4", &Overrides::default(), false).unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            e.clone().trust(Some(&missing), None),
            Err(EndpointError::CaCert { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = e.clone().trust(None, Some(empty.clone())).unwrap_err();
        assert!(err.to_string().starts_with("SSL_CERT_FILE: "), "{err}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(matches!(
            e.clone().trust(Some(&garbage), None),
            Err(EndpointError::CaCert { .. })
        ));
        // Neither given: the built-in roots alone.
        assert!(e.clone().trust(None, None).unwrap().trusted().is_empty());
        assert!(
            e.trust(None, Some(PathBuf::new()))
                .unwrap()
                .trusted()
                .is_empty()
        );
    }
}
