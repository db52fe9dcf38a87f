//! `RecordReader` (RFC 5531 §11 record marking) fed the input as a byte
//! stream, split into pieces chosen by the input itself. The first byte
//! picks the record limit. What it checks: no panic, hang or unbounded
//! allocation; the records and the error (if any) are the same whatever
//! the split; and every record read back from `write_record` is the same.
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
        loop {
            match reader.next_record() {
                Ok(Some(record)) => {
                    assert!(record.len() <= max, "a record over the limit");
                    records.push(record);
                }
                Ok(None) => break,
                Err(e) => return (records, Some(e), true),
            }
        }
    }
    let mid = reader.is_mid_record();
    (records, None, mid)
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    let max = [16, 1024, 65_536, 16 << 20][usize::from(choice & 3)];
    let whole = read(max, std::iter::once(stream));
    let split = read(max, xdrgen_fuzz::pieces(stream));
    assert_eq!(whole, split, "the split changed what was read");

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
