//! Generated code for every fixture and corpus file, compiled under
//! `deny(warnings)`; see `build.rs`. The tests in `tests/` use it.
#![deny(warnings)]

/// Types the fixtures map with `--extern-type`.
pub mod support {
    use xdrgen_runtime::{DecodeError, Decoder, EncodeError, XdrDecode, XdrEncode};

    /// An external type: a plain `int` on the wire.
    #[derive(
        Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, arbitrary::Arbitrary,
    )]
    pub struct Thing(pub i32);

    impl XdrEncode for Thing {
        fn encoded_len(&self) -> usize {
            4
        }
        fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
            self.0.encode(out)
        }
    }

    impl XdrDecode for Thing {
        fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
            i32::decode(d).map(Thing)
        }
    }

    impl xdrgen_runtime::testing::Random for Thing {
        fn random(rng: &mut xdrgen_runtime::testing::Rng) -> Self {
            Thing(i32::random(rng))
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/mods.rs"));

pub mod peertest;

pub use xdrgen_testenv::{require, skip};

/// The state directory of the real peers `scripts/test.sh` starts
/// (`XDRGEN_PEERS_STATE`), for `test`. Without it the test is skipped
/// loudly, or fails when `XDRGEN_REQUIRE_PEERS` is set.
pub fn peers(test: &str) -> Option<std::path::PathBuf> {
    require(
        test,
        "the real peers are not started (XDRGEN_PEERS_STATE unset; scripts/test.sh starts them)",
        std::env::var_os("XDRGEN_PEERS_STATE").map(std::path::PathBuf::from),
    )
}

/// `../shared/corpus` beside the clone, for `test`; skipped loudly (or
/// failing when required) without it.
pub fn corpus(test: &str) -> Option<std::path::PathBuf> {
    xdrgen_testenv::shared_path(
        test,
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".."),
        "corpus",
    )
}

/// The round-trip property every generated type must have.
pub mod roundtrip {
    use std::fmt::Debug;

    use xdrgen_runtime::testing::{Random, Rng};
    use xdrgen_runtime::{XdrDecode, XdrEncode};

    /// `decode(encode(v)) == v` and `encode(v).len() == encoded_len(v)`
    /// for a random value from `seed`.
    pub fn check<T>(seed: u64) -> Result<(), String>
    where
        T: XdrEncode + XdrDecode + Random + PartialEq + Debug,
    {
        let mut rng = Rng::new(seed);
        let value = T::random(&mut rng);
        let bytes = value
            .to_xdr()
            .map_err(|e| format!("encode {value:?}: {e}"))?;
        if bytes.len() != value.encoded_len() {
            return Err(format!(
                "encoded {} bytes, encoded_len says {}: {value:?}",
                bytes.len(),
                value.encoded_len()
            ));
        }
        let back =
            T::from_xdr(&bytes).map_err(|e| format!("decode {value:?} from {bytes:02x?}: {e}"))?;
        if back != value {
            return Err(format!("round trip changed {value:?} into {back:?}"));
        }
        Ok(())
    }

    /// A random `T` survives a trip through JSON (types generated with
    /// `--serde`), and values built by `arbitrary` (with `--arbitrary`)
    /// round-trip through XDR whenever they are within their bounds.
    pub fn json<T>(seed: u64) -> Result<(), String>
    where
        T: Random
            + PartialEq
            + Debug
            + serde::Serialize
            + serde::de::DeserializeOwned
            + for<'a> arbitrary::Arbitrary<'a>
            + XdrEncode
            + XdrDecode,
    {
        let mut rng = Rng::new(seed ^ 0xa5a5);
        let noise: Vec<u8> = (0..256).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
        let mut u = arbitrary::Unstructured::new(&noise);
        if let Ok(value) = T::arbitrary(&mut u) {
            if let Ok(bytes) = value.to_xdr() {
                let back = T::from_xdr_with(&bytes, &xdrgen_runtime::Limits::unlimited())
                    .map_err(|e| format!("decode arbitrary {value:?}: {e}"))?;
                // NaN floats are not equal to themselves; their text is.
                if back != value && format!("{back:?}") != format!("{value:?}") {
                    return Err(format!("arbitrary value {value:?} came back as {back:?}"));
                }
            }
        }
        let value = T::random(&mut Rng::new(seed));
        let text = serde_json::to_string(&value).map_err(|e| format!("to JSON {value:?}: {e}"))?;
        let back: T = serde_json::from_str(&text).map_err(|e| format!("from JSON {text}: {e}"))?;
        if back == value {
            Ok(())
        } else {
            Err(format!("JSON round trip changed {value:?} into {back:?}"))
        }
    }

    /// The XDR bytes of a random `T`.
    pub fn random_encoded<T: Random + XdrEncode>(seed: u64) -> Result<Vec<u8>, String> {
        T::random(&mut Rng::new(seed))
            .to_xdr()
            .map_err(|e| e.to_string())
    }

    /// Decodes `T` borrowing from `bytes`, and encodes it again.
    pub fn borrowed_reencode<'a, T>(bytes: &'a [u8]) -> Result<Vec<u8>, String>
    where
        T: xdrgen_runtime::XdrDecodeBorrowed<'a> + XdrEncode,
    {
        let value = T::from_xdr_borrowed(bytes).map_err(|e| format!("zero-copy decode: {e}"))?;
        let again = value.to_xdr().map_err(|e| e.to_string())?;
        if again.len() != value.encoded_len() {
            return Err(format!(
                "zero-copy encoded_len {} for {} bytes",
                value.encoded_len(),
                again.len()
            ));
        }
        Ok(again)
    }

    /// Owned and zero-copy code agree: what the owned type encodes, the
    /// borrowing type decodes and encodes back to the same bytes.
    pub fn zero_copy(
        seed: u64,
        encode: fn(u64) -> Result<Vec<u8>, String>,
        reencode: impl Fn(&[u8]) -> Result<Vec<u8>, String>,
    ) -> Result<(), String> {
        let bytes = encode(seed)?;
        let again = reencode(&bytes)?;
        if again == bytes {
            Ok(())
        } else {
            Err(format!(
                "zero-copy re-encoding differs: {bytes:02x?} vs {again:02x?}"
            ))
        }
    }

    include!(concat!(env!("OUT_DIR"), "/types.rs"));
}

