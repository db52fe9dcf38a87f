//! Bounds on what decoding untrusted bytes may cost.

/// Limits applied by every decode. [`Limits::default`] is safe for
/// untrusted input; there is no hidden second default.
///
/// Every variable-length read checks the declared length against the
/// type's `<N>` bound, the bytes left in the message, `max_elements` and
/// the remaining `max_alloc_bytes` *before* allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message accepted (default 64 MiB).
    pub max_message_bytes: usize,
    /// Deepest nesting of recursive types, e.g. tree depth (default 128).
    /// Linked lists (`entry *next`) are decoded iteratively and do not
    /// count against it.
    pub max_depth: u32,
    /// Most elements one array may declare (default 16 Mi).
    pub max_elements: u32,
    /// Most memory one decode may allocate for arrays, strings, opaques
    /// and list nodes (default 256 MiB). Bounds the amplification of
    /// small wire values into large Rust values.
    pub max_alloc_bytes: usize,
    /// Accept non-zero padding bytes (RFC 4506 requires zeros; some C
    /// peers send garbage). Default false.
    pub lenient_padding: bool,
    /// Accept any non-zero `bool` word as true (libtirpc's `xdr_bool`
    /// does). Default false: only 0 and 1.
    pub lenient_bool: bool,
    /// Refuse RPC results and arguments followed by bytes their type does
    /// not account for. Default false: like libtirpc's `clnt_call` and
    /// `svc_getargs`, the extra bytes are skipped (and reported as a
    /// `tracing` event). [`XdrDecode::from_xdr_with`](crate::XdrDecode::from_xdr_with)
    /// always refuses them: it decodes a whole message, not an RPC body.
    pub reject_trailing_bytes: bool,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: 64 << 20,
            max_depth: 128,
            max_elements: 16 << 20,
            max_alloc_bytes: 256 << 20,
            lenient_padding: false,
            lenient_bool: false,
            reject_trailing_bytes: false,
        }
    }
}

impl Limits {
    /// No limits beyond what the bytes themselves allow. **Only for
    /// trusted input**: a hostile peer can then make a decode allocate
    /// gigabytes or recurse until the stack overflows.
    pub fn unlimited() -> Limits {
        Limits {
            max_message_bytes: usize::MAX,
            max_depth: u32::MAX,
            max_elements: u32::MAX,
            max_alloc_bytes: usize::MAX,
            ..Limits::default()
        }
    }

    /// Accepts what sloppy C peers send: non-zero padding and any non-zero
    /// `bool`. Other limits stay as they are.
    #[must_use]
    pub fn lenient(mut self) -> Limits {
        self.lenient_padding = true;
        self.lenient_bool = true;
        self
    }

    /// Refuses what C peers get away with: RPC bodies with trailing bytes
    /// (see [`Limits::reject_trailing_bytes`]). Other limits stay as they are.
    #[must_use]
    pub fn strict(mut self) -> Limits {
        self.reject_trailing_bytes = true;
        self
    }
}
