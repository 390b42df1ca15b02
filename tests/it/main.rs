//! Every integration test, in one binary: one module per concern, the
//! shared harness in `common`. One binary links once, where a binary per
//! file linked the harness and the crate thirty times over.
//!
//! Run one concern with `cargo test --test it quota::`, one test by its
//! name. A new test file is a module here: put it in `tests/it/`, add its
//! `mod` below, and reach the shared code as `use crate::common::harness;`
//! (and `hostile`, `keyless`, `sdk_python`, `test::Test`), never `#[path]`.

mod common;

mod action;
mod adversarial;
mod condition_properties;
mod counts;
mod crash;
mod engine;
mod evidence;
mod examples;
mod explain;
mod fail_closed;
mod github_actions;
mod history;
mod hostile;
mod hostile_bodies;
mod hostile_output;
mod hostile_transport;
mod invalid_specs;
mod jsonpath;
mod keyless;
mod live_output;
mod misconfig;
mod observations;
mod official_sdk_signer;
mod official_sdk_simulator;
mod outcome_agreement;
mod paging;
mod polling;
mod polling_short;
mod publishing;
mod quota;
mod quota_fleet;
mod release;
mod response_properties;
mod review_footprint;
mod run;
mod simulator;
mod simulator_start;
mod soak;
mod spec_properties;
mod spec_schema;
mod validate_offline;
mod verdict_contract;
mod verdict_model;
