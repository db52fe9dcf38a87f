//! The async client: one connection carries many calls at once. The
//! calls themselves read the socket, one at a time (buck passing, as
//! libvirt's client does it with threads), and hand each other replies.

// A no_std crate: what the prelude would give is imported by hand.
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use std::net::SocketAddr;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::blocking::unspecified_like;
use super::endpoint::{self, Endpoint, PMAP_PORT, Protocol, SourcePort};
use super::error::RpcError;
use super::message::CallHeader;
use super::names::ProgramNames;
use super::record::{RecordError, RecordReader};
use super::wire::{
    ClientConfig, DATAGRAM_RECEIVE_BUFFER, check_datagram_call, decode_reply, encode_call, xid_of,
};
use crate::observe::{self, Side};
use crate::stream_io::SharedIoError;
use crate::{XdrDecode, XdrEncode};

/// A call's reply, or why it has none.
type Reply = Result<Vec<u8>, RpcError>;

/// Where a call's reply goes.
enum Slot {
    /// No reply yet; the waker of the call's task while it waits for
    /// another call to read for it.
    Waiting(Option<Waker>),
    /// Read by whichever call held the buck.
    Done(Reply),
}

/// Calls waiting for their replies, by xid, and the read side while no
/// call reads. Once the connection is gone it holds the reason, and new
/// calls fail at once with it.
#[derive(Default)]
struct Conn {
    calls: HashMap<u32, Slot>,
    /// The socket's read side, while no call holds the buck.
    idle_reader: Option<Box<ReadSide>>,
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

impl Conn {
    /// Fails every waiting call with `why` and refuses new ones. The first
    /// reason stays: a write failing after the read did says nothing new.
    fn close(&mut self, why: Closed, wake: &mut Vec<Waker>) {
        let why = self.closed.get_or_insert(why).clone();
        for slot in self.calls.values_mut() {
            if let Slot::Waiting(waker) = slot {
                wake.extend(waker.take());
                *slot = Slot::Done(Err(why.error()));
            }
        }
    }

    /// Hands a reply to its call; replies nobody waits for (timed out,
    /// dropped or unknown xids, a retransmitted call's second reply) are
    /// dropped.
    fn route(&mut self, incoming: Incoming, wake: &mut Vec<Waker>) {
        let (xid, reply) = match incoming {
            Incoming::Reply(message) => {
                let Some(xid) = xid_of(&message) else { return };
                (xid, Ok(message))
            }
            Incoming::Truncated { xid, len } => (xid, Err(RpcError::ReplyTruncated { max: len })),
        };
        if let Some(slot @ Slot::Waiting(_)) = self.calls.get_mut(&xid) {
            if let Slot::Waiting(waker) = slot {
                wake.extend(waker.take());
            }
            *slot = Slot::Done(reply);
        }
    }

