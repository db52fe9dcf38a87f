//! The `c-tirpc` side: rpcgen's output for bench.x and `c/driver.c`,
//! linked with libtirpc, reached through FFI. The C values are built in
//! C by the same rules as [`crate::model`] and stay opaque here.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};

/// The C functions of one top-level type (see `c/driver.c`).
#[derive(Clone, Copy, Debug)]
pub struct Fns {
    make: unsafe extern "C" fn() -> *mut c_void,
    free: unsafe extern "C" fn(*mut c_void),
    encode: unsafe extern "C" fn(*const c_void, *mut c_char, usize) -> usize,
    decode_free: unsafe extern "C" fn(*const c_char, usize) -> c_int,
    check: unsafe extern "C" fn(*const c_char, usize) -> c_int,
}

macro_rules! c_type {
    ($konst:ident, $make:ident, $free:ident, $enc:ident, $dec:ident, $check:ident) => {
        unsafe extern "C" {
            fn $make() -> *mut c_void;
            fn $free(v: *mut c_void);
            fn $enc(v: *const c_void, buf: *mut c_char, cap: usize) -> usize;
            fn $dec(buf: *const c_char, len: usize) -> c_int;
            fn $check(buf: *const c_char, len: usize) -> c_int;
        }
        /// The C functions of this type.
        pub const $konst: Fns = Fns {
            make: $make,
            free: $free,
            encode: $enc,
            decode_free: $dec,
            check: $check,
        };
    };
}

c_type!(
    SMALL,
    c_make_small,
    c_free_small,
    c_encode_small,
    c_decode_free_small,
    c_check_small
);
c_type!(
    SMALL_LIST,
    c_make_small_list,
    c_free_small_list,
    c_encode_small_list,
    c_decode_free_small_list,
    c_check_small_list
);
c_type!(
    DIRLIST,
    c_make_dirlist,
    c_free_dirlist,
    c_encode_dirlist,
    c_decode_free_dirlist,
    c_check_dirlist
);
c_type!(
    BULK,
    c_make_bulk,
    c_free_bulk,
    c_encode_bulk,
    c_decode_free_bulk,
    c_check_bulk
);
c_type!(
    PARAM_LIST,
    c_make_param_list,
    c_free_param_list,
    c_encode_param_list,
    c_decode_free_param_list,
    c_check_param_list
);

/// A workload value owned by C (built by `c_make_T`, freed with
/// `xdr_free` + `free`).
#[derive(Debug)]
pub struct Value {
    fns: Fns,
    ptr: *mut c_void,
}

impl Value {
    /// Builds the workload value in C.
    pub fn new(fns: Fns) -> Value {
        // SAFETY: `make` takes no arguments and returns a fresh value (it
        // aborts rather than return null).
        let ptr = unsafe { (fns.make)() };
        assert!(!ptr.is_null());
        Value { fns, ptr }
    }

    /// `xdrmem_create(XDR_ENCODE)` over `buf` (its whole capacity, from
    /// the start) + `xdr_T`. Returns the encoded length; `buf`'s length
    /// is set to it. Returns 0 if rpcgen's code failed (buffer too small).
    #[inline]
    pub fn encode(&self, buf: &mut Vec<u8>) -> usize {
        buf.clear();
        let cap = buf.capacity();
        // SAFETY: the pointer is ours and live; C writes at most `cap`
        // bytes into `buf`'s allocation.
        let n = unsafe { (self.fns.encode)(self.ptr, buf.as_mut_ptr().cast(), cap) };
        assert!(n <= cap);
        // SAFETY: C initialised the first `n <= cap` bytes.
        unsafe { buf.set_len(n) };
        n
    }

    /// Zeroes a C value, `xdr_T(XDR_DECODE)` from `bytes`, then
    /// `xdr_free`. True if the decode succeeded and used every byte.
    #[inline]
    pub fn decode_free(&self, bytes: &[u8]) -> bool {
        // SAFETY: C only reads `bytes.len()` bytes.
        unsafe { (self.fns.decode_free)(bytes.as_ptr().cast(), bytes.len()) != 0 }
    }

    /// Decodes `bytes` in C and compares the result with the C-built value.
    pub fn check(&self, bytes: &[u8]) -> bool {
        // SAFETY: C only reads `bytes.len()` bytes.
        unsafe { (self.fns.check)(bytes.as_ptr().cast(), bytes.len()) != 0 }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        // SAFETY: built by `make`, freed once.
        unsafe { (self.fns.free)(self.ptr) }
    }
}
