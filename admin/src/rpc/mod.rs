//! The RPC between revoke servers, tools and gateways: length-prefixed frames carrying rkyv
//! archives (`frame`, `message`), authenticated by a challenge-response over the API key
//! (`auth`). Documented for other implementations in `docs/RPC.md`.

pub mod auth;
pub mod client;
pub mod frame;
pub mod message;
pub mod server;
