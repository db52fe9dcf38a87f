//! What both ends of a libvirt stream share: how an incoming stream packet
//! reads, sparse-stream holes, what a read has left over, and room in the
//! connection's outgoing queue for the next packet, taken from a `poll_*`
//! method (the `AsyncRead`/`AsyncWrite` impls of the client's
//! [`Stream`](super::Stream) and the server's
//! [`ServerStream`](super::ServerStream)).
//!
//! The rules, as libvirt's client (`virnetclientstream.c`) and daemon
//! (`remote/remote_daemon_stream.c`) keep them:
//! - a STREAM packet with status CONTINUE carries data; an empty one from
//!   the daemon means its data has ended;
//! - a STREAM_HOLE packet (status CONTINUE, body `virNetStreamHole`: a
//!   hyper length and flags) stands for that many zero bytes. It is only
//!   allowed on a stream opened sparse (the opening procedure's
//!   `..._SPARSE_STREAM` flag); libvirt refuses a hole anywhere else
//!   ("Unexpected stream hole"), and flags other than 0;
//! - plain reads see a hole as zeros, as `virStreamRecv` without
//!   `VIR_STREAM_RECV_STOP_AT_HOLE` does; the hole-aware reads return it as
//!   [`StreamData::Hole`], as `virStreamSparseRecvAll` sees it;
//! - status OK finishes the stream and status ERROR aborts it; the other
//!   side confirms either with an empty OK.
//!
//! Buffering is bounded: a stream holds at most its backlog of packets
//! (`ConnectionConfig::stream_backlog`, 64 on the server), each at most
//! libvirt's 256 KiB payload, plus the one packet a read has started.
//! When the backlog is full the connection stops reading its socket until
//! the stream's reader catches up (libvirt's own client queues without a
//! bound while it waits for the application).

use std::boxed::Box;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::vec::Vec;

use tokio::io::ReadBuf;
use tokio::sync::mpsc::{self, OwnedPermit};
use tokio::sync::watch;

use super::packet::{
    Header, LEGACY_PAYLOAD_MAX, MessageType, Packet, PacketError, Status, encode_packet,
};
use crate::{DecodeError, Limits, XdrDecode};

/// What a stream delivers to a hole-aware read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamData {
    /// Bytes.
    Data(Vec<u8>),
    /// A hole of `length` zero bytes in a sparse stream.
    Hole {
        /// Its length.
        length: i64,
        /// `virNetStreamHole.flags` (libvirt defines none: always 0).
        flags: u32,
    },
}

/// Why a stream hole was refused, in either direction.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoleError {
    /// The stream was not opened sparse: libvirt allows holes only on
    /// streams whose procedure was called with its sparse flag.
    NotSparse,
    /// A hole packet whose body is not a `virNetStreamHole`.
    Malformed(DecodeError),
    /// A hole with a negative length or flags other than 0.
    Invalid {
        /// The length it gave.
        length: i64,
        /// The flags it gave.
        flags: u32,
    },
}

impl fmt::Display for HoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoleError::NotSparse => f.write_str("unexpected stream hole: the stream is not sparse"),
            // The inner error is the source: it is not repeated here.
            HoleError::Malformed(_) => f.write_str("malformed stream hole packet"),
            HoleError::Invalid { length, flags } => {
                write!(f, "invalid stream hole: length {length}, flags {flags:#x}")
            }
        }
    }
}

impl std::error::Error for HoleError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HoleError::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// One run of a file, for a sparse upload or download: bytes to send as
/// data, or a hole to send as a stream hole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extent {
    /// Where it starts in the file.
    pub offset: u64,
    /// How many bytes it spans.
    pub length: u64,
    /// Data (`true`) or a hole that reads as zeros (`false`).
    pub data: bool,
}