    /// Wakes one call still waiting, to take the idle read side: the buck
    /// passes on, so someone reads while replies are owed.
    fn pass_buck(&mut self, wake: &mut Vec<Waker>) {
        if self.idle_reader.is_none() {
            return;
        }
        let next = self.calls.values_mut().find_map(|slot| match slot {
            Slot::Waiting(waker) => waker.take(),
            Slot::Done(_) => None,
        });
        wake.extend(next);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one read brought.
enum Incoming {
    Reply(Vec<u8>),
    /// A datagram that filled the receive buffer: cut short.
    Truncated {
        xid: u32,
        len: usize,
    },
}

/// The socket's read side: whoever holds it reads for every call.
struct ReadSide {
    source: Source,
    /// What the last read brought, kept to reuse its allocation.
    batch: Vec<Incoming>,
}

enum Source {
    Stream {
        read: Pin<Box<dyn AsyncRead + Send>>,
        records: RecordReader,
    },
    Datagram {
        socket: Arc<UdpSocket>,
        buf: Vec<u8>,
    },
}

impl Source {
    /// Reads what the socket has, and puts every complete message into
    /// `out`. `Pending` (with the waker registered) when nothing complete
    /// came; an error once the connection is over (`out` may still hold
    /// replies that came before the end).
    fn poll_batch(
        &mut self,
        cx: &mut Context<'_>,
        out: &mut Vec<Incoming>,
    ) -> Poll<Result<(), Closed>> {
        match self {
            Source::Stream { read, records } => loop {
                // The reader's own buffer, sized to what is coming: a
                // connection with no reply on the way holds a few hundred
                // bytes, and a read that fills its room is followed by one
                // with 64 KiB.
                let buf = records.read_buffer();
                let room = buf.capacity() - buf.len();
                let read = std::pin::pin!(read.as_mut().read_buf(buf)).poll(cx);
                match read {
                    Poll::Pending if out.is_empty() => return Poll::Pending,
                    Poll::Pending => return Poll::Ready(Ok(())),
                    Poll::Ready(Ok(0)) => return Poll::Ready(Err(Closed::ByPeer)),
                    Poll::Ready(Err(e)) => {
                        observe::read_failed(Side::OncClient, &"", &e);
                        return Poll::Ready(Err(Closed::Io(SharedIoError::new(e))));
                    }
                    Poll::Ready(Ok(n)) => {
                        loop {
                            match records.next_record() {
                                Ok(Some(record)) => out.push(Incoming::Reply(record)),
                                Ok(None) => break,
                                // The stream cannot be resynchronised after
                                // a bad record.
                                Err(e) => {
                                    observe::bad_framing(Side::OncClient, &"", &e);
                                    return Poll::Ready(Err(Closed::Record(e)));
                                }
                            }
                        }
                        // A read short of its room took all there was.
                        if n < room && !out.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                    }
                }
            },
            Source::Datagram { socket, buf } => loop {
                let mut filled = ReadBuf::new(buf);
                match socket.poll_recv(cx, &mut filled) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) => {
                        let n = filled.filled().len();
                        let datagram = &buf[..n];
                        if n == buf.len() {
                            let Some(xid) = xid_of(datagram) else {
                                continue;
                            };
                            observe::reply_truncated(Side::OncClient, xid, n);
                            out.push(Incoming::Truncated { xid, len: n });
                        } else {
                            out.push(Incoming::Reply(datagram.to_vec()));
                        }
                        return Poll::Ready(Ok(()));
                    }
                    // ICMP port unreachable surfaces as ECONNREFUSED on a
                    // connected socket; the call's retransmissions go on.
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                    Poll::Ready(Err(e)) => {
                        observe::read_failed(Side::OncClient, &"", &e);
                        return Poll::Ready(Err(Closed::Io(SharedIoError::new(e))));
                    }
                }
            },
        }
    }
}

/// A call waiting for its reply. While no other call reads, it takes the
/// read side (the buck) and reads itself; otherwise it sleeps until the
/// call holding the buck routes its reply to it, or hands it the buck.
/// Dropped at any point, it removes its slot and gives back the buck.
struct ReplyWait<'a> {
    link: &'a Link,
    xid: u32,
    reader: Option<Box<ReadSide>>,
}

impl<'a> ReplyWait<'a> {
    /// Takes a slot for `xid` before the call goes out (its reply may come
    /// back at once). Taking the idle read side, it first reads what is
    /// already there: late replies to dropped calls, or the end of the
    /// connection, which fails this call before it is sent.
    fn register(link: &'a Link, xid: u32) -> Result<Self, RpcError> {
        let reader = {
            let mut conn = lock(&link.conn);
            if let Some(why) = &conn.closed {
                return Err(why.error());
            }
            conn.calls.insert(xid, Slot::Waiting(None));
            conn.idle_reader.take()
        };
        let mut wait = ReplyWait { link, xid, reader };
        // A datagram socket has no end to find, and what it holds is read
        // by the first poll anyway.
        let stream = matches!(&wait.reader, Some(r) if matches!(r.source, Source::Stream { .. }));
        if stream {
            let mut cx = Context::from_waker(Waker::noop());
            if wait.read_and_route(&mut cx).is_ready() {
                let closed = lock(&link.conn).closed.as_ref().map(Closed::error);
                if let Some(error) = closed {
                    return Err(error);
                }
            }
        }
        Ok(wait)
    }

