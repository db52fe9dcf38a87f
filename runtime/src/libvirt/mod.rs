//! libvirt's RPC protocol (`virnetprotocol.x`): not ONC RPC, but its own
//! framing over a stream. Each packet is a 4-byte big-endian length that
//! counts itself, a six-word [`Header`], and an XDR body.
//!
//! - this module: the header, message types and statuses, libvirt's size
//!   limits, [`RemoteError`] (the body of an error reply) and
//!   [`PacketReader`], which splits a byte stream into packets;
//! - [`Connection`] (`tokio`): a client connection with calls matched by
//!   serial, events, streams and keepalive, opened from a libvirt URI
//!   ([`uri`], [`Connection::open`]) over unix, tcp, tls, ssh or ext;
//! - [`Server`] (`tokio`): dispatches calls to generated `Service` traits,
//!   answers keepalive pings, and lets procedures send events.

mod error;
mod packet;

#[cfg(feature = "tokio")]
mod client;
/// libvirt's SASL authentication (feature `sasl`).
#[cfg(feature = "sasl")]
mod sasl;
#[cfg(feature = "tokio")]
mod server;
#[cfg(feature = "tokio")]
mod stream;
/// libvirt's `tls` transport (feature `tls`).
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tokio")]
mod transport;
#[cfg(feature = "std")]
pub mod uri;

pub use error::{
    ErrorDetails, NonnullDomain, NonnullNetwork, RemoteError, error_code, error_domain,
};
pub use packet::{
    HEADER_LEN, Header, LEGACY_PAYLOAD_MAX, MESSAGE_MAX, MessageType, Packet, PacketError,
    PacketReader, STRING_MAX, Status, encode_packet,
};

#[cfg(feature = "tokio")]
pub use client::{
    CloseReason, Connection, ConnectionConfig, Error, Event, EventDecoder, EventReceiver, Stream,
};
#[cfg(feature = "sasl")]
pub use sasl::{
    AuthFileError, CredentialKind, CredentialPrompt, Credentials, MECHANISMS as SASL_MECHANISMS,
    SaslError,
};
#[cfg(feature = "sasl")]
pub use server::{
    AUTH_FAILED, PasswordFile, PasswordFileError, SaslConfig, SaslUsers, UnknownMechanism,
    authentication_failed,
};
#[cfg(feature = "tokio")]
pub use server::{
    AuthPolicy, Context, Dispatch, DispatchFuture, Server, ServerBuilder, ServerConfig,
    ServerStream, Session, StreamError, authentication_required, decode_args, encode_ret,
};
#[cfg(feature = "tls")]
pub use server::{DnError, subject_dn};
#[cfg(all(feature = "tokio", unix))]
pub use stream::file_extents;
#[cfg(feature = "tokio")]
pub use stream::{Extent, HoleError, StreamData};
#[cfg(feature = "tokio")]
pub use transport::{AuthType, OpenError, OpenOptions};
#[cfg(feature = "std")]
pub use uri::{RemoteUri, UriError};

/// libvirt's keepalive program (`virkeepaliveprotocol.x`).
pub mod keepalive {
    /// `KEEPALIVE_PROGRAM`.
    pub const PROGRAM: u32 = 0x6b65_6570;
    /// `KEEPALIVE_PROTOCOL_VERSION`.
    pub const VERSION: u32 = 1;
    /// `KEEPALIVE_PROC_PING`.
    pub const PING: i32 = 1;
    /// `KEEPALIVE_PROC_PONG`.
    pub const PONG: i32 = 2;
}

/// What generated libvirt code records of each procedure's annotations,
/// so a server can enforce them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent facts from the annotations
pub struct ProcedureInfo {
    /// The procedure number.
    pub number: i32,
    /// The enum member (`REMOTE_PROC_CONNECT_OPEN`).
    pub name: &'static str,
    /// `@priority: high`: never blocks, may run on priority workers.
    pub high_priority: bool,
    /// `@acl` rules, as written (`domain:write`, ...), all required.
    pub acl: &'static [&'static str],
    /// `@aclfilter` rules, which filter list results.
    pub acl_filter: &'static [&'static str],
    /// `@readstream`: data flows from the daemon after the reply.
    pub read_stream: bool,
    /// `@writestream`: data flows to the daemon after the reply.
    pub write_stream: bool,
    /// The procedure is an event (a `_msg` struct), sent by the daemon.
    pub event: bool,
}

/// A libvirt protocol's names, which generated code hands the runtime so
/// call spans and events name procedures (`REMOTE_PROC_CONNECT_OPEN`):
/// one per protocol (`NAMES`), passed to `Connection::call_named` and
/// returned by `Dispatch::names`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtocolNames {
    /// The protocol's name as the `.x` file has it (`remote`).
    pub program: &'static str,
    /// Every procedure, sorted by number (generated `PROCEDURES`).
    pub procedures: &'static [ProcedureInfo],
}

impl ProtocolNames {
    /// No names: spans and events give numbers only.
    pub const UNKNOWN: ProtocolNames = ProtocolNames {
        program: "",
        procedures: &[],
    };

    /// The name of procedure `number`, if the protocol has it.
    pub fn procedure(&self, number: i32) -> Option<&'static str> {
        self.procedures
            .binary_search_by_key(&number, |p| p.number)
            .ok()
            .map(|i| self.procedures[i].name)
    }
}
