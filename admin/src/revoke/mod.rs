//! The Revoke Server: its REST API's logic, its instance registry and the fan-out of
//! revocations to every registered gateway. Runs on one `event` runtime — the standalone
//! `bloomgate revoker`'s, or a gateway's admin core in one-node mode (`bloomgate/admin`),
//! where its filter is the gateway's own.
//!
//! Sans-io pieces, tested alone: [`api`] (routing, percent-decoding, the API-key check, errors
//! to statuses), [`json`] (registration bodies, response documents), [`lines`] (a streamed
//! body into lines), [`queue`] and [`registry`] (instances, expiry, sync state, bounded push
//! queues). On the executor: [`service`] (the calls, push workers, checks) and [`batch`].
//! The HTTP glue is in the `proxy` crate (`proxy::revoker`), which owns the HTTP codec.

pub mod api;
pub mod batch;
pub mod json;
pub mod lines;
pub mod queue;
pub mod registry;
pub mod service;
pub mod signal;

pub use api::{ApiError, Reply, Route};
pub use service::Service;
