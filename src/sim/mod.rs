//! The built-in simulator of the Workspace job APIs.
//!
//! It serves every read endpoint jobgate polls, for both services, on one
//! loopback listener: jobs evolve along the timelines of a [`Scenario`]
//! (YAML), faults (throttling, 5xx, malformed bodies, resets, hangs, slow
//! answers) are injected deterministically from a seed, and counters plus the
//! ground truth of when each job ended are exposed at `GET /_sim/stats`.
//! `jobgate demo`, `jobgate simulate`, the tests and the benchmarks use it.
//!
//! Public is only what the integration tests drive it with: starting it on a
//! scenario, faults and authentication, and reading its stats (plus the
//! fault decisions and test tokens of `faults` and `iam`). Everything else
//! is crate-private, so the compiler reports what nothing uses.

pub mod auth;
pub(crate) mod bodies;
pub(crate) mod clock;
pub(crate) mod command;
pub(crate) mod conn;
pub(crate) mod endpoint;
pub(crate) mod error;
pub mod faults;
pub(crate) mod fleet;
pub mod iam;
mod parse;
pub(crate) mod past;
pub(crate) mod query;
pub(crate) mod routes;
pub(crate) mod scenario;
pub(crate) mod server;
pub mod stats;
pub(crate) mod timeline;
pub(crate) mod world;

pub use auth::SimAuth;
pub use endpoint::Endpoint;
pub use error::{ScenarioError, SimError};
pub use faults::{Faults, Quota, Slow};
pub use scenario::{JobKind, Scenario};
pub use server::{SimConfig, Simulator};
pub use stats::{EndpointStats, FaultStats, IamStats, JobTruth, Stats};

pub(crate) use command::{SimulateArgs, simulate};
