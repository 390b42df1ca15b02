//! `jobgate eval`: judge a wait's conditions against a saved response,
//! offline, and show what each condition found.

use super::{LARGEST_RESPONSE, load_spec, read_input};
use crate::cli::EvalArgs;
use crate::engine;
use crate::error::Error;
use crate::exit;

pub(super) fn eval(args: &EvalArgs) -> Result<u8, Error> {
    let spec = load_spec(&args.spec)?;
    let Some(wait) = spec.waits.iter().find(|w| w.name == args.wait) else {
        let names: Vec<&str> = spec.waits.iter().map(|w| w.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "no wait named `{}` in {}; waits: {}",
            args.wait,
            spec.origin,
            names.join(", ")
        )));
    };
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
