//! Packets: length word, header, body.

use alloc::vec::Vec;
use core::fmt;

use crate::encode::put_u32;
use crate::stream_io::{BUSY_READ, IDLE_READ, last_read_filled, offer_exact_room};
use crate::{DecodeError, Decoder, EncodeError, Limits, XdrEncode};

/// `VIR_NET_MESSAGE_MAX`: the largest packet, length word included.
pub const MESSAGE_MAX: usize = 33_554_432;
/// `VIR_NET_MESSAGE_HEADER_MAX`: the header's size.
pub const HEADER_LEN: usize = 24;
/// `VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX`: the most stream data libvirt puts
/// in one packet.
pub const LEGACY_PAYLOAD_MAX: usize = 262_120;
/// `VIR_NET_MESSAGE_STRING_MAX`: the bound of libvirt's strings.
pub const STRING_MAX: u32 = 4_194_304;

/// `virNetMessageType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum MessageType {
    /// Client to server: a method call.
    Call = 0,
    /// Server to client: the reply (or error) to a call.
    Reply = 1,
    /// Either way: an asynchronous message (events, keepalive).
    Message = 2,
    /// Either way: stream data.
    Stream = 3,
    /// A call with file descriptors passed alongside (Unix sockets).
    CallWithFds = 4,
    /// A reply with file descriptors.
    ReplyWithFds = 5,
    /// Either way: a hole in a sparse stream.
    StreamHole = 6,
}

/// `virNetMessageStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Status {
    /// Success; for streams, the end of the data.
    Ok = 0,
    /// The body is a [`RemoteError`](super::RemoteError).
    Error = 1,
    /// Stream data; more follows.
    Continue = 2,
}

/// `virNetMessageHeader`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Program number.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Procedure number.
    pub procedure: i32,
    /// Message type.
    pub kind: MessageType,
    /// Serial: a call's reply and stream packets carry the call's.
    pub serial: u32,
    /// Status.
    pub status: Status,
}

impl Header {
    fn encode_into(&self, out: &mut Vec<u8>) {
        put_u32(out, self.program);
        put_u32(out, self.version);
        put_u32(out, u32::from_be_bytes(self.procedure.to_be_bytes()));
        put_u32(out, self.kind as u32);
        put_u32(out, self.serial);
        put_u32(out, self.status as u32);
    }

    fn decode(bytes: &[u8]) -> Result<Header, PacketError> {
        let mut d = Decoder::new(bytes, &Limits::default()).map_err(PacketError::Decode)?;
        let program = d.u32().map_err(PacketError::Decode)?;
        let version = d.u32().map_err(PacketError::Decode)?;
        let procedure = d.i32().map_err(PacketError::Decode)?;
        let kind = match d.i32().map_err(PacketError::Decode)? {
            0 => MessageType::Call,
            1 => MessageType::Reply,
            2 => MessageType::Message,
            3 => MessageType::Stream,
            4 => MessageType::CallWithFds,
            5 => MessageType::ReplyWithFds,
            6 => MessageType::StreamHole,
            other => return Err(PacketError::UnknownType(other)),
        };
        let serial = d.u32().map_err(PacketError::Decode)?;
        let status = match d.i32().map_err(PacketError::Decode)? {
            0 => Status::Ok,
            1 => Status::Error,
            2 => Status::Continue,
            other => return Err(PacketError::UnknownStatus(other)),
        };
        Ok(Header {
            program,
            version,
            procedure,
            kind,
            serial,
            status,
        })
    }
}

/// A packet: header and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// The header.
    pub header: Header,
    /// The XDR body (arguments, results, an error, event or stream data).
    pub body: Vec<u8>,
}

/// Why bytes are not a valid packet.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// The length word is over the limit or shorter than a header.
    BadLength {
        /// The length word.
        len: u32,
        /// The limit.
        max: usize,
    },
    /// A message type libvirt does not define.
    UnknownType(i32),
    /// A status libvirt does not define.
    UnknownStatus(i32),
    /// The header could not be decoded.
    Decode(DecodeError),
    /// The body could not be encoded.
    Encode(EncodeError),
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::BadLength { len, max } => write!(
                f,
                "packet length {len} is outside {}..={max}",
                4 + HEADER_LEN
            ),
            PacketError::UnknownType(t) => write!(f, "unknown message type {t}"),
            PacketError::UnknownStatus(s) => write!(f, "unknown message status {s}"),
            // The inner error is the source: it is not repeated here.
            PacketError::Decode(_) => f.write_str("bad packet header"),
            PacketError::Encode(_) => f.write_str("cannot encode the packet body"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PacketError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PacketError::Decode(e) => Some(e),
            PacketError::Encode(e) => Some(e),
            _ => None,
        }
    }
}

