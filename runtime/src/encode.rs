//! Encoding primitives, written straight into a `Vec<u8>`. Generated
//! code calls these with the bounds it knows.
//!
//! The per-field helpers are `#[inline(always)]`: plain `#[inline]` left
//! `put_opaque_var` out of line under `codegen-units = 1` + thin LTO, a
//! call per string (list and linked-list encode 1.24x the hand-written
//! code, 1.03x and 1.02x inlined). Their error paths are `#[cold]` calls,
//! so what is inlined stays a few instructions.
#![allow(clippy::inline_always)]

use alloc::vec::Vec;

use crate::{EncodeError, Quadruple};

/// `len` rounded up to a multiple of 4, as XDR pads opaque data.
#[inline(always)]
pub const fn padded_len(len: usize) -> usize {
    (len + 3) & !3
}

/// Bytes a variable-length opaque or string of `len` bytes takes.
#[inline(always)]
pub const fn opaque_var_len(len: usize) -> usize {
    4 + padded_len(len)
}

/// Appends an unsigned int.
#[inline(always)]
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends an int.
#[inline(always)]
pub fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends an unsigned hyper.
#[inline(always)]
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a hyper.
#[inline(always)]
pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a float.
#[inline(always)]
pub fn put_f32(out: &mut Vec<u8>, v: f32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a double.
#[inline(always)]
pub fn put_f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends a bool (0 or 1).
#[inline(always)]
pub fn put_bool(out: &mut Vec<u8>, v: bool) {
    put_u32(out, u32::from(v));
}

/// Appends a C `char` as rpcgen's `xdr_char` does: a sign-extended int.
#[inline(always)]
pub fn put_i8(out: &mut Vec<u8>, v: i8) {
    put_i32(out, i32::from(v));
}

/// Appends a C `unsigned char` (`xdr_u_char`): a zero-extended word.
#[inline(always)]
pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    put_u32(out, u32::from(v));
}

/// Appends a C `short` (`xdr_short`): a sign-extended int.
#[inline(always)]
pub fn put_i16(out: &mut Vec<u8>, v: i16) {
    put_i32(out, i32::from(v));
}

/// Appends a C `unsigned short` (`xdr_u_short`): a zero-extended word.
#[inline(always)]
pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    put_u32(out, u32::from(v));
}

/// Appends a quadruple.
#[inline(always)]
pub fn put_quadruple(out: &mut Vec<u8>, v: Quadruple) {
    out.extend_from_slice(&v.0);
}

/// Appends bytes and their zero padding (fixed-length opaque).
#[inline(always)]
pub fn put_opaque_fixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    // Tested on `len % 4` rather than on `padded_len(len) - len`: LLVM keeps
    // fewer values live across the copy (list encode 120,240 -> 118,990
    // instructions under one codegen unit and LTO).
    let data_in_last_word = bytes.len() % 4;
    if data_in_last_word != 0 {
        // One fixed 4-byte store, then truncate: a 1-3 byte copy would be
        // compiled to a `memset` call that stalls the loads after it.
        let end = out.len() + (4 - data_in_last_word);
        out.extend_from_slice(&[0; 4]);
        out.truncate(end);
    }
}

/// Checks a length against its `<N>` bound.
#[inline(always)]
pub fn check_bound(len: usize, max: u32, what: &'static str) -> Result<u32, EncodeError> {
    match u32::try_from(len) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(EncodeError::over_bound(what, len, max)),
    }
}

/// Appends a variable-length opaque or string: length, bytes, padding.
#[inline(always)]
pub fn put_opaque_var(
    out: &mut Vec<u8>,
    bytes: &[u8],
    max: u32,
    what: &'static str,
) -> Result<(), EncodeError> {
    let n = check_bound(bytes.len(), max, what)?;
    put_u32(out, n);
    put_opaque_fixed(out, bytes);
    Ok(())
}

/// Appends the element count of a variable-length array.
#[inline(always)]
pub fn put_count(
    out: &mut Vec<u8>,
    len: usize,
    max: u32,
    what: &'static str,
) -> Result<(), EncodeError> {
    let n = check_bound(len, max, what)?;
    put_u32(out, n);
    Ok(())
}

