//! placeholder (a minimal `simulate` subcommand; the real CLI replaces this)

use clap::Parser;

#[derive(Parser)]
#[command(name = "jobgate")]
enum Command {
    /// Serve a scenario of Workspace jobs on loopback.
    Simulate(crate::sim::SimulateArgs),
}

/// Entry point.
pub fn main() -> std::process::ExitCode {
    let Command::Simulate(args) = Command::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(crate::exit::API_UNAVAILABLE);
        }
    };
    match runtime.block_on(crate::sim::simulate(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::from(crate::exit::INVALID_INPUT)
        }
    }
}
