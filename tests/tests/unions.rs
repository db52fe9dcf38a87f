//! Unions through the generated code: 8-byte `hyper` discriminants, and
//! `default` arms whose discriminant type refuses every value that has a
//! `case` of its own (so no value encodes as one arm and decodes as
//! another, or not at all).

use arbitrary::{Arbitrary, Unstructured};
use xdrgen_protocols::mount3::{Mountres3, Mountres3Default, Mountstat3};
use xdrgen_runtime::testing::{Random, Rng};
use xdrgen_runtime::{DecodeError, XdrDecode, XdrEncode, XdrString};
use xdrgen_tests::fixture_unions::{
    ByBool, ByBoolDefault, ByHyper, ByHyperDefault, ByHyperTypedef, ByHyperTypedefDefault, ByInt,
    ByIntDefault, ByUnsignedHyper, FullyCoveredDefault, LookupResult, LookupResultDefault,
    LookupStatus, PairMember,
};

fn round_trip<T: XdrEncode + XdrDecode + PartialEq + std::fmt::Debug>(value: &T) -> Vec<u8> {
    let bytes = value.to_xdr().unwrap();
    assert_eq!(bytes.len(), value.encoded_len(), "{value:?}");
    assert_eq!(&T::from_xdr(&bytes).unwrap(), value);
    bytes
}

#[test]
fn hyper_discriminants_take_eight_bytes() {
    let named = ByHyper::Case5000000000(XdrString::from("x"));
    let bytes = round_trip(&named);
    assert_eq!(
        bytes,
        [0, 0, 0, 1, 0x2a, 0x05, 0xf2, 0, 0, 0, 0, 1, b'x', 0, 0, 0]
    );
    assert_eq!(round_trip(&ByHyper::CaseMinus1), [0xff; 8]);

    let other = ByHyper::Default {
        discriminant: ByHyperDefault::new(-2).unwrap(),
        value: 9,
    };
    assert_eq!(
        round_trip(&other),
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 9]
    );

    let big = ByUnsignedHyper::Case18446744073709551615(-5);
    let bytes = round_trip(&big);
    assert_eq!(bytes[..8], [0xff; 8]);
    assert_eq!(bytes[8..], (-5i64).to_be_bytes());
    assert_eq!(round_trip(&ByUnsignedHyper::Case0), [0; 8]);

    // Through a typedef of `unsigned hyper`.
    let typedef = ByHyperTypedef::Default(ByHyperTypedefDefault::new(u64::MAX).unwrap());
    assert_eq!(round_trip(&typedef), [0xff; 8]);
    assert_eq!(
        round_trip(&ByHyperTypedef::Case1(3)),
        [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3]
    );
}

#[test]
fn an_unlisted_hyper_discriminant_without_default_is_a_typed_error() {
    assert_eq!(
        ByUnsignedHyper::from_xdr(&7u64.to_be_bytes()),
        Err(DecodeError::InvalidDiscriminant {
            at: 0,
            type_name: "by_unsigned_hyper",
            value: 7
        })
    );
    // A discriminant cut short after 4 of its 8 bytes.
    assert!(matches!(
        ByHyper::from_xdr(&[0xff; 4]),
        Err(DecodeError::Truncated { .. })
    ));
}

#[test]
fn a_default_value_cannot_hold_a_discriminant_that_has_a_case() {
    // RFC 1813's mountres3: MNT3_OK has its own arm.
    assert_eq!(Mountres3Default::new(Mountstat3::Mnt3Ok), None);
    assert_eq!(
        Mountres3Default::try_from(Mountstat3::Mnt3Ok),
        Err(Mountstat3::Mnt3Ok)
    );
    let noent = Mountres3Default::new(Mountstat3::Mnt3errNoent).unwrap();
    assert_eq!(noent.get(), Mountstat3::Mnt3errNoent);
    assert_eq!(Mountstat3::from(noent), Mountstat3::Mnt3errNoent);
    assert_eq!(round_trip(&Mountres3::Default(noent)), [0, 0, 0, 2]);

    assert_eq!(LookupResultDefault::new(LookupStatus::LookupOk), None);
    assert_eq!(ByIntDefault::new(0), None);
    assert_eq!(ByIntDefault::new(1), None);
    assert_eq!(ByIntDefault::try_from(1), Err(1));
    assert_eq!(ByHyperDefault::new(-1), None);
    assert_eq!(ByHyperDefault::new(5_000_000_000), None);
    assert_eq!(ByHyperTypedefDefault::new(1), None);
    assert_eq!(ByBoolDefault::new(true), None);
    // Every member of the discriminant has a case: nothing is left.
    for &member in PairMember::VALUES {
        assert_eq!(FullyCoveredDefault::new(member), None);
    }
}

