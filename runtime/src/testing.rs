//! Deterministic random values for property tests of generated types
//! (generated with xdrgen's `random` option). Not for cryptography.

use alloc::vec::Vec;

use crate::{Quadruple, XdrString};

/// A small, seedable PRNG (xorshift64*) that also bounds the size and
/// depth of the values it helps build.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
    depth: u32,
    /// Longest variable-length array, opaque or string generated.
    pub max_len: usize,
    /// Deepest optional/recursive nesting generated.
    pub max_depth: u32,
}

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            depth: 0,
            max_len: 8,
            max_depth: 4,
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A random bool.
    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// A length up to `max` (and up to `max_len`), sometimes exactly the
    /// bound when it is small, to exercise edges.
    pub fn len(&mut self, max: u32) -> usize {
        let cap = (max as usize).min(self.max_len);
        if self.below(8) == 0 {
            cap
        } else {
            usize::try_from(self.below(cap as u64 + 1)).unwrap_or(0)
        }
    }

    /// Random bytes, up to `max` long.
    pub fn bytes(&mut self, max: u32) -> Vec<u8> {
        let n = self.len(max);
        (0..n).map(|_| self.next_u64().to_le_bytes()[0]).collect()
    }

    /// A random string up to `max` bytes: mostly printable ASCII, and
    /// sometimes bytes that are not UTF-8. Never NUL: C peers hold strings
    /// as `char *`, so a NUL could not cross to them (`XdrString` itself
    /// keeps any byte).
    pub fn string(&mut self, max: u32) -> XdrString {
        let mut bytes = self.bytes(max);
        let printable = self.below(4) != 0;
        for b in &mut bytes {
            if printable {
                *b = b' ' + *b % 95;
            } else if *b == 0 {
                *b = 0x80;
            }
        }
        XdrString::from(bytes)
    }

    /// Whether an optional value should be present; false past `max_depth`
    /// so recursive types stay finite.
    pub fn some(&mut self) -> bool {
        self.depth < self.max_depth && self.coin()
    }

    /// Whether the nesting budget is used up (arrays are then empty).
    pub fn at_limit(&self) -> bool {
        self.depth >= self.max_depth
    }

    /// Enters one level of an optional or recursive value.
    pub fn enter(&mut self) {
        self.depth += 1;
    }

    /// Leaves a level entered with [`enter`](Rng::enter).
    pub fn leave(&mut self) {
        self.depth -= 1;
    }
}

/// Types that can produce random values of themselves.
pub trait Random: Sized {
    /// A random value.
    fn random(rng: &mut Rng) -> Self;
}

macro_rules! random_int {
    ($($t:ty),*) => {$(
        impl Random for $t {
            fn random(rng: &mut Rng) -> Self {
                // Edges often, anything otherwise.
                match rng.below(4) {
                    0 => <$t>::MIN,
                    1 => <$t>::MAX,
                    2 => <$t>::from(rng.coin()),
                    _ => {
                        let bytes = rng.next_u64().to_le_bytes();
                        let mut v = [0; core::mem::size_of::<$t>()];
                        v.copy_from_slice(&bytes[..core::mem::size_of::<$t>()]);
                        <$t>::from_le_bytes(v)
                    }
                }
            }
        }
    )*};
}

random_int!(i8, u8, i16, u16, i32, u32, i64, u64);

impl Random for bool {
    fn random(rng: &mut Rng) -> Self {
        rng.coin()
    }
}

impl Random for f32 {
    fn random(rng: &mut Rng) -> Self {
        // Finite values only: NaN is not equal to itself.
        let v = f32::from_bits(u32::random(rng));
        if v.is_finite() { v } else { 1.5 }
    }
}

impl Random for f64 {
    fn random(rng: &mut Rng) -> Self {
        let v = f64::from_bits(u64::random(rng));
        if v.is_finite() { v } else { -2.25 }
    }
}

impl Random for Quadruple {
    fn random(rng: &mut Rng) -> Self {
        let mut q = [0; 16];
        q[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
        q[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
        Quadruple(q)
    }
}

impl Random for XdrString {
    fn random(rng: &mut Rng) -> Self {
        rng.string(u32::MAX)
    }
}
