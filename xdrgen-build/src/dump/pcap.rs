//! Reading packet captures: classic pcap and pcapng files, Ethernet,
//! Linux cooked (SLL, SLL2), BSD loopback and raw IP link types, IPv4 and
//! IPv6, TCP reassembled per direction by sequence number, and UDP
//! datagrams kept whole (ONC RPC over UDP sends one message a datagram).
//!
//! Hand-written rather than a dependency: the formats are small and
//! stable, the crates that read them bring parsers and allocations we
//! would have to bound again, and what dump needs (payload bytes in
//! sequence order, with the frame each byte came in) is a few hundred
//! lines. It is enough for captures of loopback sessions; IP fragments
//! and other protocols are counted and skipped, a missing segment ends the
//! stream at the gap.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The transport a stream came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transport {
    /// TCP: one byte stream, reassembled.
    Tcp,
    /// UDP: each datagram is one segment.
    Udp,
}

impl Transport {
    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// One direction of a TCP connection, reassembled, or the UDP datagrams
/// from one address to another, one after another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    /// TCP or UDP.
    pub transport: Transport,
    /// Sender.
    pub src: SocketAddr,
    /// Receiver.
    pub dst: SocketAddr,
    /// Both directions of a connection (for UDP, of an address pair)
    /// share this number.
    pub connection: usize,
    /// The payload in sequence order, up to the first gap.
    pub data: Vec<u8>,
    /// `(offset in data, frame number)` for each segment appended, in
    /// order: the frame a byte came in is the last entry at or before it.
    /// Under UDP each segment is one datagram.
    pub segments: Vec<(usize, u64)>,
    /// Set when bytes are missing from the capture: where data stops.
    pub gap: Option<String>,
}

impl Stream {
    /// The frame (1-based, as Wireshark numbers them) holding byte `at`.
    pub fn frame_at(&self, at: usize) -> Option<u64> {
        let i = self.segments.partition_point(|&(o, _)| o <= at);
        i.checked_sub(1).map(|i| self.segments[i].1)
    }
}

/// What a capture holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Capture {
    /// TCP streams and UDP flows with payload, in the order their first
    /// byte appeared.
    pub streams: Vec<Stream>,
    /// Packets read.
    pub frames: u64,
    /// Packets that were neither TCP nor UDP over IP (ARP, ICMP,
    /// fragments, ...).
    pub skipped: u64,
}

/// A capture that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureError {
    /// Offset in the file.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "capture file, at byte {}: {}", self.offset, self.message)
    }
}

impl std::error::Error for CaptureError {}

/// Whether `bytes` start like a pcap or pcapng file.
pub fn is_capture(bytes: &[u8]) -> bool {
    matches!(
        bytes.get(..4),
        Some(
            [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
    )
}

/// Reads a capture, reassembles its TCP streams and collects its UDP
/// datagrams.
pub fn read(bytes: &[u8]) -> Result<Capture, CaptureError> {
    let mut tcp = Reassembler::default();
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        read_pcapng(bytes, &mut tcp)?;
    } else {
        read_pcap(bytes, &mut tcp)?;
    }
    Ok(tcp.finish())
}

fn err<T>(offset: usize, message: impl Into<String>) -> Result<T, CaptureError> {
    Err(CaptureError {
        offset,
        message: message.into(),
    })
}

/// A byte-order-aware reader of the file's own integers.
#[derive(Clone, Copy)]
struct Endian {
    big: bool,
}

impl Endian {
    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }
    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
}

