//! When to poll next: a pure function of a model of the job's duration,
//! its age, the spec's bounds, the effort knob, the deadline and a jitter
//! sample ([`plan`]); and the plain progression for `adaptive: false`
//! ([`Backoff`]).

use std::time::Duration;

use super::estimate::Model;

/// Shortens `delay` so the next poll happens no later than `remaining`
/// allows: the last poll is fitted to the deadline instead of sleeping past it.
pub(crate) fn fit_to_deadline(delay: Duration, remaining: Duration) -> Duration {
    delay.min(remaining)
}

/// How hard to chase the end: the one knob along the trade-off between
/// requests and detection latency.
pub(crate) use crate::spec::Effort;

/// Keller's cost of one poll at `balanced`, as a share of the model's
/// median duration (seconds of detection latency one request is worth):
/// the same for every age of one job, as Keller's optimum assumes, and in
/// proportion to how long such jobs take, so an hour-long build is polled
/// more sparsely than a five-minute one. The value puts `balanced` where a
/// 30 s loop's cost is on 10-60 min builds (about 55 requests without
/// history); `eager` divides it by 4 (polls about twice as dense), `gentle`
/// multiplies it by 4. It was a cost growing with the age up to a quarter
/// of the median; measured by the replay (`schedule/replay.rs`), the
/// constant cost is 5-15% sooner at equal requests once something is known
/// of the job type, and young jobs are covered by [`YOUNG_FLOORS`] instead.
const KAPPA: f64 = 2.5e-4;

/// A job younger than this many floors, of which nothing says it is not
/// one of those that end within seconds (no past durations, progress or
/// finished sub-jobs), is polled again after a floor: a job of 5-20 s is
/// then seen as soon as by a loop at the floor, for as many requests,
/// whatever its kind usually takes.
pub(crate) const YOUNG_FLOORS: f64 = 4.0;

/// How much of a planned delay jitter may move it, either way.
const JITTER_SHARE: f64 = 0.2;

/// Steps of the numerical integration over one `max`.
const STEPS: u32 = 128;

impl Effort {
    fn kappa(self) -> f64 {
        match self {
            Effort::Gentle => KAPPA * 4.0,
            Effort::Balanced => KAPPA,
            Effort::Eager => KAPPA / 4.0,
        }
    }
}

/// What just happened that the model does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Urgency {
    /// Nothing: the model decides.
    #[default]
    None,
    /// The observed state just changed: things are moving, so the next
    /// poll comes at most half as late as planned.
    Changed,
    /// A failure condition is about to trip: the next poll comes at the
    /// floor, so the failure is seen as soon as an end would be.
    NearFailure,
}

/// Everything [`plan`] needs to place the next poll.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub(crate) model: &'a Model,
    /// How long the job has run (by its `begin_time`, or since jobgate first
    /// saw it).
    pub(crate) age: Duration,
    /// The spec's `initial`: no two polls closer (except to fit the
    /// deadline).
    pub(crate) floor: Duration,
    /// The spec's `max`: no two polls further apart.
    pub(crate) max: Duration,
    pub(crate) effort: Effort,
    /// Time left before the wait's deadline.
    pub(crate) remaining: Duration,
    pub(crate) urgency: Urgency,
    /// A uniform sample in `[0, 1)` for jitter; `None`: no jitter.
    pub(crate) jitter: Option<f64>,
}

