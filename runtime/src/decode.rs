//! The decoder: a cursor over a byte slice that enforces [`Limits`].

use alloc::vec::Vec;

use crate::encode::padded_len;
use crate::{DecodeError, LimitKind, Limits, Quadruple, XdrString};

/// Reads XDR from a byte slice. Every variable-length read checks its
/// bound, the bytes left and the limits before allocating anything.
#[derive(Debug)]
pub struct Decoder<'a> {
    input: &'a [u8],
    rest: &'a [u8],
    limits: Limits,
    depth: u32,
    alloc_left: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder over a whole message.
    pub fn new(input: &'a [u8], limits: &Limits) -> Result<Decoder<'a>, DecodeError> {
        if input.len() > limits.max_message_bytes {
            return Err(DecodeError::Limit {
                at: 0,
                limit: LimitKind::MessageBytes,
            });
        }
        Ok(Decoder {
            input,
            rest: input,
            limits: *limits,
            depth: 0,
            alloc_left: limits.max_alloc_bytes,
        })
    }

    /// Offset of the next byte to read.
    #[inline]
    pub fn position(&self) -> usize {
        self.input.len() - self.rest.len()
    }

    /// Bytes not read yet.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Fails unless the whole message was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                at: self.position(),
                count: self.rest.len(),
            })
        }
    }

    #[inline]
    fn word<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        match self.rest.split_first_chunk::<N>() {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(*head)
            }
            None => Err(self.truncated(N)),
        }
    }

    #[cold]
    fn truncated(&self, needed: usize) -> DecodeError {
        DecodeError::Truncated {
            at: self.position(),
            needed: needed - self.rest.len(),
        }
    }

    /// Reads `n` bytes (no padding).
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(self.truncated(n)),
        }
    }

    /// Reads an unsigned int.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        self.word::<4>().map(u32::from_be_bytes)
    }

    /// Reads an int.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        self.word::<4>().map(i32::from_be_bytes)
    }

    /// Reads an unsigned hyper.
    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        self.word::<8>().map(u64::from_be_bytes)
    }

    /// Reads a hyper.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        self.word::<8>().map(i64::from_be_bytes)
    }

    /// Reads a float.
    #[inline]
    pub fn f32(&mut self) -> Result<f32, DecodeError> {
        self.word::<4>().map(f32::from_be_bytes)
    }

    /// Reads a double.
    #[inline]
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        self.word::<8>().map(f64::from_be_bytes)
    }

    /// Reads a quadruple.
    #[inline]
    pub fn quadruple(&mut self) -> Result<Quadruple, DecodeError> {
        self.word::<16>().map(Quadruple)
    }

    /// Reads a bool: 0 or 1 (any non-zero with `lenient_bool`).
    #[inline]
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        let at = self.position();
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            _ if self.limits.lenient_bool => Ok(true),
            value => Err(DecodeError::InvalidBool { at, value }),
        }
    }

    fn small<T: TryFrom<i64>>(
        wide: i64,
        at: usize,
        type_name: &'static str,
    ) -> Result<T, DecodeError> {
        T::try_from(wide).map_err(|_| DecodeError::OutOfRange {
            at,
            type_name,
            value: wide,
        })
    }

    /// Reads a C `char` word (`xdr_char`).
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        let at = self.position();
        let v = self.i32()?;
        Self::small(i64::from(v), at, "char")
    }

    /// Reads a C `unsigned char` word (`xdr_u_char`).
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let at = self.position();
        let v = self.u32()?;
        Self::small(i64::from(v), at, "unsigned char")
    }

    /// Reads a C `short` word (`xdr_short`).
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        let at = self.position();
        let v = self.i32()?;
        Self::small(i64::from(v), at, "short")
    }

    /// Reads a C `unsigned short` word (`xdr_u_short`).
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let at = self.position();
        let v = self.u32()?;
        Self::small(i64::from(v), at, "unsigned short")
    }

    /// Skips the padding after `len` data bytes; it must be zero unless
    /// `lenient_padding`.
    #[inline]
    pub fn padding(&mut self, len: usize) -> Result<(), DecodeError> {
        let pad = padded_len(len) - len;
        if pad == 0 {
            return Ok(());
        }
        let at = self.position();
        let bytes = self.bytes(pad)?;
        if !self.limits.lenient_padding && bytes.iter().any(|&b| b != 0) {
            return Err(DecodeError::NonZeroPadding { at });
        }
        Ok(())
    }

    /// Reads `N` opaque bytes and their padding.
    #[inline]
    pub fn opaque_fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let bytes: [u8; N] = self.word::<N>()?;
        self.padding(N)?;
        Ok(bytes)
    }

    /// Charges `bytes` against the allocation limit.
    #[inline]
    pub fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.alloc_left.checked_sub(bytes) {
            Some(left) => {
                self.alloc_left = left;
                Ok(())
            }
            None => Err(DecodeError::Limit {
                at: self.position(),
                limit: LimitKind::Alloc,
            }),
        }
    }

    /// Reads the length of a variable-length opaque or string, checked
    /// against its bound and the bytes left.
    #[inline]
    pub fn opaque_len(&mut self, max: u32) -> Result<usize, DecodeError> {
        let at = self.position();
        let len = self.u32()?;
        if len > max {
            return Err(DecodeError::OverBound { at, len, max });
        }
        let len = len as usize;
        if padded_len(len) > self.rest.len() {
            return Err(DecodeError::OverInput {
                at,
                needed: padded_len(len) as u64,
                remaining: self.rest.len(),
            });
        }
        Ok(len)
    }

    /// Reads a variable-length opaque into a new vector.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn opaque_var(&mut self, max: u32) -> Result<Vec<u8>, DecodeError> {
        let bytes = self.opaque_var_borrowed(max)?;
        self.charge(bytes.len())?;
        Ok(bytes.to_vec())
    }

    /// Reads a variable-length opaque without copying: a slice of the input.
    ///
    /// The string and opaque reads are `#[inline(always)]`: with plain
    /// `#[inline]` the workspace's 16-codegen-unit `bench` profile called
    /// this out of line for every string (small decode 424 instructions
    /// against 331), while one unit with LTO inlined it.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn opaque_var_borrowed(&mut self, max: u32) -> Result<&'a [u8], DecodeError> {
        let at = self.position();
        let len = self.u32()?;
        if len > max {
            return Err(over_bound(at, len, max));
        }
        let len = len as usize;
        // One bounds check for the data and its padding together.
        let Some((padded, rest)) = self.rest.split_at_checked(padded_len(len)) else {
            return Err(over_input(at, padded_len(len), self.rest.len()));
        };
        let Some((bytes, padding)) = padded.split_at_checked(len) else {
            // `padded` is at least `len` long: this only keeps panics out.
            return Err(over_input(at, padded_len(len), self.rest.len()));
        };
        if !self.limits.lenient_padding && padding.iter().any(|&b| b != 0) {
            return Err(non_zero_padding(at + 4 + len));
        }
        self.rest = rest;
        Ok(bytes)
    }

    /// Reads a string without copying: a slice of the input.
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn string_borrowed(&mut self, max: u32) -> Result<crate::XdrStr<'a>, DecodeError> {
        self.opaque_var_borrowed(max).map(crate::XdrStr)
    }

    /// Reads a string (any bytes: XDR strings need not be UTF-8).
    #[inline(always)]
    #[allow(clippy::inline_always)]
    pub fn string(&mut self, max: u32) -> Result<XdrString, DecodeError> {
        self.opaque_var(max).map(XdrString::from)
    }

    /// Reads the element count of a variable-length array, checked against
    /// its bound, the bytes left (each element takes at least
    /// `min_wire_len` bytes), `max_elements` and the allocation limit
    /// (`elem_size` bytes each in memory).
    #[inline]
    pub fn count(
        &mut self,
        max: u32,
        min_wire_len: usize,
        elem_size: usize,
    ) -> Result<usize, DecodeError> {
        let at = self.position();
        let n = self.u32()?;
        if n > max {
            return Err(DecodeError::OverBound { at, len: n, max });
        }
        self.reserve(at, n, min_wire_len, elem_size)
    }

    /// Checks that `n` elements can be decoded and allocated.
    fn reserve(
        &mut self,
        at: usize,
        n: u32,
        min_wire_len: usize,
        elem_size: usize,
    ) -> Result<usize, DecodeError> {
        let needed = u64::from(n) * min_wire_len as u64;
        if needed > self.rest.len() as u64 {
            return Err(DecodeError::OverInput {
                at,
                needed,
                remaining: self.rest.len(),
            });
        }
        if n > self.limits.max_elements {
            return Err(DecodeError::Limit {
                at,
                limit: LimitKind::Elements,
            });
        }
        let n = n as usize;
        self.charge(n.saturating_mul(elem_size))?;
        Ok(n)
    }

    /// Enters one level of a recursive type.
    #[inline]
    pub fn enter(&mut self) -> Result<(), DecodeError> {
        if self.depth >= self.limits.max_depth {
            return Err(DecodeError::Limit {
                at: self.position(),
                limit: LimitKind::Depth,
            });
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves a level entered with [`enter`](Decoder::enter).
    #[inline]
    pub fn leave(&mut self) {
        self.depth -= 1;
    }
}

// Errors built out of line and from plain values: a `#[cold]` function
// taking `&self` would keep the `Decoder` in memory in its callers.

#[cold]
#[inline(never)]
fn over_bound(at: usize, len: u32, max: u32) -> DecodeError {
    DecodeError::OverBound { at, len, max }
}

#[cold]
#[inline(never)]
fn over_input(at: usize, needed: usize, remaining: usize) -> DecodeError {
    DecodeError::OverInput {
        at,
        needed: needed as u64,
        remaining,
    }
}

#[cold]
#[inline(never)]
fn non_zero_padding(at: usize) -> DecodeError {
    DecodeError::NonZeroPadding { at }
}

/// Decodes a fixed-length array of `N` elements with `f`, after checking
/// that the bytes left and the limits allow it.
pub fn decode_array<'a, T, const N: usize>(
    d: &mut Decoder<'a>,
    min_wire_len: usize,
    mut f: impl FnMut(&mut Decoder<'a>) -> Result<T, DecodeError>,
) -> Result<[T; N], DecodeError> {
    let at = d.position();
    let n = u32::try_from(N).unwrap_or(u32::MAX);
    d.reserve(at, n, min_wire_len, core::mem::size_of::<T>())?;
    let mut v = Vec::with_capacity(N);
    for _ in 0..N {
        v.push(f(d)?);
    }
    // The vector has exactly N elements, so this conversion succeeds.
    <[T; N]>::try_from(v).map_err(|_| DecodeError::Truncated { at, needed: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(bytes: &[u8]) -> Decoder<'_> {
        Decoder::new(bytes, &Limits::default()).unwrap()
    }

    #[test]
    fn truncated_input_is_an_error() {
        assert_eq!(
            dec(&[0, 0, 1]).u32(),
            Err(DecodeError::Truncated { at: 0, needed: 1 })
        );
    }

    #[test]
    fn huge_declared_length_allocates_nothing() {
        let mut d = dec(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
        assert!(matches!(
            d.opaque_var(u32::MAX),
            Err(DecodeError::OverInput { at: 0, .. })
        ));
        let mut d = dec(&[0xff, 0xff, 0xff, 0xff]);
        assert!(matches!(
            d.count(u32::MAX, 0, 8),
            Err(DecodeError::Limit {
                limit: LimitKind::Elements,
                ..
            })
        ));
    }

    #[test]
    fn padding_and_bools_are_strict_by_default() {
        let bytes = [0, 0, 0, 1, b'a', 0, 1, 0];
        assert_eq!(
            dec(&bytes).opaque_var(8),
            Err(DecodeError::NonZeroPadding { at: 5 })
        );
        let lenient = Limits::default().lenient();
        let mut d = Decoder::new(&bytes, &lenient).unwrap();
        assert_eq!(d.opaque_var(8).unwrap(), b"a");
        assert_eq!(
            dec(&[0, 0, 0, 2]).bool(),
            Err(DecodeError::InvalidBool { at: 0, value: 2 })
        );
        assert_eq!(
            Decoder::new(&[0, 0, 0, 2], &lenient).unwrap().bool(),
            Ok(true)
        );
    }

    #[test]
    fn opaque_errors_point_at_their_length_word() {
        // A word before the opaque, so that offsets are not zero.
        let mut d = dec(&[0, 0, 0, 7, 0, 0, 0, 9]);
        d.u32().unwrap();
        assert_eq!(
            d.opaque_var_borrowed(8),
            Err(DecodeError::OverBound {
                at: 4,
                len: 9,
                max: 8
            })
        );
        // Five data bytes need eight with their padding; six are left.
        let mut d = dec(&[0, 0, 0, 7, 0, 0, 0, 5, 1, 2, 3, 4, 5, 0]);
        d.u32().unwrap();
        assert_eq!(
            d.opaque_var_borrowed(8),
            Err(DecodeError::OverInput {
                at: 4,
                needed: 8,
                remaining: 6
            })
        );
        // The length word stays read; the data does not.
        assert_eq!(d.position(), 8);
    }

    #[test]
    fn every_padding_byte_is_checked() {
        for len in 0..9_u8 {
            let padded = (usize::from(len) + 3) & !3;
            let mut bytes = alloc::vec![0, 0, 0, len];
            // Data bytes that are not zero, so only padding can fail.
            bytes.extend((0..len).map(|i| 0xf0 | i));
            bytes.resize(4 + padded, 0);
            assert_eq!(
                dec(&bytes).opaque_var_borrowed(8).unwrap(),
                &bytes[4..4 + usize::from(len)]
            );
            for bad in 4 + usize::from(len)..4 + padded {
                let mut bytes = bytes.clone();
                bytes[bad] = 1;
                assert_eq!(
                    dec(&bytes).opaque_var_borrowed(8),
                    Err(DecodeError::NonZeroPadding {
                        at: 4 + usize::from(len)
                    }),
                    "length {len}, bad byte {bad}"
                );
                let lenient = Limits::default().lenient();
                let mut d = Decoder::new(&bytes, &lenient).unwrap();
                assert_eq!(d.opaque_var_borrowed(8).unwrap().len(), usize::from(len));
                assert_eq!(d.remaining(), 0);
            }
        }
    }

    #[test]
    fn c_char_range_is_checked() {
        assert_eq!(dec(&[0xff, 0xff, 0xff, 0x80]).i8(), Ok(-128));
        assert!(matches!(
            dec(&[0, 0, 1, 0]).i8(),
            Err(DecodeError::OutOfRange { .. })
        ));
    }
}
