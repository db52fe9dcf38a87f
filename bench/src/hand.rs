//! The hand-written reference codec for `bench.x`: what a careful person
//! writes without a generator, in the shape BASELINE.md describes for
//! `rust-hand`.
//!
//! * Encode: `to_be_bytes` + `Vec::extend_from_slice` into a caller's
//!   (reused) `Vec<u8>`; no size pre-pass. Padding is one fixed 4-byte
//!   zero store and a `truncate`, never a 1–3 byte copy (LLVM turns that
//!   into a `memset` call, see BASELINE.md).
//! * Decode: a bounds-checked `split_first_chunk` reader over `&[u8]`.
//!   Bools must be 0 or 1, enums and union discriminants must name a
//!   member, padding must be zero, strings must be UTF-8 (`String`), every
//!   `<N>` bound is checked, and array pre-allocation is capped by the
//!   bytes left.
//! * The linked list is walked iteratively both ways (and dropped
//!   iteratively).
//! * Safe code only.

/// What can go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The input ended early.
    Truncated,
    /// A bool word other than 0 or 1.
    BadBool(u32),
    /// An enum value or union discriminant that names no member.
    BadEnum(i32),
    /// A length over its `<N>` bound.
    TooLong(usize),
    /// Non-zero padding bytes.
    Padding,
    /// A string that is not UTF-8.
    Utf8,
    /// Bytes left over after the value.
    Trailing(usize),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, f)
    }
}

impl std::error::Error for Error {}

// ---------------------------------------------------------------- types

/// `enum dom_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomState {
    /// `DOM_NOSTATE`
    NoState = 0,
    /// `DOM_RUNNING`
    Running = 1,
    /// `DOM_BLOCKED`
    Blocked = 2,
    /// `DOM_PAUSED`
    Paused = 3,
    /// `DOM_SHUTDOWN`
    Shutdown = 4,
    /// `DOM_SHUTOFF`
    Shutoff = 5,
    /// `DOM_CRASHED`
    Crashed = 6,
}

impl DomState {
    /// The member with this value.
    pub fn from_i32(v: i32) -> Result<DomState, Error> {
        Ok(match v {
            0 => DomState::NoState,
            1 => DomState::Running,
            2 => DomState::Blocked,
            3 => DomState::Paused,
            4 => DomState::Shutdown,
            5 => DomState::Shutoff,
            6 => DomState::Crashed,
            _ => return Err(Error::BadEnum(v)),
        })
    }
}

/// `struct small`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Small {
    /// `dom_uuid uuid` (fixed opaque[16]).
    pub uuid: [u8; 16],
    /// `string name<DOM_NAME_MAX>`.
    pub name: String,
    /// `int id`.
    pub id: i32,
    /// `unsigned int flags`.
    pub flags: u32,
    /// `hyper mem_kb`.
    pub mem_kb: i64,
    /// `unsigned hyper max_mem_kb`.
    pub max_mem_kb: u64,
    /// `bool active`.
    pub active: bool,
    /// `dom_state state`.
    pub state: DomState,
}

/// `struct small_list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmallList {
    /// `small items<>`.
    pub items: Vec<Small>,
}

/// `struct entry`.
#[derive(Debug, PartialEq, Eq)]
pub struct Entry {
    /// `unsigned hyper fileid`.
    pub fileid: u64,
    /// `string name<NFS_NAME_MAX>`.
    pub name: String,
    /// `unsigned hyper cookie`.
    pub cookie: u64,
    /// `entry *nextentry`.
    pub next: Option<Box<Entry>>,
}

impl Drop for Entry {
    // Iterative, so a long list cannot overflow the stack.
    fn drop(&mut self) {
        let mut next = self.next.take();
        while let Some(mut node) = next {
            next = node.next.take();
        }
    }
}

/// `struct dirlist`.
#[derive(Debug, PartialEq, Eq)]
pub struct DirList {
    /// `entry *entries`.
    pub entries: Option<Box<Entry>>,
    /// `bool eof`.
    pub eof: bool,
}

/// `struct bulk`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bulk {
    /// `opaque data<>`.
    pub data: Vec<u8>,
}

/// `union param_value switch (param_type type)`.
#[derive(Clone, Debug, PartialEq)]
pub enum ParamValue {
    /// `PARAM_INT`
    Int(i32),
    /// `PARAM_UINT`
    UInt(u32),
    /// `PARAM_LLONG`
    LLong(i64),
    /// `PARAM_ULLONG`
    ULLong(u64),
    /// `PARAM_DOUBLE`
    Double(f64),
    /// `PARAM_BOOLEAN`
    Boolean(bool),
    /// `PARAM_STRING`
    Str(String),
    /// `PARAM_NONE`
    None,
}

/// `struct param_list`.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamList {
    /// `param_value items<>`.
    pub items: Vec<ParamValue>,
}

