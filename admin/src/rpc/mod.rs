//! The RPC between revoke servers, tools and gateways: length-prefixed frames carrying rkyv
//! archives (`frame`, `message`), authenticated by a challenge-response over the API key
//! (`auth`). Two clients share the sans-io `reader`: the blocking `client` (tools) and the
//! `event` `async_client` (the Revoke Server's pushes and checks). Documented for other
//! implementations in `docs/RPC.md`.

pub mod async_client;
pub mod auth;
pub mod client;
pub mod frame;
pub mod message;
pub mod reader;
pub mod server;
