//! The words and marks every output uses for an outcome: the live view,
//! the summary, JUnit and GitHub say the same thing the same way.

use super::model::Outcome;

/// An outcome in words, for people (`timed out` rather than `timed_out`,
/// the name in reports: [`Outcome::as_str`]).
pub(crate) fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => "met",
        Outcome::Failed => "failed",
        Outcome::UnexpectedState => "unexpected state",
        Outcome::TimedOut => "timed out",
        Outcome::NotFound => "not found",
        Outcome::AuthError => "auth error",
        Outcome::ApiError => "API error",
        Outcome::Skipped => "skipped",
        Outcome::Cancelled => "cancelled",
        Outcome::Running => "running",
        Outcome::InternalError => "internal error",
    }
}

/// A one-character mark for an outcome, in the live view and the summary.
/// All are narrow (one column) so the columns line up in any terminal.
pub(crate) fn mark(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => "✔",
        Outcome::Failed | Outcome::UnexpectedState | Outcome::NotFound => "✘",
        Outcome::TimedOut => "⧗",
        Outcome::AuthError | Outcome::ApiError => "⚠",
        Outcome::Skipped => "↷",
        Outcome::Cancelled => "⊘",
        Outcome::Running => "…",
        Outcome::InternalError => "‼",
    }
}

/// An outcome's emoji, for Markdown (the step summary), where width does
/// not matter and colour helps.
pub(crate) fn emoji(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => "✅",
        Outcome::Failed | Outcome::UnexpectedState | Outcome::NotFound => "❌",
        Outcome::TimedOut => "⏱️",
        Outcome::AuthError => "🔒",
        Outcome::ApiError => "⚠️",
        Outcome::Skipped => "⏭️",
        Outcome::Cancelled => "🚫",
        Outcome::Running => "⏳",
        Outcome::InternalError => "💥",
    }
}

/// Whether the gate did not pass because of this wait: its outcome asks
/// for a failing exit code of its own ([`Outcome::own_exit_code`]), as
/// opposed to a wait that passed, or was skipped or cancelled because of
/// another wait or a signal.
pub(crate) fn is_problem(outcome: Outcome) -> bool {
    outcome
        .own_exit_code()
        .is_some_and(|code| code != crate::exit::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Outcome; 11] = Outcome::ALL;

    #[test]
    fn problems_are_the_outcomes_with_a_failing_code() {
        let problems: Vec<Outcome> = ALL.into_iter().filter(|o| is_problem(*o)).collect();
        // Every outcome but these three; a wait left running when the run
        // ended never finished, so it is one.
        let fine = [Outcome::Met, Outcome::Skipped, Outcome::Cancelled];
        let expected: Vec<Outcome> = ALL.into_iter().filter(|o| !fine.contains(o)).collect();
        assert_eq!(problems, expected);
        assert_eq!(problems.len(), 8);
        assert!(problems.contains(&Outcome::Running));
    }

    #[test]
    fn labels_are_the_report_names_in_words() {
        for outcome in ALL {
            assert_eq!(
                label(outcome).to_lowercase().replace(' ', "_"),
                outcome.as_str(),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn marks_are_one_narrow_character() {
        for outcome in ALL {
            assert_eq!(mark(outcome).chars().count(), 1, "{outcome:?}");
        }
    }
}
