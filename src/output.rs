//! How jobgate talks to the person or the CI log watching it: decided once,
//! here, from the terminal, the CI environment and the flags; then the live
//! progress view follows that decision.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::engine::Event;
use crate::report::Outcome;

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour on a terminal unless NO_COLOR is set.
    #[default]
    Auto,
    Always,
    Never,
}

/// How much to say while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The live view while waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// Redrawn lines with spinners (a terminal, not CI).
    Interactive,
    /// One plain line per state change and a periodic heartbeat (CI, pipes).
    Plain,
    /// Nothing until the summary.
    Off,
}

/// What the environment says about where output goes.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub stderr_is_terminal: bool,
    /// `CI` is set to anything but `false`/`0`.
    pub ci: bool,
    /// `NO_COLOR` is set and not empty (no-color.org).
    pub no_color: bool,
    /// `TERM=dumb`.
    pub dumb_terminal: bool,
    /// `GITHUB_ACTIONS=true`.
    pub github_actions: bool,
}

impl Environment {
    /// Reads the process environment.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Environment {
            stderr_is_terminal: std::io::stderr().is_terminal(),
            ci: var("CI").is_some_and(|v| v != "false" && v != "0"),
            no_color: var("NO_COLOR").is_some(),
            dumb_terminal: var("TERM").as_deref() == Some("dumb"),
            github_actions: var("GITHUB_ACTIONS").as_deref() == Some("true"),
        }
    }
}

/// Every output decision, made in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputMode {
    pub live: Live,
    pub color: bool,
    pub verbosity: Verbosity,
    /// Write GitHub outputs, step summary and annotations.
    pub github: bool,
}

/// Decides the output mode.
pub fn decide(env: &Environment, color: ColorChoice, verbosity: Verbosity) -> OutputMode {
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
    }
}

/// How often the plain view says it is still waiting.
const HEARTBEAT: Duration = Duration::from_secs(60);

/// Renders engine events until the channel closes.
pub async fn render(mode: OutputMode, mut events: mpsc::UnboundedReceiver<Event>) {
    match mode.live {
        Live::Off => while events.recv().await.is_some() {},
        Live::Plain => plain(mode, events).await,
        Live::Interactive => interactive(mode, events).await,
    }
}

fn symbol(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => "✓",
        Outcome::Skipped | Outcome::Cancelled => "-",
        Outcome::Running => "…",
        _ => "✗",
    }
}

async fn plain(mode: OutputMode, mut events: mpsc::UnboundedReceiver<Event>) {
    let start = Instant::now();
    let mut states: BTreeMap<String, String> = BTreeMap::new();
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut err = std::io::stderr();
    loop {
        let line = tokio::select! {
            event = events.recv() => match event {
                None => break,
                Some(Event::Started { wait }) => {
                    states.insert(wait.clone(), "started".into());
                    (mode.verbosity == Verbosity::Verbose).then(|| format!("{wait}: started"))
                }
                Some(Event::Observed { wait, state, .. }) => {
                    states.insert(wait.clone(), state.clone());
                    Some(format!("{wait}: {state}"))
                }
                Some(Event::Retrying { wait, error }) => {
                    (mode.verbosity == Verbosity::Verbose).then(|| format!("{wait}: retrying after {error}"))
                }
                Some(Event::Finished { wait, outcome, reason }) => {
                    states.remove(&wait);
                    Some(format!("{wait}: {} {} — {reason}", symbol(outcome), outcome.as_str()))
                }
            },
            _ = heartbeat.tick() => {
                (!states.is_empty()).then(|| {
                    let list: Vec<String> = states.iter().map(|(w, s)| format!("{w} ({s})")).collect();
                    format!("still waiting: {}", list.join(", "))
                })
            }
        };
        if let Some(line) = line {
            let _ = writeln!(err, "[{:>7.1}s] {line}", start.elapsed().as_secs_f64());
        }
    }
}

async fn interactive(mode: OutputMode, mut events: mpsc::UnboundedReceiver<Event>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let template = if mode.color {
        "{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:>4}"
    } else {
        "{spinner} {prefix} {wide_msg} {elapsed:>4}"
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut bars: BTreeMap<String, ProgressBar> = BTreeMap::new();
    while let Some(event) = events.recv().await {
        match event {
            Event::Started { wait } => {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(wait.clone());
                bar.set_message("polling…");
                bar.enable_steady_tick(Duration::from_millis(120));
                bars.insert(wait, bar);
            }
            Event::Observed {
                wait,
                state,
                progress,
            } => {
                if let Some(bar) = bars.get(&wait) {
                    let p = progress.map(|p| format!(" [{p}%]")).unwrap_or_default();
                    bar.set_message(format!("{state}{p}"));
                }
            }
            Event::Retrying { wait, error } => {
                if let Some(bar) = bars.get(&wait) {
                    bar.set_message(format!("retrying: {error}"));
                }
            }
            Event::Finished {
                wait,
                outcome,
                reason,
            } => {
                let bar = bars
                    .remove(&wait)
                    .unwrap_or_else(|| multi.add(ProgressBar::new_spinner()));
                bar.set_style(
                    ProgressStyle::with_template("{prefix} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{} {wait}", symbol(outcome)));
                bar.finish_with_message(format!("{} — {reason}", outcome.as_str()));
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

    #[test]
    fn github_actions_detected() {
        let mut e = env(false, true);
        e.github_actions = true;
        assert!(decide(&e, ColorChoice::Auto, Verbosity::Normal).github);
    }
}
