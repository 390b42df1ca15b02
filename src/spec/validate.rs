//! Turning the located YAML tree into a validated [`Spec`], collecting every
//! mistake on the way.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value as Json;
use serde_json_path::JsonPath;

use super::diagnostic::{SpecDiagnostic, did_you_mean};
use super::duration;
use super::interpolate::{InterpolationError, Piece, bare_references, expand};
use super::model::*;
use super::yaml::{Node, Span, Value};
use crate::api::{Service, Status, status};
use crate::condition::{
    Check, Comparison, Condition, ItemFilter, PathTest, Quantifier, Rules, StatusSet, Threshold,
    UnknownStatusPolicy,
};

const TOP_KEYS: [&str; 5] = ["version", "defaults", "waits", "deadline", "fail_fast"];
const DEFAULT_KEYS: [&str; 9] = [
    "region",
    "project_id",
    "endpoints",
    "timeout",
    "poll",
    "not_found_grace",
    "error_budget",
    "unknown_status",
    "stable_for",
];
const KIND_KEYS: [&str; 9] = [
    "image_job",
    "app_server_job",
    "desktop_job",
    "image_sub_jobs",
    "app_server_sub_jobs",
    "desktop_sub_jobs",
    "image_sub_job_count",
    "app_server_sub_job_count",
    "get",
];
const WAIT_KEYS: [&str; 14] = [
    "pending",
    "target",
    "success",
    "failure",
    "timeout",
    "poll",
    "stable_for",
    "not_found_grace",
    "error_budget",
    "after",
    "outputs",
    "unknown_status",
    "allow_empty",
    "project_id",
];
const POLL_KEYS: [&str; 5] = ["initial", "max", "factor", "jitter", "adaptive"];
const CHECK_KEYS: [&str; 8] = [
    "status", "all", "any", "none", "count", "path", "all_of", "any_of",
];

/// The defaults that waits inherit.
struct Defaults {
    project_id: Option<(String, Span)>,
    /// `defaults.project_id` is written but wrong (already reported).
    project_id_invalid: bool,
    timeout: Duration,
    poll: PollSchedule,
    not_found_grace: Duration,
    error_budget: u32,
    unknown_status: UnknownStatusPolicy,
    stable_for: u32,
}

/// Walks the tree, collecting diagnostics.
pub struct Validator<'a> {
    source: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
    diagnostics: Vec<SpecDiagnostic>,
}