#[test]
fn every_constructible_default_value_round_trips() {
    for &status in Mountstat3::VALUES {
        match Mountres3Default::new(status) {
            Some(d) => {
                let bytes = round_trip(&Mountres3::Default(d));
                assert_eq!(bytes, (status as i32).to_be_bytes());
            }
            None => assert_eq!(status, Mountstat3::Mnt3Ok),
        }
    }
    let mut refused = 0;
    for &status in LookupStatus::VALUES {
        match LookupResultDefault::new(status) {
            Some(d) => {
                round_trip(&LookupResult::Default(d));
            }
            None => refused += 1,
        }
    }
    assert_eq!(refused, 1);
    for code in [i32::MIN, -1, 2, 3, 64, i32::MAX] {
        let discriminant = ByIntDefault::new(code).unwrap();
        let value = ByInt::Default {
            discriminant,
            value: XdrString::from("why"),
        };
        let bytes = round_trip(&value);
        assert_eq!(bytes[..4], code.to_be_bytes());
    }
    let no = ByBool::Default(ByBoolDefault::new(false).unwrap());
    assert_eq!(round_trip(&no), [0, 0, 0, 0]);
    for code in [i64::MIN, -2, 0, 1, 4_999_999_999, 5_000_000_001, i64::MAX] {
        let discriminant = ByHyperDefault::new(code).unwrap();
        round_trip(&ByHyper::Default {
            discriminant,
            value: 0,
        });
    }
}

#[test]
fn random_and_arbitrary_values_only_use_unlisted_discriminants() {
    let mut rng = Rng::new(7);
    for _ in 0..200 {
        round_trip(&LookupResult::random(&mut rng));
        round_trip(&ByInt::random(&mut rng));
        round_trip(&ByHyper::random(&mut rng));
    }
    // Arbitrary refuses a covered discriminant rather than building it.
    let mut built = 0;
    for seed in 0u8..=255 {
        let bytes: Vec<u8> = (0..64)
            .map(|i| seed.wrapping_mul(31).wrapping_add(i))
            .collect();
        let mut u = Unstructured::new(&bytes);
        if let Ok(value) = xdrgen_tests::serde_fixture_unions::LookupResult::arbitrary(&mut u) {
            let bytes = value.to_xdr().unwrap();
            let back = xdrgen_tests::serde_fixture_unions::LookupResult::from_xdr(&bytes).unwrap();
            assert_eq!(back, value);
            built += 1;
        }
    }
    assert!(built > 100, "only {built} arbitrary values");
}

#[test]
fn serde_refuses_a_default_value_with_a_covered_discriminant() {
    use xdrgen_tests::serde_fixture_unions::{LookupResult, LookupResultDefault, LookupStatus};
    let value = LookupResult::Default(LookupResultDefault::new(LookupStatus::LookupNoent).unwrap());
    let json = serde_json::to_string(&value).unwrap();
    assert_eq!(json, r#"{"Default":"LookupNoent"}"#);
    assert_eq!(serde_json::from_str::<LookupResult>(&json).unwrap(), value);
    let error = serde_json::from_str::<LookupResult>(r#"{"Default":"LookupOk"}"#).unwrap_err();
    assert!(
        error.to_string().contains("has its own `case` arm"),
        "{error}"
    );
}
