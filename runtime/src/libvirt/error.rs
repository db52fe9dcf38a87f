//! The body of an error reply: `virNetMessageError` (`remote_error`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::packet::STRING_MAX;
use crate::encode::{opaque_var_len, put_bool, put_i32, put_opaque_fixed, put_opaque_var};
use crate::{DecodeError, Decoder, EncodeError, XdrDecode, XdrEncode, XdrString};

/// libvirt error codes (`virErrorNumber`) a server commonly answers with.
pub mod error_code {
    /// `VIR_ERR_INTERNAL_ERROR`.
    pub const INTERNAL_ERROR: i32 = 1;
    /// `VIR_ERR_NO_SUPPORT`: the function is not supported.
    pub const NO_SUPPORT: i32 = 3;
    /// `VIR_ERR_INVALID_ARG`.
    pub const INVALID_ARG: i32 = 8;
    /// `VIR_ERR_OPERATION_FAILED`.
    pub const OPERATION_FAILED: i32 = 9;
    /// `VIR_ERR_OPERATION_DENIED`.
    pub const OPERATION_DENIED: i32 = 29;
    /// `VIR_ERR_RPC`: a protocol error.
    pub const RPC: i32 = 39;
    /// `VIR_ERR_NO_DOMAIN`: no domain with a matching name or uuid.
    pub const NO_DOMAIN: i32 = 42;
    /// `VIR_ERR_OPERATION_INVALID`: not valid in the object's state.
    pub const OPERATION_INVALID: i32 = 55;
}

/// libvirt error domains (`virErrorDomain`): where an error came from.
pub mod error_domain {
    /// `VIR_FROM_NONE`.
    pub const NONE: i32 = 0;
    /// `VIR_FROM_DOM`: the domain API.
    pub const DOM: i32 = 6;
    /// `VIR_FROM_RPC`: the RPC layer.
    pub const RPC: i32 = 7;
    /// `VIR_FROM_TEST`: the test driver.
    pub const TEST: i32 = 12;
    /// `VIR_FROM_REMOTE`: the remote driver.
    pub const REMOTE: i32 = 13;
}

/// `VIR_ERR_ERROR`: the level of an error (as opposed to a warning).
const LEVEL_ERROR: i32 = 2;

/// `virNetMessageNonnullDomain`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonnullDomain {
    /// Name.
    pub name: XdrString,
    /// UUID.
    pub uuid: [u8; 16],
    /// Id (-1 when inactive).
    pub id: i32,
}

/// `virNetMessageNonnullNetwork`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NonnullNetwork {
    /// Name.
    pub name: XdrString,
    /// UUID.
    pub uuid: [u8; 16],
}

/// A libvirt error as it travels in an error reply or stream abort. The
/// rarely used fields sit behind one box, so a `Result` carrying it stays
/// small.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteError {
    /// `virErrorNumber` ([`error_code`]).
    pub code: i32,
    /// `virErrorDomain` ([`error_domain`]).
    pub domain: i32,
    /// The message users see.
    pub message: Option<XdrString>,
    /// `virErrorLevel` (2 for an error).
    pub level: i32,
    /// The other fields, when any is set.
    pub details: Option<Box<ErrorDetails>>,
}

/// The less used fields of a [`RemoteError`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// Unused by libvirt.
    pub dom: Option<NonnullDomain>,
    /// Extra information (libvirtd puts the message's format here).
    pub str1: Option<XdrString>,
    /// Extra information.
    pub str2: Option<XdrString>,
    /// Extra information.
    pub str3: Option<XdrString>,
    /// Extra information.
    pub int1: i32,
    /// Extra information.
    pub int2: i32,
    /// Unused by libvirt.
    pub net: Option<NonnullNetwork>,
}

impl RemoteError {
    /// An error with a code, domain and message.
    pub fn new(code: i32, domain: i32, message: impl Into<String>) -> RemoteError {
        RemoteError {
            code,
            domain,
            message: Some(XdrString::from(message.into())),
            level: LEVEL_ERROR,
            ..RemoteError::default()
        }
    }

    /// `VIR_ERR_NO_SUPPORT`: what a server answers for procedures it does
    /// not implement.
    pub fn unsupported(procedure: &str) -> RemoteError {
        RemoteError::new(
            error_code::NO_SUPPORT,
            error_domain::RPC,
            alloc::format!("this function is not supported by the connection driver: {procedure}"),
        )
    }
}