const DOM_NAME_MAX: usize = 256;
const NFS_NAME_MAX: usize = 255;
const PARAM_STR_MAX: usize = 256;

// ---------------------------------------------------------------- encode

#[inline]
fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put_i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_be_bytes());
}

#[inline]
fn put_bool(out: &mut Vec<u8>, v: bool) {
    put_u32(out, u32::from(v));
}

/// Bytes then zero padding to a multiple of 4.
#[inline]
fn put_padded(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    let rem = bytes.len() & 3;
    if rem != 0 {
        let end = out.len() + (4 - rem);
        out.extend_from_slice(&[0; 4]);
        out.truncate(end);
    }
}

/// A length word (checked against `max`), bytes, padding.
#[inline]
fn put_var(out: &mut Vec<u8>, bytes: &[u8], max: usize) -> Result<(), Error> {
    if bytes.len() > max {
        return Err(Error::TooLong(bytes.len()));
    }
    // `max` is at most u32::MAX, so this does not truncate.
    #[allow(clippy::cast_possible_truncation)]
    put_u32(out, bytes.len() as u32);
    put_padded(out, bytes);
    Ok(())
}

/// A variable-length array count (unbounded `<>`, so only the u32 range).
#[inline]
fn put_count(out: &mut Vec<u8>, n: usize) -> Result<(), Error> {
    let n = u32::try_from(n).map_err(|_| Error::TooLong(n))?;
    put_u32(out, n);
    Ok(())
}

/// The hand-written encoders.
pub trait Encode {
    /// Appends the XDR encoding to `out`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error>;
}

impl Encode for Small {
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(&self.uuid);
        put_var(out, self.name.as_bytes(), DOM_NAME_MAX)?;
        put_i32(out, self.id);
        put_u32(out, self.flags);
        put_i64(out, self.mem_kb);
        put_u64(out, self.max_mem_kb);
        put_bool(out, self.active);
        put_i32(out, self.state as i32);
        Ok(())
    }
}

impl Encode for SmallList {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put_count(out, self.items.len())?;
        for item in &self.items {
            item.encode(out)?;
        }
        Ok(())
    }
}

impl Encode for DirList {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let mut cur = self.entries.as_deref();
        while let Some(e) = cur {
            put_bool(out, true);
            put_u64(out, e.fileid);
            put_var(out, e.name.as_bytes(), NFS_NAME_MAX)?;
            put_u64(out, e.cookie);
            cur = e.next.as_deref();
        }
        put_bool(out, false);
        put_bool(out, self.eof);
        Ok(())
    }
}

impl Encode for Bulk {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put_var(out, &self.data, u32::MAX as usize)
    }
}

impl Encode for ParamValue {
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            ParamValue::Int(v) => {
                put_i32(out, 1);
                put_i32(out, *v);
            }
            ParamValue::UInt(v) => {
                put_i32(out, 2);
                put_u32(out, *v);
            }
            ParamValue::LLong(v) => {
                put_i32(out, 3);
                put_i64(out, *v);
            }
            ParamValue::ULLong(v) => {
                put_i32(out, 4);
                put_u64(out, *v);
            }
            ParamValue::Double(v) => {
                put_i32(out, 5);
                put_u64(out, v.to_bits());
            }
            ParamValue::Boolean(v) => {
                put_i32(out, 6);
                put_bool(out, *v);
            }
            ParamValue::Str(s) => {
                put_i32(out, 7);
                put_var(out, s.as_bytes(), PARAM_STR_MAX)?;
            }
            ParamValue::None => put_i32(out, 8),
        }
        Ok(())
    }
}

impl Encode for ParamList {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        put_count(out, self.items.len())?;
        for item in &self.items {
            item.encode(out)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- decode

/// A bounds-checked reader over the message.
#[derive(Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { rest: bytes }
    }

    #[inline]
    fn chunk<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (head, tail) = self.rest.split_first_chunk::<N>().ok_or(Error::Truncated)?;
        self.rest = tail;
        Ok(*head)
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, Error> {
        self.chunk().map(u32::from_be_bytes)
    }

    #[inline]
    fn i32(&mut self) -> Result<i32, Error> {
        self.chunk().map(i32::from_be_bytes)
    }

    #[inline]
    fn u64(&mut self) -> Result<u64, Error> {
        self.chunk().map(u64::from_be_bytes)
    }

    #[inline]
    fn i64(&mut self) -> Result<i64, Error> {
        self.chunk().map(i64::from_be_bytes)
    }

