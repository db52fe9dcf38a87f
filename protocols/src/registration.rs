//! Registering a server's program with rpcbind (the port mapper), and
//! finding a program's port through it, with the port mapper protocol
//! (version 2), which every rpcbind speaks.
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

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use xdrgen_runtime::rpc::{Client, ClientConfig, Endpoint, RpcError};

pub use xdrgen_runtime::rpc::Protocol;

use crate::portmap::{self, Mapping};

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
        }
    }
}

impl std::error::Error for RegistrationError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RegistrationError::Rpc(e) => Some(e),
            RegistrationError::Refused { .. } | RegistrationError::Taken { .. } => None,
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
    /// Maps `program` `version` to each `(protocol, port)`. A mapping an
    /// earlier run left behind (nothing answers NULL on its port) is
    /// replaced; one to another port where a server answers is another
    /// process's, and registering fails with [`RegistrationError::Taken`].
    pub async fn register(
        rpcbind: Rpcbind,
        program: u32,
        version: u32,
        ports: &[(Protocol, u16)],
    ) -> Result<Registration, RegistrationError> {
        Self::register_with(rpcbind, program, version, ports, false).await
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
        Self::register_with(rpcbind, program, version, ports, true).await
    }

    async fn register_with(
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
