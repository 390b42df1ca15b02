//! Reports: one model, one module per format.

pub mod json;
pub mod model;

pub use model::{Outcome, RunReport, WaitReport};
