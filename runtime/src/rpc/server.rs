//! The server: accepts connections and datagrams, checks each call's
//! header, and hands the arguments to the [`Dispatch`] registered for the
//! program and version. Calls run concurrently, bounded per connection and
//! overall; replies go out as they finish, in any order.

// A no_std crate: what the prelude would give is imported by hand.
use std::vec;
use std::{boxed::Box, vec::Vec};

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::message::{
    AcceptStat, AuthStat, AuthSys, CallHeader, MessageHeader, OpaqueAuth, RPC_VERSION, RejectStat,
    ReplyHeader, flavor,
};
use super::names::ProgramNames;
use super::record::RecordReader;
use super::wire::{MAX_DATAGRAM, frame_in_place};
use crate::observe::{self, Side};
use crate::stream_io::{self, BATCH_BYTES, Shutdown, StallClock, append, flush};
use crate::{Limits, XdrDecode, XdrEncode};

/// Settings of a [`Server`].
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest call record accepted over a stream; a bigger one closes
    /// the connection as soon as its fragment header arrives.
    pub max_record: usize,
    /// Limits for decoding arguments.
    pub limits: Limits,
    /// Calls of one connection executing at once. When they are all busy
    /// the server stops reading that connection until one finishes.
    pub max_in_flight: usize,
    /// Calls executing at once over all connections and datagrams. UDP
    /// calls arriving when all are busy are dropped (the client
    /// retransmits); stream connections wait.
    pub max_concurrency: usize,
    /// Stream connections open at once per listener (`serve_tcp`,
    /// `serve_unix`); one more is accepted and closed at once, and
    /// reported. `None`: no limit but the process's descriptors.
    pub max_connections: Option<usize>,
    /// How long a connection may take to send the rest of a call record
    /// it has started; past it the connection is closed and reported (a
    /// slowloris client holds its connection open with a byte now and
    /// then). `None`: no limit.
    pub partial_message_timeout: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_record: 16 << 20,
            limits: Limits::default(),
            max_in_flight: 128,
            max_concurrency: 4096,
            max_connections: None,
            partial_message_timeout: None,
        }
    }
}

/// Where a call came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peer {
    /// A TCP connection from this address.
    Tcp(SocketAddr),
    /// A UDP datagram from this address.
    Udp(SocketAddr),
    /// A Unix socket connection.
    Unix,
    /// Another stream handed to [`Server::serve_connection`].
    Other,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(addr) => write!(f, "tcp:{addr}"),
            Peer::Udp(addr) => write!(f, "udp:{addr}"),
            Peer::Unix => f.write_str("unix"),
            Peer::Other => f.write_str("stream"),
        }
    }
}

/// What a procedure sees of its call besides the arguments.
#[derive(Debug)]
pub struct CallContext {
    header: CallHeader,
    auth_sys: Option<AuthSys>,
    peer: Peer,
    limits: Limits,
}

impl CallContext {
    /// The call's xid.
    pub fn xid(&self) -> u32 {
        self.header.xid
    }
    /// The program number.
    pub fn program(&self) -> u32 {
        self.header.program
    }
    /// The program version.
    pub fn version(&self) -> u32 {
        self.header.version
    }
    /// The procedure number.
    pub fn procedure(&self) -> u32 {
        self.header.procedure
    }
    /// The caller's raw credential.
    pub fn credential(&self) -> &OpaqueAuth {
        &self.header.credential
    }
    /// The caller's AUTH_SYS credential, if it sent one.
    pub fn auth_sys(&self) -> Option<&AuthSys> {
        self.auth_sys.as_ref()
    }
    /// Where the call came from.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }
    /// The limits arguments are decoded with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

/// What a procedure answers instead of results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// PROC_UNAVAIL: the procedure is not implemented.
    ProcUnavail,
    /// GARBAGE_ARGS: the arguments could not be decoded.
    GarbageArgs,
    /// SYSTEM_ERR: the server failed (also sent when a handler panics).
    SystemErr,
    /// AUTH_ERROR: the caller may not make this call.
    Auth(AuthStat),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::ProcUnavail => f.write_str("PROC_UNAVAIL"),
            Fault::GarbageArgs => f.write_str("GARBAGE_ARGS"),
            Fault::SystemErr => f.write_str("SYSTEM_ERR"),
            Fault::Auth(stat) => write!(f, "AUTH_ERROR ({stat})"),
        }
    }
}

