//! bloomgate's control plane: the RPC server and client that feed the shared filter, the
//! Revoke Server REST API, the instance registry and fan-out, and persistence.
//!
//! It is not on the request path: data cores never call into this crate.
#![forbid(unsafe_code)]

pub mod core;
pub mod persist;
pub mod register;
pub mod revoke;
pub mod rpc;
pub mod settings;
