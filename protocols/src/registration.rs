//! Registering a server's program with rpcbind (the port mapper), and
//! finding a program's port through it, with the port mapper protocol
//! (version 2), which every rpcbind speaks.

use std::net::{Ipv4Addr, SocketAddr};

use xdrgen_runtime::rpc::{ClientConfig, RpcError};

use crate::portmap::{self, IPPROTO_TCP, IPPROTO_UDP, Mapping};

/// rpcbind on this host: 127.0.0.1 port 111 (`PMAP_PORT`).
pub const LOCAL_RPCBIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 111);

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

async fn port_mapper(rpcbind: SocketAddr) -> Result<portmap::pmap_prog::pmap_vers::Client, RpcError> {
    let rpc = xdrgen_runtime::rpc::Client::connect_tcp(rpcbind, ClientConfig::default()).await?;
    Ok(portmap::pmap_prog::pmap_vers::Client(rpc))
}

/// A program version's mappings in rpcbind, removed by
/// [`unregister`](Registration::unregister) when the server stops.
#[derive(Debug)]
#[must_use = "a registration should be removed with `unregister` when the server stops"]
pub struct Registration {
    rpcbind: SocketAddr,
    program: u32,
    version: u32,
}

impl Registration {
    /// Maps `program` `version` to each `(protocol, port)`, replacing what
    /// an earlier run of the server left behind (as rpcgen's servers do
    /// with `pmap_unset`).
    pub async fn register(
        rpcbind: SocketAddr,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
    ) -> Result<Registration, RegistrationError> {
        let pmap = port_mapper(rpcbind).await?;
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
        let pmap = port_mapper(self.rpcbind).await?;
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
    rpcbind: SocketAddr,
    program: u32,
    version: u32,
    protocol: Protocol,
) -> Result<Option<u16>, RpcError> {
    let pmap = port_mapper(rpcbind).await?;
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
pub async fn dump(rpcbind: SocketAddr) -> Result<Vec<Mapping>, RpcError> {
    let pmap = port_mapper(rpcbind).await?;
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
        assert_eq!(u32::from(super::LOCAL_RPCBIND.port()), crate::portmap::PMAP_PORT);
    }
}