fn read_pcap(bytes: &[u8], tcp: &mut Reassembler) -> Result<(), CaptureError> {
    if bytes.len() < 24 {
        return err(0, "too short for a pcap header (24 bytes)");
    }
    let e = match bytes[..4] {
        [0xa1, 0xb2, 0xc3 | 0x3c, 0xd4 | 0x4d] => Endian { big: true },
        [0xd4 | 0x4d, 0xc3 | 0x3c, 0xb2, 0xa1] => Endian { big: false },
        _ => return err(0, "not a pcap or pcapng file (unknown magic number)"),
    };
    let link = e.u32(&bytes[20..]) & 0x0fff_ffff;
    let mut pos = 24;
    while pos < bytes.len() {
        if bytes.len() - pos < 16 {
            return err(pos, "the file ends inside a packet header");
        }
        let caplen = e.u32(&bytes[pos + 8..]) as usize;
        let origlen = e.u32(&bytes[pos + 12..]) as usize;
        pos += 16;
        if caplen > bytes.len() - pos {
            return err(
                pos,
                format!("a packet of {caplen} bytes runs past the end of the file"),
            );
        }
        tcp.frame(link, &bytes[pos..pos + caplen], caplen < origlen);
        pos += caplen;
    }
    Ok(())
}

fn read_pcapng(bytes: &[u8], tcp: &mut Reassembler) -> Result<(), CaptureError> {
    let mut pos = 0;
    let mut e = Endian { big: false };
    let mut links: Vec<u32> = Vec::new();
    while pos < bytes.len() {
        if bytes.len() - pos < 12 {
            return err(pos, "the file ends inside a block header");
        }
        if bytes[pos..pos + 4] == [0x0a, 0x0d, 0x0d, 0x0a] {
            e = match bytes[pos + 8..pos + 12] {
                [0x1a, 0x2b, 0x3c, 0x4d] => Endian { big: true },
                [0x4d, 0x3c, 0x2b, 0x1a] => Endian { big: false },
                _ => return err(pos + 8, "section header with an unknown byte-order magic"),
            };
            links.clear();
        }
        let kind = e.u32(&bytes[pos..]);
        let len = e.u32(&bytes[pos + 4..]) as usize;
        if len < 12 || len % 4 != 0 || len > bytes.len() - pos {
            return err(pos + 4, format!("block length {len} is invalid here"));
        }
        let body = &bytes[pos + 8..pos + len - 4];
        match kind {
            // Interface description: the link type of interface N.
            1 => {
                if body.len() < 8 {
                    return err(pos, "interface description block too short");
                }
                links.push(u32::from(e.u16(body)));
            }
            // Enhanced packet.
            6 => {
                if body.len() < 20 {
                    return err(pos, "enhanced packet block too short");
                }
                let interface = e.u32(body) as usize;
                let caplen = e.u32(&body[12..]) as usize;
                let origlen = e.u32(&body[16..]) as usize;
                let Some(&link) = links.get(interface) else {
                    return err(
                        pos + 8,
                        format!("packet on undeclared interface {interface}"),
                    );
                };
                if caplen > body.len() - 20 {
                    return err(
                        pos,
                        format!("packet of {caplen} bytes longer than its block"),
                    );
                }
                tcp.frame(link, &body[20..20 + caplen], caplen < origlen);
            }
            // Simple packet: interface 0, captured length from the block.
            3 => {
                if body.len() < 4 {
                    return err(pos, "simple packet block too short");
                }
                let Some(&link) = links.first() else {
                    return err(pos, "simple packet before any interface description");
                };
                let origlen = e.u32(body) as usize;
                let data = &body[4..];
                let caplen = origlen.min(data.len());
                tcp.frame(link, &data[..caplen], caplen < origlen);
            }
            _ => {}
        }
        pos += len;
    }
    Ok(())
}

/// (transport, sender, receiver).
type FlowKey = (Transport, SocketAddr, SocketAddr);

/// Reassembly state of one direction.
struct Flow {
    stream: Stream,
    /// The sequence number of `data[0]`.
    base: Option<u32>,
    /// Segments ahead of the data, by offset from `base`.
    pending: BTreeMap<u64, (Vec<u8>, u64)>,
}

#[derive(Default)]
struct Reassembler {
    flows: HashMap<FlowKey, usize>,
    order: Vec<Flow>,
    connections: HashMap<FlowKey, usize>,
    frames: u64,
    skipped: u64,
}

