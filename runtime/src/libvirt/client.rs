//! A libvirt client connection: calls matched to replies by serial, many at
//! once; events delivered to subscribers while calls are in flight; streams
//! in both directions; keepalive pings answered.

use std::boxed::Box;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
#[cfg(unix)]
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{self, Poll, ready};
use std::time::Duration;
use std::vec;
use std::vec::Vec;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{Notify, broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::ProtocolNames;
use super::error::RemoteError;
use super::keepalive;
use super::packet::{
    Header, LEGACY_PAYLOAD_MAX, MESSAGE_MAX, MessageType, Packet, PacketError, PacketReader,
    Status, encode_packet, keepalive_packet,
};
use super::stream::{self, Arrived, HoleError, Leftover, Outgoing, ReadEnd, StreamData, Unsent};
use crate::observe::{self, CallSpan, Side};
use crate::stream_io::SharedIoError;
use crate::{DecodeError, EncodeError, Limits, XdrDecode, XdrEncode};

/// Settings of a [`Connection`].
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// How long a call waits for its reply.
    pub timeout: Duration,
    /// Largest packet accepted (libvirt's own limit by default).
    pub max_packet: usize,
    /// Limits for decoding replies and events.
    pub limits: Limits,
    /// Events kept for a slow subscriber before it misses some.
    pub event_backlog: usize,
    /// Stream packets buffered per stream before the connection waits for
    /// the reader.
    pub stream_backlog: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            timeout: Duration::from_secs(60),
            max_packet: MESSAGE_MAX,
            limits: Limits::default(),
            event_backlog: 1024,
            stream_backlog: 64,
        }
    }
}

