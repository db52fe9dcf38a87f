//! One workload with its value in each implementation, the operations the
//! benchmarks time, and the cross-check that runs before any timing.

use std::fmt::Debug;

use xdrgen_runtime::{XdrDecode, XdrEncode};

use crate::c;
use crate::generated as g;
use crate::hand as h;
use crate::model::{self, ToGenerated};

/// The measured encode call of the Rust codecs: out of line, with the
/// buffer as its argument, as in code that encodes into a buffer it was
/// handed. The hand-written codec's top-level `encode` is out of line
/// anyway (it lives in this crate and is not `#[inline]`); the generated
/// one is `#[inline]`, and inlined into a benchmark closure the buffer is a
/// captured variable whose length LLVM reloads after every store (list
/// encode 1.12x instead of 0.99x). The same wrapper for both keeps the
/// comparison about the codecs.
#[inline(never)]
pub fn encode_out_of_line<T: XdrEncode + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), xdrgen_runtime::EncodeError> {
    value.encode(out)
}

/// [`encode_out_of_line`] for the hand-written codec.
#[inline(never)]
pub fn encode_hand_out_of_line<T: h::Encode>(value: &T, out: &mut Vec<u8>) -> Result<(), h::Error> {
    value.encode(out)
}

/// The workloads, in BASELINE.md's order.
pub const WORKLOADS: [&str; 5] = ["small", "list", "linked", "bulk", "union"];
/// The implementations, in report order.
pub const IMPLS: [&str; 3] = ["generated", "hand", "c-tirpc"];
/// The operations.
pub const OPS: [&str; 2] = ["encode", "decode"];

/// A workload: the same value as a hand-model value, a generated value
/// and a C value, and its encoding.
#[derive(Debug)]
pub struct Fixture<H, G> {
    /// The workload name (`small`, `list`, ...).
    pub name: &'static str,
    /// The value for the hand-written codec.
    pub hand: H,
    /// The value for the generated codec.
    pub generated: G,
    /// The value built in C.
    pub c: c::Value,
    /// The encoded size BASELINE.md gives.
    pub expected_len: usize,
}

/// The small workload.
pub fn small() -> Fixture<h::Small, g::Small> {
    Fixture::new("small", model::small(), c::SMALL, 80)
}

/// The list workload.
pub fn list() -> Fixture<h::SmallList, g::SmallList> {
    Fixture::new("list", model::list(), c::SMALL_LIST, 72_940)
}

/// The linked workload.
pub fn linked() -> Fixture<h::DirList, g::Dirlist> {
    Fixture::new("linked", model::linked(), c::DIRLIST, 39_008)
}

/// The bulk workload.
pub fn bulk() -> Fixture<h::Bulk, g::Bulk> {
    Fixture::new("bulk", model::bulk(), c::BULK, 1_048_580)
}

/// The union workload.
pub fn union() -> Fixture<h::ParamList, g::ParamList> {
    Fixture::new("union", model::union(), c::PARAM_LIST, 11_000)
}

