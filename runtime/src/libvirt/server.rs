//! A libvirt-protocol server: reads packets, answers keepalive pings, runs
//! each call through the [`Dispatch`] registered for its program, and
//! writes replies as they finish. Procedures can send events to their
//! connection through its [`Session`].
//!
//! One task per connection reads, runs calls and writes. A call runs on it
//! until it first waits (so a procedure should not block the thread), and
//! then on a task of its own; with every worker busy it waits for one on
//! its own task. What calls, events and streams send waits in the
//! connection's outbox, which holds nothing while empty, until the
//! connection's task writes it between reads.
//!
//! As libvirtd does, it dispatches nothing but the authentication
//! procedures to a client that has not authenticated under a listener's
//! [`AuthPolicy`], bounds clients (`max_clients`, `max_anonymous_clients`)
//! and each client's calls (`max_client_requests`), and keeps
//! `prio_workers` aside for `@priority: high` procedures, so they run when
//! slow calls hold every one of `max_workers`.

#[cfg(feature = "tls")]
mod dn;
mod outbox;
mod policy;
#[cfg(feature = "sasl")]
mod sasl;

use std::boxed::Box;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{self, Poll, ready};
use std::time::Duration;
use std::vec::Vec;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, mpsc, watch};

use super::error::{RemoteError, error_code, error_domain};
use super::keepalive;
use super::packet::{
    Header, MESSAGE_MAX, MessageType, Packet, PacketError, PacketReader, Status, encode_packet,
    keepalive_packet, raw_packet,
};
use super::stream::{
    self, Arrived, HoleError, Leftover, Outgoing, Queue, QueueRoom, ReadEnd, StreamData, Unsent,
};
use super::{ProcedureInfo, ProtocolNames};
use crate::observe::{self, Side};
use crate::stream_io::{self, Shutdown, StallClock};
use crate::{Limits, XdrDecode, XdrEncode};

#[cfg(feature = "tls")]
pub use dn::{DnError, subject_dn};
use outbox::Outbox;
pub use policy::{AuthPolicy, authentication_required};
use policy::{ClientCounts, ClientSlot};
#[cfg(feature = "sasl")]
pub use sasl::{
    AUTH_FAILED, PasswordFile, PasswordFileError, SaslConfig, SaslUsers, UnknownMechanism,
    authentication_failed,
};

/// Settings of a [`Server`].
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest packet accepted; a bigger length word closes the connection.
    pub max_packet: usize,
    /// Limits for decoding arguments.
    pub limits: Limits,
    /// libvirtd's `max_client_requests`: calls of one client running or
    /// waiting for a worker at once; reading the client waits beyond it.
    /// (libvirtd's default is 5.)
    pub max_client_requests: usize,
    /// libvirtd's `max_workers`: calls running at once over all clients;
    /// more wait for one to finish. (libvirtd's default is 20.)
    pub max_workers: usize,
    /// libvirtd's `prio_workers`: calls of `@priority: high` procedures
    /// that may run beyond `max_workers`, so those (which never block)
    /// still run while slow calls hold every worker. 0: none.
    pub prio_workers: usize,
    /// libvirtd's `max_clients`: clients connected at once over every
    /// listener. A client over it is closed as soon as it is accepted (its
    /// TLS handshake done) and reported; libvirtd instead stops accepting,
    /// which leaves new clients waiting in the listen backlog.
    pub max_clients: usize,
    /// libvirtd's `max_anonymous_clients`: clients connected at once that
    /// have not authenticated (see [`AuthPolicy`]); another anonymous
    /// client is closed and reported, as one over `max_clients` is. 0: no
    /// limit but `max_clients`.
    pub max_anonymous_clients: usize,
    /// How clients authenticate: the policy of every listener, unless
    /// served through [`Server::with_auth`]. libvirtd's default over TCP
    /// is SASL; here it is [`AuthPolicy::None`] until SASL lands.
    pub auth: AuthPolicy,
    /// Connections open at once per listener (`serve_tcp`, `serve_unix`,
    /// `serve_tls`); one more is accepted and closed at once, and
    /// reported. `None`: no limit but the process's descriptors.
    pub max_connections: Option<usize>,
    /// How long a connection may take to send the rest of a packet it has
    /// started (and, over TLS, to finish its handshake); past it the
    /// connection is closed and reported. `None`: no limit.
    pub partial_message_timeout: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_packet: MESSAGE_MAX,
            limits: Limits::default(),
            max_client_requests: 64,
            max_workers: 1024,
            prio_workers: 5,
            max_clients: 5000,
            max_anonymous_clients: 20,
            auth: AuthPolicy::None,
            max_connections: None,
            partial_message_timeout: None,
        }
    }
}

/// One client connection, as procedures see it: they can send it events,
/// and read or settle whether it has authenticated.
#[derive(Clone)]
pub struct Session {
    id: u64,
    shared: Handle,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("client", &self.shared.client)
            .finish_non_exhaustive()
    }
}

/// What a connection's task shares with its sessions and streams, in one
/// allocation.
struct Shared {
    /// What goes out, written by the connection's task.
    outbox: Outbox,
    /// Streams procedures opened, by the opening call's serial.
    streams: Mutex<HashMap<u32, StreamSlot>>,
    /// Its place in the client counts, and whether it has authenticated.
    client: ClientSlot,
}

/// A counted reference to a connection's [`Shared`] state, held by
/// whatever may queue packets on it (sessions, streams): once the last is
/// dropped the connection's task, which writes what they queue even after
/// the client has gone, knows that nothing more will come.
struct Handle(Arc<Shared>);

impl Handle {
    fn new(shared: &Arc<Shared>) -> Handle {
        shared.outbox.add_sender();
        Handle(Arc::clone(shared))
    }
}

impl Clone for Handle {
    fn clone(&self) -> Handle {
        Handle::new(&self.0)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.outbox.remove_sender();
    }
}

impl std::ops::Deref for Handle {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Room for one packet in a connection's outbox, for a stream.
struct Room(Handle);

impl QueueRoom for Room {
    fn send(self, packet: Vec<u8>) {
        self.0.outbox.push(packet);
    }
}

impl Queue for Handle {
    type Room = Room;

