//! `jobgate simulate`: serve a scenario on loopback until interrupted.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::auth::SimAuth;
use super::error::SimError;
use super::faults::{Faults, Slow};
use super::scenario::Scenario;
use super::server::{SimConfig, Simulator};

/// `jobgate simulate` command-line arguments.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SimulateArgs {
    /// Scenario file (YAML); the built-in demo when omitted.
    #[arg(long, value_name = "FILE")]
    pub(crate) scenario: Option<PathBuf>,
    /// Port to listen on; 0 picks a free one (the URL is printed).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub(crate) port: u16,
    /// Address to bind.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) bind: IpAddr,
    /// Seed for list order and fault decisions (overrides the scenario's).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Probability (0..1) of answering 429 APIG.0308.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    pub(crate) throttle: Option<f64>,
    /// Send `Retry-After` with throttled answers, e.g. `2s`.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub(crate) retry_after: Option<Duration>,
    /// Probability (0..1) of a 500 or 503 error.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    pub(crate) server_error: Option<f64>,
    /// Probability (0..1) of a truncated or non-JSON body.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    pub(crate) malformed: Option<f64>,
    /// Probability (0..1) of resetting the connection without an answer.
    #[arg(long, value_name = "RATE", value_parser = rate)]
    pub(crate) reset: Option<f64>,
    /// Delay some answers: RATE:DURATION, e.g. `0.1:2s`.
    #[arg(long, value_name = "RATE:DURATION", value_parser = SlowArg::from_str)]
    pub(crate) slow: Option<SlowArg>,
    /// Probability (0..1) of never answering; `--hang` alone means always.
    #[arg(long, value_name = "RATE", value_parser = rate, num_args = 0..=1, default_missing_value = "1")]
    pub(crate) hang: Option<f64>,
    /// Verify AK/SK signatures with this access key (needs --secret-key).
    #[arg(
        long,
        env = "HUAWEICLOUD_SDK_AK",
        hide_env_values = true,
        value_name = "AK"
    )]
    pub(crate) access_key: Option<String>,
    /// The secret key matching --access-key.
    #[arg(
        long,
        env = "HUAWEICLOUD_SDK_SK",
        hide_env_values = true,
        value_name = "SK"
    )]
    pub(crate) secret_key: Option<String>,
    /// Require this token in `X-Auth-Token` instead of signatures.
    #[arg(long, value_name = "TOKEN", conflicts_with = "access_key")]
    pub(crate) token: Option<String>,
}

impl Default for SimulateArgs {
    /// The demo on a free loopback port, no faults, no authentication.
    fn default() -> Self {
        Self {
            scenario: None,
            port: 0,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            seed: None,
            throttle: None,
            retry_after: None,
            server_error: None,
            malformed: None,
            reset: None,
            slow: None,
            hang: None,
            access_key: None,
            secret_key: None,
            token: None,
        }
    }
}

/// `--slow RATE:DURATION`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SlowArg(pub Slow);

impl FromStr for SlowArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (rate_text, delay_text) = text
            .split_once(':')
            .ok_or_else(|| format!("`{text}` is not RATE:DURATION (e.g. 0.1:2s)"))?;
        Ok(Self(Slow {
            rate: rate(rate_text)?,
            delay: duration(delay_text)?,
        }))
    }
}

fn rate(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|rate| (0.0..=1.0).contains(rate))
        .ok_or_else(|| format!("`{text}` is not a probability from 0 to 1"))
}

/// The spec's duration parser, so a duration means the same everywhere.
fn duration(text: &str) -> Result<Duration, String> {
    crate::spec::duration::parse_at_most(text, crate::spec::duration::LONGEST_SIMULATED)
        .map_err(|e| e.to_string())
}

impl SimulateArgs {
    /// The scenario's faults with the flags given on the command line applied.
    pub(crate) fn faults(&self, scenario: &Scenario) -> Faults {
        let mut faults = scenario.faults.clone();
        let overrides = [
            (self.throttle, &mut faults.throttle),
            (self.server_error, &mut faults.server_error),
            (self.malformed, &mut faults.malformed),
            (self.reset, &mut faults.reset),
            (self.hang, &mut faults.hang),
        ];
        for (flag, field) in overrides {
            if let Some(value) = flag {
                *field = value;
            }
        }
        if self.retry_after.is_some() {
            faults.retry_after = self.retry_after;
        }
        if let Some(SlowArg(slow)) = self.slow {
            faults.slow = Some(slow);
        }
        faults
    }

