//! Where a client connects: one [`Endpoint`] type for every transport, its
//! rpcbind netid and universal address (RFC 1833 §2), the lookups behind
//! `connect_rpcbind` (version 4 GETADDR, then version 2 GETPORT), and
//! binding a reserved source port.

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

/// `tcp:127.0.0.1:2049`, `udp:[::1]:111`, `unix:/run/rpcbind.sock`: the
/// form a server's [`Peer`](super::Peer) takes, so call spans and events
/// name both ends of a call alike.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp:{addr}"),
            Endpoint::Udp(addr) => write!(f, "udp:{addr}"),
            #[cfg(unix)]
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Endpoint {
    /// The netid rpcbind (versions 3 and 4) files this transport under:
    /// `tcp`, `udp`, `tcp6`, `udp6` or `local`.
    pub fn netid(&self) -> &'static str {
        match self {
            Endpoint::Tcp(addr) if addr.is_ipv6() => "tcp6",
            Endpoint::Tcp(_) => "tcp",
            Endpoint::Udp(addr) if addr.is_ipv6() => "udp6",
            Endpoint::Udp(_) => "udp",
            #[cfg(unix)]
            Endpoint::Unix(_) => "local",
        }
    }

    /// The universal address (RFC 1833 §2.1) rpcbind stores for it:
    /// `h1.h2.h3.h4.p1.p2` for IPv4, the IPv6 text form followed by
    /// `.p1.p2` for IPv6, the path for a Unix socket. `None` for a path
    /// that is not UTF-8, which no universal address can carry.
    pub fn universal_address(&self) -> Option<std::string::String> {
        match self {
            Endpoint::Tcp(addr) | Endpoint::Udp(addr) => Some(socket_universal_address(*addr)),
            #[cfg(unix)]
            Endpoint::Unix(path) => path.to_str().map(std::string::ToString::to_string),
        }
    }

    /// The endpoint a netid and universal address (a GETADDR answer or a
    /// DUMP entry) name. An unknown netid or a malformed address is an
    /// `InvalidData` error.
    pub fn from_universal_address(netid: &str, address: &str) -> io::Result<Endpoint> {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                std::format!("bad universal address {address:?} for netid {netid:?}: {why}"),
            )
        };
        match netid {
            #[cfg(unix)]
            "local" | "unix" => Ok(Endpoint::Unix(PathBuf::from(address))),
            "tcp" | "udp" | "tcp6" | "udp6" => {
                let addr =
                    parse_socket_universal_address(address).ok_or_else(|| bad("malformed"))?;
                if addr.is_ipv6() != netid.ends_with('6') {
                    return Err(bad("address family does not match the netid"));
                }
                Ok(if netid.starts_with("tcp") {
                    Endpoint::Tcp(addr)
                } else {
                    Endpoint::Udp(addr)
                })
            }
            _ => Err(bad("unknown netid")),
        }
    }
}

/// `addr` as a universal address: the host's text form, then the port's
/// high and low bytes, dot-separated.
fn socket_universal_address(addr: SocketAddr) -> std::string::String {
    let [high, low] = addr.port().to_be_bytes();
    std::format!("{}.{high}.{low}", addr.ip())
}

fn parse_socket_universal_address(address: &str) -> Option<SocketAddr> {
    let mut parts = address.rsplitn(3, '.');
    let low: u8 = parts.next()?.parse().ok()?;
    let high: u8 = parts.next()?.parse().ok()?;
    let ip: std::net::IpAddr = parts.next()?.parse().ok()?;
    Some(SocketAddr::new(ip, u16::from_be_bytes([high, low])))
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
/// rpcbind version 4 and its GETADDR procedure (3).
pub(crate) const RPCB_VERSION_4: u32 = 4;
pub(crate) const RPCBPROC_GETADDR: u32 = 3;

/// RPCBPROC_GETADDR's argument, an `rpcb` (prog, vers, netid, addr,
/// owner); only the first three matter to the lookup.
pub(crate) fn getaddr_args(
    program: u32,
    version: u32,
    netid: &str,
) -> (
    u32,
    u32,
    crate::XdrStr<'_>,
    crate::XdrStr<'static>,
    crate::XdrStr<'static>,
) {
    (program, version, netid.into(), "".into(), "".into())
}

/// The netid to ask GETADDR for: `protocol` in the family of the address
/// rpcbind is reached at.
pub(crate) fn wanted_netid(rpcbind: SocketAddr, protocol: Protocol) -> &'static str {
    protocol.endpoint(rpcbind).netid()
}

/// Whether rpcbind's answer to a version 4 call means it is an older port
/// mapper, which version 2 GETPORT should be asked instead.
pub(crate) fn is_old_port_mapper(error: &RpcError) -> bool {
    matches!(
        error,
        RpcError::ProgMismatch { .. } | RpcError::ProgUnavail | RpcError::ProcUnavail
    )
}

/// The endpoint a GETADDR answer points to: an empty address means not
/// registered; a wildcard host means rpcbind's own host.
pub(crate) fn getaddr_endpoint(
    rpcbind: SocketAddr,
    netid: &str,
    address: &crate::XdrString,
    program: u32,
    version: u32,
    protocol: Protocol,
) -> Result<Endpoint, RpcError> {
    if address.is_empty() {
        return Err(RpcError::NotRegistered {
            program,
            version,
            protocol,
        });
    }
    let text = address
        .to_str()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(match Endpoint::from_universal_address(netid, text)? {
        Endpoint::Tcp(addr) if addr.ip().is_unspecified() => {
            Endpoint::Tcp(SocketAddr::new(rpcbind.ip(), addr.port()))
        }
        Endpoint::Udp(addr) if addr.ip().is_unspecified() => {
            Endpoint::Udp(SocketAddr::new(rpcbind.ip(), addr.port()))
        }
        other => other,
    })
}