    async fn reserve(self) -> Option<Room> {
        self.outbox.reserve().await.then_some(Room(self))
    }
}

#[derive(Debug)]
struct StreamSlot {
    incoming: mpsc::Sender<Packet>,
    /// Set once the opening call's reply is queued: stream data may not
    /// overtake it.
    replied: watch::Sender<bool>,
}

fn lock_streams(
    streams: &Mutex<HashMap<u32, StreamSlot>>,
) -> std::sync::MutexGuard<'_, HashMap<u32, StreamSlot>> {
    streams.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Session {
    /// A number identifying the connection while the server runs.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends an event (a MESSAGE packet) to this connection; false when it
    /// has closed.
    pub async fn send_event<B: XdrEncode + ?Sized>(
        &self,
        program: u32,
        version: u32,
        procedure: i32,
        body: &B,
    ) -> bool {
        let header = Header {
            program,
            version,
            procedure,
            kind: MessageType::Message,
            // libvirtd sends its events with serial 1.
            serial: 1,
            status: Status::Ok,
        };
        match encode_packet(&header, body) {
            Ok(packet) => self.shared.outbox.send(packet).await,
            Err(_) => false,
        }
    }

    /// Whether the connection is still open.
    pub fn is_open(&self) -> bool {
        !self.shared.outbox.is_closed()
    }

    /// Whether the client has authenticated (always, under
    /// [`AuthPolicy::None`]); until then only the authentication
    /// procedures are dispatched to it.
    pub fn is_authenticated(&self) -> bool {
        !self.shared.client.is_anonymous()
    }

    /// Whether the connection is secure as libvirtd counts it (TLS or a
    /// Unix socket, not plain TCP): SASL wants a security layer otherwise,
    /// and allows PLAIN only here.
    pub fn is_secure(&self) -> bool {
        self.shared.client.is_secure()
    }

    /// Who the client is: what [`authenticate`](Session::authenticate)
    /// was given, or else its TLS certificate's subject DN (known whether
    /// or not the certificate authenticated it).
    pub fn identity(&self) -> Option<std::string::String> {
        self.shared.client.identity()
    }

    /// Marks the client authenticated as `identity`: the hook an
    /// authentication exchange a service runs (SASL) calls once it has
    /// succeeded. From then on every procedure is dispatched to it, and it
    /// no longer counts against `max_anonymous_clients`. False if it was
    /// authenticated already (its identity is then left as it was).
    pub fn authenticate(&self, identity: impl Into<std::string::String>) -> bool {
        let identity = identity.into();
        let first = self.shared.client.authenticate(&identity);
        if first {
            observe::libvirt_client_authenticated(&self.peer(), &identity);
        }
        first
    }

    /// How events name the connection.
    fn peer(&self) -> std::string::String {
        std::format!("session {}", self.id)
    }
}

/// What a procedure sees of its call besides the arguments.
#[derive(Debug)]
pub struct Context {
    header: Header,
    session: Session,
    limits: Limits,
}

impl Context {
    /// The procedure number.
    pub fn procedure(&self) -> i32 {
        self.header.procedure
    }
    /// The call's serial.
    pub fn serial(&self) -> u32 {
        self.header.serial
    }
    /// The connection the call came on.
    pub fn session(&self) -> &Session {
        &self.session
    }
    /// The limits arguments are decoded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Opens the stream of a `@readstream`/`@writestream` procedure: its
    /// packets carry this call's serial. Data sent on it waits until the
    /// call's reply has gone out, so the procedure can hand the stream to
    /// a task and return its results.
    pub fn open_stream(&self) -> ServerStream {
        let (incoming, rx) = mpsc::channel(64);
        let (replied, replied_rx) = watch::channel(false);
        lock_streams(&self.session.shared.streams)
            .insert(self.header.serial, StreamSlot { incoming, replied });
        ServerStream {
            outgoing: Outgoing::new(self.header, self.session.shared.clone(), Some(replied_rx)),
            incoming: rx,
            limits: self.limits,
            sparse: false,
            leftover: Leftover::default(),
            to_confirm: None,
            ended: None,
            end_sent: false,
        }
    }
}

/// A procedure's side of a stream (see [`Context::open_stream`]).
///
/// It is an [`AsyncWrite`] to the client (a download: `shutdown` ends the
/// data, waits for the client to finish and confirms) and an
/// [`AsyncRead`] of what the client uploads (the end of the client's data
/// reads as the end of the stream, its finish confirmed), so
/// `tokio::io::copy` works either way. A sparse stream (see
/// [`ServerStream::set_sparse`]) reads its holes as zeros through
/// `AsyncRead` and as [`StreamData::Hole`] through
/// [`ServerStream::recv_chunk`]; [`ServerStream::send_hole`] sends one.
/// Errors through the `AsyncRead`/`AsyncWrite` impls are `io::Error`s
/// whose inner error is a [`StreamError`].
pub struct ServerStream {
    outgoing: Outgoing<Handle>,
    incoming: mpsc::Receiver<Packet>,
    limits: Limits,
    /// Opened with the procedure's sparse flag: holes are allowed.
    sparse: bool,
    /// What a read has started and not handed out yet.
    leftover: Leftover,
    /// The client finished (false) or aborted (true), not yet confirmed.
    to_confirm: Option<bool>,
    /// The client finished (false) or aborted (true), confirmed.
    ended: Option<bool>,
    /// [`ServerStream::finish`] sent the end of the data.
    end_sent: bool,
}

/// Why a stream operation failed on the server side.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The connection is gone.
    Closed,
    /// The client aborted the stream.
    Aborted,
    /// A hole was refused: the client sent one on a stream that is not
    /// sparse, or a malformed one, or one was to be sent on a stream that
    /// is not sparse.
    Hole(HoleError),
    /// A packet for the stream could not be made (data or an error over
    /// libvirt's limits); nothing was sent and the stream stays open.
    Packet(PacketError),
}

