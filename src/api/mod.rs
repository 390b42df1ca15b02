//! The Huawei Cloud Workspace job APIs: services and hosts, requests,
//! authentication, the HTTP client and the response model.

pub mod client;
pub mod credentials;
pub mod endpoints;
pub mod federation;
pub mod model;
pub mod operation;
pub mod request;
pub mod service;
pub mod signer;
pub mod status;
pub mod wire;

pub use operation::Operation;
pub use service::Service;
pub use status::Status;
