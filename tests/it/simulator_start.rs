//! A simulator that cannot start is a problem of the command line or the
//! machine (exit 2, with what to change), never an API failure (5).

use std::time::Duration;

use crate::common::harness::*;

#[test]
fn a_port_in_use_is_exit_2_with_a_fix() {
    // Held for the whole test, so the simulator cannot bind it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let mut cmd = jobgate();
    cmd.args(["simulate", "--bind", "127.0.0.1", "--port", &port]);
    let out = output_within(&mut cmd, Duration::from_secs(120));
    let err = stderr(&out);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("simulator"), "{err}");
    assert!(err.contains("--port"), "{err}");
    drop(taken);
}
