//! Registering a server's program with rpcbind (the port mapper), and
//! finding a program's port through it, with the port mapper protocol
//! (version 2), which every rpcbind speaks.
//!
//! rpcbind records who registered a mapping and lets only that owner (or
//! root) change it. It learns the caller's uid only over its Unix socket,
//! so [`Rpcbind::local`] prefers that socket, as libtirpc does.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use xdrgen_runtime::rpc::{BlockingClient, Client, ClientConfig, RpcError};

use crate::portmap::{self, IPPROTO_TCP, IPPROTO_UDP, Mapping};

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
        let rpc = match self {
            Rpcbind::Tcp(addr) => BlockingClient::connect_tcp(addr, ClientConfig::default())?,
            Rpcbind::Unix(path) => BlockingClient::connect_unix(path, ClientConfig::default())?,
        };
        Ok(portmap::pmap_prog::pmap_vers::BlockingClient(rpc))
    }

    async fn port_mapper(&self) -> Result<portmap::pmap_prog::pmap_vers::Client, RpcError> {
        let rpc = match self {
            Rpcbind::Tcp(addr) => Client::connect_tcp(addr, ClientConfig::default()).await?,
            Rpcbind::Unix(path) => Client::connect_unix(path, ClientConfig::default()).await?,
        };
        Ok(portmap::pmap_prog::pmap_vers::Client(rpc))
    }
}

impl From<SocketAddr> for Rpcbind {
    fn from(addr: SocketAddr) -> Self {
        Rpcbind::Tcp(addr)
    }
}

/// A transport a program is registered for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// TCP (`IPPROTO_TCP`, netid `tcp`).
    Tcp,
    /// UDP (`IPPROTO_UDP`, netid `udp`).
    Udp,
}

impl Protocol {
    /// The IP protocol number the port mapper uses.
    pub fn number(self) -> u32 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
        }
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
}

impl std::fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegistrationError::Rpc(e) => write!(f, "rpcbind: {e}"),
            RegistrationError::Refused { mapping } => write!(
                f,
                "rpcbind refused to map program {} version {} protocol {} to port {}",
                mapping.prog, mapping.vers, mapping.prot, mapping.port
            ),
        }
    }
}

impl std::error::Error for RegistrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegistrationError::Rpc(e) => Some(e),
            RegistrationError::Refused { .. } => None,
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
}

impl Registration {
    /// Maps `program` `version` to each `(protocol, port)`, replacing what
    /// an earlier run of the server left behind (as rpcgen's servers do
    /// with `pmap_unset`).
    pub async fn register(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
    ) -> Result<Registration, RegistrationError> {
        let pmap = rpcbind.port_mapper().await?;
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

    /// Removes the program version's mappings (all protocols).
    pub async fn unregister(self) -> Result<(), RegistrationError> {
        let pmap = self.rpcbind.port_mapper().await?;
        let mapping = Mapping {
            prog: self.program,
            vers: self.version,
            prot: 0,
            port: 0,
        };
        pmap.pmapproc_unset(&mapping).await?;
        Ok(())
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
    Ok(u16::try_from(port).ok().filter(|&p| p != 0))
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
    #[test]
    fn the_local_address_uses_the_port_mappers_port() {
        assert_eq!(
            u32::from(super::LOCAL_RPCBIND.port()),
            crate::portmap::PMAP_PORT
        );
    }
}