/// A whole packet: length word, header, then `body`, which must fit
/// [`MESSAGE_MAX`].
pub fn encode_packet<B: XdrEncode + ?Sized>(
    header: &Header,
    body: &B,
) -> Result<Vec<u8>, PacketError> {
    let len = 4 + HEADER_LEN + body.encoded_len();
    if len > MESSAGE_MAX {
        return Err(PacketError::BadLength {
            len: u32::try_from(len).unwrap_or(u32::MAX),
            max: MESSAGE_MAX,
        });
    }
    let mut out = Vec::with_capacity(len + 4);
    // `len <= MESSAGE_MAX`, which fits.
    put_u32(&mut out, u32::try_from(len).unwrap_or(u32::MAX));
    header.encode_into(&mut out);
    body.encode(&mut out).map_err(PacketError::Encode)?;
    Ok(out)
}

#[cfg(feature = "tokio")]
/// A keepalive message (`PING` or `PONG`): type MESSAGE, serial 0, no body.
pub(super) fn keepalive_packet(procedure: i32) -> Result<Vec<u8>, PacketError> {
    let header = Header {
        program: super::keepalive::PROGRAM,
        version: super::keepalive::VERSION,
        procedure,
        kind: MessageType::Message,
        serial: 0,
        status: Status::Ok,
    };
    encode_packet(&header, &())
}

#[cfg(feature = "tokio")]
/// A packet whose body is raw bytes (stream data).
pub(super) fn raw_packet(header: &Header, data: &[u8]) -> Result<Vec<u8>, PacketError> {
    struct Raw<'a>(&'a [u8]);
    impl XdrEncode for Raw<'_> {
        fn encoded_len(&self) -> usize {
            self.0.len()
        }
        fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            out.extend_from_slice(self.0);
            Ok(())
        }
    }
    encode_packet(header, &Raw(data))
}

/// Splits a byte stream, fed in pieces of any size, into packets; a length
/// word outside `28..=max` fails at once, before anything is allocated.
#[derive(Debug)]
pub struct PacketReader {
    max: usize,
    buf: Vec<u8>,
    start: usize,
}

impl PacketReader {
    /// A reader accepting packets up to `max` bytes (length word included).
    pub fn new(max: usize) -> PacketReader {
        PacketReader {
            max,
            buf: Vec::new(),
            start: 0,
        }
    }

