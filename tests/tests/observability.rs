//! What the runtime reports through `tracing`, captured with a
//! `tracing-subscriber` layer: the spans of one ONC RPC call and one
//! libvirt call on both sides, with OpenTelemetry's ONC RPC attribute
//! names, and an event for each failure the runtime used to swallow
//! (a server read error, an oversized record, a TLS handshake failure,
//! GARBAGE_ARGS with its decode error, client read errors, unknown
//! programs, versions and procedures, trailing bytes, lagged events).
//! Failures that end a client's calls also keep their cause in the error.

use std::net::SocketAddr;
use std::time::Duration;

use crate::capture::{self, Captured};
use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::Level;
use xdrgen_runtime::XdrEncode;
use xdrgen_runtime::libvirt::{
    self, Connection, ConnectionConfig, Header, MessageType, PacketError, PacketReader, Status,
    encode_packet,
};
use xdrgen_runtime::rpc::record::{RecordReader, write_record};
use xdrgen_runtime::rpc::{
    BlockingClient, CallHeader, Client, ClientConfig, Endpoint, RpcError, Server, ServerConfig,
};
use xdrgen_tests::peertest::{PeerTest, PtPoint, v1};

const PROGRAM: u32 = xdrgen_tests::peertest::proto::peertest_prog::PROGRAM;

/// A peertest server on loopback TCP.
async fn onc_server(config: ServerConfig) -> (Server, SocketAddr) {
    let server = Server::builder(config)
        .service(v1::Dispatcher(PeerTest::default()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    (server, addr)
}

/// The example libvirt daemon on loopback TCP.
async fn libvirt_server() -> (libvirt::Server, SocketAddr) {
    let server = libvirt::Server::builder(libvirt::ServerConfig::default())
        .service(remote_program::Dispatcher(Daemon::new()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    (server, addr)
}

fn quick() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

/// A call record (record mark included).
fn call_record(xid: u32, program: u32, version: u32, procedure: u32, args: &[u8]) -> Vec<u8> {
    let mut body = CallHeader::new(xid, program, version, procedure)
        .to_xdr()
        .unwrap();
    body.extend_from_slice(args);
    let mut out = Vec::new();
    write_record(&body, 1 << 20, &mut out);
    out
}

/// Reads records until one arrives (`Some`) or the server closes (`None`).
async fn next_record(stream: &mut TcpStream, reader: &mut RecordReader) -> Option<Vec<u8>> {
    let mut buf = [0; 4096];
    loop {
        if let Some(record) = reader.next_record().unwrap() {
            return Some(record);
        }
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf))
            .await
            .expect("the server answers or closes within 30 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        reader.push(&buf[..n]);
    }
}

/// Makes closing `s` send a reset (SO_LINGER 0) instead of a FIN.
#[allow(deprecated)] // deprecated because a nonzero linger blocks on drop; zero does not
fn reset_on_close(s: &TcpStream) {
    s.set_linger(Some(Duration::ZERO)).unwrap();
}

fn field<'a>(fields: &'a capture::Fields, name: &str) -> &'a str {
    fields
        .get(name)
        .unwrap_or_else(|| panic!("no field {name} in {fields:#?}"))
}

#[tokio::test]
async fn one_onc_rpc_call_has_a_client_and_a_server_span_with_semconv_names() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let (_server, addr) = onc_server(ServerConfig::default()).await;
    let client = v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    assert_eq!(client.pt_add(&PtPoint { x: 2, y: 3 }).await.unwrap(), 5);

    let server = captured.wait_for_calls("onc_rpc.call", "server", 1).await;
    let client = captured.wait_for_calls("onc_rpc.call", "client", 1).await;
    assert_eq!((server.len(), client.len()), (1, 1));
    for span in [&server[0], &client[0]] {
        assert_eq!(field(span, "rpc.system"), "onc_rpc");
        assert_eq!(field(span, "onc_rpc.program.name"), "PEERTEST_PROG");
        assert_eq!(field(span, "onc_rpc.program.number"), PROGRAM.to_string());
        assert_eq!(field(span, "onc_rpc.version"), "1");
        assert_eq!(field(span, "onc_rpc.procedure.name"), "PT_ADD");
        assert_eq!(field(span, "onc_rpc.procedure.number"), "1");
        assert_eq!(field(span, "outcome"), "SUCCESS");
    }
    assert_eq!(
        field(&server[0], "onc_rpc.xid"),
        field(&client[0], "onc_rpc.xid")
    );
    let peer = field(&server[0], "network.peer.address");
    assert!(peer.starts_with("tcp:127.0.0.1:"), "{peer}");
    // The client names the server it called.
    assert_eq!(
        field(&client[0], "network.peer.address"),
        format!("tcp:{addr}")
    );

    // The blocking client: the same span, on its own thread.
    let blocking = Captured::default();
    let spans = blocking.clone();
    tokio::task::spawn_blocking(move || {
        let _guard = tracing::subscriber::set_default(capture::subscriber(&spans));
        let mut c = v1::BlockingClient::connect(Endpoint::Tcp(addr), quick()).unwrap();
        assert_eq!(c.pt_add(&PtPoint { x: 1, y: 1 }).unwrap(), 2);
    })
    .await
    .unwrap();
    let spans = blocking.calls("onc_rpc.call", "client");
    assert_eq!(spans.len(), 1, "{spans:#?}");
    assert_eq!(field(&spans[0], "onc_rpc.procedure.name"), "PT_ADD");
    assert_eq!(field(&spans[0], "outcome"), "SUCCESS");
}