impl core::fmt::Display for StreamError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            StreamError::Closed => "the connection is closed",
            StreamError::Aborted => "the client aborted the stream",
            // The inner error is the source: it is not repeated here.
            StreamError::Hole(_) => "stream hole refused",
            StreamError::Packet(_) => "stream packet not sent",
        })
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Hole(e) => Some(e),
            StreamError::Packet(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StreamError> for io::Error {
    fn from(e: StreamError) -> io::Error {
        let kind = match e {
            StreamError::Closed => io::ErrorKind::BrokenPipe,
            StreamError::Aborted => io::ErrorKind::ConnectionAborted,
            StreamError::Hole(_) => io::ErrorKind::InvalidData,
            StreamError::Packet(_) => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

impl ServerStream {
    /// Declares the stream sparse: its procedure was called with its
    /// sparse flag (`VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`,
    /// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`), so holes may come and go.
    /// On any other stream a hole from the client is
    /// [`HoleError::NotSparse`], as libvirtd refuses it, and so is
    /// [`ServerStream::send_hole`].
    pub fn set_sparse(&mut self, sparse: bool) {
        self.sparse = sparse;
    }

    /// Queues `packet` after the opening call's reply.
    async fn put(&mut self, packet: Result<Vec<u8>, PacketError>) -> Result<(), StreamError> {
        let packet = packet.map_err(StreamError::Packet)?;
        if self.outgoing.send(packet).await {
            Ok(())
        } else {
            Err(StreamError::Closed)
        }
    }

    /// Sends data to the client, in packets of libvirt's payload size.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), StreamError> {
        for chunk in data.chunks(super::packet::LEGACY_PAYLOAD_MAX) {
            let packet = self.outgoing.packet(Status::Continue, chunk);
            self.put(packet).await?;
        }
        Ok(())
    }

    /// Sends a hole of `length` zero bytes; only on a sparse stream
    /// ([`ServerStream::set_sparse`]).
    pub async fn send_hole(&mut self, length: u64) -> Result<(), StreamError> {
        if !self.sparse {
            return Err(StreamError::Hole(HoleError::NotSparse));
        }
        let length = i64::try_from(length).map_err(|_| {
            StreamError::Hole(HoleError::Invalid {
                length: i64::MAX,
                flags: 0,
            })
        })?;
        let packet = self.outgoing.hole_packet(length);
        self.put(packet).await
    }

    /// The next data the client sent; `None` once the client finished
    /// (which this confirms). A client abort is confirmed too, and is
    /// [`StreamError::Aborted`]. Holes of a sparse stream come as zeros,
    /// at most libvirt's payload size at a time.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>, StreamError> {
        match self.recv_chunk().await? {
            None => Ok(None),
            Some(StreamData::Data(data)) => Ok(Some(data)),
            Some(StreamData::Hole { length, .. }) => {
                let zeros = u64::try_from(length).unwrap_or(0);
                let now =
                    zeros.min(u64::try_from(super::packet::LEGACY_PAYLOAD_MAX).unwrap_or(u64::MAX));
                self.leftover.keep(Arrived::Hole(zeros - now));
                Ok(Some(std::vec![0; usize::try_from(now).unwrap_or(0)]))
            }
        }
    }

    /// The next piece of data or hole the client sent; `None` once the
    /// client finished (which this confirms). A client abort is confirmed
    /// too, and is [`StreamError::Aborted`].
    ///
    /// The client's finish returns once it is confirmed: store each piece
    /// before asking for the next, so that what the client sent is in
    /// place when its finish returns.
    pub async fn recv_chunk(&mut self) -> Result<Option<StreamData>, StreamError> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Sends the confirmation a finish or abort from the client is owed,
    /// then tells how the client ended, if it has.
    fn poll_confirm(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<bool, StreamError>> {
        if let Some(aborted) = self.to_confirm {
            let Some(permit) = ready!(self.outgoing.poll_room(cx)) else {
                return Poll::Ready(Err(StreamError::Closed));
            };
            let confirmation = self
                .outgoing
                .packet(Status::Ok, &[])
                .map_err(StreamError::Packet)?;
            permit.send(confirmation);
            self.to_confirm = None;
            self.ended = Some(aborted);
        }
        Poll::Ready(match self.ended {
            Some(true) => Err(StreamError::Aborted),
            Some(false) => Ok(true),
            None => Ok(false),
        })
    }

    fn poll_chunk(
        &mut self,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<Option<StreamData>, StreamError>> {
        if let Some(piece) = self.leftover.take() {
            return Poll::Ready(Ok(Some(piece)));
        }
        loop {
            if ready!(self.poll_confirm(cx))? {
                return Poll::Ready(Ok(None));
            }
            let Some(packet) = ready!(self.incoming.poll_recv(cx)) else {
                return Poll::Ready(Err(StreamError::Closed));
            };
            match stream::arrived(packet, self.sparse, &self.limits) {
                Err(e) => return Poll::Ready(Err(StreamError::Hole(e))),
                Ok(Arrived::Data(data)) => return Poll::Ready(Ok(Some(StreamData::Data(data)))),
                Ok(Arrived::Hole(zeros)) if zeros > 0 => {
                    self.leftover.keep(Arrived::Hole(zeros));
                    return Poll::Ready(Ok(self.leftover.take()));
                }
                // Empty packets and holes carry no data.
                Ok(Arrived::Hole(_) | Arrived::EndOfData) => {}
                Ok(Arrived::Finished) => self.to_confirm = Some(false),
                Ok(Arrived::Aborted(_)) => self.to_confirm = Some(true),
            }
        }
    }

    /// Ends the data (an empty CONTINUE packet), waits for the client to
    /// finish or abort, and confirms.
    fn poll_finish(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<(), StreamError>> {
        loop {
            if ready!(self.poll_confirm(cx))? {
                return Poll::Ready(Ok(()));
            }
            if !self.end_sent {
                let Some(permit) = ready!(self.outgoing.poll_room(cx)) else {
                    return Poll::Ready(Err(StreamError::Closed));
                };
                let end = self
                    .outgoing
                    .packet(Status::Continue, &[])
                    .map_err(StreamError::Packet)?;
                permit.send(end);
                self.end_sent = true;
            }
            let Some(packet) = ready!(self.incoming.poll_recv(cx)) else {
                return Poll::Ready(Err(StreamError::Closed));
            };
            match packet.header.status {
                Status::Ok => self.to_confirm = Some(false),
                Status::Error => self.to_confirm = Some(true),
                Status::Continue => {}
            }
        }
    }

    /// Ends the data (an empty CONTINUE packet), waits for the client to
    /// finish or abort, and confirms.
    pub async fn finish(mut self) -> Result<(), StreamError> {
        std::future::poll_fn(|cx| self.poll_finish(cx)).await
    }

    /// Fails the stream with `error`, which the client reports.
    pub async fn abort(mut self, error: &RemoteError) -> Result<(), StreamError> {
        let body = error
            .to_xdr()
            .map_err(|e| StreamError::Packet(PacketError::Encode(e)))?;
        let packet = self.outgoing.packet(Status::Error, &body);
        self.put(packet).await
    }
}

impl ReadEnd for ServerStream {
    type Error = StreamError;

    fn leftover(&mut self) -> &mut Leftover {
        &mut self.leftover
    }

    fn poll_piece(
        &mut self,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<Option<StreamData>, StreamError>> {
        self.poll_chunk(cx)
    }
}

impl AsyncRead for ServerStream {
    /// Fills nothing once the client finished, and that is confirmed.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        stream::poll_read(self.get_mut(), cx, buf).map_err(io::Error::from)
    }
}

impl AsyncWrite for ServerStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // An empty packet would end the data.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if this.ended == Some(true) {
            return Poll::Ready(Err(StreamError::Aborted.into()));
        }
        Poll::Ready(ready!(this.outgoing.poll_data(cx, buf)).map_err(|unsent| {
            io::Error::from(match unsent {
                Unsent::Gone => StreamError::Closed,
                Unsent::Packet(e) => StreamError::Packet(e),
            })
        }))
    }

    /// Packets are queued for the connection's task, which writes them as
    /// soon as it can: nothing to flush here.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Ends the data, waits for the client to finish and confirms
    /// ([`ServerStream::finish`]).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_finish(cx).map_err(io::Error::from)
    }
}

impl Drop for ServerStream {
    fn drop(&mut self) {
        lock_streams(&self.outgoing.queue().streams).remove(&self.outgoing.header().serial);
    }
}

/// The future a [`Dispatch`] returns: the encoded results or an error for
/// the caller.
pub type DispatchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<u8>, RemoteError>> + Send + 'a>>;

/// One libvirt program a server answers. Generated `Dispatcher`s implement
/// it over the generated `Service` traits.
pub trait Dispatch: Send + Sync + 'static {
    /// The program number.
    fn program(&self) -> u32;
    /// The version.
    fn version(&self) -> u32;
    /// Decodes `args` for the context's procedure, runs it, encodes its
    /// results.
    fn dispatch<'a>(&'a self, cx: &'a Context, args: &'a [u8]) -> DispatchFuture<'a>;
    /// Called when a connection closes (to drop its event registrations).
    fn disconnected(&self, session: &Session) {
        let _ = session;
    }
    /// The protocol's and procedures' names, for call spans and events
    /// (generated dispatchers return their protocol's `NAMES`).
    fn names(&self) -> &'static ProtocolNames {
        &ProtocolNames::UNKNOWN
    }
}

