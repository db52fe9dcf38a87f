//! ONC RPC record marking over stream transports (RFC 5531 §11): a record
//! is sent as one or more fragments, each preceded by a 4-byte header whose
//! top bit marks the last fragment and whose low 31 bits give its length.
//!
//! [`write_record`] fragments a message; [`RecordReader`] reassembles records
//! from bytes as they arrive (any split), enforcing a maximum record size
//! before it allocates. No I/O here: transports feed it.

use alloc::vec::Vec;
use core::fmt;

/// The last-fragment bit of a fragment header.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;

/// Largest fragment length a header can carry.
pub const MAX_FRAGMENT: usize = 0x7fff_ffff;

/// Appends `payload` as a record of fragments of at most `max_fragment`
/// bytes (at least 1; larger values are capped at [`MAX_FRAGMENT`]). An
/// empty payload is one empty last fragment.
pub fn write_record(payload: &[u8], max_fragment: usize, out: &mut Vec<u8>) {
    let size = max_fragment.clamp(1, MAX_FRAGMENT);
    let mut chunks = payload.chunks(size).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&LAST_FRAGMENT.to_be_bytes());
        return;
    }
    while let Some(chunk) = chunks.next() {
        // `chunk.len() <= MAX_FRAGMENT`, which fits the 31 length bits.
        let len = u32::try_from(chunk.len()).unwrap_or(0x7fff_ffff);
        let header = if chunks.peek().is_none() {
            LAST_FRAGMENT | len
        } else {
            len
        };
        out.extend_from_slice(&header.to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

/// Why a byte stream is not a valid sequence of records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record (all its fragments so far) is longer than the limit.
    TooLarge {
        /// Bytes the record would have.
        len: u64,
        /// The limit.
        max: usize,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::TooLarge { len, max } => {
                write!(f, "record of {len} bytes is over the limit of {max}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecordError {}

/// Reassembles records from a byte stream fed in pieces of any size.
#[derive(Debug)]
pub struct RecordReader {
    max_record: usize,
    /// Bytes received; those before `start` are consumed.
    buf: Vec<u8>,
    start: usize,
    /// The record being assembled.
    record: Vec<u8>,
    /// Bytes still owed by the current fragment, and whether it is the last.
    fragment: Option<(usize, bool)>,
}

impl RecordReader {
    /// A reader that rejects records longer than `max_record` bytes.
    pub fn new(max_record: usize) -> RecordReader {
        RecordReader {
            max_record,
            buf: Vec::new(),
            start: 0,
            record: Vec::new(),
            fragment: None,
        }
    }

    /// Adds bytes read from the transport.
    pub fn push(&mut self, bytes: &[u8]) {
        // Consumed bytes go once per push, not once per record: a burst of
        // many small records in one read stays linear.
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// Whether a record was started and not finished (a half-written
    /// record when the peer closes).
    pub fn is_mid_record(&self) -> bool {
        self.fragment.is_some() || !self.record.is_empty() || self.start < self.buf.len()
    }

    /// The next complete record, if the bytes so far hold one. After an
    /// error the stream cannot be resynchronised: close the connection.
    pub fn next_record(&mut self) -> Result<Option<Vec<u8>>, RecordError> {
        let mut at = self.start;
        let result = loop {
            let (owed, last) = match self.fragment {
                Some(f) => f,
                None => {
                    let Some(header) = self.buf.get(at..at + 4) else {
                        break Ok(None);
                    };
                    let header = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
                    at += 4;
                    let len = (header & !LAST_FRAGMENT) as usize;
                    // Checked on the header, before any byte of it is kept.
                    let total = self.record.len() as u64 + len as u64;
                    if total > self.max_record as u64 {
                        break Err(RecordError::TooLarge {
                            len: total,
                            max: self.max_record,
                        });
                    }
                    (len, header & LAST_FRAGMENT != 0)
                }
            };
            let take = owed.min(self.buf.len() - at);
            self.record.extend_from_slice(&self.buf[at..at + take]);
            at += take;
            if take < owed {
                self.fragment = Some((owed - take, last));
                break Ok(None);
            }
            self.fragment = None;
            if last {
                break Ok(Some(core::mem::take(&mut self.record)));
            }
        };
        self.start = at;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn records(stream: &[u8], step: usize, max: usize) -> Result<Vec<Vec<u8>>, RecordError> {
        let mut r = RecordReader::new(max);
        let mut out = Vec::new();
        for piece in stream.chunks(step.max(1)) {
            r.push(piece);
            while let Some(rec) = r.next_record()? {
                out.push(rec);
            }
        }
        assert!(!r.is_mid_record(), "bytes left over");
        Ok(out)
    }

    #[test]
    fn fragments_and_reassembles_in_any_split() {
        let a: Vec<u8> = (0..=255).collect();
        let b = b"second".to_vec();
        let mut stream = Vec::new();
        write_record(&a, 100, &mut stream);
        write_record(&b, 4, &mut stream);
        write_record(&[], 8, &mut stream);
        // 3 fragments (100 + 100 + 56) with their headers, 2 for "second", 1 empty.
        assert_eq!(stream.len(), 256 + 3 * 4 + 6 + 2 * 4 + 4);
        assert_eq!(&stream[..4], &100u32.to_be_bytes());
        for step in [1, 3, 7, 64, stream.len()] {
            assert_eq!(
                records(&stream, step, 1 << 20).unwrap(),
                vec![a.clone(), b.clone(), Vec::new()]
            );
        }
    }

    #[test]
    fn oversized_records_fail_before_allocating() {
        // One header announcing 2^31 - 1 bytes, and nothing else.
        let mut r = RecordReader::new(1 << 20);
        r.push(&0xffff_ffffu32.to_be_bytes());
        assert_eq!(
            r.next_record(),
            Err(RecordError::TooLarge {
                len: 0x7fff_ffff,
                max: 1 << 20
            })
        );
        // Many small fragments that add up to too much.
        let mut stream = Vec::new();
        write_record(&[7; 300], 10, &mut stream);
        assert!(matches!(
            records(&stream, 5, 256),
            Err(RecordError::TooLarge { len: 260, max: 256 })
        ));
    }

    #[test]
    fn a_half_written_record_is_visible() {
        let mut stream = Vec::new();
        write_record(b"incomplete", 64, &mut stream);
        let mut r = RecordReader::new(64);
        r.push(&stream[..7]);
        assert_eq!(r.next_record(), Ok(None));
        assert!(r.is_mid_record());
    }
}