#[tokio::test]
async fn one_libvirt_call_has_a_client_and_a_server_span() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let (_server, addr) = libvirt_server().await;
    let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let client = remote_program::Client(connection);
    client.connect_get_lib_version().await.unwrap();

    let server = captured.wait_for_calls("libvirt.call", "server", 1).await;
    let client = captured.wait_for_calls("libvirt.call", "client", 1).await;
    for span in [&server[0], &client[0]] {
        assert_eq!(field(span, "rpc.system"), "libvirt");
        assert_eq!(field(span, "libvirt.program.name"), "remote");
        assert_eq!(
            field(span, "libvirt.program"),
            remote_program::PROGRAM.to_string()
        );
        assert_eq!(
            field(span, "libvirt.procedure.name"),
            "REMOTE_PROC_CONNECT_GET_LIB_VERSION"
        );
        assert_eq!(field(span, "libvirt.type"), "call");
        assert_eq!(field(span, "libvirt.status"), "ok");
    }
    assert_eq!(
        field(&server[0], "libvirt.serial"),
        field(&client[0], "libvirt.serial")
    );
}

#[tokio::test]
async fn server_side_failures_are_reported() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let config = ServerConfig {
        max_record: 64 * 1024,
        ..ServerConfig::default()
    };
    let (_server, addr) = onc_server(config).await;

    // An oversized record ends its connection, and says why.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
        .await
        .unwrap();
    assert!(
        next_record(&mut s, &mut RecordReader::new(1 << 20))
            .await
            .is_none()
    );
    let e = captured.wait_for_event("bad framing").await;
    assert_eq!(e.level, Level::WARN);
    assert!(
        e.fields["error"].contains("over the limit of 65536"),
        "{e:?}"
    );

    // A read error (the client resets the connection) ends it, and says so.
    let s = TcpStream::connect(addr).await.unwrap();
    reset_on_close(&s);
    let call = call_record(1, PROGRAM, 1, 1, &PtPoint { x: 1, y: 2 }.to_xdr().unwrap());
    let mut s = s;
    s.write_all(&call[..10]).await.unwrap();
    drop(s);
    let e = captured
        .wait_for_event("reading the connection failed")
        .await;
    assert_eq!(e.level, Level::WARN);
    assert!(e.fields["error"].to_lowercase().contains("reset"), "{e:?}");

    // GARBAGE_ARGS: the decode error and its offset are in the event.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&call_record(2, PROGRAM, 1, 1, &[0, 0, 0, 1]))
        .await
        .unwrap();
    next_record(&mut s, &mut RecordReader::new(1 << 20))
        .await
        .expect("GARBAGE_ARGS");
    let e = captured.wait_for_event("arguments do not decode").await;
    assert_eq!(e.level, Level::WARN);
    assert!(
        e.fields["error"].contains("truncated at byte 4"),
        "the offset is reported: {e:?}"
    );

    // Unknown program, version and procedure: INFO, answered as before.
    let client = Client::from_stream(TcpStream::connect(addr).await.unwrap(), quick());
    let unknown = client.call::<_, ()>(PROGRAM + 1, 1, 0, &()).await;
    assert!(matches!(unknown, Err(RpcError::ProgUnavail)), "{unknown:?}");
    let e = captured.wait_for_event("unknown program").await;
    assert_eq!(e.level, Level::INFO);
    let version = client.call::<_, ()>(PROGRAM, 7, 0, &()).await;
    assert!(matches!(
        version,
        Err(RpcError::ProgMismatch { low: 1, high: 1 })
    ));
    let e = captured.wait_for_event("versions 1 to 1 are served").await;
    assert_eq!(e.fields["version"], "7");
    let procedure = client.call::<_, ()>(PROGRAM, 1, 99, &()).await;
    assert!(matches!(procedure, Err(RpcError::ProcUnavail)));
    let e = captured.wait_for_event("unknown procedure 99").await;
    assert_eq!(e.level, Level::INFO);
    let span = captured
        .calls("onc_rpc.call", "server")
        .into_iter()
        .find(|s| s["onc_rpc.procedure.number"] == "99")
        .expect("the refused call's span");
    assert_eq!(span["outcome"], "PROC_UNAVAIL");

    // Trailing bytes after the arguments: skipped, and reported.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut args = PtPoint { x: 1, y: 1 }.to_xdr().unwrap();
    args.extend_from_slice(&[7; 8]);
    s.write_all(&call_record(3, PROGRAM, 1, 1, &args))
        .await
        .unwrap();
    next_record(&mut s, &mut RecordReader::new(1 << 20))
        .await
        .expect("an answer");
    let e = captured
        .wait_for_event("bytes their type does not account for")
        .await;
    assert_eq!(e.fields["trailing_bytes"], "8");
}