/// Why a call or stream operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed.
    Io(io::Error),
    /// The daemon answered with a libvirt error.
    Remote(Box<RemoteError>),
    /// The arguments could not be encoded.
    Encode(EncodeError),
    /// The reply could not be decoded.
    Decode(DecodeError),
    /// The daemon broke the framing (the connection is closed).
    Packet(PacketError),
    /// No reply within the timeout.
    Timeout,
    /// The connection is closed.
    Closed,
    /// A stream hole was refused: the daemon sent one on a stream that is
    /// not sparse, or a malformed one, or one was to be sent on a stream
    /// that is not sparse.
    Hole(HoleError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The inner error is the source: it is not repeated here.
            Error::Io(_) => f.write_str("libvirt transport error"),
            Error::Remote(_) => f.write_str("the libvirt daemon answered with an error"),
            Error::Encode(_) => f.write_str("cannot encode the arguments"),
            Error::Decode(_) => f.write_str("cannot decode the reply"),
            Error::Packet(_) => f.write_str("bad packet from the daemon"),
            Error::Timeout => f.write_str("libvirt call timed out"),
            Error::Closed => f.write_str("libvirt connection closed"),
            Error::Hole(_) => f.write_str("libvirt stream hole refused"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Remote(e) => Some(&**e),
            Error::Encode(e) => Some(e),
            Error::Decode(e) => Some(e),
            Error::Packet(e) => Some(e),
            Error::Hole(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<PacketError> for Error {
    fn from(e: PacketError) -> Self {
        match e {
            PacketError::Encode(e) => Error::Encode(e),
            other => Error::Packet(other),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

/// Decodes an event body of a procedure, `None` when the procedure is not
/// an event (generated `Event::decode` functions).
pub type EventDecoder<E> = fn(i32, &[u8], &Limits) -> Result<Option<E>, DecodeError>;

/// Events of one program, decoded to its generated `Event` enum.
pub struct EventReceiver<E> {
    events: broadcast::Receiver<Event>,
    program: u32,
    decode: EventDecoder<E>,
    limits: Limits,
    missed: u64,
}

impl<E> EventReceiver<E> {
    /// Events this receiver missed because it fell more than
    /// [`ConnectionConfig::event_backlog`] behind (each loss is also
    /// reported as a `tracing` warning).
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The next event of the program. Messages of other programs and
    /// procedures that are not events are skipped; a receiver that fell
    /// too far behind skips what it missed, counted by
    /// [`missed`](EventReceiver::missed).
    pub async fn recv(&mut self) -> Result<E, Error> {
        loop {
            let event = match self.events.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(lost)) => {
                    self.missed += lost;
                    observe::libvirt_events_lost(self.program, lost, self.missed);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return Err(Error::Closed),
            };
            if event.program != self.program {
                continue;
            }
            if let Some(decoded) = (self.decode)(event.procedure, &event.body, &self.limits)? {
                return Ok(decoded);
            }
        }
    }
}

/// An event or other asynchronous message from the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The program.
    pub program: u32,
    /// The procedure (which `_msg` struct the body is).
    pub procedure: i32,
    /// The XDR body.
    pub body: Vec<u8>,
}

struct Waiting {
    program: u32,
    procedure: i32,
    reply: oneshot::Sender<Result<Packet, Error>>,
}

struct State {
    calls: HashMap<u32, Waiting>,
    streams: HashMap<u32, mpsc::Sender<Packet>>,
    /// Why the connection ended, once it has.
    closed: Option<Closed>,
    /// Turns true when it ends ([`Connection::closed`] waits for it).
    closed_signal: watch::Sender<bool>,
}

/// Why a connection ended: every call waiting then, and every call made
/// after, fails with it.
#[derive(Clone)]
enum Closed {
    /// The daemon closed it.
    Eof,
    /// Keepalive gave the daemon up.
    Keepalive,
    /// This side closed it.
    Client,
    /// Reading or writing failed.
    Io(SharedIoError),
    /// The daemon broke the framing (a length word out of bounds).
    Packet(PacketError),
}

impl Closed {
    fn error(&self) -> Error {
        match self {
            Closed::Eof | Closed::Keepalive | Closed::Client => Error::Closed,
            Closed::Io(e) => Error::Io(e.to_io_error()),
            Closed::Packet(e) => Error::Packet(e.clone()),
        }
    }

    fn reason(&self) -> CloseReason {
        match self {
            Closed::Eof => CloseReason::Eof,
            Closed::Keepalive => CloseReason::Keepalive,
            Closed::Client => CloseReason::Client,
            Closed::Io(_) | Closed::Packet(_) => CloseReason::Error(self.error()),
        }
    }
}

/// Why a connection closed ([`Connection::closed`]), as libvirt's close
/// callbacks are told (`virConnectCloseReason`).
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// `VIR_CONNECT_CLOSE_REASON_ERROR`: reading or writing failed
    /// ([`Error::Io`], with its cause), or the daemon broke the framing
    /// ([`Error::Packet`]).
    Error(Error),
    /// `VIR_CONNECT_CLOSE_REASON_EOF`: the daemon closed the connection.
    Eof,
    /// `VIR_CONNECT_CLOSE_REASON_KEEPALIVE`: keepalive gave the daemon up
    /// ([`Connection::start_keepalive`]).
    Keepalive,
    /// `VIR_CONNECT_CLOSE_REASON_CLIENT`: this side closed it
    /// ([`Connection::close`], or the last clone dropped).
    Client,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Error(e) => write!(f, "{e}"),
            CloseReason::Eof => f.write_str("the daemon closed the connection"),
            CloseReason::Keepalive => f.write_str("the daemon did not answer keepalive"),
            CloseReason::Client => f.write_str("the connection was closed by the client"),
        }
    }
}

/// The error of an operation that found the connection gone.
fn closed_error(state: &Mutex<State>) -> Error {
    lock(state)
        .closed
        .as_ref()
        .map_or(Error::Closed, Closed::error)
}

struct Shared {
    config: ConnectionConfig,
    next_serial: AtomicU32,
    state: Arc<Mutex<State>>,
    out: mpsc::Sender<Vec<u8>>,
    events: broadcast::Sender<Event>,
    pong: Arc<Notify>,
    unexpected: Arc<AtomicU64>,
    /// Packets received so far (keepalive watches it move).
    received: Arc<AtomicU64>,
    /// Keepalive PINGs sent ([`Connection::ping`] and the keepalive task).
    pings_sent: AtomicU64,
    /// Keepalive PONGs received.
    pongs_received: Arc<AtomicU64>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        close(&self.state, Closed::Client);
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection to a libvirt daemon (or any peer speaking its protocol).
/// Clones share it. Generated `Client` stubs wrap one.
#[derive(Clone)]
pub struct Connection {
    shared: Arc<Shared>,
}

/// Removes a call's entry if it is dropped or times out.
struct CallGuard<'a> {
    state: &'a Mutex<State>,
    serial: u32,
}

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        lock(self.state).calls.remove(&self.serial);
    }
}