impl RemoteError {
    /// What a server answers for a procedure number its program lacks,
    /// as libvirtd answers it: `VIR_ERR_RPC` from `VIR_FROM_RPC`, "unknown
    /// procedure: N" (seen from libvirtd 9.0 in `tests/tests/libvirt_peer.rs`).
    /// libvirtd's message does not name the program, so `_program` is unused.
    pub fn unknown_procedure(_program: u32, procedure: i32) -> RemoteError {
        RemoteError::new(
            error_code::RPC,
            error_domain::RPC,
            alloc::format!("unknown procedure: {procedure}"),
        )
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => write!(f, "{m} (code {}, domain {})", self.code, self.domain),
            None => write!(
                f,
                "libvirt error code {}, domain {}",
                self.code, self.domain
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RemoteError {}

fn string_len(s: Option<&XdrString>) -> usize {
    4 + s.map_or(0, |s| opaque_var_len(s.len()))
}

fn put_string(out: &mut Vec<u8>, s: Option<&XdrString>) -> Result<(), EncodeError> {
    put_bool(out, s.is_some());
    match s {
        Some(s) => put_opaque_var(out, s.as_bytes(), STRING_MAX, "remote_error string"),
        None => Ok(()),
    }
}

fn get_string(d: &mut Decoder<'_>) -> Result<Option<XdrString>, DecodeError> {
    Ok(if d.bool()? {
        Some(d.string(STRING_MAX)?)
    } else {
        None
    })
}

impl XdrEncode for RemoteError {
    fn encoded_len(&self) -> usize {
        let none = ErrorDetails::default();
        let d = self.details.as_deref().unwrap_or(&none);
        4 * 5
            + string_len(self.message.as_ref())
            + 4
            + d.dom
                .as_ref()
                .map_or(0, |d| opaque_var_len(d.name.len()) + 16 + 4)
            + string_len(d.str1.as_ref())
            + string_len(d.str2.as_ref())
            + string_len(d.str3.as_ref())
            + 4
            + d.net
                .as_ref()
                .map_or(0, |n| opaque_var_len(n.name.len()) + 16)
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let none = ErrorDetails::default();
        let d = self.details.as_deref().unwrap_or(&none);
        put_i32(out, self.code);
        put_i32(out, self.domain);
        put_string(out, self.message.as_ref())?;
        put_i32(out, self.level);
        put_bool(out, d.dom.is_some());
        if let Some(dom) = &d.dom {
            put_opaque_var(
                out,
                dom.name.as_bytes(),
                STRING_MAX,
                "remote_error.dom.name",
            )?;
            put_opaque_fixed(out, &dom.uuid);
            put_i32(out, dom.id);
        }
        put_string(out, d.str1.as_ref())?;
        put_string(out, d.str2.as_ref())?;
        put_string(out, d.str3.as_ref())?;
        put_i32(out, d.int1);
        put_i32(out, d.int2);
        put_bool(out, d.net.is_some());
        if let Some(n) = &d.net {
            put_opaque_var(out, n.name.as_bytes(), STRING_MAX, "remote_error.net.name")?;
            put_opaque_fixed(out, &n.uuid);
        }
        Ok(())
    }
}

impl XdrDecode for RemoteError {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let code = d.i32()?;
        let domain = d.i32()?;
        let message = get_string(d)?;
        let level = d.i32()?;
        let dom = if d.bool()? {
            Some(NonnullDomain {
                name: d.string(STRING_MAX)?,
                uuid: d.opaque_fixed::<16>()?,
                id: d.i32()?,
            })
        } else {
            None
        };
        let details = ErrorDetails {
            dom,
            str1: get_string(d)?,
            str2: get_string(d)?,
            str3: get_string(d)?,
            int1: d.i32()?,
            int2: d.i32()?,
            net: if d.bool()? {
                Some(NonnullNetwork {
                    name: d.string(STRING_MAX)?,
                    uuid: d.opaque_fixed::<16>()?,
                })
            } else {
                None
            },
        };
        Ok(RemoteError {
            code,
            domain,
            message,
            level,
            details: (details != ErrorDetails::default()).then(|| Box::new(details)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip() {
        let mut e = RemoteError::new(42, 12, "Domain not found");
        e.details = Some(Box::new(ErrorDetails {
            str1: Some("x".into()),
            dom: Some(NonnullDomain {
                name: "test".into(),
                uuid: [7; 16],
                id: 1,
            }),
            int1: -1,
            net: Some(NonnullNetwork {
                name: "default".into(),
                uuid: [1; 16],
            }),
            ..ErrorDetails::default()
        }));
        assert!(core::mem::size_of::<RemoteError>() <= 48);
        let bytes = e.to_xdr().unwrap();
        assert_eq!(bytes.len(), e.encoded_len());
        assert_eq!(RemoteError::from_xdr(&bytes).unwrap(), e);
        let plain = RemoteError::unsupported("REMOTE_PROC_X");
        assert_eq!(
            RemoteError::from_xdr(&plain.to_xdr().unwrap()).unwrap(),
            plain
        );
    }
}