/// A segment this far behind the data is a retransmission of old data
/// (sequence numbers wrap at 2^32).
const BEHIND: u32 = 1 << 31;

impl Reassembler {
    fn frame(&mut self, link: u32, data: &[u8], truncated: bool) {
        self.frames += 1;
        let frame = self.frames;
        let Some(ip) = link_payload(link, data) else {
            self.skipped += 1;
            return;
        };
        let Some((src, dst, transport, payload)) = ip_transport(ip) else {
            self.skipped += 1;
            return;
        };
        let src = SocketAddr::new(src.0, src.1);
        let dst = SocketAddr::new(dst.0, dst.1);
        if transport == Transport::Udp {
            let Some(datagram) = udp_payload(payload) else {
                self.skipped += 1;
                return;
            };
            let index = self.flow((transport, src, dst));
            let stream = &mut self.order[index].stream;
            if truncated && stream.gap.is_none() {
                stream.gap = Some(format!(
                    "frame {frame} was cut short by the capture's snapshot length"
                ));
            }
            if !datagram.is_empty() && stream.gap.is_none() {
                stream.segments.push((stream.data.len(), frame));
                stream.data.extend_from_slice(datagram);
            }
            return;
        }
        let Some(segment) = tcp_segment(payload) else {
            self.skipped += 1;
            return;
        };
        let index = self.flow((transport, src, dst));
        let flow = &mut self.order[index];
        if segment.syn {
            if flow.base.is_none() {
                flow.base = Some(segment.seq.wrapping_add(1));
            }
            return;
        }
        if truncated && flow.stream.gap.is_none() {
            flow.stream.gap = Some(format!(
                "frame {frame} was cut short by the capture's snapshot length"
            ));
        }
        if segment.payload.is_empty() || flow.stream.gap.is_some() {
            return;
        }
        let base = *flow.base.get_or_insert(segment.seq);
        let rel = segment.seq.wrapping_sub(base);
        if rel >= BEHIND {
            return;
        }
        // Of two segments starting at one place, the longer one wins (a
        // retransmission may carry more than the original).
        let slot = flow.pending.entry(u64::from(rel)).or_default();
        if segment.payload.len() > slot.0.len() {
            *slot = (segment.payload.to_vec(), frame);
        }
        flow.drain();
    }

    fn flow(&mut self, key: FlowKey) -> usize {
        if let Some(&i) = self.flows.get(&key) {
            return i;
        }
        let (transport, src, dst) = key;
        let canonical = if src <= dst {
            key
        } else {
            (transport, dst, src)
        };
        let next = self.connections.len();
        let connection = *self.connections.entry(canonical).or_insert(next);
        self.order.push(Flow {
            stream: Stream {
                transport,
                src,
                dst,
                connection,
                data: Vec::new(),
                segments: Vec::new(),
                gap: None,
            },
            base: None,
            pending: BTreeMap::new(),
        });
        self.flows.insert(key, self.order.len() - 1);
        self.order.len() - 1
    }

    fn finish(self) -> Capture {
        let mut streams: Vec<(u64, Stream)> = self
            .order
            .into_iter()
            .filter_map(|mut f| {
                if let Some((&at, _)) = f.pending.first_key_value() {
                    if f.stream.gap.is_none() {
                        f.stream.gap = Some(format!(
                            "bytes {}..{at} of the stream are missing from the capture",
                            f.stream.data.len()
                        ));
                    }
                }
                let first = f.stream.segments.first()?.1;
                Some((first, f.stream))
            })
            .collect();
        streams.sort_by_key(|(first, _)| *first);
        Capture {
            streams: streams.into_iter().map(|(_, s)| s).collect(),
            frames: self.frames,
            skipped: self.skipped,
        }
    }
}

