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
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
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
use crate::stream_io::{self, BATCH_BYTES, StallClock, append, flush};
use crate::{Limits, XdrDecode, XdrEncode};

mod stop;
use stop::Stop;

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
    let len = RESULTS_OFFSET + results.encoded_len() + 4;
    let mut out = stream_io::spare_buffer();
    if out.capacity() < len {
        out = Vec::with_capacity(len);
    }
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
                services: self.services.into_iter().collect(),
                versions,
                shutdown: Stop::default(),
            }),
        }
    }
}

struct Inner {
    config: ServerConfig,
    /// Searched in order for each call: a server answers a few program
    /// versions, which a scan finds sooner than a hash map hashes a key.
    services: Vec<((u32, u32), Arc<dyn Dispatch>)>,
    /// Lowest and highest version of each program, for PROG_MISMATCH.
    versions: HashMap<u32, (u32, u32)>,
    concurrency: Arc<Semaphore>,
    shutdown: Stop,
}

/// An ONC RPC server. Clones share the services, limits and shutdown.
///
/// It runs on any tokio runtime with I/O and time enabled. The flavour is
/// a trade-off: on a current-thread runtime each call costs fewer
/// instructions (13% fewer at one call in flight over TCP, 4% with 64
/// connections, by callgrind; BENCHMARKS.md) since no worker keeps
/// statistics or looks for work to steal when it sleeps, but every call
/// runs on that one thread. Procedures that compute, or loads above one
/// core, want the multi-thread runtime.
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
        // One task reads and writes, never both at once: no split halves,
        // whose every read and write takes a lock.
        let mut stream = std::pin::pin!(stream);
        let max_in_flight = config.max_in_flight.max(1);
        let mut waiting = WaitingCalls::new(2 * max_in_flight);
        let in_flight = Arc::new(Semaphore::new(max_in_flight));
        let mut records = RecordReader::new(config.max_record);
        let mut stall = StallClock::new(config.partial_message_timeout);
        let timeout_set = config.partial_message_timeout.is_some();
        let mut stop = self.inner.shutdown.waiter();
        // Framed replies not yet written; taken (not kept) by each write.
        let mut out = Vec::new();
        let mut writable = true;
        'connection: loop {
            // What to wait for, looked at in this order each time the task
            // wakes: a hand-written poll instead of `select!`, whose
            // random start and per-branch futures cost more than the
            // looks themselves at one call per wake-up.
            let stall_armed = timeout_set && records.is_mid_record();
            let woke = {
                let overdue = stall.overdue();
                let mut overdue = std::pin::pin!(overdue);
                // Read into the record reader's own buffer, sized to what
                // is coming: an idle connection holds a few hundred bytes.
                // Sized once per wait, not at each of its wake-ups.
                let read_into = records.read_buffer();
                std::future::poll_fn(|cx| {
                    if stop.poll_begun(cx).is_ready() {
                        return Poll::Ready(Woke::Stop);
                    }
                    if let Poll::Ready(reply) = waiting.poll_reply(cx) {
                        return Poll::Ready(Woke::Reply(reply));
                    }
                    let read = std::pin::pin!(stream.read_buf(&mut *read_into));
                    if let Poll::Ready(read) = read.poll(cx) {
                        return Poll::Ready(Woke::Read(read));
                    }
                    if stall_armed && overdue.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Woke::Stalled);
                    }
                    Poll::Pending
                })
                .await
            };
            match woke {
                Woke::Read(Ok(0)) | Woke::Stop => break,
                Woke::Read(Ok(_)) => {}
                Woke::Read(Err(error)) => {
                    observe::read_failed(Side::OncServer, &peer, &error);
                    break;
                }
                Woke::Reply(reply) => {
                    append(&mut out, reply);
                    if let Err(error) = waiting.write(&mut stream, &mut out).await {
                        observe::write_failed(Side::OncServer, &peer, &error);
                        writable = false;
                        break;
                    }
                    continue;
                }
                Woke::Stalled => {
                    observe::stalled(Side::OncServer, &peer, stall.timeout());
                    break;
                }
            }
            let mut finished_one = false;
            loop {
                match records.next_record() {
                    Ok(Some(record)) => {
                        finished_one = true;
                        if out.len() >= BATCH_BYTES || waiting.queued() >= max_in_flight {
                            if let Err(error) = waiting.write(&mut stream, &mut out).await {
                                observe::write_failed(Side::OncServer, &peer, &error);
                                writable = false;
                                break 'connection;
                            }
                        }
                        // At the limit, this connection is not read
                        // until one of its calls finishes.
                        if in_flight.available_permits() == 0 && in_flight.acquire().await.is_err()
                        {
                            break 'connection;
                        }
                        let all = &self.inner.concurrency;
                        let all_held = if all.available_permits() == 0 {
                            let Ok(permit) = Arc::clone(all).acquire_owned().await else {
                                break 'connection;
                            };
                            Some(permit)
                        } else {
                            None
                        };
                        let reply = match self.admit(&record, peer.clone()) {
                            Admit::Run(cx, args_at, service) => {
                                let sink = || Sink::Stream(waiting.sender());
                                let slots = Slots {
                                    own: &in_flight,
                                    all,
                                    all_held,
                                };
                                match run_call(cx, args_at, service, record, sink, slots) {
                                    Ran::Now(reply, _) => reply,
                                    Ran::Later => {
                                        waiting.started();
                                        continue;
                                    }
                                }
                            }
                            Admit::Answer(reply) => reply,
                            Admit::Ignore => continue,
                        };
                        append(&mut out, frame_reply(reply));
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
            if let Err(error) = waiting.write(&mut stream, &mut out).await {
                observe::write_failed(Side::OncServer, &peer, &error);
                writable = false;
                break;
            }
        }
        if !writable {
            return;
        }
        // Calls in progress finish and their replies are written, and
        // those of calls that ran here before a read error or a bad record.
        if let Err(error) = waiting.finish(&mut stream, &mut out).await {
            observe::write_failed(Side::OncServer, &peer, &error);
            return;
        }
        let _ = stream.shutdown().await;
    }

    /// Serves calls arriving as datagrams on `socket` until shutdown.
    ///
    /// A thread of its own (not one of the blocking pool, which it would
    /// hold for as long as it serves) receives the datagrams in blocking
    /// `recv_from` calls and answers each call that finishes
    /// without waiting right there, as rpcgen's `svc_run` does: one system
    /// call to receive and one to send per call. Left in the runtime's
    /// reactor, the socket's edge-triggered readiness woke the reactor's
    /// thread for every datagram that arrived under load: one more wake-up
    /// and `epoll_wait` per call. A call that waits goes on in its own task
    /// and sends its reply itself.
    pub async fn serve_udp(&self, socket: UdpSocket) -> io::Result<()> {
        // Out of the reactor: its readiness is no longer tracked.
        let socket = socket.into_std()?;
        socket.set_nonblocking(false)?;
        let receiving = Receiving {
            socket: Arc::new(socket),
            stopping: Arc::new(AtomicBool::new(false)),
        };
        let calls = Arc::new(Semaphore::new(self.inner.config.max_concurrency.max(1)));
        let (ended_tx, mut ended_rx) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("xdrgen-udp".into())
            .spawn({
                let server = self.clone();
                let socket = Arc::clone(&receiving.socket);
                let stopping = Arc::clone(&receiving.stopping);
                let calls = Arc::clone(&calls);
                // Calls that wait are spawned on this runtime.
                let runtime = tokio::runtime::Handle::current();
                move || {
                    let _runtime = runtime.enter();
                    let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        server.receive_datagrams(&socket, &stopping, &calls);
                    }));
                    let _ = ended_tx.send(ended);
                }
            })?;
        let ended_early = tokio::select! {
            () = self.inner.shutdown.begun() => None,
            // It returns only when told to stop, so this is a panic.
            ended = &mut ended_rx => Some(ended),
        };
        // Dropped, it stops the receiving thread (also when this future is
        // dropped before the shutdown).
        drop(receiving);
        let ended = match ended_early {
            Some(ended) => ended,
            None => ended_rx.await,
        };
        if let Ok(Err(panic)) = ended {
            std::panic::resume_unwind(panic);
        }
        // Calls still running send their replies before this returns.
        let limit = u32::try_from(self.inner.config.max_concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = calls.acquire_many(limit).await;
        Ok(())
    }

    /// The receiving thread of [`Server::serve_udp`], until `stopping`.
    fn receive_datagrams(
        &self,
        socket: &Arc<std::net::UdpSocket>,
        stopping: &AtomicBool,
        calls: &Arc<Semaphore>,
    ) {
        let mut buf = vec![0; MAX_DATAGRAM];
        let mut spare: Option<Vec<u8>> = None;
        let mut overloaded = observe::RateLimited::new(Duration::from_secs(10));
        loop {
            let received = socket.recv_from(&mut buf);
            if stopping.load(Ordering::Acquire) {
                return;
            }
            let (n, from) = match received {
                Ok(received) => received,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // ICMP errors from earlier replies; keep serving.
                Err(error) => {
                    observe::datagram_receive_failed(&error);
                    continue;
                }
            };
            // Under overload a datagram is dropped, as UDP allows; the
            // client retransmits.
            if !Slots::room(calls, &self.inner.concurrency) {
                if let Some(count) = overloaded.tick() {
                    observe::datagrams_dropped(self.inner.config.max_concurrency, count);
                }
                continue;
            }
            let datagram = &buf[..n];
            let reply = match self.admit(datagram, Peer::Udp(from)) {
                Admit::Run(cx, args_at, service) => {
                    // Owned: a call that waits outlives the buffer. The
                    // record of the last call that did not is reused.
                    let mut record = spare.take().unwrap_or_default();
                    record.clear();
                    record.extend_from_slice(datagram);
                    let sink = || Sink::Datagram(Arc::clone(socket), from);
                    let slots = Slots {
                        own: calls,
                        all: &self.inner.concurrency,
                        all_held: None,
                    };
                    match run_call(cx, args_at, service, record, sink, slots) {
                        Ran::Now(reply, record) => {
                            spare = record;
                            reply
                        }
                        Ran::Later => continue,
                    }
                }
                Admit::Answer(reply) => reply,
                Admit::Ignore => continue,
            };
            let reply = fit_datagram(reply, from);
            if let Err(error) = socket.send_to(&reply[4..], from) {
                observe::write_failed(Side::OncServer, &Peer::Udp(from), &error);
            }
            stream_io::recycle(reply);
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
        let key = (header.program, header.version);
        let Some((_, service)) = inner.services.iter().find(|(k, _)| *k == key) else {
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

/// The semaphores a call counts against: its connection's (or UDP
/// socket's) and the server's. A call that finishes in its first poll
/// takes no permits: it runs here, one at a time, after its caller saw
/// room under both. A call that waits takes them as it goes on, and runs
/// without the server-wide one if calls elsewhere took the last of it
/// meanwhile (one call per thread running a first poll, at most).
struct Slots<'a> {
    own: &'a Arc<Semaphore>,
    all: &'a Arc<Semaphore>,
    /// The server-wide permit, when the caller had to wait for one.
    all_held: Option<OwnedSemaphorePermit>,
}

impl Slots<'_> {
    /// Whether a call may start now under both limits.
    fn room(own: &Semaphore, all: &Semaphore) -> bool {
        own.available_permits() > 0 && all.available_permits() > 0
    }
}

/// What [`run_call`] did with a call.
enum Ran {
    /// It finished: its reply (unframed, with room for the record mark),
    /// and its record back for reuse (none after a panic).
    Now(Vec<u8>, Option<Vec<u8>>),
    /// It waits, in its own task, which sends the reply itself.
    Later,
}

/// Runs an admitted call here until it first waits, then on a task that
/// sends its reply through the sink `sink` makes.
fn run_call(
    cx: CallContext,
    args_at: usize,
    service: Arc<dyn Dispatch>,
    record: Vec<u8>,
    sink: impl FnOnce() -> Sink,
    slots: Slots<'_>,
) -> Ran {
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
        let result = service.dispatch(&cx, &record[args_at..]).await;
        let reply = match result {
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
        };
        (reply, record)
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
        Ok(Poll::Ready((reply, record))) => Ran::Now(reply, Some(record)),
        Ok(Poll::Pending) => {
            // Only the caller takes from `own`, and it saw room: this
            // succeeds. Calls elsewhere may have taken the last of `all`
            // since. The call has started and may hold locks its service
            // shares with them, so it never waits for a permit: without
            // one it runs over the bound, as a first poll does.
            let own = Arc::clone(slots.own).try_acquire_owned().ok();
            let all = slots
                .all_held
                .or_else(|| Arc::clone(slots.all).try_acquire_owned().ok());
            let sink = sink();
            // `serve_udp` returns once every permit of its socket is back,
            // so a datagram's permit is held until its reply has left.
            let own_until_sent = matches!(sink, Sink::Datagram(..));
            tokio::spawn(async move {
                // Dropped without a reply (a panic), it answers SYSTEM_ERR.
                let mut guard = PanicGuard {
                    sink: Some(sink),
                    xid,
                };
                let (reply, _) = call.await;
                // Free before the reply leaves: a caller that has its
                // reply finds the room its call took.
                drop(all);
                let own = if own_until_sent {
                    own
                } else {
                    drop(own);
                    None
                };
                if let Some(sink) = guard.sink.take() {
                    sink.send(reply).await;
                }
                drop(own);
            });
            Ran::Later
        }
        Err(_) => {
            observe::procedure_panicked(Side::OncServer, xid);
            Ran::Now(fault_reply(xid, Fault::SystemErr), None)
        }
    }
}

