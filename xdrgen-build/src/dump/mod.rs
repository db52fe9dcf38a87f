//! `xdrgen dump`: decoding bytes with any `.x` file, without generating
//! code.
//!
//! - [`value`]: one value of a named type, as a tree of [`Node`]s with byte
//!   offsets and XDR types;
//! - [`rpc`]: ONC RPC and libvirt framing, headers, replies matched to
//!   calls, bodies decoded as the procedure's types;
//! - [`pcap`]: pcap/pcapng captures, TCP reassembled per direction, UDP
//!   datagrams one message each;
//! - [`text`] and (feature `json`) [`json`]: the two renderings.
//!
//! Nothing here panics on any input: errors are data with offsets, and
//! every length is checked before it is used.

pub mod pcap;
pub mod rpc;
pub mod text;
pub mod value;

#[cfg(feature = "json")]
pub mod json;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;

use crate::ir::Module;

pub use pcap::{Capture, CaptureError, Transport};
pub use rpc::{Framing, Message, MessageKind};
pub use value::{Decoded, DumpError, DumpLimits, Node, Value, decode_named};

/// A byte stream that messages were cut from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// The sender and receiver, for streams from a capture.
    pub endpoints: Option<(SocketAddr, SocketAddr)>,
    /// TCP or UDP, for streams from a capture.
    pub transport: Option<Transport>,
    /// Both directions of a connection share this number.
    pub connection: usize,
    /// Its length in bytes.
    pub len: usize,
    /// Why the stream stops early, if it does (bytes missing from the
    /// capture).
    pub gap: Option<String>,
}

/// The messages of a stream or a capture.
#[derive(Clone, Debug, PartialEq)]
pub struct Dump {
    /// The framing used.
    pub framing: Framing,
    /// The streams (TCP connections' directions, and UDP datagrams
    /// between two addresses under ONC framing), in the order their first
    /// byte appeared.
    pub streams: Vec<StreamInfo>,
    /// Every message: in a capture, in the order of the frame completing
    /// each (as Wireshark lists them), otherwise in stream order.
    pub messages: Vec<Message>,
    /// Packets of a capture that were not TCP, and UDP datagrams that are
    /// not ONC RPC messages (all of them under libvirt framing, which only
    /// runs over streams).
    pub skipped_packets: u64,
}

impl Dump {
    /// The first error of any message or stream.
    pub fn first_error(&self) -> Option<String> {
        self.messages
            .iter()
            .enumerate()
            .find_map(|(i, m)| m.error.as_ref().map(|e| format!("message #{}: {e}", i + 1)))
            .or_else(|| {
                self.streams
                    .iter()
                    .find_map(|s| s.gap.as_ref().map(|g| format!("capture: {g}")))
            })
    }
}

/// Decodes a raw stream (one direction or both, interleaved by message) of
/// `framing` messages.
pub fn dump_stream(module: &Module, framing: Framing, bytes: &[u8], limits: DumpLimits) -> Dump {
    let mut decoder = rpc::RpcDecoder::new(module, framing, limits);
    let messages = rpc::split(framing, bytes)
        .iter()
        .enumerate()
        .map(|(i, framed)| decoder.message(framed, 0, 0, i))
        .collect();
    Dump {
        framing,
        streams: vec![StreamInfo {
            endpoints: None,
            transport: None,
            connection: 0,
            len: bytes.len(),
            gap: None,
        }],
        messages,
        skipped_packets: 0,
    }
}

/// Decodes the TCP streams of a pcap or pcapng capture as `framing`
/// messages, and under ONC framing each UDP datagram that starts like an
/// RPC message as one message (RFC 5531 over UDP has no record marking).
/// Other datagrams (DNS, NTP, ...) are counted as skipped, as Wireshark's
/// RPC heuristic leaves them to their own dissectors.
pub fn dump_capture(
    module: &Module,
    framing: Framing,
    capture: &[u8],
    limits: DumpLimits,
) -> Result<Dump, CaptureError> {
    let capture = pcap::read(capture)?;
    Ok(dump_reassembled(module, framing, &capture, limits))
}