#[tokio::test]
async fn a_client_read_failure_keeps_its_cause_and_is_reported() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    // A "server" that resets every connection once a call arrives.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0; 64];
            let _ = s.read(&mut buf).await;
            reset_on_close(&s);
            drop(s);
        }
    });

    let client = Client::connect(Endpoint::Tcp(addr), quick()).await.unwrap();
    let failed = client.call::<_, ()>(PROGRAM, 1, 0, &()).await;
    let Err(RpcError::Io(cause)) = &failed else {
        panic!("the read error itself, not ConnectionClosed: {failed:?}");
    };
    assert_eq!(cause.kind(), std::io::ErrorKind::ConnectionReset);
    // Later calls on the dead connection get the same cause.
    let again = client.call::<_, ()>(PROGRAM, 1, 0, &()).await;
    assert!(
        matches!(&again, Err(RpcError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{again:?}"
    );
    let e = captured.wait_for_event("ONC RPC client: reading").await;
    assert_eq!(e.level, Level::WARN);
    let span = captured.wait_for_calls("onc_rpc.call", "client", 1).await;
    assert_eq!(span[0]["outcome"], "RPC transport error");

    // The blocking client returns the io::Error too.
    let blocking = tokio::task::spawn_blocking(move || {
        let mut c = BlockingClient::connect(Endpoint::Tcp(addr), quick()).unwrap();
        c.call::<_, ()>(PROGRAM, 1, 0, &())
    })
    .await
    .unwrap();
    assert!(
        matches!(&blocking, Err(RpcError::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{blocking:?}"
    );

    // The libvirt client: a reset is an Io error with its cause.
    let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let failed = remote_program::Client(connection)
        .connect_get_lib_version()
        .await;
    assert!(
        matches!(&failed, Err(libvirt::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{failed:?}"
    );
    captured.wait_for_event("libvirt client: reading").await;
}

/// A libvirt "daemon" that answers the first call with `reply` (raw
/// bytes, written before anything else it sends).
async fn scripted_daemon(reply: impl Fn(&Header) -> Vec<u8> + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut reader = PacketReader::new(1 << 20);
        let mut buf = [0; 4096];
        loop {
            if let Some(packet) = reader.next_packet().unwrap() {
                s.write_all(&reply(&packet.header)).await.unwrap();
                // Keep the connection until the client goes.
                while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
                return;
            }
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                return;
            }
            reader.push(&buf[..n]);
        }
    });
    addr
}

#[tokio::test]
async fn a_libvirt_oversized_packet_is_a_packet_error() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let addr = scripted_daemon(|_| 0x7fff_ffffu32.to_be_bytes().to_vec()).await;
    let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let client = remote_program::Client(connection);
    let failed = client.connect_get_lib_version().await;
    assert!(
        matches!(
            &failed,
            Err(libvirt::Error::Packet(PacketError::BadLength {
                len: 0x7fff_ffff,
                ..
            }))
        ),
        "{failed:?}"
    );
    // The connection is closed; later calls say why.
    let again = client.connect_get_lib_version().await;
    assert!(
        matches!(&again, Err(libvirt::Error::Packet(_))),
        "{again:?}"
    );
    let e = captured.wait_for_event("bad framing").await;
    assert_eq!(e.fields["side"], "libvirt client");
    let span = captured.wait_for_calls("libvirt.call", "client", 1).await;
    assert_eq!(span[0]["outcome"], "bad packet from the daemon");
}

/// An "event" decoder that keeps the procedure number.
#[allow(clippy::unnecessary_wraps)] // the shape of an EventDecoder
fn procedure_only(
    procedure: i32,
    _: &[u8],
    _: &xdrgen_runtime::Limits,
) -> Result<Option<i32>, xdrgen_runtime::DecodeError> {
    Ok(Some(procedure))
}

#[tokio::test]
async fn lagged_events_are_counted_and_reported() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    // Ten events, then the reply: when the reply is in, so are the events.
    let addr = scripted_daemon(|call| {
        let mut out = Vec::new();
        for procedure in 1..=10 {
            let event = Header {
                procedure,
                kind: MessageType::Message,
                serial: 1,
                ..*call
            };
            out.extend(encode_packet(&event, &()).unwrap());
        }
        let reply = Header {
            kind: MessageType::Reply,
            status: Status::Ok,
            ..*call
        };
        out.extend(encode_packet(&reply, &()).unwrap());
        out
    })
    .await;
    let config = ConnectionConfig {
        event_backlog: 4,
        ..ConnectionConfig::default()
    };
    let connection = Connection::connect_tcp(addr, config).await.unwrap();
    let mut events = connection.subscribe_decoded(7, procedure_only);
    connection.call::<_, ()>(7, 1, 100, &()).await.unwrap();
    // The oldest six were overwritten: the receiver skips to the 7th.
    assert_eq!(events.recv().await.unwrap(), 7);
    assert_eq!(events.missed(), 6);
    let e = captured.wait_for_event("missed 6 events").await;
    assert_eq!(e.level, Level::WARN);
}