    /// The buffer the next read should append to (tokio's `read_buf`, or
    /// into its spare capacity), with room sized to what is expected: the
    /// rest of the packet under way and 512 bytes (up to 64 KiB at a
    /// time), 64 KiB after a read that filled its room, else 512 bytes.
    /// Room left from a larger packet is given back first, so a
    /// connection waiting for its next packet holds 512 bytes, not the
    /// size of its largest one.
    pub fn read_buffer(&mut self) -> &mut Vec<u8> {
        let filled = last_read_filled(&self.buf);
        self.buf.drain(..self.start);
        self.start = 0;
        let announced = self
            .buf
            .get(..4)
            .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]) as usize);
        match announced {
            // A packet is kept whole, so it grows by doubling: linear in
            // its size. Its length word was checked against `max` when
            // it arrived.
            Some(len) if len > self.buf.len() => {
                let rest = len - self.buf.len();
                self.buf
                    .reserve(rest.saturating_add(IDLE_READ).min(BUSY_READ));
            }
            _ => offer_exact_room(&mut self.buf, if filled { BUSY_READ } else { IDLE_READ }),
        }
        &mut self.buf
    }

    /// Adds bytes read from the transport.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// Whether a packet was started and not finished.
    pub fn is_mid_packet(&self) -> bool {
        self.start < self.buf.len()
    }

    /// The next complete packet. A bad length word cannot be recovered
    /// from (close the connection); a bad header skips that packet only.
    pub fn next_packet(&mut self) -> Result<Option<Packet>, PacketError> {
        let rest = &self.buf[self.start..];
        let Some(word) = rest.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        if (len as usize) < 4 + HEADER_LEN || len as usize > self.max {
            return Err(PacketError::BadLength { len, max: self.max });
        }
        let Some(packet) = rest.get(4..len as usize) else {
            return Ok(None);
        };
        self.start += len as usize;
        let header = Header::decode(&packet[..HEADER_LEN])?;
        Ok(Some(Packet {
            header,
            body: packet[HEADER_LEN..].to_vec(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(kind: MessageType, serial: u32) -> Header {
        Header {
            program: 0x2000_8086,
            version: 1,
            procedure: 66,
            kind,
            serial,
            status: Status::Ok,
        }
    }

    #[test]
    fn packets_round_trip_in_any_split() {
        let mut stream = encode_packet(&header(MessageType::Call, 1), &()).unwrap();
        // virsh's AUTH_LIST call: 28 bytes, the length counting itself.
        assert_eq!(&stream[..8], &[0, 0, 0, 0x1c, 0x20, 0, 0x80, 0x86]);
        stream.extend(encode_packet(&header(MessageType::Reply, 1), &7u32).unwrap());
        for step in [1, 5, 28, stream.len()] {
            let mut r = PacketReader::new(MESSAGE_MAX);
            let mut got = Vec::new();
            for piece in stream.chunks(step) {
                r.push(piece);
                while let Some(p) = r.next_packet().unwrap() {
                    got.push(p);
                }
            }
            assert_eq!(got.len(), 2);
            assert_eq!(got[1].header.kind, MessageType::Reply);
            assert_eq!(got[1].body, [0, 0, 0, 7]);
            assert!(!r.is_mid_packet());
        }
    }

    #[test]
    fn reads_get_room_for_what_is_coming_and_give_it_back() {
        let big = crate::XdrString::from("x".repeat(300_000));
        let mut stream = encode_packet(&header(MessageType::Call, 1), &()).unwrap();
        stream.extend(encode_packet(&header(MessageType::Call, 2), &big).unwrap());
        stream.extend(encode_packet(&header(MessageType::Call, 3), &()).unwrap());
        let mut r = PacketReader::new(MESSAGE_MAX);
        let (mut got, mut offered, mut at) = (Vec::new(), Vec::new(), 0);
        while at < stream.len() {
            let buf = r.read_buffer();
            let room = buf.capacity() - buf.len();
            offered.push(room);
            let n = room.min(stream.len() - at);
            buf.extend_from_slice(&stream[at..at + n]);
            at += n;
            while let Some(p) = r.next_packet().unwrap() {
                got.push(p);
            }
        }
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].body.len(), 4 + 300_000);
        assert_eq!(offered[0], IDLE_READ);
        // The big packet grows by doubling: a few reads, none offered
        // more than twice the packet.
        assert!(offered.len() <= 8, "{offered:?}");
        assert!(
            offered.iter().all(|&room| room <= 2 * 300_032),
            "{offered:?}"
        );
        // Waiting for the next packet, the 300 KB one's room is given back.
        let buf = r.read_buffer();
        assert_eq!(buf.capacity(), IDLE_READ);
        assert!(!r.is_mid_packet());
    }

    #[test]
    fn bad_lengths_and_headers_are_typed_errors() {
        let mut r = PacketReader::new(MESSAGE_MAX);
        r.push(&0x7fff_ffffu32.to_be_bytes());
        assert!(matches!(
            r.next_packet(),
            Err(PacketError::BadLength {
                len: 0x7fff_ffff,
                ..
            })
        ));
        let mut r = PacketReader::new(MESSAGE_MAX);
        r.push(&4u32.to_be_bytes());
        assert!(matches!(
            r.next_packet(),
            Err(PacketError::BadLength { len: 4, .. })
        ));
        // An unknown type skips that packet; the next one still reads.
        let mut bad = encode_packet(&header(MessageType::Call, 1), &()).unwrap();
        bad[16..20].copy_from_slice(&9u32.to_be_bytes());
        bad.extend(encode_packet(&header(MessageType::Call, 2), &()).unwrap());
        let mut r = PacketReader::new(MESSAGE_MAX);
        r.push(&bad);
        assert_eq!(r.next_packet(), Err(PacketError::UnknownType(9)));
        assert_eq!(r.next_packet().unwrap().unwrap().header.serial, 2);
    }
}
