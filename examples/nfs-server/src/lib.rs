//! An NFS version 3 and MOUNT version 3 server on the generated `Service`
//! traits of `xdrgen-protocols`, serving one directory to stock clients
//! (libnfs's `nfs-ls`/`nfs-cp`/`nfs-cat`, `showmount`, the kernel client).
//!
//! - [`export`]: file handles and the names they stand for, confined to
//!   the exported directory; file attributes.
//! - [`status`]: `nfsstat3` from `io::Error`.
//! - [`nfs`], [`mount`]: the two services.
//! - [`rpcbind`]: registration that coexists with other NFS servers.
//!
//! [`NfsServer::start`] serves both programs on one TCP and one UDP port
//! and registers them; [`NfsServer::stop`] unregisters and shuts down.

pub mod export;
pub mod mount;
pub mod nfs;
pub mod rpcbind;
pub mod status;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;
use xdrgen_protocols::mount3::mount_program::mount_v3;
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::registration::Rpcbind;
use xdrgen_runtime::rpc::{Server, ServerConfig};

/// What to serve and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// The directory exported.
    pub directory: PathBuf,
    /// The path clients mount it as (MNT's argument), such as `/export`.
    pub mount_path: String,
    /// The address to listen on.
    pub address: IpAddr,
    /// The TCP port (0: any free one).
    pub tcp_port: u16,
    /// The UDP port (0: any free one).
    pub udp_port: u16,
    /// Where to register; `None` serves without registering.
    pub rpcbind: Option<Rpcbind>,
    /// Take the NFS and MOUNT mappings over from another live server for
    /// as long as this one runs (see [`rpcbind`]).
    pub take_over: bool,
}

impl Config {
    /// Serves `directory` as `/export` on loopback, any ports, registered
    /// with this host's rpcbind.
    pub fn new(directory: impl Into<PathBuf>) -> Config {
        Config {
            directory: directory.into(),
            mount_path: "/export".to_string(),
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            tcp_port: 0,
            udp_port: 0,
            rpcbind: Some(Rpcbind::local()),
            take_over: false,
        }
    }
}

/// A running server.
pub struct NfsServer {
    tcp: SocketAddr,
    udp: SocketAddr,
    server: Server,
    serving: JoinHandle<io::Result<()>>,
    registered: Option<rpcbind::Registered>,
}

/// Why the server did not start or stop cleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The directory cannot be exported, or a socket cannot be bound.
    Io(io::Error),
    /// rpcbind refused or could not be reached.
    Registration(xdrgen_protocols::registration::RegistrationError),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io(_) => f.write_str("cannot serve the export"),
            Error::Registration(_) => f.write_str("cannot register NFS and MOUNT with rpcbind"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Registration(e) => Some(e),
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl std::fmt::Debug for NfsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NfsServer")
            .field("tcp", &self.tcp)
            .field("udp", &self.udp)
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

impl NfsServer {
    /// Binds, starts serving, and registers.
    pub async fn start(config: Config) -> Result<NfsServer, Error> {
        let export = Arc::new(export::Export::new(1, &config.directory)?);
        let server = Server::builder(ServerConfig::default())
            .service(nfs_v3::Dispatcher(nfs::Nfs::new(export.clone())))
            .service(mount_v3::Dispatcher(mount::Mount::new(
                export,
                config.mount_path.clone(),
            )))
            .build();
        let listener = TcpListener::bind((config.address, config.tcp_port)).await?;
        let socket = UdpSocket::bind((config.address, config.udp_port)).await?;
        let tcp = listener.local_addr()?;
        let udp = socket.local_addr()?;
        let serving = {
            let server = server.clone();
            tokio::spawn(async move {
                let (a, b) = tokio::join!(server.serve_tcp(listener), server.serve_udp(socket));
                a.and(b)
            })
        };
        let registered = match config.rpcbind {
            Some(rpcbind) => {
                match rpcbind::register(rpcbind, tcp.port(), udp.port(), config.take_over).await {
                    Ok(registered) => Some(registered),
                    Err(e) => {
                        server.shutdown();
                        let _ = serving.await;
                        return Err(Error::Registration(e));
                    }
                }
            }
            None => None,
        };
        Ok(NfsServer {
            tcp,
            udp,
            server,
            serving,
            registered,
        })
    }

    /// The TCP address served.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The UDP address served.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp
    }

    /// The registration, if the server registered.
    pub fn registered(&self) -> Option<&rpcbind::Registered> {
        self.registered.as_ref()
    }

    /// Unregisters (putting back displaced mappings), then shuts down
    /// gracefully: calls in progress finish first.
    pub async fn stop(self) -> Result<(), Error> {
        let unregistered = match self.registered {
            Some(registered) => registered.unregister().await.map_err(Error::Registration),
            None => Ok(()),
        };
        self.server.shutdown();
        let served = match self.serving.await {
            Ok(result) => result.map_err(Error::Io),
            Err(join) => Err(Error::Io(io::Error::other(join))),
        };
        unregistered.and(served)
    }
}
