//! serde support for the runtime's types (feature `serde`).

use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeTuple, Serializer};

use crate::{Quadruple, XdrStr, XdrString};

/// Strings serialize as strings when they are UTF-8, as bytes otherwise.
impl Serialize for XdrString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_xdr_str().serialize(s)
    }
}

impl Serialize for XdrStr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.to_str() {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.serialize_bytes(self.as_bytes()),
        }
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or bytes")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<u8>, E> {
        Ok(v.as_bytes().to_vec())
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        let mut out = Vec::new();
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for XdrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<XdrString, D::Error> {
        d.deserialize_any(BytesVisitor).map(XdrString::from)
    }
}

impl Serialize for Quadruple {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quadruple {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quadruple, D::Error> {
        let bytes = d.deserialize_any(BytesVisitor)?;
        let array: [u8; 16] = bytes
            .try_into()
            .map_err(|_| de::Error::custom("a quadruple is 16 bytes"))?;
        Ok(Quadruple(array))
    }
}

/// `#[serde(with = ...)]` for fixed arrays longer than serde's built-in 32.
pub mod big_array {
    use super::{Deserialize, Deserializer, SerializeTuple, Serializer, Vec, de};
    use serde::Serialize;

    /// Serializes `[T; N]` as a tuple of N elements.
    pub fn serialize<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(N)?;
        for e in a {
            t.serialize_element(e)?;
        }
        t.end()
    }

    /// Deserializes `[T; N]` from a sequence of exactly N elements.
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>, const N: usize>(
        d: D,
    ) -> Result<[T; N], D::Error> {
        let v: Vec<T> = Vec::deserialize(d)?;
        let len = v.len();
        v.try_into()
            .map_err(|_| de::Error::invalid_length(len, &"a fixed-length array"))
    }
}
