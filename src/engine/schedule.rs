//! When to poll next: exponential backoff with full jitter, bounded by the
//! spec's delays, moved toward a job's predicted completion when it reports
//! progress, and never past the deadline.
//!
//! backon computes the exponential progression (configured so it never
//! stops and adds no jitter of its own); the jitter, the floor and the
//! deadline fit are pure functions here so they can be unit-tested without
//! sleeping.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::spec::{Jitter, PollSchedule};

/// The delays between one wait's polls.
pub struct Schedule {
    poll: PollSchedule,
    backoff: backon::ExponentialBackoff,
    rng: fastrand::Rng,
}

impl Schedule {
    /// A schedule for `poll`; `seed` makes the jitter reproducible in tests.
    pub fn new(poll: PollSchedule, seed: u64) -> Self {
        Schedule {
            poll,
            backoff: builder(&poll).build(),
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The next delay of the blind schedule (before adaptive hints and the
    /// deadline are applied).
    pub fn next_delay(&mut self) -> Duration {
        // `without_max_times` makes the iterator endless; the fallback is
        // only a guard.
        let base = self.backoff.next().unwrap_or(self.poll.max);
        match self.poll.jitter {
            Jitter::None => base,
            Jitter::Full => full_jitter(base, self.poll.initial, self.rng.f64()),
        }
    }

    /// Starts the progression over, e.g. after a state change, so a job that
    /// starts moving is watched closely again.
    pub fn reset(&mut self) {
        self.backoff = builder(&self.poll).build();
    }

    /// The bounds every delay stays within.
    pub fn bounds(&self) -> (Duration, Duration) {
        (self.poll.initial, self.poll.max)
    }
}

fn builder(poll: &PollSchedule) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(poll.initial)
        .with_max_delay(poll.max)
        .with_factor(poll.factor as f32)
        .without_max_times()
}

/// Full jitter ("Exponential Backoff and Jitter", AWS architecture blog):
/// uniform in `[floor, base]`, where `unit` is a uniform sample in `[0, 1)`.
/// The floor keeps a fleet of gates from polling faster than the spec's
/// initial delay.
pub fn full_jitter(base: Duration, floor: Duration, unit: f64) -> Duration {
    if base <= floor {
        return base;
    }
    let span = (base - floor).as_secs_f64();
    floor + Duration::from_secs_f64(span * unit.clamp(0.0, 1.0))
}

/// Shortens `delay` so the next poll happens no later than `remaining`
/// allows: the last poll is fitted to the deadline instead of sleeping past it.
pub fn fit_to_deadline(delay: Duration, remaining: Duration) -> Duration {
    delay.min(remaining)
}

/// A progress sample: milliseconds since the wait started and percent done.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProgressSample {
    pub at_ms: u64,
    pub percent: f64,
}

/// Predicts how long until `percent` reaches 100 from the rate between the
/// first and last samples, or `None` when there is no usable trend.
pub fn predict_completion(samples: &[ProgressSample]) -> Option<Duration> {
    let (first, last) = (samples.first()?, samples.last()?);
    let elapsed = last.at_ms.checked_sub(first.at_ms)? as f64;
    let gained = last.percent - first.percent;
    if elapsed <= 0.0 || gained <= 0.0 || last.percent >= 100.0 {
        return None;
    }
    let rate = gained / elapsed; // percent per millisecond
    let remaining_ms = (100.0 - last.percent) / rate;
    // A prediction past what a Duration holds is no prediction.
    Duration::try_from_secs_f64(remaining_ms / 1000.0).ok()
}

/// The delay to use given the blind schedule and a predicted completion:
/// poll just after the predicted end (a little late beats two early polls),
/// within the spec's bounds.
pub fn adaptive_delay(
    blind: Duration,
    predicted: Option<Duration>,
    bounds: (Duration, Duration),
) -> Duration {
    match predicted {
        None => blind,
        Some(eta) => {
            let target = eta.saturating_add(eta / 20); // 5% margin past the estimate
            target.clamp(bounds.0, bounds.1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poll(initial: u64, max: u64, factor: f64, jitter: Jitter) -> PollSchedule {
        PollSchedule {
            initial: Duration::from_secs(initial),
            max: Duration::from_secs(max),
            factor,
            jitter,
            adaptive: true,
        }
    }

    #[test]
    fn grows_exponentially_to_the_cap_and_never_stops() {
        let mut s = Schedule::new(poll(5, 60, 2.0, Jitter::None), 1);
        let delays: Vec<u64> = (0..8).map(|_| s.next_delay().as_secs()).collect();
        assert_eq!(delays, vec![5, 10, 20, 40, 60, 60, 60, 60]);
        // backon stops after 3 tries by default: ours keeps going.
        assert_eq!((0..100).map(|_| s.next_delay()).count(), 100);
    }

    #[test]
    fn factor_one_is_a_fixed_interval() {
        let mut s = Schedule::new(poll(5, 60, 1.0, Jitter::None), 1);
        assert!((0..5).all(|_| s.next_delay() == Duration::from_secs(5)));
    }

    #[test]
    fn jittered_delays_stay_within_floor_and_computed_delay() {
        let mut s = Schedule::new(poll(5, 60, 2.0, Jitter::Full), 42);
        let expected = [5u64, 10, 20, 40, 60, 60, 60];
        for base in expected {
            let d = s.next_delay();
            assert!(
                d >= Duration::from_secs(5) && d <= Duration::from_secs(base),
                "{d:?} > {base}s"
            );
        }
    }

    #[test]
    fn jitter_is_deterministic_per_seed() {
        let take = |seed| {
            let mut s = Schedule::new(poll(1, 60, 2.0, Jitter::Full), seed);
            (0..6).map(|_| s.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(take(7), take(7));
        assert_ne!(take(7), take(8));
    }

    #[test]
    fn full_jitter_endpoints() {
        let floor = Duration::from_secs(5);
        let base = Duration::from_secs(25);
        assert_eq!(full_jitter(base, floor, 0.0), floor);
        assert_eq!(full_jitter(base, floor, 1.0), base);
        assert_eq!(full_jitter(base, floor, 0.5), Duration::from_secs(15));
        assert_eq!(
            full_jitter(Duration::from_secs(3), floor, 0.9),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn reset_starts_over() {
        let mut s = Schedule::new(poll(1, 60, 2.0, Jitter::None), 1);
        s.next_delay();
        s.next_delay();
        s.reset();
        assert_eq!(s.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn deadline_fit() {
        assert_eq!(
            fit_to_deadline(Duration::from_secs(30), Duration::from_secs(4)),
            Duration::from_secs(4)
        );
        assert_eq!(
            fit_to_deadline(Duration::from_secs(3), Duration::from_secs(4)),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn predicts_from_progress() {
        let samples = [
            ProgressSample {
                at_ms: 0,
                percent: 10.0,
            },
            ProgressSample {
                at_ms: 10_000,
                percent: 30.0,
            },
        ];
        // 20% per 10 s, 70% left: 35 s.
        assert_eq!(predict_completion(&samples), Some(Duration::from_secs(35)));
        assert_eq!(predict_completion(&samples[..1]), None);
        let stalled = [
            samples[0],
            ProgressSample {
                at_ms: 5_000,
                percent: 10.0,
            },
        ];
        assert_eq!(predict_completion(&stalled), None);
    }

    #[test]
    fn adaptive_delay_is_bounded() {
        let bounds = (Duration::from_secs(5), Duration::from_secs(60));
        let blind = Duration::from_secs(20);
        assert_eq!(adaptive_delay(blind, None, bounds), blind);
        assert_eq!(
            adaptive_delay(blind, Some(Duration::from_secs(10)), bounds),
            Duration::from_millis(10_500)
        );
        assert_eq!(
            adaptive_delay(blind, Some(Duration::from_secs(1)), bounds),
            Duration::from_secs(5)
        );
        assert_eq!(
            adaptive_delay(blind, Some(Duration::from_secs(600)), bounds),
            Duration::from_secs(60)
        );
    }
}
