//! The polling engine.

pub mod schedule;