/// The future a [`Dispatch`] returns: the encoded results or a fault.
pub type DispatchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<EncodedResults, Fault>> + Send + 'a>>;

/// A procedure's encoded results, with room in front for the reply header
/// so the reply is sent without copying them. Made by [`encode_results`].
#[derive(Debug)]
pub struct EncodedResults(Vec<u8>);

/// One program version a server answers. Generated `Dispatcher`s
/// implement it over the generated `Service` traits.
pub trait Dispatch: Send + Sync + 'static {
    /// The program number.
    fn program(&self) -> u32;
    /// The version number.
    fn version(&self) -> u32;
    /// Decodes `args` for the context's procedure, runs it and encodes
    /// its results.
    fn dispatch<'a>(&'a self, cx: &'a CallContext, args: &'a [u8]) -> DispatchFuture<'a>;
    /// The program's and procedures' names, for call spans and events
    /// (generated dispatchers return their version's `NAMES`).
    fn names(&self) -> &'static ProgramNames {
        &ProgramNames::UNKNOWN
    }
}

/// Bytes before the results in a success reply record: the record mark,
/// then xid, REPLY, MSG_ACCEPTED, an AUTH_NONE verifier and SUCCESS.
const RESULTS_OFFSET: usize = 28;

/// Encodes a procedure's results. Generated dispatchers call this.
pub fn encode_results<T: XdrEncode + ?Sized>(results: &T) -> Result<EncodedResults, Fault> {
    let mut out = Vec::with_capacity(RESULTS_OFFSET + results.encoded_len() + 4);
    out.resize(RESULTS_OFFSET, 0);
    // Results over their bounds are the server's bug, not the caller's.
    results.encode(&mut out).map_err(|_| Fault::SystemErr)?;
    Ok(EncodedResults(out))
}

/// Decodes a call's arguments; bytes that do not decode are GARBAGE_ARGS.
/// Bytes after the arguments are skipped and reported, as rpcgen's
/// `svc_getargs` skips them, or GARBAGE_ARGS with
/// [`Limits::reject_trailing_bytes`].
pub fn decode_args<T: XdrDecode>(args: &[u8], cx: &CallContext) -> Result<T, Fault> {
    super::wire::decode_body(args, &cx.limits, &cx.header, super::wire::Body::Arguments).map_err(
        |error| {
            super::wire::report_garbage_args(&cx.header, &error);
            Fault::GarbageArgs
        },
    )
}

/// Collects the program versions a [`Server`] answers.
pub struct ServerBuilder {
    config: ServerConfig,
    services: HashMap<(u32, u32), Arc<dyn Dispatch>>,
}

impl ServerBuilder {
    /// Answers `service`'s program version (replacing an earlier one for
    /// the same program and version).
    #[must_use]
    pub fn service(mut self, service: impl Dispatch) -> Self {
        self.services
            .insert((service.program(), service.version()), Arc::new(service));
        self
    }

    /// The server.
    pub fn build(self) -> Server {
        let mut versions: HashMap<u32, (u32, u32)> = HashMap::new();
        for &(program, version) in self.services.keys() {
            let range = versions.entry(program).or_insert((version, version));
            range.0 = range.0.min(version);
            range.1 = range.1.max(version);
        }
        Server {
            inner: Arc::new(Inner {
                concurrency: Arc::new(Semaphore::new(self.config.max_concurrency)),
                config: self.config,
                services: self.services,
                versions,
                shutdown: Shutdown::new(),
            }),
        }
    }
}

struct Inner {
    config: ServerConfig,
    services: HashMap<(u32, u32), Arc<dyn Dispatch>>,
    /// Lowest and highest version of each program, for PROG_MISMATCH.
    versions: HashMap<u32, (u32, u32)>,
    concurrency: Arc<Semaphore>,
    shutdown: Shutdown,
}

/// An ONC RPC server. Clones share the services, limits and shutdown.
#[derive(Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