    #[inline]
    fn bool(&mut self) -> Result<bool, Error> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(Error::BadBool(v)),
        }
    }

    /// `n` bytes, then their padding, which must be zero.
    #[inline]
    fn padded(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let padded = (n + 3) & !3;
        if padded > self.rest.len() {
            return Err(Error::Truncated);
        }
        let (bytes, tail) = self.rest.split_at(padded);
        self.rest = tail;
        let (data, pad) = bytes.split_at(n);
        if pad.iter().any(|&b| b != 0) {
            return Err(Error::Padding);
        }
        Ok(data)
    }

    /// A length word checked against `max`, then the bytes.
    #[inline]
    fn var(&mut self, max: usize) -> Result<&'a [u8], Error> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(Error::TooLong(n));
        }
        self.padded(n)
    }

    #[inline]
    fn string(&mut self, max: usize) -> Result<String, Error> {
        let bytes = self.var(max)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Error::Utf8)
    }

    /// An array count, and the capacity to reserve for it: never more
    /// elements than the bytes left could hold.
    #[inline]
    fn count(&mut self, min_wire_len: usize) -> Result<(usize, usize), Error> {
        let n = self.u32()? as usize;
        Ok((n, n.min(self.rest.len() / min_wire_len)))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), Error> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(Error::Trailing(self.rest.len()))
        }
    }
}

/// The hand-written decoders.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error>;

    /// Decodes a whole message: bytes left over are an error.
    fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Decode for Small {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Small {
            uuid: r.chunk()?,
            name: r.string(DOM_NAME_MAX)?,
            id: r.i32()?,
            flags: r.u32()?,
            mem_kb: r.i64()?,
            max_mem_kb: r.u64()?,
            active: r.bool()?,
            state: DomState::from_i32(r.i32()?)?,
        })
    }
}

impl Decode for SmallList {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        // uuid + name length + 6 words of scalars.
        let (n, cap) = r.count(52)?;
        let mut items = Vec::with_capacity(cap);
        for _ in 0..n {
            items.push(Small::decode(r)?);
        }
        Ok(SmallList { items })
    }
}

impl Decode for DirList {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let mut entries = None;
        let mut tail = &mut entries;
        while r.bool()? {
            let entry = Entry {
                fileid: r.u64()?,
                name: r.string(NFS_NAME_MAX)?,
                cookie: r.u64()?,
                next: None,
            };
            tail = &mut tail.insert(Box::new(entry)).next;
        }
        Ok(DirList {
            entries,
            eof: r.bool()?,
        })
    }
}

impl Decode for Bulk {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(Bulk {
            data: r.var(u32::MAX as usize)?.to_vec(),
        })
    }
}

impl Decode for ParamValue {
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        Ok(match r.i32()? {
            1 => ParamValue::Int(r.i32()?),
            2 => ParamValue::UInt(r.u32()?),
            3 => ParamValue::LLong(r.i64()?),
            4 => ParamValue::ULLong(r.u64()?),
            5 => ParamValue::Double(f64::from_bits(r.u64()?)),
            6 => ParamValue::Boolean(r.bool()?),
            7 => ParamValue::Str(r.string(PARAM_STR_MAX)?),
            8 => ParamValue::None,
            other => return Err(Error::BadEnum(other)),
        })
    }
}

impl Decode for ParamList {
    fn decode(r: &mut Reader<'_>) -> Result<Self, Error> {
        let (n, cap) = r.count(4)?;
        let mut items = Vec::with_capacity(cap);
        for _ in 0..n {
            items.push(ParamValue::decode(r)?);
        }
        Ok(ParamList { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_checks() {
        assert_eq!(Reader::new(&[0, 0, 0, 2]).bool(), Err(Error::BadBool(2)));
        assert_eq!(
            ParamValue::from_bytes(&[0, 0, 0, 9]),
            Err(Error::BadEnum(9))
        );
        assert_eq!(
            Bulk::from_bytes(&[0, 0, 0, 1, 7, 0, 1, 0]),
            Err(Error::Padding)
        );
        assert_eq!(Bulk::from_bytes(&[0, 0, 0, 5, 1]), Err(Error::Truncated));
        let mut out = Vec::new();
        let long = ParamValue::Str("x".repeat(257));
        assert_eq!(long.encode(&mut out), Err(Error::TooLong(257)));
        assert_eq!(
            ParamValue::from_bytes(&[0, 0, 0, 7, 0, 0, 1, 1]),
            Err(Error::TooLong(257))
        );
        assert_eq!(
            ParamValue::from_bytes(&[0, 0, 0, 7, 0, 0, 0, 1, 0xff, 0, 0, 0]),
            Err(Error::Utf8)
        );
        assert_eq!(
            ParamValue::from_bytes(&[0, 0, 0, 8, 0]),
            Err(Error::Trailing(1))
        );
    }

    #[test]
    fn padding_is_exact() {
        for len in 0..9 {
            let mut out = vec![0xaa];
            put_padded(&mut out, &vec![7; len]);
            assert_eq!(out.len(), 1 + ((len + 3) & !3));
            assert!(out[1 + len..].iter().all(|&b| b == 0));
        }
    }
}