impl<H, G> Fixture<H, G>
where
    H: h::Encode + h::Decode + ToGenerated<Out = G> + PartialEq + Debug,
    G: XdrEncode + XdrDecode + PartialEq + Debug,
{
    fn new(name: &'static str, hand: H, fns: c::Fns, expected_len: usize) -> Self {
        let generated = hand.to_generated();
        Fixture {
            name,
            hand,
            generated,
            c: c::Value::new(fns),
            expected_len,
        }
    }

    /// A reusable output buffer big enough for every implementation
    /// (padding may briefly need 3 bytes more than the encoding).
    pub fn buffer(&self) -> Vec<u8> {
        Vec::with_capacity(self.expected_len + 64)
    }

    /// `generated`: clear `out`, encode into it.
    #[inline]
    pub fn encode_generated(&self, out: &mut Vec<u8>) {
        out.clear();
        encode_out_of_line(std::hint::black_box(&self.generated), out).unwrap();
    }

    /// `hand`: clear `out`, encode into it.
    #[inline]
    pub fn encode_hand(&self, out: &mut Vec<u8>) {
        out.clear();
        encode_hand_out_of_line(std::hint::black_box(&self.hand), out).unwrap();
    }

    /// `c-tirpc`: `xdrmem_create` over `out`'s capacity + `xdr_T`.
    #[inline]
    pub fn encode_c(&self, out: &mut Vec<u8>) {
        let n = self.c.encode(out);
        assert!(n != 0, "rpcgen encode failed");
    }

    /// `generated`: decode a fresh value (the default, safe limits).
    #[inline]
    pub fn decode_generated(bytes: &[u8]) -> G {
        G::from_xdr(bytes).unwrap()
    }

    /// `hand`: decode a fresh value.
    #[inline]
    pub fn decode_hand(bytes: &[u8]) -> H {
        H::from_bytes(bytes).unwrap()
    }

    /// `c-tirpc`: zeroed struct, `xdr_T(XDR_DECODE)`, `xdr_free`.
    #[inline]
    pub fn decode_c(&self, bytes: &[u8]) {
        assert!(self.c.decode_free(bytes), "rpcgen decode failed");
    }

    /// Checks, before any timing, that the three implementations encode
    /// byte-identical bytes of the expected size, and that each decodes
    /// every implementation's bytes back to a value equal to its own.
    /// Returns the encoding.
    pub fn verify(&self) -> Result<Vec<u8>, String> {
        let name = self.name;
        let mut encodings = Vec::new();
        for imp in IMPLS {
            let mut out = self.buffer();
            match imp {
                "generated" => {
                    out.clear();
                    self.generated
                        .encode(&mut out)
                        .map_err(|e| format!("{name}: generated encode: {e}"))?;
                    let len = self.generated.encoded_len();
                    if len != out.len() {
                        return Err(format!(
                            "{name}: generated encoded_len() is {len}, encode wrote {}",
                            out.len()
                        ));
                    }
                    let whole = self
                        .generated
                        .to_xdr()
                        .map_err(|e| format!("{name}: generated to_xdr: {e}"))?;
                    if whole != out {
                        return Err(format!("{name}: generated to_xdr differs from encode"));
                    }
                }
                "hand" => {
                    self.hand
                        .encode(&mut out)
                        .map_err(|e| format!("{name}: hand encode: {e}"))?;
                }
                _ => {
                    if self.c.encode(&mut out) == 0 {
                        return Err(format!("{name}: c-tirpc encode failed"));
                    }
                }
            }
            if out.len() != self.expected_len {
                return Err(format!(
                    "{name}: {imp} encoded {} bytes, BASELINE.md says {}",
                    out.len(),
                    self.expected_len
                ));
            }
            encodings.push((imp, out));
        }
        let (_, reference) = &encodings[0];
        for (imp, bytes) in &encodings[1..] {
            if bytes != reference {
                let at = bytes
                    .iter()
                    .zip(reference)
                    .position(|(a, b)| a != b)
                    .unwrap_or(bytes.len().min(reference.len()));
                return Err(format!(
                    "{name}: {imp} bytes differ from generated's at offset {at}"
                ));
            }
        }
        for (from, bytes) in &encodings {
            match G::from_xdr(bytes) {
                Ok(v) if v == self.generated => {}
                Ok(_) => {
                    return Err(format!(
                        "{name}: generated decodes {from}'s bytes to another value"
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "{name}: generated cannot decode {from}'s bytes: {e}"
                    ));
                }
            }
            match H::from_bytes(bytes) {
                Ok(v) if v == self.hand => {}
                Ok(_) => {
                    return Err(format!(
                        "{name}: hand decodes {from}'s bytes to another value"
                    ));
                }
                Err(e) => return Err(format!("{name}: hand cannot decode {from}'s bytes: {e}")),
            }
            if !self.c.check(bytes) {
                return Err(format!(
                    "{name}: c-tirpc does not decode {from}'s bytes to its own value"
                ));
            }
        }
        Ok(encodings.swap_remove(0).1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn verify_catches_a_different_value() {
        let mut f = super::small();
        f.hand.id += 1;
        let err = f.verify().unwrap_err();
        assert!(err.contains("hand bytes differ"), "{err}");
        let mut f = super::union();
        f.generated.items.pop();
        assert!(f.verify().is_err());
    }
}