impl Server {
    /// Starts collecting the services the server answers.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            services: HashMap::new(),
        }
    }

    /// Begins a graceful shutdown: listeners stop accepting, connections
    /// stop reading new calls, calls in progress finish and their replies
    /// are written; then every `serve_*` future returns.
    pub fn shutdown(&self) {
        self.inner.shutdown.begin();
    }

    /// Serves TCP connections from `listener` until shutdown.
    pub async fn serve_tcp(&self, listener: TcpListener) -> io::Result<()> {
        let accept = || listener.accept();
        let max = self.inner.config.max_connections;
        let stop = self.inner.shutdown.begun();
        stream_io::accept_until(accept, stop, max, |(stream, addr)| {
            let _ = TcpStream::set_nodelay(&stream, true);
            let server = self.clone();
            async move { server.serve_connection(stream, Peer::Tcp(addr)).await }
        })
        .await;
        Ok(())
    }

    /// Serves connections from a Unix socket listener until shutdown.
    #[cfg(unix)]
    pub async fn serve_unix(&self, listener: tokio::net::UnixListener) -> io::Result<()> {
        let accept = || listener.accept();
        let max = self.inner.config.max_connections;
        let stop = self.inner.shutdown.begun();
        stream_io::accept_until(accept, stop, max, |(stream, _)| {
            let server = self.clone();
            async move { server.serve_connection(stream, Peer::Unix).await }
        })
        .await;
        Ok(())
    }

    /// Serves one record-marked stream until the peer closes it, sends a
    /// bad record, or the server shuts down.
    ///
    /// One task per connection reads calls and writes replies: after each
    /// read, the calls it completed run here until they first wait (most
    /// never do), and all the replies ready then go out in one write. A
    /// call that waits goes on in its own task and hands its reply back
    /// over a channel, which this task also watches. A separate writer task
    /// would cost a task wake-up per reply and a second task per idle
    /// connection.
    pub async fn serve_connection<S>(&self, stream: S, peer: Peer)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let config = &self.inner.config;
        let (read, write) = tokio::io::split(stream);
        let mut read = std::pin::pin!(read);
        let mut write = std::pin::pin!(write);
        let max_in_flight = config.max_in_flight.max(1);
        // Replies of calls that waited. Each holds a sender until it has
        // sent, so the channel ends when the last call does. This task
        // empties it before it holds `max_in_flight` replies, and at most
        // that many calls are running to add one each, so a call never
        // waits for room.
        let (tx, mut replies) = mpsc::channel(2 * max_in_flight);
        let in_flight = Arc::new(Semaphore::new(max_in_flight));
        let mut records = RecordReader::new(config.max_record);
        let mut stall = StallClock::new(config.partial_message_timeout);
        let stop = self.inner.shutdown.begun();
        let mut stop = std::pin::pin!(stop);
        // Framed replies not yet written; taken (not kept) by each write.
        let mut out = Vec::new();
        let mut writable = true;
        'connection: loop {
            // Read into the record reader's own buffer, sized to what is
            // coming: an idle connection holds a few hundred bytes.
            tokio::select! {
                read = read.read_buf(records.read_buffer()) => match read {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(error) => {
                        observe::read_failed(Side::OncServer, &peer, &error);
                        break;
                    }
                },
                Some(reply) = replies.recv() => {
                    append(&mut out, reply);
                    if let Err(error) = flush(&mut write, &mut out, &mut replies).await {
                        observe::write_failed(Side::OncServer, &peer, &error);
                        writable = false;
                        break;
                    }
                    continue;
                }
                () = stall.overdue() => {
                    observe::stalled(Side::OncServer, &peer, stall.timeout());
                    break;
                }
                () = &mut stop => break,
            }
            let mut finished_one = false;
            loop {
                match records.next_record() {
                    Ok(Some(record)) => {
                        finished_one = true;
                        if out.len() >= BATCH_BYTES || replies.len() >= max_in_flight {
                            if let Err(error) = flush(&mut write, &mut out, &mut replies).await {
                                observe::write_failed(Side::OncServer, &peer, &error);
                                writable = false;
                                break 'connection;
                            }
                        }
                        let Ok(call_slot) = Arc::clone(&in_flight).acquire_owned().await else {
                            break 'connection;
                        };
                        let sink = Sink::Stream(tx.clone());
                        // Boxed: held inline, the call's state would
                        // make every idle connection's task ~850 bytes
                        // larger, for one small allocation per call.
                        let handled = Box::pin(self.handle(record, peer.clone(), sink, call_slot));
                        if let Some((_, reply)) = handled.await {
                            if let Some(framed) = frame_reply(reply) {
                                append(&mut out, framed);
                            }
                        }
                    }
                    Ok(None) => break,
                    // An oversized record: the stream cannot be trusted.
                    Err(error) => {
                        observe::bad_framing(Side::OncServer, &peer, &error);
                        break 'connection;
                    }
                }
            }
            stall.update(records.is_mid_record(), finished_one);
            // The replies of the calls that just ran, in one write.
            if let Err(error) = flush(&mut write, &mut out, &mut replies).await {
                observe::write_failed(Side::OncServer, &peer, &error);
                writable = false;
                break;
            }
        }
        // Calls in progress finish and their replies are written; once the
        // last one has sent, the channel ends.
        drop(tx);
        if !writable {
            return;
        }
        while let Some(reply) = replies.recv().await {
            append(&mut out, reply);
            if let Err(error) = flush(&mut write, &mut out, &mut replies).await {
                observe::write_failed(Side::OncServer, &peer, &error);
                return;
            }
        }
        // Replies of calls that ran here before a read error or a bad record.
        if let Err(error) = flush(&mut write, &mut out, &mut replies).await {
            observe::write_failed(Side::OncServer, &peer, &error);
            return;
        }
        let _ = write.shutdown().await;
    }

    /// Serves calls arriving as datagrams on `socket` until shutdown.
    pub async fn serve_udp(&self, socket: UdpSocket) -> io::Result<()> {
        let socket = Arc::new(socket);
        let mut buf = vec![0; MAX_DATAGRAM];
        let stop = self.inner.shutdown.begun();
        let mut stop = std::pin::pin!(stop);
        let calls = Arc::new(Semaphore::new(self.inner.config.max_concurrency.max(1)));
        loop {
            let (n, from) = tokio::select! {
                received = socket.recv_from(&mut buf) => match received {
                    Ok(r) => r,
                    // ICMP errors from earlier replies; keep serving.
                    Err(error) => {
                        observe::datagram_receive_failed(&error);
                        continue;
                    }
                },
                () = &mut stop => break,
            };
            // Under overload a datagram is dropped, as UDP allows.
            let Ok(call_slot) = Arc::clone(&calls).try_acquire_owned() else {
                continue;
            };
            // Room for a record mark keeps replies the same for both kinds.
            let mut record = Vec::with_capacity(n + 4);
            record.extend_from_slice(&buf[..n]);
            let sink = Sink::Datagram(Arc::clone(&socket), from);
            if let Some((sink, reply)) = self.handle(record, Peer::Udp(from), sink, call_slot).await
            {
                sink.send(reply).await;
            }
        }
        let limit = u32::try_from(self.inner.config.max_concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = calls.acquire_many(limit).await;
        Ok(())
    }

    /// Checks a call's header and answers it at once, or runs it: here
    /// until it first waits, then on a task. Returns the reply when it is
    /// ready now (unframed, with room for the record mark), with its sink;
    /// a call that waited sends its reply through `sink` itself.
    async fn handle(
        &self,
        record: Vec<u8>,
        peer: Peer,
        sink: Sink,
        call_slot: OwnedSemaphorePermit,
    ) -> Option<(Sink, Vec<u8>)> {
        let inner = &self.inner;
        let (cx, args_at, service) = match self.admit(&record, peer) {
            Admit::Run(cx, args_at, service) => (cx, args_at, service),
            Admit::Answer(reply) => return Some((sink, reply)),
            Admit::Ignore => return None,
        };
        let slot = Arc::clone(&inner.concurrency).acquire_owned().await.ok()?;
        let names = service.names();
        let procedure_name = names.procedure(cx.procedure());
        let span = observe::onc_rpc_call(
            "server",
            names.program,
            cx.program(),
            cx.version(),
            procedure_name,
            cx.procedure(),
            cx.xid(),
            &cx.peer,
        );
        let xid = cx.xid();
        let in_span = span.clone();
        let call = async move {
            let _slots = (call_slot, slot);
            let result = service.dispatch(&cx, &record[args_at..]).await;
            match result {
                Ok(EncodedResults(mut reply)) => {
                    span.outcome(&"SUCCESS");
                    write_success_header(&mut reply, cx.xid());
                    reply
                }
                Err(fault) => {
                    span.outcome(&fault);
                    if fault == Fault::ProcUnavail && procedure_name.is_none() {
                        observe::unknown_procedure(
                            Side::OncServer,
                            &cx.peer,
                            cx.xid(),
                            cx.program(),
                            i64::from(cx.procedure()),
                        );
                    }
                    fault_reply(cx.xid(), fault)
                }
            }
        };
        let mut call = Box::pin(in_span.instrument(call));
        // Most procedures finish without waiting for anything: run them
        // here, so the replies to all calls of one read go out in one
        // write, and no task is spawned (nor another worker woken to run
        // it). A call that is still pending goes on in its own task, which
        // polls it again with a real waker and sends the reply itself.
        let mut first_poll = std::task::Context::from_waker(std::task::Waker::noop());
        let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            call.as_mut().poll(&mut first_poll)
        }));
        match polled {
            Ok(Poll::Ready(reply)) => Some((sink, reply)),
            Ok(Poll::Pending) => {
                tokio::spawn(async move {
                    // Dropped without a reply (a panic), it answers SYSTEM_ERR.
                    let mut guard = PanicGuard {
                        sink: Some(sink),
                        xid,
                    };
                    let reply = call.await;
                    if let Some(sink) = guard.sink.take() {
                        sink.send(reply).await;
                    }
                });
                None
            }
            Err(_) => {
                observe::procedure_panicked(Side::OncServer, xid);
                Some((sink, fault_reply(xid, Fault::SystemErr)))
            }
        }
    }

    /// Decides what to do with a record: run it, answer it from the header
    /// alone, or drop it (replies and undecodable headers).
    fn admit(&self, record: &[u8], peer: Peer) -> Admit {
        let inner = &self.inner;
        let (header, args) = match MessageHeader::decode_from(record, &inner.config.limits) {
            Ok((MessageHeader::Call(call), args)) => (call, args),
            Ok((MessageHeader::Reply(_), _)) => return Admit::Ignore,
            Err(error) => {
                observe::bad_call_header(&peer, &error);
                // A call whose credential or verifier is malformed.
                return match (super::wire::xid_of(record), record.get(4..8)) {
                    (Some(xid), Some([0, 0, 0, 0])) => Admit::Answer(header_only(
                        &ReplyHeader::denied(xid, RejectStat::AuthError(AuthStat::BadCred)),
                    )),
                    _ => Admit::Ignore,
                };
            }
        };
        let xid = header.xid;
        let deny = |why| Admit::Answer(header_only(&ReplyHeader::denied(xid, why)));
        let refuse = |status| Admit::Answer(header_only(&ReplyHeader::accepted(xid, status)));
        if header.rpc_version != RPC_VERSION {
            return deny(RejectStat::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            });
        }
        let auth_sys = match header.credential.flavor {
            flavor::AUTH_NONE => None,
            flavor::AUTH_SYS => {
                match AuthSys::from_xdr_with(&header.credential.body, &inner.config.limits) {
                    Ok(sys) => Some(sys),
                    Err(error) => {
                        observe::bad_call_header(&peer, &error);
                        return deny(RejectStat::AuthError(AuthStat::BadCred));
                    }
                }
            }
            _ => return deny(RejectStat::AuthError(AuthStat::RejectedCred)),
        };
        let Some(service) = inner.services.get(&(header.program, header.version)) else {
            let versions = inner.versions.get(&header.program).copied();
            observe::unknown_program(
                Side::OncServer,
                &peer,
                xid,
                header.program,
                header.version,
                versions,
            );
            return match versions.as_ref() {
                Some(&(low, high)) => refuse(AcceptStat::ProgMismatch { low, high }),
                None => refuse(AcceptStat::ProgUnavail),
            };
        };
        let args_at = record.len() - args.len();
        let cx = CallContext {
            header,
            auth_sys,
            peer,
            limits: inner.config.limits,
        };
        Admit::Run(cx, args_at, Arc::clone(service))
    }
}

