//! libvirt's six-word packet header and `virNetMessageError`: the input is
//! a packet without its length word (the length is made to fit). The body
//! is decoded as a `RemoteError` whatever the status says, and rendered.
//! What it checks: no panic or unbounded allocation; the header words are
//! the input's; the packet and the error encode back to their bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::libvirt::{HEADER_LEN, MESSAGE_MAX, PacketReader, RemoteError, encode_packet};

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER_LEN || data.len() + 4 > MESSAGE_MAX {
        return;
    }
    let len = u32::try_from(data.len() + 4).expect("under MESSAGE_MAX");
    let mut reader = PacketReader::new(MESSAGE_MAX);
    reader.push(&len.to_be_bytes());
    reader.push(data);
    if let Ok(Some(packet)) = reader.next_packet() {
        let h = packet.header;
        let word = |i: usize| u32::from_be_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(h.program, word(0));
        assert_eq!(h.version, word(1));
        assert_eq!(h.procedure.cast_unsigned(), word(2));
        assert_eq!(h.kind as u32, word(3));
        assert_eq!(h.serial, word(4));
        assert_eq!(h.status as u32, word(5));
        assert_eq!(packet.body, &data[HEADER_LEN..]);
        let bytes = encode_packet(&h, &xdrgen_fuzz::Raw(&packet.body)).expect("encodes");
        assert_eq!(&bytes[4..], data);
    }
    xdrgen_fuzz::decode_reencode::<RemoteError>(&data[HEADER_LEN..]);
    if let Ok(error) = <RemoteError as xdrgen_runtime::XdrDecode>::from_xdr(&data[HEADER_LEN..]) {
        std::hint::black_box(error.to_string());
    }
});
