//! Typed errors for bad wire data and unencodable values.

use alloc::boxed::Box;
use core::fmt;

/// Which decode limit was hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitKind {
    /// The message is larger than [`Limits::max_message_bytes`](crate::Limits::max_message_bytes).
    MessageBytes,
    /// Recursive types nest deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    Depth,
    /// An array declares more elements than [`Limits::max_elements`](crate::Limits::max_elements).
    Elements,
    /// Decoding would allocate more than [`Limits::max_alloc_bytes`](crate::Limits::max_alloc_bytes).
    Alloc,
}

/// Why bytes could not be decoded. `at` is the byte offset in the message
/// where the problem starts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The message ends before the value does.
    Truncated {
        /// Offset of the read that failed.
        at: usize,
        /// Bytes that read needed.
        needed: usize,
    },
    /// A length or count is over the type's `<N>` bound.
    OverBound {
        /// Offset of the length word.
        at: usize,
        /// The declared length.
        len: u32,
        /// The bound.
        max: u32,
    },
    /// A length or count needs more bytes than the message has left.
    OverInput {
        /// Offset of the length word.
        at: usize,
        /// Bytes the declared length needs at least.
        needed: u64,
        /// Bytes left.
        remaining: usize,
    },
    /// A `bool` that is neither 0 nor 1.
    InvalidBool {
        /// Offset of the word.
        at: usize,
        /// The value found.
        value: u32,
    },
    /// A value that is not a member of the enum.
    InvalidEnum {
        /// Offset of the word.
        at: usize,
        /// The XDR type name.
        type_name: &'static str,
        /// The value found.
        value: i32,
    },
    /// A union discriminant with no arm and no `default`.
    InvalidDiscriminant {
        /// Offset of the discriminant.
        at: usize,
        /// The XDR type name.
        type_name: &'static str,
        /// The value found.
        value: i64,
    },
    /// A C `char`/`short` word whose value does not fit the type.
    OutOfRange {
        /// Offset of the word.
        at: usize,
        /// The C type.
        type_name: &'static str,
        /// The value found.
        value: i64,
    },
    /// Padding bytes that are not zero (RFC 4506 §3).
    NonZeroPadding {
        /// Offset of the padding.
        at: usize,
    },
    /// Bytes left after a whole message was decoded.
    TrailingBytes {
        /// Offset of the first extra byte.
        at: usize,
        /// How many bytes are left.
        count: usize,
    },
    /// A [`Limits`](crate::Limits) bound was hit.
    Limit {
        /// Where decoding stopped.
        at: usize,
        /// Which limit.
        limit: LimitKind,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { at, needed } => {
                write!(
                    f,
                    "message truncated at byte {at}: {needed} more bytes needed"
                )
            }
            DecodeError::OverBound { at, len, max } => {
                write!(f, "length {len} at byte {at} is over the bound {max}")
            }
            DecodeError::OverInput {
                at,
                needed,
                remaining,
            } => write!(
                f,
                "length at byte {at} needs {needed} bytes, only {remaining} left"
            ),
            DecodeError::InvalidBool { at, value } => {
                write!(f, "invalid bool {value} at byte {at} (must be 0 or 1)")
            }
            DecodeError::InvalidEnum {
                at,
                type_name,
                value,
            } => {
                write!(f, "{value} at byte {at} is not a value of enum {type_name}")
            }
            DecodeError::InvalidDiscriminant {
                at,
                type_name,
                value,
            } => write!(
                f,
                "union {type_name} has no arm for discriminant {value} (at byte {at})"
            ),
            DecodeError::OutOfRange {
                at,
                type_name,
                value,
            } => {
                write!(f, "{value} at byte {at} does not fit C type {type_name}")
            }
            DecodeError::NonZeroPadding { at } => write!(f, "non-zero padding at byte {at}"),
            DecodeError::TrailingBytes { at, count } => {
                write!(f, "{count} bytes left over at byte {at}")
            }
            DecodeError::Limit { at, limit } => {
                let what = match limit {
                    LimitKind::MessageBytes => "message size",
                    LimitKind::Depth => "nesting depth",
                    LimitKind::Elements => "array element count",
                    LimitKind::Alloc => "allocation",
                };
                write!(f, "decode limit on {what} exceeded at byte {at}")
            }
        }
    }
}

/// Why a value could not be encoded. Pointer-sized, so the
/// `Result<(), EncodeError>` every encode step returns fits a register.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A variable-length field is longer than its `<N>` bound.
    OverBound(Box<OverBound>),
}

/// A length over its bound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OverBound {
    /// The field (`type.field`) or type.
    pub what: &'static str,
    /// Its length.
    pub len: usize,
    /// The bound.
    pub max: u32,
}

impl EncodeError {
    /// A length over its bound (kept out of line: the error path is cold).
    #[cold]
    pub fn over_bound(what: &'static str, len: usize, max: u32) -> EncodeError {
        EncodeError::OverBound(Box::new(OverBound { what, len, max }))
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::OverBound(b) => {
                write!(
                    f,
                    "{} has length {}, over its bound {}",
                    b.what, b.len, b.max
                )
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}