/// Decodes the streams of an already read capture.
pub fn dump_reassembled(
    module: &Module,
    framing: Framing,
    capture: &Capture,
    limits: DumpLimits,
) -> Dump {
    // UDP flows carrying no ONC RPC message are not listed (libvirt's RPC
    // runs over streams only: under it, none is); their datagrams count
    // as skipped.
    let mut skipped = capture.skipped;
    let streams: Vec<&pcap::Stream> = capture
        .streams
        .iter()
        .filter(|s| {
            let keep = s.transport == Transport::Tcp
                || (framing == Framing::Onc && udp_datagrams(s).any(|d| rpc::looks_like_onc(d.1)));
            if !keep {
                skipped += s.segments.len() as u64;
            }
            keep
        })
        .collect();
    // Split every stream first, then decode in the order the messages
    // completed, so each reply comes after its call.
    let mut framed = Vec::new();
    for (s, stream) in streams.iter().enumerate() {
        match stream.transport {
            Transport::Tcp => {
                for f in rpc::split(framing, &stream.data) {
                    let first = stream.frame_at(f.offset);
                    let last = stream.frame_at((f.offset + f.len).saturating_sub(1));
                    framed.push((last.unwrap_or(0), s, first.zip(last), f));
                }
            }
            Transport::Udp => {
                for ((offset, frame), datagram) in udp_datagrams(stream) {
                    if !rpc::looks_like_onc(datagram) {
                        skipped += 1;
                        continue;
                    }
                    let f = rpc::Framed {
                        bytes: datagram.to_vec(),
                        offset,
                        len: datagram.len(),
                        error: None,
                    };
                    framed.push((frame, s, Some((frame, frame)), f));
                }
            }
        }
    }
    framed.sort_by_key(|(last, s, _, f)| (*last, *s, f.offset));
    let mut decoder = rpc::RpcDecoder::new(module, framing, limits);
    let messages = framed
        .iter()
        .enumerate()
        .map(|(i, (_, s, frames, f))| {
            let mut m = decoder.message(f, *s, streams[*s].connection, i);
            m.frames = *frames;
            m
        })
        .collect();
    Dump {
        framing,
        streams: streams
            .iter()
            .map(|s| StreamInfo {
                endpoints: Some((s.src, s.dst)),
                transport: Some(s.transport),
                connection: s.connection,
                len: s.data.len(),
                gap: s.gap.clone(),
            })
            .collect(),
        messages,
        skipped_packets: skipped,
    }
}

/// A UDP flow's datagrams: `((offset in the flow, frame), bytes)`.
fn udp_datagrams(stream: &pcap::Stream) -> impl Iterator<Item = ((usize, u64), &[u8])> {
    stream.segments.iter().enumerate().map(|(i, &segment)| {
        let end = stream
            .segments
            .get(i + 1)
            .map_or(stream.data.len(), |next| next.0);
        (segment, &stream.data[segment.0..end])
    })
}

/// Reads hex text: pairs of hex digits, with white space, `:` and `-`
/// between bytes allowed and `#` starting a comment to the end of the line.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, DumpError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut comment = false;
    for (i, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if let Some(v) = c.to_digit(16).and_then(|v| u8::try_from(v).ok()) {
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
            continue;
        }
        if high.is_some() {
            return Err(DumpError {
                offset: i,
                message: format!("`{c}` inside a byte: hex digits come in pairs"),
            });
        }
        match c {
            '#' => comment = true,
            c if c.is_whitespace() || c == ':' || c == '-' => {}
            _ => {
                return Err(DumpError {
                    offset: i,
                    message: format!("`{c}` is not a hex digit"),
                });
            }
        }
    }
    if high.is_some() {
        return Err(DumpError {
            offset: text.len(),
            message: "an odd number of hex digits".to_string(),
        });
    }
    Ok(out)
}
