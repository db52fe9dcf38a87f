//! The libvirt server's path, without sockets: the input is what a client
//! sends on one connection (packets), served by `Server::serve_connection`
//! over an in-memory pipe on a current-thread runtime, with the example
//! daemon (`examples/libvirt-daemon`: in-memory domains, events, a
//! screenshot stream) behind it. What it checks: no panic, hang or
//! unbounded allocation, the session ends when the client's input does,
//! and everything the server sends is well-formed packets; error replies
//! hold a `virNetMessageError`.
#![no_main]

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::Dispatcher;
use libfuzzer_sys::fuzz_target;
use xdrgen_runtime::XdrDecode;
use xdrgen_runtime::libvirt::{
    MESSAGE_MAX, MessageType, PacketReader, RemoteError, Server, ServerConfig, Status,
};

fuzz_target!(|data: &[u8]| {
    if data.len() > xdrgen_fuzz::MAX_SESSION_INPUT {
        return;
    }
    let replies = xdrgen_fuzz::runtime().block_on(async {
        let config = ServerConfig {
            max_packet: 16 * 1024,
            max_client_requests: 4,
            ..ServerConfig::default()
        };
        let server = Server::builder(config)
            .service(Dispatcher(Daemon::new()))
            .build();
        xdrgen_fuzz::session(data, |stream| async move {
            server.serve_connection(stream).await;
        })
        .await
    });
    let mut packets = PacketReader::new(MESSAGE_MAX);
    packets.push(&replies);
    while let Some(packet) = packets
        .next_packet()
        .expect("the server sends valid packets")
    {
        let h = packet.header;
        assert!(
            !matches!(h.kind, MessageType::Call | MessageType::CallWithFds),
            "the server sent a call"
        );
        if h.kind == MessageType::Reply && h.status == Status::Error {
            RemoteError::from_xdr(&packet.body).expect("an error reply holds a virNetMessageError");
        }
    }
    assert!(!packets.is_mid_packet(), "the server sent half a packet");
});
