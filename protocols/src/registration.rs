//! Registering a server's program with rpcbind, and finding a program
//! through it.
//!
//! rpcbind versions 3 and 4 (RFC 1833 §2) map a program version and a
//! netid (`tcp`, `udp`, `tcp6`, `udp6`, `local`) to a universal address,
//! so a server can register every transport it listens on, IPv6 and Unix
//! sockets included ([`Registration::register_endpoints`]). An old port
//! mapper that answers version 4 with PROG_MISMATCH or PROG_UNAVAIL is
//! spoken to with version 2 (SET/UNSET/GETPORT), which holds IPv4 TCP and
//! UDP ports only.
//!
//! rpcbind records who registered a mapping and lets only that owner (or
//! root) change it. It learns the caller's uid only over its Unix socket,
//! so [`Rpcbind::local`] prefers that socket, as libtirpc does.
//!
//! Root may change any mapping, so [`Registration::register`] checks first:
//! a mapping to another port where a server still answers belongs to
//! another process and is left alone unless the caller asks to take it
//! over with [`Registration::register_replacing`]. (rpcgen's servers call
//! `pmap_unset` unconditionally and so silently steal it.)

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{Client, ClientConfig, RpcError};

pub use xdrgen_runtime::rpc::{Endpoint, Protocol};

use crate::portmap::{self, Mapping};
use crate::rpcbind::{Rpcb, rpcbprog::rpcbvers4};

/// rpcbind on this host: 127.0.0.1 port 111 (`PMAP_PORT`).
pub const LOCAL_RPCBIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 111);

/// rpcbind's Unix socket on Linux.
pub const LOCAL_RPCBIND_SOCKET: &str = "/run/rpcbind.sock";

/// Where to reach rpcbind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rpcbind {
    /// Over TCP.
    Tcp(SocketAddr),
    /// Over a Unix socket (rpcbind then knows the caller's uid).
    Unix(PathBuf),
}

impl Rpcbind {
    /// This host's rpcbind: its Unix socket if there is one, else
    /// 127.0.0.1 port 111.
    pub fn local() -> Rpcbind {
        let socket = PathBuf::from(LOCAL_RPCBIND_SOCKET);
        if socket.exists() {
            Rpcbind::Unix(socket)
        } else {
            Rpcbind::Tcp(LOCAL_RPCBIND)
        }
    }

    /// A blocking port mapper client (for code without an async runtime,
    /// or a `Drop` impl that must unregister).
    pub fn blocking(&self) -> Result<portmap::pmap_prog::pmap_vers::BlockingClient, RpcError> {
        portmap::pmap_prog::pmap_vers::BlockingClient::connect(
            self.endpoint(),
            ClientConfig::default(),
        )
    }

    async fn port_mapper(&self) -> Result<portmap::pmap_prog::pmap_vers::Client, RpcError> {
        portmap::pmap_prog::pmap_vers::Client::connect(self.endpoint(), ClientConfig::default())
            .await
    }

    async fn version_4(&self) -> Result<rpcbvers4::Client, RpcError> {
        rpcbvers4::Client::connect(self.endpoint(), ClientConfig::default()).await
    }

    fn endpoint(&self) -> Endpoint {
        match self {
            Rpcbind::Tcp(addr) => Endpoint::Tcp(*addr),
            Rpcbind::Unix(path) => Endpoint::Unix(path.clone()),
        }
    }

