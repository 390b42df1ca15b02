//! What the integration tests share: the binary and the simulator on
//! loopback (`harness`), the `Test` builder for "spec + simulator + run +
//! assert" (`test`), a scripted hostile server (`hostile`), the keyless
//! checks (`keyless`), shared scenarios (`scenarios`) and the official
//! SDK's Python (`sdk_python`).

pub mod harness;
pub mod hostile;
pub mod keyless;
pub mod scenarios;
pub mod sdk_python;
pub mod test;
