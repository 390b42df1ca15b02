//! The live progress view: one line per running wait on a terminal,
//! state changes and a heartbeat in a CI log, as [`super::decide`] chose.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Live, OutputMode, Verbosity};
use crate::engine::Event;
use crate::redact::Redactor;
use crate::report::human::printable;
use crate::report::words::{label, mark};
use crate::spec::duration;

/// How often the terminal view recomputes the time left.
const REFRESH: Duration = Duration::from_secs(1);

/// What the live view knows about one running wait.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WaitStatus {
    /// The last observed state (`RUNNING; 2 sub-jobs: 1 RUNNING, 1 SUCCESS`),
    /// `None` before the first answer.
    pub state: Option<String>,
    /// Overall progress in percent, where the API reports it.
    pub progress: Option<u32>,
    /// The last transient error retried since the state last changed.
    pub retried: Option<String>,
    /// When the wait runs out of time: its own timeout or the global
    /// deadline, whichever is sooner.
    pub deadline: Instant,
}

impl WaitStatus {
    fn new(deadline: Instant) -> Self {
        WaitStatus {
            state: None,
            progress: None,
            retried: None,
            deadline,
        }
    }

    /// A new observed state: it replaces the progress, and the retried error
    /// is no longer the latest news.
    fn observed(&mut self, state: String, progress: Option<u32>) {
        self.state = Some(state);
        self.progress = progress;
        self.retried = None;
    }

    /// The time left at `now` (see [`time_left`]).
    fn left(&self, now: Instant) -> String {
        time_left(self.deadline.saturating_duration_since(now))
    }

    /// The state and progress in a few words (`RUNNING [45%]`).
    fn describe(&self) -> String {
        let mut text = self
            .state
            .clone()
            .unwrap_or_else(|| "no answer yet".to_owned());
        if let Some(p) = self.progress {
            text.push_str(&format!(" [{p}%]"));
        }
        text
    }
}

/// Time left as people read it, rounded up to the second (`12m4s`, `0s`):
/// a countdown that shows `0s` while time remains would look stuck.
pub(crate) fn time_left(left: Duration) -> String {
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    duration::format(Duration::from_secs(secs))
}

/// One running wait's line in the terminal view: its name (padded to
/// `name_width`), the time left, then the state, progress and last retried
/// error. The time left comes before the state, which can be long and is
/// what the terminal cuts when the line is too wide.
pub(crate) fn wait_line(
    name: &str,
    name_width: usize,
    status: &WaitStatus,
    now: Instant,
    color: bool,
) -> String {
    let left = status.left(now);
    let name = format!("{name:<name_width$}");
    let name = if color {
        format!("\x1b[1m{name}\x1b[0m")
    } else {
        name
    };
    let mut line = format!("{left:>8} left  {}", status.describe());
    if let Some(error) = &status.retried {
        line.push_str(&format!(" · retried after {error}"));
    }
    format!("{name}  {}", one_line(&line))
}

/// Text from the API made safe for a log or a terminal, on one line: line
/// breaks become spaces and other control characters (escape sequences,
/// bells, carriage returns) are replaced, as in the summary.
pub(crate) fn one_line(text: &str) -> String {
    printable(&text.replace(['\r', '\n'], " ")).into_owned()
}

/// The plain view's heartbeat: every running wait with its state and time
/// left, or `None` when none is running.
pub(crate) fn heartbeat_line(waits: &BTreeMap<String, WaitStatus>, now: Instant) -> Option<String> {
    if waits.is_empty() {
        return None;
    }
    let list: Vec<String> = waits
        .iter()
        .map(|(name, status)| format!("{name} ({}, {} left)", status.describe(), status.left(now)))
        .collect();
    Some(format!("still waiting: {}", list.join(", ")))
}

