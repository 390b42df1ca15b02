//! How jobgate talks to the person or the CI log watching it: decided once,
//! here, from the terminal, the CI environment and the flags; then the live
//! progress view follows that decision.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::engine::Event;
use crate::redact::Redactor;
use crate::report::human::printable;
use crate::report::words::{label, mark};
use crate::spec::duration;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub(crate) enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    #[default]
    Auto,
    Always,
    Never,
}

/// How much to say while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The live view while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Live {
    /// Redrawn lines with spinners (a terminal, not CI).
    Interactive,
    /// One plain line per state change and a periodic heartbeat (CI, pipes).
    Plain,
    /// Nothing until the summary.
    Off,
}

/// What the environment says about where output goes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Environment {
    pub stderr_is_terminal: bool,
    /// `CI` is set to anything but `false`/`0`.
    pub ci: bool,
    /// `NO_COLOR` is set and not empty (no-color.org).
    pub no_color: bool,
    /// `TERM=dumb`.
    pub dumb_terminal: bool,
    /// `GITHUB_ACTIONS=true`.
    pub github_actions: bool,
    /// `JOBGATE_HEARTBEAT`: the plain view's heartbeat interval (`30s`),
    /// when set to a duration.
    pub heartbeat: Option<Duration>,
    /// `COLUMNS`, when set to a number: the width summaries wrap to.
    pub columns: Option<usize>,
}

impl Environment {
    /// Reads the process environment.
    pub(crate) fn detect() -> Self {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Environment {
            stderr_is_terminal: std::io::stderr().is_terminal(),
            ci: var("CI").is_some_and(|v| v != "false" && v != "0"),
            no_color: var("NO_COLOR").is_some(),
            dumb_terminal: var("TERM").as_deref() == Some("dumb"),
            github_actions: var("GITHUB_ACTIONS").as_deref() == Some("true"),
            heartbeat: var("JOBGATE_HEARTBEAT").and_then(|v| duration::parse(&v).ok()),
            columns: var("COLUMNS").and_then(|v| v.trim().parse().ok()),
        }
    }
}

/// Every output decision, made in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutputMode {
    pub live: Live,
    pub color: bool,
    pub verbosity: Verbosity,
    /// Write GitHub outputs, step summary and annotations.
    pub github: bool,
    /// How often the plain view says what it is still waiting for.
    pub heartbeat: Duration,
    /// The width in columns that summaries and diagnostics wrap to.
    pub width: usize,
    /// Where workflow commands (masks, annotations, log groups) go.
    pub workflow_commands: Stream,
}

/// A standard stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    /// A writer to this stream.
    pub(crate) fn writer(self) -> Box<dyn Write> {
        match self {
            Stream::Stdout => Box::new(std::io::stdout()),
            Stream::Stderr => Box::new(std::io::stderr()),
        }
    }
}

/// The width when `COLUMNS` does not say: wide enough for a wait's line,
/// narrow enough for a CI log viewer.
pub(crate) const DEFAULT_WIDTH: usize = 100;

impl OutputMode {
    /// The mode of a command whose standard output holds the JSON report
    /// alone (`--json`, `--report -`), so that `jobgate run --json >
    /// report.json` stays valid JSON: workflow commands then go to stderr,
    /// which the runner reads as well.
    pub(crate) fn json_stdout(self, json: bool) -> Self {
        OutputMode {
            workflow_commands: if json { Stream::Stderr } else { Stream::Stdout },
            ..self
        }
    }
}

/// Decides the output mode.
pub(crate) fn decide(env: &Environment, color: ColorChoice, verbosity: Verbosity) -> OutputMode {
    let interactive = env.stderr_is_terminal && !env.ci && !env.dumb_terminal;
    let live = match verbosity {
        Verbosity::Quiet => Live::Off,
        _ if interactive => Live::Interactive,
        _ => Live::Plain,
    };
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => env.stderr_is_terminal && !env.no_color && !env.dumb_terminal,
    };
    OutputMode {
        live,
        color,
        verbosity,
        github: env.github_actions,
        heartbeat: env.heartbeat.unwrap_or(HEARTBEAT).max(MIN_HEARTBEAT),
        width: env.columns.unwrap_or(DEFAULT_WIDTH),
        workflow_commands: Stream::Stdout,
    }
}

/// The output mode for a command's error diagnostics: the same decision as
/// the command's own output, so `--color` and `NO_COLOR` apply to errors too.
/// `json` as in [`OutputMode::json_stdout`].
pub(crate) fn for_errors(env: &Environment, color: ColorChoice, json: bool) -> OutputMode {
    decide(env, color, Verbosity::Normal).json_stdout(json)
}

