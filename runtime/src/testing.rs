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
    /// Which bounded length to stretch to (or past) its bound; see
    /// [`stretch`](Rng::stretch).
    stretch: Option<(usize, Stretch)>,
    /// Bounded variable lengths drawn so far.
    bounded_draws: usize,
    /// The length that was stretched, once it was.
    stretched: Option<Stretched>,
}

/// How [`Rng::stretch`] changes one bounded length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stretch {
    /// Exactly the bound.
    AtBound,
    /// The bound plus one: the value must then fail to encode.
    OnePast,
}

/// What kind of length was stretched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LenKind {
    /// Bytes of an `opaque<N>` or a `string<N>`.
    Bytes,
    /// Elements of a `T<N>` array.
    Elements,
}

/// The length [`Rng::stretch`] changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stretched {
    /// The declared bound.
    pub bound: u32,
    /// The length generated.
    pub len: usize,
    /// Bytes or elements.
    pub kind: LenKind,
}

/// Bounds larger than this are not stretched: the value would be too big
/// to check quickly (nothing in the corpus declares a bound between this
/// and "unbounded" that a test could fill in reasonable time).
pub const MAX_STRETCHED_BOUND: u32 = 1 << 16;

/// The byte a stretched opaque or string is filled with: printable, not
/// NUL, and easy to find in the encoding (tests extend it by one byte to
/// build input one past the bound by hand).
pub const STRETCH_FILL: u8 = b'x';

impl Rng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Rng {
        Rng {
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            depth: 0,
            max_len: 8,
            max_depth: 4,
            stretch: None,
            bounded_draws: 0,
            stretched: None,
        }
    }

    /// A generator whose `nth` bounded variable length (counted from 0, in
    /// the order the value draws them; unbounded and larger than
    /// [`MAX_STRETCHED_BOUND`] ones are not counted) is its bound, or one
    /// past it, instead of a small random length. Everything else is drawn
    /// as [`new`](Rng::new) would, until that length.
    pub fn stretch(seed: u64, nth: usize, how: Stretch) -> Rng {
        let mut rng = Rng::new(seed);
        rng.stretch = Some((nth, how));
        rng
    }

    /// The bounded variable lengths drawn so far (see
    /// [`stretch`](Rng::stretch)).
    pub fn bounded_draws(&self) -> usize {
        self.bounded_draws
    }

    /// The length [`stretch`](Rng::stretch) changed, if the value drew
    /// that many bounded lengths.
    pub fn stretched(&self) -> Option<Stretched> {
        self.stretched
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

    /// The length of a `T<max>` array: as [`len`](Rng::len), but counted
    /// (and perhaps stretched) as a bounded length; see
    /// [`stretch`](Rng::stretch). (`len` itself serves counts that are no
    /// declared bound, such as the nodes of a linked list.)
    pub fn bounded_len(&mut self, max: u32) -> usize {
        self.len_of(max, LenKind::Elements)
    }

    fn len_of(&mut self, max: u32, kind: LenKind) -> usize {
        if max <= MAX_STRETCHED_BOUND {
            let nth = self.bounded_draws;
            self.bounded_draws += 1;
            if let Some((target, how)) = self.stretch {
                if target == nth {
                    let len = match how {
                        Stretch::AtBound => max as usize,
                        Stretch::OnePast => max as usize + 1,
                    };
                    self.stretched = Some(Stretched {
                        bound: max,
                        len,
                        kind,
                    });
                    return len;
                }
            }
        }
        self.len(max)
    }

    /// Random bytes, up to `max` long (a stretched length is filled with
    /// [`STRETCH_FILL`] instead).
    pub fn bytes(&mut self, max: u32) -> Vec<u8> {
        self.bytes_and_whether_stretched(max).0
    }

    fn bytes_and_whether_stretched(&mut self, max: u32) -> (Vec<u8>, bool) {
        let before = self.stretched;
        let n = self.len_of(max, LenKind::Bytes);
        if self.stretched != before {
            return (alloc::vec![STRETCH_FILL; n], true);
        }
        (
            (0..n).map(|_| self.next_u64().to_le_bytes()[0]).collect(),
            false,
        )
    }

    /// A random string up to `max` bytes: mostly printable ASCII, and
    /// sometimes bytes that are not UTF-8. Never NUL: C peers hold strings
    /// as `char *`, so a NUL could not cross to them (`XdrString` itself
    /// keeps any byte).
    pub fn string(&mut self, max: u32) -> XdrString {
        let (mut bytes, stretched) = self.bytes_and_whether_stretched(max);
        if stretched {
            return XdrString::from(bytes);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stretch_changes_only_the_nth_bounded_length() {
        let mut rng = Rng::stretch(1, 1, Stretch::OnePast);
        assert!(rng.bytes(10).len() <= 8);
        assert_eq!(rng.string(300).as_bytes(), &[STRETCH_FILL; 301][..]);
        assert!(rng.bounded_len(5) <= 5);
        assert_eq!(rng.bounded_draws(), 3);
        assert_eq!(
            rng.stretched(),
            Some(Stretched {
                bound: 300,
                len: 301,
                kind: LenKind::Bytes
            })
        );
        // Unbounded strings, bounds too large to fill and plain counts
        // (linked-list nodes) are no bounded lengths.
        let _ = rng.string(u32::MAX);
        let _ = rng.bytes(MAX_STRETCHED_BOUND + 1);
        let _ = rng.len(6);
        assert_eq!(rng.bounded_draws(), 3);

        let mut at = Rng::stretch(1, 0, Stretch::AtBound);
        assert_eq!(at.bounded_len(1000), 1000);
        assert_eq!(at.stretched().map(|s| s.kind), Some(LenKind::Elements));
    }
}
