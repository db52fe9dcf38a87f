//! RPC messages (RFC 5531 §9): the call and reply headers that precede
//! procedure arguments and results, and the authentication data they carry.

use alloc::vec::Vec;
use core::fmt;

use crate::encode::{put_count, put_opaque_var, put_u32};
use crate::{DecodeError, Decoder, EncodeError, Limits, XdrDecode, XdrEncode, XdrString};

/// The RPC protocol version this runtime speaks (RFC 5531 §9).
pub const RPC_VERSION: u32 = 2;

/// Largest body of an [`OpaqueAuth`] (RFC 5531 §8.2).
pub const MAX_AUTH_BYTES: u32 = 400;

/// `msg_type` CALL.
const CALL: u32 = 0;
/// `msg_type` REPLY.
const REPLY: u32 = 1;

/// Authentication flavor numbers (RFC 5531 §8.2, IANA registry).
pub mod flavor {
    /// No authentication.
    pub const AUTH_NONE: u32 = 0;
    /// Unix-style uid/gid credentials ([`AuthSys`](super::AuthSys)).
    pub const AUTH_SYS: u32 = 1;
    /// A short-hand credential a server handed out earlier.
    pub const AUTH_SHORT: u32 = 2;
    /// Diffie-Hellman authentication.
    pub const AUTH_DH: u32 = 3;
    /// RPCSEC_GSS (RFC 2203).
    pub const RPCSEC_GSS: u32 = 6;
}

/// A credential or verifier: a flavor and up to 400 opaque bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OpaqueAuth {
    /// The flavor ([`flavor`] constants).
    pub flavor: u32,
    /// The flavor-specific body.
    pub body: Vec<u8>,
}

impl OpaqueAuth {
    /// AUTH_NONE with an empty body.
    pub const NONE: OpaqueAuth = OpaqueAuth {
        flavor: flavor::AUTH_NONE,
        body: Vec::new(),
    };

    /// An AUTH_SYS credential carrying `params`.
    pub fn sys(params: &AuthSys) -> Result<OpaqueAuth, EncodeError> {
        Ok(OpaqueAuth {
            flavor: flavor::AUTH_SYS,
            body: params.to_xdr()?,
        })
    }
}

impl XdrEncode for OpaqueAuth {
    fn encoded_len(&self) -> usize {
        4 + crate::encode::opaque_var_len(self.body.len())
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.flavor);
        put_opaque_var(out, &self.body, MAX_AUTH_BYTES, "opaque_auth.body")
    }
}

impl XdrDecode for OpaqueAuth {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(OpaqueAuth {
            flavor: d.u32()?,
            body: d.opaque_var(MAX_AUTH_BYTES)?,
        })
    }
}

/// The body of an AUTH_SYS credential (RFC 5531 appendix A).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AuthSys {
    /// An arbitrary id the caller's machine generates.
    pub stamp: u32,
    /// The caller's host name, at most 255 bytes.
    pub machine_name: XdrString,
    /// The caller's effective user id.
    pub uid: u32,
    /// The caller's effective group id.
    pub gid: u32,
    /// Supplementary groups, at most 16.
    pub gids: Vec<u32>,
}

/// Bounds of [`AuthSys`] fields.
const MAX_MACHINE_NAME: u32 = 255;
const MAX_GIDS: u32 = 16;

impl XdrEncode for AuthSys {
    fn encoded_len(&self) -> usize {
        4 + crate::encode::opaque_var_len(self.machine_name.len()) + 8 + 4 + 4 * self.gids.len()
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.stamp);
        put_opaque_var(
            out,
            self.machine_name.as_bytes(),
            MAX_MACHINE_NAME,
            "authsys_parms.machinename",
        )?;
        put_u32(out, self.uid);
        put_u32(out, self.gid);
        put_count(out, self.gids.len(), MAX_GIDS, "authsys_parms.gids")?;
        for gid in &self.gids {
            put_u32(out, *gid);
        }
        Ok(())
    }
}

impl XdrDecode for AuthSys {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let stamp = d.u32()?;
        let machine_name = d.string(MAX_MACHINE_NAME)?;
        let uid = d.u32()?;
        let gid = d.u32()?;
        let n = d.count(MAX_GIDS, 4, core::mem::size_of::<u32>())?;
        let mut gids = Vec::with_capacity(n);
        for _ in 0..n {
            gids.push(d.u32()?);
        }
        Ok(AuthSys {
            stamp,
            machine_name,
            uid,
            gid,
            gids,
        })
    }
}