    /// The host the mapped ports are on.
    fn host(&self) -> IpAddr {
        match self {
            Rpcbind::Tcp(addr) => addr.ip(),
            Rpcbind::Unix(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        }
    }

    /// Where to reach rpcbind over `netid`'s transport.
    fn over_netid(&self, netid: &str) -> Option<Endpoint> {
        let (ip, port) = match self {
            Rpcbind::Tcp(addr) => (addr.ip(), addr.port()),
            Rpcbind::Unix(path) if netid == "local" => return Some(Endpoint::Unix(path.clone())),
            Rpcbind::Unix(_) => (IpAddr::V4(Ipv4Addr::LOCALHOST), LOCAL_RPCBIND.port()),
        };
        let want_ipv6 = match netid {
            "tcp" | "udp" => false,
            "tcp6" | "udp6" => true,
            "local" if ip.is_loopback() => {
                return Some(Endpoint::Unix(PathBuf::from(LOCAL_RPCBIND_SOCKET)));
            }
            _ => return None,
        };
        let ip = match (ip.is_ipv6(), want_ipv6) {
            (have, want) if have == want => ip,
            (_, true) if ip.is_loopback() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            (_, false) if ip.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            _ => return None,
        };
        let addr = SocketAddr::new(ip, port);
        Some(if netid.starts_with("tcp") {
            Endpoint::Tcp(addr)
        } else {
            Endpoint::Udp(addr)
        })
    }

    /// Where to reach what a universal address names: a wildcard host
    /// (a server listening on all addresses) is rpcbind's own host, in
    /// the address family of the netid.
    fn reachable(&self, endpoint: Endpoint) -> Endpoint {
        let fix = |addr: SocketAddr| {
            if !addr.ip().is_unspecified() {
                return addr;
            }
            let host = match (self.host(), addr.is_ipv6()) {
                (host, false) if host.is_ipv4() => host,
                (host, true) if host.is_ipv6() => host,
                (_, false) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                (_, true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(host, addr.port())
        };
        match endpoint {
            Endpoint::Tcp(addr) => Endpoint::Tcp(fix(addr)),
            Endpoint::Udp(addr) => Endpoint::Udp(fix(addr)),
            other => other,
        }
    }
}

impl From<SocketAddr> for Rpcbind {
    fn from(addr: SocketAddr) -> Self {
        Rpcbind::Tcp(addr)
    }
}

/// Why a registration failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RegistrationError {
    /// rpcbind could not be reached or answered with an RPC error.
    Rpc(RpcError),
    /// rpcbind refused the mapping (another server owns it, or the call
    /// did not come from this host).
    Refused {
        /// The refused mapping.
        mapping: Mapping,
    },
    /// rpcbind maps the program version to another port where a server
    /// answers: another process's registration, kept. Use
    /// [`Registration::register_replacing`] to take it over.
    Taken {
        /// The mapping rpcbind holds.
        existing: Mapping,
    },
    /// rpcbind refused a version 4 mapping of a netid to an address.
    RefusedAt {
        /// The netid (`tcp6`, `local`, ...).
        netid: String,
        /// The universal address refused.
        address: String,
    },
    /// rpcbind maps the program version's netid to another address where
    /// a server answers (for `tcp6`, `udp6` and `local`; `tcp` and `udp`
    /// report [`Taken`](RegistrationError::Taken)). Use the `_replacing`
    /// form to take it over.
    TakenAt {
        /// The netid.
        netid: String,
        /// The universal address rpcbind holds.
        address: String,
    },
    /// The port mapper only speaks version 2, which maps IPv4 TCP and UDP
    /// ports only, and the server listens on another transport.
    NeedsVersion4 {
        /// The endpoint version 2 cannot hold.
        endpoint: Endpoint,
    },
    /// An endpoint has no universal address (a Unix socket path that is not
    /// UTF-8).
    NoUniversalAddress {
        /// The endpoint.
        endpoint: Endpoint,
    },
}

impl std::fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The RPC error is the source: it is not repeated here.
            RegistrationError::Rpc(_) => f.write_str("cannot talk to rpcbind"),
            RegistrationError::Refused { mapping } => write!(
                f,
                "rpcbind refused to map program {} version {} protocol {} to port {}",
                mapping.prog, mapping.vers, mapping.prot, mapping.port
            ),
            RegistrationError::Taken { existing } => write!(
                f,
                "program {} version {} protocol {} is already mapped to port {}, where \
                 another server answers; not replacing it without `register_replacing`",
                existing.prog, existing.vers, existing.prot, existing.port
            ),
            RegistrationError::RefusedAt { netid, address } => write!(
                f,
                "rpcbind refused to map netid {netid} to {address:?} (another owner holds it, \
                 or the call did not come from this host)"
            ),
            RegistrationError::TakenAt { netid, address } => write!(
                f,
                "netid {netid} is already mapped to {address:?}, where another server answers; \
                 not replacing it without a `_replacing` registration"
            ),
            RegistrationError::NeedsVersion4 { endpoint } => write!(
                f,
                "rpcbind only speaks port mapper version 2, which cannot map {endpoint} \
                 (netid {})",
                endpoint.netid()
            ),
            RegistrationError::NoUniversalAddress { endpoint } => {
                write!(
                    f,
                    "{endpoint} has no universal address (the path is not UTF-8)"
                )
            }
        }
    }
}

