//! `RecordReader` (RFC 5531 §11 record marking) fed the input as a byte
//! stream, split into pieces chosen by the input itself, both through
//! `push` and as a server reads: into `read_buffer`, at most its room at a
//! time. The first byte picks the record limit. What it checks: no panic,
//! hang or unbounded allocation; the records and the error (if any) are
//! the same whatever the split and the path; and every record read back
//! from `write_record` is the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::rpc::record::{RecordError, RecordReader, write_record};

/// Records until the stream ends or fails, and whether bytes of an
/// unfinished record are left.
fn read<'a>(
    max: usize,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Vec<u8>>, Option<RecordError>, bool) {
    let mut reader = RecordReader::new(max);
    let mut records = Vec::new();
    for piece in pieces {
        reader.push(piece);
        if let Err(e) = drain(&mut reader, max, &mut records) {
            return (records, Some(e), true);
        }
    }
    let mid = reader.is_mid_record();
    (records, None, mid)
}

/// As [`read`], but each piece arrives as reads into `read_buffer`, each
/// at most the room it offers, as `read_buf` on a socket does.
fn read_through_buffer<'a>(
    max: usize,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Vec<u8>>, Option<RecordError>, bool) {
    let mut reader = RecordReader::new(max);
    let mut records = Vec::new();
    for mut piece in pieces {
        while !piece.is_empty() {
            let buf = reader.read_buffer();
            let room = buf.capacity() - buf.len();
            assert!(room > 0, "read_buffer offered no room");
            let (read, rest) = piece.split_at(room.min(piece.len()));
            buf.extend_from_slice(read);
            piece = rest;
            if let Err(e) = drain(&mut reader, max, &mut records) {
                return (records, Some(e), true);
            }
        }
    }
    let mid = reader.is_mid_record();
    (records, None, mid)
}

/// Every record the reader holds now, into `records`.
fn drain(
    reader: &mut RecordReader,
    max: usize,
    records: &mut Vec<Vec<u8>>,
) -> Result<(), RecordError> {
    while let Some(record) = reader.next_record()? {
        assert!(record.len() <= max, "a record over the limit");
        records.push(record);
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    let max = [16, 1024, 65_536, 16 << 20][usize::from(choice & 3)];
    let whole = read(max, std::iter::once(stream));
    let split = read(max, xdrgen_fuzz::pieces(stream));
    assert_eq!(whole, split, "the split changed what was read");
    let buffered = read_through_buffer(max, xdrgen_fuzz::pieces(stream));
    assert_eq!(
        whole, buffered,
        "reading into read_buffer changed what was read"
    );

    // What was read, written again with a fragment size from the input,
    // reads back the same.
    let fragment = 1 + usize::from(choice >> 2);
    let mut again = Vec::new();
    for record in &whole.0 {
        write_record(record, fragment, &mut again);
    }
    let back = read(max, xdrgen_fuzz::pieces(&again));
    assert_eq!(
        back,
        (whole.0, None, false),
        "write_record output reads back differently"
    );
});
