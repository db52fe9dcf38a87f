//! Where a client connects: one [`Endpoint`] type for every transport, and
//! the port mapper lookup (RFC 1833, version 2) behind `connect_rpcbind`.

use std::fmt;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::PathBuf;

use super::error::RpcError;

/// Where an RPC server listens: what both clients' `connect` take.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// A TCP address (record marking on the stream).
    Tcp(SocketAddr),
    /// A UDP address (one datagram per message, retransmitted).
    Udp(SocketAddr),
    /// A Unix stream socket (record marking).
    #[cfg(unix)]
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp {addr}"),
            Endpoint::Udp(addr) => write!(f, "udp {addr}"),
            #[cfg(unix)]
            Endpoint::Unix(path) => write!(f, "unix {}", path.display()),
        }
    }
}

/// A transport the port mapper maps ports for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP`, netid `tcp`).
    Tcp,
    /// UDP (`IPPROTO_UDP`, netid `udp`).
    Udp,
}

impl Protocol {
    /// The IP protocol number the port mapper uses (6 or 17).
    pub fn number(self) -> u32 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
        }
    }

    /// The endpoint of this transport at `addr`.
    pub fn endpoint(self, addr: SocketAddr) -> Endpoint {
        match self {
            Protocol::Tcp => Endpoint::Tcp(addr),
            Protocol::Udp => Endpoint::Udp(addr),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// The port mapper's well-known port (`PMAP_PORT`).
pub const PMAP_PORT: u16 = 111;

/// The port mapper: program 100000, version 2, procedure GETPORT (3).
pub(crate) const PMAP_PROGRAM: u32 = 100_000;
pub(crate) const PMAP_VERSION: u32 = 2;
pub(crate) const PMAPPROC_GETPORT: u32 = 3;

/// PMAPPROC_GETPORT's argument, a `mapping` (prog, vers, prot, port); the
/// port is ignored.
pub(crate) fn getport_args(program: u32, version: u32, protocol: Protocol) -> (u32, u32, u32, u32) {
    (program, version, protocol.number(), 0)
}

/// Picks the address to ask for the port mapper: version 2 is IPv4 only in
/// rpcbind, so an IPv4 address of the host comes first.
pub(crate) fn rpcbind_address(
    host: &str,
    addrs: impl Iterator<Item = SocketAddr>,
) -> io::Result<SocketAddr> {
    let addrs: std::vec::Vec<_> = addrs.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                std::format!("{host} has no address"),
            )
        })
}

/// The endpoint GETPORT's answer points to; port 0 means not registered.
pub(crate) fn registered_endpoint(
    rpcbind: SocketAddr,
    port: u32,
    program: u32,
    version: u32,
    protocol: Protocol,
) -> Result<Endpoint, RpcError> {
    match u16::try_from(port) {
        Ok(0) => Err(RpcError::NotRegistered {
            program,
            version,
            protocol,
        }),
        Ok(port) => Ok(protocol.endpoint(SocketAddr::new(rpcbind.ip(), port))),
        Err(_) => Err(RpcError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            std::format!("rpcbind mapped program {program} to {port}, which is not a port"),
        ))),
    }
}
