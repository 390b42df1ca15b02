//! Process exit codes: the contract scripts and CI rely on.
//!
//! Every code is a documented constant; [`crate::error::Error::code`] and
//! [`crate::engine::RunOutcome::exit_code`] are the only places that choose one.

/// Every wait met its success condition.
pub const SUCCESS: u8 = 0;
/// A wait reached a failure condition or an unexpected state.
pub const WAIT_FAILED: u8 = 1;
/// The command line or the spec is invalid; nothing was polled.
pub const INVALID_INPUT: u8 = 2;
/// A timeout ran out before the outcome was known.
pub const TIMED_OUT: u8 = 3;
/// Credentials are missing, rejected (401) or not permitted (403).
pub const AUTH: u8 = 4;
/// The API stayed unreachable or answered errors beyond the retry budget.
pub const API_UNAVAILABLE: u8 = 5;
/// Interrupted by SIGINT (128 + 2).
pub const INTERRUPTED: u8 = 130;
/// Terminated by SIGTERM (128 + 15).
pub const TERMINATED: u8 = 143;

/// Exit codes in the order that decides a mixed run: when waits end
/// differently, the first of these that occurred is the process's code.
pub const PRECEDENCE: [u8; 4] = [WAIT_FAILED, AUTH, API_UNAVAILABLE, TIMED_OUT];

/// Combines per-wait codes into the run's code following [`PRECEDENCE`];
/// signals win over everything because the user asked to stop.
pub fn combine(codes: impl IntoIterator<Item = u8>) -> u8 {
    let codes: Vec<u8> = codes.into_iter().collect();
    for signal in [INTERRUPTED, TERMINATED] {
        if codes.contains(&signal) {
            return signal;
        }
    }
    PRECEDENCE
        .into_iter()
        .find(|code| codes.contains(code))
        .unwrap_or(SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_success_is_success() {
        assert_eq!(combine([SUCCESS, SUCCESS]), SUCCESS);
        assert_eq!(combine([]), SUCCESS);
    }

    #[test]
    fn precedence_is_failed_auth_unavailable_timeout() {
        assert_eq!(
            combine([TIMED_OUT, API_UNAVAILABLE, AUTH, WAIT_FAILED]),
            WAIT_FAILED
        );
        assert_eq!(combine([TIMED_OUT, API_UNAVAILABLE, AUTH]), AUTH);
        assert_eq!(
            combine([TIMED_OUT, API_UNAVAILABLE, SUCCESS]),
            API_UNAVAILABLE
        );
        assert_eq!(combine([SUCCESS, TIMED_OUT]), TIMED_OUT);
    }

    #[test]
    fn signals_win() {
        assert_eq!(combine([WAIT_FAILED, INTERRUPTED]), INTERRUPTED);
        assert_eq!(combine([TERMINATED, TIMED_OUT]), TERMINATED);
    }
}