/// The data and holes of `file` between `start` and `end`, in order,
/// found with `SEEK_DATA`/`SEEK_HOLE` as libvirt's `virFileInData` finds
/// them for `virsh vol-upload --sparse` and its storage driver's sparse
/// downloads. A file system without holes reports one data extent; the
/// file's own offset is moved.
///
/// # Errors
///
/// A failed seek other than "no data after this offset".
#[cfg(unix)]
pub fn file_extents(file: &std::fs::File, start: u64, end: u64) -> std::io::Result<Vec<Extent>> {
    use rustix::fs::{SeekFrom, seek};
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let data = match seek(file, SeekFrom::Data(at)) {
            Ok(data) => data.min(end),
            // No data after `at`: the rest is a hole.
            Err(rustix::io::Errno::NXIO) => end,
            Err(e) => return Err(e.into()),
        };
        if data > at {
            out.push(Extent {
                offset: at,
                length: data - at,
                data: false,
            });
        }
        if data >= end {
            break;
        }
        let hole = seek(file, SeekFrom::Hole(data))?.min(end);
        out.push(Extent {
            offset: data,
            length: hole - data,
            data: true,
        });
        at = hole;
    }
    Ok(out)
}

/// An incoming stream packet, read.
#[derive(Debug)]
pub(super) enum Arrived {
    /// Data.
    Data(Vec<u8>),
    /// A hole of this many zero bytes.
    Hole(u64),
    /// An empty CONTINUE: the sender has no more data.
    EndOfData,
    /// Status OK: a finish, or the confirmation of one.
    Finished,
    /// Status ERROR: an abort. From a daemon the body is a
    /// `virNetMessageError`; from a client it is empty.
    Aborted(Vec<u8>),
}

/// Reads an incoming stream packet; holes only if the stream is `sparse`.
pub(super) fn arrived(packet: Packet, sparse: bool, limits: &Limits) -> Result<Arrived, HoleError> {
    match (packet.header.kind, packet.header.status) {
        (MessageType::StreamHole, _) => {
            if !sparse {
                return Err(HoleError::NotSparse);
            }
            let (length, flags) =
                <(i64, u32)>::from_xdr_with(&packet.body, limits).map_err(HoleError::Malformed)?;
            match u64::try_from(length) {
                Ok(zeros) if flags == 0 => Ok(Arrived::Hole(zeros)),
                _ => Err(HoleError::Invalid { length, flags }),
            }
        }
        (_, Status::Continue) if packet.body.is_empty() => Ok(Arrived::EndOfData),
        (_, Status::Continue) => Ok(Arrived::Data(packet.body)),
        (_, Status::Ok) => Ok(Arrived::Finished),
        (_, Status::Error) => Ok(Arrived::Aborted(packet.body)),
    }
}

/// What a read has not handed out yet: the rest of a data packet or of a
/// hole.
#[derive(Debug, Default)]
pub(super) struct Leftover {
    data: Vec<u8>,
    at: usize,
    zeros: u64,
}

impl Leftover {
    pub(super) fn is_empty(&self) -> bool {
        self.at == self.data.len() && self.zeros == 0
    }

    /// Keeps data or a hole for later reads.
    pub(super) fn keep(&mut self, arrived: Arrived) {
        match arrived {
            Arrived::Data(data) => {
                self.data = data;
                self.at = 0;
            }
            Arrived::Hole(zeros) => self.zeros = zeros,
            _ => {}
        }
    }

    /// Copies what fits into `buf`: data, or zeros for a hole.
    pub(super) fn copy_to(&mut self, buf: &mut ReadBuf<'_>) {
        if self.at < self.data.len() {
            let n = buf.remaining().min(self.data.len() - self.at);
            buf.put_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            if self.at == self.data.len() {
                self.data = Vec::new();
                self.at = 0;
            }
        } else if self.zeros > 0 {
            let n = usize::try_from(self.zeros).map_or(buf.remaining(), |z| z.min(buf.remaining()));
            let before = buf.filled().len();
            buf.initialize_unfilled_to(n).fill(0);
            buf.set_filled(before + n);
            self.zeros -= u64::try_from(n).unwrap_or(u64::MAX);
        }
    }

