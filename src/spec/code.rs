//! Every mistake a spec can contain, as a [`DiagnosticCode`]: the one place
//! that lists what `jobgate validate` refuses.
//!
//! A code's string form (`spec::unknown_key`) is shown to users, written in
//! GitHub annotations and matched by scripts and tests: it never changes.
//! Each code has at least one example under `tests/fixtures/invalid/`.

use std::fmt;

/// Declares the codes, their string forms and [`DiagnosticCode::ALL`] from
/// one list, so that no code can miss a string or the catalogue.
macro_rules! codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $text:literal,)+) => {
        /// What kind of mistake a spec diagnostic reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DiagnosticCode {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl DiagnosticCode {
            /// Every code, in the order of this list.
            pub const ALL: &'static [DiagnosticCode] = &[$(DiagnosticCode::$variant,)+];

            /// The stable string form, e.g. `spec::unknown_key`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(DiagnosticCode::$variant => $text,)+
                }
            }
        }
    };
}

codes! {
    // ---- the document ------------------------------------------------------
    /// The text is not valid YAML (bad indentation, a tab, an unclosed bracket…).
    Yaml = "spec::yaml",
    /// A second YAML document (`---`) follows the spec.
    Documents = "spec::documents",
    /// The file is empty or holds only comments.
    Empty = "spec::empty",
    /// `version` is missing or is not `1`.
    Version = "spec::version",
    /// There is no `waits` mapping, or it is empty.
    NoWaits = "spec::no_waits",
    /// A value has the wrong YAML type (a list where a mapping or a string belongs).
    Type = "spec::type",
    /// A key that does not belong where it is written (usually a typo).
    UnknownKey = "spec::unknown_key",

    // ---- scalars -----------------------------------------------------------
    /// `${NAME}` names an environment variable that is unset or empty.
    UnsetVariable = "spec::unset_variable",
    /// A `${...}` that is not `${NAME}` or `${NAME:-default}`.
    Interpolation = "spec::interpolation",
    /// `$NAME` without braces in a value that would be sent as written.
    BareVariable = "spec::bare_variable",
    /// Not a duration, or longer than the field allows, or zero where it must be positive.
    Duration = "spec::duration",
    /// Not a whole number, or below the field's minimum.
    Number = "spec::number",
    /// Not `true` or `false` (YAML 1.1 words such as `yes` included).
    Boolean = "spec::boolean",

    // ---- defaults ----------------------------------------------------------
    /// `region` is not a region id.
    Region = "spec::region",
    /// The project id is missing or malformed.
    ProjectId = "spec::project_id",
    /// An endpoint override is not a usable http(s) base URL.
    Endpoint = "spec::endpoint",
    /// `poll.factor` is not a number from 1 to 10.
    PollFactor = "spec::poll_factor",
    /// `poll.jitter` is neither `full` nor `none`.
    PollJitter = "spec::poll_jitter",
    /// `poll.effort` is not `gentle`, `balanced` or `eager`.
    PollEffort = "spec::poll_effort",
    /// `JOBGATE_TIME_SCALE` is not a number from 1 to 10000.
    TimeScale = "spec::time_scale",
    /// `poll.initial` is longer than `poll.max`.
    PollOrder = "spec::poll_order",
    /// `unknown_status` is neither `fail` nor `wait`.
    UnknownStatusPolicy = "spec::unknown_status_policy",

    // ---- waits -------------------------------------------------------------
    /// A wait's name is not a string of letters, digits, `-` and `_`.
    WaitName = "spec::wait_name",
    /// Two waits have the same name.
    DuplicateWait = "spec::duplicate_wait",
    /// A wait has no wait kind (`image_job`, `get`…).
    NoKind = "spec::no_kind",
    /// A wait has more than one wait kind.
    TwoKinds = "spec::two_kinds",
    /// A job id is empty or looks like a URL.
    JobId = "spec::job_id",
    /// `image_sub_jobs` has no `job_type`, which the API requires.
    JobTypeRequired = "spec::job_type_required",
    /// Several job types on an endpoint that filters on one.
    JobType = "spec::job_type",
    /// Several statuses in a list filter, which the API takes one of.
    StatusFilter = "spec::status_filter",
    /// `get` has no `service`, or names an unknown one.
    GetService = "spec::get_service",
    /// `get` has no `path`, or it does not start with `/` or carries a query.
    GetPath = "spec::get_path",

    // ---- statuses and conditions -------------------------------------------
    /// A status the API never reports (usually a typo).
    UnknownStatus = "spec::unknown_status",
    /// A status listed twice in one list.
    DuplicateStatus = "spec::duplicate_status",
    /// A status is both `pending` and `target`.
    Overlap = "spec::overlap",
    /// `target` lists no status.
    EmptyTarget = "spec::empty_target",
    /// `target` on a wait kind that reports no statuses.
    TargetShape = "spec::target_shape",
    /// Both `target` and `success` say when the wait is done.
    TargetAndSuccess = "spec::target_and_success",
    /// Neither `target` nor `success`: the wait could never succeed.
    NoSuccess = "spec::no_success",
    /// A condition list with no condition in it.
    EmptyCondition = "spec::empty_condition",
    /// Something that is not a condition where one belongs.
    Condition = "spec::condition",
    /// A condition with two tests (`all` and `count`…).
    TwoChecks = "spec::two_checks",
    /// A condition the wait kind cannot answer (`status` on a list…).
    ConditionShape = "spec::condition_shape",
    /// A `count` condition without `is`.
    CountIs = "spec::count_is",
    /// A `where` filter a count endpoint cannot apply.
    CountWhere = "spec::count_where",
    /// Not a comparison such as `== 0` or `>= 95%`.
    Comparison = "spec::comparison",

    // ---- JSONPath ----------------------------------------------------------
    /// An invalid RFC 9535 JSONPath expression.
    Jsonpath = "spec::jsonpath",
    /// A `path` condition with no test, or with two.
    PathTest = "spec::path_test",
    /// `in` given a single value instead of a list.
    PathIn = "spec::path_in",
    /// A JSONPath `count` written as a share, which has no whole to divide by.
    PathShare = "spec::path_share",
    /// An invalid regular expression in `matches`.
    Regex = "spec::regex",
    /// A mapping or list where a scalar value is compared.
    Value = "spec::value",
    /// A number or boolean that YAML and JSON read differently (`007`, `no`).
    AmbiguousValue = "spec::ambiguous_value",

    // ---- outputs and the order of waits ------------------------------------
    /// An output name that is not letters, digits and `_`.
    OutputName = "spec::output_name",
    /// An output reference outside a wait kind's parameters.
    OutputHere = "spec::output_here",
    /// A reference to a wait or an output that does not exist.
    OutputUnknown = "spec::output_unknown",
    /// A reference to an output of a wait this one does not run after.
    OutputOrder = "spec::output_order",
    /// `after` names a wait that does not exist.
    AfterUnknown = "spec::after_unknown",
    /// A wait runs after itself.
    AfterSelf = "spec::after_self",
    /// Waits run after each other in a cycle.
    AfterCycle = "spec::after_cycle",
}

impl fmt::Display for DiagnosticCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code reads as its string form, which is what reports and tests compare.
impl std::ops::Deref for DiagnosticCode {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<&str> for DiagnosticCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::DiagnosticCode;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_distinct_and_namespaced() {
        let strings: BTreeSet<&str> = DiagnosticCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(strings.len(), DiagnosticCode::ALL.len());
        for code in DiagnosticCode::ALL {
            let name = code.strip_prefix("spec::").unwrap_or_default();
            assert!(
                !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }
}
