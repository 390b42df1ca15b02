//! `jobgate plan`: what a run would do, without any network.

use super::{endpoints, load_spec};
use crate::api::credentials::Source;
use crate::cli::PlanArgs;
use crate::engine;
use crate::error::Error;
use crate::exit;
use crate::spec::{self, duration};

pub(super) fn plan(args: &PlanArgs) -> Result<u8, Error> {
    let spec = load_spec(&args.spec)?;
    let endpoints = endpoints(&spec, &args.endpoints)?;
    let auth = match Source::from_env() {
        Ok(c) => c.describe(),
        Err(e) => format!("{e} (run would exit 4)"),
    };
    let mut out = String::new();
    out.push_str(&format!(
        "Plan for {} ({} wait{})\n",
        spec.origin,
        spec.waits.len(),
        if spec.waits.len() == 1 { "" } else { "s" }
    ));
    out.push_str(&format!("  authentication: {auth}\n"));
    out.push_str(&format!(
        "  deadline: {}; on failure: {}\n",
        spec.deadline
            .map_or("none (each wait's timeout)".to_owned(), duration::format),
        if spec.fail_fast {
            "cancel the other waits (fail fast)"
        } else {
            "let every wait finish"
        }
    ));
    for wait in &spec.waits {
        let unresolved = |w: &str, k: &str| Some(format!("${{outputs.{w}.{k}}}"));
        let plan = engine::fetch::plan(wait, &unresolved).map_err(Error::Internal)?;
        out.push_str(&format!("\n{} ({})\n", wait.name, wait.target.kind()));
        for request in plan.describe(&|s| endpoints.base(s).to_owned()) {
            out.push_str(&format!("  request: {}\n", show_references(&request)));
        }
        out.push_str(&format!("  success: {}\n", wait.rules.success.describe()));
        if let Some(f) = &wait.rules.failure {
            out.push_str(&format!("  failure: {}\n", f.describe()));
        }
        // A `get` answer has no status of its own: only its conditions count.
        if wait.target.shape() != spec::Shape::Json {
            let pending: Vec<&str> = wait.rules.pending.iter().map(|s| s.as_str()).collect();
            let unknown = match wait.rules.unknown_status {
                crate::condition::UnknownStatusPolicy::Fail => "ends the wait as unexpected_state",
                crate::condition::UnknownStatusPolicy::Wait => "keeps polling",
            };
            out.push_str(&format!(
                "  pending: [{}]; any other status {unknown}\n",
                pending.join(", ")
            ));
        }
        if wait.rules.uses_items {
            out.push_str(if wait.rules.allow_empty {
                "  no sub-jobs: may pass (allow_empty)\n"
            } else {
                "  no sub-jobs: never passes; tolerated for the not-found grace\n"
            });
        }
        let p = &wait.poll;
        let history = engine::past_jobs::source(&wait.target);
        let jitter = if p.jitter == spec::Jitter::Full {
            ", full jitter"
        } else {
            ""
        };
        out.push_str(&if p.adaptive {
            format!(
                "  schedule: first poll at once, then placed from a model of the job's duration ({}, effort {}), {} to {} apart{jitter}\n",
                if history.is_some() {
                    "its age, progress, past jobs of the same type"
                } else {
                    "its age and progress"
                },
                p.effort.name(),
                duration::format(p.initial),
                duration::format(p.max),
            )
        } else {
            format!(
                "  schedule: first poll at once, then {} growing ×{} up to {}{jitter}\n",
                duration::format(p.initial),
                p.factor,
                duration::format(p.max),
            )
        });
        if p.adaptive
            && let Some(source) = history
        {
            // The type is known only once the job is seen.
            let request = engine::past_jobs::request(&wait.project_id, source, "JOB_TYPE");
            let url = format!(
                "{}{}",
                endpoints.base(request.service),
                request.path_and_query()
            )
            .replace("JOB_TYPE", "<the job's type>");
            out.push_str(&format!(
                "  history: once per job type and run, GET {url}\n"
            ));
        }
        out.push_str(&format!("  timeout: {}", duration::format(wait.timeout)));
        if wait.stable_for > 1 {
            out.push_str(&format!(
                "; success must hold on {} polls in a row",
                wait.stable_for
            ));
        }
        out.push_str(&format!(
            "; not-found grace {}; error budget {} polls\n",
            duration::format(wait.not_found_grace),
            wait.error_budget
        ));
        if !wait.after.is_empty() {
            out.push_str(&format!("  after: {}\n", wait.after.join(", ")));
        }
        for o in &wait.outputs {
            out.push_str(&format!("  output {} = {}\n", o.name, o.source));
        }
    }
    print!("{out}");
    Ok(exit::SUCCESS)
}

/// Shows `${outputs.WAIT.KEY}` as written rather than percent-encoded in
/// the URL: it is resolved only when the wait it names has run.
fn show_references(url: &str) -> String {
    static ENCODED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"%24%7B(outputs\.[A-Za-z0-9_.-]+)%7D").expect("a valid pattern")
    });
    ENCODED.replace_all(url, "$${$1}").into_owned()
}

#[cfg(test)]
mod tests {
    use super::show_references;

    #[test]
    fn output_references_read_as_written() {
        assert_eq!(
            show_references(
                "GET http://h/v2/p/job/%24%7Boutputs.build.job_id%7D?x=%24%7Boutputs.a-b.c_d%7D"
            ),
            "GET http://h/v2/p/job/${outputs.build.job_id}?x=${outputs.a-b.c_d}"
        );
        assert_eq!(show_references("GET http://h/a%20b"), "GET http://h/a%20b");
    }
}
