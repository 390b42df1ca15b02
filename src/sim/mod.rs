//! The built-in Workspace API simulator (filled in by the simulator work).

pub mod auth;