impl std::error::Error for RegistrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegistrationError::Rpc(e) => Some(e),
            _ => None,
        }
    }
}

impl From<RpcError> for RegistrationError {
    fn from(e: RpcError) -> Self {
        RegistrationError::Rpc(e)
    }
}

/// A program version's mappings in rpcbind, removed by
/// [`unregister`](Registration::unregister) when the server stops.
#[derive(Debug)]
#[must_use = "a registration should be removed with `unregister` when the server stops"]
pub struct Registration {
    rpcbind: Rpcbind,
    program: u32,
    version: u32,
    /// The netids registered with version 4; empty when the port mapper
    /// only speaks version 2.
    netids: Vec<&'static str>,
}

impl Registration {
    /// Maps `program` `version` to each `(protocol, port)` on every IPv4
    /// address (netids `tcp` and `udp`). A mapping an earlier run left
    /// behind (nothing answers NULL on its port) is replaced; one to
    /// another port where a server answers is another process's, and
    /// registering fails with [`RegistrationError::Taken`].
    pub async fn register(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
    ) -> Result<Registration, RegistrationError> {
        Self::register_with(rpcbind, program, version, &ipv4_endpoints(ports), false).await
    }

    /// Maps `program` `version` to each `(protocol, port)`, replacing any
    /// mapping rpcbind holds for them, even another live server's (as
    /// rpcgen's servers do with `pmap_unset`).
    pub async fn register_replacing(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
    ) -> Result<Registration, RegistrationError> {
        Self::register_with(rpcbind, program, version, &ipv4_endpoints(ports), true).await
    }

    /// Maps `program` `version` to every endpoint the server listens on,
    /// each under its netid (`tcp`, `udp`, `tcp6`, `udp6`, `local`) with
    /// its universal address, as libtirpc's `rpcb_set` does. rpcbind holds
    /// one address per netid, so a second endpoint of a netid is refused
    /// ([`RegistrationError::RefusedAt`]). Another live server's mapping
    /// is kept as with [`register`](Registration::register).
    pub async fn register_endpoints(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        endpoints: &[Endpoint],
    ) -> Result<Registration, RegistrationError> {
        Self::register_with(rpcbind, program, version, endpoints, false).await
    }

    /// [`register_endpoints`](Registration::register_endpoints), replacing
    /// whatever rpcbind holds for those netids.
    pub async fn register_endpoints_replacing(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        endpoints: &[Endpoint],
    ) -> Result<Registration, RegistrationError> {
        Self::register_with(rpcbind, program, version, endpoints, true).await
    }

