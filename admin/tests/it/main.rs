//! Integration tests of the admin crate: the RPC server on a real glommio executor and the
//! client over loopback.

mod fanout;
mod rpc;