/// A run of fixed-size fields encoded as one block: built in a stack
/// array, then appended with one capacity check instead of one per field.
/// Generated code writes a struct's consecutive scalars this way
/// (`Words::<12>::new().u64(self.cookie).bool(more).append_to(out)`);
/// `N` is their total size, so every offset is a constant once inlined.
#[derive(Clone, Copy, Debug)]
#[must_use = "a block is only written by `append_to`"]
pub struct Words<const N: usize> {
    bytes: [u8; N],
    at: usize,
}

impl<const N: usize> Default for Words<N> {
    #[inline(always)]
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Words<N> {
    /// An empty block of `N` zero bytes.
    #[inline(always)]
    pub const fn new() -> Self {
        Words {
            bytes: [0; N],
            at: 0,
        }
    }

    /// Writes `bytes` at the current offset and skips `width` bytes: the
    /// rest are padding, already zero.
    #[inline(always)]
    fn put(&mut self, bytes: &[u8], width: usize) -> &mut Self {
        self.bytes[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += width;
        self
    }

    /// An unsigned int.
    #[inline(always)]
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.put(&v.to_be_bytes(), 4)
    }

    /// An int.
    #[inline(always)]
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.put(&v.to_be_bytes(), 4)
    }

    /// An unsigned hyper.
    #[inline(always)]
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.put(&v.to_be_bytes(), 8)
    }

    /// A hyper.
    #[inline(always)]
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.put(&v.to_be_bytes(), 8)
    }

    /// A float.
    #[inline(always)]
    pub fn f32(&mut self, v: f32) -> &mut Self {
        self.put(&v.to_be_bytes(), 4)
    }

    /// A double.
    #[inline(always)]
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.put(&v.to_be_bytes(), 8)
    }

    /// A quadruple.
    #[inline(always)]
    pub fn quadruple(&mut self, v: Quadruple) -> &mut Self {
        self.put(&v.0, 16)
    }

    /// A bool (0 or 1).
    #[inline(always)]
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.u32(u32::from(v))
    }

    /// A C `char`: a sign-extended int.
    #[inline(always)]
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.i32(i32::from(v))
    }

    /// A C `unsigned char`: a zero-extended word.
    #[inline(always)]
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.u32(u32::from(v))
    }

    /// A C `short`: a sign-extended int.
    #[inline(always)]
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.i32(i32::from(v))
    }

    /// A C `unsigned short`: a zero-extended word.
    #[inline(always)]
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.u32(u32::from(v))
    }

    /// Fixed-length opaque data and its zero padding.
    #[inline(always)]
    pub fn opaque(&mut self, bytes: &[u8]) -> &mut Self {
        self.put(bytes, padded_len(bytes.len()))
    }

    /// Appends the block to `out`.
    #[inline(always)]
    pub fn append_to(&self, out: &mut Vec<u8>) {
        debug_assert_eq!(self.at, N, "a Words block written short");
        out.extend_from_slice(&self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_zero_and_exact() {
        for len in 0..9 {
            let mut out = alloc::vec![0xaa];
            put_opaque_fixed(&mut out, &alloc::vec![7; len]);
            assert_eq!(out.len(), 1 + padded_len(len));
            assert!(out[1 + len..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let mut out = Vec::new();
        assert!(put_opaque_var(&mut out, b"abcd", 4, "x").is_ok());
        assert_eq!(
            put_opaque_var(&mut out, b"abcde", 4, "x"),
            Err(EncodeError::over_bound("x", 5, 4))
        );
        assert_eq!(core::mem::size_of::<Result<(), EncodeError>>(), 8);
    }

    #[test]
    fn words_match_the_single_puts() {
        let mut single = Vec::new();
        put_i32(&mut single, -2);
        put_u64(&mut single, 0x0102_0304_0506_0708);
        put_opaque_fixed(&mut single, b"abcde");
        put_bool(&mut single, true);
        put_i16(&mut single, -3);
        put_u8(&mut single, 200);
        put_f64(&mut single, 1.5);
        let mut block = Vec::new();
        Words::<40>::new()
            .i32(-2)
            .u64(0x0102_0304_0506_0708)
            .opaque(b"abcde")
            .bool(true)
            .i16(-3)
            .u8(200)
            .f64(1.5)
            .append_to(&mut block);
        assert_eq!(block, single);
    }
}
