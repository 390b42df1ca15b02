//! How jobgate talks to the person or the CI log watching it: decided once,
//! here, from the terminal, the CI environment and the flags; then the live
//! progress view (`live.rs`) follows that decision.

use std::io::Write;
use std::time::Duration;

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

mod live;

pub(crate) use live::render;

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