/// Renders engine events until the channel closes, each through the
/// redactor first: states, errors and reasons are server text.
pub async fn render(
    mode: OutputMode,
    mut events: mpsc::UnboundedReceiver<Event>,
    redactor: Redactor,
) {
    if mode.live == Live::Off {
        while events.recv().await.is_some() {}
        return;
    }
    let (tx, redacted) = mpsc::unbounded_channel();
    let forward = async move {
        while let Some(event) = events.recv().await {
            if tx.send(redactor.event(event)).is_err() {
                break;
            }
        }
    };
    match mode.live {
        Live::Plain => tokio::join!(forward, plain(mode, redacted)),
        _ => tokio::join!(forward, interactive(mode, redacted)),
    };
}

async fn plain(mode: OutputMode, mut events: mpsc::UnboundedReceiver<Event>) {
    let start = Instant::now();
    let mut waits: BTreeMap<String, WaitStatus> = BTreeMap::new();
    let mut heartbeat = tokio::time::interval(mode.heartbeat);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    heartbeat.tick().await;
    let verbose = mode.verbosity == Verbosity::Verbose;
    let mut err = std::io::stderr();
    loop {
        let line = tokio::select! {
            event = events.recv() => match event {
                None => break,
                Some(Event::Started { wait, deadline }) => {
                    let status = WaitStatus::new(deadline);
                    let line = verbose.then(|| format!("{wait}: started, {} left", status.left(Instant::now())));
                    waits.insert(wait, status);
                    line
                }
                Some(Event::Observed { wait, state, progress }) => {
                    let line = match progress {
                        Some(p) => format!("{wait}: {state} [{p}%]"),
                        None => format!("{wait}: {state}"),
                    };
                    if let Some(status) = waits.get_mut(&wait) {
                        status.observed(state, progress);
                    }
                    Some(line)
                }
                Some(Event::Progress { wait, progress }) => {
                    // Not worth a line of its own: the heartbeat shows it.
                    if let Some(status) = waits.get_mut(&wait) {
                        status.progress = Some(progress);
                    }
                    None
                }
                Some(Event::Retrying { wait, error }) => {
                    verbose.then(|| format!("{wait}: retrying after {error}"))
                }
                Some(Event::Finished { wait, outcome, reason }) => {
                    waits.remove(&wait);
                    Some(format!("{wait}: {} {} — {reason}", mark(outcome), label(outcome)))
                }
            },
            _ = heartbeat.tick() => heartbeat_line(&waits, Instant::now()),
        };
        if let Some(line) = line {
            let at = start.elapsed().as_secs_f64();
            let _ = writeln!(err, "[{at:>7.1}s] {}", one_line(&line));
        }
    }
}