impl Connection {
    /// Connects over TCP (libvirt's `tcp` transport, port 16509).
    pub async fn connect_tcp(
        addr: impl ToSocketAddrs,
        config: ConnectionConfig,
    ) -> io::Result<Connection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Connection::from_stream(stream, config))
    }

    /// Connects to a Unix socket (libvirt's `unix` transport).
    #[cfg(unix)]
    pub async fn connect_unix(
        path: impl AsRef<Path>,
        config: ConnectionConfig,
    ) -> io::Result<Connection> {
        let stream = tokio::net::UnixStream::connect(path).await?;
        Ok(Connection::from_stream(stream, config))
    }

    /// Speaks the protocol over any byte stream (TLS, for one).
    pub fn from_stream<S>(stream: S, config: ConnectionConfig) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read, write) = tokio::io::split(stream);
        let (out, out_rx) = mpsc::channel(1024);
        let (events, _) = broadcast::channel(config.event_backlog.max(1));
        let state = Arc::new(Mutex::new(State {
            calls: HashMap::new(),
            streams: HashMap::new(),
            closed: None,
            closed_signal: watch::Sender::new(false),
        }));
        let pong = Arc::new(Notify::new());
        let unexpected = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let pongs_received = Arc::new(AtomicU64::new(0));
        let reader = tokio::spawn(read_packets(
            read,
            Reader {
                max: config.max_packet,
                state: Arc::clone(&state),
                out: out.clone(),
                events: events.clone(),
                pong: Arc::clone(&pong),
                unexpected: Arc::clone(&unexpected),
                received: Arc::clone(&received),
                pongs_received: Arc::clone(&pongs_received),
            },
        ));
        let writer = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                if let Err(e) = crate::stream_io::write_batched(write, out_rx, || false).await {
                    observe::write_failed(Side::LibvirtClient, &"", &e);
                    close(&state, Closed::Io(SharedIoError::new(e)));
                }
            }
        });
        Connection {
            shared: Arc::new(Shared {
                config,
                next_serial: AtomicU32::new(1),
                state,
                out,
                events,
                pong,
                unexpected,
                received,
                pings_sent: AtomicU64::new(0),
                pongs_received,
                tasks: vec![reader, writer],
            }),
        }
    }

    /// Events from now on. A subscriber that falls more than
    /// [`ConnectionConfig::event_backlog`] behind misses the oldest.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.shared.events.subscribe()
    }

    /// Events of `program` from now on, decoded with `decode` (generated
    /// clients pass their `Event::decode`).
    pub fn subscribe_decoded<E>(&self, program: u32, decode: EventDecoder<E>) -> EventReceiver<E> {
        EventReceiver {
            events: self.subscribe(),
            program,
            decode,
            limits: self.shared.config.limits,
            missed: 0,
        }
    }

    /// Packets dropped because nothing expected them: replies to serials
    /// nobody waits for, stream data for unknown streams, undecodable
    /// headers.
    pub fn unexpected_packets(&self) -> u64 {
        self.shared.unexpected.load(Ordering::Relaxed)
    }

    /// Keepalive PINGs sent so far, by [`Connection::ping`] and by the
    /// keepalive task ([`Connection::start_keepalive`]).
    pub fn pings_sent(&self) -> u64 {
        self.shared.pings_sent.load(Ordering::Relaxed)
    }

    /// Keepalive PONGs received so far. Together with
    /// [`Connection::pings_sent`] it shows whether keepalive round trips
    /// happened (PINGs from the daemon are answered, not counted here).
    pub fn pongs_received(&self) -> u64 {
        self.shared.pongs_received.load(Ordering::Relaxed)
    }

    /// Calls waiting for their replies now. A call whose future is dropped
    /// (cancelled) or times out leaves at once; its reply, if it comes, is
    /// dropped and counted in [`Connection::unexpected_packets`].
    pub fn pending_calls(&self) -> usize {
        lock(&self.shared.state).calls.len()
    }

    /// Completes when the connection closes, with the reason, as
    /// libvirt's close callback (`virConnectRegisterCloseCallback`) is
    /// called. It holds no [`Connection`]: waiting on it keeps nothing
    /// open, and it completes with [`CloseReason::Client`] when the last
    /// clone is dropped.
    pub fn closed(&self) -> impl Future<Output = CloseReason> + Send + 'static {
        let state = Arc::clone(&self.shared.state);
        let mut signal = lock(&state).closed_signal.subscribe();
        async move {
            // The sender lives in `state`, which this future holds, so
            // waiting ends only when the signal turns true.
            let _ = signal.wait_for(|closed| *closed).await;
            lock(&state)
                .closed
                .as_ref()
                .map_or(CloseReason::Client, Closed::reason)
        }
    }

    /// Closes the connection for every clone (libvirt's
    /// `virConnectClose`): waiting calls and later ones fail with
    /// [`Error::Closed`], and [`Connection::closed`] completes with
    /// [`CloseReason::Client`].
    pub fn close(&self) {
        close(&self.shared.state, Closed::Client);
        for task in &self.shared.tasks {
            task.abort();
        }
    }

    /// Sends a raw packet (for tests and for protocols this crate has no
    /// helper for).
    pub async fn send_packet(&self, packet: Vec<u8>) -> Result<(), Error> {
        self.shared
            .out
            .send(packet)
            .await
            .map_err(|_| closed_error(&self.shared.state))
    }

    /// Calls a procedure and waits for its reply.
    pub async fn call<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        program: u32,
        version: u32,
        procedure: i32,
        args: &A,
    ) -> Result<R, Error> {
        self.call_named(&ProtocolNames::UNKNOWN, program, version, procedure, args)
            .await
    }

    /// [`call`](Connection::call), with the names its span gives the
    /// protocol and procedure (generated clients pass their `NAMES`).
    pub async fn call_named<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        names: &'static ProtocolNames,
        program: u32,
        version: u32,
        procedure: i32,
        args: &A,
    ) -> Result<R, Error> {
        let (span, started) = self
            .start_call(names, program, version, procedure, args, false)
            .await;
        let result = started.and_then(|(_, reply)| self.finish_call(&reply));
        report_outcome(&span, &result);
        result
    }

    /// Calls a procedure that opens a stream (`@readstream`/`@writestream`):
    /// the reply's results and the stream.
    pub async fn call_with_stream<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        program: u32,
        version: u32,
        procedure: i32,
        args: &A,
    ) -> Result<(R, Stream), Error> {
        self.call_with_stream_named(&ProtocolNames::UNKNOWN, program, version, procedure, args)
            .await
    }

    /// [`call_with_stream`](Connection::call_with_stream), with the names
    /// its span gives the protocol and procedure.
    pub async fn call_with_stream_named<A: XdrEncode + ?Sized, R: XdrDecode>(
        &self,
        names: &'static ProtocolNames,
        program: u32,
        version: u32,
        procedure: i32,
        args: &A,
    ) -> Result<(R, Stream), Error> {
        let (span, started) = self
            .start_call(names, program, version, procedure, args, true)
            .await;
        let result = started.and_then(|(stream, reply)| {
            let results = self.finish_call(&reply)?;
            let stream = stream.unwrap_or_else(|| unreachable!("requested above"));
            Ok((results, stream))
        });
        report_outcome(&span, &result);
        result
    }

    fn finish_call<R: XdrDecode>(&self, reply: &Packet) -> Result<R, Error> {
        let limits = &self.shared.config.limits;
        match reply.header.status {
            Status::Ok => Ok(R::from_xdr_with(&reply.body, limits)?),
            _ => Err(Error::Remote(Box::new(RemoteError::from_xdr_with(
                &reply.body,
                limits,
            )?))),
        }
    }

    /// Sends a call and waits for its reply, inside the call's span
    /// (returned so the caller records the outcome).
    async fn start_call<A: XdrEncode + ?Sized>(
        &self,
        names: &'static ProtocolNames,
        program: u32,
        version: u32,
        procedure: i32,
        args: &A,
        with_stream: bool,
    ) -> (CallSpan, Result<(Option<Stream>, Packet), Error>) {
        let serial = self.shared.next_serial.fetch_add(1, Ordering::Relaxed);
        let span = observe::libvirt_call(
            "client",
            names.program,
            program,
            version,
            names.procedure(procedure),
            procedure,
            serial,
            0,
        );
        let header = Header {
            program,
            version,
            procedure,
            kind: MessageType::Call,
            serial,
            status: Status::Ok,
        };
        let result = span
            .clone()
            .instrument(self.exchange(header, args, with_stream))
            .await;
        (span, result)
    }

    async fn exchange<A: XdrEncode + ?Sized>(
        &self,
        header: Header,
        args: &A,
        with_stream: bool,
    ) -> Result<(Option<Stream>, Packet), Error> {
        let shared = &*self.shared;
        let Header {
            program,
            procedure,
            serial,
            ..
        } = header;
        let packet = encode_packet(&header, args)?;
        let (tx, rx) = oneshot::channel();
        let stream = {
            let mut state = lock(&shared.state);
            if let Some(why) = &state.closed {
                return Err(why.error());
            }
            state.calls.insert(
                serial,
                Waiting {
                    program,
                    procedure,
                    reply: tx,
                },
            );
            // Registered before the call goes out: data may follow the
            // reply at once.
            with_stream.then(|| {
                let (data_tx, data_rx) = mpsc::channel(shared.config.stream_backlog.max(1));
                state.streams.insert(serial, data_tx);
                Stream::new(self.clone(), header, data_rx)
            })
        };
        let _guard = CallGuard {
            state: &shared.state,
            serial,
        };
        shared
            .out
            .send(packet)
            .await
            .map_err(|_| closed_error(&shared.state))?;
        let reply = match tokio::time::timeout(shared.config.timeout, rx).await {
            Ok(Ok(reply)) => reply?,
            Ok(Err(_)) => return Err(closed_error(&shared.state)),
            Err(_) => return Err(Error::Timeout),
        };
        Ok((stream, reply))
    }

    /// Sends a keepalive PING and waits for the daemon's PONG.
    pub async fn ping(&self) -> Result<(), Error> {
        let pong = self.shared.pong.notified();
        let mut pong = std::pin::pin!(pong);
        pong.as_mut().enable();
        self.send_packet(keepalive_packet(keepalive::PING)?).await?;
        self.shared.pings_sent.fetch_add(1, Ordering::Relaxed);
        tokio::time::timeout(self.shared.config.timeout, pong)
            .await
            .map_err(|_| Error::Timeout)
    }

    /// Keeps the connection alive as libvirt's clients do: after
    /// `interval` without any packet from the daemon, send a PING; after
    /// `count` such intervals in a row, give the daemon up for dead and
    /// close the connection (waiting calls fail with [`Error::Closed`]).
    /// Ask the daemon for keepalive support first (CONNECT_SUPPORTS_FEATURE
    /// 10), so that it pings an idle client too.
    pub fn start_keepalive(&self, interval: Duration, count: u32) {
        let shared = Arc::downgrade(&self.shared);
        tokio::spawn(async move {
            let mut silent = 0;
            let mut last = None;
            loop {
                tokio::time::sleep(interval).await;
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let now = shared.received.load(Ordering::Relaxed);
                if last == Some(now) {
                    silent += 1;
                    if silent > count {
                        observe::libvirt_keepalive_gave_up(count, interval);
                        close(&shared.state, Closed::Keepalive);
                        for task in &shared.tasks {
                            task.abort();
                        }
                        return;
                    }
                    let Ok(ping) = keepalive_packet(keepalive::PING) else {
                        return;
                    };
                    if shared.out.send(ping).await.is_err() {
                        return;
                    }
                    shared.pings_sent.fetch_add(1, Ordering::Relaxed);
                } else {
                    silent = 0;
                }
                last = Some(now);
            }
        });
    }

    /// Sends a one-way message (an event, from a server's point of view,
    /// or a client-to-daemon notification).
    pub async fn send_message<B: XdrEncode + ?Sized>(
        &self,
        program: u32,
        version: u32,
        procedure: i32,
        body: &B,
    ) -> Result<(), Error> {
        let header = Header {
            program,
            version,
            procedure,
            kind: MessageType::Message,
            serial: 0,
            status: Status::Ok,
        };
        self.send_packet(encode_packet(&header, body)?).await
    }
}