/// What woke a connection's task.
enum Woke {
    Read(io::Result<usize>),
    /// A reply from a call that went on in its own task.
    Reply(Vec<u8>),
    Stalled,
    Stop,
}

/// The calls of one connection that went on in their own tasks, and the
/// channel their replies come back on. Each call holds a sender until it
/// has sent exactly one reply (SYSTEM_ERR if it panics). The channel is
/// made when the first such call starts and dropped once every one has
/// replied: a connection whose calls finish inline, as most do, holds no
/// channel (1.3 KiB in tokio) while idle, and looks at none per wake-up.
struct WaitingCalls {
    count: usize,
    /// The channel's room: the connection empties it before it holds
    /// `max_in_flight` replies, and at most that many calls run to add
    /// one each, so twice that means a call never waits for room.
    capacity: usize,
    channel: Option<ReplyChannel>,
}

/// Both ends: the connection keeps a sender so that the channel cannot end
/// while calls may still start.
type ReplyChannel = (mpsc::Sender<Vec<u8>>, mpsc::Receiver<Vec<u8>>);

impl WaitingCalls {
    fn new(capacity: usize) -> WaitingCalls {
        WaitingCalls {
            count: 0,
            capacity,
            channel: None,
        }
    }

    /// A sender for a call about to go on in its own task.
    fn sender(&mut self) -> mpsc::Sender<Vec<u8>> {
        let capacity = self.capacity;
        let (tx, _) = self.channel.get_or_insert_with(|| mpsc::channel(capacity));
        tx.clone()
    }