#[tokio::test]
async fn a_failed_tls_handshake_is_reported() {
    const TEST: &str = "a_failed_tls_handshake_is_reported";
    if !xdrgen_testenv::require_tools(TEST, &[("openssl", &["version"], "openssl")]) {
        return;
    }
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let dir = std::env::temp_dir().join(format!("xdrgen-observability-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(&dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "serverkey.pem",
            "-out",
            "servercert.pem",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tls = libvirt::tls::server_config(&dir, false).unwrap();
    let _ = std::fs::remove_dir_all(&dir);

    let config = libvirt::ServerConfig {
        partial_message_timeout: Some(Duration::from_secs(30)),
        ..libvirt::ServerConfig::default()
    };
    let server = libvirt::Server::builder(config)
        .service(remote_program::Dispatcher(Daemon::new()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tls(listener, tls).await });

    // Not TLS at all: the handshake fails, the connection is closed.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    let e = captured.wait_for_event("TLS handshake failed").await;
    assert_eq!(e.level, Level::WARN);
    assert!(e.fields["peer"].starts_with("127.0.0.1:"), "{e:?}");
}

#[tokio::test]
async fn libvirt_calls_to_unknown_programs_and_procedures_are_reported() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let (_server, addr) = libvirt_server().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let call = |program, procedure, serial| Header {
        program,
        version: remote_program::VERSION,
        procedure,
        kind: MessageType::Call,
        serial,
        status: Status::Ok,
    };
    let mut calls = encode_packet(&call(remote_program::PROGRAM, 99_999, 1), &()).unwrap();
    calls.extend(encode_packet(&call(0x1234, 1, 2), &()).unwrap());
    s.write_all(&calls).await.unwrap();
    // Both are answered with an error reply.
    let mut reader = PacketReader::new(1 << 20);
    let mut buf = [0; 4096];
    let mut replies = 0;
    while replies < 2 {
        match reader.next_packet().unwrap() {
            Some(packet) => {
                assert_eq!(packet.header.status, Status::Error);
                replies += 1;
            }
            None => {
                let n = tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf))
                    .await
                    .expect("replies within 30 s")
                    .unwrap();
                assert!(n > 0, "the server closed the connection");
                reader.push(&buf[..n]);
            }
        }
    }
    let e = captured.wait_for_event("unknown procedure 99999").await;
    assert_eq!(e.level, Level::INFO);
    assert_eq!(e.fields["side"], "libvirt server");
    captured.wait_for_event("unknown program 4660").await;
    let span = captured
        .calls("libvirt.call", "server")
        .into_iter()
        .find(|s| s["libvirt.procedure"] == "99999")
        .expect("the refused call's span");
    assert_eq!(span["libvirt.status"], "error");
    assert_eq!(span["libvirt.procedure.name"], "");
}
