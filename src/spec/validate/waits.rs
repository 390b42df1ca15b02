//! One wait: its keys, its kind and the parameters of the endpoint it polls.

use crate::api::Service;
use crate::spec::code::DiagnosticCode;
use crate::spec::diagnostic::{SpecDiagnostic, suggestion};
use crate::spec::duration;
use crate::spec::interpolate::{Piece, bare_references};
use crate::spec::model::*;
use crate::spec::yaml::{Node, Span, Value};

use super::{Inherited, Validator, WAIT_KEYS};

impl Validator<'_> {
    pub(super) fn wait(
        &mut self,
        name: &str,
        span: Span,
        node: &Node,
        inherited: &Inherited,
    ) -> Option<Wait> {
        self.map(node, &format!("wait `{name}`"))?;
        let entries = match &node.value {
            Value::Map(entries) => entries,
            _ => return None,
        };
        let mut allowed: Vec<&str> = WAIT_KEYS.to_vec();
        allowed.extend(Target::KINDS);
        self.known_keys(node, &allowed, &format!("in wait `{name}`"));
        let kinds: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| k.as_str().is_some_and(|k| Target::KINDS.contains(&k)))
            .collect();
        let target = match kinds.as_slice() {
            [] => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::NoKind,
                        node.span,
                        format!("wait `{name}` does not say what to poll"),
                    )
                    .label("no wait kind in this wait")
                    .help(format!("add one of: {}", Target::KINDS.join(", "))),
                );
                None
            }
            [(key, value)] => self.target(key.as_str().unwrap_or_default(), value),
            [_, (second, _), ..] => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::TwoKinds,
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
            None => match &inherited.project_id {
                Some((id, _)) => Some(id.clone()),
                // The mistake in `defaults` is reported once, not per wait.
                None if inherited.project_id_invalid => None,
                None => {
                    let span = node.span;
                    self.error(
                        SpecDiagnostic::new(DiagnosticCode::ProjectId, span, format!("wait `{name}` has no project id"))
                            .label("project id needed by this wait")
                            .help("add `project_id: ${HUAWEICLOUD_SDK_PROJECT_ID}` under `defaults`, or set HUAWEICLOUD_SDK_PROJECT_ID"),
                    );
                    None
                }
            },
        };
        let timeout = node
            .get("timeout")
            .map_or(Some(inherited.settings.timeout), |n| {
                self.positive_duration(n, duration::LONGEST)
            });
        let poll = node.get("poll").map_or(Some(inherited.settings.poll), |n| {
            self.poll(n, &inherited.settings.poll)
        });
        let stable_for = node
            .get("stable_for")
            .map_or(Some(inherited.settings.stable_for), |n| self.count(n, 1));
        let not_found_grace = node
            .get("not_found_grace")
            .map_or(Some(inherited.settings.not_found_grace), |n| {
                self.duration(n, duration::LONGEST)
            });
        let error_budget = node
            .get("error_budget")
            .map_or(Some(inherited.settings.error_budget), |n| self.count(n, 0));
        let unknown_status = node
            .get("unknown_status")
            .map_or(Some(inherited.settings.unknown_status), |n| {
                self.unknown_policy(n)
            });
        let allow_empty = node
            .get("allow_empty")
            .map_or(Some(Defaults::ALLOW_EMPTY), |n| self.boolean(n));
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
                let _ = self.rules(
                    name,
                    node,
                    None,
                    Defaults::BUILT_IN.unknown_status,
                    Defaults::ALLOW_EMPTY,
                );
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

    pub(super) fn target(&mut self, kind: &str, node: &Node) -> Option<Target> {
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
                            DiagnosticCode::JobTypeRequired,
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
    pub(super) fn no_bare_references(&mut self, node: &Node) -> Option<()> {
        let written = node.scalar_text()?;
        let found = bare_references(&written);
        for b in &found {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::BareVariable,
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

    pub(super) fn job_id(&mut self, node: &Node) -> Option<Template> {
        self.no_bare_references(node)?;
        let template = self.template(node)?;
        if template
            .0
            .iter()
            .all(|p| matches!(p, Piece::Text(t) if t.trim().is_empty()))
        {
            self.error(
                SpecDiagnostic::new(DiagnosticCode::JobId, node.span, "the job id is empty")
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
                    DiagnosticCode::JobId,
                    node.span,
                    "a job id cannot contain `/`, `?`, `#` or spaces",
                )
                .label("not a bare job id")
                .help("write only the id, not a URL"),
            );
            return None;
        }
        // Known now (written, or from a variable): held to the rule the
        // request path holds every segment to, so that `.` or `..` (the
        // collection or its parent, not a job) is refused here, not by
        // the client after the run started.
        let known: Option<String> = template
            .0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => Some(t.as_str()),
                Piece::Output { .. } => None,
            })
            .collect();
        if let Some(Err(why)) = known.map(|id| crate::engine::fetch::check_segment(&id)) {
            self.error(
                SpecDiagnostic::new(
                    DiagnosticCode::JobId,
                    node.span,
                    format!("the job id {why} (after expanding variables)"),
                )
                .label("not a job id")
                .help(
                    "write the job id the API returned when the job started, e.g. `${IMAGE_JOB_ID}`; \
                     `.` and `..` would address the job list or its parent, not a job",
                ),
            );
            return None;
        }
        Some(template)
    }

    pub(super) fn filter(
        &mut self,
        node: &Node,
        keys: &[&str],
        multi_type: bool,
    ) -> Option<ListFilter> {
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
                        SpecDiagnostic::new(DiagnosticCode::JobType, n.span, "this endpoint filters on one job type")
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
                            DiagnosticCode::StatusFilter,
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

    pub(super) fn get(&mut self, node: &Node) -> Option<Target> {
        self.map(node, "`get`")?;
        self.known_keys(node, &["service", "path", "query"], "in `get`");
        let service = match node.get("service") {
            None => {
                self.error(
                    SpecDiagnostic::new(
                        DiagnosticCode::GetService,
                        node.span,
                        "`get` needs a `service`",
                    )
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
                        DiagnosticCode::GetService,
                        n.span,
                        format!("unknown service `{name}`"),
                    )
                    .label("not a service jobgate knows");
                    d = d.help(suggestion(&name, ["workspace", "appstream"], || {
                        "write `workspace` or `appstream`".into()
                    }));
                    self.error(d);
                }
                found
            }
        };
        let path = match node.get("path") {
            None => {
                self.error(
                    SpecDiagnostic::new(DiagnosticCode::GetPath, node.span, "`get` needs a `path`")
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
                        DiagnosticCode::GetPath,
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
}
