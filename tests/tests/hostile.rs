//! Hostile bytes: every malformed input gives a typed error, never a
//! panic or a large allocation; and recursive data is handled without
//! deep stacks.

use xdrgen_runtime::testing::{Random, Rng};
use xdrgen_runtime::{DecodeError, LimitKind, Limits, XdrDecode, XdrEncode, XdrString};
use xdrgen_tests::fixture_basic::{Colour, Result as Choice, Scalars, Shapes};
use xdrgen_tests::fixture_dialect::ByBool;
use xdrgen_tests::fixture_recursion::{Entry, Tree};

fn shapes() -> Shapes {
    Shapes {
        a: [1; 16],
        b: [2; 4],
        c: vec![3; 5],
        d: XdrString::from("hello"),
        e: [4, 5],
        f: vec![6, 7],
        g: None,
        names: vec![XdrString::from("n")],
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let bytes = shapes().to_xdr().unwrap();
    for cut in 0..bytes.len() {
        match Shapes::from_xdr(&bytes[..cut]) {
            Err(DecodeError::Truncated { at, .. } | DecodeError::OverInput { at, .. }) => {
                assert!(at <= cut);
            }
            other => panic!("prefix of {cut} bytes: {other:?}"),
        }
    }
}

/// Byte offsets of the fields in `shapes()`'s encoding.
const C_LEN: usize = 16 + 4; // after `a` and `b`
const D_LEN: usize = C_LEN + 4 + 8; // after `c` (5 bytes + 3 padding)
const F_LEN: usize = D_LEN + 4 + 8 + 8; // after `d` ("hello" + 3) and `e`

#[test]
fn counts_over_the_bound_are_rejected() {
    let mut bytes = shapes().to_xdr().unwrap();
    // `int f<5>`: declare 6 elements.
    bytes[F_LEN..F_LEN + 4].copy_from_slice(&6u32.to_be_bytes());
    assert_eq!(
        Shapes::from_xdr(&bytes),
        Err(DecodeError::OverBound {
            at: F_LEN,
            len: 6,
            max: 5
        })
    );
    // And encoding refuses to write it.
    let mut too_many = shapes();
    too_many.f = vec![0; 6];
    assert!(too_many.to_xdr().is_err());
}

#[test]
fn a_4_gib_declared_length_allocates_nothing() {
    let mut bytes = shapes().to_xdr().unwrap();
    // `opaque c<HEX>` (bound 2^31-1): declare 0x7fffffff bytes.
    bytes[C_LEN..C_LEN + 4].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
    assert!(matches!(
        Shapes::from_xdr(&bytes),
        Err(DecodeError::OverInput {
            at: C_LEN,
            needed: 0x8000_0000,
            ..
        })
    ));
    // `string d<>` (unbounded): declare 0xffffffff bytes.
    let mut bytes = shapes().to_xdr().unwrap();
    bytes[D_LEN..D_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(
        Shapes::from_xdr(&bytes),
        Err(DecodeError::OverInput { at: D_LEN, .. })
    ));
    // An unbounded array of structs (`node children<>`): 4 Gi declared.
    let mut many = u32::MAX.to_be_bytes().to_vec();
    many.extend_from_slice(&[0; 64]);
    assert!(matches!(
        xdrgen_tests::fixture_recursion::Node::from_xdr(&many),
        Err(DecodeError::OverInput { at: 0, .. })
    ));
}

#[test]
fn padding_must_be_zero_unless_lenient() {
    let mut bytes = shapes().to_xdr().unwrap();
    // The 3 padding bytes after the 5 bytes of `c`.
    bytes[C_LEN + 4 + 5] = 0xee;
    assert_eq!(
        Shapes::from_xdr(&bytes),
        Err(DecodeError::NonZeroPadding { at: C_LEN + 4 + 5 })
    );
    let lenient = Limits::default().lenient();
    assert_eq!(Shapes::from_xdr_with(&bytes, &lenient).unwrap(), shapes());
}

#[test]
fn bad_enum_bool_and_discriminant_values() {
    assert_eq!(
        Colour::from_xdr(&7i32.to_be_bytes()),
        Err(DecodeError::InvalidEnum {
            at: 0,
            type_name: "colour",
            value: 7
        })
    );
    let mut scalars = Scalars::random(&mut Rng::new(1)).to_xdr().unwrap();
    // `bool b` is the last field.
    let at = scalars.len() - 4;
    scalars[at..].copy_from_slice(&2u32.to_be_bytes());
    assert_eq!(
        Scalars::from_xdr(&scalars),
        Err(DecodeError::InvalidBool { at, value: 2 })
    );
    // `union result switch (colour c)` with no arm for 9.
    assert_eq!(
        Choice::from_xdr(&9i32.to_be_bytes()),
        Err(DecodeError::InvalidEnum {
            at: 0,
            type_name: "colour",
            value: 9
        })
    );
    // `union by_bool switch (bool present)`: a discriminant of 5.
    assert_eq!(
        ByBool::from_xdr(&5u32.to_be_bytes()),
        Err(DecodeError::InvalidBool { at: 0, value: 5 })
    );
    let unsigned_union = xdrgen_tests::fixture_dialect::ByUnsigned::from_xdr(&77u32.to_be_bytes());
    assert!(matches!(
        unsigned_union,
        Ok(xdrgen_tests::fixture_dialect::ByUnsigned::Default(d)) if d.get() == 77
    ));
    let recursion = xdrgen_tests::fixture_recursion::Expr::from_xdr(&[0, 0, 0, 7]);
    assert_eq!(
        recursion,
        Err(DecodeError::InvalidDiscriminant {
            at: 0,
            type_name: "expr",
            value: 7
        })
    );
}

#[test]
fn trailing_bytes_and_message_size() {
    let mut bytes = Colour::Red.to_xdr().unwrap();
    bytes.extend_from_slice(&[0; 4]);
    assert_eq!(
        Colour::from_xdr(&bytes),
        Err(DecodeError::TrailingBytes { at: 4, count: 4 })
    );
    let small = Limits {
        max_message_bytes: 4,
        ..Limits::default()
    };
    assert_eq!(
        Colour::from_xdr_with(&bytes, &small),
        Err(DecodeError::Limit {
            at: 0,
            limit: LimitKind::MessageBytes
        })
    );
}

#[test]
fn deep_recursion_hits_the_depth_limit() {
    // A tree nested 10,000 deep: each level is `int value; bool left; ...`.
    let mut bytes = Vec::new();
    for _ in 0..10_000 {
        bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]);
    }
    let err = Tree::from_xdr(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Limit {
                limit: LimitKind::Depth,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_million_entry_linked_list_round_trips_on_a_normal_stack() {
    const N: u64 = 1_000_000;
    let mut head = Entry {
        fileid: 0,
        name: XdrString::from("entry"),
        nextentry: None,
    };
    let mut tail = &mut head.nextentry;
    for i in 1..N {
        let node = Entry {
            fileid: i,
            name: XdrString::from(format!("file{i}")),
            nextentry: None,
        };
        tail = &mut tail.insert(Box::new(node)).nextentry;
    }
    let bytes = head.to_xdr().unwrap();
    assert_eq!(bytes.len(), head.encoded_len());
    let back = Entry::from_xdr(&bytes).unwrap();
    assert!(back == head, "decoded list differs");
    let copy = back.clone();
    assert!(copy == head);
    let mut count = 0;
    let mut node = Some(&copy);
    while let Some(n) = node {
        count += 1;
        node = n.nextentry.as_deref();
    }
    assert_eq!(count, N);
    // Dropping all three lists must not recurse either.
}

/// Mutations of valid encodings of every type of the interop tables (the
/// corpus and `protocols/xdr/`): decoding must never panic, and whatever
/// decodes must encode back to the same bytes (strict decoding accepts
/// only canonical encodings). Every type must take part, and enough
/// mutated inputs must decode for the identity to have been checked.
#[test]
fn mutated_encodings_of_every_type() {
    /// Share (in percent) of mutated inputs that must decode: 24% (3252 of
    /// 13400) when written; truncations, padding and enum words are
    /// refused, a changed data byte is not.
    const MIN_DECODED_PERCENT: usize = 15;
    let mut rng = Rng::new(0x0bad_f00d);
    let (mut types, mut inputs, mut decoded) = (0usize, 0usize, 0usize);
    for t in xdrgen_tests::interop::TYPES {
        let mut mutated = 0;
        for seed in 0..8 {
            let Ok(mut bytes) = (t.random_encoded)(seed) else {
                continue;
            };
            if bytes.is_empty() {
                continue;
            }
            for _ in 0..=rng.below(3) {
                let at = usize::try_from(rng.below(bytes.len() as u64)).unwrap();
                match rng.below(3) {
                    0 => bytes[at] ^= 1 << rng.below(8),
                    1 => bytes.truncate(at),
                    _ => bytes[at] = 0xff,
                }
                if bytes.is_empty() {
                    break;
                }
            }
            mutated += 1;
            if let Ok(again) = (t.reencode)(&bytes) {
                decoded += 1;
                assert_eq!(again, bytes, "{}::{} seed {seed}", t.file, t.xdr_name);
            }
        }
        inputs += mutated;
        types += usize::from(mutated > 0);
    }
    eprintln!(
        "{types} of {} types mutated: {inputs} inputs, {decoded} decoded and encoded back unchanged",
        xdrgen_tests::interop::TYPES.len()
    );
    // Without the corpus the table still holds protocols/xdr/'s types.
    assert!(
        xdrgen_tests::interop::TYPES
            .iter()
            .any(|t| t.file.starts_with("protocols/xdr/")),
        "the interop table lacks protocols/xdr/"
    );
    assert_eq!(
        types,
        xdrgen_tests::interop::TYPES.len(),
        "every type with an encoding must be mutated"
    );
    assert!(
        decoded * 100 >= inputs * MIN_DECODED_PERCENT,
        "only {decoded} of {inputs} mutated inputs decoded (floor {MIN_DECODED_PERCENT}%)"
    );
}
