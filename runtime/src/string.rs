//! XDR strings: bytes that are usually, but not always, UTF-8.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::str::Utf8Error;

/// An XDR `string`. RFC 4506 strings are ASCII by convention, but C peers
/// send whatever bytes they hold, so this keeps every byte: nothing is
/// rejected or lost on decode. [`to_str`](XdrString::to_str) and
/// [`to_string_lossy`](XdrString::to_string_lossy) give the UTF-8 view.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XdrString(Vec<u8>);

impl XdrString {
    /// An empty string.
    #[inline]
    pub const fn new() -> XdrString {
        XdrString(Vec::new())
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    #[inline]
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// A borrowed view of the string: what encoding, formatting and the
    /// UTF-8 views work on.
    #[inline]
    pub fn as_xdr_str(&self) -> XdrStr<'_> {
        XdrStr(&self.0)
    }

    /// The string as UTF-8, if it is.
    pub fn to_str(&self) -> Result<&str, Utf8Error> {
        self.as_xdr_str().to_str()
    }

    /// The string as UTF-8, invalid sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        self.as_xdr_str().to_string_lossy()
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for XdrString {
    fn from(s: &str) -> XdrString {
        XdrString(s.as_bytes().to_vec())
    }
}

impl From<String> for XdrString {
    #[inline]
    fn from(s: String) -> XdrString {
        XdrString(s.into_bytes())
    }
}

impl From<Vec<u8>> for XdrString {
    #[inline]
    fn from(bytes: Vec<u8>) -> XdrString {
        XdrString(bytes)
    }
}

impl From<&[u8]> for XdrString {
    fn from(bytes: &[u8]) -> XdrString {
        XdrString(bytes.to_vec())
    }
}

impl AsRef<[u8]> for XdrString {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for XdrString {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for XdrString {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for XdrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.as_xdr_str(), f)
    }
}

impl fmt::Display for XdrString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_xdr_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn keeps_invalid_utf8() {
        let s = XdrString::from(&b"caf\xe9"[..]);
        assert!(s.to_str().is_err());
        assert_eq!(s.to_string_lossy(), "caf\u{fffd}");
        assert_eq!(format!("{s:?}"), "b\"caf\\xe9\"");
        assert_eq!(format!("{:?}", XdrString::from("ok")), "\"ok\"");
    }
}

/// A borrowed XDR `string`, from zero-copy decoding: the bytes stay in the
/// input buffer. Like [`XdrString`], any bytes are kept.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct XdrStr<'a>(pub &'a [u8]);

impl<'a> XdrStr<'a> {
    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The string as UTF-8, if it is.
    pub fn to_str(&self) -> Result<&'a str, Utf8Error> {
        core::str::from_utf8(self.0)
    }

    /// The string as UTF-8, invalid sequences replaced by U+FFFD.
    pub fn to_string_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }

    /// An owned copy.
    pub fn to_owned_string(&self) -> XdrString {
        XdrString::from(self.0)
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> From<&'a str> for XdrStr<'a> {
    #[inline]
    fn from(s: &'a str) -> XdrStr<'a> {
        XdrStr(s.as_bytes())
    }
}

impl<'a> From<&'a [u8]> for XdrStr<'a> {
    #[inline]
    fn from(bytes: &'a [u8]) -> XdrStr<'a> {
        XdrStr(bytes)
    }
}

impl PartialEq<str> for XdrStr<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for XdrStr<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for XdrStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_str() {
            Ok(s) => fmt::Debug::fmt(s, f),
            Err(_) => write!(f, "b\"{}\"", self.0.escape_ascii()),
        }
    }
}

impl fmt::Display for XdrStr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_string_lossy(), f)
    }
}