/// Records a libvirt call's status and outcome on its span.
fn report_outcome<T>(span: &CallSpan, result: &Result<T, Error>) {
    match result {
        Ok(_) => span.libvirt_status(true, &"ok"),
        Err(Error::Remote(e)) => span.libvirt_status(false, e),
        Err(e) => span.outcome(e),
    }
}

/// A stream opened by a `@readstream` or `@writestream` procedure: stream
/// packets carry the opening call's procedure and serial. Data ends with an
/// empty CONTINUE packet; either side then finishes (status OK) or aborts
/// (status ERROR), and the other confirms with an empty OK.
///
/// It is an [`AsyncRead`] of the daemon's data (a download) and an
/// [`AsyncWrite`] to the daemon (an upload), so `tokio::io::copy` works
/// either way; `shutdown` finishes the stream and returns the daemon's
/// verdict. An abort from the daemon is an `io::Error` whose inner error
/// is this module's [`Error::Remote`] with libvirt's error. A sparse
/// stream (see [`Stream::set_sparse`]) reads its holes as zeros through
/// `AsyncRead`, and as [`StreamData::Hole`] through [`Stream::recv`];
/// [`Stream::send_hole`] sends one.
pub struct Stream {
    connection: Connection,
    outgoing: Outgoing,
    incoming: mpsc::Receiver<Packet>,
    /// Opened with the procedure's sparse flag: holes are allowed.
    sparse: bool,
    /// What a read has started and not handed out yet.
    leftover: Leftover,
    /// The daemon sent its last data.
    eof: bool,
    /// The daemon confirmed a finish or abort, or aborted itself.
    closed: bool,
    /// The daemon's abort, for every later operation.
    aborted: Option<RemoteError>,
    /// Our finish or abort, once started.
    closing: Option<Closing>,
}

