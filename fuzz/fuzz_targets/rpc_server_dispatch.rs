//! The ONC RPC server's stream path, without sockets: the input is what a
//! client sends on one connection (record-marked calls), served by
//! `Server::serve_connection` over an in-memory pipe on a current-thread
//! runtime, with an in-memory MOUNT v3 service behind it. What it checks:
//! no panic, hang or unbounded allocation, the session ends when the
//! client's input does, and everything the server sends is well-formed
//! records each holding a reply header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::Limits;
use xdrgen_runtime::rpc::record::RecordReader;
use xdrgen_runtime::rpc::{MessageHeader, Peer, Server, ServerConfig};

fuzz_target!(|data: &[u8]| {
    if data.len() > xdrgen_fuzz::MAX_SESSION_INPUT {
        return;
    }
    let replies = xdrgen_fuzz::runtime().block_on(async {
        let config = ServerConfig {
            max_record: 16 * 1024,
            max_in_flight: 4,
            ..ServerConfig::default()
        };
        let server = Server::builder(config)
            .service(xdrgen_fuzz::mount_dispatcher())
            .build();
        xdrgen_fuzz::session(data, |stream| async move {
            server.serve_connection(stream, Peer::Other).await;
        })
        .await
    });
    let mut records = RecordReader::new(usize::MAX >> 1);
    records.push(&replies);
    while let Some(record) = records
        .next_record()
        .expect("the server's framing is valid")
    {
        let (header, _) = MessageHeader::decode_from(&record, &Limits::default())
            .expect("the server sends RPC headers");
        assert!(
            matches!(header, MessageHeader::Reply(_)),
            "the server sent a call"
        );
    }
    assert!(!records.is_mid_record(), "the server sent half a record");
});