impl Flow {
    /// Appends every pending segment that continues the data.
    fn drain(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            let at = *entry.key();
            let have = self.stream.data.len() as u64;
            if at > have {
                return;
            }
            let (bytes, frame) = entry.remove();
            let end = at + bytes.len() as u64;
            if end <= have {
                continue;
            }
            let skip = usize::try_from(have - at).unwrap_or(usize::MAX);
            self.stream.segments.push((self.stream.data.len(), frame));
            self.stream.data.extend_from_slice(&bytes[skip..]);
        }
    }
}

/// The IP packet inside a link-layer frame.
fn link_payload(link: u32, data: &[u8]) -> Option<&[u8]> {
    fn ethertype_ip(t: u16, rest: &[u8]) -> Option<&[u8]> {
        matches!(t, 0x0800 | 0x86dd).then_some(rest)
    }
    let be16 = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
    match link {
        // Ethernet, with one optional VLAN tag.
        1 => {
            let mut t = be16(data.get(12..14)?);
            let mut rest = data.get(14..)?;
            if t == 0x8100 {
                t = be16(rest.get(2..4)?);
                rest = rest.get(4..)?;
            }
            ethertype_ip(t, rest)
        }
        // Linux cooked capture v1: protocol at 14.
        113 => ethertype_ip(be16(data.get(14..16)?), data.get(16..)?),
        // Linux cooked capture v2: protocol at 0.
        276 => ethertype_ip(be16(data.get(0..2)?), data.get(20..)?),
        // BSD loopback: a family word in the capturing host's order (NULL)
        // or network order (LOOP); either way the IP version says enough.
        0 | 108 => data.get(4..),
        // Raw IP (LINKTYPE_RAW, and the DLT values some systems write).
        101 | 12 | 14 | 228 | 229 => Some(data),
        _ => None,
    }
}

/// Source, destination, transport and transport header plus payload of an
/// IP packet carrying TCP or UDP; `None` for anything else (or a
/// fragment).
#[allow(clippy::type_complexity)]
fn ip_transport(ip: &[u8]) -> Option<((IpAddr, u16), (IpAddr, u16), Transport, &[u8])> {
    let transport = |protocol: u8| match protocol {
        6 => Some(Transport::Tcp),
        17 => Some(Transport::Udp),
        _ => None,
    };
    let (src, dst, protocol, segment) = match ip.first()? >> 4 {
        4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
            // More fragments, or an offset: not a whole datagram.
            if frag & 0x3fff != 0 || ihl < 20 || total < ihl {
                return None;
            }
            let protocol = transport(*ip.get(9)?)?;
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            (
                IpAddr::V4(Ipv4Addr::from(src)),
                IpAddr::V4(Ipv4Addr::from(dst)),
                protocol,
                ip.get(ihl..end)?,
            )
        }
        6 => {
            let payload = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let mut next = *ip.get(6)?;
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + payload).min(ip.len());
            let mut rest = ip.get(40..end)?;
            // Hop-by-hop, routing and destination options headers; a
            // fragment header (44) or anything else is not followed.
            while matches!(next, 0 | 43 | 60) {
                let len = (usize::from(*rest.get(1)?) + 1) * 8;
                next = *rest.first()?;
                rest = rest.get(len..)?;
            }
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                transport(next)?,
                rest,
            )
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes([*segment.first()?, *segment.get(1)?]);
    let dport = u16::from_be_bytes([*segment.get(2)?, *segment.get(3)?]);
    Some(((src, sport), (dst, dport), protocol, segment))
}

/// A UDP datagram's payload: the 8-byte header's length, bounded by the
/// bytes captured (a shorter capture is cut short, and flagged as such
/// by the caller's snapshot length check).
fn udp_payload(udp: &[u8]) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    if len < 8 {
        return None;
    }
    udp.get(8..len.min(udp.len()))
}

struct Segment<'a> {
    seq: u32,
    syn: bool,
    payload: &'a [u8],
}

fn tcp_segment(tcp: &[u8]) -> Option<Segment<'_>> {
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    if offset < 20 {
        return None;
    }
    Some(Segment {
        seq,
        syn: flags & 0x02 != 0,
        payload: tcp.get(offset..)?,
    })
}
