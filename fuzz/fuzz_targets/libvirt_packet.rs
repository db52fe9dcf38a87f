//! libvirt's `PacketReader` fed the input as a byte stream, split into
//! pieces chosen by the input itself; the first byte picks the packet
//! limit. What it checks: no panic, hang or unbounded allocation; the
//! packets and errors are the same whatever the split; a packet is never
//! longer than the limit; and each packet encodes back to its own bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::libvirt::{
    HEADER_LEN, MESSAGE_MAX, Packet, PacketError, PacketReader, encode_packet,
};

/// Packets and recoverable errors until the stream ends or its framing
/// fails, and whether bytes of an unfinished packet are left.
fn read<'a>(
    max: usize,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (Vec<Result<Packet, PacketError>>, bool) {
    let mut reader = PacketReader::new(max);
    let mut out = Vec::new();
    for piece in pieces {
        reader.push(piece);
        loop {
            match reader.next_packet() {
                Ok(Some(packet)) => out.push(Ok(packet)),
                Ok(None) => break,
                Err(e @ (PacketError::UnknownType(_) | PacketError::UnknownStatus(_))) => {
                    out.push(Err(e));
                }
                Err(e) => {
                    out.push(Err(e));
                    return (out, true);
                }
            }
        }
    }
    let mid = reader.is_mid_packet();
    (out, mid)
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, stream)) = data.split_first() else {
        return;
    };
    let max = [28, 64, 4096, MESSAGE_MAX][usize::from(choice & 3)];
    let whole = read(max, std::iter::once(stream));
    let split = read(max, xdrgen_fuzz::pieces(stream));
    assert_eq!(whole, split, "the split changed what was read");
    for packet in whole.0.iter().flatten() {
        let bytes = encode_packet(&packet.header, &xdrgen_fuzz::Raw(&packet.body))
            .expect("a packet that was read encodes");
        assert!(bytes.len() <= max, "a packet over the limit");
        assert_eq!(bytes.len(), 4 + HEADER_LEN + packet.body.len());
        let mut reader = PacketReader::new(max);
        reader.push(&bytes);
        assert_eq!(reader.next_packet(), Ok(Some(packet.clone())));
    }
});