/// What differential tests against C rpcgen + libtirpc need of each
/// generated type.
pub mod interop {
    use xdrgen_runtime::testing::{Random, Rng};
    use xdrgen_runtime::{XdrDecode, XdrEncode};

    /// One generated type of a corpus file.
    pub struct InteropType {
        /// The `.x` file, relative to `../shared/corpus`.
        pub file: &'static str,
        /// The XDR (and C) name of the type.
        pub xdr_name: &'static str,
        /// Encodes a random value made from a seed.
        pub random_encoded: fn(u64) -> Result<Vec<u8>, String>,
        /// Decodes bytes (default limits) and encodes the value again.
        pub reencode: fn(&[u8]) -> Result<Vec<u8>, String>,
    }

    /// The XDR bytes of a random `T` made from `seed`.
    pub fn random_encoded<T: Random + XdrEncode>(seed: u64) -> Result<Vec<u8>, String> {
        T::random(&mut Rng::new(seed))
            .to_xdr()
            .map_err(|e| e.to_string())
    }

    /// Decodes a `T` from `bytes` and encodes it again.
    pub fn reencode<T: XdrDecode + XdrEncode>(bytes: &[u8]) -> Result<Vec<u8>, String> {
        let value = T::from_xdr(bytes).map_err(|e| e.to_string())?;
        value.to_xdr().map_err(|e| e.to_string())
    }

    include!(concat!(env!("OUT_DIR"), "/interop.rs"));
}