    /// Reads with the buck and routes what came; gives the buck back once
    /// this call's reply is in (or the connection is over). `Pending` when
    /// nothing came.
    fn read_and_route(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(reader) = self.reader.as_mut() else {
            return Poll::Ready(());
        };
        let mut batch = std::mem::take(&mut reader.batch);
        let polled = reader.source.poll_batch(cx, &mut batch);
        if polled.is_pending() {
            reader.batch = batch;
            return Poll::Pending;
        }
        let mut wake = Vec::new();
        {
            let mut conn = lock(&self.link.conn);
            for incoming in batch.drain(..) {
                conn.route(incoming, &mut wake);
            }
            reader.batch = batch;
            if let Poll::Ready(Err(why)) = polled {
                conn.close(why, &mut wake);
            }
            let answered = !matches!(conn.calls.get(&self.xid), Some(Slot::Waiting(_)));
            if answered {
                conn.idle_reader = self.reader.take();
                conn.pass_buck(&mut wake);
            }
        }
        for waker in wake {
            waker.wake();
        }
        Poll::Ready(())
    }
}

impl Future for ReplyWait<'_> {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let this = &mut *self;
        loop {
            if this.reader.is_none() {
                let mut conn = lock(&this.link.conn);
                let conn = &mut *conn;
                match conn.calls.get_mut(&this.xid) {
                    Some(Slot::Waiting(waker)) => match conn.idle_reader.take() {
                        Some(reader) => this.reader = Some(reader),
                        None => {
                            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                                *waker = Some(cx.waker().clone());
                            }
                            return Poll::Pending;
                        }
                    },
                    Some(Slot::Done(_)) => {
                        let Some(Slot::Done(reply)) = conn.calls.remove(&this.xid) else {
                            unreachable!("matched just above")
                        };
                        return Poll::Ready(reply);
                    }
                    // Only this call removes its slot.
                    None => return Poll::Ready(Err(RpcError::ConnectionClosed)),
                }
            }
            if this.read_and_route(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for ReplyWait<'_> {
    fn drop(&mut self) {
        let mut wake = Vec::new();
        {
            let mut conn = lock(&self.link.conn);
            conn.calls.remove(&self.xid);
            if let Some(reader) = self.reader.take() {
                conn.idle_reader = Some(reader);
            }
            // Also when this call did not hold the buck: it may have been
            // handed it and dropped before taking it.
            if !conn.calls.is_empty() {
                conn.pass_buck(&mut wake);
            }
        }
        for waker in wake {
            waker.wake();
        }
    }
}

/// The write side of a stream. A call with no other in flight writes its
/// record at once, from its own task; records that cannot go out at once,
/// and records of calls made while others are in flight (likely to be
/// joined by more), queue for the writer task, which writes them together.
struct WriteSide {
    sink: Pin<Box<dyn AsyncWrite + Send>>,
    queued: Vec<u8>,
    /// How much of `queued` is written.
    sent: usize,
    /// The writer task has (or is about to have) the queue.
    flushing: bool,
}

/// Most bytes kept for the write queue between batches.
const KEPT_QUEUE: usize = 64 * 1024;