/// How often the plain view says it is still waiting: often enough that a
/// CI log never looks hung, rarely enough not to bury the state changes.
pub(crate) const HEARTBEAT: Duration = Duration::from_secs(60);

/// The shortest heartbeat `JOBGATE_HEARTBEAT` can ask for.
pub(crate) const MIN_HEARTBEAT: Duration = Duration::from_millis(100);

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

    fn env(tty: bool, ci: bool) -> Environment {
        Environment {
            stderr_is_terminal: tty,
            ci,
            ..Default::default()
        }
    }

    #[test]
    fn terminal_gets_live_colour() {
        let m = decide(&env(true, false), ColorChoice::Auto, Verbosity::Normal);
        assert_eq!((m.live, m.color), (Live::Interactive, true));
    }

    #[test]
    fn ci_and_pipes_get_plain_lines_without_colour() {
        let m = decide(&env(false, true), ColorChoice::Auto, Verbosity::Normal);
        assert_eq!((m.live, m.color), (Live::Plain, false));
        let m = decide(&env(true, true), ColorChoice::Auto, Verbosity::Normal);
        assert_eq!(m.live, Live::Plain, "a CI log is not a terminal to redraw");
    }

    #[test]
    fn flags_and_no_color() {
        let mut e = env(true, false);
        e.no_color = true;
        assert!(!decide(&e, ColorChoice::Auto, Verbosity::Normal).color);
        assert!(decide(&e, ColorChoice::Always, Verbosity::Normal).color);
        assert!(!decide(&env(true, false), ColorChoice::Never, Verbosity::Normal).color);
        assert_eq!(
            decide(&env(true, false), ColorChoice::Auto, Verbosity::Quiet).live,
            Live::Off
        );
        e.dumb_terminal = true;
        assert_eq!(
            decide(&e, ColorChoice::Auto, Verbosity::Normal).live,
            Live::Plain
        );
    }

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
    fn errors_follow_the_colour_flag_and_no_color() {
        let tty = env(true, false);
        let pipe = env(false, false);
        let mut no_color = env(true, false);
        no_color.no_color = true;
        let mut dumb = env(true, false);
        dumb.dumb_terminal = true;
        let cases = [
            (&tty, ColorChoice::Auto, true),
            (&tty, ColorChoice::Never, false),
            (&pipe, ColorChoice::Auto, false),
            (&pipe, ColorChoice::Always, true),
            (&no_color, ColorChoice::Auto, false),
            (&no_color, ColorChoice::Always, true),
            (&dumb, ColorChoice::Auto, false),
        ];
        for (e, choice, expected) in cases {
            assert_eq!(
                for_errors(e, choice, false).color,
                expected,
                "{e:?} {choice:?}"
            );
            assert_eq!(
                for_errors(e, choice, false).color,
                decide(e, choice, Verbosity::Quiet).color,
                "errors and the run's own output agree"
            );
        }
    }

    #[test]
    fn heartbeat_defaults_to_a_minute_and_can_be_shortened() {
        let m = decide(&env(false, true), ColorChoice::Auto, Verbosity::Normal);
        assert_eq!(m.heartbeat, HEARTBEAT);
        let mut e = env(false, true);
        e.heartbeat = Some(Duration::from_millis(250));
        let m = decide(&e, ColorChoice::Auto, Verbosity::Normal);
        assert_eq!(m.heartbeat, Duration::from_millis(250));
        e.heartbeat = Some(Duration::ZERO);
        let m = decide(&e, ColorChoice::Auto, Verbosity::Normal);
        assert_eq!(m.heartbeat, MIN_HEARTBEAT, "never a busy loop");
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

    #[test]
    fn width_follows_columns() {
        let mut e = env(false, true);
        assert_eq!(
            decide(&e, ColorChoice::Auto, Verbosity::Normal).width,
            DEFAULT_WIDTH
        );
        e.columns = Some(60);
        assert_eq!(decide(&e, ColorChoice::Auto, Verbosity::Normal).width, 60);
    }

    #[test]
    fn workflow_commands_leave_a_json_stdout_alone() {
        let mut e = env(false, true);
        e.github_actions = true;
        let m = decide(&e, ColorChoice::Auto, Verbosity::Normal);
        assert_eq!(m.workflow_commands, Stream::Stdout);
        assert_eq!(m.json_stdout(true).workflow_commands, Stream::Stderr);
        assert_eq!(m.json_stdout(false).workflow_commands, Stream::Stdout);
        assert_eq!(
            for_errors(&e, ColorChoice::Auto, true).workflow_commands,
            Stream::Stderr
        );
    }

    #[test]
    fn github_actions_detected() {
        let mut e = env(false, true);
        e.github_actions = true;
        assert!(decide(&e, ColorChoice::Auto, Verbosity::Normal).github);
    }
}