    async fn register_with(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        endpoints: &[Endpoint],
        replace: bool,
    ) -> Result<Registration, RegistrationError> {
        let v4 = rpcbind.version_4().await?;
        // An old port mapper answers version 4's NULL with PROG_MISMATCH.
        match v4.rpcbproc_null().await {
            Ok(()) => {}
            Err(e) if is_old_port_mapper(&e) => {
                let ports = endpoints
                    .iter()
                    .map(version_2_port)
                    .collect::<Result<Vec<_>, _>>()?;
                return Self::register_version_2(rpcbind, program, version, &ports, replace).await;
            }
            Err(e) => return Err(e.into()),
        }
        let mut mappings = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let address = endpoint.universal_address().ok_or_else(|| {
                RegistrationError::NoUniversalAddress {
                    endpoint: endpoint.clone(),
                }
            })?;
            mappings.push(Rpcb {
                r_prog: program,
                r_vers: version,
                r_netid: endpoint.netid().into(),
                r_addr: address.into(),
                r_owner: owner().into(),
            });
        }
        if !replace {
            // The table, not GETADDR: rpcbind answers GETADDR for the
            // netid the question arrives over, whatever it names.
            let table = dump_entries(&rpcbind).await?;
            for (endpoint, mapping) in endpoints.iter().zip(&mappings) {
                let netid = endpoint.netid();
                let held = table
                    .iter()
                    .find(|e| e.r_prog == program && e.r_vers == version && e.r_netid == netid);
                let Some(existing) = held.map(|e| &e.r_addr) else {
                    continue;
                };
                if *existing == mapping.r_addr {
                    continue;
                }
                let text = existing.to_string_lossy().into_owned();
                let Ok(theirs) = Endpoint::from_universal_address(netid, &text) else {
                    continue;
                };
                if answers_null(rpcbind.reachable(theirs.clone()), program, version).await {
                    return Err(taken(program, version, netid, &theirs, text));
                }
            }
        }
        let mut registration = Registration {
            rpcbind,
            program,
            version,
            netids: Vec::new(),
        };
        for (endpoint, mapping) in endpoints.iter().zip(&mappings) {
            let netid = endpoint.netid();
            // What an earlier run (or, when replacing, another server)
            // left under this netid goes first. rpcbind holds one address
            // per netid: a second endpoint of the same netid is refused.
            if !registration.netids.contains(&netid) {
                v4.rpcbproc_unset(&lookup(program, version, netid)).await?;
                registration.netids.push(netid);
            }
            if !v4.rpcbproc_set(mapping).await? {
                // Leave nothing half-registered.
                let refused = RegistrationError::RefusedAt {
                    netid: netid.to_string(),
                    address: mapping.r_addr.to_string_lossy().into_owned(),
                };
                let _ = registration.remove(&v4).await;
                return Err(refused);
            }
        }
        Ok(registration)
    }

    async fn register_version_2(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
        replace: bool,
    ) -> Result<Registration, RegistrationError> {
        let pmap = rpcbind.port_mapper().await?;
        if !replace {
            for &(protocol, port) in ports {
                let existing = pmap
                    .pmapproc_getport(&Mapping {
                        prog: program,
                        vers: version,
                        prot: protocol.number(),
                        port: 0,
                    })
                    .await?;
                let existing = mapped_port(program, existing)?;
                if let Some(existing) = existing.filter(|&p| p != port) {
                    let addr = SocketAddr::new(rpcbind.host(), existing);
                    if answers_null(protocol.endpoint(addr), program, version).await {
                        return Err(RegistrationError::Taken {
                            existing: Mapping {
                                prog: program,
                                vers: version,
                                prot: protocol.number(),
                                port: u32::from(existing),
                            },
                        });
                    }
                }
            }
        }
        let stale = Mapping {
            prog: program,
            vers: version,
            prot: 0,
            port: 0,
        };
        pmap.pmapproc_unset(&stale).await?;
        let registration = Registration {
            rpcbind,
            program,
            version,
            netids: Vec::new(),
        };
        for &(protocol, port) in ports {
            let mapping = Mapping {
                prog: program,
                vers: version,
                prot: protocol.number(),
                port: u32::from(port),
            };
            if !pmap.pmapproc_set(&mapping).await? {
                // Leave nothing half-registered.
                let _ = pmap.pmapproc_unset(&stale).await;
                return Err(RegistrationError::Refused { mapping });
            }
        }
        Ok(registration)
    }

    /// Removes the program version's mappings: the netids it registered
    /// (version 4), or all its ports (version 2).
    pub async fn unregister(self) -> Result<(), RegistrationError> {
        if self.netids.is_empty() {
            let pmap = self.rpcbind.port_mapper().await?;
            let mapping = Mapping {
                prog: self.program,
                vers: self.version,
                prot: 0,
                port: 0,
            };
            pmap.pmapproc_unset(&mapping).await?;
            return Ok(());
        }
        let v4 = self.rpcbind.version_4().await?;
        self.remove(&v4).await
    }

    async fn remove(&self, v4: &rpcbvers4::Client) -> Result<(), RegistrationError> {
        for netid in &self.netids {
            v4.rpcbproc_unset(&lookup(self.program, self.version, netid))
                .await?;
        }
        Ok(())
    }
}