/// The header of a call (RFC 5531 `call_body`, with the message's xid);
/// the procedure's arguments follow it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CallHeader {
    /// Transaction id, echoed by the reply.
    pub xid: u32,
    /// RPC version; [`RPC_VERSION`] when encoded by this crate.
    pub rpc_version: u32,
    /// Program number.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Procedure number.
    pub procedure: u32,
    /// The caller's credential.
    pub credential: OpaqueAuth,
    /// The caller's verifier.
    pub verifier: OpaqueAuth,
}

/// Bytes of a call header whose credential and verifier are both
/// AUTH_NONE with empty bodies: ten words.
const AUTH_NONE_CALL_BYTES: usize = 40;

impl CallHeader {
    /// The header at the start of `message` when it is a call whose
    /// credential and verifier are both empty AUTH_NONE, the most common
    /// header by far: read as ten fixed words, without the general
    /// decoder's per-field checks. `None` for anything else.
    fn without_auth(message: &[u8]) -> Option<CallHeader> {
        let header: &[u8; AUTH_NONE_CALL_BYTES] =
            message.get(..AUTH_NONE_CALL_BYTES)?.try_into().ok()?;
        let mut words = [0u32; AUTH_NONE_CALL_BYTES / 4];
        for (word, bytes) in words.iter_mut().zip(header.chunks_exact(4)) {
            *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let [
            xid,
            CALL,
            rpc_version,
            program,
            version,
            procedure,
            flavor::AUTH_NONE,
            0,
            flavor::AUTH_NONE,
            0,
        ] = words
        else {
            return None;
        };
        Some(CallHeader {
            xid,
            rpc_version,
            program,
            version,
            procedure,
            credential: OpaqueAuth {
                flavor: flavor::AUTH_NONE,
                body: Vec::new(),
            },
            verifier: OpaqueAuth {
                flavor: flavor::AUTH_NONE,
                body: Vec::new(),
            },
        })
    }

    /// A version-2 call with AUTH_NONE.
    pub fn new(xid: u32, program: u32, version: u32, procedure: u32) -> CallHeader {
        CallHeader {
            xid,
            rpc_version: RPC_VERSION,
            program,
            version,
            procedure,
            credential: OpaqueAuth::NONE,
            verifier: OpaqueAuth::NONE,
        }
    }
}

impl XdrEncode for CallHeader {
    fn encoded_len(&self) -> usize {
        24 + self.credential.encoded_len() + self.verifier.encoded_len()
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.xid);
        put_u32(out, CALL);
        put_u32(out, self.rpc_version);
        put_u32(out, self.program);
        put_u32(out, self.version);
        put_u32(out, self.procedure);
        self.credential.encode(out)?;
        self.verifier.encode(out)
    }
}

/// `auth_stat`: why authentication failed (RFC 5531 §9, RFC 2203).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum AuthStat {
    /// Success (never sent in a rejection).
    Ok = 0,
    /// Bad credential (seal broken).
    BadCred = 1,
    /// The client must begin a new session.
    RejectedCred = 2,
    /// Bad verifier (seal broken).
    BadVerf = 3,
    /// Verifier expired or replayed.
    RejectedVerf = 4,
    /// Rejected for security reasons.
    TooWeak = 5,
    /// Bogus response verifier.
    InvalidResp = 6,
    /// Reason unknown.
    Failed = 7,
    /// RPCSEC_GSS: no credentials for the user.
    GssCredProblem = 13,
    /// RPCSEC_GSS: problem with the context.
    GssCtxProblem = 14,
}

impl AuthStat {
    fn from_u32(v: u32, at: usize) -> Result<AuthStat, DecodeError> {
        Ok(match v {
            0 => AuthStat::Ok,
            1 => AuthStat::BadCred,
            2 => AuthStat::RejectedCred,
            3 => AuthStat::BadVerf,
            4 => AuthStat::RejectedVerf,
            5 => AuthStat::TooWeak,
            6 => AuthStat::InvalidResp,
            7 => AuthStat::Failed,
            13 => AuthStat::GssCredProblem,
            14 => AuthStat::GssCtxProblem,
            _ => return Err(invalid_enum(at, "auth_stat", v)),
        })
    }
}

/// The status of an accepted call (`accept_stat` and its data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AcceptStat {
    /// Executed; the results follow the header.
    Success,
    /// The server does not export the program.
    ProgUnavail,
    /// The server does not support the version; it supports `low..=high`.
    ProgMismatch {
        /// Lowest version supported.
        low: u32,
        /// Highest version supported.
        high: u32,
    },
    /// The program has no such procedure.
    ProcUnavail,
    /// The arguments could not be decoded.
    GarbageArgs,
    /// A server-side error, such as running out of memory.
    SystemErr,
}

