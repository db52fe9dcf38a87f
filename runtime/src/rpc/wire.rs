//! What both clients share: building a call message and reading a reply.

// A no_std crate: what the prelude would give is imported by hand.
use std::vec::Vec;

use std::time::Duration;

use super::error::RpcError;
use super::message::{AcceptStat, CallHeader, MessageHeader, OpaqueAuth, RejectStat, ReplyBody};
use super::record::{LAST_FRAGMENT, MAX_FRAGMENT};
use crate::{DecodeError, Decoder, Limits, XdrDecode, XdrEncode};

/// Settings of a client connection.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How long a call waits for its reply (C rpcgen's default is 25 s).
    pub timeout: Duration,
    /// Over UDP, how long to wait before sending the call again.
    pub retransmit: Duration,
    /// Largest reply record accepted over a stream.
    pub max_record: usize,
    /// Limits for decoding results.
    pub limits: Limits,
    /// The credential sent with every call.
    pub credential: OpaqueAuth,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            timeout: Duration::from_secs(25),
            retransmit: Duration::from_secs(1),
            max_record: 64 << 20,
            limits: Limits::default(),
            credential: OpaqueAuth::NONE,
        }
    }
}

/// Largest UDP payload (65,535 less the IP and UDP headers).
pub(crate) const MAX_DATAGRAM: usize = 65_507;

/// A client's receive buffer for UDP replies: one byte more than any
/// datagram, so a reply that fills it was cut short.
pub(crate) const DATAGRAM_RECEIVE_BUFFER: usize = 65_536;

/// The error for a call message that does not fit one datagram.
pub(crate) fn check_datagram_call(message: &[u8]) -> Result<(), RpcError> {
    if message.len() > MAX_DATAGRAM {
        return Err(RpcError::CallTooLargeForDatagram {
            len: message.len(),
            max: MAX_DATAGRAM,
        });
    }
    Ok(())
}

/// Encodes a call message; with `record_mark`, framed as one record.
pub(crate) fn encode_call<A: XdrEncode + ?Sized>(
    header: &CallHeader,
    args: &A,
    record_mark: bool,
) -> Result<Vec<u8>, RpcError> {
    let start = if record_mark { 4 } else { 0 };
    let len = header.encoded_len() + args.encoded_len();
    let mut out = Vec::with_capacity(start + len + 4);
    out.resize(start, 0);
    header.encode(&mut out)?;
    args.encode(&mut out)?;
    if record_mark {
        frame_in_place(&mut out)?;
    }
    Ok(out)
}

/// Writes the record mark into the 4 bytes reserved at the front of `buf`.
pub(crate) fn frame_in_place(buf: &mut [u8]) -> Result<(), RpcError> {
    let len = buf.len() - 4;
    if len > MAX_FRAGMENT {
        return Err(RpcError::Record(super::record::RecordError::TooLarge {
            len: len as u64,
            max: MAX_FRAGMENT,
        }));
    }
    // `len <= MAX_FRAGMENT < 2^31`.
    let mark = LAST_FRAGMENT | u32::try_from(len).unwrap_or(0);
    buf[..4].copy_from_slice(&mark.to_be_bytes());
    Ok(())
}

/// The xid of a message, if it is long enough to have one.
pub(crate) fn xid_of(message: &[u8]) -> Option<u32> {
    message
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Which body of a call [`decode_body`] decodes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Body {
    // Only the server (feature `tokio`) decodes arguments.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    Arguments,
    Results,
}

/// Decodes the arguments or results of `call`. Bytes after the value are
/// skipped, as libtirpc's `clnt_call` and `svc_getargs` do (stock
/// `rpc.rstatd` sends them), and reported as a `tracing` event; with
/// [`Limits::reject_trailing_bytes`] they are an error.
pub(crate) fn decode_body<T: XdrDecode>(
    body: &[u8],
    limits: &Limits,
    call: &CallHeader,
    which: Body,
) -> Result<T, DecodeError> {
    let mut d = Decoder::new(body, limits)?;
    let value = T::decode(&mut d)?;
    if d.remaining() > 0 {
        if limits.reject_trailing_bytes {
            d.finish()?;
        }
        report_trailing_bytes(call, which, d.remaining());
    }
    Ok(value)
}

fn report_trailing_bytes(call: &CallHeader, which: Body, count: usize) {
    let which = match which {
        Body::Arguments => "arguments",
        Body::Results => "results",
    };
    crate::observe::trailing_bytes(
        which,
        call.xid,
        call.program,
        call.version,
        call.procedure,
        count,
    );
}

/// Says why a call's arguments were refused (the reply, GARBAGE_ARGS,
/// carries no reason): the decode error with its byte offset.
#[cfg(feature = "tokio")]
pub(crate) fn report_garbage_args(call: &CallHeader, error: &DecodeError) {
    crate::observe::arguments_do_not_decode(
        crate::observe::Side::OncServer,
        call.xid,
        call.program,
        i64::from(call.procedure),
        error,
    );
}

/// Turns a reply message into the procedure's results or the error the
/// server answered with.
pub(crate) fn decode_reply<R: XdrDecode>(
    message: &[u8],
    call: &CallHeader,
    limits: &Limits,
) -> Result<R, RpcError> {
    let (header, results) = MessageHeader::decode_from(message, limits)?;
    let MessageHeader::Reply(reply) = header else {
        return Err(RpcError::Decode(crate::DecodeError::InvalidEnum {
            at: 4,
            type_name: "msg_type",
            value: 0,
        }));
    };
    match reply.body {
        ReplyBody::Accepted { status, .. } => match status {
            AcceptStat::Success => Ok(decode_body(results, limits, call, Body::Results)?),
            AcceptStat::ProgUnavail => Err(RpcError::ProgUnavail),
            AcceptStat::ProgMismatch { low, high } => Err(RpcError::ProgMismatch { low, high }),
            AcceptStat::ProcUnavail => Err(RpcError::ProcUnavail),
            AcceptStat::GarbageArgs => Err(RpcError::GarbageArgs),
            AcceptStat::SystemErr => Err(RpcError::SystemErr),
        },
        ReplyBody::Denied(RejectStat::RpcMismatch { low, high }) => {
            Err(RpcError::RpcMismatch { low, high })
        }
        ReplyBody::Denied(RejectStat::AuthError(stat)) => Err(RpcError::Auth(stat)),
    }
}