/// A finish or abort under way.
struct Closing {
    status: Status,
    sent: bool,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl Stream {
    fn new(connection: Connection, header: Header, incoming: mpsc::Receiver<Packet>) -> Stream {
        let out = connection.shared.out.clone();
        Stream {
            connection,
            outgoing: Outgoing::new(header, out, None),
            incoming,
            sparse: false,
            leftover: Leftover::default(),
            eof: false,
            closed: false,
            aborted: None,
            closing: None,
        }
    }

    /// Declares the stream sparse: its procedure was called with its
    /// sparse flag (`VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`,
    /// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`), so holes may come and go.
    /// On any other stream a hole from the daemon is
    /// [`HoleError::NotSparse`], as libvirt's client refuses it, and so is
    /// [`Stream::send_hole`].
    pub fn set_sparse(&mut self, sparse: bool) {
        self.sparse = sparse;
    }

    /// Whether holes are allowed (see [`Stream::set_sparse`]).
    pub fn is_sparse(&self) -> bool {
        self.sparse
    }

    /// The next piece of data or hole from the daemon; `None` at the end
    /// of its data. An abort from the daemon is an [`Error::Remote`].
    pub async fn recv(&mut self) -> Result<Option<StreamData>, Error> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn limits(&self) -> &Limits {
        &self.connection.shared.config.limits
    }

    /// The daemon's abort, decoded, kept and returned as an error.
    fn abort_from(&mut self, body: &[u8]) -> Error {
        self.closed = true;
        match RemoteError::from_xdr_with(body, self.limits()) {
            Ok(e) => {
                self.aborted = Some(e.clone());
                Error::Remote(Box::new(e))
            }
            Err(e) => Error::Decode(e),
        }
    }

    /// [`recv`](Stream::recv) as a poll: what a read left over first.
    fn poll_recv(&mut self, cx: &mut task::Context<'_>) -> Poll<Result<Option<StreamData>, Error>> {
        if let Some(piece) = self.leftover.take() {
            return Poll::Ready(Ok(Some(piece)));
        }
        if let Some(e) = &self.aborted {
            return Poll::Ready(Err(Error::Remote(Box::new(e.clone()))));
        }
        loop {
            if self.eof || self.closed {
                return Poll::Ready(Ok(None));
            }
            let Some(packet) = ready!(self.incoming.poll_recv(cx)) else {
                return Poll::Ready(Err(closed_error(&self.connection.shared.state)));
            };
            match stream::arrived(packet, self.sparse, self.limits()) {
                Err(e) => return Poll::Ready(Err(Error::Hole(e))),
                Ok(Arrived::Data(data)) => return Poll::Ready(Ok(Some(StreamData::Data(data)))),
                Ok(Arrived::Hole(0)) => {}
                Ok(Arrived::Hole(zeros)) => {
                    self.leftover.keep(Arrived::Hole(zeros));
                    return Poll::Ready(Ok(self.leftover.take()));
                }
                Ok(Arrived::EndOfData) => self.eof = true,
                // A confirmation nobody asked for: the stream is over.
                Ok(Arrived::Finished) => self.closed = true,
                Ok(Arrived::Aborted(body)) => return Poll::Ready(Err(self.abort_from(&body))),
            }
        }
    }

    /// Reads the stream to the end of the daemon's data; holes read as
    /// zeros.
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        while let Some(piece) = self.recv().await? {
            match piece {
                StreamData::Data(bytes) => out.extend_from_slice(&bytes),
                StreamData::Hole { length, .. } => {
                    let zeros = usize::try_from(length).map_err(|_| {
                        Error::Io(io::Error::new(
                            io::ErrorKind::OutOfMemory,
                            "a stream hole larger than memory",
                        ))
                    })?;
                    out.resize(out.len() + zeros, 0);
                }
            }
        }
        Ok(out)
    }

