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

pub mod libvirt;
pub mod peertest;
pub mod pki;

pub use xdrgen_testenv::{require, require_tools, skip};

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

/// A fresh, empty directory for one test's files, under the system's
/// temporary directory (`xdrgen-<group>-<test>-<pid>`).
pub fn scratch_dir(group: &str, test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xdrgen-{group}-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `len` deterministic, incompressible-looking bytes (xorshift from `seed`),
/// for file contents that must arrive byte for byte.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A client configuration that calls as root over AUTH_SYS from
/// `machine_name`, as NFS clients run by root do (NFS servers map
/// AUTH_NONE to nobody, and ganesha refuses it).
pub fn root_auth_sys(machine_name: &str) -> xdrgen_runtime::rpc::ClientConfig {
    use xdrgen_runtime::rpc::ClientConfig;
    use xdrgen_runtime::rpc::message::{AuthSys, OpaqueAuth};
    let root = AuthSys {
        stamp: 1,
        machine_name: machine_name.into(),
        uid: 0,
        gid: 0,
        gids: Vec::new(),
    };
    ClientConfig {
        timeout: std::time::Duration::from_secs(30),
        credential: OpaqueAuth::sys(&root).unwrap(),
        ..ClientConfig::default()
    }
}

/// Runs a stock tool (`rpcinfo`, ...): whether it succeeded, and its
/// standard output followed by its standard error.
pub fn run_tool(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A client configuration for talking to the real peers over loopback:
/// a 10 s timeout, UDP retransmitted every 500 ms.
pub fn peer_client_config() -> xdrgen_runtime::rpc::ClientConfig {
    xdrgen_runtime::rpc::ClientConfig {
        timeout: std::time::Duration::from_secs(10),
        retransmit: std::time::Duration::from_millis(500),
        ..xdrgen_runtime::rpc::ClientConfig::default()
    }
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

    /// Noise buffers `arbitrary` gets per seed; see [`json`].
    const ARBITRARY_TRIES: u64 = 8;

    /// A random `T` survives a trip through JSON (types generated with
    /// `--serde`), and values built by `arbitrary` (with `--arbitrary`)
    /// round-trip through XDR. Of [`ARBITRARY_TRIES`] noise buffers per
    /// seed, some may not build a value or build one past its bounds
    /// (`arbitrary` knows no XDR bounds, and a union's `default` refuses
    /// discriminants with a case of their own); at least one must build a
    /// value within them, so a type that never gets there fails instead of
    /// silently checking nothing.
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
        let (mut not_built, mut out_of_bounds, mut checked) = (0, 0, 0);
        for attempt in 0..ARBITRARY_TRIES {
            let mut rng = Rng::new((seed * ARBITRARY_TRIES + attempt) ^ 0xa5a5);
            let noise: Vec<u8> = (0..256).map(|_| rng.next_u64().to_le_bytes()[0]).collect();
            let mut u = arbitrary::Unstructured::new(&noise);
            let Ok(value) = T::arbitrary(&mut u) else {
                not_built += 1;
                continue;
            };
            let Ok(bytes) = value.to_xdr() else {
                out_of_bounds += 1;
                continue;
            };
            let back = T::from_xdr_with(&bytes, &xdrgen_runtime::Limits::unlimited())
                .map_err(|e| format!("decode arbitrary {value:?}: {e}"))?;
            // NaN floats are not equal to themselves; their text is.
            if back != value && format!("{back:?}") != format!("{value:?}") {
                return Err(format!("arbitrary value {value:?} came back as {back:?}"));
            }
            checked += 1;
        }
        if checked == 0 {
            return Err(format!(
                "arbitrary: {checked} of {ARBITRARY_TRIES} noise buffers made a value within \
                 bounds ({not_built} built nothing, {out_of_bounds} were past a bound)"
            ));
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

    use xdrgen_runtime::testing::{Stretch, Stretched};

    /// One generated type of a corpus file (or of `protocols/xdr/`).
    pub struct InteropType {
        /// The `.x` file: relative to `../shared/corpus`, or
        /// `protocols/xdr/<name>.x`, or `nfs3-completed.x` (see
        /// [`FILES`]).
        pub file: &'static str,
        /// The XDR (and C) name of the type.
        pub xdr_name: &'static str,
        /// Encodes a random value made from a seed.
        pub random_encoded: fn(u64) -> Result<Vec<u8>, String>,
        /// Decodes bytes (default limits) and encodes the value again.
        pub reencode: fn(&[u8]) -> Result<Vec<u8>, String>,
        /// A random value with one bounded length stretched
        /// ([`Rng::stretch`]).
        pub stretched: fn(u64, usize, Stretch) -> StretchedValue,
        /// The random value of a seed, printed field by field in the form
        /// the C printer of `C_PRINTERS` prints it (see `build.rs`); `None`
        /// when the type holds something the printers do not cover.
        pub print: Option<fn(u64) -> String>,
        /// The shapes its own definition uses (`struct`, `optional`,
        /// `string`, ...), for the coverage of the field-by-field check.
        pub shapes: &'static [&'static str],
    }

    /// A random value with one bounded length stretched.
    pub struct StretchedValue {
        /// Bounded lengths the value drew.
        pub draws: usize,
        /// The stretched length, if the value drew enough lengths.
        pub stretched: Option<Stretched>,
        /// Its encoding, or the encoder's error.
        pub encoded: Result<Vec<u8>, String>,
    }

    /// One `.x` file the interop tables were generated from.
    pub struct InteropFile {
        /// As in [`InteropType::file`].
        pub file: &'static str,
        /// Its path on disk when the tests were built.
        pub path: &'static str,
        /// Every constant (`const`, `#define`, `%#define`, `-D`) and enum
        /// member the file defines, as generated Rust reads it:
        /// (XDR name, value).
        pub constants: &'static [(&'static str, i128)],
        /// C printers for the types with a [`InteropType::print`]; they
        /// need the file's `rpcgen -h` header.
        pub c_printers: &'static str,
    }

    /// The XDR bytes of a random `T` made from `seed`.
    pub fn random_encoded<T: Random + XdrEncode>(seed: u64) -> Result<Vec<u8>, String> {
        T::random(&mut Rng::new(seed))
            .to_xdr()
            .map_err(|e| e.to_string())
    }

    /// A random `T` with its `nth` bounded length stretched.
    pub fn stretched<T: Random + XdrEncode>(seed: u64, nth: usize, how: Stretch) -> StretchedValue {
        let mut rng = Rng::stretch(seed, nth, how);
        let value = T::random(&mut rng);
        StretchedValue {
            draws: rng.bounded_draws(),
            stretched: rng.stretched(),
            encoded: value.to_xdr().map_err(|e| e.to_string()),
        }
    }

    /// Builds the random `T` of `seed` and prints it with `print`.
    pub fn printed<T: Random>(seed: u64, print: fn(&T, &mut String)) -> String {
        let mut out = String::new();
        print(&T::random(&mut Rng::new(seed)), &mut out);
        out
    }

    /// Printing helpers for the generated printers.
    pub mod print {
        use std::fmt::Write as _;

        /// Bytes as `x"<hex>"`.
        pub fn bytes(b: &[u8], out: &mut String) {
            out.push_str("x\"");
            for byte in b {
                let _ = write!(out, "{byte:02x}");
            }
            out.push('"');
        }

        /// A value that `Display`s as C prints it (`%lld` / `%llu`).
        pub fn num(v: impl std::fmt::Display, out: &mut String) {
            let _ = write!(out, "{v}");
        }
    }

    /// Decodes a `T` from `bytes` and encodes it again.
    pub fn reencode<T: XdrDecode + XdrEncode>(bytes: &[u8]) -> Result<Vec<u8>, String> {
        let value = T::from_xdr(bytes).map_err(|e| e.to_string())?;
        value.to_xdr().map_err(|e| e.to_string())
    }

    include!(concat!(env!("OUT_DIR"), "/interop.rs"));
}