/// Encodes a procedure's results. Generated dispatchers call this.
pub fn encode_ret<T: XdrEncode + ?Sized>(ret: &T) -> Result<Vec<u8>, RemoteError> {
    ret.to_xdr().map_err(|e| {
        RemoteError::new(
            error_code::INTERNAL_ERROR,
            error_domain::RPC,
            std::format!("cannot encode the results: {e}"),
        )
    })
}

/// Decodes a call's arguments, all of them.
pub fn decode_args<T: XdrDecode>(args: &[u8], cx: &Context) -> Result<T, RemoteError> {
    T::from_xdr_with(args, &cx.limits).map_err(|e| {
        observe::arguments_do_not_decode(
            Side::LibvirtServer,
            cx.serial(),
            cx.header.program,
            i64::from(cx.procedure()),
            &e,
        );
        RemoteError::new(
            error_code::RPC,
            error_domain::RPC,
            std::format!("cannot decode the arguments: {e}"),
        )
    })
}

/// Collects the programs a [`Server`] answers.
pub struct ServerBuilder {
    config: ServerConfig,
    services: HashMap<u32, Arc<dyn Dispatch>>,
}

impl ServerBuilder {
    /// Answers `service`'s program (replacing an earlier one).
    #[must_use]
    pub fn service(mut self, service: impl Dispatch) -> Self {
        self.services.insert(service.program(), Arc::new(service));
        self
    }

    /// The server.
    pub fn build(self) -> Server {
        let config = self.config;
        Server {
            auth: Arc::new(config.auth.clone()),
            inner: Arc::new(Inner {
                workers: Arc::new(Semaphore::new(config.max_workers.max(1))),
                prio_workers: Arc::new(Semaphore::new(config.prio_workers)),
                clients: ClientCounts::new(config.max_clients, config.max_anonymous_clients),
                config,
                services: self.services,
                shutdown: Shutdown::new(),
                sessions: AtomicU64::new(1),
            }),
        }
    }
}

struct Inner {
    config: ServerConfig,
    services: HashMap<u32, Arc<dyn Dispatch>>,
    /// `max_workers` permits: one per running call.
    workers: Arc<Semaphore>,
    /// `prio_workers` permits, for high-priority calls when no worker is free.
    prio_workers: Arc<Semaphore>,
    clients: Arc<ClientCounts>,
    shutdown: Shutdown,
    sessions: AtomicU64,
}

/// A libvirt-protocol server. Clones share everything, and so does a
/// handle from [`with_auth`](Server::with_auth) but its policy.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
    /// How clients served through this handle authenticate.
    auth: Arc<AuthPolicy>,
}