    /// Sends data to the daemon, in packets of at most libvirt's payload
    /// size (an empty `data` sends nothing: an empty packet means the end).
    pub async fn send(&self, data: &[u8]) -> Result<(), Error> {
        for chunk in data.chunks(LEGACY_PAYLOAD_MAX) {
            let packet = self.outgoing.packet(Status::Continue, chunk)?;
            self.connection.send_packet(packet).await?;
        }
        Ok(())
    }

    /// Sends a hole of `length` zero bytes (libvirt's `virStreamSendHole`);
    /// only on a sparse stream ([`Stream::set_sparse`]).
    pub async fn send_hole(&self, length: u64) -> Result<(), Error> {
        if !self.sparse {
            return Err(Error::Hole(HoleError::NotSparse));
        }
        let Ok(length) = i64::try_from(length) else {
            return Err(Error::Hole(HoleError::Invalid {
                length: i64::MAX,
                flags: 0,
            }));
        };
        let packet = self.outgoing.hole_packet(length)?;
        self.connection.send_packet(packet).await
    }

    /// Ends the stream (after reading to its end, or after sending all
    /// data) and waits for the daemon's confirmation.
    pub async fn finish(mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_close(cx, Status::Ok)).await
    }

    /// Aborts the stream and waits for the daemon's confirmation.
    pub async fn abort(mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_close(cx, Status::Error)).await
    }

    /// Sends our finish (`Status::Ok`) or abort (`Status::Error`) once, then
    /// waits for the daemon's confirmation, at most the call timeout. Data
    /// still in flight before it is dropped.
    fn poll_close(
        &mut self,
        cx: &mut task::Context<'_>,
        status: Status,
    ) -> Poll<Result<(), Error>> {
        if self.closed {
            return Poll::Ready(match &self.aborted {
                Some(e) => Err(Error::Remote(Box::new(e.clone()))),
                None => Ok(()),
            });
        }
        let timeout = self.connection.shared.config.timeout;
        let closing = self.closing.get_or_insert_with(|| Closing {
            status,
            sent: false,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        });
        if !closing.sent {
            let Some(permit) = ready!(self.outgoing.poll_room(cx)) else {
                return Poll::Ready(Err(closed_error(&self.connection.shared.state)));
            };
            permit.send(self.outgoing.packet(closing.status, &[])?);
            closing.sent = true;
        }
        loop {
            let packet = match self.incoming.poll_recv(cx) {
                Poll::Ready(Some(packet)) => packet,
                Poll::Ready(None) => {
                    return Poll::Ready(Err(closed_error(&self.connection.shared.state)));
                }
                Poll::Pending => {
                    return match self.closing.as_mut().map(|c| c.deadline.as_mut().poll(cx)) {
                        Some(Poll::Ready(())) => Poll::Ready(Err(Error::Timeout)),
                        _ => Poll::Pending,
                    };
                }
            };
            // Holes in flight are dropped like data: read as sparse.
            match stream::arrived(packet, true, self.limits()) {
                Ok(Arrived::Finished) => {
                    self.closed = true;
                    return Poll::Ready(Ok(()));
                }
                Ok(Arrived::Aborted(body)) => return Poll::Ready(Err(self.abort_from(&body))),
                _ => {}
            }
        }
    }

    /// Before a write: an abort from the daemon fails it. Anything else
    /// that arrived is kept for reads (a write stream gets none).
    fn poll_aborted(&mut self, cx: &mut task::Context<'_>) -> Result<(), Error> {
        while self.leftover.is_empty() && !self.closed {
            let Poll::Ready(packet) = self.incoming.poll_recv(cx) else {
                break;
            };
            let Some(packet) = packet else {
                return Err(closed_error(&self.connection.shared.state));
            };
            match stream::arrived(packet, self.sparse, self.limits()).map_err(Error::Hole)? {
                Arrived::Aborted(body) => return Err(self.abort_from(&body)),
                Arrived::EndOfData => self.eof = true,
                Arrived::Finished => self.closed = true,
                data => self.leftover.keep(data),
            }
        }
        match &self.aborted {
            Some(e) => Err(Error::Remote(Box::new(e.clone()))),
            None => Ok(()),
        }
    }
}

