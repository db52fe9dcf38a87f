//! Proof that generated code and the runtime's codec need only `core` and
//! `alloc`: this crate is `no_std` and depends on the runtime without its
//! `std` feature. Build it on its own (`cargo build -p
//! xdrgen-tests-no-std`) so workspace feature unification does not turn
//! `std` back on.
#![no_std]
#![deny(warnings)]
// No `extern crate alloc` either: generated code reaches `Vec` and `Box`
// only through the runtime.

macro_rules! generated {
    ($($name:ident),*) => {$(
        #[allow(missing_docs)]
        pub mod $name {
            include!(concat!(env!("OUT_DIR"), "/", stringify!($name), ".rs"));
        }
    )*};
}

generated!(basic, dialect, recursion, inline, program, names);

/// Encodes and decodes a value without std.
pub fn round_trip() -> bool {
    use xdrgen_runtime::{XdrDecode, XdrEncode};
    let value = basic::Result::Green(xdrgen_runtime::XdrString::from("no_std"));
    let bytes = value.to_xdr().unwrap_or_default();
    basic::Result::from_xdr(&bytes).is_ok_and(|back| back == value)
}