    /// All that is left, as one piece for a hole-aware read.
    pub(super) fn take(&mut self) -> Option<StreamData> {
        if self.at < self.data.len() {
            let mut data = std::mem::take(&mut self.data);
            data.drain(..self.at);
            self.at = 0;
            return Some(StreamData::Data(data));
        }
        if self.zeros > 0 {
            let zeros = std::mem::take(&mut self.zeros);
            return Some(StreamData::Hole {
                // Holes come from an i64 (see `arrived`) or are at most a
                // read buffer's size less.
                length: i64::try_from(zeros).unwrap_or(i64::MAX),
                flags: 0,
            });
        }
        None
    }
}

/// One end of a stream as its `AsyncRead` sees it: the client's
/// [`Stream`](super::Stream) or the server's
/// [`ServerStream`](super::ServerStream).
pub(super) trait ReadEnd {
    /// The end's own error; its `AsyncRead` turns it into an `io::Error`.
    type Error;
    /// What the last read did not hand out.
    fn leftover(&mut self) -> &mut Leftover;
    /// The next piece of data or hole, what is left over first; `None`
    /// once the other side's data has ended.
    fn poll_piece(&mut self, cx: &mut Context<'_>)
    -> Poll<Result<Option<StreamData>, Self::Error>>;
}

/// `AsyncRead::poll_read` for either end: fills `buf` from what is left
/// over or from the next piece (zeros for a hole); fills nothing once the
/// other side's data has ended.
pub(super) fn poll_read<E: ReadEnd>(
    end: &mut E,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<Result<(), E::Error>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    if end.leftover().is_empty() {
        match ready!(end.poll_piece(cx))? {
            Some(StreamData::Data(data)) => end.leftover().keep(Arrived::Data(data)),
            Some(StreamData::Hole { length, .. }) => {
                end.leftover()
                    .keep(Arrived::Hole(u64::try_from(length).unwrap_or(0)));
            }
            None => return Poll::Ready(Ok(())),
        }
    }
    end.leftover().copy_to(buf);
    Poll::Ready(Ok(()))
}

/// Why [`Outgoing::poll_data`] queued nothing.
#[derive(Debug)]
pub(super) enum Unsent {
    /// The connection is gone.
    Gone,
    /// The packet could not be encoded.
    Packet(PacketError),
}

/// A connection's outgoing queue as a stream sees it: room for a packet
/// is waited for first, so a packet is made only once it can be queued.
/// The client's is a channel to its writer task; the server's a queue
/// its connection's task writes from.
pub(super) trait Queue: Clone + Send + Sync + 'static {
    /// Room for one packet.
    type Room: QueueRoom;
    /// Waits for room; `None` once the connection is gone.
    fn reserve(self) -> impl Future<Output = Option<Self::Room>> + Send + Sync + 'static;
}

/// Room reserved in a [`Queue`].
pub(super) trait QueueRoom: Send {
    /// Queues `packet`.
    fn send(self, packet: Vec<u8>);
}

impl Queue for mpsc::Sender<Vec<u8>> {
    type Room = OwnedPermit<Vec<u8>>;

    async fn reserve(self) -> Option<Self::Room> {
        self.reserve_owned().await.ok()
    }
}

impl QueueRoom for OwnedPermit<Vec<u8>> {
    fn send(self, packet: Vec<u8>) {
        OwnedPermit::send(self, packet);
    }
}

type Reserving<R> = Pin<Box<dyn Future<Output = Option<R>> + Send + Sync>>;

/// A stream's way out: its header, the connection's outgoing queue, and
/// the room being waited for in it.
pub(super) struct Outgoing<Q: Queue = mpsc::Sender<Vec<u8>>> {
    header: Header,
    out: Q,
    /// On the server: set once the opening call's reply is queued, as
    /// stream data may not overtake it.
    gate: Option<watch::Receiver<bool>>,
    reserving: Option<Reserving<Q::Room>>,
}

impl<Q: Queue> Outgoing<Q> {
    pub(super) fn new(header: Header, out: Q, gate: Option<watch::Receiver<bool>>) -> Outgoing<Q> {
        Outgoing {
            header: Header {
                kind: MessageType::Stream,
                status: Status::Continue,
                ..header
            },
            out,
            gate,
            reserving: None,
        }
    }

