//! Progress inside a job: when does its slowest member reach 100%?
//!
//! Each member (a desktop's sub-job; a job without sub-jobs is its own
//! member) keeps its first and last sample, so its own rate of progress
//! predicts its own end. A fleet ends with its slowest member, so the
//! prediction is the latest of the members' ends, never the mean: a fleet
//! at 90% on average with one desktop stuck at 10% is far from done.

use std::collections::HashMap;

/// A progress sample: milliseconds on the wait's clock, and percent done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sample {
    pub(crate) at_ms: u64,
    pub(crate) percent: f64,
}

/// One member's first and latest samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Track {
    first: Sample,
    last: Sample,
}

/// The most members tracked: a fleet larger than this is judged on the
/// members first seen (the rest share their rates).
pub(crate) const MAX_MEMBERS: usize = 20_000;

/// Every member's progress so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress {
    members: HashMap<String, Track>,
}

impl Progress {
    /// Records one member's progress; a member that went backwards (a retry
    /// started over) starts a new track. `done` members are forgotten: they
    /// no longer decide the end.
    pub(crate) fn record(&mut self, member: &str, sample: Sample, done: bool) {
        if done || sample.percent >= 100.0 || !sample.percent.is_finite() {
            self.members.remove(member);
            return;
        }
        let room = self.members.len() < MAX_MEMBERS;
        match self.members.get_mut(member) {
            Some(t) if sample.percent >= t.last.percent && sample.at_ms >= t.last.at_ms => {
                t.last = sample
            }
            Some(t) => {
                *t = Track {
                    first: sample,
                    last: sample,
                }
            }
            None if room => {
                self.members.insert(
                    member.to_owned(),
                    Track {
                        first: sample,
                        last: sample,
                    },
                );
            }
            None => {}
        }
    }

    /// Whether any member is still tracked.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Seconds from `now_ms` until the slowest unfinished member reaches
    /// 100%, or `None` while no member has moved. A member that has not moved
    /// yet is assumed to go at the slowest rate seen, never the fastest.
    pub(crate) fn remaining(&self, now_ms: u64) -> Option<f64> {
        let rate = |t: &Track| {
            let elapsed = t.last.at_ms.checked_sub(t.first.at_ms)? as f64;
            let gained = t.last.percent - t.first.percent;
            (elapsed > 0.0 && gained > 0.0).then(|| gained / elapsed) // percent per ms
        };
        let slowest = self
            .members
            .values()
            .filter_map(rate)
            .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.min(r))))?;
        let latest = self
            .members
            .values()
            .map(|t| {
                let r = rate(t).unwrap_or(slowest);
                let end_ms = t.last.at_ms as f64 + (100.0 - t.last.percent) / r;
                end_ms - now_ms as f64
            })
            .fold(f64::NEG_INFINITY, f64::max);
        (latest.is_finite()).then(|| (latest / 1000.0).max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(at_ms: u64, percent: f64) -> Sample {
        Sample { at_ms, percent }
    }

    #[test]
    fn predicts_from_a_members_own_rate() {
        let mut p = Progress::default();
        p.record("a", s(0, 10.0), false);
        assert_eq!(p.remaining(0), None);
        p.record("a", s(10_000, 30.0), false);
        // 20% per 10 s, 70% left: 35 s.
        assert!((p.remaining(10_000).unwrap() - 35.0).abs() < 1e-9);
        // Stalled progress says nothing new.
        let mut q = Progress::default();
        q.record("a", s(0, 10.0), false);
        q.record("a", s(5_000, 10.0), false);
        assert_eq!(q.remaining(5_000), None);
    }

    #[test]
    fn the_slowest_member_decides_not_the_mean() {
        let mut p = Progress::default();
        for i in 0..99 {
            let id = format!("fast-{i}");
            p.record(&id, s(0, 50.0), false);
            p.record(&id, s(10_000, 90.0), false);
        }
        p.record("slow", s(0, 10.0), false);
        p.record("slow", s(10_000, 20.0), false);
        // The fast ones need 2.5 s more; the slow one 80 s.
        assert!((p.remaining(10_000).unwrap() - 80.0).abs() < 1e-9);
        // Once it is done, the others decide.
        p.record("slow", s(11_000, 100.0), false);
        assert!((p.remaining(10_000).unwrap() - 2.5).abs() < 1e-9);
    }

    #[test]
    fn a_member_not_yet_moving_goes_at_the_slowest_rate() {
        let mut p = Progress::default();
        p.record("a", s(0, 0.0), false);
        p.record("a", s(10_000, 50.0), false);
        p.record("b", s(10_000, 0.0), false);
        // b at a's rate (5%/s) needs 20 s.
        assert!((p.remaining(10_000).unwrap() - 20.0).abs() < 1e-9);
    }

    #[test]
    fn going_backwards_starts_over() {
        let mut p = Progress::default();
        p.record("a", s(0, 50.0), false);
        p.record("a", s(1_000, 60.0), false);
        p.record("a", s(2_000, 5.0), false);
        assert_eq!(p.remaining(2_000), None);
        p.record("a", s(3_000, 100.0), false);
        assert!(p.is_empty());
    }
}