    /// Counts the call that took the last [`sender`](Self::sender).
    fn started(&mut self) {
        self.count += 1;
    }

    /// A reply, once one came; never ready with no call waiting.
    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Vec<u8>> {
        match &mut self.channel {
            Some((_, rx)) if self.count > 0 => match rx.poll_recv(cx) {
                Poll::Ready(Some(reply)) => {
                    self.count -= 1;
                    Poll::Ready(reply)
                }
                // It cannot end while this side holds a sender.
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            },
            _ => Poll::Pending,
        }
    }

    /// Replies that came and were not taken yet.
    fn queued(&self) -> usize {
        self.channel.as_ref().map_or(0, |(_, rx)| rx.len())
    }

    /// Writes `out` and every reply that came, in batches; the channel
    /// goes once no call waits.
    async fn write<W: AsyncWrite>(
        &mut self,
        stream: &mut Pin<&mut W>,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        let Some((_, rx)) = &mut self.channel else {
            return write_out(stream, out).await;
        };
        let taken = flush(stream, out, rx).await?;
        self.count = self.count.saturating_sub(taken);
        if self.count == 0 {
            self.channel = None;
        }
        Ok(())
    }

    /// Writes `out`, then the replies of the calls still running as they
    /// come, until the last has sent.
    async fn finish<W: AsyncWrite>(
        &mut self,
        stream: &mut Pin<&mut W>,
        out: &mut Vec<u8>,
    ) -> io::Result<()> {
        write_out(stream, out).await?;
        let Some((tx, mut rx)) = self.channel.take() else {
            return Ok(());
        };
        drop(tx);
        while let Some(reply) = rx.recv().await {
            append(out, reply);
            flush(stream, out, &mut rx).await?;
        }
        Ok(())
    }
}

