//! The built-in simulator of the Workspace job APIs.
//!
//! It serves every read endpoint jobgate polls, for both services, on one
//! loopback listener: jobs evolve along the timelines of a [`Scenario`]
//! (YAML), faults (throttling, 5xx, malformed bodies, resets, hangs, slow
//! answers) are injected deterministically from a seed, and counters plus the
//! ground truth of when each job ended are exposed at `GET /_sim/stats`.
//! `jobgate demo`, `jobgate simulate`, the tests and the benchmarks use it.

pub mod auth;
pub mod clock;
pub mod command;
pub mod conn;
pub mod endpoint;
pub mod error;
pub mod faults;
pub mod fleet;
pub mod iam;
mod parse;
pub mod past;
pub mod query;
pub mod routes;
pub mod scenario;
pub mod server;
pub mod stats;
pub mod timeline;
pub mod wire;
pub mod world;

pub use auth::{Rejection, SimAuth};
pub use command::{SimulateArgs, simulate};
pub use endpoint::Endpoint;
pub use error::{ScenarioError, SimError};
pub use faults::{Faults, Quota, Slow};
pub use scenario::{ErrorInfo, Job, JobKind, Resource, Scenario, SubJob};
pub use server::{SimConfig, Simulator};
pub use stats::{EndpointStats, FaultStats, IamStats, JobTruth, Stats};
pub use timeline::{Point, Progress, Step, Timeline};