async fn interactive(mode: OutputMode, mut events: mpsc::UnboundedReceiver<Event>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let template = if mode.color {
        "{spinner:.cyan} {wide_msg}"
    } else {
        "{spinner} {wide_msg}"
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut bars: BTreeMap<String, (ProgressBar, WaitStatus)> = BTreeMap::new();
    let mut name_width = 0;
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let draw = |name: &str, width: usize, bar: &ProgressBar, status: &WaitStatus| {
        bar.set_message(wait_line(name, width, status, Instant::now(), mode.color));
    };
    loop {
        let event = tokio::select! {
            event = events.recv() => match event {
                Some(event) => event,
                None => break,
            },
            _ = refresh.tick() => {
                for (name, (bar, status)) in &bars {
                    draw(name, name_width, bar, status);
                }
                continue;
            }
        };
        match event {
            Event::Started { wait, deadline } => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.enable_steady_tick(Duration::from_millis(120));
                let width = wait.chars().count();
                bars.insert(wait, (bar, WaitStatus::new(deadline)));
                if width > name_width {
                    // Realign every line to the longest name.
                    name_width = width;
                    for (name, (bar, status)) in &bars {
                        draw(name, name_width, bar, status);
                    }
                }
            }
            Event::Observed {
                wait,
                state,
                progress,
            } => {
                if let Some((bar, status)) = bars.get_mut(&wait) {
                    status.observed(state, progress);
                    draw(&wait, name_width, bar, status);
                }
            }
            Event::Progress { wait, progress } => {
                if let Some((bar, status)) = bars.get_mut(&wait) {
                    status.progress = Some(progress);
                    draw(&wait, name_width, bar, status);
                }
            }
            Event::Retrying { wait, error } => {
                if let Some((bar, status)) = bars.get_mut(&wait) {
                    status.retried = Some(error);
                    draw(&wait, name_width, bar, status);
                }
            }
            Event::Finished {
                wait,
                outcome,
                reason,
            } => {
                let bar = bars
                    .remove(&wait)
                    .map(|(bar, _)| bar)
                    .unwrap_or_else(|| multi.add(ProgressBar::new_spinner()));
                // Message and prefix first, so no frame mixes the running
                // line with the finished style.
                bar.set_prefix(format!("{} {wait}", mark(outcome)));
                bar.set_message(one_line(&format!("{} — {reason}", label(outcome))));
                bar.set_style(
                    ProgressStyle::with_template("{prefix} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.finish();
            }
        }
    }
    let _ = multi.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(state: Option<&str>, progress: Option<u32>, left: Duration) -> (WaitStatus, Instant) {
        let now = Instant::now();
        let status = WaitStatus {
            state: state.map(str::to_owned),
            progress,
            retried: None,
            deadline: now + left,
        };
        (status, now)
    }

    #[test]
    fn time_left_rounds_up_to_the_second() {
        assert_eq!(time_left(Duration::ZERO), "0s");
        assert_eq!(time_left(Duration::from_millis(1)), "1s");
        assert_eq!(time_left(Duration::from_millis(59_001)), "1m");
        assert_eq!(time_left(Duration::from_secs(724)), "12m4s");
        assert_eq!(time_left(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn live_line_has_name_time_left_state_and_progress() {
        let (s, now) = status(
            Some("RUNNING; 2 sub-jobs: 1 RUNNING, 1 SUCCESS"),
            Some(45),
            Duration::from_secs(724),
        );
        assert_eq!(
            wait_line("build", 8, &s, now, false),
            "build        12m4s left  RUNNING; 2 sub-jobs: 1 RUNNING, 1 SUCCESS [45%]"
        );
        assert_eq!(
            wait_line("build", 5, &s, now, true),
            "\x1b[1mbuild\x1b[0m     12m4s left  RUNNING; 2 sub-jobs: 1 RUNNING, 1 SUCCESS [45%]"
        );
    }

    #[test]
    fn live_line_before_the_first_answer_after_a_retry_and_past_the_deadline() {
        let (mut s, now) = status(None, None, Duration::from_millis(1500));
        assert_eq!(
            wait_line("w", 1, &s, now, false),
            "w        2s left  no answer yet"
        );
        s.retried = Some("HTTP 503".into());
        assert_eq!(
            wait_line("w", 1, &s, now, false),
            "w        2s left  no answer yet · retried after HTTP 503"
        );
        // The last request may still be in flight after the deadline.
        let later = now + Duration::from_secs(10);
        assert!(wait_line("w", 1, &s, later, false).starts_with("w        0s left  "));
    }

    #[test]
    fn heartbeat_lists_running_waits_with_time_left() {
        let (a, now) = status(Some("RUNNING"), Some(80), Duration::from_secs(90));
        let b = WaitStatus {
            state: None,
            progress: None,
            deadline: now + Duration::from_secs(30 * 60),
            ..a.clone()
        };
        let mut waits = BTreeMap::new();
        assert_eq!(heartbeat_line(&waits, now), None);
        waits.insert("image".to_owned(), a);
        waits.insert("desktops".to_owned(), b);
        assert_eq!(
            heartbeat_line(&waits, now).unwrap(),
            "still waiting: desktops (no answer yet, 30m left), image (RUNNING [80%], 1m30s left)"
        );
    }

    #[test]
    fn api_text_stays_on_one_printable_line() {
        assert_eq!(
            one_line("RUN\x1b[31mNING\x07\r\nnext\tline"),
            "RUN\u{FFFD}[31mNING\u{FFFD}  next line"
        );
        let (mut s, now) = status(Some("A\nB\x1b"), None, Duration::from_secs(1));
        s.retried = Some("HTTP 503\r\n<html>".into());
        let line = wait_line("w", 1, &s, now, false);
        assert!(!line.chars().any(char::is_control), "{line:?}");
    }
}
