//! bloomgate's data plane: configuration, the HTTP/1.1 codec, routing, JWT validation and the
//! revocation check, upstream pools, and the per-core servers. The `bloomgate` binary lives in
//! `main.rs` and wires the admin core in.

pub mod cli;
pub mod config;
pub mod demo;
pub mod http;
pub mod jwt;
pub mod reject;
pub mod revoker;
pub mod router;
pub mod runtime;
pub mod server;