/// Writes the replies in `out`, if any, in one write; a small buffer is
/// kept for this thread's next reply.
async fn write_out<W: AsyncWrite>(stream: &mut Pin<&mut W>, out: &mut Vec<u8>) -> io::Result<()> {
    if out.is_empty() {
        return Ok(());
    }
    let batch = std::mem::take(out);
    stream.write_all(&batch).await?;
    // A TLS or other buffering stream sends its tail now, not with the
    // next reply.
    stream.flush().await?;
    stream_io::recycle(batch);
    Ok(())
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
    Datagram(Arc<std::net::UdpSocket>, SocketAddr),
}

impl Sink {
    /// Sends a reply record whose first 4 bytes are reserved for the mark.
    async fn send(self, record: Vec<u8>) {
        match self {
            Sink::Stream(tx) => {
                // Fails only when the connection is already closing.
                let _ = tx.send(frame_reply(record)).await;
            }
            Sink::Datagram(socket, to) => {
                let record = fit_datagram(record, to);
                let sent = match send_datagram_now(&socket, &record[4..], to) {
                    // The socket blocks (for its receiving thread): the
                    // send waits for room off the runtime's workers.
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        tokio::task::spawn_blocking(move || socket.send_to(&record[4..], to))
                            .await
                            .unwrap_or_else(|join| Err(io::Error::other(join)))
                    }
                    sent => sent,
                };
                if let Err(error) = sent {
                    observe::write_failed(Side::OncServer, &Peer::Udp(to), &error);
                }
            }
        }
    }
}