    /// Room for one packet in the outgoing queue (after the gate opens);
    /// `None` once the connection is gone. Waiting is kept across calls,
    /// so a dropped `poll_fn` future loses nothing.
    pub(super) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Option<Q::Room>> {
        let reserving = self.reserving.get_or_insert_with(|| {
            let out = self.out.clone();
            let gate = self.gate.clone();
            Box::pin(async move {
                if let Some(mut gate) = gate {
                    gate.wait_for(|replied| *replied).await.ok()?;
                }
                out.reserve().await
            })
        });
        let permit = ready!(reserving.as_mut().poll(cx));
        self.reserving = None;
        Poll::Ready(permit)
    }

    /// Waits for room, then queues `packet`; false once the connection is
    /// gone.
    pub(super) async fn send(&mut self, packet: Vec<u8>) -> bool {
        match std::future::poll_fn(|cx| self.poll_room(cx)).await {
            Some(permit) => {
                permit.send(packet);
                true
            }
            None => false,
        }
    }

    /// `AsyncWrite::poll_write` for either end once its own checks passed:
    /// queues the start of `buf`, as much as one packet carries, when the
    /// queue has room; how much it queued.
    pub(super) fn poll_data(
        &mut self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<Result<usize, Unsent>> {
        let Some(permit) = ready!(self.poll_room(cx)) else {
            return Poll::Ready(Err(Unsent::Gone));
        };
        let n = buf.len().min(LEGACY_PAYLOAD_MAX);
        let packet = self
            .packet(Status::Continue, &buf[..n])
            .map_err(Unsent::Packet)?;
        permit.send(packet);
        Poll::Ready(Ok(n))
    }

    /// A stream packet with `status` and raw `data`.
    pub(super) fn packet(&self, status: Status, data: &[u8]) -> Result<Vec<u8>, PacketError> {
        super::packet::raw_packet(
            &Header {
                status,
                ..self.header
            },
            data,
        )
    }

    /// A hole of `length` zero bytes.
    pub(super) fn hole_packet(&self, length: i64) -> Result<Vec<u8>, PacketError> {
        let header = Header {
            kind: MessageType::StreamHole,
            status: Status::Continue,
            ..self.header
        };
        encode_packet(&header, &(length, 0u32))
    }

    /// The stream's header (its serial identifies it).
    pub(super) fn header(&self) -> &Header {
        &self.header
    }

    /// The connection's outgoing queue.
    pub(super) fn queue(&self) -> &Q {
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use std::vec;
    use std::vec::Vec;

    #[cfg(unix)]
    #[test]
    fn file_extents_follow_the_holes() {
        use super::{Extent, file_extents};
        use std::io::{Seek, SeekFrom, Write};
        const MIB: u64 = 1 << 20;
        let path = std::env::temp_dir().join(std::format!("xdrgen-extents-{}", std::process::id()));
        let mut file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        // A hole, 4 KiB of data at 1 MiB, a hole to 3 MiB.
        file.seek(SeekFrom::Start(MIB)).unwrap();
        file.write_all(&[7; 4096]).unwrap();
        file.set_len(3 * MIB).unwrap();
        let extents = file_extents(&file, 0, 3 * MIB).unwrap();
        let data: Vec<&Extent> = extents.iter().filter(|e| e.data).collect();
        // The extents tile the range in order, whatever the file system's
        // granularity.
        let mut at = 0;
        for e in &extents {
            assert_eq!(e.offset, at, "{extents:?}");
            at += e.length;
        }
        assert_eq!(at, 3 * MIB, "{extents:?}");
        assert!(
            data.iter()
                .any(|e| e.offset <= MIB && e.offset + e.length >= MIB + 4096),
            "the written bytes are data: {extents:?}"
        );
        // Where the file system keeps holes (tmpfs, ext4, xfs, btrfs), the
        // runs before and after the data are holes; a file system without
        // them reports everything as data.
        if data.len() == 1 && data[0].length < 3 * MIB {
            assert!(
                !extents[0].data && !extents.last().unwrap().data,
                "{extents:?}"
            );
        }
        // A range that starts inside the data and ends inside it.
        let inner = file_extents(&file, MIB + 100, MIB + 200).unwrap();
        assert_eq!(
            inner,
            vec![Extent {
                offset: MIB + 100,
                length: 100,
                data: true
            }]
        );
        assert_eq!(file_extents(&file, 5, 5).unwrap(), vec![]);
    }

    use tokio::io::ReadBuf;

    use super::{Arrived, HoleError, Leftover, StreamData, arrived};
    use crate::libvirt::{Header, MessageType, Packet, Status};
    use crate::{Limits, XdrEncode};

    /// Both ends of a stream, and the futures of their calls, move between
    /// tasks: `tokio::spawn(async move { stream.send(..).await })` builds.
    #[test]
    fn streams_and_their_futures_are_send_and_sync() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        fn check(stream: &mut crate::libvirt::Stream, server: &crate::libvirt::ServerStream) {
            send_sync(stream);
            send_sync(server);
            send(&stream.send(b"data"));
            send(&stream.send_hole(4096));
            send(&stream.recv());
        }
        let _ = check;
    }

    fn packet(kind: MessageType, status: Status, body: Vec<u8>) -> Packet {
        Packet {
            header: Header {
                program: 1,
                version: 1,
                procedure: 209,
                kind,
                serial: 7,
                status,
            },
            body,
        }
    }

    #[test]
    fn holes_are_refused_unless_the_stream_is_sparse() {
        let hole = || {
            packet(
                MessageType::StreamHole,
                Status::Continue,
                (4096i64, 0u32).to_xdr().unwrap(),
            )
        };
        let limits = Limits::default();
        assert!(matches!(
            arrived(hole(), false, &limits),
            Err(HoleError::NotSparse)
        ));
        assert!(matches!(
            arrived(hole(), true, &limits),
            Ok(Arrived::Hole(4096))
        ));
        let flagged = packet(
            MessageType::StreamHole,
            Status::Continue,
            (1i64, 1u32).to_xdr().unwrap(),
        );
        assert_eq!(
            arrived(flagged, true, &limits).unwrap_err(),
            HoleError::Invalid {
                length: 1,
                flags: 1
            }
        );
        let negative = packet(
            MessageType::StreamHole,
            Status::Continue,
            (-1i64, 0u32).to_xdr().unwrap(),
        );
        assert!(matches!(
            arrived(negative, true, &limits),
            Err(HoleError::Invalid { length: -1, .. })
        ));
        let short = packet(MessageType::StreamHole, Status::Continue, vec![0; 4]);
        assert!(matches!(
            arrived(short, true, &limits),
            Err(HoleError::Malformed(_))
        ));
        let end = packet(MessageType::Stream, Status::Continue, vec![]);
        assert!(matches!(
            arrived(end, false, &limits),
            Ok(Arrived::EndOfData)
        ));
    }

    #[test]
    fn leftovers_read_as_bytes_then_zeros_or_as_one_piece() {
        let mut left = Leftover::default();
        left.keep(Arrived::Data(b"abcdef".to_vec()));
        let mut space = [9u8; 4];
        let mut buf = ReadBuf::new(&mut space);
        left.copy_to(&mut buf);
        assert_eq!(buf.filled(), b"abcd");
        assert_eq!(left.take(), Some(StreamData::Data(b"ef".to_vec())));
        assert!(left.is_empty());

        left.keep(Arrived::Hole(6));
        let mut space = [9u8; 4];
        let mut buf = ReadBuf::new(&mut space);
        left.copy_to(&mut buf);
        assert_eq!(buf.filled(), [0, 0, 0, 0]);
        assert_eq!(
            left.take(),
            Some(StreamData::Hole {
                length: 2,
                flags: 0
            })
        );
        assert_eq!(left.take(), None);
    }
}