/// A stream error as `AsyncRead`/`AsyncWrite` return it: the transport's
/// own error as it was, anything else wrapped (`get_ref` gives the
/// [`Error`], libvirt's error inside [`Error::Remote`]).
fn stream_io_error(e: Error) -> io::Error {
    match e {
        Error::Io(e) => e,
        Error::Timeout => io::Error::new(io::ErrorKind::TimedOut, e),
        Error::Closed => io::Error::new(io::ErrorKind::BrokenPipe, e),
        Error::Hole(_) | Error::Packet(_) | Error::Decode(_) => {
            io::Error::new(io::ErrorKind::InvalidData, e)
        }
        e => io::Error::other(e),
    }
}

impl ReadEnd for Stream {
    type Error = Error;

    fn leftover(&mut self) -> &mut Leftover {
        &mut self.leftover
    }

    fn poll_piece(
        &mut self,
        cx: &mut task::Context<'_>,
    ) -> Poll<Result<Option<StreamData>, Error>> {
        self.poll_recv(cx)
    }
}

impl AsyncRead for Stream {
    /// Fills nothing at the end of the daemon's data.
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        stream::poll_read(self.get_mut(), cx, buf).map_err(stream_io_error)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut task::Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        // An empty packet would end the stream.
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if let Err(e) = this.poll_aborted(cx) {
            return Poll::Ready(Err(stream_io_error(e)));
        }
        Poll::Ready(match ready!(this.outgoing.poll_data(cx, buf)) {
            Ok(n) => Ok(n),
            Err(Unsent::Gone) => Err(stream_io_error(closed_error(&this.connection.shared.state))),
            Err(Unsent::Packet(e)) => Err(stream_io_error(e.into())),
        })
    }

    /// Packets are queued for the connection's writer, which writes them
    /// as soon as it can; there is nothing to flush here but an abort to
    /// report.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_mut().poll_aborted(cx).map_err(stream_io_error))
    }

    /// Finishes the stream and waits for the daemon's verdict: its error
    /// if it failed the upload.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut task::Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_close(cx, Status::Ok)
            .map_err(stream_io_error)
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        lock(&self.connection.shared.state)
            .streams
            .remove(&self.outgoing.header().serial);
    }
}