impl Server {
    /// Starts collecting the programs the server answers.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            services: HashMap::new(),
        }
    }

    /// Stops accepting and reading; calls in progress finish and their
    /// replies are written, then the `serve_*` futures return.
    pub fn shutdown(&self) {
        self.inner.shutdown.begin();
    }

    /// The server's settings.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The same server (programs, limits, client counts, shutdown) with
    /// another authentication policy for the listeners and connections
    /// served through the handle it returns: a policy per listener, as
    /// libvirtd's `auth_unix_rw`, `auth_tcp` and `auth_tls`.
    #[must_use]
    pub fn with_auth(&self, auth: AuthPolicy) -> Server {
        Server {
            inner: Arc::clone(&self.inner),
            auth: Arc::new(auth),
        }
    }

    /// How clients served through this handle authenticate.
    pub fn auth(&self) -> &AuthPolicy {
        &self.auth
    }

    pub(super) fn stopping(&self) -> impl Future<Output = ()> + Send + 'static {
        self.inner.shutdown.begun()
    }

    /// Serves TCP connections until shutdown.
    pub async fn serve_tcp(&self, listener: TcpListener) -> io::Result<()> {
        let accept = || listener.accept();
        let max = self.inner.config.max_connections;
        stream_io::accept_until(accept, self.stopping(), max, |(stream, _)| {
            let _ = TcpStream::set_nodelay(&stream, true);
            let server = self.clone();
            async move { server.serve_connection(stream).await }
        })
        .await;
        Ok(())
    }

    /// Serves connections from a Unix socket until shutdown.
    #[cfg(unix)]
    pub async fn serve_unix(&self, listener: tokio::net::UnixListener) -> io::Result<()> {
        let accept = || listener.accept();
        let max = self.inner.config.max_connections;
        stream_io::accept_until(accept, self.stopping(), max, |(stream, _)| {
            let server = self.clone();
            // A Unix socket is secure, as in libvirtd.
            async move { server.serve_client(stream, None, true).await }
        })
        .await;
        Ok(())
    }

    /// Serves one connection until it closes, breaks the framing, or the
    /// server shuts down. Its client authenticates under this handle's
    /// policy; over `max_clients` or `max_anonymous_clients` it is closed
    /// at once.
    pub async fn serve_connection<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        self.serve_client(stream, None, false).await;
    }

    /// Serves a TLS connection whose handshake is done: a client
    /// certificate whose subject DN the policy allows authenticates it.
    #[cfg(feature = "tls")]
    pub(super) async fn serve_tls_connection(
        &self,
        stream: tokio_rustls::server::TlsStream<TcpStream>,
    ) {
        let certificate = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first());
        let subject = match certificate.map(|c| subject_dn(c)) {
            Some(Ok(dn)) => Some(dn),
            Some(Err(error)) => {
                let peer = stream.get_ref().0.peer_addr().map_or_else(
                    |e| std::format!("unknown address ({e})"),
                    |a| std::format!("{a}"),
                );
                observe::libvirt_certificate_subject_unreadable(&peer, &error);
                None
            }
            None => None,
        };
        self.serve_client(stream, subject, true).await;
    }

    /// Serves one client; `subject` is its TLS certificate's DN, `secure`
    /// whether the connection is TLS or a Unix socket.
    async fn serve_client<S>(&self, stream: S, subject: Option<std::string::String>, secure: bool)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let config = &self.inner.config;
        let id = self.inner.sessions.fetch_add(1, Ordering::Relaxed);
        let peer = std::format!("session {id}");
        let by_certificate = subject.as_deref().is_some_and(|dn| self.auth.allows_dn(dn));
        let anonymous = self.auth.requires_auth() && !by_certificate;
        let Ok(client) = self.inner.clients.admit(anonymous, subject, secure, &peer) else {
            // Closed at once, with an orderly shutdown (TLS's close_notify),
            // so the client sees the end of the stream.
            let mut stream = std::pin::pin!(stream);
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
            return;
        };
        if self.auth.requires_auth() && by_certificate {
            if let Some(dn) = client.identity() {
                observe::libvirt_client_authenticated(&peer, &dn);
            }
        }
        // One task reads, starts calls and writes between reads: a writer
        // task of its own and the split of the stream cost every idle
        // connection about 0.3 KiB, a sixth of what it holds.
        let mut stream = std::pin::pin!(stream);
        let shared = Arc::new(Shared {
            outbox: Outbox::default(),
            streams: Mutex::default(),
            client,
        });
        let session = Session {
            id,
            shared: Handle::new(&shared),
        };
        let slots = config.max_client_requests.max(1);
        let in_flight = Arc::new(Semaphore::new(slots));
        let mut packets = PacketReader::new(config.max_packet);
        let mut stall = StallClock::new(config.partial_message_timeout);
        let mut writer = Writer {
            peer: &peer,
            outbox: &shared.outbox,
            broken: false,
        };
        let stop = self.stopping();
        let mut stop = std::pin::pin!(stop);
        // The reader holds no buffer: the next read goes through the stack.
        let mut reader_empty = true;
        'connection: loop {
            // The deadline of a packet under way. Boxed, and only while one
            // is: a timer held inline would make every idle connection's
            // task larger.
            let mut overdue = packets.is_mid_packet().then(|| Box::pin(stall.overdue()));
            let filled = tokio::select! {
                read = std::future::poll_fn(|cx| {
                    poll_read_packets(stream.as_mut(), &mut packets, reader_empty, cx)
                }) => match read {
                    Ok(Read { bytes: 0, .. }) => break,
                    Ok(read) => {
                        reader_empty = false;
                        read.filled
                    }
                    Err(error) => {
                        observe::read_failed(Side::LibvirtServer, &peer, &error);
                        break;
                    }
                },
                Some(queued) = writer.next() => {
                    writer.write(&mut stream, queued).await;
                    continue;
                }
                () = std::future::poll_fn(|cx| {
                    overdue.as_mut().map_or(Poll::Pending, |overdue| overdue.as_mut().poll(cx))
                }) => {
                    observe::stalled(Side::LibvirtServer, &peer, stall.timeout());
                    break;
                }
                () = &mut stop => break,
            };
            drop(overdue);
            let mut finished_one = false;
            loop {
                // The replies this read's calls made so far go out once
                // they fill a batch: a read of many small calls with large
                // replies would queue them all otherwise, and a client
                // that does not read holds this task here, not memory.
                if shared.outbox.is_full()
                    && let Some(queued) = shared.outbox.try_take()
                {
                    writer.write(&mut stream, queued).await;
                }
                match packets.next_packet() {
                    Ok(Some(packet)) => {
                        finished_one = true;
                        let slot = match Arc::clone(&in_flight).try_acquire_owned() {
                            Ok(slot) => slot,
                            Err(TryAcquireError::NoPermits) => {
                                // Boxed: held inline, the rare wait would
                                // make every idle connection's task larger.
                                let slot = Box::pin(Arc::clone(&in_flight).acquire_owned());
                                let Ok(slot) = writer.write_while(&mut stream, slot).await else {
                                    break 'connection;
                                };
                                slot
                            }
                            Err(TryAcquireError::Closed) => break 'connection,
                        };
                        if let Some(sink) = stream_sink(&session, &packet) {
                            // Boxed: held inline, the send would make
                            // every idle connection's task larger.
                            let send = Box::pin(sink.send(packet));
                            let _ = writer.write_while(&mut stream, send).await;
                        } else {
                            self.handle(packet, &session, slot);
                        }
                    }
                    Ok(None) => break,
                    // One bad header: that packet is skipped.
                    Err(error @ (PacketError::UnknownType(_) | PacketError::UnknownStatus(_))) => {
                        finished_one = true;
                        observe::libvirt_bad_header(Side::LibvirtServer, &peer, &error);
                    }
                    // A bad length word: the stream cannot be trusted.
                    Err(error) => {
                        observe::bad_framing(Side::LibvirtServer, &peer, &error);
                        break 'connection;
                    }
                }
            }
            // Replies this task made itself (pongs, refusals) and those of
            // calls that finished meanwhile go out after the read that
            // asked for them.
            if let Some(queued) = shared.outbox.try_take() {
                writer.write(&mut stream, queued).await;
            }
            stall.update(packets.is_mid_packet(), finished_one);
            // Between packets, and no more data waiting: the buffer goes,
            // so an idle connection holds none.
            if !packets.is_mid_packet() && !filled {
                packets = PacketReader::new(config.max_packet);
                reader_empty = true;
            }
        }
        // The client is gone: end its streams, so procedures sending or
        // awaiting one (often from tasks of their own, holding a Session)
        // get `StreamError::Closed` rather than waiting forever, which
        // kept this connection and its tasks alive (found by the
        // `libvirt_server_dispatch` fuzz target). Again after the calls
        // still running finish, for streams they opened meanwhile; their
        // replies still go out.
        lock_streams(&shared.streams).clear();
        let all_slots = in_flight.acquire_many(u32::try_from(slots).unwrap_or(u32::MAX));
        // Boxed: held inline, the rare wait would make every idle
        // connection's task larger.
        let _ = writer.write_while(&mut stream, Box::pin(all_slots)).await;
        lock_streams(&shared.streams).clear();
        for service in self.inner.services.values() {
            service.disconnected(&session);
        }
        drop(session);
        // What tasks still holding a Session send goes out until the last
        // of them is gone.
        while let Some(queued) = writer.next().await {
            writer.write(&mut stream, queued).await;
        }
        if !writer.broken {
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut stream).await;
        }
        shared.outbox.close();
    }

    /// Answers `packet` at once, queueing the answer for the connection's
    /// task to write, or starts its call in a task of its own that replies
    /// through the session.
    fn handle(&self, packet: Packet, session: &Session, slot: OwnedSemaphorePermit) {
        let h = packet.header;
        match h.kind {
            MessageType::Message if h.program == keepalive::PROGRAM => {
                if h.procedure == keepalive::PING {
                    if let Ok(pong) = keepalive_packet(keepalive::PONG) {
                        session.shared.outbox.push(pong);
                    }
                }
                return;
            }
            MessageType::Call => {}
            MessageType::CallWithFds => {
                let e = RemoteError::new(
                    error_code::RPC,
                    error_domain::RPC,
                    "passing file descriptors is not supported",
                );
                queue_reply(session, h, Err(e));
                return;
            }
            // Replies, events and stream data for streams this server did
            // not open: nothing to do.
            _ => return,
        }
        let peer = session.peer();
        // Under a SASL policy the server runs the exchange itself.
        #[cfg(feature = "sasl")]
        if let AuthPolicy::Sasl { sasl, .. } = &*self.auth {
            if policy::allowed_before_auth(h.program, h.procedure) {
                let limits = self.inner.config.limits;
                if let Some(result) =
                    sasl::dispatch(sasl, session, h.procedure, &packet.body, &limits)
                {
                    queue_reply(session, h, result);
                    return;
                }
            }
        }
        let Some(service) = self.inner.services.get(&h.program).cloned() else {
            observe::unknown_program(
                Side::LibvirtServer,
                &peer,
                h.serial,
                h.program,
                h.version,
                None,
            );
            let e = RemoteError::new(
                error_code::RPC,
                error_domain::RPC,
                std::format!("cannot find program {} version {}", h.program, h.version),
            );
            queue_reply(session, h, Err(e));
            return;
        };
        if h.version != service.version() {
            let served = Some((service.version(), service.version()));
            observe::unknown_program(
                Side::LibvirtServer,
                &peer,
                h.serial,
                h.program,
                h.version,
                served,
            );
            let e = RemoteError::new(
                error_code::RPC,
                error_domain::RPC,
                std::format!(
                    "program {} has version {}, not {}",
                    h.program,
                    service.version(),
                    h.version
                ),
            );
            queue_reply(session, h, Err(e));
            return;
        }
        let names = service.names();
        let info = procedure_info(names, h.procedure);
        if !session.is_authenticated() && needs_auth(names, info, &h) {
            observe::libvirt_call_needs_auth(&peer, h.serial, h.program, h.procedure);
            queue_reply(session, h, Err(authentication_required()));
            return;
        }
        let workers = Arc::clone(&self.inner.workers);
        let prio_workers = info
            .is_some_and(|p| p.high_priority)
            .then(|| Arc::clone(&self.inner.prio_workers));
        let cx = Context {
            header: h,
            session: session.clone(),
            limits: self.inner.config.limits,
        };
        let procedure_name = info.map(|p| p.name);
        let span = observe::libvirt_call(
            "server",
            names.program,
            h.program,
            h.version,
            procedure_name,
            h.procedure,
            h.serial,
            session.id,
        );
        let in_span = span.clone();
        let call = async move {
            let result = service.dispatch(&cx, &packet.body).await;
            match &result {
                Ok(_) => span.libvirt_status(true, &"ok"),
                Err(e) => {
                    span.libvirt_status(false, e);
                    if procedure_name.is_none() && !names.procedures.is_empty() {
                        observe::unknown_procedure(
                            Side::LibvirtServer,
                            &peer,
                            h.serial,
                            h.program,
                            i64::from(h.procedure),
                        );
                    }
                }
            }
            result
        };
        let Ok(worker) = Arc::clone(&workers).try_acquire_owned() else {
            // Every worker busy: the call waits for one in a task of its
            // own (a priority worker, for a high-priority procedure).
            let session = session.clone();
            tokio::spawn(in_span.instrument(async move {
                let worker = worker_permit(workers, prio_workers).await;
                finish_call(call, (slot, worker), session, h).await;
            }));
            return;
        };
        // Most procedures finish without waiting for anything: run them
        // here, so no task is spawned for them (nor another worker woken
        // to run it) and their replies go out with the read's other
        // answers. A call still pending goes on in a task of its own,
        // which polls it again with a real waker and sends the reply.
        let mut call = Box::pin(in_span.instrument(call));
        let mut first_poll = task::Context::from_waker(task::Waker::noop());
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            call.as_mut().poll(&mut first_poll)
        }));
        match polled {
            Ok(Poll::Ready(result)) => {
                drop((slot, worker));
                queue_reply(session, h, result);
            }
            Ok(Poll::Pending) => {
                let session = session.clone();
                tokio::spawn(finish_call(call, (slot, Some(worker)), session, h));
            }
            Err(_) => {
                observe::procedure_panicked(Side::LibvirtServer, h.serial);
                drop(call);
                drop((slot, worker));
                queue_reply(session, h, Err(procedure_failed()));
            }
        }
    }
}

