//! `defaults:`: what every wait inherits, the project id and the endpoints.

use crate::api::Service;
use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::SpecDiagnostic;
use crate::spec::duration;
use crate::spec::model::*;
use crate::spec::yaml::{Node, Span};

use super::{DEFAULT_KEYS, Inherited, POLL_KEYS, Validator};

impl Validator<'_> {
    pub(super) fn defaults(&mut self, node: Option<&Node>) -> (Option<Endpoints>, Inherited) {
        let time_scale = match crate::engine::estimate::scale::from_process() {
            Ok(scale) => scale,
            Err(message) => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::TimeScale, Span::default(), message)
                        .label("set in the environment, not in this file")
                        .help("set it to the simulator's time compression, e.g. 60, or unset it"),
                );
                1.0
            }
        };
        let mut defaults = Inherited {
            project_id: None,
            project_id_invalid: false,
            settings: Defaults::built_in(time_scale),
        };
        let mut endpoints = Some(Endpoints {
            region: String::new(),
            overrides: Vec::new(),
        });
        let Some(node) = node else {
            defaults.project_id = self.project_id_from_env();
            return (endpoints, defaults);
        };
        if self.map(node, "`defaults`").is_none() {
            return (endpoints, defaults);
        }
        self.known_keys(node, &DEFAULT_KEYS, "in `defaults`");
        if let Some(n) = node.get("region") {
            match self.string(n) {
                Some(region) if is_region(&region) => {
                    if let Some(e) = endpoints.as_mut() {
                        e.region = region
                    }
                }
                Some(region) => {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::Region,
                            n.span,
                            format!("`{region}` is not a region id"),
                        )
                        .label("not a region id")
                        .help("write a region id such as `cn-north-4` or `ap-southeast-1`"),
                    );
                    endpoints = None;
                }
                None => endpoints = None,
            }
        }
        if let Some(n) = node.get("endpoints") {
            match self.endpoint_overrides(n) {
                Some(overrides) => {
                    if let Some(e) = endpoints.as_mut() {
                        e.overrides = overrides
                    }
                }
                None => endpoints = None,
            }
        }
        defaults.project_id = match node.get("project_id") {
            Some(n) => {
                let id = self.project_id(n).map(|p| (p, n.span));
                defaults.project_id_invalid = id.is_none();
                id
            }
            None => self.project_id_from_env(),
        };
        if let Some(t) = node
            .get("timeout")
            .and_then(|n| self.positive_duration(n, duration::LONGEST))
        {
            defaults.settings.timeout = t;
        }
        if let Some(p) = node
            .get("poll")
            .and_then(|n| self.poll(n, &defaults.settings.poll))
        {
            defaults.settings.poll = p;
        }
        if let Some(g) = node
            .get("not_found_grace")
            .and_then(|n| self.duration(n, duration::LONGEST))
        {
            defaults.settings.not_found_grace = g;
        }
        if let Some(b) = node.get("error_budget").and_then(|n| self.count(n, 0)) {
            defaults.settings.error_budget = b;
        }
        if let Some(p) = node
            .get("unknown_status")
            .and_then(|n| self.unknown_policy(n))
        {
            defaults.settings.unknown_status = p;
        }
        if let Some(s) = node.get("stable_for").and_then(|n| self.count(n, 1)) {
            defaults.settings.stable_for = s;
        }
        (endpoints, defaults)
    }

    pub(super) fn project_id_from_env(&self) -> Option<(String, Span)> {
        (self.env)("HUAWEICLOUD_SDK_PROJECT_ID")
            .filter(|p| !p.is_empty())
            .map(|p| (p, Span::default()))
    }

    pub(super) fn project_id(&mut self, node: &Node) -> Option<String> {
        self.no_bare_references(node)?;
        let id = self.string(node)?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::ProjectId, node.span, format!("`{id}` is not a project id"))
                    .label("not a project id")
                    .help("a project id is 32 hexadecimal characters; find it under My Credentials > Projects in the console"),
            );
            return None;
        }
        Some(id)
    }

    pub(super) fn endpoint_overrides(&mut self, node: &Node) -> Option<Vec<(Service, String)>> {
        let entries = self.map(node, "`endpoints`")?;
        let mut out = Vec::new();
        let mut ok = true;
        for (key, value) in entries {
            let name = key.scalar_text().unwrap_or_default();
            let Some(service) = Service::ALL.into_iter().find(|s| s.name() == name) else {
                self.unknown_key(key, &["workspace", "appstream"], "in `endpoints`");
                ok = false;
                continue;
            };
            let Some(url) = self.string(value) else {
                ok = false;
                continue;
            };
            match endpoint_problem(&url) {
                None => out.push((service, url.trim_end_matches('/').to_owned())),
                Some((label, help)) => {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::Endpoint,
                            value.span,
                            format!("`{url}` is not a usable endpoint URL: {label}"),
                        )
                        .label(label)
                        .help(help),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    pub(super) fn poll(&mut self, node: &Node, base: &PollSchedule) -> Option<PollSchedule> {
        self.map(node, "`poll`")?;
        self.known_keys(node, &POLL_KEYS, "in `poll`");
        let mut poll = *base;
        let mut ok = true;
        if let Some(n) = node.get("initial") {
            match self.positive_duration(n, duration::LONGEST_POLL_DELAY) {
                Some(d) => poll.initial = d,
                None => ok = false,
            }
        }
        if let Some(n) = node.get("max") {
            match self.positive_duration(n, duration::LONGEST_POLL_DELAY) {
                Some(d) => poll.max = d,
                None => ok = false,
            }
        }
        if let Some(n) = node.get("factor") {
            match n.scalar_text().and_then(|t| t.parse::<f64>().ok()) {
                Some(f) if (1.0..=10.0).contains(&f) => poll.factor = f,
                _ => {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::PollFactor,
                            n.span,
                            "`factor` must be a number from 1 to 10",
                        )
                        .label("not a number from 1 to 10")
                        .help("1 polls at a fixed interval; 2 doubles the delay each time"),
                    );
                    ok = false;
                }
            }
        }
        if let Some(n) = node.get("jitter") {
            match n.scalar_text().as_deref() {
                Some("full") => poll.jitter = Jitter::Full,
                Some("none") | Some("false") => poll.jitter = Jitter::None,
                _ => {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::PollJitter,
                            n.span,
                            "`jitter` must be `full` or `none`",
                        )
                        .label("neither `full` nor `none`")
                        .help("`full` spreads polls randomly so many gates do not poll in step"),
                    );
                    ok = false;
                }
            }
        }
        if let Some(n) = node.get("adaptive") {
            match self.boolean(n) {
                Some(b) => poll.adaptive = b,
                None => ok = false,
            }
        }
        if let Some(n) = node.get("effort") {
            match n.scalar_text().as_deref().and_then(Effort::parse) {
                Some(e) => poll.effort = e,
                None => {
                    self.error(
                        SpecDiagnostic::new(
                            DiagnosticCode::PollEffort,
                            n.span,
                            "`effort` must be `gentle`, `balanced` or `eager`",
                        )
                        .label("not an effort")
                        .help("`eager` polls more often to see the end sooner, `gentle` less often; `balanced` is the default"),
                    );
                    ok = false;
                }
            }
        }
        if ok && poll.initial > poll.max {
            let span = node.get("initial").map_or(node.span, |n| n.span);
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::PollOrder,
                    span,
                    format!(
                        "the initial delay ({}) is longer than the maximum ({})",
                        duration::format(poll.initial),
                        duration::format(poll.max)
                    ),
                )
                .label("longer than `max`")
                .help("make `initial` at most `max`"),
            );
            ok = false;
        }
        ok.then_some(poll)
    }
}

