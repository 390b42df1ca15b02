//! Reports: one model, one module per format.

pub mod evidence;
pub(crate) mod file;
pub(crate) mod github;
pub(crate) mod human;
pub(crate) mod json;
pub(crate) mod junit;
pub mod model;
pub(crate) mod publish;
pub mod responses;
pub(crate) mod words;

pub use model::{Outcome, RunReport, WaitReport};
