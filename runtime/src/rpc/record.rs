//! ONC RPC record marking over stream transports (RFC 5531 §11): a record
//! is sent as one or more fragments, each preceded by a 4-byte header whose
//! top bit marks the last fragment and whose low 31 bits give its length.
//!
//! [`write_record`] fragments a message; [`RecordReader`] reassembles records
//! from bytes as they arrive (any split), enforcing a maximum record size
//! before it allocates. No I/O here: transports feed it.

use alloc::vec::Vec;
use core::fmt;

use crate::stream_io::{
    BUSY_READ, IDLE_READ, last_read_filled, offer_exact_room, offer_room_up_to,
};

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
    /// The length of `record` when [`read_buffer`](Self::read_buffer)
    /// handed it out for a read straight into it; what the read added is
    /// accounted for before anything else.
    read_into_record_from: Option<usize>,
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
            read_into_record_from: None,
        }
    }

    /// The buffer the next read should append to (tokio's `read_buf`, or
    /// into its spare capacity), with room sized to what is expected: the
    /// rest of the fragment under way and 512 bytes, 64 KiB after a read
    /// that filled its room, else 512 bytes. Room left from a larger read
    /// is given back first, so a connection waiting for its next message
    /// holds 512 bytes, not the size of its largest message.
    ///
    /// While a fragment is under way, the buffer is the record itself,
    /// whose room grows with what came (64 KiB, then as much as it
    /// holds): the fragment's bytes are not copied, and the read buffer,
    /// which the connection keeps while idle, neither grows nor moves.
    /// (Grown for a large message and shrunk back, it stayed where the
    /// large message had been, in pages the allocator then could not give
    /// back.)
    pub fn read_buffer(&mut self) -> &mut Vec<u8> {
        self.account_read_into_record();
        let filled = last_read_filled(&self.buf);
        self.buf.drain(..self.start);
        self.start = 0;
        let room = match self.fragment {
            // Bytes already in `buf` come first, so only an empty `buf`
            // lets the read go to the record. Room past the fragment's
            // end takes what follows in the same read (as below); those
            // bytes move to `buf` after it.
            Some((owed, _)) if self.buf.is_empty() => {
                offer_room_up_to(&mut self.record, owed.saturating_add(IDLE_READ));
                self.read_into_record_from = Some(self.record.len());
                return &mut self.record;
            }
            // Room past the fragment's end tells a read that filled it
            // (more is coming) from one that only finished the fragment.
            Some((owed, _)) => owed.saturating_add(IDLE_READ).min(BUSY_READ),
            None if filled => BUSY_READ,
            None => IDLE_READ,
        };
        offer_exact_room(&mut self.buf, room);
        &mut self.buf
    }

    /// Accounts for a read that [`read_buffer`](Self::read_buffer) sent
    /// straight into the record: its bytes are part of the fragment under
    /// way, and any past the fragment's end begin what follows, in `buf`,
    /// which was empty.
    fn account_read_into_record(&mut self) {
        let Some(from) = self.read_into_record_from.take() else {
            return;
        };
        let Some((owed, last)) = self.fragment else {
            return;
        };
        let read = self.record.len().saturating_sub(from);
        let body = read.min(owed);
        if read > body {
            self.buf.extend_from_slice(&self.record[from + body..]);
            self.record.truncate(from + body);
        }
        self.fragment = Some((owed - body, last));
    }

    /// Adds bytes read from the transport.
    pub fn push(&mut self, bytes: &[u8]) {
        self.account_read_into_record();
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
        self.account_read_into_record();
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
            let expected = vec![a.clone(), b.clone(), Vec::new()];
            assert_eq!(records(&stream, step, 1 << 20).unwrap(), expected);
            assert_eq!(read_through_buffer(&stream, step).0, expected);
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
        // A length within the limit gets 64 KiB of room, not all of it,
        // until its bytes come.
        let mut r = RecordReader::new(1 << 24);
        r.push(&(LAST_FRAGMENT | (1 << 23)).to_be_bytes());
        assert_eq!(r.next_record(), Ok(None));
        let buf = r.read_buffer();
        assert_eq!(buf.capacity() - buf.len(), BUSY_READ);
    }

    /// Feeds `stream` through [`RecordReader::read_buffer`], each read
    /// taking at most `step` bytes of the room offered, and returns the
    /// records and the room offered before each read.
    fn read_through_buffer(stream: &[u8], step: usize) -> (Vec<Vec<u8>>, Vec<usize>) {
        let mut r = RecordReader::new(1 << 24);
        let (mut out, mut offered) = (Vec::new(), Vec::new());
        let mut at = 0;
        while at < stream.len() {
            let buf = r.read_buffer();
            let room = buf.capacity() - buf.len();
            offered.push(room);
            let n = room.min(step).min(stream.len() - at);
            buf.extend_from_slice(&stream[at..at + n]);
            at += n;
            while let Some(rec) = r.next_record().unwrap() {
                out.push(rec);
            }
        }
        assert!(!r.is_mid_record(), "bytes left over");
        let room = r.read_buffer().capacity();
        offered.push(room);
        (out, offered)
    }

    #[test]
    fn reads_get_room_for_what_is_coming_and_give_it_back() {
        let big = vec![5u8; 200_000];
        let mut stream = Vec::new();
        write_record(b"small", 64, &mut stream);
        write_record(&big, MAX_FRAGMENT, &mut stream);
        write_record(b"after", 64, &mut stream);
        let (records, offered) = read_through_buffer(&stream, usize::MAX);
        assert_eq!(records, vec![b"small".to_vec(), big, b"after".to_vec()]);
        // 512 bytes first; the big record's header announces the rest,
        // which goes straight into the record in reads that grow with it
        // (64 KiB, then as much as it holds) up to its end and 512 bytes
        // (the last of those takes the next record); then back to 512.
        let first_body = IDLE_READ - 9 - 4;
        let last = 200_000 - first_body - BUSY_READ - (first_body + BUSY_READ);
        assert_eq!(
            offered,
            vec![
                IDLE_READ,
                BUSY_READ,
                first_body + BUSY_READ,
                last + IDLE_READ,
                IDLE_READ
            ]
        );
        assert_eq!(records[1].capacity(), 200_000 + IDLE_READ);

        // A record a little over 512 bytes, then silence: the wait for the
        // next one gets 512 bytes again.
        let mut stream = Vec::new();
        write_record(&[9; 3000], MAX_FRAGMENT, &mut stream);
        let (records, offered) = read_through_buffer(&stream, usize::MAX);
        assert_eq!(records, vec![vec![9; 3000]]);
        assert_eq!(
            offered,
            vec![IDLE_READ, 3000 - (IDLE_READ - 4) + IDLE_READ, IDLE_READ]
        );
    }

    #[test]
    fn a_large_fragment_is_read_into_its_record_and_the_read_buffer_stays_small() {
        let big: Vec<u8> = (0..300_000u32).map(|i| i.to_le_bytes()[0]).collect();
        let mut stream = Vec::new();
        write_record(&big, MAX_FRAGMENT, &mut stream);
        write_record(b"next", 64, &mut stream);
        let mut r = RecordReader::new(1 << 24);
        let mut records = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let buf = r.read_buffer();
            // Reads shorter than their room, as a socket often gives.
            let n = (buf.capacity() - buf.len())
                .min(7000)
                .min(stream.len() - at);
            buf.extend_from_slice(&stream[at..at + n]);
            at += n;
            assert!(r.buf.capacity() <= IDLE_READ, "{}", r.buf.capacity());
            while let Some(record) = r.next_record().unwrap() {
                records.push(record);
            }
        }
        assert!(!r.is_mid_record());
        assert_eq!(records, vec![big, b"next".to_vec()]);
        assert!(records[0].capacity() <= 300_000 + IDLE_READ);
    }

    #[test]
    fn bytes_a_read_into_the_record_took_past_its_fragment_begin_what_follows() {
        // Two fragments; the first, pushed in small pieces, leaves the
        // record room to spare (it grows by doubling), more than the
        // second fragment owes.
        let big = vec![3u8; 200_000];
        let mut stream = Vec::new();
        write_record(&big, 130_000, &mut stream);
        write_record(b"next", 64, &mut stream);
        let second = 4 + 130_000 + 4;
        let mut r = RecordReader::new(1 << 24);
        for piece in stream[..second].chunks(1000) {
            r.push(piece);
            assert_eq!(r.next_record(), Ok(None));
        }
        let buf = r.read_buffer();
        assert!(buf.capacity() - buf.len() > stream.len() - second);
        // One read takes the rest of the record and all of the next one.
        buf.extend_from_slice(&stream[second..]);
        assert_eq!(r.next_record(), Ok(Some(big)));
        assert_eq!(r.next_record(), Ok(Some(b"next".to_vec())));
        assert_eq!(r.next_record(), Ok(None));
        assert!(!r.is_mid_record());
    }

    #[test]
    fn a_read_that_fills_its_room_gets_more_next_time() {
        // Many small records back to back: no fragment announces them.
        let mut stream = Vec::new();
        for i in 0..1000u32 {
            write_record(&i.to_be_bytes(), 64, &mut stream);
        }
        let (records, offered) = read_through_buffer(&stream, usize::MAX);
        assert_eq!(records.len(), 1000);
        assert_eq!(records[999], 999u32.to_be_bytes().to_vec());
        assert_eq!(&offered[..2], &[IDLE_READ, BUSY_READ]);
        // Reads that come back short (a slow peer) keep the room small:
        // 512 bytes, and the rest of a record a read cut in two.
        let (_, offered) = read_through_buffer(&stream, 100);
        assert!(
            offered.iter().all(|&room| room <= IDLE_READ + 4),
            "{offered:?}"
        );
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

/// Large calls, in one fragment and in many (as libtirpc sends them), and
/// small calls right behind them in the same write, through a server
/// connection that gets the bytes a few KiB at a time.
#[cfg(all(test, feature = "tokio"))]
mod through_a_server {
    use super::*;
    use crate::XdrString;
    use crate::rpc::{
        CallContext, Dispatch, DispatchFuture, Fault, Peer, Server, ServerConfig, decode_args,
        encode_results,
    };
    use alloc::boxed::Box;
    use alloc::vec;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PROGRAM: u32 = 0x2000_7778;
    const ECHO: u32 = 1;

    struct Echo;

    impl Dispatch for Echo {
        fn program(&self) -> u32 {
            PROGRAM
        }
        fn version(&self) -> u32 {
            1
        }
        fn dispatch<'a>(&'a self, cx: &'a CallContext, args: &'a [u8]) -> DispatchFuture<'a> {
            Box::pin(async move {
                match cx.procedure() {
                    ECHO => encode_results(&decode_args::<XdrString>(args, cx)?),
                    _ => Err(Fault::ProcUnavail),
                }
            })
        }
    }

    /// An ECHO call of `text`, record-marked in fragments of `fragment`.
    fn echo_call(xid: u32, text: &[u8], fragment: usize, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        for word in [xid, 0, 2, PROGRAM, 1, ECHO, 0, 0, 0, 0] {
            body.extend_from_slice(&word.to_be_bytes());
        }
        crate::XdrEncode::encode(&XdrString::from(text), &mut body).unwrap();
        write_record(&body, fragment, out);
    }

    /// The xid and echoed text of a successful reply record.
    fn echoed(reply: &[u8]) -> (u32, &[u8]) {
        let word = |at: usize| u32::from_be_bytes(reply[at..at + 4].try_into().unwrap());
        // REPLY, MSG_ACCEPTED, an empty AUTH_NONE verifier, SUCCESS.
        assert_eq!(
            [word(4), word(8), word(12), word(16), word(20)],
            [1, 0, 0, 0, 0]
        );
        let len = word(24) as usize;
        (word(0), &reply[28..28 + len])
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_calls_in_any_fragments_and_the_calls_behind_them_are_answered() {
        let server = Server::builder(ServerConfig::default())
            .service(Echo)
            .build();
        let (ours, theirs) = tokio::io::duplex(8 * 1024);
        let serving =
            tokio::spawn(async move { server.serve_connection(theirs, Peer::Other).await });
        let (mut read, mut write) = tokio::io::split(ours);

        let large: Vec<u8> = (0..300_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut calls = Vec::new();
        let mut expected: Vec<(u32, &[u8])> = Vec::new();
        for (xid, fragment) in [(1, MAX_FRAGMENT), (2, 8800), (3, 70_000)] {
            echo_call(xid, &large, fragment, &mut calls);
            expected.push((xid, &large));
            echo_call(xid + 100, b"small", MAX_FRAGMENT, &mut calls);
            expected.push((xid + 100, b"small"));
        }
        let writing = tokio::spawn(async move {
            write.write_all(&calls).await.unwrap();
            write
        });

        let mut replies = RecordReader::new(1 << 24);
        let mut got = Vec::new();
        let mut buf = vec![0; 4096];
        while got.len() < expected.len() {
            while let Some(reply) = replies.next_record().unwrap() {
                got.push(reply);
            }
            if got.len() == expected.len() {
                break;
            }
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), read.read(&mut buf))
                .await
                .expect("the server answers within 10 s")
                .unwrap();
            assert!(n > 0, "the server closed after {} replies", got.len());
            replies.push(&buf[..n]);
        }
        let got: Vec<(u32, &[u8])> = got.iter().map(|reply| echoed(reply)).collect();
        assert_eq!(got, expected);
        // Closed, the connection ends.
        drop((read, writing.await.unwrap()));
        tokio::time::timeout(std::time::Duration::from_secs(10), serving)
            .await
            .expect("the connection ends when its peer closes")
            .unwrap();
    }
}