/// A UDP reply, or SYSTEM_ERR in its place when it is over the largest
/// datagram: an rpcgen server's `svc_sendreply` fails on a reply over its
/// send buffer and it answers `svcerr_systemerr`, so the caller learns at
/// once instead of retransmitting.
fn fit_datagram(record: Vec<u8>, to: SocketAddr) -> Vec<u8> {
    let len = record.len() - 4;
    if len <= MAX_DATAGRAM {
        return record;
    }
    let xid = xid_of(&record);
    observe::datagram_reply_too_large(&Peer::Udp(to), xid, len, MAX_DATAGRAM);
    fault_reply(xid, Fault::SystemErr)
}

/// Sends a datagram without waiting for room in the send buffer, on a
/// socket that otherwise blocks.
#[cfg(unix)]
fn send_datagram_now(
    socket: &std::net::UdpSocket,
    datagram: &[u8],
    to: SocketAddr,
) -> io::Result<usize> {
    rustix::net::sendto(socket, datagram, rustix::net::SendFlags::DONTWAIT, &to)
        .map_err(io::Error::from)
}

/// Sends a datagram; without a per-call non-blocking flag it may wait
/// briefly for room in the send buffer.
#[cfg(not(unix))]
fn send_datagram_now(
    socket: &std::net::UdpSocket,
    datagram: &[u8],
    to: SocketAddr,
) -> io::Result<usize> {
    socket.send_to(datagram, to)
}

