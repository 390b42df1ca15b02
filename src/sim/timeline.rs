//! Timelines: what a job or sub-job reports at a given offset from the
//! simulator's start, and when it reaches its final state.

use std::time::Duration;

use crate::api::Status;

/// One change of status, at an offset from the simulator's start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) at: Duration,
    pub(crate) status: Status,
}

/// A status history whose steps are in strictly increasing time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Timeline {
    steps: Vec<Step>,
}

impl Timeline {
    /// Builds a timeline; the steps must be non-empty and strictly increasing
    /// in time, otherwise the message says which step is out of place.
    pub(crate) fn new(steps: Vec<Step>) -> Result<Self, String> {
        if steps.is_empty() {
            return Err("a timeline needs at least one step".into());
        }
        for (index, pair) in steps.windows(2).enumerate() {
            if pair[1].at <= pair[0].at {
                return Err(format!(
                    "step {} (at {}) must come after step {} (at {}): list steps in increasing time order",
                    index + 1,
                    humantime::format_duration(pair[1].at),
                    index,
                    humantime::format_duration(pair[0].at),
                ));
            }
        }
        Ok(Self { steps })
    }

    /// The status at offset `t`: that of the last step at or before `t`, and
    /// `WAITING` before the first step (a job exists before it starts).
    pub(crate) fn status_at(&self, t: Duration) -> Status {
        self.steps
            .iter()
            .rev()
            .find(|step| step.at <= t)
            .map_or(Status::Waiting, |step| step.status.clone())
    }

    /// The final step, if its status is terminal: when and how it ends.
    pub(crate) fn terminal(&self) -> Option<&Step> {
        self.steps.last().filter(|step| is_terminal(&step.status))
    }
}

/// Whether a status is final. The documented transitional states are
/// WAITING, RUNNING, ROLLBACK and ABORTING; anything else (including values
/// such as `COMPLETE`) ends a timeline.
pub(crate) fn is_terminal(status: &Status) -> bool {
    !matches!(
        status,
        Status::Waiting | Status::Running | Status::Rollback | Status::Aborting
    )
}

/// Whether a status reports failure, so that error details are shown and a
/// parent job derived from its sub-jobs fails.
pub(crate) fn is_failure(status: &Status) -> bool {
    match status {
        Status::Failed | Status::Abnormal => true,
        Status::Other(raw) => raw == "FAIL",
        _ => false,
    }
}

/// One progress reading (percent) at an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) at: Duration,
    pub(crate) value: u8,
}

/// Progress readings (the workspace sub-jobs' `process`), linearly
/// interpolated between points so polls see it move smoothly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Progress {
    points: Vec<Point>,
}

impl Progress {
    /// Builds a progress curve: non-empty, strictly increasing in time,
    /// values 0..=100.
    pub(crate) fn new(points: Vec<Point>) -> Result<Self, String> {
        if points.is_empty() {
            return Err("progress needs at least one point".into());
        }
        if let Some(point) = points.iter().find(|point| point.value > 100) {
            return Err(format!(
                "progress value {} is not a percentage: use 0 to 100",
                point.value
            ));
        }
        for (index, pair) in points.windows(2).enumerate() {
            if pair[1].at <= pair[0].at {
                return Err(format!(
                    "progress point {} must come after point {}: list points in increasing time order",
                    index + 1,
                    index
                ));
            }
        }
        Ok(Self { points })
    }

    /// The progress at offset `t`: 0 before the first point, the last value
    /// after the last one, linear in between.
    pub(crate) fn value_at(&self, t: Duration) -> u8 {
        let Some(next_index) = self.points.iter().position(|point| point.at > t) else {
            return self.points.last().map_or(0, |point| point.value);
        };
        let Some(previous) = next_index.checked_sub(1).map(|i| self.points[i]) else {
            return 0;
        };
        let next = self.points[next_index];
        let span = (next.at - previous.at).as_secs_f64();
        let done = (t - previous.at).as_secs_f64();
        let from = f64::from(previous.value);
        let to = f64::from(next.value);
        let value = from + (to - from) * (done / span);
        // `value` lies between two values in 0..=100, so the cast is exact.
        value.round().clamp(0.0, 100.0) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    fn timeline(steps: &[(u64, &str)]) -> Result<Timeline, String> {
        Timeline::new(
            steps
                .iter()
                .map(|(at, status)| Step {
                    at: s(*at),
                    status: Status::parse(status),
                })
                .collect(),
        )
    }

    #[test]
    fn status_follows_the_last_step_reached() {
        let t = timeline(&[(1, "RUNNING"), (3, "SUCCESS")]).unwrap();
        assert_eq!(t.status_at(s(0)), Status::Waiting);
        assert_eq!(t.status_at(s(1)), Status::Running);
        assert_eq!(t.status_at(s(2)), Status::Running);
        assert_eq!(t.status_at(s(3)), Status::Success);
        assert_eq!(t.status_at(s(1000)), Status::Success);
        assert_eq!(t.terminal().map(|step| step.at), Some(s(3)));
    }

    #[test]
    fn unfinished_timeline_has_no_terminal_step() {
        let t = timeline(&[(0, "WAITING"), (1, "RUNNING")]).unwrap();
        assert!(t.terminal().is_none());
        let odd = timeline(&[(0, "COMPLETE")]).unwrap();
        assert_eq!(
            odd.terminal().map(|step| step.status.as_str()),
            Some("COMPLETE")
        );
    }

    #[test]
    fn steps_must_increase() {
        assert!(timeline(&[]).is_err());
        let error = timeline(&[(2, "RUNNING"), (1, "SUCCESS")]).unwrap_err();
        assert!(error.contains("step 1"), "{error}");
        assert!(timeline(&[(1, "RUNNING"), (1, "SUCCESS")]).is_err());
    }

    #[test]
    fn failure_statuses() {
        assert!(is_failure(&Status::Failed));
        assert!(is_failure(&Status::Abnormal));
        assert!(is_failure(&Status::parse("FAIL")));
        assert!(!is_failure(&Status::Success));
        assert!(!is_failure(&Status::parse("COMPLETE")));
    }

    #[test]
    fn progress_interpolates() {
        let p = Progress::new(vec![
            Point { at: s(2), value: 0 },
            Point {
                at: s(4),
                value: 100,
            },
        ])
        .unwrap();
        assert_eq!(p.value_at(s(0)), 0);
        assert_eq!(p.value_at(s(3)), 50);
        assert_eq!(p.value_at(s(4)), 100);
        assert_eq!(p.value_at(s(99)), 100);
        assert!(
            Progress::new(vec![Point {
                at: s(0),
                value: 101
            }])
            .is_err()
        );
        assert!(Progress::new(vec![]).is_err());
    }
}
