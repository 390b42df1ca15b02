//! Process exit codes: the contract scripts and CI rely on.
//!
//! Every code is a documented constant, and these are the places that
//! choose one:
//!
//! - a wait's own code: `Outcome::own_exit_code` (`report/model.rs`);
//! - a run's code from its waits': [`combine`], called by the engine's run
//!   verdict, which also maps a signal to [`INTERRUPTED`] or [`TERMINATED`];
//! - a command that ends in an error (an invalid spec, no credentials, an
//!   output that could not be written): `Error::code` (`error.rs`);
//! - `eval`'s verdict on a saved answer (`commands/eval.rs`);
//! - the entry point: clap's own errors ([`INVALID_INPUT`]) and a panic
//!   ([`INTERNAL`], `crash.rs`).

/// Every wait met its success condition.
pub(crate) const SUCCESS: u8 = 0;
/// A wait reached a failure condition or an unexpected state.
pub(crate) const WAIT_FAILED: u8 = 1;
/// The command line or the spec is invalid; nothing was polled.
pub(crate) const INVALID_INPUT: u8 = 2;
/// A timeout ran out before the outcome was known.
pub(crate) const TIMED_OUT: u8 = 3;
/// Credentials are missing, rejected (401) or not permitted (403), or an
/// ID token was refused by IAM or cannot be read.
pub(crate) const AUTH: u8 = 4;
/// The API stayed unreachable or answered errors beyond the retry budget.
/// Also, whatever the waits' outcomes, an output (a report file, saved
/// responses, a GitHub Actions file) that could not be written: the gate's
/// result did not reach its reader, which a CI step must treat like an
/// unreachable API. The outputs that were written then say 5 as well.
pub(crate) const API_UNAVAILABLE: u8 = 5;
/// jobgate itself failed (a bug: a panic, or a wait that ended without an
/// outcome; or its own machinery, the async runtime or the HTTP client,
/// could not start). Like `EX_SOFTWARE` of `sysexits.h`.
pub(crate) const INTERNAL: u8 = 70;
/// Interrupted by SIGINT (128 + 2).
pub(crate) const INTERRUPTED: u8 = 130;
/// Terminated by SIGTERM (128 + 15).
pub(crate) const TERMINATED: u8 = 143;

/// Exit codes in the order that decides a mixed run: when waits end
/// differently, the first of these that occurred is the process's code. An
/// internal error comes first: the other verdicts of a run that crashed are
/// not to be trusted.
pub(crate) const PRECEDENCE: [u8; 5] = [INTERNAL, WAIT_FAILED, AUTH, API_UNAVAILABLE, TIMED_OUT];

/// Combines per-wait codes into the run's code. Each wait gives `Some(code)`
/// (`Some(SUCCESS)` only when it was met) or `None` when its outcome has no
/// code of its own (skipped or cancelled: it follows from another wait or a
/// signal).
///
/// The result is [`SUCCESS`] only when it is proven: at least one wait and
/// every one of them `Some(SUCCESS)`. Otherwise signals win (the user asked
/// to stop), then [`PRECEDENCE`]; a run that is not a success but names no
/// failure (no waits at all, or only skipped and cancelled ones) is an
/// internal error, never a pass.
pub(crate) fn combine(codes: impl IntoIterator<Item = Option<u8>>) -> u8 {
    let codes: Vec<Option<u8>> = codes.into_iter().collect();
    if !codes.is_empty() && codes.iter().all(|c| *c == Some(SUCCESS)) {
        return SUCCESS;
    }
    for signal in [INTERRUPTED, TERMINATED] {
        if codes.contains(&Some(signal)) {
            return signal;
        }
    }
    PRECEDENCE
        .into_iter()
        .find(|code| codes.contains(&Some(*code)))
        .unwrap_or(INTERNAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_all_success_is_success() {
        assert_eq!(combine([Some(SUCCESS), Some(SUCCESS)]), SUCCESS);
        // Nothing proven: no waits, or waits without a verdict of their own.
        assert_eq!(combine([]), INTERNAL);
        assert_eq!(combine([Some(SUCCESS), None]), INTERNAL);
        // A code outside the table is not a pass either.
        assert_eq!(combine([Some(SUCCESS), Some(42)]), INTERNAL);
    }

    #[test]
    fn precedence_is_internal_failed_auth_unavailable_timeout() {
        let all = [TIMED_OUT, API_UNAVAILABLE, AUTH, WAIT_FAILED, INTERNAL].map(Some);
        assert_eq!(combine(all), INTERNAL);
        assert_eq!(combine(all[..4].to_vec()), WAIT_FAILED);
        assert_eq!(combine(all[..3].to_vec()), AUTH);
        assert_eq!(
            combine([Some(TIMED_OUT), Some(API_UNAVAILABLE), Some(SUCCESS)]),
            API_UNAVAILABLE
        );
        assert_eq!(combine([Some(SUCCESS), Some(TIMED_OUT), None]), TIMED_OUT);
    }

    #[test]
    fn signals_win() {
        assert_eq!(combine([Some(WAIT_FAILED), Some(INTERRUPTED)]), INTERRUPTED);
        assert_eq!(combine([Some(TERMINATED), Some(TIMED_OUT)]), TERMINATED);
    }
}