/// Runs a call to its end and sends its reply, holding its call slot and
/// worker until then; a panic is answered with an internal error.
async fn finish_call(
    call: impl Future<Output = Result<Vec<u8>, RemoteError>>,
    slots: (OwnedSemaphorePermit, Option<OwnedSemaphorePermit>),
    session: Session,
    header: Header,
) {
    let _slots = slots;
    let mut guard = PanicGuard {
        session: Some(session),
        header,
    };
    let result = call.await;
    if let Some(session) = guard.session.take() {
        send_reply(&session, header, result).await;
    }
}

/// The error a procedure that panicked is answered with.
fn procedure_failed() -> RemoteError {
    RemoteError::new(
        error_code::INTERNAL_ERROR,
        error_domain::RPC,
        "the procedure failed",
    )
}

/// A procedure's entry in its protocol's table.
fn procedure_info(names: &ProtocolNames, number: i32) -> Option<&'static ProcedureInfo> {
    let procedures = names.procedures;
    procedures
        .binary_search_by_key(&number, |p| p.number)
        .ok()
        .map(|i| &procedures[i])
}

/// Whether a call needs an authenticated client. As in libvirtd, where the
/// check follows the procedure lookup, a number the protocol's table lacks
/// (or has as an event) is left to the dispatcher, which answers "unknown
/// procedure"; without a table every procedure but the authentication
/// ones needs it.
fn needs_auth(names: &ProtocolNames, info: Option<&ProcedureInfo>, call: &Header) -> bool {
    if policy::allowed_before_auth(call.program, call.procedure) {
        return false;
    }
    match info {
        Some(info) => !info.event,
        None => names.procedures.is_empty(),
    }
}

/// A worker for a call: one of `max_workers`, or for a high-priority call
/// (`prio_workers` given) whichever of those or the priority workers frees
/// first, as libvirtd's priority workers take only high-priority jobs.
/// `None` only if a semaphore were closed, which the server never does.
async fn worker_permit(
    workers: Arc<Semaphore>,
    prio_workers: Option<Arc<Semaphore>>,
) -> Option<OwnedSemaphorePermit> {
    let Some(prio_workers) = prio_workers else {
        return workers.acquire_owned().await.ok();
    };
    if let Ok(worker) = Arc::clone(&workers).try_acquire_owned() {
        return Some(worker);
    }
    tokio::select! {
        biased;
        worker = workers.acquire_owned() => worker.ok(),
        worker = prio_workers.acquire_owned() => worker.ok(),
    }
}

