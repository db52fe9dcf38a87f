//! The async client: one connection carries many calls at once, and a
//! reader task hands each reply to the call with its xid.

// A no_std crate: what the prelude would give is imported by hand.
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::blocking::unspecified_like;
use super::endpoint::{self, Endpoint, PMAP_PORT, Protocol, SourcePort};
use super::error::{RpcError, SharedIoError};
use super::message::CallHeader;
use super::names::ProgramNames;
use super::record::{RecordError, RecordReader};
use super::wire::{
    ClientConfig, DATAGRAM_RECEIVE_BUFFER, check_datagram_call, decode_reply, encode_call, xid_of,
};
use crate::observe::{self, Side};
use crate::{XdrDecode, XdrEncode};

type ReplySender = oneshot::Sender<Result<Vec<u8>, RpcError>>;

/// Calls waiting for their replies, by xid. Once the connection is gone
/// it holds the reason instead, and new calls fail at once with it.
#[derive(Default)]
struct Pending {
    waiting: HashMap<u32, ReplySender>,
    closed: Option<Closed>,
}

/// Why a connection ended: every call waiting then, and every call made
/// after, fails with it.
#[derive(Clone)]
enum Closed {
    /// The server closed the connection.
    ByPeer,
    /// Reading or writing failed.
    Io(SharedIoError),
    /// The server sent a record over the limit.
    Record(RecordError),
}

impl Closed {
    fn error(&self) -> RpcError {
        match self {
            Closed::ByPeer => RpcError::ConnectionClosed,
            Closed::Io(e) => RpcError::Io(e.to_io_error()),
            Closed::Record(e) => RpcError::Record(e.clone()),
        }
    }
}

type PendingMap = Arc<Mutex<Pending>>;

/// The error of a call that found the connection gone.
fn closed_error(pending: &PendingMap) -> RpcError {
    lock(pending)
        .closed
        .as_ref()
        .map_or(RpcError::ConnectionClosed, Closed::error)
}

fn lock(p: &PendingMap) -> std::sync::MutexGuard<'_, Pending> {
    p.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fails every waiting call with `why` and refuses new ones. The first
/// reason stays: a write failing after the read did says nothing new.
fn close_all(pending: &PendingMap, why: Closed) {
    let (waiting, why) = {
        let mut p = lock(pending);
        let why = p.closed.get_or_insert(why).clone();
        (std::mem::take(&mut p.waiting), why)
    };
    for (_, tx) in waiting {
        let _ = tx.send(Err(why.error()));
    }
}

enum Outbound {
    /// Records go to a writer task, which batches what queues up.
    Stream(mpsc::Sender<Vec<u8>>),
    Datagram(Arc<UdpSocket>),
}

struct Shared {
    config: ClientConfig,
    /// The server, as call spans name it (`stream` when the client was
    /// made from a stream).
    peer: Box<str>,
    next_xid: AtomicU32,
    pending: PendingMap,
    outbound: Outbound,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The writer ends when its channel closes; the reader would wait
        // for the peer, so it is stopped here.
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// An async ONC RPC client. Cheap to clone; clones share the connection,
/// and calls from all of them are in flight together. Generated `Client`
/// stubs wrap one; [`call`](Client::call) is the untyped form they use.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

/// Removes a call's entry if the call is dropped or times out.
struct PendingGuard<'a> {
    pending: &'a PendingMap,
    xid: u32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        lock(self.pending).waiting.remove(&self.xid);
    }
}

impl Client {
    /// Connects to `endpoint` over its transport. Over UDP, calls are
    /// retransmitted every [`ClientConfig::retransmit`] until their timeout.
    pub async fn connect(endpoint: Endpoint, config: ClientConfig) -> io::Result<Self> {
        Self::connect_from(endpoint, SourcePort::Any, config).await
    }

    /// [`connect`](Client::connect), with the local socket bound to
    /// `source` first ([`SourcePort::Reserved`]: a port below 1024, as
    /// root; a clear `PermissionDenied` error otherwise). A Unix socket has
    /// no port and ignores it.
    pub async fn connect_from(
        endpoint: Endpoint,
        source: SourcePort,
        config: ClientConfig,
    ) -> io::Result<Self> {
        let peer = endpoint.peer_label().into_boxed_str();
        match endpoint {
            Endpoint::Tcp(addr) => {
                let stream = match source {
                    SourcePort::Any => TcpStream::connect(addr).await?,
                    SourcePort::Reserved => {
                        let socket =
                            endpoint::bind_reserved(unspecified_like(addr).ip(), |local| {
                                let socket = if local.is_ipv4() {
                                    TcpSocket::new_v4()?
                                } else {
                                    TcpSocket::new_v6()?
                                };
                                socket.bind(local)?;
                                Ok(socket)
                            })?;
                        socket.connect(addr).await?
                    }
                };
                stream.set_nodelay(true)?;
                Ok(Self::over_stream(stream, config, peer))
            }
            Endpoint::Udp(addr) => {
                let local = unspecified_like(addr);
                let socket = match source {
                    SourcePort::Any => std::net::UdpSocket::bind(local)?,
                    SourcePort::Reserved => {
                        endpoint::bind_reserved(local.ip(), std::net::UdpSocket::bind)?
                    }
                };
                socket.set_nonblocking(true)?;
                let socket = Arc::new(UdpSocket::from_std(socket)?);
                socket.connect(addr).await?;
                let pending = PendingMap::default();
                let reader =
                    tokio::spawn(read_datagrams(Arc::clone(&socket), Arc::clone(&pending)));
                Ok(Self::new(
                    config,
                    peer,
                    pending,
                    Outbound::Datagram(socket),
                    vec![reader],
                ))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok(Self::over_stream(stream, config, peer))
            }
        }
    }

