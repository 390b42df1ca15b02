//! jobgate waits declaratively for Huawei Cloud Workspace asynchronous jobs.
//!
//! Data flows one way: a YAML [`spec`] is parsed and validated once into typed
//! waits; the [`engine`] polls the [`api`] on a [`engine::schedule`] and judges
//! each observation with its [`condition`]s; the outcome becomes a
//! [`report`] and an [`exit`] code. The [`sim`]ulator serves the same API on
//! loopback for the demo, the tests and the benchmarks.

pub mod api;
pub mod cli;
pub mod commands;
pub mod condition;
pub mod crash;
pub mod engine;
pub mod error;
pub mod exit;
pub mod output;
pub mod redact;
pub mod report;
pub mod sim;
pub mod spec;

pub use commands::main;
