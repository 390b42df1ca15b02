//! jobgate waits declaratively for Huawei Cloud Workspace asynchronous jobs.
//!
//! Data flows one way: a YAML [`spec`] is parsed and validated once into typed
//! waits; the [`engine`] polls the [`api`] on a schedule (`engine::schedule`) and judges
//! each observation with its [`condition`]s; the outcome becomes a
//! [`report`] and an exit code (`exit.rs`). The [`sim`]ulator serves the same
//! API on loopback for the demo, the tests and the benchmarks. The binary's
//! entry point is [`main`]; the commands behind it are crate-private.

pub mod api;
pub(crate) mod cli;
pub(crate) mod commands;
pub mod condition;
pub(crate) mod crash;
pub mod engine;
pub(crate) mod error;
pub(crate) mod exit;
pub(crate) mod output;
pub(crate) mod redact;
pub mod report;
pub mod sim;
pub mod spec;

pub use commands::main;
