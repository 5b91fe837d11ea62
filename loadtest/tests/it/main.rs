//! `loadtest` integration tests: the load generator against small std-thread servers on
//! 127.0.0.1, every test bounded to a few seconds.

mod closed;
mod correctness;
mod open;
mod revoke;
mod support;
