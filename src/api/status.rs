//! Job and sub-job statuses as the API reports them.
//!
//! The API's status sets are open in practice (Terraform's provider has seen
//! `FAIL` and `COMPLETE`), so unknown values are kept verbatim and never
//! mistaken for success.

use std::fmt;

/// A status reported by the API. Known values get a variant; anything else is
/// kept as [`Status::Other`] so it can be reported and judged by policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Waiting,
    Running,
    Success,
    Failed,
    Abnormal,
    Rollback,
    Aborting,
    /// A value outside the documented sets, kept verbatim.
    Other(String),
}

/// Every documented status, in the order they are listed in help and hints.
pub(crate) const KNOWN: [&str; 7] = [
    "WAITING", "RUNNING", "SUCCESS", "FAILED", "ABNORMAL", "ROLLBACK", "ABORTING",
];

/// Values seen in the wild (Huawei's Terraform provider) that a spec may name
/// without a warning even though no API page documents them.
pub(crate) const SEEN_IN_THE_WILD: [&str; 2] = ["FAIL", "COMPLETE"];

impl Status {
    /// Parses an API value. Matching is exact: the API uses upper case.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "WAITING" => Self::Waiting,
            "RUNNING" => Self::Running,
            "SUCCESS" => Self::Success,
            "FAILED" => Self::Failed,
            "ABNORMAL" => Self::Abnormal,
            "ROLLBACK" => Self::Rollback,
            "ABORTING" => Self::Aborting,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Waiting => "WAITING",
            Self::Running => "RUNNING",
            Self::Success => "SUCCESS",
            Self::Failed => "FAILED",
            Self::Abnormal => "ABNORMAL",
            Self::Rollback => "ROLLBACK",
            Self::Aborting => "ABORTING",
            Self::Other(raw) => raw,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self::parse(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_and_unknown() {
        for raw in KNOWN {
            let status = Status::parse(raw);
            assert!(!matches!(status, Status::Other(_)), "{raw}");
            assert_eq!(status.as_str(), raw);
        }
        let odd = Status::parse("COMPLETE");
        assert_eq!(odd, Status::Other("COMPLETE".into()));
        assert!(matches!(odd, Status::Other(_)));
        assert_eq!(odd.to_string(), "COMPLETE");
    }

    #[test]
    fn matching_is_case_sensitive() {
        assert_eq!(Status::parse("success"), Status::Other("success".into()));
    }
}