/// What is wrong with an endpoint override, as a label and a hint; `None`
/// when it is an http(s) base URL with a host and a valid port.
fn endpoint_problem(url: &str) -> Option<(String, String)> {
    let example =
        "write the service's base URL, e.g. `https://workspace.cn-north-4.myhuaweicloud.com`";
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Some(("no `http://` or `https://` scheme".into(), example.into()));
    }
    let bad_port = || {
        Some((
            "the port is not a number from 1 to 65535".to_owned(),
            "fix the port after the host's `:`, e.g. `https://host:8443`".to_owned(),
        ))
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(e) => {
            // The authority's last `:` (after an IPv6 literal's `]`) starts the port.
            let authority = url
                .split("://")
                .nth(1)
                .unwrap_or("")
                .split(['/', '?', '#'])
                .next()
                .unwrap_or("");
            let port = authority
                .rsplit_once(']')
                .map_or(authority, |(_, p)| p)
                .rsplit_once(':');
            if port.is_some_and(|(_, p)| p.parse::<u16>().is_err()) {
                return bad_port();
            }
            return Some((format!("not a URL ({e})"), example.into()));
        }
    };
    if parsed.port() == Some(0) {
        return bad_port();
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Some(("it has no host".into(), example.into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some((
            "it holds a user name or password".into(),
            "credentials come from the environment, never from the URL: remove `user@`".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Some(("it has a query or fragment".into(), example.into()));
    }
    None
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

#[cfg(test)]
mod endpoint_tests {
    use super::endpoint_problem;

    #[test]
    fn endpoint_urls_need_a_host_and_a_real_port() {
        for ok in [
            "https://workspace.cn-north-4.myhuaweicloud.com",
            "http://127.0.0.1:8080/",
            "https://[::1]:65535",
        ] {
            assert_eq!(endpoint_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("https://host:70000", "port"),
            ("https://host:65536/x", "port"),
            ("https://host:0", "port"),
            ("https://[::1]:99999", "port"),
            ("https://host:x", "port"),
            ("https://user:pw@host", "user name"),
            ("https://host/?a=1", "query"),
            ("ftp://host", "scheme"),
            ("https://", "URL"),
        ] {
            let (label, _) = endpoint_problem(bad).unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(label.contains(why), "{bad}: {label}");
        }
    }
}
