//! The handles' error: libvirt's own error (`virError`, sent in a
//! `remote_error`) kept apart from everything else that can fail, so a
//! caller can match on libvirt's code and domain.

use std::fmt;

use xdrgen_runtime::libvirt::{self as rt, OpenError, RemoteError};

use crate::constants::{ErrorDomain, ErrorNumber, UnknownValue};

/// A libvirt error the daemon answered with (`virError`): its code and
/// domain as sent ([`code`](LibvirtError::code) and
/// [`domain`](LibvirtError::domain) as this crate's enums) and its message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibvirtError {
    /// `virErrorNumber` as sent: what went wrong.
    pub raw_code: i32,
    /// `virErrorDomain` as sent: which part of libvirt reported it.
    pub raw_domain: i32,
    /// The message, as virsh shows it after `error: `.
    pub message: String,
}

impl From<RemoteError> for LibvirtError {
    fn from(e: RemoteError) -> Self {
        let message = match &e.message {
            Some(m) => m.to_string_lossy().into_owned(),
            None => format!("libvirt error code {}, domain {}", e.code, e.domain),
        };
        LibvirtError {
            raw_code: e.code,
            raw_domain: e.domain,
            message,
        }
    }
}

impl LibvirtError {
    /// What went wrong (`VIR_ERR_NO_DOMAIN`, ...); a code newer than this
    /// crate comes back as [`UnknownValue`] with the raw value.
    pub fn code(&self) -> Result<ErrorNumber, UnknownValue> {
        ErrorNumber::try_from(self.raw_code)
    }

    /// Which part of libvirt reported it (`VIR_FROM_DOM`, ...).
    pub fn domain(&self) -> Result<ErrorDomain, UnknownValue> {
        ErrorDomain::try_from(self.raw_domain)
    }
}

impl fmt::Display for LibvirtError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LibvirtError {}

/// Why an operation on a handle failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The daemon answered with a libvirt error.
    Libvirt(LibvirtError),
    /// The connection could not be opened.
    Open(OpenError),
    /// The call failed without an answer from libvirt: the transport, a
    /// timeout, an undecodable reply, a closed connection.
    Call(rt::Error),
}

impl Error {
    /// libvirt's error, when the daemon answered with one.
    pub fn libvirt(&self) -> Option<LibvirtError> {
        match self {
            Error::Libvirt(e) => Some(e.clone()),
            // The daemon refused to open the driver: its own error.
            Error::Open(OpenError::ConnectOpen {
                source: rt::Error::Remote(remote),
                ..
            }) => Some(LibvirtError::from((**remote).clone())),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // libvirt's message is the whole story; the others are
            // wrappers whose cause is the source.
            Error::Libvirt(e) => fmt::Display::fmt(e, f),
            Error::Open(_) => f.write_str("cannot open the libvirt connection"),
            Error::Call(_) => f.write_str("libvirt call failed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Libvirt(_) => None,
            Error::Open(e) => Some(e),
            Error::Call(e) => Some(e),
        }
    }
}

impl From<rt::Error> for Error {
    fn from(e: rt::Error) -> Self {
        match e {
            rt::Error::Remote(remote) => Error::Libvirt(LibvirtError::from(*remote)),
            other => Error::Call(other),
        }
    }
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        Error::Open(e)
    }
}

/// The result of a handle's operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