impl WriteSide {
    /// Writes the queue until it is empty or the socket is full.
    fn poll_flush_queue(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.queued.len() {
            match self.sink.as_mut().poll_write(cx, &self.queued[self.sent..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => self.sent += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        self.queued.clear();
        if self.queued.capacity() > KEPT_QUEUE {
            self.queued = Vec::new();
        }
        self.sent = 0;
        self.flushing = false;
        Poll::Ready(Ok(()))
    }
}

/// What the calls and the writer task share.
struct Link {
    conn: Mutex<Conn>,
    write: Option<Mutex<WriteSide>>,
    /// Wakes the writer task when records queue.
    queued: Notify,
}

impl Link {
    fn new(reader: Source, write: Option<WriteSide>) -> Self {
        Link {
            conn: Mutex::new(Conn {
                idle_reader: Some(Box::new(ReadSide {
                    source: reader,
                    batch: Vec::new(),
                })),
                ..Conn::default()
            }),
            write: write.map(Mutex::new),
            queued: Notify::new(),
        }
    }

    fn others_in_flight(&self) -> bool {
        lock(&self.conn).calls.len() > 1
    }

    /// Sends a framed record: at once when it can, else through the
    /// writer task. A write error closes the connection.
    fn send(&self, record: Vec<u8>) -> Result<(), RpcError> {
        let Some(write) = &self.write else {
            unreachable!("records go over streams only")
        };
        let batch = self.others_in_flight();
        let mut w = lock(write);
        if w.flushing || batch {
            if w.queued.is_empty() {
                w.queued = record;
            } else {
                w.queued.extend_from_slice(&record);
            }
            if !w.flushing {
                w.flushing = true;
                self.queued.notify_one();
            }
            return Ok(());
        }
        w.queued = record;
        w.sent = 0;
        let mut cx = Context::from_waker(Waker::noop());
        match w.poll_flush_queue(&mut cx) {
            Poll::Ready(Ok(())) => Ok(()),
            Poll::Pending => {
                // The socket is full: the writer task finishes the record
                // (also if this call is dropped meanwhile).
                w.flushing = true;
                self.queued.notify_one();
                Ok(())
            }
            Poll::Ready(Err(e)) => {
                drop(w);
                Err(self.write_failed(e))
            }
        }
    }

    fn write_failed(&self, e: io::Error) -> RpcError {
        observe::write_failed(Side::OncClient, &"", &e);
        let mut wake = Vec::new();
        let error = {
            let mut conn = lock(&self.conn);
            conn.close(Closed::Io(SharedIoError::new(e)), &mut wake);
            conn.closed
                .as_ref()
                .map_or(RpcError::ConnectionClosed, Closed::error)
        };
        for waker in wake {
            waker.wake();
        }
        error
    }
}

/// Writes what queues, for as long as the connection lives.
async fn write_queued(link: Arc<Link>) {
    let Some(write) = &link.write else { return };
    loop {
        link.queued.notified().await;
        // Other calls waiting for replies are likely to send again soon:
        // the scheduler runs a task woken by the one running next (tokio's
        // LIFO slot), so without this the writer would wake for, and
        // write, each record on its own.
        if link.others_in_flight() {
            tokio::task::yield_now().await;
        }
        let flushed = std::future::poll_fn(|cx| lock(write).poll_flush_queue(cx)).await;
        if let Err(e) = flushed {
            link.write_failed(e);
            return;
        }
    }
}

enum Outbound {
    Stream,
    Datagram(Arc<UdpSocket>),
}

struct Shared {
    config: ClientConfig,
    /// The server, as call spans name it (`stream` when the client was
    /// made from a stream).
    peer: Box<str>,
    next_xid: AtomicU32,
    link: Arc<Link>,
    outbound: Outbound,
    /// The writer task, over a stream.
    writer: Option<JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Some(writer) = &self.writer {
            writer.abort();
        }
    }
}

/// An async ONC RPC client. Cheap to clone; clones share the connection,
/// and calls from all of them are in flight together. Generated `Client`
/// stubs wrap one; [`call`](Client::call) is the untyped form they use.
///
/// There is no task between a call and the socket: a call made while no
/// other is in progress writes its request and reads its reply itself.
/// With several in flight, one of them at a time reads for all and hands
/// each its reply, then passes that duty on to a call still waiting when
/// its own reply is in; a call dropped at any point (a timeout, a
/// cancelled future) passes it on too. Nothing reads while no call is in
/// flight: a reply to a dropped call is read and dropped by the next one.
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
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
        let peer = std::format!("{endpoint}").into_boxed_str();
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
                let reader = Source::Datagram {
                    socket: Arc::clone(&socket),
                    buf: vec![0; DATAGRAM_RECEIVE_BUFFER],
                };
                Ok(Self::new(
                    config,
                    peer,
                    Arc::new(Link::new(reader, None)),
                    Outbound::Datagram(socket),
                    None,
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
        let reader = Source::Stream {
            read: Box::pin(read),
            records: RecordReader::new(config.max_record),
        };
        let write = WriteSide {
            sink: Box::pin(write),
            queued: Vec::new(),
            sent: 0,
            flushing: false,
        };
        let link = Arc::new(Link::new(reader, Some(write)));
        let writer = tokio::spawn(write_queued(Arc::clone(&link)));
        Self::new(config, peer, link, Outbound::Stream, Some(writer))
    }

    fn new(
        config: ClientConfig,
        peer: Box<str>,
        link: Arc<Link>,
        outbound: Outbound,
        writer: Option<JoinHandle<()>>,
    ) -> Self {
        Client {
            shared: Arc::new(Shared {
                config,
                peer,
                next_xid: AtomicU32::new(super::client_xid_seed()),
                link,
                outbound,
                writer,
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
        let is_stream = matches!(shared.outbound, Outbound::Stream);
        let message = encode_call(&header, args, is_stream)?;

        let mut wait = ReplyWait::register(&shared.link, xid)?;
        let deadline = Instant::now() + shared.config.timeout;
        let reply = match &shared.outbound {
            Outbound::Stream => {
                shared.link.send(message)?;
                match tokio::time::timeout_at(deadline, wait).await {
                    Ok(reply) => reply?,
                    Err(_) => return Err(RpcError::Timeout),
                }
            }
            Outbound::Datagram(socket) => loop {
                check_datagram_call(&message)?;
                socket.send(&message).await?;
                let resend_at = (Instant::now() + shared.config.retransmit).min(deadline);
                match tokio::time::timeout_at(resend_at, &mut wait).await {
                    Ok(reply) => break reply?,
                    Err(_) if resend_at >= deadline => return Err(RpcError::Timeout),
                    Err(_) => {}
                }
            },
        };
        decode_reply(&reply, &header, &shared.config.limits)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncWriteExt, DuplexStream};

    use super::*;
    use crate::rpc::message::{AcceptStat, ReplyHeader};

    /// The far end of a client's stream, answering when the test says.
    struct Server {
        io: DuplexStream,
        records: RecordReader,
    }

    impl Server {
        async fn next_call(&mut self) -> u32 {
            loop {
                if let Some(record) = self.records.next_record().unwrap() {
                    return xid_of(&record).unwrap();
                }
                let n = self.io.read_buf(self.records.read_buffer()).await.unwrap();
                assert!(n > 0, "the client hung up");
            }
        }

        async fn send(&mut self, bytes: &[u8]) {
            self.io.write_all(bytes).await.unwrap();
        }
    }

    fn reply(xid: u32) -> Vec<u8> {
        let body = ReplyHeader::accepted(xid, AcceptStat::Success)
            .to_xdr()
            .unwrap();
        let mark = u32::try_from(body.len()).unwrap() | 0x8000_0000;
        let mut record = mark.to_be_bytes().to_vec();
        record.extend_from_slice(&body);
        record
    }

    fn connected() -> (Client, Server) {
        let (near, far) = tokio::io::duplex(64 * 1024);
        let server = Server {
            io: far,
            records: RecordReader::new(1 << 20),
        };
        (Client::from_stream(near, ClientConfig::default()), server)
    }

    fn null(client: &Client) -> tokio::task::JoinHandle<Result<(), RpcError>> {
        let client = client.clone();
        tokio::spawn(async move { client.call::<_, ()>(1, 1, 0, &()).await })
    }

    /// No call left behind, and the read side back for the next call.
    fn assert_idle(client: &Client) {
        let conn = lock(&client.shared.link.conn);
        assert_eq!(conn.calls.len(), 0, "calls left in the table");
        assert!(conn.idle_reader.is_some(), "the buck was not given back");
    }

    fn buck_held(client: &Client) -> bool {
        lock(&client.shared.link.conn).idle_reader.is_none()
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        for _ in 0..500 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("never: {what}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_call_reads_its_own_reply() {
        let (client, mut server) = connected();
        let call = null(&client);
        let xid = server.next_call().await;
        assert!(buck_held(&client), "the lone call reads for itself");
        server.send(&reply(xid)).await;
        call.await.unwrap().unwrap();
        assert_idle(&client);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_dropped_holding_the_buck_hands_it_on() {
        let (client, mut server) = connected();
        let first = null(&client);
        let first_xid = server.next_call().await;
        assert!(buck_held(&client));
        let second = null(&client);
        let second_xid = server.next_call().await;
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        server.send(&reply(second_xid)).await;
        second.await.unwrap().unwrap();
        // The dropped call's late reply is read and dropped by the next.
        server.send(&reply(first_xid)).await;
        let third = null(&client);
        let third_xid = server.next_call().await;
        assert_ne!(third_xid, first_xid);
        server.send(&reply(third_xid)).await;
        third.await.unwrap().unwrap();
        assert_idle(&client);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_dropped_mid_reply_leaves_the_stream_in_step() {
        let (client, mut server) = connected();
        let first = null(&client);
        let first_xid = server.next_call().await;
        let second = null(&client);
        let second_xid = server.next_call().await;
        // Half of the first reply: the holder reads it, then is dropped.
        let late = reply(first_xid);
        server.send(&late[..7]).await;
        until("the half reply read", || {
            lock(&client.shared.link.conn).idle_reader.is_none()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());
        server.send(&late[7..]).await;
        server.send(&reply(second_xid)).await;
        second.await.unwrap().unwrap();
        assert_idle(&client);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn timed_out_holders_and_waiters_leave_nothing_behind() {
        let (client, mut server) = connected();
        let mut calls = Vec::new();
        let mut xids = Vec::new();
        for i in 0..32 {
            let client = client.clone();
            // Every third call gives up after a while, holding the buck
            // or not.
            calls.push(tokio::spawn(async move {
                let call = client.call::<_, ()>(1, 1, 0, &());
                if i % 3 == 0 {
                    tokio::time::timeout(Duration::from_millis(30 + i), call)
                        .await
                        .ok()
                } else {
                    Some(call.await)
                }
            }));
            xids.push(server.next_call().await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Answered last first, in two writes that split a reply.
        let mut replies = Vec::new();
        for &xid in xids.iter().rev() {
            replies.extend_from_slice(&reply(xid));
        }
        let (head, tail) = replies.split_at(replies.len() / 2 + 3);
        server.send(head).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
        server.send(tail).await;
        for (i, call) in calls.into_iter().enumerate() {
            match call.await.unwrap() {
                Some(result) => result.unwrap(),
                None => assert_eq!(i % 3, 0, "call {i} timed out"),
            }
        }
        assert_idle(&client);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_connection_fails_waiting_and_new_calls() {
        let (client, mut server) = connected();
        let first = null(&client);
        server.next_call().await;
        let second = null(&client);
        server.next_call().await;
        drop(server);
        assert!(matches!(
            first.await.unwrap(),
            Err(RpcError::ConnectionClosed)
        ));
        assert!(matches!(
            second.await.unwrap(),
            Err(RpcError::ConnectionClosed)
        ));
        let after = client.call::<_, ()>(1, 1, 0, &()).await;
        assert!(
            matches!(after, Err(RpcError::ConnectionClosed)),
            "{after:?}"
        );
    }
}