/// What one read brought.
struct Read {
    /// Bytes read; 0: the client closed the connection.
    bytes: usize,
    /// The read filled all the room it was given: more is likely waiting.
    filled: bool,
}

/// Reads what the client sent into `packets`. A reader holding no buffer
/// (`reader_empty`) reads through one on the stack, so a connection
/// waiting for its next packet holds no read buffer at all; a packet under
/// way, or data that keeps coming, is read straight into the reader's
/// buffer, sized to what is coming.
fn poll_read_packets<S: AsyncRead + ?Sized>(
    mut stream: Pin<&mut S>,
    packets: &mut PacketReader,
    reader_empty: bool,
    cx: &mut task::Context<'_>,
) -> Poll<io::Result<Read>> {
    if reader_empty {
        let mut room = [std::mem::MaybeUninit::<u8>::uninit(); stream_io::IDLE_READ];
        let mut buf = ReadBuf::uninit(&mut room);
        ready!(stream.as_mut().poll_read(cx, &mut buf))?;
        let bytes = buf.filled().len();
        packets.push(buf.filled());
        return Poll::Ready(Ok(Read {
            bytes,
            filled: bytes == stream_io::IDLE_READ,
        }));
    }
    let buf = packets.read_buffer();
    let room = buf.capacity() - buf.len();
    let read = stream.read_buf(buf);
    let bytes = ready!(std::pin::pin!(read).poll(cx))?;
    Poll::Ready(Ok(Read {
        bytes,
        filled: bytes == room,
    }))
}

/// Where data for a stream goes: the sink of the stream its serial opened.
/// None for other packets, and for data of a stream nobody opened, which
/// is dropped, as libvirtd does.
fn stream_sink(session: &Session, packet: &Packet) -> Option<mpsc::Sender<Packet>> {
    match packet.header.kind {
        MessageType::Stream | MessageType::StreamHole => lock_streams(&session.shared.streams)
            .get(&packet.header.serial)
            .map(|slot| slot.incoming.clone()),
        _ => None,
    }
}

/// The write side of a connection, run by its task between reads.
struct Writer<'a> {
    peer: &'a str,
    outbox: &'a Outbox,
    /// A write failed: the client is gone, and what is queued is dropped.
    broken: bool,
}

impl Writer<'_> {
    /// What the connection's tasks queued, once there is some; `None`
    /// once nothing more will come.
    async fn next(&self) -> Option<Vec<u8>> {
        std::future::poll_fn(|cx| self.outbox.poll_take(cx)).await
    }

    /// Writes `queued`. What is queued meanwhile waits for the next turn,
    /// so a busy stream does not keep the task from reading.
    async fn write<S: AsyncWrite>(&mut self, stream: &mut Pin<&mut S>, queued: Vec<u8>) {
        if self.broken {
            return;
        }
        // A TLS stream may keep the tail of what it took (its socket was
        // full) until flushed: flush, or the tail waits for the next write.
        let written = async {
            tokio::io::AsyncWriteExt::write_all(stream, &queued).await?;
            tokio::io::AsyncWriteExt::flush(stream).await
        };
        if let Err(error) = written.await {
            observe::write_failed(Side::LibvirtServer, &self.peer, &error);
            self.broken = true;
            // Senders now see the connection closed.
            self.outbox.close();
        }
    }

    /// Waits for `wait`, writing what the connection's tasks queue
    /// meanwhile: they may need room in the queue before `wait` can end.
    async fn write_while<S: AsyncWrite, T>(
        &mut self,
        stream: &mut Pin<&mut S>,
        wait: impl Future<Output = T>,
    ) -> T {
        let mut wait = std::pin::pin!(wait);
        loop {
            tokio::select! {
                biased;
                value = &mut wait => return value,
                Some(queued) = self.next() => self.write(stream, queued).await,
            }
        }
    }
}

/// Queues the reply to `call` for the connection's task to write.
fn queue_reply(session: &Session, call: Header, result: Result<Vec<u8>, RemoteError>) {
    let failed = result.is_err();
    if let Some(packet) = reply_packet(call, result) {
        session.shared.outbox.push(packet);
    }
    settle_stream(session, call.serial, failed);
}

async fn send_reply(session: &Session, call: Header, result: Result<Vec<u8>, RemoteError>) {
    let failed = result.is_err();
    if let Some(packet) = reply_packet(call, result) {
        session.shared.outbox.send(packet).await;
    }
    settle_stream(session, call.serial, failed);
}

/// After the reply to `serial` is queued: a failed call opens no stream,
/// and the data of a stream it opened may now follow the reply.
fn settle_stream(session: &Session, serial: u32, failed: bool) {
    let mut streams = lock_streams(&session.shared.streams);
    if failed {
        // A failed call opens no stream.
        streams.remove(&serial);
    } else if let Some(slot) = streams.get(&serial) {
        slot.replied.send_replace(true);
    }
}

fn reply_packet(call: Header, result: Result<Vec<u8>, RemoteError>) -> Option<Vec<u8>> {
    let (status, body) = match result {
        Ok(body) => (Status::Ok, body),
        Err(e) => (Status::Error, e.to_xdr().ok()?),
    };
    let header = Header {
        kind: MessageType::Reply,
        status,
        ..call
    };
    match raw_packet(&header, &body) {
        Ok(packet) => Some(packet),
        // Results too big for a packet: tell the caller so.
        Err(_) => {
            observe::reply_too_large(Side::LibvirtServer, call.serial, body.len());
            let e = RemoteError::new(
                error_code::RPC,
                error_domain::RPC,
                "the reply is larger than a libvirt message",
            );
            encode_packet(
                &Header {
                    status: Status::Error,
                    ..header
                },
                &e,
            )
            .ok()
        }
    }
}

