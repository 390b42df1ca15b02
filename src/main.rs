//! The `jobgate` binary: all behaviour lives in the library so tests and the
//! benchmark harness drive exactly what users run.

fn main() -> std::process::ExitCode {
    jobgate::main()
}
