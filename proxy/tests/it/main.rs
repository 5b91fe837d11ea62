//! bloomgate's integration tests: the real `bloomgate` binary, driven through its documented
//! command line. One test binary; one module per command, plus the helpers `proxy` uses (a
//! real backend and a raw HTTP client).

mod backend;
mod check;
mod client;
mod jwt;
mod proxy;
mod revoker;
mod rpc;
mod support;
mod usage;
