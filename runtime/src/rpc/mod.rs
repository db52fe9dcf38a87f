//! ONC RPC (RFC 5531): message headers, and with the `std` and `tokio`
//! features the clients and server that generated stubs sit on.
//!
//! - [`message`]: call and reply headers, every accepted and rejected
//!   status, AUTH_NONE and AUTH_SYS (no I/O; `no_std`).
//! - [`record`]: record marking over stream transports (RFC 5531 §11), a
//!   fragmenting writer and an incremental reader (no I/O; `no_std`).
//! - [`BlockingClient`] (`std`): one call at a time over TCP, UDP or a Unix
//!   socket, for code without an async runtime.
//! - [`Endpoint`] (`std`): where both clients connect, with its rpcbind
//!   netid and universal address; `connect_rpcbind` asks the host's
//!   rpcbind first (RFC 1833 version 4 GETADDR, else version 2 GETPORT).
//!   [`SourcePort::Reserved`] binds a port below 1024 (`bindresvport`).
//! - [`Client`] and [`Server`] (`tokio`): many calls in flight on one
//!   connection, replies matched by xid; a server dispatching to generated
//!   service traits with bounded concurrency and graceful shutdown.

#[cfg(feature = "std")]
mod blocking;
#[cfg(feature = "tokio")]
mod client;
#[cfg(feature = "std")]
mod endpoint;
#[cfg(feature = "std")]
mod error;
pub mod message;
mod names;
pub mod record;
#[cfg(feature = "tokio")]
mod server;
#[cfg(feature = "std")]
mod wire;

pub use message::{
    AcceptStat, AuthStat, AuthSys, CallHeader, MessageHeader, OpaqueAuth, RPC_VERSION, RejectStat,
    ReplyBody, ReplyHeader,
};

pub use names::ProgramNames;

#[cfg(feature = "std")]
pub use blocking::BlockingClient;
#[cfg(feature = "tokio")]
pub use client::Client;
#[cfg(feature = "std")]
pub use endpoint::{Endpoint, PMAP_PORT, Protocol, RESERVED_PORTS, SourcePort};
#[cfg(feature = "std")]
pub use error::RpcError;
#[cfg(feature = "tokio")]
pub use server::{
    CallContext, Dispatch, DispatchFuture, EncodedResults, Fault, Peer, Server, ServerBuilder,
    ServerConfig, decode_args, encode_results,
};
#[cfg(feature = "std")]
pub use wire::ClientConfig;

/// A starting xid that differs between processes and runs, so a server's
/// duplicate-request cache does not confuse a restarted client's calls
/// with an earlier run's.
#[cfg(feature = "std")]
fn client_xid_seed() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    // Truncation is the point: any 32 bits of the hash will do.
    #[allow(clippy::cast_possible_truncation)]
    let seed = h.finish() as u32;
    seed
}