/// The next delay: polls placed with a density proportional to the square
/// root of the hazard rate (Keller, "Optimum checking schedules for systems
/// subject to random failure", Management Science 21(3), 1974), which
/// minimises the expected detection latency plus a cost per poll. The cost
/// grows with the job's age (a minute late matters less on an hour-long
/// build than on a one-minute job), which makes a job of unknown length
/// polled on a geometric progression of its age.
///
/// Never beyond `max`, never past the deadline, never under the floor
/// unless fitting the deadline; a deadline less than a floor after the
/// planned poll takes the poll itself (when within `max`), so no request is
/// spent a moment before the last one.
pub(crate) fn plan(i: Inputs<'_>) -> Duration {
    let (floor, max) = (i.floor.min(i.max), i.max);
    let max_s = max.as_secs_f64();
    let floor_s = floor.as_secs_f64().max(1e-3);
    let age = i.age.as_secs_f64();
    let cost = i.effort.kappa() * i.model.quantile(0.5);
    // The density of polls at age s; one poll per unit of its integral.
    let density = |s: f64| (i.model.hazard(s) / (2.0 * cost)).sqrt();
    let dt = max_s / f64::from(STEPS);
    let mut planned = max_s;
    let mut mass = 0.0;
    for k in 0..STEPS {
        let step = density(age + (f64::from(k) + 0.5) * dt) * dt;
        if mass + step >= 1.0 {
            planned = dt * (f64::from(k) + (1.0 - mass) / step);
            break;
        }
        mass += step;
    }
    let mut delay = Duration::try_from_secs_f64(planned)
        .unwrap_or(max)
        .clamp(floor, max);
    // Strictly younger: the poll after the fourth floor lands at about
    // four floors of age, whatever a late wake-up or a clock a second off
    // adds, and its successor is the model's.
    if i.model.may_be_quick() && age < YOUNG_FLOORS * floor_s {
        delay = floor;
    }
    match i.urgency {
        Urgency::None => {}
        Urgency::Changed => delay = (delay / 2).max(floor),
        Urgency::NearFailure => delay = floor,
    }
    if let Some(unit) = i.jitter {
        delay = jitter_around(delay, floor, max, unit);
    }
    fit_deadline(delay, floor, max, i.remaining)
}

/// Moves `planned` by up to a fifth either way, evenly, so jitter costs no
/// requests on average; never out of `[floor, max]` (a delay at a bound
/// stays there).
pub(crate) fn jitter_around(
    planned: Duration,
    floor: Duration,
    max: Duration,
    unit: f64,
) -> Duration {
    let p = planned.as_secs_f64();
    let amp = (JITTER_SHARE * p)
        .min(p - floor.as_secs_f64())
        .min(max.as_secs_f64() - p)
        .max(0.0);
    let moved = p + amp * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    Duration::try_from_secs_f64(moved)
        .unwrap_or(planned)
        .clamp(floor.min(planned), max.max(planned))
}

/// The delay fitted to the deadline: never past it, and the deadline itself
/// when it is less than a floor after the planned poll and within `max`.
pub(crate) fn fit_deadline(
    delay: Duration,
    floor: Duration,
    max: Duration,
    remaining: Duration,
) -> Duration {
    if delay >= remaining || (remaining - delay < floor && remaining <= max) {
        remaining
    } else {
        delay
    }
}