    /// Asks rpcbind on `host` (port 111, over `protocol`) where `program`
    /// `version` listens, then connects there over `protocol`, as C's
    /// `clnt_create` does. rpcbind is asked with version 4 GETADDR for the
    /// netid of `protocol` in the family of rpcbind's address (`tcp6` when
    /// `host` is `::1`); a port mapper that only speaks version 2 is asked
    /// with GETPORT instead.
    pub async fn connect_rpcbind(
        host: &str,
        protocol: Protocol,
        program: u32,
        version: u32,
        config: ClientConfig,
    ) -> Result<Self, RpcError> {
        Self::connect_rpcbind_from(host, protocol, program, version, SourcePort::Any, config).await
    }

    /// [`connect_rpcbind`](Client::connect_rpcbind), with the connection
    /// to the program bound to `source` (rpcbind itself is asked from any
    /// port).
    pub async fn connect_rpcbind_from(
        host: &str,
        protocol: Protocol,
        program: u32,
        version: u32,
        source: SourcePort,
        config: ClientConfig,
    ) -> Result<Self, RpcError> {
        let addrs = tokio::net::lookup_host((host, PMAP_PORT)).await?;
        let rpcbind = endpoint::rpcbind_address(host, addrs)?;
        let target = Self::look_up(rpcbind, protocol, program, version, &config).await?;
        Ok(Self::connect_from(target, source, config).await?)
    }

    /// Where rpcbind at `rpcbind` says `program` `version` listens over
    /// `protocol`: version 4 GETADDR, else version 2 GETPORT.
    async fn look_up(
        rpcbind: SocketAddr,
        protocol: Protocol,
        program: u32,
        version: u32,
        config: &ClientConfig,
    ) -> Result<Endpoint, RpcError> {
        let client = Self::connect(protocol.endpoint(rpcbind), config.clone()).await?;
        let netid = endpoint::wanted_netid(rpcbind, protocol);
        let answer: Result<crate::XdrString, _> = client
            .call(
                endpoint::PMAP_PROGRAM,
                endpoint::RPCB_VERSION_4,
                endpoint::RPCBPROC_GETADDR,
                &endpoint::getaddr_args(program, version, netid),
            )
            .await;
        match answer {
            Ok(address) => {
                endpoint::getaddr_endpoint(rpcbind, netid, &address, program, version, protocol)
            }
            Err(e) if endpoint::is_old_port_mapper(&e) => {
                let port: u32 = client
                    .call(
                        endpoint::PMAP_PROGRAM,
                        endpoint::PMAP_VERSION,
                        endpoint::PMAPPROC_GETPORT,
                        &endpoint::getport_args(program, version, protocol),
                    )
                    .await?;
                endpoint::registered_endpoint(rpcbind, port, program, version, protocol)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs the RPC protocol over any byte stream (TLS, a pipe, ...), with
    /// record marking.
    pub fn from_stream<S>(stream: S, config: ClientConfig) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        Self::over_stream(stream, config, "stream".into())
    }

    fn over_stream<S>(stream: S, config: ClientConfig, peer: Box<str>) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let pending = PendingMap::default();
        let (tx, rx) = mpsc::channel(1024);
        let reader = tokio::spawn(read_records(read, config.max_record, Arc::clone(&pending)));
        let writer = tokio::spawn(write_records(write, rx, Arc::clone(&pending)));
        Self::new(
            config,
            peer,
            pending,
            Outbound::Stream(tx),
            vec![reader, writer],
        )
    }

    fn new(
        config: ClientConfig,
        peer: Box<str>,
        pending: PendingMap,
        outbound: Outbound,
        tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        Client {
            shared: Arc::new(Shared {
                config,
                peer,
                next_xid: AtomicU32::new(super::client_xid_seed()),
                pending,
                outbound,
                tasks,
            }),
        }
    }

    /// The client's settings.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Calls a procedure and waits for its results, at most
    /// [`ClientConfig::timeout`].
    pub async fn call<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError> {
        self.call_named(&ProgramNames::UNKNOWN, program, version, procedure, args)
            .await
    }

    /// [`call`](Client::call), with the names its span gives the program
    /// and procedure (generated clients pass their version's `NAMES`).
    pub async fn call_named<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        names: &'static ProgramNames,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError> {
        let xid = self.shared.next_xid.fetch_add(1, Ordering::Relaxed);
        let span = observe::onc_rpc_client_call(
            names,
            program,
            version,
            procedure,
            xid,
            &self.shared.peer,
        );
        let header = CallHeader::new(xid, program, version, procedure);
        let result = span.clone().instrument(self.exchange(header, args)).await;
        span.result(&result);
        result
    }