    /// The authentication mode the flags ask for.
    pub(crate) fn auth(&self) -> Result<SimAuth, SimError> {
        match (&self.access_key, &self.secret_key, &self.token) {
            (_, _, Some(token)) if !token.is_empty() => Ok(SimAuth::Token(token.clone())),
            (Some(access_key), Some(secret_key), _) => Ok(SimAuth::AkSk {
                access_key: access_key.clone(),
                secret_key: secret_key.clone(),
            }),
            (Some(_), None, _) => Err(SimError::Options(
                "--access-key needs --secret-key (or HUAWEICLOUD_SDK_SK)".into(),
            )),
            (None, Some(_), _) => Err(SimError::Options(
                "--secret-key needs --access-key (or HUAWEICLOUD_SDK_AK)".into(),
            )),
            _ => Ok(SimAuth::Off),
        }
    }
}

/// What the auth mode means, for the line printed after the URL.
pub(crate) fn describe_auth(auth: &SimAuth) -> String {
    match auth {
        SimAuth::Off => "auth: off (every request is accepted)".into(),
        SimAuth::AkSk { access_key, .. } => {
            format!("auth: AK/SK signatures required (access key {access_key})")
        }
        SimAuth::Token(_) => "auth: X-Auth-Token required".into(),
    }
}

/// Runs `jobgate simulate`: prints `jobgate simulator listening on URL` as
/// the first line of stdout, then the auth mode, and serves until Ctrl-C.
pub(crate) async fn simulate(args: SimulateArgs) -> Result<(), SimError> {
    let scenario = match &args.scenario {
        Some(path) => Scenario::load(path)?,
        None => Scenario::demo(),
    };
    let auth = args.auth()?;
    let faults = args.faults(&scenario);
    faults.validate().map_err(SimError::Options)?;
    let config = SimConfig {
        auth: auth.clone(),
        faults: Some(faults),
        seed: args.seed,
    };
    let simulator =
        Simulator::start(scenario, config, SocketAddr::new(args.bind, args.port)).await?;
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "jobgate simulator listening on {}",
            simulator.base_url()
        )?;
        writeln!(stdout, "{}", describe_auth(&auth))?;
        stdout.flush()?;
    }
    let interrupted = tokio::signal::ctrl_c().await;
    simulator.shutdown().await;
    interrupted.map_err(SimError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SimulateArgs,
    }

    fn parse(argv: &[&str]) -> Result<SimulateArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("simulate").chain(argv.iter().copied()))
            .map(|cli| cli.args)
    }

    #[test]
    fn fault_flags_override_the_scenario() {
        let args = parse(&[
            "--throttle",
            "0.5",
            "--slow",
            "0.1:2s",
            "--hang",
            "--retry-after",
            "3s",
        ])
        .unwrap();
        let faults = args.faults(&Scenario::demo());
        assert_eq!(faults.throttle, 0.5);
        assert_eq!(faults.hang, 1.0);
        assert_eq!(faults.retry_after, Some(Duration::from_secs(3)));
        assert_eq!(
            faults.slow,
            Some(Slow {
                rate: 0.1,
                delay: Duration::from_secs(2)
            })
        );
        assert_eq!(faults.reset, 0.0);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(parse(&["--throttle", "2"]).is_err());
        assert!(parse(&["--slow", "0.1"]).is_err());
        assert!(parse(&["--slow", "x:2s"]).is_err());
        assert!(parse(&["--retry-after", "soon"]).is_err());
        assert!(parse(&["--bind", "localhost:80"]).is_err());
    }

    #[test]
    fn auth_modes() {
        let args = SimulateArgs {
            access_key: Some("AK".into()),
            ..SimulateArgs::default()
        };
        assert!(args.auth().is_err());
        let args = SimulateArgs {
            access_key: Some("AK".into()),
            secret_key: Some("SK".into()),
            ..SimulateArgs::default()
        };
        assert!(matches!(args.auth().unwrap(), SimAuth::AkSk { .. }));
        let args = SimulateArgs {
            token: Some("t".into()),
            ..SimulateArgs::default()
        };
        assert_eq!(args.auth().unwrap(), SimAuth::Token("t".into()));
        assert_eq!(SimulateArgs::default().auth().unwrap(), SimAuth::Off);
    }
}