/// Answers with an internal error if a procedure panics.
struct PanicGuard {
    session: Option<Session>,
    header: Header,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        observe::procedure_panicked(Side::LibvirtServer, self.header.serial);
        if let Some(packet) = reply_packet(self.header, Err(procedure_failed())) {
            session.shared.outbox.push(packet);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::boxed::Box;
    use std::future::Future;
    use std::time::Duration;
    use std::vec::Vec;

    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::task::JoinHandle;

    use super::{
        Context, Dispatch, DispatchFuture, Server, ServerConfig, ServerStream, StreamError,
    };
    use crate::libvirt::{
        MESSAGE_MAX, MessageType, PacketError, PacketReader, RemoteError, STRING_MAX,
    };

    /// A stream procedure as the example daemon's are: it replies at once
    /// and `F` works the stream from a task of its own.
    struct Streaming<F>(F);

    impl<F, W> Dispatch for Streaming<F>
    where
        F: Fn(ServerStream) -> W + Send + Sync + 'static,
        W: Future<Output = ()> + Send + 'static,
    {
        fn program(&self) -> u32 {
            0x2000_8086
        }

        fn version(&self) -> u32 {
            1
        }

        fn dispatch<'a>(&'a self, cx: &'a Context, _args: &'a [u8]) -> DispatchFuture<'a> {
            tokio::spawn((self.0)(cx.open_stream()));
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    /// A CALL of REMOTE's `procedure` with serial 1 and no arguments.
    fn call(procedure: u8) -> [u8; 28] {
        #[rustfmt::skip]
        let call = [
            0, 0, 0, 28,         // length
            0x20, 0, 0x80, 0x86, // program REMOTE
            0, 0, 0, 1,          // version
            0, 0, 0, procedure,  // procedure
            0, 0, 0, 0,          // CALL
            0, 0, 0, 1,          // serial
            0, 0, 0, 0,          // OK
        ];
        call
    }

    /// Serves `service` on one end of an in-memory pipe, and returns the
    /// other end with the serving task.
    fn serve(service: impl Dispatch) -> (DuplexStream, JoinHandle<()>) {
        let server = Server::builder(ServerConfig::default())
            .service(service)
            .build();
        let (client, theirs) = tokio::io::duplex(4096);
        let serving = tokio::spawn(async move { server.serve_connection(theirs).await });
        (client, serving)
    }

    /// Hangs up, and returns what the server sent once it closed the
    /// connection and stopped serving. Bounded, so that a regression fails
    /// instead of hanging.
    async fn hang_up(mut client: DuplexStream, serving: JoinHandle<()>) -> Vec<u8> {
        client.shutdown().await.unwrap();
        let mut sent = Vec::new();
        tokio::time::timeout(Duration::from_secs(60), client.read_to_end(&mut sent))
            .await
            .expect("the server closes the connection")
            .unwrap();
        serving.await.unwrap();
        sent
    }

    /// A packet that cannot be made (an abort whose error message is over
    /// libvirt's string bound) is reported as such, with its cause, not as
    /// a closed connection.
    #[tokio::test]
    async fn a_packet_that_cannot_be_made_is_not_reported_as_closed() {
        let (report, mut reports) = tokio::sync::mpsc::channel(1);
        let (mut client, serving) = serve(Streaming(move |stream: ServerStream| {
            let report = report.clone();
            async move {
                let long = "x".repeat(STRING_MAX as usize + 1);
                let error = RemoteError::new(1, 7, long);
                let _ = report.send(stream.abort(&error).await).await;
            }
        }));
        client.write_all(&call(209)).await.unwrap();
        let result = tokio::time::timeout(Duration::from_secs(60), reports.recv())
            .await
            .expect("the procedure reports its abort")
            .unwrap();
        let Err(error @ StreamError::Packet(PacketError::Encode(_))) = result else {
            panic!("expected an encoding failure, got {result:?}");
        };
        assert!(std::error::Error::source(&error).is_some());
        assert_eq!(
            std::io::Error::from(error).kind(),
            std::io::ErrorKind::InvalidInput
        );
        hang_up(client, serving).await;
    }

    /// A client that calls a read-stream procedure (the data goes out after
    /// the reply, and the procedure then waits for the client to finish the
    /// stream) and hangs up without finishing it (the fuzz target's input,
    /// reduced): the connection used to stay open forever.
    #[tokio::test]
    async fn a_client_gone_mid_stream_ends_the_connection() {
        let (mut client, serving) = serve(Streaming(|mut stream: ServerStream| async move {
            if stream.send(b"data").await.is_ok() {
                let _ = stream.finish().await;
            }
        }));
        client.write_all(&call(211)).await.unwrap();
        let sent = hang_up(client, serving).await;
        let mut packets = PacketReader::new(MESSAGE_MAX);
        packets.push(&sent);
        let reply = packets.next_packet().unwrap().unwrap();
        assert_eq!(
            (reply.header.kind, reply.header.serial),
            (MessageType::Reply, 1)
        );
    }

    /// Procedures that panic: 1 at once (on the connection's task, in the
    /// call's first poll), 2 after a wait (on the call's own task); 3
    /// answers after a wait, 4 at once.
    struct Panicky;

    impl Dispatch for Panicky {
        fn program(&self) -> u32 {
            0x2000_8086
        }

        fn version(&self) -> u32 {
            1
        }

        fn dispatch<'a>(&'a self, cx: &'a Context, _args: &'a [u8]) -> DispatchFuture<'a> {
            let procedure = cx.procedure();
            Box::pin(async move {
                if procedure == 2 || procedure == 3 {
                    tokio::task::yield_now().await;
                }
                match procedure {
                    1 | 2 => panic!("procedure {procedure} panics, as the test wants"),
                    _ => Ok(std::vec![0, 0, 0, 7]),
                }
            })
        }
    }

    /// The next packet the server sends; bounded, so a regression fails
    /// instead of hanging.
    async fn next_reply(
        client: &mut DuplexStream,
        packets: &mut PacketReader,
    ) -> crate::libvirt::Packet {
        loop {
            if let Some(packet) = packets.next_packet().unwrap() {
                return packet;
            }
            let mut buf = [0; 512];
            let n = tokio::time::timeout(Duration::from_secs(60), client.read(&mut buf))
                .await
                .expect("the server replies")
                .unwrap();
            assert!(n > 0, "the server closed the connection");
            packets.push(&buf[..n]);
        }
    }

    /// A call that panics, whether in its first poll on the connection's
    /// task or later on its own, is answered with an internal error, and
    /// the connection goes on serving.
    #[tokio::test]
    async fn a_panicking_procedure_is_answered_and_the_connection_serves_on() {
        let (mut client, serving) = serve(Panicky);
        let mut packets = PacketReader::new(MESSAGE_MAX);
        for (procedure, failed) in [(1, true), (3, false), (2, true), (4, false)] {
            client.write_all(&call(procedure)).await.unwrap();
            let reply = next_reply(&mut client, &mut packets).await;
            assert_eq!(reply.header.kind, MessageType::Reply);
            if failed {
                assert_eq!(reply.header.status, crate::libvirt::Status::Error);
                let error = <RemoteError as crate::XdrDecode>::from_xdr(&reply.body).unwrap();
                assert_eq!(error, super::procedure_failed(), "procedure {procedure}");
            } else {
                assert_eq!(
                    (reply.header.status, reply.body.as_slice()),
                    (crate::libvirt::Status::Ok, &[0, 0, 0, 7][..]),
                    "procedure {procedure}"
                );
            }
        }
        hang_up(client, serving).await;
    }
}