/// Where a client's socket is bound before it connects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourcePort {
    /// Any port the system picks.
    #[default]
    Any,
    /// A reserved (privileged) port, as C's `bindresvport` picks it: one of
    /// [`RESERVED_PORTS`], which only root (or `CAP_NET_BIND_SERVICE`) may
    /// bind. Servers such as knfsd with the `secure` export option, and
    /// many mountd setups, only answer calls from such ports.
    Reserved,
}

/// The ports `bindresvport` tries, as libtirpc does: 600 to 1023, starting
/// at one picked from the process id, then 512 to 599.
pub const RESERVED_PORTS: core::ops::RangeInclusive<u16> = 512..=1023;

/// The order [`SourcePort::Reserved`] tries ports in (libtirpc's
/// `bindresvport`: from a pid-derived start through 600..=1023, wrapping,
/// then 512..=599).
pub(crate) fn reserved_port_order() -> impl Iterator<Item = u16> {
    const START: u16 = 600;
    const END: u16 = 1023;
    let span = u32::from(END - START + 1);
    // The remainder is below `span` (424), so it fits a u16.
    let offset = u16::try_from(std::process::id() % span).unwrap_or(0);
    let first = START + offset;
    (first..=END).chain(START..first).chain(512..START)
}

/// The error when no reserved port could be bound: why the last attempt
/// failed (permission denied for a process that is not root), with the
/// range tried.
pub(crate) fn no_reserved_port(last: Option<io::Error>) -> io::Error {
    match last {
        Some(e) if e.kind() == io::ErrorKind::PermissionDenied => io::Error::new(
            io::ErrorKind::PermissionDenied,
            std::format!(
                "binding a reserved source port (512-1023) needs root or CAP_NET_BIND_SERVICE: {e}"
            ),
        ),
        Some(e) => io::Error::new(
            e.kind(),
            std::format!("no reserved source port (512-1023) is free: {e}"),
        ),
        None => io::Error::new(io::ErrorKind::AddrInUse, "no reserved source port is free"),
    }
}

/// Binds with `bind` to each reserved port in turn until one is free.
pub(crate) fn bind_reserved<T>(
    local_ip: std::net::IpAddr,
    mut bind: impl FnMut(SocketAddr) -> io::Result<T>,
) -> io::Result<T> {
    let mut last = None;
    for port in reserved_port_order() {
        match bind(SocketAddr::new(local_ip, port)) {
            Ok(bound) => return Ok(bound),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(no_reserved_port(Some(e))),
        }
    }
    Err(no_reserved_port(last))
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn endpoints_are_spelled_as_servers_spell_their_peers() {
        let addr: SocketAddr = "127.0.0.1:2049".parse().unwrap();
        assert_eq!(Endpoint::Tcp(addr).to_string(), "tcp:127.0.0.1:2049");
        let v6: SocketAddr = "[::1]:111".parse().unwrap();
        assert_eq!(Endpoint::Udp(v6).to_string(), "udp:[::1]:111");
        #[cfg(unix)]
        assert_eq!(
            Endpoint::Unix("/run/rpcbind.sock".into()).to_string(),
            "unix:/run/rpcbind.sock"
        );
        #[cfg(feature = "tokio")]
        for (endpoint, peer) in [
            (Endpoint::Tcp(addr), super::super::Peer::Tcp(addr)),
            (Endpoint::Udp(v6), super::super::Peer::Udp(v6)),
        ] {
            assert_eq!(endpoint.to_string(), peer.to_string());
        }
    }

    #[test]
    fn reserved_ports_are_tried_once_each_600_to_1023_first() {
        let order: std::vec::Vec<u16> = reserved_port_order().collect();
        assert!((600..=1023).contains(&order[0]));
        assert!(order[..424].iter().all(|p| (600..=1023).contains(p)));
        assert!(order[424..].iter().all(|p| (512..600).contains(p)));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, RESERVED_PORTS.collect::<std::vec::Vec<_>>());
    }

    #[test]
    fn a_process_that_may_not_bind_is_told_why() {
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let e = bind_reserved::<()>(std::net::Ipv4Addr::LOCALHOST.into(), |_| {
            Err(io::Error::from(io::ErrorKind::PermissionDenied))
        })
        .unwrap_err();
        assert_eq!(e.kind(), denied.kind());
        assert!(e.to_string().contains("needs root"), "{e}");
        let mut tried = 0;
        let e = bind_reserved::<()>(std::net::Ipv4Addr::LOCALHOST.into(), |_| {
            tried += 1;
            Err(io::Error::from(io::ErrorKind::AddrInUse))
        })
        .unwrap_err();
        assert_eq!((e.kind(), tried), (io::ErrorKind::AddrInUse, 512));
    }

    #[test]
    fn getaddr_answers_name_endpoints() {
        let rpcbind: SocketAddr = "[::1]:111".parse().unwrap();
        let wildcard = crate::XdrString::from("::.8.1");
        let e = getaddr_endpoint(rpcbind, "tcp6", &wildcard, 1, 1, Protocol::Tcp).unwrap();
        assert_eq!(e, Endpoint::Tcp("[::1]:2049".parse().unwrap()));
        let missing = getaddr_endpoint(rpcbind, "tcp6", &"".into(), 7, 1, Protocol::Tcp);
        assert!(matches!(
            missing,
            Err(RpcError::NotRegistered { program: 7, .. })
        ));
        assert_eq!(wanted_netid(rpcbind, Protocol::Udp), "udp6");
    }
}