    async fn exchange<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        mut header: CallHeader,
        args: &A,
    ) -> Result<R, RpcError> {
        let shared = &*self.shared;
        let xid = header.xid;
        header.credential.clone_from(&shared.config.credential);
        let is_stream = matches!(shared.outbound, Outbound::Stream(_));
        let message = encode_call(&header, args, is_stream)?;

        let (tx, mut rx) = oneshot::channel();
        {
            let mut p = lock(&shared.pending);
            if let Some(why) = &p.closed {
                return Err(why.error());
            }
            p.waiting.insert(xid, tx);
        }
        let _guard = PendingGuard {
            pending: &shared.pending,
            xid,
        };
        let deadline = Instant::now() + shared.config.timeout;
        let reply = match &shared.outbound {
            Outbound::Stream(records) => {
                records
                    .send(message)
                    .await
                    .map_err(|_| closed_error(&shared.pending))?;
                match tokio::time::timeout_at(deadline, rx).await {
                    Ok(Ok(reply)) => reply?,
                    Ok(Err(_)) => return Err(closed_error(&shared.pending)),
                    Err(_) => return Err(RpcError::Timeout),
                }
            }
            Outbound::Datagram(socket) => loop {
                check_datagram_call(&message)?;
                socket.send(&message).await?;
                let resend_at = (Instant::now() + shared.config.retransmit).min(deadline);
                match tokio::time::timeout_at(resend_at, &mut rx).await {
                    Ok(Ok(reply)) => break reply?,
                    Ok(Err(_)) => return Err(closed_error(&shared.pending)),
                    Err(_) if resend_at >= deadline => return Err(RpcError::Timeout),
                    Err(_) => {}
                }
            },
        };
        decode_reply(&reply, &header, &shared.config.limits)
    }
}

/// Delivers a reply to its call; replies nobody waits for (timed out or
/// unknown xids) are dropped.
fn deliver(pending: &PendingMap, message: Vec<u8>) {
    let Some(xid) = xid_of(&message) else { return };
    let waiter = lock(pending).waiting.remove(&xid);
    if let Some(tx) = waiter {
        let _ = tx.send(Ok(message));
    }
}

/// Fails the call a cut-short datagram answers, rather than decoding it.
fn deliver_truncated(pending: &PendingMap, datagram: &[u8]) {
    let Some(xid) = xid_of(datagram) else { return };
    observe::reply_truncated(Side::OncClient, xid, datagram.len());
    let waiter = lock(pending).waiting.remove(&xid);
    if let Some(tx) = waiter {
        let _ = tx.send(Err(RpcError::ReplyTruncated {
            max: datagram.len(),
        }));
    }
}

async fn read_records<R: AsyncRead>(read: R, max_record: usize, pending: PendingMap) {
    let mut read = std::pin::pin!(read);
    let mut records = RecordReader::new(max_record);
    let why = loop {
        // The reader's own buffer, sized to what is coming: a connection
        // with no reply on the way holds a few hundred bytes.
        match read.read_buf(records.read_buffer()).await {
            Ok(0) => break Closed::ByPeer,
            Ok(_) => {}
            Err(e) => {
                observe::read_failed(Side::OncClient, &"", &e);
                break Closed::Io(SharedIoError::new(e));
            }
        }
        loop {
            match records.next_record() {
                Ok(Some(record)) => deliver(&pending, record),
                Ok(None) => break,
                // The stream cannot be resynchronised after a bad record.
                Err(e) => {
                    observe::bad_framing(Side::OncClient, &"", &e);
                    close_all(&pending, Closed::Record(e));
                    return;
                }
            }
        }
    };
    close_all(&pending, why);
}

async fn write_records<W: AsyncWrite>(write: W, rx: mpsc::Receiver<Vec<u8>>, pending: PendingMap) {
    // Other calls waiting for replies are likely to send again soon.
    let others_in_flight = || lock(&pending).waiting.len() > 1;
    if let Err(e) = super::stream_io::write_batched(write, rx, others_in_flight).await {
        observe::write_failed(Side::OncClient, &"", &e);
        close_all(&pending, Closed::Io(SharedIoError::new(e)));
    }
}

async fn read_datagrams(socket: Arc<UdpSocket>, pending: PendingMap) {
    let mut buf = vec![0; DATAGRAM_RECEIVE_BUFFER];
    let error = loop {
        match socket.recv(&mut buf).await {
            Ok(n) if n == buf.len() => deliver_truncated(&pending, &buf),
            Ok(n) => deliver(&pending, buf[..n].to_vec()),
            // ICMP port unreachable surfaces as ECONNREFUSED on a
            // connected socket; the call's retransmissions go on.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(e) => break e,
        }
    };
    observe::read_failed(Side::OncClient, &"", &error);
    close_all(&pending, Closed::Io(SharedIoError::new(error)));
}