/// `(protocol, port)` pairs as endpoints on every IPv4 address.
fn ipv4_endpoints(ports: &[(Protocol, u16)]) -> Vec<Endpoint> {
    ports
        .iter()
        .map(|&(protocol, port)| {
            protocol.endpoint(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
        })
        .collect()
}

/// The version 2 mapping of an IPv4 TCP or UDP endpoint.
fn version_2_port(endpoint: &Endpoint) -> Result<(Protocol, u16), RegistrationError> {
    match endpoint {
        Endpoint::Tcp(addr) if addr.is_ipv4() => Ok((Protocol::Tcp, addr.port())),
        Endpoint::Udp(addr) if addr.is_ipv4() => Ok((Protocol::Udp, addr.port())),
        other => Err(RegistrationError::NeedsVersion4 {
            endpoint: other.clone(),
        }),
    }
}

/// The error for a netid another live server holds: the version 2 shape
/// for `tcp` and `udp`, the address for the others.
fn taken(
    program: u32,
    version: u32,
    netid: &str,
    theirs: &Endpoint,
    address: String,
) -> RegistrationError {
    match theirs {
        Endpoint::Tcp(addr) | Endpoint::Udp(addr) if addr.is_ipv4() => {
            let protocol = if matches!(theirs, Endpoint::Tcp(_)) {
                Protocol::Tcp
            } else {
                Protocol::Udp
            };
            RegistrationError::Taken {
                existing: Mapping {
                    prog: program,
                    vers: version,
                    prot: protocol.number(),
                    port: u32::from(addr.port()),
                },
            }
        }
        _ => RegistrationError::TakenAt {
            netid: netid.to_string(),
            address,
        },
    }
}

/// An `rpcb` naming a program version and netid, as GETADDR and UNSET
/// take it (the address and owner are not looked at).
fn lookup(program: u32, version: u32, netid: &str) -> Rpcb {
    Rpcb {
        r_prog: program,
        r_vers: version,
        r_netid: netid.into(),
        r_addr: XdrString::default(),
        r_owner: owner().into(),
    }
}

/// The owner string libtirpc sends: the caller's uid. (rpcbind trusts
/// only what its Unix socket tells it, and records "unknown" otherwise.)
fn owner() -> String {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(me) = std::fs::metadata("/proc/self") {
            return me.uid().to_string();
        }
    }
    "unknown".to_string()
}

/// Whether rpcbind's answer to a version 4 call means it is an older port
/// mapper, to be spoken to with version 2.
fn is_old_port_mapper(error: &RpcError) -> bool {
    matches!(
        error,
        RpcError::ProgMismatch { .. } | RpcError::ProgUnavail | RpcError::ProcUnavail
    )
}

/// Whether a server of `program` `version` answers NULL at `endpoint`
/// within a second.
async fn answers_null(endpoint: Endpoint, program: u32, version: u32) -> bool {
    let config = ClientConfig {
        timeout: Duration::from_secs(1),
        retransmit: Duration::from_millis(250),
        ..ClientConfig::default()
    };
    match Client::connect(endpoint, config).await {
        Ok(client) => client.call::<_, ()>(program, version, 0, &()).await.is_ok(),
        Err(_) => false,
    }
}

/// The port `program` `version` is registered on for `protocol`, if any.
pub async fn get_port(
    rpcbind: &Rpcbind,
    program: u32,
    version: u32,
    protocol: Protocol,
) -> Result<Option<u16>, RpcError> {
    let pmap = rpcbind.port_mapper().await?;
    let port = pmap
        .pmapproc_getport(&Mapping {
            prog: program,
            vers: version,
            prot: protocol.number(),
            port: 0,
        })
        .await?;
    mapped_port(program, port)
}

/// A GETPORT answer: `None` for 0 (not registered), an error for a number
/// that is no port.
fn mapped_port(program: u32, port: u32) -> Result<Option<u16>, RpcError> {
    match u16::try_from(port) {
        Ok(0) => Ok(None),
        Ok(port) => Ok(Some(port)),
        Err(_) => Err(RpcError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("rpcbind mapped program {program} to {port}, which is not a port"),
        ))),
    }
}