/// Fails every waiting call with `why` and refuses new ones. The first
/// reason stays: a write failing after the read did says nothing new.
fn close(state: &Mutex<State>, why: Closed) {
    let (calls, streams, why) = {
        let mut s = lock(state);
        let why = s.closed.get_or_insert(why).clone();
        s.closed_signal.send_replace(true);
        (
            std::mem::take(&mut s.calls),
            std::mem::take(&mut s.streams),
            why,
        )
    };
    for (_, w) in calls {
        let _ = w.reply.send(Err(why.error()));
    }
    drop(streams);
}

struct Reader {
    received: Arc<AtomicU64>,
    pongs_received: Arc<AtomicU64>,
    max: usize,
    state: Arc<Mutex<State>>,
    out: mpsc::Sender<Vec<u8>>,
    events: broadcast::Sender<Event>,
    pong: Arc<Notify>,
    unexpected: Arc<AtomicU64>,
}

impl Reader {
    fn stray(&self) {
        self.unexpected.fetch_add(1, Ordering::Relaxed);
    }

    async fn handle(&self, packet: Packet) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let h = packet.header;
        match h.kind {
            MessageType::Reply | MessageType::ReplyWithFds => {
                let waiting = {
                    let mut state = lock(&self.state);
                    match state.calls.get(&h.serial) {
                        Some(w) if w.program == h.program && w.procedure == h.procedure => {
                            state.calls.remove(&h.serial)
                        }
                        _ => None,
                    }
                };
                match waiting {
                    Some(w) => {
                        let _ = w.reply.send(Ok(packet));
                    }
                    // Most often the reply to a call whose future was
                    // dropped (cancelled) or timed out.
                    None => {
                        observe::libvirt_reply_discarded(h.serial, h.program, h.procedure);
                        self.stray();
                    }
                }
            }
            MessageType::Message if h.program == keepalive::PROGRAM => match h.procedure {
                keepalive::PING => {
                    if let Ok(pong) = keepalive_packet(keepalive::PONG) {
                        let _ = self.out.try_send(pong);
                    }
                }
                keepalive::PONG => {
                    self.pongs_received.fetch_add(1, Ordering::Relaxed);
                    self.pong.notify_waiters();
                }
                _ => self.stray(),
            },
            MessageType::Message => {
                // No subscriber is not an error.
                let _ = self.events.send(Event {
                    program: h.program,
                    procedure: h.procedure,
                    body: packet.body,
                });
            }
            MessageType::Stream | MessageType::StreamHole => {
                let sink = lock(&self.state).streams.get(&h.serial).cloned();
                match sink {
                    Some(sink) => {
                        // Waits when the stream's reader is behind.
                        let _ = sink.send(packet).await;
                    }
                    None => self.stray(),
                }
            }
            MessageType::Call | MessageType::CallWithFds => self.stray(),
        }
    }
}

async fn read_packets<R: AsyncRead>(read: R, reader: Reader) {
    let mut read = std::pin::pin!(read);
    let mut packets = PacketReader::new(reader.max);
    let why = 'connection: loop {
        // Into the packet reader's own buffer: an idle connection holds a
        // few hundred bytes, not the size of its largest packet.
        match read.read_buf(packets.read_buffer()).await {
            Ok(0) => break Closed::Eof,
            Ok(_) => {}
            Err(e) => {
                observe::read_failed(Side::LibvirtClient, &"", &e);
                break Closed::Io(SharedIoError::new(e));
            }
        }
        loop {
            match packets.next_packet() {
                Ok(Some(packet)) => reader.handle(packet).await,
                Ok(None) => break,
                // A bad type or status spoils one packet only.
                Err(e @ (PacketError::UnknownType(_) | PacketError::UnknownStatus(_))) => {
                    observe::libvirt_bad_header(Side::LibvirtClient, &"", &e);
                    reader.stray();
                }
                Err(e) => {
                    observe::bad_framing(Side::LibvirtClient, &"", &e);
                    break 'connection Closed::Packet(e);
                }
            }
        }
    };
    close(&reader.state, why);
}