/// Why a call was rejected (`rejected_reply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectStat {
    /// The server does not speak the RPC version; it speaks `low..=high`.
    RpcMismatch {
        /// Lowest RPC version supported.
        low: u32,
        /// Highest RPC version supported.
        high: u32,
    },
    /// The caller could not be authenticated.
    AuthError(AuthStat),
}

/// The body of a reply: accepted (with a verifier) or denied.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ReplyBody {
    /// The server accepted the call's authentication.
    Accepted {
        /// The server's verifier.
        verifier: OpaqueAuth,
        /// What became of the call.
        status: AcceptStat,
    },
    /// The server refused the call.
    Denied(RejectStat),
}

/// The header of a reply (RFC 5531 `reply_body` with the message's xid);
/// on success the procedure's results follow it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReplyHeader {
    /// The xid of the call this answers.
    pub xid: u32,
    /// Accepted or denied, and why.
    pub body: ReplyBody,
}

impl ReplyHeader {
    /// An accepted reply with an AUTH_NONE verifier.
    pub fn accepted(xid: u32, status: AcceptStat) -> ReplyHeader {
        ReplyHeader {
            xid,
            body: ReplyBody::Accepted {
                verifier: OpaqueAuth::NONE,
                status,
            },
        }
    }

    /// A denied reply.
    pub fn denied(xid: u32, reason: RejectStat) -> ReplyHeader {
        ReplyHeader {
            xid,
            body: ReplyBody::Denied(reason),
        }
    }
}