impl<'a> Validator<'a> {
    /// A validator over `source`, reading variables through `env`.
    pub fn new(source: &'a str, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Validator {
            source,
            env,
            diagnostics: Vec::new(),
        }
    }

    fn error(&mut self, diagnostic: SpecDiagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// Validates the whole document.
    pub fn spec(mut self, origin: &str, root: &Node) -> Result<Spec, Vec<SpecDiagnostic>> {
        let spec = self.document(origin, root);
        let mut diagnostics = self.diagnostics;
        diagnostics.sort_by_key(|d| (d.span.offset, d.code));
        diagnostics.dedup();
        match spec {
            Some(spec) if diagnostics.is_empty() => Ok(spec),
            _ => Err(diagnostics),
        }
    }

    fn document(&mut self, origin: &str, root: &Node) -> Option<Spec> {
        if root.value == Value::Null {
            self.error(
                SpecDiagnostic::new("spec::empty", root.span, "the spec is empty")
                    .help("start with `version: 1` and a `waits:` mapping; see `jobgate --help`"),
            );
            return None;
        }
        self.map(root, "the spec")?;
        self.known_keys(root, &TOP_KEYS, "at the top level");
        match root.get("version") {
            None => self.error(
                SpecDiagnostic::new("spec::version", root.span, "the spec has no `version`")
                    .label("version missing in this document")
                    .help("add `version: 1` as the first line"),
            ),
            Some(v) if v.scalar_text().as_deref() != Some("1") => self.error(
                SpecDiagnostic::new("spec::version", v.span, "unsupported spec version")
                    .label("only version 1 exists")
                    .help("write `version: 1`"),
            ),
            Some(_) => {}
        }
        let (endpoints, defaults) = self.defaults(root.get("defaults"));
        let deadline = root
            .get("deadline")
            .and_then(|n| self.positive_duration(n, duration::LONGEST));
        let fail_fast = root
            .get("fail_fast")
            .and_then(|n| self.boolean(n))
            .unwrap_or(true);
        let waits_node = match root.get("waits") {
            Some(node) => node,
            None => {
                self.error(
                    SpecDiagnostic::new("spec::no_waits", root.span, "the spec has no `waits`")
                        .label("this spec has no `waits:` key")
                        .help("add a `waits:` mapping, e.g.\nwaits:\n  build:\n    image_job: ${IMAGE_JOB_ID}\n    target: [SUCCESS]"),
                );
                return None;
            }
        };
        let entries = self.map(waits_node, "`waits`")?;
        if entries.is_empty() {
            self.error(
                SpecDiagnostic::new("spec::no_waits", waits_node.span, "`waits` is empty")
                    .label("no waits")
                    .help("declare at least one wait"),
            );
        }
        let names: Vec<(String, Span)> = entries
            .iter()
            .filter_map(|(k, _)| k.scalar_text().map(|s| (s, k.span)))
            .collect();
        let mut waits = Vec::new();
        let mut seen = BTreeSet::new();
        for (key, node) in entries {
            let Some(name) = self.wait_name(key, &mut seen) else {
                continue;
            };
            if let Some(wait) = self.wait(&name, key.span, node, &defaults) {
                waits.push((wait, node));
            }
        }
        self.check_graph(&waits, &names);
        let endpoints = endpoints?;
        Some(Spec {
            origin: origin.to_owned(),
            endpoints,
            deadline,
            fail_fast,
            waits: waits.into_iter().map(|(w, _)| w).collect(),
        })
    }

    fn wait_name(&mut self, key: &Node, seen: &mut BTreeSet<String>) -> Option<String> {
        let Some(name) = key.scalar_text() else {
            self.error(
                SpecDiagnostic::new(
                    "spec::wait_name",
                    key.span,
                    "a wait's name must be a string",
                )
                .help("name the wait with letters, digits, `-` and `_`, e.g. `build:`"),
            );
            return None;
        };
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            self.error(
                SpecDiagnostic::new("spec::wait_name", key.span, format!("`{name}` is not a valid wait name"))
                    .label("not a valid wait name")
                    .help("use letters, digits, `-` and `_` (names appear in reports, outputs and `after:`)"),
            );
            return None;
        }
        if !seen.insert(name.clone()) {
            self.error(
                SpecDiagnostic::new(
                    "spec::duplicate_wait",
                    key.span,
                    format!("wait `{name}` is declared twice"),
                )
                .label("second declaration")
                .help("give each wait its own name"),
            );
            return None;
        }
        Some(name)
    }

    fn defaults(&mut self, node: Option<&Node>) -> (Option<Endpoints>, Defaults) {
        let mut defaults = Defaults {
            project_id: None,
            project_id_invalid: false,
            timeout: Duration::from_secs(30 * 60),
            poll: PollSchedule::default(),
            not_found_grace: Duration::from_secs(30),
            error_budget: 6,
            unknown_status: UnknownStatusPolicy::Fail,
            stable_for: 1,
        };
        let mut endpoints = Some(Endpoints {
            region: String::new(),
            overrides: Vec::new(),
        });
        let Some(node) = node else {
            defaults.project_id = self.project_id_from_env(None);
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
                            "spec::region",
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
            None => self.project_id_from_env(None),
        };
        if let Some(t) = node
            .get("timeout")
            .and_then(|n| self.positive_duration(n, duration::LONGEST))
        {
            defaults.timeout = t;
        }
        if let Some(p) = node.get("poll").and_then(|n| self.poll(n, &defaults.poll)) {
            defaults.poll = p;
        }
        if let Some(g) = node
            .get("not_found_grace")
            .and_then(|n| self.duration(n, duration::LONGEST))
        {
            defaults.not_found_grace = g;
        }
        if let Some(b) = node.get("error_budget").and_then(|n| self.count(n, 0)) {
            defaults.error_budget = b;
        }
        if let Some(p) = node
            .get("unknown_status")
            .and_then(|n| self.unknown_policy(n))
        {
            defaults.unknown_status = p;
        }
        if let Some(s) = node.get("stable_for").and_then(|n| self.count(n, 1)) {
            defaults.stable_for = s;
        }
        (endpoints, defaults)
    }

    fn project_id_from_env(&self, _span: Option<Span>) -> Option<(String, Span)> {
        (self.env)("HUAWEICLOUD_SDK_PROJECT_ID")
            .filter(|p| !p.is_empty())
            .map(|p| (p, Span::default()))
    }

    fn project_id(&mut self, node: &Node) -> Option<String> {
        self.no_bare_references(node)?;
        let id = self.string(node)?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            self.error(
                SpecDiagnostic::new("spec::project_id", node.span, format!("`{id}` is not a project id"))
                    .label("not a project id")
                    .help("a project id is 32 hexadecimal characters; find it under My Credentials > Projects in the console"),
            );
            return None;
        }
        Some(id)
    }

    fn endpoint_overrides(&mut self, node: &Node) -> Option<Vec<(Service, String)>> {
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
                            "spec::endpoint",
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

    fn poll(&mut self, node: &Node, base: &PollSchedule) -> Option<PollSchedule> {
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
                            "spec::poll_factor",
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
                            "spec::poll_jitter",
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
        if ok && poll.initial > poll.max {
            let span = node.get("initial").map_or(node.span, |n| n.span);
            self.error(
                SpecDiagnostic::new(
                    "spec::poll_order",
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

    fn wait(&mut self, name: &str, span: Span, node: &Node, defaults: &Defaults) -> Option<Wait> {
        self.map(node, &format!("wait `{name}`"))?;
        let entries = match &node.value {
            Value::Map(entries) => entries,
            _ => return None,
        };
        let mut allowed: Vec<&str> = WAIT_KEYS.to_vec();
        allowed.extend(KIND_KEYS);
        self.known_keys(node, &allowed, &format!("in wait `{name}`"));
        let kinds: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| KIND_KEYS.contains(&k)))
            .collect();
        let target = match kinds.as_slice() {
            [] => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::no_kind",
                        node.span,
                        format!("wait `{name}` does not say what to poll"),
                    )
                    .label("no wait kind in this wait")
                    .help(format!("add one of: {}", KIND_KEYS.join(", "))),
                );
                None
            }
            [(key, value)] => self.target(key.as_str().unwrap_or_default(), value),
            [_, (second, _), ..] => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::two_kinds",
                        second.span,
                        format!("wait `{name}` has more than one wait kind"),
                    )
                    .label("a second wait kind")
                    .help("a wait polls one endpoint: split it into two waits"),
                );
                None
            }
        };
        let project_id = match node.get("project_id") {
            Some(n) => self.project_id(n),
            None => match &defaults.project_id {
                Some((id, _)) => Some(id.clone()),
                // The mistake in `defaults` is reported once, not per wait.
                None if defaults.project_id_invalid => None,
                None => {
                    let span = node.span;
                    self.error(
                        SpecDiagnostic::new("spec::project_id", span, format!("wait `{name}` has no project id"))
                            .label("project id needed by this wait")
                            .help("add `project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}` under `defaults`, or set HUAWEICLOUD_SDK_PROJECT_ID"),
                    );
                    None
                }
            },
        };
        let timeout = node.get("timeout").map_or(Some(defaults.timeout), |n| {
            self.positive_duration(n, duration::LONGEST)
        });
        let poll = node
            .get("poll")
            .map_or(Some(defaults.poll), |n| self.poll(n, &defaults.poll));
        let stable_for = node
            .get("stable_for")
            .map_or(Some(defaults.stable_for), |n| self.count(n, 1));
        let not_found_grace = node
            .get("not_found_grace")
            .map_or(Some(defaults.not_found_grace), |n| {
                self.duration(n, duration::LONGEST)
            });
        let error_budget = node
            .get("error_budget")
            .map_or(Some(defaults.error_budget), |n| self.count(n, 0));
        let unknown_status = node
            .get("unknown_status")
            .map_or(Some(defaults.unknown_status), |n| self.unknown_policy(n));
        let allow_empty = node
            .get("allow_empty")
            .map_or(Some(false), |n| self.boolean(n));
        let after = node
            .get("after")
            .map_or(Some(Vec::new()), |n| self.names(n));
        let outputs = node
            .get("outputs")
            .map_or(Some(Vec::new()), |n| self.outputs(n));
        let rules = match &target {
            Some(t) => self.rules(name, node, Some(t.shape()), unknown_status?, allow_empty?),
            None => {
                // Still check the conditions' own spelling.
                let _ = self.rules(name, node, None, UnknownStatusPolicy::Fail, false);
                None
            }
        };
        Some(Wait {
            name: name.to_owned(),
            span,
            project_id: project_id?,
            target: target?,
            rules: rules?,
            timeout: timeout?,
            poll: poll?,
            stable_for: stable_for?,
            not_found_grace: not_found_grace?,
            error_budget: error_budget?,
            after: after?,
            outputs: outputs?,
        })
    }

    fn target(&mut self, kind: &str, node: &Node) -> Option<Target> {
        match kind {
            "image_job" => Some(Target::ImageJob {
                job_id: self.job_id(node)?,
            }),
            "app_server_job" => Some(Target::AppServerJob {
                job_id: self.job_id(node)?,
            }),
            "desktop_job" => Some(Target::DesktopJob {
                job_id: self.job_id(node)?,
            }),
            "image_sub_jobs" => {
                let filter = self.filter(node, &["job_id", "job_type", "status"], false)?;
                if filter.job_type.is_empty() {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::job_type_required",
                            node.span,
                            "`image_sub_jobs` needs a `job_type`",
                        )
                        .label("no `job_type` in these filters")
                        .help("the API requires it: e.g. `job_type: CREATE_SERVER_IMAGE`"),
                    );
                    return None;
                }
                Some(Target::ImageSubJobs(filter))
            }
            "app_server_sub_jobs" => Some(Target::AppServerSubJobs(self.filter(
                node,
                &["job_id", "job_type", "status"],
                false,
            )?)),
            "desktop_sub_jobs" => Some(Target::DesktopSubJobs(self.filter(
                node,
                &["job_id", "job_type", "status", "desktop_pool_id"],
                false,
            )?)),
            "image_sub_job_count" => Some(Target::ImageSubJobCount(self.filter(
                node,
                &["job_id", "job_type"],
                true,
            )?)),
            "app_server_sub_job_count" => Some(Target::AppServerSubJobCount(self.filter(
                node,
                &["job_id", "job_type"],
                true,
            )?)),
            "get" => self.get(node),
            _ => None,
        }
    }

    /// Refuses `$NAME` without braces in an id or path, where it would be
    /// sent as the literal text `$NAME`.
    fn no_bare_references(&mut self, node: &Node) -> Option<()> {
        let written = node.scalar_text()?;
        let found = bare_references(&written);
        for b in &found {
            self.error(
                SpecDiagnostic::new(
                    "spec::bare_variable",
                    node.narrow(self.source, b.start, b.len),
                    format!(
                        "`${}` is not expanded: variables are written `${{{}}}`",
                        b.name, b.name
                    ),
                )
                .label("would be sent as the literal text")
                .help(format!(
                    "write `${{{}}}`; for a literal `$` in this value, set it through a variable",
                    b.name
                )),
            );
        }
        found.is_empty().then_some(())
    }

    fn job_id(&mut self, node: &Node) -> Option<Template> {
        self.no_bare_references(node)?;
        let template = self.template(node)?;
        if template
            .0
            .iter()
            .all(|p| matches!(p, Piece::Text(t) if t.trim().is_empty()))
        {
            self.error(
                SpecDiagnostic::new("spec::job_id", node.span, "the job id is empty")
                    .label("empty")
                    .help("write the job id the API returned when the job started, e.g. `${IMAGE_JOB_ID}`"),
            );
            return None;
        }
        let bad = template
            .0
            .iter()
            .any(|p| matches!(p, Piece::Text(t) if t.contains(['/', '?', '#', ' '])));
        if bad {
            self.error(
                SpecDiagnostic::new(
                    "spec::job_id",
                    node.span,
                    "a job id cannot contain `/`, `?`, `#` or spaces",
                )
                .label("not a bare job id")
                .help("write only the id, not a URL"),
            );
            return None;
        }
        Some(template)
    }

    fn filter(&mut self, node: &Node, keys: &[&str], multi_type: bool) -> Option<ListFilter> {
        if node.value == Value::Null {
            return Some(ListFilter::default());
        }
        self.map(node, "the wait kind's filters")?;
        self.known_keys(node, keys, "in these filters");
        let mut filter = ListFilter::default();
        let mut ok = true;
        if let Some(n) = node.get("job_id") {
            filter.job_id = self.job_id(n);
            ok &= filter.job_id.is_some();
        }
        if let Some(n) = node.get("desktop_pool_id") {
            filter.desktop_pool_id = self.no_bare_references(n).and_then(|()| self.template(n));
            ok &= filter.desktop_pool_id.is_some();
        }
        if let Some(n) = node.get("job_type") {
            match self.strings(n) {
                Some(types) if types.len() > 1 && !multi_type => {
                    self.error(
                        SpecDiagnostic::new("spec::job_type", n.span, "this endpoint filters on one job type")
                            .label("several job types")
                            .help("give one job type, or filter with `where: { job_type: [...] }` in a condition"),
                    );
                    ok = false;
                }
                Some(types) => filter.job_type = types,
                None => ok = false,
            }
        }
        if let Some(n) = node.get("status") {
            match self.statuses(n) {
                Some(s) if s.len() == 1 => {
                    filter.status = s.into_iter().next().map(|s| s.to_string())
                }
                Some(_) => {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::status_filter",
                            n.span,
                            "the API filters on one status",
                        )
                        .label("several statuses")
                        .help("give one status here and use conditions for the rest"),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
        ok.then_some(filter)
    }

    fn get(&mut self, node: &Node) -> Option<Target> {
        self.map(node, "`get`")?;
        self.known_keys(node, &["service", "path", "query"], "in `get`");
        let service = match node.get("service") {
            None => {
                self.error(
                    SpecDiagnostic::new("spec::get_service", node.span, "`get` needs a `service`")
                        .label("no `service` in `get`")
                        .help("write `service: workspace` or `service: appstream`"),
                );
                None
            }
            Some(n) => {
                let name = self.string(n)?;
                let found = Service::ALL.into_iter().find(|s| s.name() == name);
                if found.is_none() {
                    let mut d = SpecDiagnostic::new(
                        "spec::get_service",
                        n.span,
                        format!("unknown service `{name}`"),
                    )
                    .label("not a service jobgate knows");
                    d = d.help(match did_you_mean(&name, ["workspace", "appstream"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "write `workspace` or `appstream`".into(),
                    });
                    self.error(d);
                }
                found
            }
        };
        let path = match node.get("path") {
            None => {
                self.error(
                    SpecDiagnostic::new("spec::get_path", node.span, "`get` needs a `path`")
                        .label("no `path` in `get`")
                        .help("e.g. `path: /v2/{project_id}/workspace-jobs/${JOB_ID}`"),
                );
                None
            }
            Some(n) => {
                self.no_bare_references(n)?;
                let path = self.template(n)?;
                let starts = matches!(path.0.first(), Some(Piece::Text(t)) if t.starts_with('/'));
                if !starts || path.display().contains(['?', '#']) {
                    let d = SpecDiagnostic::new(
                        "spec::get_path",
                        n.span,
                        "the path must start with `/` and have no query",
                    );
                    self.error(if starts {
                        d.label("query or fragment in the path").help(
                            "put query parameters under `query:`, e.g. `query: { limit: \"10\" }`",
                        )
                    } else {
                        d.label("does not start with `/`")
                            .help(format!("start the path with `/`: `/{}`", path.display()))
                    });
                    None
                } else {
                    Some(path)
                }
            }
        };
        let mut query = Vec::new();
        if let Some(n) = node.get("query") {
            for (k, v) in self.map(n, "`query`").unwrap_or(&[]) {
                let v = self.no_bare_references(v).and_then(|()| self.template(v));
                if let (Some(k), Some(v)) = (k.scalar_text(), v) {
                    query.push((k, v));
                }
            }
        }
        Some(Target::Get {
            service: service?,
            path: path?,
            query,
        })
    }

    fn rules(
        &mut self,
        name: &str,
        node: &Node,
        shape: Option<Shape>,
        unknown_status: UnknownStatusPolicy,
        allow_empty: bool,
    ) -> Option<Rules> {
        let pending_node = node.get("pending");
        let target_node = node.get("target");
        let pending = pending_node.map_or_else(
            || {
                Some(
                    ["WAITING", "RUNNING"]
                        .iter()
                        .map(|s| Status::parse(s))
                        .collect(),
                )
            },
            |n| self.statuses(n),
        );
        let target = target_node.and_then(|n| self.statuses(n));
        if let (Some(p), Some(t), Some(pn), Some(tn)) =
            (&pending, &target, pending_node, target_node)
        {
            for status in p.intersection(t) {
                let span = self.find_status(tn, status).unwrap_or(tn.span);
                self.error(
                    SpecDiagnostic::new(
                        "spec::overlap",
                        span,
                        format!("`{status}` is both pending and target"),
                    )
                    .label("also listed in `pending`")
                    .help(
                        "a status either means 'keep waiting' or 'done': remove it from one list",
                    ),
                );
                let _ = pn;
            }
        }
        if let (Some(tn), Some(t)) = (target_node, &target)
            && t.is_empty()
        {
            self.error(
                SpecDiagnostic::new("spec::empty_target", tn.span, "`target` is empty")
                    .label("no statuses")
                    .help("list the statuses that mean done, e.g. `target: [SUCCESS]`"),
            );
        }
        if target_node.is_some() && matches!(shape, Some(Shape::Count | Shape::Json)) {
            self.error(
                SpecDiagnostic::new(
                    "spec::target_shape",
                    target_node.map_or(node.span, |n| n.span),
                    "`target` needs statuses, which this wait kind does not report",
                )
                .label("this wait kind reports no statuses")
                .help("use `success:` with a `count:` or `path:` condition"),
            );
        }
        let success_node = node.get("success");
        let success = success_node.and_then(|n| self.condition(n, shape, true));
        let failure = node
            .get("failure")
            .and_then(|n| self.condition(n, shape, false));
        let success = match (target_node, success_node) {
            (Some(tn), Some(sn)) => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::target_and_success",
                        sn.span,
                        "`target` and `success` both say when the wait is done",
                    )
                    .label("remove this or `target`")
                    .help(format!(
                        "`target` (line {}) is shorthand for a success condition: keep one",
                        tn.span.line
                    )),
                );
                None
            }
            (Some(_), None) => {
                let statuses = target.clone().filter(|t| !t.is_empty())?;
                match shape? {
                    Shape::Job => Some(Condition::Check(Check::JobStatus(statuses))),
                    Shape::List => Some(Condition::Check(Check::Items {
                        quantifier: Quantifier::All,
                        statuses,
                        filter: ItemFilter::default(),
                    })),
                    Shape::Count | Shape::Json => None,
                }
            }
            (None, Some(_)) => success,
            (None, None) => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::no_success",
                        node.span,
                        format!("wait `{name}` never says when it is done"),
                    )
                    .label("no `target` or `success` in this wait")
                    .help("add `target: [SUCCESS]`, or a `success:` condition"),
                );
                None
            }
        };
        let success = success?;
        let shape = shape?;
        // Count waits too: their plan always asks for the total, so an empty
        // set (a job that never appeared, a mistyped id) ends `not_found` as
        // on list waits instead of passing `count: [FAILED], is: "== 0"` on
        // "0 of 0".
        let uses_items = shape == Shape::List
            || success.uses_items()
            || failure.as_ref().is_some_and(|f| f.uses_items());
        Some(Rules {
            pending: pending?,
            success,
            failure,
            unknown_status,
            allow_empty,
            uses_items,
        })
    }

    fn find_status(&self, node: &Node, status: &Status) -> Option<Span> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .find(|i| i.scalar_text().as_deref() == Some(status.as_str()))
                .map(|i| i.span),
            _ => Some(node.span),
        }
    }

    /// One condition, or a list of them (all-of for success, any-of for failure).
    fn condition(
        &mut self,
        node: &Node,
        shape: Option<Shape>,
        is_success: bool,
    ) -> Option<Condition> {
        match &node.value {
            Value::Seq(items) => {
                if items.is_empty() {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::empty_condition",
                            node.span,
                            "the condition list is empty",
                        )
                        .label("no conditions")
                        .help("list at least one condition, or remove the key"),
                    );
                    return None;
                }
                let list: Vec<Option<Condition>> = items
                    .iter()
                    .map(|i| self.condition(i, shape, is_success))
                    .collect();
                let list: Option<Vec<Condition>> = list.into_iter().collect();
                Some(if is_success {
                    Condition::AllOf(list?)
                } else {
                    Condition::AnyOf(list?)
                })
            }
            Value::Map(_) => self.check(node, shape, is_success),
            other => {
                self.error(
                    SpecDiagnostic::new("spec::condition", node.span, format!("expected a condition, found a {}", other.kind()))
                        .label(format!("a {}, not a condition", other.kind()))
                        .help("a condition is a mapping such as `{ all: [SUCCESS] }` or `{ count: [FAILED], is: \"== 0\" }`"),
                );
                None
            }
        }
    }

    fn check(&mut self, node: &Node, shape: Option<Shape>, is_success: bool) -> Option<Condition> {
        let Value::Map(entries) = &node.value else {
            return None;
        };
        // In a `path` condition, `count` is the test, not a second head.
        let has_path = entries.iter().any(|(k, _)| k.as_str() == Some("path"));
        let heads: Vec<&Node> = entries
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.as_str().is_some_and(|k| CHECK_KEYS.contains(&k)))
            .filter(|k| !(has_path && k.as_str() == Some("count")))
            .collect();
        let head = match heads.as_slice() {
            [one] => one.as_str().unwrap_or_default().to_owned(),
            [] => {
                let first = &entries.first()?.0;
                self.unknown_key(first, &CHECK_KEYS, "in this condition");
                return None;
            }
            [_, second, ..] => {
                self.error(
                    SpecDiagnostic::new("spec::two_checks", second.span, "a condition has one test")
                        .label("a second test")
                        .help("list several conditions instead, or combine them with `all_of:` / `any_of:`"),
                );
                return None;
            }
        };
        let value = node.get(&head)?;
        let wrong_shape = |this: &mut Self, what: &str, help: &str| {
            this.error(
                SpecDiagnostic::new(
                    "spec::condition_shape",
                    value.span,
                    format!("`{head}` {what}"),
                )
                .label("not available for this wait kind")
                .help(help.to_owned()),
            );
            None
        };
        match head.as_str() {
            "all_of" | "any_of" => {
                self.known_keys(node, &[head.as_str()], "beside `all_of`/`any_of`");
                let Value::Seq(items) = &value.value else {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::condition",
                            value.span,
                            format!("`{head}` takes a list of conditions"),
                        )
                        .help(format!(
                            "write `{head}: [{{ all: [SUCCESS] }}, {{ none: [FAILED] }}]`"
                        )),
                    );
                    return None;
                };
                let list: Option<Vec<Condition>> = items
                    .iter()
                    .map(|i| self.condition(i, shape, is_success))
                    .collect();
                Some(if head == "all_of" {
                    Condition::AllOf(list?)
                } else {
                    Condition::AnyOf(list?)
                })
            }
            "status" => {
                self.known_keys(node, &["status"], "in a `status` condition");
                if shape.is_some_and(|s| s != Shape::Job) {
                    return wrong_shape(
                        self,
                        "tests a job's own status, which this wait kind does not report",
                        "use `all`, `any`, `none` or `count` over the listed sub-jobs",
                    );
                }
                Some(Condition::Check(Check::JobStatus(self.statuses(value)?)))
            }
            "all" | "any" | "none" => {
                self.known_keys(
                    node,
                    &[head.as_str(), "where"],
                    &format!("in an `{head}` condition"),
                );
                if shape.is_some_and(|s| !matches!(s, Shape::Job | Shape::List)) {
                    return wrong_shape(
                        self,
                        "needs sub-jobs, which this wait kind does not list",
                        "count endpoints answer `count:` conditions; `get` answers `path:` conditions",
                    );
                }
                let statuses = self.statuses(value)?;
                let filter = node
                    .get("where")
                    .map_or(Some(ItemFilter::default()), |n| self.item_filter(n))?;
                let quantifier = match head.as_str() {
                    "all" => Quantifier::All,
                    "any" => Quantifier::Any,
                    _ => Quantifier::None,
                };
                Some(Condition::Check(Check::Items {
                    quantifier,
                    statuses,
                    filter,
                }))
            }
            "count" => {
                self.known_keys(node, &["count", "is", "where"], "in a `count` condition");
                if shape == Some(Shape::Json) {
                    return wrong_shape(
                        self,
                        "needs sub-jobs, which `get` does not list",
                        "use `path:` with `count:` instead",
                    );
                }
                let statuses = match value.as_str() {
                    Some("*") => None,
                    _ => Some(self.statuses(value)?),
                };
                let filter = node
                    .get("where")
                    .map_or(Some(ItemFilter::default()), |n| self.item_filter(n))?;
                if shape == Some(Shape::Count)
                    && let Some((field, _)) = filter.fields.iter().find(|(f, _)| f != "job_type")
                {
                    let span = node.get("where").map_or(node.span, |n| n.span);
                    self.error(
                        SpecDiagnostic::new(
                            "spec::count_where",
                            span,
                            format!("count endpoints cannot filter on `{field}`"),
                        )
                        .label("a count wait kind can filter by `job_type` only")
                        .help("filter by `job_id` in the wait kind, or use the list kind instead"),
                    );
                    return None;
                }
                let Some(is) = node.get("is") else {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::count_is",
                            node.span,
                            "a `count` condition needs `is`",
                        )
                        .label("add `is:` to this condition")
                        .help("e.g. `is: \"== 0\"`, `is: \"< 3\"`, or a share `is: \">= 95%\"`"),
                    );
                    return None;
                };
                let comparison = self.comparison(is)?;
                Some(Condition::Check(Check::Count {
                    statuses,
                    filter,
                    comparison,
                }))
            }
            "path" => self.path_check(node, value),
            _ => None,
        }
    }

    fn path_check(&mut self, node: &Node, value: &Node) -> Option<Condition> {
        const TESTS: [&str; 5] = ["exists", "equals", "in", "matches", "count"];
        let mut allowed = vec!["path"];
        allowed.extend(TESTS);
        self.known_keys(node, &allowed, "in a `path` condition");
        let (source, path) = self.json_path(value)?;
        let present: Vec<&str> = TESTS
            .iter()
            .copied()
            .filter(|t| node.get(t).is_some())
            .collect();
        let test_name = match present.as_slice() {
            [one] => *one,
            [] => {
                self.error(
                    SpecDiagnostic::new("spec::path_test", node.span, "a `path` condition needs a test")
                        .label("no test in this condition")
                        .help("add one of `exists: true`, `equals: VALUE`, `in: [VALUES]`, `matches: REGEX`, `count: \"> 0\"`"),
                );
                return None;
            }
            [_, second, ..] => {
                let span = node.get(second).map_or(node.span, |n| n.span);
                self.error(
                    SpecDiagnostic::new("spec::path_test", span, "a `path` condition has one test")
                        .label("a second test")
                        .help("write two conditions to test two things"),
                );
                return None;
            }
        };
        let t = node.get(test_name)?;
        let test = match test_name {
            "exists" => PathTest::Exists(self.boolean(t)?),
            "equals" => PathTest::Equals(self.json_value(t)?),
            "in" => match &t.value {
                Value::Seq(items) => PathTest::In(
                    items
                        .iter()
                        .map(|i| self.json_value(i))
                        .collect::<Option<_>>()?,
                ),
                _ => {
                    self.error(SpecDiagnostic::new(
                        "spec::path_in",
                        t.span,
                        "`in` takes a list of values",
                    )
                .label("a single value")
                    .help("write `in: [SUCCESS, FINISHED]`, or `equals: VALUE` for a single value"));
                    return None;
                }
            },
            "matches" => {
                let text = self.string(t)?;
                match regex::Regex::new(&text) {
                    Ok(r) => PathTest::Matches(r),
                    Err(e) => {
                        self.error(
                            SpecDiagnostic::new(
                                "spec::regex",
                                t.span,
                                "invalid regular expression",
                            )
                .label("not a valid regular expression")
                            .help(format!(
                                "{}; the syntax is Rust's `regex` (no look-around or backreferences): escape a literal `(`, `.` or `*` with `\\`",
                                e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ")
                            )),
                        );
                        return None;
                    }
                }
            }
            _ => {
                let comparison = self.comparison(t)?;
                if let Threshold::Percent(_) = comparison.threshold {
                    // A share needs a whole to divide by; what a path selects has none.
                    self.error(
                        SpecDiagnostic::new("spec::path_share", t.span, "a JSONPath count cannot be a share")
                            .label("a percentage of what the path selects is always 0% or 100%")
                            .help("compare with a number, e.g. `count: \">= 1\"`, or count sub-jobs with `count: [SUCCESS], is: \">= 95%\"`"),
                    );
                    return None;
                }
                PathTest::Count(comparison)
            }
        };
        Some(Condition::Check(Check::Path { source, path, test }))
    }

    fn json_path(&mut self, node: &Node) -> Option<(String, JsonPath)> {
        let text = self.string(node)?;
        match JsonPath::parse(&text) {
            Ok(path) => Some((text, path)),
            Err(e) => {
                // The parser's position is a byte offset into the expression
                // after `${VAR}` expansion: map it back to what was written.
                let at = e.position().min(text.len());
                let len = text
                    .get(at..)
                    .and_then(|rest| rest.chars().next())
                    .map_or(0, char::len_utf8);
                let written = match node.scalar_text() {
                    Some(raw) if raw == text => Some((at, len)),
                    Some(raw) => written_range(&raw, &text, at, self.env),
                    None => None,
                };
                let span = written.map_or(node.span, |(start, len)| {
                    node.narrow(self.source, start, len)
                });
                let character = text.get(..at).map_or(at, |t| t.chars().count()) + 1;
                self.error(
                    SpecDiagnostic::new(
                        "spec::jsonpath",
                        span,
                        format!("invalid JSONPath: {}", e.message()),
                    )
                    .label(format!("{} (character {character})", e.message()))
                    .help("JSONPath follows RFC 9535, e.g. `$.sub_jobs[?@.status == 'FAILED'].id`"),
                );
                None
            }
        }
    }

    fn json_value(&mut self, node: &Node) -> Option<Json> {
        let value = match &node.value {
            Value::Null => Some(Json::Null),
            Value::Bool(b) => Some(Json::Bool(*b)),
            Value::Int(i) => Some(Json::from(*i)),
            Value::Float(f) => Some(Json::from(*f)),
            Value::Str(_) => return self.string(node).map(Json::String),
            _ => None,
        };
        let Some(value) = value else {
            self.error(SpecDiagnostic::new(
                "spec::value",
                node.span,
                format!("expected a scalar value, found a {}", node.value.kind()),
            )
            .label(format!("a {}", node.value.kind()))
            .help("compare with a string, number, boolean or null; test nested values with a longer `path`"));
            return None;
        };
        // A number or boolean is compared as JSON reads it; one that YAML
        // reads differently from JSON (`007`, `0x1A`, `no`, a 36-digit id)
        // is ambiguous: say so rather than compare with what YAML made of it.
        if let Some(written) = &node.written
            && !reads_as_json(written, &value)
        {
            let read = match &node.value {
                Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
                _ => value.to_string(),
            };
            let kind = node.value.kind();
            self.error(
                SpecDiagnostic::new(
                    "spec::ambiguous_value",
                    node.span,
                    format!("`{written}` is ambiguous: YAML reads it as the {kind} {read}"),
                )
                .label(format!("YAML reads this as the {kind} {read}"))
                .help(format!(
                    "quote it to compare with the text as written: `\"{written}\"`; or write the {kind} plainly: `{read}`"
                )),
            );
            return None;
        }
        Some(value)
    }

    fn comparison(&mut self, node: &Node) -> Option<Comparison> {
        let text = match &node.value {
            // A bare count means `==`; as written, so `0x10` is no count.
            Value::Int(_) => format!("== {}", node.scalar_text().unwrap_or_default()),
            _ => self.string(node)?,
        };
        match Comparison::parse(&text) {
            Ok(c) => Some(c),
            Err(message) => {
                self.error(
                    SpecDiagnostic::new("spec::comparison", node.span, message)
                        .label("not a comparison")
                        .help("write an operator (==, !=, <, <=, >, >=) and a count or a share from 0% to 100%, quoted: `is: \"== 0\"` or `is: \">= 95%\"`"),
                );
                None
            }
        }
    }

    fn item_filter(&mut self, node: &Node) -> Option<ItemFilter> {
        let entries = self.map(node, "`where`")?;
        let mut fields = Vec::new();
        for (k, v) in entries {
            let Some(field) = k.scalar_text() else {
                continue;
            };
            let values = self.strings(v)?;
            fields.push((field, values));
        }
        Some(ItemFilter { fields })
    }

    fn outputs(&mut self, node: &Node) -> Option<Vec<Output>> {
        let entries = self.map(node, "`outputs`")?;
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let name = k.scalar_text().unwrap_or_default();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                self.error(
                    SpecDiagnostic::new(
                        "spec::output_name",
                        k.span,
                        format!("`{name}` is not a valid output name"),
                    )
                    .label("not a valid output name")
                    .help("use letters, digits and `_`: output names become GitHub output keys"),
                );
                ok = false;
                continue;
            }
            match self.json_path(v) {
                Some((source, path)) => out.push(Output { name, source, path }),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn names(&mut self, node: &Node) -> Option<Vec<String>> {
        self.strings(node)
    }

    /// Checks `after:` references, cycles and output references.
    fn check_graph(&mut self, waits: &[(Wait, &Node)], names: &[(String, Span)]) {
        let declared: BTreeMap<&str, &Wait> =
            waits.iter().map(|(w, _)| (w.name.as_str(), w)).collect();
        let all_names: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        for (wait, node) in waits {
            let after_node = node.get("after");
            for dep in &wait.after {
                let span = after_node
                    .and_then(|n| self.find_string(n, dep))
                    .unwrap_or(node.span);
                if dep == &wait.name {
                    self.error(
                        SpecDiagnostic::new(
                            "spec::after_self",
                            span,
                            format!("wait `{dep}` waits for itself"),
                        )
                        .label("the wait itself")
                        .help("remove it from `after`"),
                    );
                } else if !all_names.contains(&dep.as_str()) {
                    let mut d = SpecDiagnostic::new(
                        "spec::after_unknown",
                        span,
                        format!("`after` names an unknown wait `{dep}`"),
                    )
                    .label("no wait has this name");
                    d = d.help(match did_you_mean(dep, all_names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("declared waits: {}", all_names.join(", ")),
                    });
                    self.error(d);
                }
            }
        }
        // Cycles: depth-first search over `after` edges.
        let mut reported = BTreeSet::new();
        for (wait, node) in waits {
            if let Some(path) = cycle_from(&wait.name, &declared)
                && reported.insert(path.iter().cloned().collect::<BTreeSet<_>>())
            {
                let next = &path[1];
                let span = node
                    .get("after")
                    .and_then(|n| self.find_string(n, next))
                    .unwrap_or(node.span);
                self.error(
                    SpecDiagnostic::new(
                        "spec::after_cycle",
                        span,
                        format!(
                            "waits depend on each other in a cycle: {}",
                            path.join(" → ")
                        ),
                    )
                    .label(format!(
                        "`{}` runs after `{next}`, which leads back here",
                        wait.name
                    ))
                    .help("remove one of these `after` entries"),
                );
            }
        }
        // Output references must name an output of a wait this one runs after.
        for (wait, node) in waits {
            let upstream = ancestors(&wait.name, &declared);
            for template in wait.target.templates() {
                for (source, key) in template.references() {
                    let span = self.find_reference(node, source, key).unwrap_or(node.span);
                    match declared.get(source) {
                        Some(w) if upstream.contains(source) => {
                            if !w.outputs.iter().any(|o| o.name == key) {
                                let names: Vec<&str> = w.outputs.iter().map(|o| o.name.as_str()).collect();
                                self.error(
                                    SpecDiagnostic::new("spec::output_unknown", span, format!("wait `{source}` has no output `{key}`"))
                                        .label("unknown output")
                                        .help(if names.is_empty() { format!("declare it under `outputs:` in wait `{source}`") } else { format!("its outputs: {}", names.join(", ")) }),
                                );
                            }
                        }
                        Some(_) => self.error(
                            SpecDiagnostic::new("spec::output_order", span, format!("this wait reads an output of `{source}` but does not run after it"))
                                .label(format!("read before `{source}` is done"))
                                .help(format!("add `after: [{source}]` to wait `{}`", wait.name)),
                        ),
                        None => self.error(
                            SpecDiagnostic::new("spec::output_unknown", span, format!("no wait is named `{source}`"))
                                .help(match did_you_mean(source, all_names.iter().copied()) {
                                    Some(s) => format!("did you mean `{s}`?"),
                                    None => format!("declared waits: {}", all_names.join(", ")),
                                }),
                        ),
                    }
                }
            }
        }
    }

    fn find_string(&self, node: &Node, text: &str) -> Option<Span> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .find(|i| i.scalar_text().as_deref() == Some(text))
                .map(|i| i.span),
            _ => Some(node.span),
        }
    }

    fn find_reference(&self, node: &Node, wait: &str, key: &str) -> Option<Span> {
        let needle = format!("${{outputs.{wait}.{key}}}");
        let text = self
            .source
            .get(node.span.offset..node.span.offset + node.span.len)?;
        let from = node.span.offset + text.find(&needle)?;
        // Columns count characters, as everywhere else in diagnostics.
        Some(node.span.within(self.source, from, from + needle.len()))
    }

    // ---- scalar helpers -------------------------------------------------

    fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match &node.value {
            Value::Map(entries) => Some(entries),
            other => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::type",
                        node.span,
                        format!("{what} must be a mapping, found a {}", other.kind()),
                    )
                    .label(format!("a {}, not a mapping", other.kind()))
                    .help(mapping_help(what)),
                );
                None
            }
        }
    }

    fn known_keys(&mut self, node: &Node, allowed: &[&str], context: &str) {
        if let Value::Map(entries) = &node.value {
            for (key, _) in entries {
                if !key.as_str().is_some_and(|k| allowed.contains(&k)) {
                    self.unknown_key(key, allowed, context);
                }
            }
        }
    }

    fn unknown_key(&mut self, key: &Node, allowed: &[&str], context: &str) {
        let name = key
            .scalar_text()
            .unwrap_or_else(|| key.value.kind().to_owned());
        let help = match did_you_mean(&name, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("expected one of: {}", allowed.join(", ")),
        };
        self.error(
            SpecDiagnostic::new(
                "spec::unknown_key",
                key.span,
                format!("unknown key `{name}` {context}"),
            )
            .label("not a known key")
            .help(help),
        );
    }

    /// A plain string (no output references), interpolated.
    fn string(&mut self, node: &Node) -> Option<String> {
        let template = self.template(node)?;
        if template.references().next().is_some() {
            self.error(
                SpecDiagnostic::new(
                    "spec::output_here",
                    node.span,
                    "outputs of other waits can only be used in a wait kind's parameters",
                )
                .label("output reference")
                .help("use an environment variable here instead"),
            );
            return None;
        }
        Some(template.display())
    }

    /// A string that may refer to outputs, with environment variables expanded.
    fn template(&mut self, node: &Node) -> Option<Template> {
        let Some(text) = node.scalar_text() else {
            self.error(
                SpecDiagnostic::new(
                    "spec::type",
                    node.span,
                    format!("expected a string, found a {}", node.value.kind()),
                )
                .help("write a single value here (quote it if it contains `:` or `#`)"),
            );
            return None;
        };
        match expand(&text, self.env) {
            Ok(pieces) => Some(Template(pieces)),
            Err(errors) => {
                for e in errors {
                    let d = match e {
                        InterpolationError::Unset { name, start, len } => SpecDiagnostic::new(
                            "spec::unset_variable",
                            node.narrow(self.source, start, len),
                            format!("environment variable `{name}` is not set"),
                        )
                        .label(format!("`{name}` is unset or empty"))
                        .help(format!("export {name}=..., pass `--var {name}=...`, or give a default: `${{{name}:-value}}`")),
                        InterpolationError::Malformed { start, len, reason } => SpecDiagnostic::new(
                            "spec::interpolation",
                            node.narrow(self.source, start, len),
                            reason,
                        )
                        .label("malformed `${...}`")
                        .help("write `${NAME}` or `${NAME:-default}`; `$${` writes a literal `${`"),
                    };
                    self.error(d);
                }
                None
            }
        }
    }

    fn strings(&mut self, node: &Node) -> Option<Vec<String>> {
        match &node.value {
            Value::Seq(items) => items
                .iter()
                .map(|i| self.string(i))
                .collect::<Vec<_>>()
                .into_iter()
                .collect(),
            _ => self.string(node).map(|s| vec![s]),
        }
    }

    fn statuses(&mut self, node: &Node) -> Option<StatusSet> {
        let items: Vec<&Node> = match &node.value {
            Value::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut set = StatusSet::new();
        let mut ok = true;
        for item in items {
            let Some(text) = self.string(item) else {
                ok = false;
                continue;
            };
            let known = status::KNOWN.contains(&text.as_str())
                || status::SEEN_IN_THE_WILD.contains(&text.as_str());
            if !known {
                let all = status::KNOWN
                    .iter()
                    .chain(status::SEEN_IN_THE_WILD.iter())
                    .copied();
                let help = match did_you_mean(&text, all) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("statuses are {}", status::KNOWN.join(", ")),
                };
                self.error(
                    SpecDiagnostic::new(
                        "spec::unknown_status",
                        item.span,
                        format!("unknown status `{text}`"),
                    )
                    .label("not a status the API reports")
                    .help(help),
                );
                ok = false;
                continue;
            }
            if !set.insert(Status::parse(&text)) {
                self.error(
                    SpecDiagnostic::new(
                        "spec::duplicate_status",
                        item.span,
                        format!("`{text}` is listed twice"),
                    )
                    .label("repeated here")
                    .help("remove the repeated status"),
                );
                ok = false;
            }
        }
        ok.then_some(set)
    }

    /// A duration of at most `max` ([`duration::LONGEST`] or a field's own
    /// ceiling), so no deadline computed from it can overflow.
    fn duration(&mut self, node: &Node, max: Duration) -> Option<Duration> {
        let text = self.string(node)?;
        match duration::parse_at_most(&text, max) {
            Ok(d) => Some(d),
            Err(error) => {
                let too_long = matches!(error, duration::DurationError::TooLong { .. });
                self.error(
                    SpecDiagnostic::new("spec::duration", node.span, error.to_string())
                        .label(if too_long { "too long" } else { "not a duration" })
                        .help(if too_long {
                            "every duration has a ceiling (7d for timeouts, deadlines and grace periods, 1h between polls): write a shorter one".to_owned()
                        } else {
                            "durations take a unit: `ms`, `s`, `m`, `h` or `d`, combined as in `1h30m`".to_owned()
                        }),
                );
                None
            }
        }
    }

    fn positive_duration(&mut self, node: &Node, max: Duration) -> Option<Duration> {
        let d = self.duration(node, max)?;
        if d.is_zero() {
            self.error(
                SpecDiagnostic::new(
                    "spec::duration",
                    node.span,
                    "this duration must be longer than zero",
                )
                .label("zero")
                .help("write a positive duration such as `5s` or `10m`"),
            );
            return None;
        }
        Some(d)
    }

    fn count(&mut self, node: &Node, min: u32) -> Option<u32> {
        match node.scalar_text().and_then(|t| t.parse::<u32>().ok()) {
            Some(n) if n >= min => Some(n),
            _ => {
                self.error(
                    SpecDiagnostic::new(
                        "spec::number",
                        node.span,
                        format!("expected a whole number of at least {min}"),
                    )
                    .label(format!("not a whole number ≥ {min}"))
                    .help(format!(
                        "write a number such as `{}` without quotes or units",
                        min.max(3)
                    )),
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node) -> Option<bool> {
        // YAML 1.2's spellings; YAML 1.1 words (`yes`, `on`, `y`) are text.
        match node.scalar_text().as_deref() {
            Some("true" | "True" | "TRUE") => Some(true),
            Some("false" | "False" | "FALSE") => Some(false),
            _ => {
                self.error(
                    SpecDiagnostic::new("spec::boolean", node.span, "expected `true` or `false`")
                        .label("not a boolean")
                        .help("write `true` or `false` (YAML 1.1 words like `yes`/`on` are not booleans here)"),
                );
                None
            }
        }
    }

    fn unknown_policy(&mut self, node: &Node) -> Option<UnknownStatusPolicy> {
        match node.scalar_text().as_deref() {
            Some("fail") => Some(UnknownStatusPolicy::Fail),
            Some("wait") => Some(UnknownStatusPolicy::Wait),
            _ => {
                self.error(
                    SpecDiagnostic::new("spec::unknown_status_policy", node.span, "`unknown_status` must be `fail` or `wait`")
                        .label("neither `fail` nor `wait`")
                        .help("`fail` ends the wait on a status it does not declare; `wait` keeps polling"),
                );
                None
            }
        }
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

/// Whether `written`, a number or boolean as written in the spec, reads as
/// `value` in JSON too: the same text in a response would compare equal.
fn reads_as_json(written: &str, value: &Json) -> bool {
    match serde_json::from_str::<Json>(written) {
        // An integer beyond 64 bits is rounded through a float by both.
        Ok(Json::Number(n)) if n.is_f64() && !written.contains(['.', 'e', 'E']) => false,
        Ok(json) => &json == value,
        Err(_) => false,
    }
}

/// How to write a mapping where something else was found.
fn mapping_help(what: &str) -> String {
    match what {
        "the spec" => "a spec is a mapping: start with `version: 1` and a `waits:` mapping".into(),
        "`waits`" => "under `waits:`, give each wait a name followed by its settings, e.g.\n  build:\n    image_job: ${IMAGE_JOB_ID}\n    target: [SUCCESS]".into(),
        w if w.starts_with("wait `") => format!("{w} takes settings on indented lines, e.g.\n    image_job: ${{IMAGE_JOB_ID}}\n    target: [SUCCESS]"),
        "the wait kind's filters" => "write the filters as a mapping, e.g. `{ job_id: ${JOB_ID}, job_type: CREATE_SERVER }`".into(),
        _ => format!("write {what} as `key: value` lines or `{{ key: value }}`"),
    }
}

fn is_region(region: &str) -> bool {
    !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A cycle through `start`, as the list of names from `start` back to it.
fn cycle_from(start: &str, waits: &BTreeMap<&str, &Wait>) -> Option<Vec<String>> {
    fn walk(
        node: &str,
        start: &str,
        waits: &BTreeMap<&str, &Wait>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        let Some(wait) = waits.get(node) else {
            return false;
        };
        for dep in &wait.after {
            if dep == start {
                path.push(dep.clone());
                return true;
            }
            if seen.insert(dep.clone()) {
                path.push(dep.clone());
                if walk(dep, start, waits, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    walk(start, start, waits, &mut path, &mut seen)
        .then_some(path)
        .filter(|p| p.len() > 2 || p[0] != p[1])
}

/// Where the byte at `at` of `expanded` (the `${VAR}` expansion of `raw`)
/// was written in `raw`, as `(start, len)`: the character itself when it was
/// written literally, the whole `${VAR}` (or `$${`) that produced it
/// otherwise; `at == expanded.len()` maps to the end of `raw`.
///
/// Found without knowing the expansion rules: `raw` is split at every
/// character boundary where both halves expand on their own to the matching
/// halves of `expanded`; the character lies between the nearest such splits.
/// A split right after a `$` that a following `{` or `$` could combine with
/// is never trusted. `None` when unsure (or for text long enough that the
/// quadratic search would be slow): the caller points at the whole scalar.
fn written_range(
    raw: &str,
    expanded: &str,
    at: usize,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(usize, usize)> {
    const LONGEST: usize = 1024;
    if raw.len() > LONGEST || at > expanded.len() {
        return None;
    }
    let text = |s: &str| match expand(s, env).ok()?.as_slice() {
        [Piece::Text(t)] => Some(t.clone()),
        _ => None,
    };
    let splits: Vec<(usize, usize)> = (0..=raw.len())
        .filter(|&r| raw.is_char_boundary(r))
        .filter_map(|r| {
            let (left, right) = raw.split_at(r);
            if left.ends_with('$') && right.starts_with(['{', '$']) {
                return None;
            }
            let (left, right) = (text(left)?, text(right)?);
            (left.len() + right.len() == expanded.len()
                && expanded.starts_with(&left)
                && expanded.ends_with(&right))
            .then_some((r, left.len()))
        })
        .collect();
    let before = splits.iter().rposition(|&(_, e)| e <= at)?;
    let (start, e) = splits[before];
    if e == at && at == expanded.len() {
        return (start == raw.len()).then_some((start, 0));
    }
    let &(end, _) = splits[before + 1..].iter().find(|&&(_, e)| e > at)?;
    Some((start, end - start))
}

/// Every wait `name` runs after, directly or not.
fn ancestors<'a>(name: &str, waits: &BTreeMap<&'a str, &Wait>) -> BTreeSet<&'a str> {
    let mut out = BTreeSet::new();
    let mut stack = vec![name.to_owned()];
    while let Some(n) = stack.pop() {
        if let Some(w) = waits.get(n.as_str()) {
            for dep in &w.after {
                if let Some((k, _)) = waits.get_key_value(dep.as_str())
                    && out.insert(*k)
                {
                    stack.push(dep.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod json_path_tests {
    use super::{Piece, expand, written_range};

    /// `raw` with its `${VAR}`s expanded, which must leave only text.
    fn expanded(raw: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
        match expand(raw, env).unwrap().as_slice() {
            [Piece::Text(t)] => t.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn env(name: &str) -> Option<String> {
        match name {
            "JOB" => Some("job-1".into()),
            "FIELD" => Some("stätus".into()),
            "DOLLAR" => Some("$".into()),
            _ => None,
        }
    }

    /// Where `expanded[at..]`'s first character was written in `raw`.
    fn written(raw: &str, at: usize) -> Option<&str> {
        written_range(raw, &expanded(raw, &env), at, &env)
            .map(|(start, len)| &raw[start..start + len])
    }

    #[test]
    fn characters_after_a_variable_map_past_its_reference() {
        // "$.jobs['job-1'].x ==": `==` is at byte 18 of the expansion.
        let raw = "$.jobs['${JOB}'].x ==";
        assert_eq!(written(raw, 18), Some("="));
        assert_eq!(
            written_range(raw, "$.jobs['job-1'].x ==", 18, &env),
            Some((19, 1))
        );
        // Non-ASCII in the value, a default and an escaped `$${`.
        let raw = "$.${FIELD}.${NOPE:-ab}.$${x}[";
        let expanded = "$.stätus.ab.${x}[";
        assert_eq!(written_range(raw, expanded, 16, &env), Some((27, 1)));
        assert_eq!(written_range(raw, expanded, 17, &env), Some((28, 1)));
        // The end of the expression maps to the end of what was written.
        assert_eq!(written_range(raw, expanded, 18, &env), Some((29, 0)));
    }

    #[test]
    fn characters_from_a_variable_map_to_its_reference() {
        assert_eq!(written("$.${FIELD}[", 4), Some("${FIELD}"));
        assert_eq!(written("${DOLLAR}.a", 0), Some("${DOLLAR}"));
        assert_eq!(written("a.$${x}", 2), Some("$${"));
        assert_eq!(written("a.$${x}", 3), Some("$${"));
    }

    #[test]
    fn long_text_is_not_searched() {
        let raw = format!("{}${{JOB}}", "a".repeat(2000));
        let expanded = format!("{}job-1", "a".repeat(2000));
        assert_eq!(written_range(&raw, &expanded, 2001, &env), None);
    }

    #[test]
    fn jsonpath_errors_point_at_the_written_character() {
        let env = |name: &str| match name {
            "HUAWEICLOUD_SDK_PROJECT_ID" => Some("p123".to_owned()),
            "JOB" => Some("job-1".to_owned()),
            _ => None,
        };
        let cases = [
            // Escapes before the error in a double-quoted scalar.
            (r#"path: "$['a\"b\\\\c\u00e9'] ==""#, " =="),
            // `''` before the error in a single-quoted scalar.
            ("path: '$[\"it''s\"] ?'", " ?"),
            // Block scalars: the error is on the second line.
            ("path: >-\n        $.a\n        [?@ == ]", "== ]"),
            ("path: |\n        $.a[?@ == ]", "== ]"),
            // Non-ASCII before the error; a variable before the error.
            ("path: \"$['héllo'] =\"", " ="),
            ("path: \"$['${JOB}'].x ==\"", " =="),
        ];
        for (path, marker) in cases {
            let source = format!(
                "version: 1\nwaits:\n  a:\n    image_job: x\n    success:\n      {path}\n      exists: true\n"
            );
            // The premise: the parser's error is at the marker.
            let root = crate::spec::yaml::parse(&source).unwrap();
            let node = root.get("waits").and_then(|w| w.get("a"));
            let node = node.and_then(|a| a.get("success")?.get("path")).unwrap();
            let value = expanded(&node.scalar_text().unwrap(), &env);
            let error = serde_json_path::JsonPath::parse(&value).unwrap_err();
            assert_eq!(Some(error.position()), value.rfind(marker), "{value:?}");
            let errors = crate::spec::parse("spec.yaml", &source, &env).unwrap_err();
            let d = &errors.diagnostics[0];
            assert_eq!(d.code, "spec::jsonpath", "{path}");
            let expected = source.rfind(marker).unwrap();
            assert_eq!(d.span.offset, expected, "{path}: {d:?}");
            let line_start = source[..expected].rfind('\n').unwrap() + 1;
            let column = source[line_start..expected].chars().count() + 1;
            assert_eq!(
                (d.span.line, d.span.column),
                (source[..expected].matches('\n').count() + 1, column),
                "{path}"
            );
        }
    }
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