enum Admit {
    Run(CallContext, usize, Arc<dyn Dispatch>),
    Answer(Vec<u8>),
    Ignore,
}

/// Where a reply goes.
enum Sink {
    /// The connection's task, which writes it.
    Stream(mpsc::Sender<Vec<u8>>),
    /// Back to the datagram's sender.
    Datagram(Arc<UdpSocket>, SocketAddr),
}

impl Sink {
    /// Sends a reply record whose first 4 bytes are reserved for the mark.
    async fn send(self, mut record: Vec<u8>) {
        match self {
            Sink::Stream(tx) => {
                if let Some(framed) = frame_reply(record) {
                    // Fails only when the connection is already closing.
                    let _ = tx.send(framed).await;
                }
            }
            Sink::Datagram(socket, to) => {
                // An rpcgen server's `svc_sendreply` fails on a reply over
                // its send buffer and it answers `svcerr_systemerr`, so the
                // caller learns at once instead of retransmitting.
                let len = record.len() - 4;
                if len > MAX_DATAGRAM {
                    let xid = xid_of(&record);
                    observe::datagram_reply_too_large(&Peer::Udp(to), xid, len, MAX_DATAGRAM);
                    record = fault_reply(xid, Fault::SystemErr);
                }
                if let Err(error) = socket.send_to(&record[4..], to).await {
                    observe::write_failed(Side::OncServer, &Peer::Udp(to), &error);
                }
            }
        }
    }
}