/// The schedule of a wait with `adaptive: false`: delays grow from `initial`
/// by `factor` up to `max`, starting over when the state changes.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration, factor: f64) -> Backoff {
        Backoff {
            initial,
            max,
            factor: if factor.is_finite() {
                factor.max(1.0)
            } else {
                1.0
            },
            next: initial.min(max),
        }
    }

    /// The next delay of the progression.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = Duration::try_from_secs_f64(d.as_secs_f64() * self.factor)
            .unwrap_or(self.max)
            .min(self.max);
        d
    }

    /// Starts the progression over.
    pub(crate) fn reset(&mut self) {
        self.next = self.initial.min(self.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- the model-driven schedule ----

    use crate::engine::estimate::{Model, Signals, prior};
    use proptest::prelude::*;

    fn image_model(history: &[f64]) -> Model {
        Model::build(
            &Signals {
                prior: Some(prior::IMAGE.scaled(1.0)),
                members: 1,
                api_history: history.to_vec(),
                ..Signals::default()
            },
            1.0,
        )
    }

    fn inputs(model: &Model, age: f64, effort: Effort) -> Inputs<'_> {
        Inputs {
            model,
            age: Duration::from_secs_f64(age),
            floor: Duration::from_secs(5),
            max: Duration::from_secs(60),
            effort,
            remaining: Duration::from_secs(3600),
            urgency: Urgency::None,
            jitter: None,
        }
    }

    /// The delays a job of `end` seconds sees from age `start`, polled until
    /// it ends: (polls, latency).
    fn simulate(model: &Model, start: f64, end: f64, effort: Effort) -> (u32, f64) {
        let (mut t, mut polls) = (start, 1);
        while t < end {
            t += plan(inputs(model, t, effort)).as_secs_f64();
            polls += 1;
        }
        (polls, t - end)
    }

    #[test]
    fn young_jobs_without_history_are_polled_at_the_floor() {
        let m = image_model(&[]);
        // Younger than YOUNG_FLOORS floors, a second late included.
        for age in [0.0, 2.0, 5.0, 10.0, 15.0, 16.0, 19.9] {
            assert_eq!(
                plan(inputs(&m, age, Effort::Balanced)),
                Duration::from_secs(5),
                "age {age}"
            );
        }
        // A short job (5-20 s) costs what a 5 s loop costs, and is seen as soon.
        for end in [5.0, 8.0, 12.5, 19.0] {
            let loop_polls = (end / 5.0f64).ceil() as u32 + 1;
            let (polls, late) = simulate(&m, 0.0, end, Effort::Balanced);
            assert!(polls <= loop_polls, "{end}: {polls} > {loop_polls}");
            assert!(late <= 5.0, "{end}: {late}");
        }
    }

    #[test]
    fn old_jobs_without_history_are_polled_sparsely() {
        let m = image_model(&[]);
        let late = plan(inputs(&m, 1200.0, Effort::Balanced));
        assert!(late >= Duration::from_secs(20), "{late:?}");
        let (polls, _) = simulate(&m, 0.0, 1800.0, Effort::Balanced);
        // A 5 s loop spends 361 requests on a 30-minute build.
        assert!(polls < 361 / 4, "{polls}");
    }

    #[test]
    fn history_concentrates_polls_where_jobs_end() {
        let m = image_model(&[580.0, 600.0, 610.0, 590.0, 605.0, 620.0, 595.0, 600.0]);
        let before = plan(inputs(&m, 300.0, Effort::Balanced));
        let during = plan(inputs(&m, 600.0, Effort::Balanced));
        assert_eq!(before, Duration::from_secs(60));
        assert!(during < Duration::from_secs(10), "{during:?}");
    }

    #[test]
    fn near_failure_polls_at_the_floor_and_a_change_halves_the_delay() {
        let m = image_model(&[]);
        let mut i = inputs(&m, 1200.0, Effort::Balanced);
        let planned = plan(i);
        i.urgency = Urgency::NearFailure;
        assert_eq!(plan(i), Duration::from_secs(5));
        i.urgency = Urgency::Changed;
        assert_eq!(plan(i), (planned / 2).max(Duration::from_secs(5)));
        assert!(plan(i) < Duration::from_secs(60));
    }

    #[test]
    fn fitting_to_the_deadline_never_sleeps_past_it() {
        let s = Duration::from_secs;
        assert_eq!(fit_to_deadline(s(30), s(4)), s(4));
        assert_eq!(fit_to_deadline(s(3), s(4)), s(3));
    }

    #[test]
    fn the_deadline_takes_the_last_poll() {
        let m = image_model(&[]);
        let mut i = inputs(&m, 1200.0, Effort::Balanced);
        i.remaining = Duration::from_secs(3);
        assert_eq!(plan(i), Duration::from_secs(3));
        // Less than a floor would be left after the planned poll: poll at
        // the deadline instead of just before it.
        i.age = Duration::ZERO;
        i.remaining = Duration::from_secs(8);
        assert_eq!(plan(i), Duration::from_secs(8));
    }

    #[test]
    fn jitter_is_even_around_the_plan_and_within_bounds() {
        let (floor, max) = (Duration::from_secs(5), Duration::from_secs(60));
        let planned = Duration::from_secs(30);
        assert_eq!(
            jitter_around(planned, floor, max, 0.0),
            Duration::from_secs(24)
        );
        assert_eq!(jitter_around(planned, floor, max, 0.5), planned);
        assert_eq!(
            jitter_around(planned, floor, max, 1.0),
            Duration::from_secs(36)
        );
        // At a bound it stays there: no poll sooner than the floor.
        assert_eq!(jitter_around(floor, floor, max, 0.0), floor);
        assert_eq!(jitter_around(max, floor, max, 1.0), max);
    }

    #[test]
    fn backoff_grows_to_the_cap_and_starts_over() {
        let mut b = Backoff::new(Duration::from_secs(5), Duration::from_secs(60), 2.0);
        let d: Vec<u64> = (0..6).map(|_| b.next_delay().as_secs()).collect();
        assert_eq!(d, [5, 10, 20, 40, 60, 60]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_secs(5));
        let mut fixed = Backoff::new(Duration::from_secs(5), Duration::from_secs(60), 1.0);
        assert!((0..5).all(|_| fixed.next_delay() == Duration::from_secs(5)));
    }

    fn effort() -> impl Strategy<Value = Effort> {
        prop_oneof![
            Just(Effort::Gentle),
            Just(Effort::Balanced),
            Just(Effort::Eager)
        ]
    }

    fn rank(e: Effort) -> u8 {
        match e {
            Effort::Eager => 0,
            Effort::Balanced => 1,
            Effort::Gentle => 2,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn plans_stay_within_bounds_and_deadline(
            age in 0.0f64..100_000.0,
            floor_ms in 1u64..20_000,
            extra_ms in 0u64..600_000,
            remaining_ms in 0u64..10_000_000,
            history in proptest::collection::vec(1.0f64..50_000.0, 0..12),
            progress in proptest::option::of(0.0f64..10_000.0),
            members in 1u32..2_000,
            e in effort(),
            urgent in 0u8..3,
            unit in proptest::option::of(0.0f64..1.0),
        ) {
            let model = Model::build(&Signals {
                prior: Some(prior::DESKTOP.scaled(1.0)),
                members,
                api_history: history,
                progress_remaining: progress,
                age,
                ..Signals::default()
            }, 1.0);
            let floor = Duration::from_millis(floor_ms);
            let max = floor + Duration::from_millis(extra_ms);
            let remaining = Duration::from_millis(remaining_ms);
            let urgency = [Urgency::None, Urgency::Changed, Urgency::NearFailure][urgent as usize];
            let d = plan(Inputs {
                model: &model, age: Duration::from_secs_f64(age), floor, max, effort: e,
                remaining, urgency, jitter: unit,
            });
            prop_assert!(d <= max, "{d:?} > max {max:?}");
            prop_assert!(d <= remaining, "{d:?} past the deadline {remaining:?}");
            prop_assert!(d >= floor.min(remaining), "{d:?} under the floor {floor:?}");
        }

        #[test]
        fn more_effort_never_polls_later(
            age in 0.0f64..20_000.0,
            history in proptest::collection::vec(1.0f64..5_000.0, 0..8),
            a in effort(),
            b in effort(),
            unit in proptest::option::of(0.0f64..1.0),
            remaining_s in 1u64..5_000,
        ) {
            let model = Model::build(&Signals {
                prior: Some(prior::IMAGE.scaled(1.0)),
                members: 1,
                api_history: history,
                ..Signals::default()
            }, 1.0);
            let (eager, gentle) = if rank(a) <= rank(b) { (a, b) } else { (b, a) };
            let at = |effort| plan(Inputs {
                model: &model, age: Duration::from_secs_f64(age),
                floor: Duration::from_secs(5), max: Duration::from_secs(120), effort,
                remaining: Duration::from_secs(remaining_s), urgency: Urgency::None, jitter: unit,
            });
            prop_assert!(at(eager) <= at(gentle), "{eager:?} {:?} > {gentle:?} {:?}", at(eager), at(gentle));
        }

        #[test]
        fn the_same_seed_gives_the_same_plan(age in 0.0f64..5_000.0, unit in 0.0f64..1.0) {
            let model = image_model(&[]);
            let mut i = inputs(&model, age, Effort::Balanced);
            i.jitter = Some(unit);
            prop_assert_eq!(plan(i), plan(i));
        }
    }
}
#[cfg(test)]
mod replay;

/// The schedule against fixed intervals, on simulated jobs (no clock: the
/// schedule is a pure function, so whole waits are replayed in a loop).
#[cfg(test)]
mod trade_off {
    use super::*;
    use crate::engine::estimate::{Model, Signals, prior};

    /// Mean polls and mean detection latency (seconds) over jobs ending at
    /// `ends`, each polled from age 0 until a poll sees it ended.
    fn replay(model: &Model, effort: Effort, ends: &[f64]) -> (f64, f64) {
        let (mut polls_sum, mut late_sum) = (0.0, 0.0);
        for &end in ends {
            let (mut t, mut polls) = (0.0, 1.0);
            while t < end {
                t += plan(Inputs {
                    model,
                    age: Duration::from_secs_f64(t),
                    floor: Duration::from_secs(5),
                    max: Duration::from_secs(60),
                    effort,
                    remaining: Duration::from_secs(100_000),
                    urgency: Urgency::None,
                    jitter: None,
                })
                .as_secs_f64();
                polls += 1.0;
            }
            polls_sum += polls;
            late_sum += t - end;
        }
        let n = ends.len() as f64;
        (polls_sum / n, late_sum / n)
    }

    /// The mean latency of a fixed interval spending the same polls: half
    /// the interval that spreads them over the mean duration.
    fn fixed_at_equal_cost(ends: &[f64], polls: f64) -> f64 {
        let mean = ends.iter().sum::<f64>() / ends.len() as f64;
        mean / (polls - 1.0) / 2.0
    }

    /// 200 durations spread log-uniformly over `[lo, hi]`.
    fn spread(lo: f64, hi: f64) -> Vec<f64> {
        (0..200)
            .map(|i| lo * (hi / lo).powf((f64::from(i) + 0.5) / 200.0))
            .collect()
    }

    fn image(history: Vec<f64>) -> Model {
        Model::build(
            &Signals {
                prior: Some(prior::IMAGE.scaled(1.0)),
                members: 1,
                api_history: history,
                ..Signals::default()
            },
            1.0,
        )
    }

    #[test]
    fn short_jobs_without_history_cost_what_a_5s_loop_costs() {
        let ends: Vec<f64> = (0..200)
            .map(|i| 5.0 + 15.0 * (f64::from(i) + 0.5) / 200.0)
            .collect();
        // A 5 s loop: polls at 0, 5, 10, … and sees each end 2.5 s late.
        let loop_polls = ends.iter().map(|e| (e / 5.0).ceil() + 1.0).sum::<f64>() / 200.0;
        let (polls, late) = replay(&image(Vec::new()), Effort::Balanced, &ends);
        assert!(polls <= loop_polls + 1e-9, "{polls} > {loop_polls}");
        assert!(late <= 2.5 + 1e-9, "{late}");
    }

    #[test]
    fn long_jobs_without_history_are_about_as_good_as_a_fixed_interval() {
        let ends = spread(600.0, 3600.0);
        let (polls, late) = replay(&image(Vec::new()), Effort::Balanced, &ends);
        let fixed = fixed_at_equal_cost(&ends, polls);
        assert!(
            late <= 1.1 * fixed,
            "{late} vs fixed {fixed} at {polls} polls"
        );
        // A 5 s loop would spend 337 polls on these.
        assert!(polls < 337.0 / 4.0, "{polls}");
    }

    #[test]
    fn history_beats_a_fixed_interval_at_equal_cost() {
        let history: Vec<f64> = (0..20)
            .map(|i| 600.0 * (0.05 * ((f64::from(i) + 0.5) / 10.0 - 1.0)).exp())
            .collect();
        let ends = spread(570.0, 630.0);
        let (polls, late) = replay(&image(history), Effort::Balanced, &ends);
        let fixed = fixed_at_equal_cost(&ends, polls);
        assert!(
            late <= 0.6 * fixed,
            "{late} vs fixed {fixed} at {polls} polls"
        );
        // A quarter of a 5 s loop's polls at most, seen within 1.5× its
        // latency (2.5 s).
        assert!(
            polls <= 121.0 / 4.0 && late <= 3.75,
            "{polls} polls, {late} s late"
        );
    }

    #[test]
    fn each_knob_setting_trades_polls_for_latency() {
        let ends = spread(600.0, 3600.0);
        let model = image(Vec::new());
        let [gentle, balanced, eager] =
            [Effort::Gentle, Effort::Balanced, Effort::Eager].map(|e| replay(&model, e, &ends));
        assert!(gentle.0 < balanced.0 && balanced.0 < eager.0);
        assert!(gentle.1 > balanced.1 && balanced.1 > eager.1);
    }
}
