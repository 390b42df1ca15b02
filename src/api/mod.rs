//! The Huawei Cloud Workspace job APIs: the table of operations, services
//! and hosts, requests, authentication, the HTTP client and the response
//! model.
//!
//! Items are crate-private unless the rest of the crate's public surface,
//! the integration tests or the fuzz targets need them: those are the
//! re-exports below and the `model` and `signer` modules.

pub(crate) mod client;
pub(crate) mod credentials;
pub(crate) mod endpoints;
pub(crate) mod federation;
pub mod model;
pub(crate) mod operation;
pub(crate) mod request;
pub(crate) mod service;
pub mod signer;
pub(crate) mod status;
pub(crate) mod wire;

pub use client::{ApiError, Body, Client};
pub use credentials::{Credentials, CredentialsError};
pub use endpoints::{EndpointError, Endpoints};
pub use federation::ExchangeError;
pub use operation::{Operation, PageLimits};
pub use request::ApiRequest;
pub use service::Service;
pub use status::Status;