/// Writes the record mark into a reply's first 4 bytes; a reply over the
/// largest record is dropped and reported.
fn frame_reply(mut record: Vec<u8>) -> Option<Vec<u8>> {
    if frame_in_place(&mut record).is_ok() {
        Some(record)
    } else {
        observe::reply_too_large(Side::OncServer, xid_of(&record), record.len());
        None
    }
}

/// Answers SYSTEM_ERR if a procedure panics, so its caller is not left
/// waiting for a reply that never comes.
struct PanicGuard {
    sink: Option<Sink>,
    xid: u32,
}

impl Drop for PanicGuard {
    fn drop(&mut self) {
        let Some(sink) = self.sink.take() else { return };
        observe::procedure_panicked(Side::OncServer, self.xid);
        let mut reply = fault_reply(self.xid, Fault::SystemErr);
        match sink {
            Sink::Stream(tx) => {
                if frame_in_place(&mut reply).is_ok() {
                    let _ = tx.try_send(reply);
                }
            }
            Sink::Datagram(socket, to) => {
                let _ = socket.try_send_to(&reply[4..], to);
            }
        }
    }
}

/// The xid of a reply record (after the room for its mark).
fn xid_of(record: &[u8]) -> u32 {
    record.get(4..).and_then(super::wire::xid_of).unwrap_or(0)
}

