//! Reports: one model, one module per format.

pub mod evidence;
pub(crate) mod file;
pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod model;
pub(crate) mod publish;
pub mod responses;
pub mod words;

pub use model::{Outcome, RunReport, WaitReport};
