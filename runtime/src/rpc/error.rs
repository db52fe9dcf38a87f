//! What can go wrong with a call, as the client sees it.

use std::fmt;
use std::io;

use super::endpoint::Protocol;
use super::message::AuthStat;
use super::record::RecordError;
use crate::{DecodeError, EncodeError};

/// Why a call did not produce results.
#[derive(Debug)]
#[non_exhaustive]
pub enum RpcError {
    /// The transport failed.
    Io(io::Error),
    /// The arguments could not be encoded (a field over its bound).
    Encode(EncodeError),
    /// The reply, or its results, could not be decoded.
    Decode(DecodeError),
    /// The peer sent a record over the client's maximum size.
    Record(RecordError),
    /// No reply arrived within the call's timeout.
    Timeout,
    /// The connection was closed before the reply arrived.
    ConnectionClosed,
    /// PROG_UNAVAIL: the server does not export the program.
    ProgUnavail,
    /// PROG_MISMATCH: the server supports versions `low..=high` only.
    ProgMismatch {
        /// Lowest version supported.
        low: u32,
        /// Highest version supported.
        high: u32,
    },
    /// PROC_UNAVAIL: the program has no such procedure.
    ProcUnavail,
    /// GARBAGE_ARGS: the server could not decode the arguments.
    GarbageArgs,
    /// SYSTEM_ERR: the server failed.
    SystemErr,
    /// RPC_MISMATCH: the server speaks RPC versions `low..=high` only.
    RpcMismatch {
        /// Lowest RPC version supported.
        low: u32,
        /// Highest RPC version supported.
        high: u32,
    },
    /// AUTH_ERROR: the server refused the credentials.
    Auth(AuthStat),
    /// The port mapper has no port for the program and version over this
    /// transport (GETPORT answered 0).
    NotRegistered {
        /// The program asked for.
        program: u32,
        /// The version asked for.
        version: u32,
        /// The transport asked for.
        protocol: Protocol,
    },
    /// Over UDP, the call message is larger than one datagram can carry;
    /// it was not sent.
    CallTooLargeForDatagram {
        /// The call message's size in bytes.
        len: usize,
        /// The most a datagram carries.
        max: usize,
    },
    /// Over UDP, a reply filled the whole receive buffer: it may have
    /// been cut short, so it is not decoded.
    ReplyTruncated {
        /// The receive buffer's size in bytes.
        max: usize,
    },
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The inner error is the source: it is not repeated here.
            RpcError::Io(_) => f.write_str("RPC transport error"),
            RpcError::Encode(_) => f.write_str("cannot encode the arguments"),
            RpcError::Decode(_) => f.write_str("cannot decode the reply"),
            RpcError::Record(_) => f.write_str("bad record from the server"),
            RpcError::Timeout => f.write_str("RPC timed out"),
            RpcError::ConnectionClosed => f.write_str("connection closed before the reply"),
            RpcError::ProgUnavail => f.write_str("program unavailable (PROG_UNAVAIL)"),
            RpcError::ProgMismatch { low, high } => {
                write!(
                    f,
                    "program version mismatch; server supports {low} to {high}"
                )
            }
            RpcError::ProcUnavail => f.write_str("procedure unavailable (PROC_UNAVAIL)"),
            RpcError::GarbageArgs => f.write_str("server could not decode the arguments"),
            RpcError::SystemErr => f.write_str("server system error (SYSTEM_ERR)"),
            RpcError::RpcMismatch { low, high } => {
                write!(f, "RPC version mismatch; server speaks {low} to {high}")
            }
            RpcError::Auth(stat) => write!(f, "authentication error: {stat}"),
            RpcError::NotRegistered {
                program,
                version,
                protocol,
            } => write!(
                f,
                "program {program} version {version} is not registered with rpcbind for {protocol}"
            ),
            RpcError::CallTooLargeForDatagram { len, max } => write!(
                f,
                "the call is {len} bytes, more than a UDP datagram carries ({max}); not sent"
            ),
            RpcError::ReplyTruncated { max } => write!(
                f,
                "the UDP reply filled the {max}-byte receive buffer and may be truncated"
            ),
        }
    }
}

impl std::error::Error for RpcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RpcError::Io(e) => Some(e),
            RpcError::Encode(e) => Some(e),
            RpcError::Decode(e) => Some(e),
            RpcError::Record(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for RpcError {
    fn from(e: io::Error) -> Self {
        RpcError::Io(e)
    }
}

impl From<EncodeError> for RpcError {
    fn from(e: EncodeError) -> Self {
        RpcError::Encode(e)
    }
}

impl From<DecodeError> for RpcError {
    fn from(e: DecodeError) -> Self {
        RpcError::Decode(e)
    }
}

impl From<RecordError> for RpcError {
    fn from(e: RecordError) -> Self {
        RpcError::Record(e)
    }
}