impl XdrEncode for ReplyHeader {
    fn encoded_len(&self) -> usize {
        12 + match &self.body {
            ReplyBody::Accepted { verifier, status } => {
                verifier.encoded_len()
                    + 4
                    + if matches!(status, AcceptStat::ProgMismatch { .. }) {
                        8
                    } else {
                        0
                    }
            }
            ReplyBody::Denied(RejectStat::RpcMismatch { .. }) => 12,
            ReplyBody::Denied(RejectStat::AuthError(_)) => 8,
        }
    }
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u32(out, self.xid);
        put_u32(out, REPLY);
        match &self.body {
            ReplyBody::Accepted { verifier, status } => {
                put_u32(out, 0); // MSG_ACCEPTED
                verifier.encode(out)?;
                match *status {
                    AcceptStat::Success => put_u32(out, 0),
                    AcceptStat::ProgUnavail => put_u32(out, 1),
                    AcceptStat::ProgMismatch { low, high } => {
                        put_u32(out, 2);
                        put_u32(out, low);
                        put_u32(out, high);
                    }
                    AcceptStat::ProcUnavail => put_u32(out, 3),
                    AcceptStat::GarbageArgs => put_u32(out, 4),
                    AcceptStat::SystemErr => put_u32(out, 5),
                }
            }
            ReplyBody::Denied(reason) => {
                put_u32(out, 1); // MSG_DENIED
                match *reason {
                    RejectStat::RpcMismatch { low, high } => {
                        put_u32(out, 0);
                        put_u32(out, low);
                        put_u32(out, high);
                    }
                    RejectStat::AuthError(stat) => {
                        put_u32(out, 1);
                        put_u32(out, stat as u32);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A decoded message header: a call or a reply.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageHeader {
    /// A call; arguments follow.
    Call(CallHeader),
    /// A reply; results follow a successful one.
    Reply(ReplyHeader),
}

impl MessageHeader {
    /// The message's xid.
    pub fn xid(&self) -> u32 {
        match self {
            MessageHeader::Call(c) => c.xid,
            MessageHeader::Reply(r) => r.xid,
        }
    }

    /// Decodes the header at the start of `message`, returning it and the
    /// bytes after it (arguments or results).
    pub fn decode_from<'a>(
        message: &'a [u8],
        limits: &Limits,
    ) -> Result<(MessageHeader, &'a [u8]), DecodeError> {
        if message.len() <= limits.max_message_bytes {
            if let Some(call) = CallHeader::without_auth(message) {
                return Ok((MessageHeader::Call(call), &message[AUTH_NONE_CALL_BYTES..]));
            }
        }
        let mut d = Decoder::new(message, limits)?;
        let header = MessageHeader::decode(&mut d)?;
        let rest = &message[d.position()..];
        Ok((header, rest))
    }
}

impl XdrDecode for MessageHeader {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let xid = d.u32()?;
        let at = d.position();
        match d.u32()? {
            CALL => Ok(MessageHeader::Call(CallHeader {
                xid,
                rpc_version: d.u32()?,
                program: d.u32()?,
                version: d.u32()?,
                procedure: d.u32()?,
                credential: OpaqueAuth::decode(d)?,
                verifier: OpaqueAuth::decode(d)?,
            })),
            REPLY => {
                let at = d.position();
                let body = match d.u32()? {
                    0 => {
                        let verifier = OpaqueAuth::decode(d)?;
                        let at = d.position();
                        let status = match d.u32()? {
                            0 => AcceptStat::Success,
                            1 => AcceptStat::ProgUnavail,
                            2 => AcceptStat::ProgMismatch {
                                low: d.u32()?,
                                high: d.u32()?,
                            },
                            3 => AcceptStat::ProcUnavail,
                            4 => AcceptStat::GarbageArgs,
                            5 => AcceptStat::SystemErr,
                            v => return Err(invalid_enum(at, "accept_stat", v)),
                        };
                        ReplyBody::Accepted { verifier, status }
                    }
                    1 => {
                        let at = d.position();
                        ReplyBody::Denied(match d.u32()? {
                            0 => RejectStat::RpcMismatch {
                                low: d.u32()?,
                                high: d.u32()?,
                            },
                            1 => {
                                let at = d.position();
                                RejectStat::AuthError(AuthStat::from_u32(d.u32()?, at)?)
                            }
                            v => return Err(invalid_enum(at, "reject_stat", v)),
                        })
                    }
                    v => return Err(invalid_enum(at, "reply_stat", v)),
                };
                Ok(MessageHeader::Reply(ReplyHeader { xid, body }))
            }
            v => Err(invalid_enum(at, "msg_type", v)),
        }
    }
}

#[cold]
fn invalid_enum(at: usize, type_name: &'static str, value: u32) -> DecodeError {
    DecodeError::InvalidEnum {
        at,
        type_name,
        value: i32::from_be_bytes(value.to_be_bytes()),
    }
}

impl fmt::Display for AuthStat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthStat::Ok => "AUTH_OK",
            AuthStat::BadCred => "AUTH_BADCRED (bad credential)",
            AuthStat::RejectedCred => "AUTH_REJECTEDCRED (begin a new session)",
            AuthStat::BadVerf => "AUTH_BADVERF (bad verifier)",
            AuthStat::RejectedVerf => "AUTH_REJECTEDVERF (verifier expired or replayed)",
            AuthStat::TooWeak => "AUTH_TOOWEAK (rejected for security reasons)",
            AuthStat::InvalidResp => "AUTH_INVALIDRESP (bogus response verifier)",
            AuthStat::Failed => "AUTH_FAILED",
            AuthStat::GssCredProblem => "RPCSEC_GSS_CREDPROBLEM",
            AuthStat::GssCtxProblem => "RPCSEC_GSS_CTXPROBLEM",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// The general decoder, which the AUTH_NONE shortcut must agree with.
    fn decode_in_general(message: &[u8]) -> Result<(MessageHeader, usize), DecodeError> {
        let mut d = Decoder::new(message, &Limits::default())?;
        let header = MessageHeader::decode(&mut d)?;
        Ok((header, d.position()))
    }

    #[test]
    fn the_auth_none_shortcut_agrees_with_the_general_decoder() {
        let mut plain = CallHeader::new(9, 100_003, 3, 1).to_xdr().unwrap();
        plain.extend_from_slice(&[0, 0, 0, 5]);
        let mut with_body = CallHeader::new(9, 100_003, 3, 1);
        with_body.credential.body = vec![1, 2, 3, 4];
        let with_body = with_body.to_xdr().unwrap();
        let mut sys = CallHeader::new(9, 100_003, 3, 1);
        sys.credential = OpaqueAuth::sys(&AuthSys::default()).unwrap();
        let sys = sys.to_xdr().unwrap();
        let reply = ReplyHeader::accepted(9, AcceptStat::Success)
            .to_xdr()
            .unwrap();
        for message in [&plain[..], &plain[..39], &with_body, &sys, &reply] {
            let general = decode_in_general(message);
            let decoded = MessageHeader::decode_from(message, &Limits::default());
            match (general, decoded) {
                (Ok((header, at)), Ok((fast, rest))) => {
                    assert_eq!(fast, header);
                    assert_eq!(rest, &message[at..]);
                }
                (Err(general), Err(fast)) => assert_eq!(fast, general),
                (general, decoded) => panic!("{general:?} against {decoded:?}"),
            }
        }
        let limits = Limits {
            max_message_bytes: 40,
            ..Limits::default()
        };
        assert!(
            MessageHeader::decode_from(&plain, &limits).is_err(),
            "over the limit"
        );
    }

    #[test]
    fn a_call_header_has_the_rfc_layout() {
        let mut call = CallHeader::new(0x0102_0304, 100_000, 2, 4);
        call.credential = OpaqueAuth::sys(&AuthSys {
            stamp: 7,
            machine_name: "host".into(),
            uid: 1000,
            gid: 100,
            gids: vec![4, 24],
        })
        .unwrap();
        let bytes = call.to_xdr().unwrap();
        assert_eq!(bytes.len(), call.encoded_len());
        #[rustfmt::skip]
        let expected: &[u8] = &[
            1, 2, 3, 4,  0, 0, 0, 0,  0, 0, 0, 2,
            0, 1, 0x86, 0xa0,  0, 0, 0, 2,  0, 0, 0, 4,
            0, 0, 0, 1,  0, 0, 0, 32,
            0, 0, 0, 7,  0, 0, 0, 4,  b'h', b'o', b's', b't',
            0, 0, 3, 0xe8,  0, 0, 0, 100,  0, 0, 0, 2,  0, 0, 0, 4,  0, 0, 0, 24,
            0, 0, 0, 0,  0, 0, 0, 0,
        ];
        assert_eq!(bytes, expected);
        let (decoded, rest) = MessageHeader::decode_from(&bytes, &Limits::default()).unwrap();
        assert!(rest.is_empty());
        let MessageHeader::Call(decoded) = decoded else {
            panic!("not a call")
        };
        assert_eq!(decoded, call);
        let sys = AuthSys::from_xdr(&decoded.credential.body).unwrap();
        assert_eq!(sys.gids, [4, 24]);
    }

    #[test]
    fn every_reply_round_trips() {
        let bodies = [
            ReplyHeader::accepted(1, AcceptStat::Success),
            ReplyHeader::accepted(2, AcceptStat::ProgUnavail),
            ReplyHeader::accepted(3, AcceptStat::ProgMismatch { low: 2, high: 4 }),
            ReplyHeader::accepted(4, AcceptStat::ProcUnavail),
            ReplyHeader::accepted(5, AcceptStat::GarbageArgs),
            ReplyHeader::accepted(6, AcceptStat::SystemErr),
            ReplyHeader::denied(7, RejectStat::RpcMismatch { low: 2, high: 2 }),
            ReplyHeader::denied(8, RejectStat::AuthError(AuthStat::TooWeak)),
            ReplyHeader::denied(9, RejectStat::AuthError(AuthStat::GssCtxProblem)),
        ];
        for reply in bodies {
            let mut bytes = reply.to_xdr().unwrap();
            assert_eq!(bytes.len(), reply.encoded_len());
            bytes.extend_from_slice(&[0, 0, 0, 42]);
            let (decoded, rest) = MessageHeader::decode_from(&bytes, &Limits::default()).unwrap();
            assert_eq!(decoded, MessageHeader::Reply(reply));
            assert_eq!(rest, [0, 0, 0, 42]);
        }
    }

    #[test]
    fn bad_headers_are_typed_errors() {
        let limits = Limits::default();
        let bad_type = [0, 0, 0, 1, 0, 0, 0, 9];
        assert!(matches!(
            MessageHeader::decode_from(&bad_type, &limits),
            Err(DecodeError::InvalidEnum {
                at: 4,
                type_name: "msg_type",
                value: 9
            })
        ));
        let bad_auth = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 99];
        assert!(matches!(
            MessageHeader::decode_from(&bad_auth, &limits),
            Err(DecodeError::InvalidEnum {
                at: 16,
                type_name: "auth_stat",
                value: 99
            })
        ));
        // A credential over 400 bytes.
        let mut long = CallHeader::new(1, 2, 3, 4).to_xdr().unwrap();
        long.truncate(24);
        long.extend_from_slice(&[0, 0, 0, 1, 0, 0, 1, 0xf4]);
        long.resize(long.len() + 500, 0);
        assert!(matches!(
            MessageHeader::decode_from(&long, &limits),
            Err(DecodeError::OverBound {
                len: 500,
                max: 400,
                ..
            })
        ));
        assert!(matches!(
            MessageHeader::decode_from(&[0, 0], &limits),
            Err(DecodeError::Truncated { .. })
        ));
    }
}