/// Where `program` `version` listens over `netid` (`tcp`, `udp`, `tcp6`,
/// `udp6`, `local`), if it is registered: rpcbind version 4 GETADDR, or
/// version 2 GETPORT for `tcp` and `udp` from an old port mapper. A
/// wildcard host in the answer is rpcbind's own.
///
/// rpcbind answers GETADDR for the netid of the transport the question
/// arrives on, not the one it names, so rpcbind is asked over `netid`
/// itself: on its address in that family (the other loopback address
/// for a loopback `rpcbind`), or its Unix socket for `local`.
pub async fn get_address(
    rpcbind: &Rpcbind,
    program: u32,
    version: u32,
    netid: &str,
) -> Result<Option<Endpoint>, RpcError> {
    let at = rpcbind.over_netid(netid).ok_or_else(|| {
        RpcError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("cannot ask rpcbind at {rpcbind:?} about netid {netid:?}"),
        ))
    })?;
    let v4 = rpcbvers4::Client::connect(at.clone(), ClientConfig::default()).await?;
    match v4.rpcbproc_getaddr(&lookup(program, version, netid)).await {
        Ok(address) if address.is_empty() => Ok(None),
        Ok(address) => {
            let text = address.to_string_lossy();
            let endpoint = Endpoint::from_universal_address(netid, &text)?;
            Ok(Some(rpcbind.reachable(endpoint)))
        }
        Err(e) if is_old_port_mapper(&e) => {
            let protocol = match netid {
                "tcp" => Protocol::Tcp,
                "udp" => Protocol::Udp,
                _ => return Err(e),
            };
            let port = get_port(rpcbind, program, version, protocol).await?;
            Ok(port.map(|port| protocol.endpoint(SocketAddr::new(rpcbind.host(), port))))
        }
        Err(e) => Err(e),
    }
}

/// Every entry rpcbind version 4 holds (program, version, netid,
/// universal address, owner), as `rpcinfo` without options lists them.
pub async fn dump_entries(rpcbind: &Rpcbind) -> Result<Vec<Rpcb>, RpcError> {
    let v4 = rpcbind.version_4().await?;
    let mut list = v4.rpcbproc_dump().await?;
    let mut out = Vec::new();
    while let Some(mut node) = list {
        list = node.rpcb_next.take();
        out.push(std::mem::take(&mut node.rpcb_map));
    }
    Ok(out)
}

/// Every mapping rpcbind holds, as `rpcinfo -p` lists them.
pub async fn dump(rpcbind: &Rpcbind) -> Result<Vec<Mapping>, RpcError> {
    let pmap = rpcbind.port_mapper().await?;
    let mut list = pmap.pmapproc_dump().await?;
    let mut out = Vec::new();
    while let Some(mut node) = list {
        out.push(node.map.clone());
        list = node.next.take();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_have_the_universal_addresses_libtirpc_registers() {
        let tcp = Endpoint::Tcp("127.0.0.1:2049".parse().unwrap());
        assert_eq!(
            (tcp.netid(), tcp.universal_address().unwrap().as_str()),
            ("tcp", "127.0.0.1.8.1")
        );
        let udp6 = Endpoint::Udp("[::1]:770".parse().unwrap());
        assert_eq!(
            (udp6.netid(), udp6.universal_address().unwrap().as_str()),
            ("udp6", "::1.3.2")
        );
        let local = Endpoint::Unix("/run/x.sock".into());
        assert_eq!(
            (local.netid(), local.universal_address().unwrap().as_str()),
            ("local", "/run/x.sock")
        );
        for endpoint in [tcp, udp6, local] {
            let back = Endpoint::from_universal_address(
                endpoint.netid(),
                &endpoint.universal_address().unwrap(),
            )
            .unwrap();
            assert_eq!(back, endpoint);
        }
    }

    #[test]
    fn malformed_universal_addresses_are_errors() {
        for (netid, address) in [
            ("tcp", "127.0.0.1.8"),
            ("tcp", "127.0.0.1.256.1"),
            ("tcp6", "127.0.0.1.8.1"),
            ("tcp", "::1.8.1"),
            ("sctp", "127.0.0.1.8.1"),
            ("udp", ""),
        ] {
            let e = Endpoint::from_universal_address(netid, address).unwrap_err();
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::InvalidData,
                "{netid} {address}"
            );
        }
    }

    #[test]
    fn version_2_holds_only_ipv4_tcp_and_udp() {
        let v6 = Endpoint::Tcp("[::1]:1".parse().unwrap());
        assert!(matches!(
            version_2_port(&v6),
            Err(RegistrationError::NeedsVersion4 { .. })
        ));
        let v4 = Endpoint::Udp("0.0.0.0:9".parse().unwrap());
        assert_eq!(version_2_port(&v4).unwrap(), (Protocol::Udp, 9));
    }

    #[test]
    fn the_local_address_uses_the_port_mappers_port() {
        assert_eq!(
            u32::from(super::LOCAL_RPCBIND.port()),
            crate::portmap::PMAP_PORT
        );
    }
}
