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
//! [`NfsServer::start`] serves both programs over TCP and UDP on each
//! address it listens on (127.0.0.1 and, where the machine has it, ::1),
//! and on a Unix socket if asked, and registers every one of them with
//! rpcbind under its netid; [`NfsServer::stop`] unregisters and shuts
//! down.

pub mod export;
pub mod mount;
pub mod nfs;
pub mod rpcbind;
pub mod status;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket, UnixListener};
use tokio::task::JoinHandle;
use xdrgen_protocols::mount3::mount_program::mount_v3;
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::registration::Rpcbind;
use xdrgen_runtime::rpc::{Endpoint, Server, ServerConfig};

/// What to serve and where.
#[derive(Clone, Debug)]
pub struct Config {
    /// The directory exported.
    pub directory: PathBuf,
    /// The path clients mount it as (MNT's argument), such as `/export`.
    pub mount_path: String,
    /// The addresses to listen on, each over TCP and UDP. The ports are
    /// the first address's; the others take the same port numbers when
    /// they are free there.
    pub addresses: Vec<IpAddr>,
    /// The TCP port (0: any free one).
    pub tcp_port: u16,
    /// The UDP port (0: any free one).
    pub udp_port: u16,
    /// A Unix socket to serve on as well (netid `local`).
    pub unix_socket: Option<PathBuf>,
    /// Where to register; `None` serves without registering.
    pub rpcbind: Option<Rpcbind>,
    /// Take the NFS and MOUNT mappings over from another live server for
    /// as long as this one runs (see [`rpcbind`]).
    pub take_over: bool,
}

impl Config {
    /// Serves `directory` as `/export` on 127.0.0.1 and ::1 (where this
    /// machine has an IPv6 loopback), any ports, registered with this
    /// host's rpcbind.
    pub fn new(directory: impl Into<PathBuf>) -> Config {
        Config {
            directory: directory.into(),
            mount_path: "/export".to_string(),
            addresses: default_addresses(),
            tcp_port: 0,
            udp_port: 0,
            unix_socket: None,
            rpcbind: Some(Rpcbind::local()),
            take_over: false,
        }
    }
}

/// 127.0.0.1, and ::1 unless this machine has no IPv6 loopback (a
/// network namespace or a kernel without IPv6).
pub fn default_addresses() -> Vec<IpAddr> {
    let mut addresses = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    if std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok() {
        addresses.push(IpAddr::V6(Ipv6Addr::LOCALHOST));
    }
    addresses
}

/// A running server.
pub struct NfsServer {
    tcp: SocketAddr,
    udp: SocketAddr,
    endpoints: Vec<Endpoint>,
    server: Server,
    serving: JoinHandle<io::Result<()>>,
    registered: Option<rpcbind::Registered>,
    unix_socket: Option<PathBuf>,
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
            .field("endpoints", &self.endpoints)
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

/// The sockets bound, in the order of their endpoints.
enum Socket {
    Tcp(TcpListener),
    Udp(UdpSocket),
    Unix(UnixListener),
}

/// The sockets bound, each with its endpoint.
struct Bound {
    /// The first address's TCP and UDP addresses.
    tcp: SocketAddr,
    udp: SocketAddr,
    sockets: Vec<(Endpoint, Socket)>,
}

/// Binds TCP and UDP on every address: the first at the configured ports,
/// the others at the ports the first got (any free ones where those are
/// taken and no port was asked for).
async fn bind(config: &Config) -> io::Result<Bound> {
    let Some((&first, others)) = config.addresses.split_first() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "no address to listen on",
        ));
    };
    let tcp = TcpListener::bind((first, config.tcp_port)).await?;
    let udp = UdpSocket::bind((first, config.udp_port)).await?;
    let (first_tcp, first_udp) = (tcp.local_addr()?, udp.local_addr()?);
    let (tcp_port, udp_port) = (first_tcp.port(), first_udp.port());
    let mut sockets = vec![
        (Endpoint::Tcp(first_tcp), Socket::Tcp(tcp)),
        (Endpoint::Udp(first_udp), Socket::Udp(udp)),
    ];
    for &address in others {
        let tcp = match TcpListener::bind((address, tcp_port)).await {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && config.tcp_port == 0 => {
                TcpListener::bind((address, 0)).await?
            }
            other => other?,
        };
        let udp = match UdpSocket::bind((address, udp_port)).await {
            Err(e) if e.kind() == io::ErrorKind::AddrInUse && config.udp_port == 0 => {
                UdpSocket::bind((address, 0)).await?
            }
            other => other?,
        };
        sockets.push((Endpoint::Tcp(tcp.local_addr()?), Socket::Tcp(tcp)));
        sockets.push((Endpoint::Udp(udp.local_addr()?), Socket::Udp(udp)));
    }
    if let Some(path) = &config.unix_socket {
        remove_stale_socket(path)?;
        let listener = UnixListener::bind(path)?;
        sockets.push((Endpoint::Unix(path.clone()), Socket::Unix(listener)));
    }
    Ok(Bound {
        tcp: first_tcp,
        udp: first_udp,
        sockets,
    })
}

/// Removes a socket file an earlier run left at `path`; anything else
/// there is left alone (and binding then fails naming the path).
fn remove_stale_socket(path: &std::path::Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        _ => Ok(()),
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
        let bound = bind(&config).await?;
        let endpoints: Vec<Endpoint> = bound.sockets.iter().map(|(e, _)| e.clone()).collect();
        let tasks: Vec<JoinHandle<io::Result<()>>> = bound
            .sockets
            .into_iter()
            .map(|(_, socket)| {
                let server = server.clone();
                tokio::spawn(async move {
                    match socket {
                        Socket::Tcp(listener) => server.serve_tcp(listener).await,
                        Socket::Udp(socket) => server.serve_udp(socket).await,
                        Socket::Unix(listener) => server.serve_unix(listener).await,
                    }
                })
            })
            .collect();
        let serving = tokio::spawn(async move {
            let mut first_error = Ok(());
            for task in tasks {
                let result = task
                    .await
                    .unwrap_or_else(|join| Err(io::Error::other(join)));
                if first_error.is_ok() {
                    first_error = result;
                }
            }
            first_error
        });
        let registered = match config.rpcbind {
            Some(rpcbind) => match rpcbind::register(rpcbind, &endpoints, config.take_over).await {
                Ok(registered) => Some(registered),
                Err(e) => {
                    server.shutdown();
                    let _ = serving.await;
                    if let Some(path) = &config.unix_socket {
                        let _ = std::fs::remove_file(path);
                    }
                    return Err(Error::Registration(e));
                }
            },
            None => None,
        };
        Ok(NfsServer {
            tcp: bound.tcp,
            udp: bound.udp,
            endpoints,
            server,
            serving,
            registered,
            unix_socket: config.unix_socket,
        })
    }

    /// Every endpoint served: TCP and UDP per address, then the Unix
    /// socket if there is one.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The TCP address served on the first address.
    pub fn tcp_addr(&self) -> SocketAddr {
        self.tcp
    }

    /// The UDP address served on the first address.
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
        if let Some(path) = &self.unix_socket {
            let _ = std::fs::remove_file(path);
        }
        unregistered.and(served)
    }
}