/// The socket of [`Server::serve_udp`] while its thread receives; dropped,
/// it stops that thread.
struct Receiving {
    socket: Arc<std::net::UdpSocket>,
    stopping: Arc<AtomicBool>,
}

impl Drop for Receiving {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::Release);
        // Linux ends a blocked or later `recv_from` on a socket shut for
        // reading, connected or not (the call itself reports ENOTCONN).
        #[cfg(unix)]
        let _ = rustix::net::shutdown(&*self.socket, rustix::net::Shutdown::Read);
        // Elsewhere, an empty datagram to itself wakes the thread.
        #[cfg(not(target_os = "linux"))]
        if let Ok(mut to) = self.socket.local_addr() {
            if to.ip().is_unspecified() {
                to.set_ip(match to {
                    SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                    SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
                });
            }
            if let Err(error) = send_datagram_now(&self.socket, &[], to) {
                observe::write_failed(Side::OncServer, &Peer::Udp(to), &error);
            }
        }
    }
}

/// Writes the record mark into a reply's first 4 bytes. A reply over the
/// largest record is reported and answered SYSTEM_ERR instead, as
/// rpcgen's servers answer a failed `svc_sendreply`: the caller is not
/// left waiting, and a call that waited still sends its one reply.
fn frame_reply(mut record: Vec<u8>) -> Vec<u8> {
    if frame_in_place(&mut record).is_ok() {
        return record;
    }
    let xid = xid_of(&record);
    observe::reply_too_large(Side::OncServer, xid, record.len());
    let mut fault = fault_reply(xid, Fault::SystemErr);
    // A fault reply is a few words: it always fits.
    let _ = frame_in_place(&mut fault);
    fault
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
                let _ = send_datagram_now(&socket, &reply[4..], to);
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

#[cfg(test)]
mod udp_tests {
    use super::*;
    use crate::XdrString;
    use crate::rpc::message::ReplyBody;
    use std::string::String;
    use tokio::sync::Notify;

    const PROGRAM: u32 = 0x2000_7777;
    const NULL: u32 = 0;
    const HELD: u32 = 1;
    const OVERSIZED: u32 = 2;

    /// NULL answers at once, HELD once `release` is notified, OVERSIZED
    /// with results over the largest datagram.
    #[derive(Default)]
    struct Service {
        started: Arc<Notify>,
        release: Arc<Notify>,
    }

    impl Dispatch for Service {
        fn program(&self) -> u32 {
            PROGRAM
        }
        fn version(&self) -> u32 {
            1
        }
        fn dispatch<'a>(&'a self, cx: &'a CallContext, _: &'a [u8]) -> DispatchFuture<'a> {
            Box::pin(async move {
                match cx.procedure() {
                    NULL => encode_results(&()),
                    HELD => {
                        self.started.notify_one();
                        self.release.notified().await;
                        encode_results(&7u32)
                    }
                    OVERSIZED => {
                        encode_results(&XdrString::from(String::from("x").repeat(MAX_DATAGRAM)))
                    }
                    _ => Err(Fault::ProcUnavail),
                }
            })
        }
    }

    struct Running {
        server: Server,
        started: Arc<Notify>,
        release: Arc<Notify>,
        addr: SocketAddr,
        task: tokio::task::JoinHandle<io::Result<()>>,
        client: UdpSocket,
    }

    async fn start(max_concurrency: usize) -> Running {
        let service = Service::default();
        let (started, release) = (Arc::clone(&service.started), Arc::clone(&service.release));
        let config = ServerConfig {
            max_concurrency,
            ..ServerConfig::default()
        };
        let server = Server::builder(config).service(service).build();
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let task = tokio::spawn({
            let server = server.clone();
            async move { server.serve_udp(socket).await }
        });
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        Running {
            server,
            started,
            release,
            addr,
            task,
            client,
        }
    }

    impl Running {
        async fn call(&self, xid: u32, procedure: u32) {
            let header = CallHeader::new(xid, PROGRAM, 1, procedure);
            let call = super::super::wire::encode_call(&header, &(), false).unwrap();
            self.client.send_to(&call, self.addr).await.unwrap();
        }

        /// The next reply's xid and accept status, or `None` after `wait`.
        async fn reply(&self, wait: Duration) -> Option<(u32, AcceptStat)> {
            let mut buf = vec![0; MAX_DATAGRAM];
            let n = tokio::time::timeout(wait, self.client.recv(&mut buf))
                .await
                .ok()?
                .unwrap();
            let (header, _) = MessageHeader::decode_from(&buf[..n], &Limits::default()).unwrap();
            let MessageHeader::Reply(ReplyHeader {
                xid,
                body: ReplyBody::Accepted { status, .. },
            }) = header
            else {
                panic!("not an accepted reply: {header:?}");
            };
            Some((xid, status))
        }
    }

    const SOON: Duration = Duration::from_secs(5);

    // A current-thread runtime: the waiting call's task runs on the
    // runtime's only thread while the receiving thread goes on.
    #[tokio::test]
    async fn a_call_that_waits_is_answered_after_later_ones_and_shutdown_waits_for_it() {
        let r = start(16).await;
        r.call(1, HELD).await;
        r.started.notified().await;
        r.call(2, NULL).await;
        assert_eq!(r.reply(SOON).await, Some((2, AcceptStat::Success)));
        r.server.shutdown();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !r.task.is_finished(),
            "serve_udp returned with a call running"
        );
        r.release.notify_one();
        assert_eq!(r.reply(SOON).await, Some((1, AcceptStat::Success)));
        tokio::time::timeout(SOON, r.task)
            .await
            .expect("serve_udp returns once its calls are answered")
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_datagram_over_the_limit_is_dropped() {
        let r = start(1).await;
        r.call(1, HELD).await;
        r.started.notified().await;
        r.call(2, NULL).await;
        assert_eq!(r.reply(Duration::from_millis(300)).await, None);
        r.release.notify_one();
        assert_eq!(r.reply(SOON).await, Some((1, AcceptStat::Success)));
        r.call(3, NULL).await;
        assert_eq!(r.reply(SOON).await, Some((3, AcceptStat::Success)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reply_over_a_datagram_is_system_err() {
        let r = start(16).await;
        r.call(1, OVERSIZED).await;
        assert_eq!(r.reply(SOON).await, Some((1, AcceptStat::SystemErr)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_serve_udp_stops_its_thread_and_closes_the_socket() {
        let r = start(16).await;
        r.call(1, NULL).await;
        assert_eq!(r.reply(SOON).await, Some((1, AcceptStat::Success)));
        r.task.abort();
        assert!(r.task.await.unwrap_err().is_cancelled());
        // The receiving thread held the socket: once it has stopped, the
        // address is free again.
        let rebound = async {
            loop {
                match std::net::UdpSocket::bind(r.addr) {
                    Ok(socket) => return socket,
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        };
        tokio::time::timeout(SOON, rebound)
            .await
            .expect("the socket is closed after serve_udp is dropped");
    }
}
