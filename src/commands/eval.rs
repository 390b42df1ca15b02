//! `jobgate eval`: judge a wait's conditions against a saved response,
//! offline, and show what each condition found.

use super::{LARGEST_RESPONSE, load_spec_with, read_input};
use crate::cli::EvalArgs;
use crate::engine;
use crate::error::Error;
use crate::exit;
use crate::spec::interpolate::Piece;
use crate::spec::{Target, Template, Wait};

/// What an unset variable reads as in `eval`, followed by its name: a
/// saved answer needs no project id, and the job id it is about is the one
/// it carries. A wait whose conditions read such a variable is refused
/// ([`offline`]): a condition is never judged against a stand-in.
const UNSET: &str = "jobgate-eval-unset-";

pub(super) fn eval(args: &EvalArgs) -> Result<u8, Error> {
    let spec = load_spec_with(&args.spec, &|name| Some(format!("{UNSET}{name}")))?;
    let Some(wait) = spec.waits.iter().find(|w| w.name == args.wait) else {
        let names: Vec<&str> = spec.waits.iter().map(|w| w.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "no wait named `{}` in {}; waits: {}",
            args.wait,
            spec.origin,
            names.join(", ")
        )));
    };
    let wait = &offline(wait)?;
    let text =
        read_input(&args.response, LARGEST_RESPONSE).map_err(|source| Error::ReadResponse {
            path: args.response.display().to_string(),
            source,
        })?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text).map_err(|e| {
        Error::Usage(format!(
            "the response {} is not JSON: {e}",
            args.response.display()
        ))
    })?;
    let obs = engine::fetch::observe_saved(wait, text.as_bytes())
        .map_err(|e| Error::Usage(format!("{}: {e}", args.response.display())))?;
    let mut out = format!(
        "wait {} ({}) against {}\n",
        wait.name,
        wait.target.kind(),
        args.response.display()
    );
    out.push_str(&format!("  observed: {}\n", engine::summarize(&obs)));
    let mut show = |label: &str, condition: &crate::condition::Condition, role| {
        for check in condition.checks() {
            let f = check.evaluate(&obs, role, wait.rules.allow_empty);
            out.push_str(&format!(
                "  {label} {} {} — found {}\n",
                if f.holds { "✓" } else { "✗" },
                check.describe(),
                f.found
            ));
            for item in f.blame.iter().take(10) {
                out.push_str(&format!(
                    "      {} {} {}{}\n",
                    item.id,
                    item.job_type.as_deref().unwrap_or("-"),
                    item.status,
                    item.error_message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ));
            }
        }
    };
    if let Some(failure) = &wait.rules.failure {
        show("failure", failure, crate::condition::Role::Failure);
    }
    show(
        "success",
        &wait.rules.success,
        crate::condition::Role::Success,
    );
    let verdict = crate::condition::judge(&wait.rules, &obs);
    let (word, code) = match &verdict {
        crate::condition::Verdict::Met { .. } => ("met", exit::SUCCESS),
        crate::condition::Verdict::Failed { .. } => ("failed", exit::WAIT_FAILED),
        crate::condition::Verdict::Unexpected { .. } => ("unexpected state", exit::WAIT_FAILED),
        crate::condition::Verdict::Empty => (
            "no items yet: keep polling (not found once the grace runs out)",
            exit::TIMED_OUT,
        ),
        crate::condition::Verdict::Pending { .. } => ("pending: keep polling", exit::TIMED_OUT),
    };
    out.push_str(&format!("  verdict: {word}\n"));
    // The cause `run` would lead every output with, from the same answer.
    let ended = match &verdict {
        crate::condition::Verdict::Failed { blame, .. } => {
            Some((crate::report::Outcome::Failed, blame.as_slice()))
        }
        crate::condition::Verdict::Unexpected { blame, .. } => {
            Some((crate::report::Outcome::UnexpectedState, blame.as_slice()))
        }
        _ => None,
    };
    // What `run` would say of a timeout on this answer.
    if matches!(
        verdict,
        crate::condition::Verdict::Pending { .. } | crate::condition::Verdict::Empty
    ) && let Some(why) = wait.rules.unmatched_where(&obs)
    {
        out.push_str(&format!("  note: {why}\n"));
    }
    if let Some(evidence) =
        ended.and_then(|(outcome, blame)| crate::report::evidence::extract(&obs, outcome, blame))
    {
        out.push_str(&format!("  cause: {}\n", evidence.cause));
    }
    // A saved response is server text: no control characters or workflow
    // commands from it reach the terminal or a CI log.
    print!("{}", crate::redact::Redactor::none().text(&out));
    Ok(code)
}

/// The wait as `eval` judges it: an id that came from an unset variable is
/// not checked against the answer (an id only an earlier wait's output
/// gives is not either); a condition that reads an unset variable is an
/// error naming it.
fn offline(wait: &Wait) -> Result<Wait, Error> {
    let rules = format!("{:?}", wait.rules);
    if let Some(at) = rules.find(UNSET) {
        let name: String = rules[at + UNSET.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        return Err(Error::Usage(format!(
            "the conditions of wait `{}` read `${{{name}}}`, which is not set: pass `--var {name}=...` (eval needs no other variable, nor a project id)",
            wait.name
        )));
    }
    let unknown = |t: &Template| {
        t.0.iter()
            .any(|p| matches!(p, Piece::Text(text) if text.contains(UNSET)))
    };
    // Renders to nothing offline, as an output reference does.
    let unknowable = || {
        Template(vec![Piece::Output {
            wait: String::new(),
            key: String::new(),
        }])
    };
    let mut wait = wait.clone();
    match &mut wait.target {
        Target::ImageJob { job_id }
        | Target::AppServerJob { job_id }
        | Target::DesktopJob { job_id }
            if unknown(job_id) =>
        {
            *job_id = unknowable();
        }
        Target::ImageSubJobs(f)
        | Target::AppServerSubJobs(f)
        | Target::DesktopSubJobs(f)
        | Target::ImageSubJobCount(f)
        | Target::AppServerSubJobCount(f)
            if f.job_id.as_ref().is_some_and(unknown) =>
        {
            f.job_id = Some(unknowable());
        }
        _ => {}
    }
    Ok(wait)
}