/// A reply record (with room for the mark) carrying only a header.
fn header_only(reply: &ReplyHeader) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + reply.encoded_len());
    out.resize(4, 0);
    // Headers this module builds have no variable-length fields over a bound.
    let _ = reply.encode(&mut out);
    out
}

fn fault_reply(xid: u32, fault: Fault) -> Vec<u8> {
    header_only(&match fault {
        Fault::ProcUnavail => ReplyHeader::accepted(xid, AcceptStat::ProcUnavail),
        Fault::GarbageArgs => ReplyHeader::accepted(xid, AcceptStat::GarbageArgs),
        Fault::SystemErr => ReplyHeader::accepted(xid, AcceptStat::SystemErr),
        Fault::Auth(stat) => ReplyHeader::denied(xid, RejectStat::AuthError(stat)),
    })
}

/// Fills the header in front of results made by [`encode_results`].
fn write_success_header(reply: &mut [u8], xid: u32) {
    // xid, REPLY, MSG_ACCEPTED, AUTH_NONE, empty verifier body, SUCCESS.
    let words = [xid, 1, 0, flavor::AUTH_NONE, 0, 0];
    for (slot, word) in reply[4..RESULTS_OFFSET].chunks_exact_mut(4).zip(words) {
        slot.copy_from_slice(&word.to_be_bytes());
    }
}
