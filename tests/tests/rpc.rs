//! The runtime's RPC server and clients against each other over loopback
//! TCP, UDP and Unix sockets, with peertest.x stubs: every procedure, many
//! calls in flight, timeouts, every error status, credentials, hostile
//! bytes on the wire, and graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket, UnixListener};
use tokio::task::JoinHandle;
use xdrgen_runtime::XdrEncode;
use xdrgen_runtime::rpc::{
    AcceptStat, AuthStat, AuthSys, BlockingClient, CallHeader, Client, ClientConfig, Endpoint,
    MessageHeader, OpaqueAuth, Peer, RejectStat, ReplyBody, ReplyHeader, RpcError, Server,
    ServerConfig,
};
use xdrgen_runtime::{DecodeError, Limits, XdrString};
use xdrgen_tests::fixture_program::echo_prog::echo_v1;
use xdrgen_tests::peertest::{self, PeerTest, PtColor, PtPoint, PtShape, PtShapeDefault, v1};

const PROGRAM: u32 = peertest::proto::peertest_prog::PROGRAM;

struct Running {
    server: Server,
    service: PeerTest,
    tcp: SocketAddr,
    udp: SocketAddr,
    unix: PathBuf,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
    _dir: TempDir,
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(config: ServerConfig) -> Running {
    let service = PeerTest::default();
    let server = Server::builder(config)
        .service(v1::Dispatcher(service.clone()))
        .build();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let dir = std::env::temp_dir().join(format!(
        "xdrgen-rpc-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let unix = dir.join("peertest.sock");
    let unix_listener = UnixListener::bind(&unix).unwrap();
    let (tcp_addr, udp_addr) = (tcp.local_addr().unwrap(), udp.local_addr().unwrap());
    let tasks = vec![
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_tcp(tcp).await }
        }),
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_udp(udp).await }
        }),
        tokio::spawn({
            let s = server.clone();
            async move { s.serve_unix(unix_listener).await }
        }),
    ];
    Running {
        server,
        service,
        tcp: tcp_addr,
        udp: udp_addr,
        unix,
        tasks,
        _dir: TempDir(dir),
    }
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn quick() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        retransmit: Duration::from_millis(200),
        ..ClientConfig::default()
    }
}

async fn check_every_procedure(c: &v1::Client) {
    c.pt_null().await.unwrap();
    assert_eq!(c.pt_add(&PtPoint { x: 40, y: 2 }).await.unwrap(), 42);
    let hello = XdrString::from("hello, peer");
    assert_eq!(c.pt_echo(&hello).await.unwrap(), hello);
    let item = peertest::sample_item();
    let bumped = c.pt_bump(&item).await.unwrap();
    assert_eq!(bumped, peertest::bump(item));
    assert_eq!(bumped.name, "HEAD");
    assert_eq!(bumped.next.as_ref().unwrap().id, u64::MAX);
    assert_eq!(
        c.pt_shape(&PtColor::PtRed).await.unwrap(),
        PtShape::PtRed(PtPoint { x: 3, y: 4 })
    );
    assert_eq!(
        c.pt_shape(&PtColor::PtGreen).await.unwrap(),
        PtShape::PtGreen(-(1 << 40))
    );
    assert_eq!(
        c.pt_shape(&PtColor::PtBlue).await.unwrap(),
        PtShape::Default(PtShapeDefault::new(PtColor::PtBlue).unwrap())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_procedure_over_tcp_udp_and_unix() {
    let r = start(ServerConfig::default()).await;
    let tcp = v1::Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();
    check_every_procedure(&tcp).await;
    let udp = v1::Client::connect(Endpoint::Udp(r.udp), quick())
        .await
        .unwrap();
    check_every_procedure(&udp).await;
    let unix = v1::Client::connect(Endpoint::Unix(r.unix.clone()), quick())
        .await
        .unwrap();
    check_every_procedure(&unix).await;
    // One NULL call per client. A UDP call whose reply is slower than the
    // retransmit interval is sent (and run) again under the same xid, so
    // calls are counted as distinct (peer, xid) pairs; TCP and Unix never
    // retransmit, so theirs ran exactly once.
    let distinct = r.service.seen.distinct_null_calls();
    assert_eq!(distinct.len(), 3, "{distinct:?}");
    let runs = r.service.seen.null_calls.lock().unwrap().clone();
    let count = |transport: fn(&Peer) -> bool| runs.iter().filter(|(p, _)| transport(p)).count();
    assert_eq!(count(|p| matches!(p, Peer::Tcp(_))), 1, "{runs:?}");
    assert_eq!(count(|p| matches!(p, Peer::Unix)), 1, "{runs:?}");
    assert!(count(|p| matches!(p, Peer::Udp(_))) >= 1, "{runs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_client_over_each_transport() {
    let r = start(ServerConfig::default()).await;
    let (tcp, udp, unix) = (r.tcp, r.udp, r.unix.clone());
    tokio::task::spawn_blocking(move || {
        let clients = [
            BlockingClient::connect(Endpoint::Tcp(tcp), quick()).unwrap(),
            BlockingClient::connect(Endpoint::Udp(udp), quick()).unwrap(),
            BlockingClient::connect(Endpoint::Unix(unix), quick()).unwrap(),
        ];
        for rpc in clients {
            let mut c = v1::BlockingClient(rpc);
            c.pt_null().unwrap();
            assert_eq!(c.pt_add(&PtPoint { x: 2, y: 3 }).unwrap(), 5);
            let item = peertest::sample_item();
            assert_eq!(c.pt_bump(&item).unwrap(), peertest::bump(item));
            assert_eq!(
                c.pt_shape(&PtColor::PtGreen).unwrap(),
                PtShape::PtGreen(-(1 << 40))
            );
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_calls_on_one_connection_complete_out_of_order() {
    const HELD: i32 = 100;
    let r = start(ServerConfig::default()).await;
    let held = &r.service.seen.held;
    // The first call waits for all 100 releases: time enough for a loaded
    // machine.
    let patient = ClientConfig {
        timeout: Duration::from_secs(60),
        ..quick()
    };
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), patient)
        .await
        .unwrap();
    // Every call waits at the server until the test releases it: all of
    // them execute at once.
    let calls: Vec<_> = (0..HELD)
        .map(|key| {
            let c = c.clone();
            tokio::spawn(async move { c.pt_add(&PtPoint { x: -3, y: key }).await })
        })
        .collect();
    held.wait_until("100 calls of one connection executing at once", |h| {
        h.waiting.len() == 100
    })
    .await;
    // Calls made later are answered meanwhile.
    for i in 0..20 {
        assert_eq!(c.pt_add(&PtPoint { x: i, y: i }).await.unwrap(), 2 * i);
    }
    // Released last first: each reply arrives while every call made
    // before it is still waiting at the server.
    for (key, call) in (0..HELD).zip(calls).rev() {
        held.release(key);
        assert_eq!(call.await.unwrap().unwrap(), key);
        let still_waiting: Vec<i32> = held.now().waiting.into_iter().collect();
        assert_eq!(still_waiting, (0..key).collect::<Vec<_>>());
    }
    // The server let its reply channel go with the last waiting call; a
    // call that waits again gets its reply through a new one.
    let again = tokio::spawn({
        let c = c.clone();
        async move { c.pt_add(&PtPoint { x: -3, y: HELD }).await }
    });
    held.wait_until("a held call after the others", |h| h.waiting.len() == 1)
        .await;
    held.release(HELD);
    assert_eq!(again.await.unwrap().unwrap(), HELD);
    assert_eq!(held.now().peak, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bounded_concurrency_still_completes_every_call() {
    let config = ServerConfig {
        max_in_flight: 2,
        max_concurrency: 3,
        ..ServerConfig::default()
    };
    let r = start(config).await;
    let held = &r.service.seen.held;
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();
    let other = v1::Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();
    let calls: Vec<_> = (0..8)
        .map(|key| {
            let c = c.clone();
            tokio::spawn(async move { c.pt_add(&PtPoint { x: -3, y: key }).await })
        })
        .collect();
    held.wait_until("two calls of the bounded connection executing", |h| {
        h.waiting.len() == 2
    })
    .await;
    // Another connection is served meanwhile: its call is answered while
    // the first connection's two calls are still held at the server.
    assert_eq!(other.pt_add(&PtPoint { x: 1, y: 1 }).await.unwrap(), 2);
    let now = held.now();
    assert_eq!(now.waiting.len(), 2, "{now:?}");
    assert!(now.released.is_empty(), "{now:?}");
    for key in 0..8 {
        held.release(key);
    }
    for (key, call) in (0..8).zip(calls) {
        assert_eq!(call.await.unwrap().unwrap(), key);
    }
    // Never more than max_in_flight of the connection's calls at once.
    assert_eq!(held.now().peak, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_times_out_and_the_connection_goes_on() {
    let r = start(ServerConfig::default()).await;
    // The timeout is also the budget of the call after it: long enough
    // for a loaded machine, and far shorter than the slow call.
    let config = ClientConfig {
        timeout: Duration::from_secs(2),
        ..quick()
    };
    for rpc in [
        Client::connect(Endpoint::Tcp(r.tcp), config.clone())
            .await
            .unwrap(),
        Client::connect(Endpoint::Udp(r.udp), config.clone())
            .await
            .unwrap(),
    ] {
        let c = v1::Client(rpc);
        let slow = c.pt_add(&PtPoint { x: -1, y: 60_000 }).await;
        assert!(matches!(slow, Err(RpcError::Timeout)), "{slow:?}");
        assert_eq!(c.pt_add(&PtPoint { x: 1, y: 2 }).await.unwrap(), 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_status_and_the_connection_keeps_serving() {
    let r = start(ServerConfig::default()).await;
    let rpc = Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();
    let c = v1::Client(rpc.clone());
    let point = PtPoint { x: 1, y: 2 };
    let unknown_program = rpc.call::<_, ()>(PROGRAM + 1, 1, 0, &()).await;
    assert!(matches!(unknown_program, Err(RpcError::ProgUnavail)));
    assert_eq!(c.pt_add(&point).await.unwrap(), 3);
    let wrong_version = rpc.call::<_, ()>(PROGRAM, 9, 0, &()).await;
    assert!(matches!(
        wrong_version,
        Err(RpcError::ProgMismatch { low: 1, high: 1 })
    ));
    assert_eq!(c.pt_add(&point).await.unwrap(), 3);
    let unknown_procedure = rpc.call::<_, ()>(PROGRAM, 1, 99, &()).await;
    assert!(matches!(unknown_procedure, Err(RpcError::ProcUnavail)));
    assert_eq!(c.pt_add(&point).await.unwrap(), 3);
    // PT_ADD with half a point, and with a word too many (skipped, as
    // rpcgen's `svc_getargs` skips it).
    let short = rpc.call::<_, i32>(PROGRAM, 1, 1, &7i32).await;
    assert!(matches!(short, Err(RpcError::GarbageArgs)), "{short:?}");
    let long = rpc.call::<_, i32>(PROGRAM, 1, 1, &(1i32, 2i32, 3i32)).await;
    assert_eq!(long.unwrap(), 3);
    assert_eq!(c.pt_add(&point).await.unwrap(), 3);
    // A procedure that panics answers SYSTEM_ERR.
    let panicked = c.pt_add(&PtPoint { x: -2, y: 0 }).await;
    assert!(matches!(panicked, Err(RpcError::SystemErr)), "{panicked:?}");
    assert_eq!(c.pt_add(&point).await.unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_auth_sys_and_refuses_bad_credentials() {
    let r = start(ServerConfig::default()).await;
    let sys = AuthSys {
        stamp: 1,
        machine_name: "testhost".into(),
        uid: 4242,
        gid: 100,
        gids: vec![4, 24],
    };
    let config = ClientConfig {
        credential: OpaqueAuth::sys(&sys).unwrap(),
        ..quick()
    };
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), config)
        .await
        .unwrap();
    c.pt_null().await.unwrap();
    assert_eq!(r.service.seen.last_uid.load(Ordering::Relaxed), 4242);

    let garbled = ClientConfig {
        credential: OpaqueAuth {
            flavor: 1,
            body: vec![0, 0, 0, 1],
        },
        ..quick()
    };
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), garbled)
        .await
        .unwrap();
    let refused = c.pt_null().await;
    assert!(matches!(refused, Err(RpcError::Auth(AuthStat::BadCred))));
    let unknown = ClientConfig {
        credential: OpaqueAuth {
            flavor: 99,
            body: Vec::new(),
        },
        ..quick()
    };
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), unknown)
        .await
        .unwrap();
    let refused = c.pt_null().await;
    assert!(matches!(
        refused,
        Err(RpcError::Auth(AuthStat::RejectedCred))
    ));
}

/// A framed call message.
fn call_record(xid: u32, rpc_version: u32, procedure: u32, args: &[u8]) -> Vec<u8> {
    let mut header = CallHeader::new(xid, PROGRAM, 1, procedure);
    header.rpc_version = rpc_version;
    let mut body = header.to_xdr().unwrap();
    body.extend_from_slice(args);
    let mut out = Vec::new();
    xdrgen_runtime::rpc::record::write_record(&body, 1 << 20, &mut out);
    out
}

/// Reads one reply record; `None` when the server closed the connection.
/// Records after it stay in `reader`.
async fn read_reply(
    stream: &mut TcpStream,
    reader: &mut xdrgen_runtime::rpc::record::RecordReader,
) -> Option<(ReplyHeader, Vec<u8>)> {
    let mut buf = [0; 4096];
    loop {
        if let Some(record) = reader.next_record().unwrap() {
            let (header, rest) = MessageHeader::decode_from(&record, &Limits::default()).unwrap();
            let MessageHeader::Reply(reply) = header else {
                panic!("not a reply")
            };
            return Some((reply, rest.to_vec()));
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("no reply within 10 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        reader.push(&buf[..n]);
    }
}

fn add_args(x: i32, y: i32) -> Vec<u8> {
    PtPoint { x, y }.to_xdr().unwrap()
}

fn success(reply: &ReplyHeader) -> bool {
    matches!(
        reply.body,
        ReplyBody::Accepted {
            status: AcceptStat::Success,
            ..
        }
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_streams_close_only_their_own_connection() {
    let config = ServerConfig {
        max_record: 64 * 1024,
        ..ServerConfig::default()
    };
    let r = start(config).await;
    let bystander = v1::Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();

    // A record mark over the limit: closed as soon as the header arrives.
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    s.write_all(&(0x8000_0000u32 | (1 << 20)).to_be_bytes())
        .await
        .unwrap();
    let mut reader = xdrgen_runtime::rpc::record::RecordReader::new(1 << 20);
    assert!(read_reply(&mut s, &mut reader).await.is_none());
    assert_eq!(bystander.pt_add(&PtPoint { x: 1, y: 1 }).await.unwrap(), 2);

    // Half a record, then the client goes away.
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    let call = call_record(1, 2, 1, &add_args(1, 2));
    s.write_all(&call[..call.len() / 2]).await.unwrap();
    drop(s);
    assert_eq!(bystander.pt_add(&PtPoint { x: 2, y: 2 }).await.unwrap(), 4);

    // A valid call, then garbage records, then another valid call: both
    // calls are answered; the garbage is dropped or refused.
    let mut s = TcpStream::connect(r.tcp).await.unwrap();
    let mut burst = call_record(10, 2, 1, &add_args(5, 6));
    xdrgen_runtime::rpc::record::write_record(
        &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 7],
        64,
        &mut burst,
    );
    xdrgen_runtime::rpc::record::write_record(&[1, 2, 3], 64, &mut burst);
    // A call whose arguments have trailing bytes: answered, the bytes
    // skipped (as rpcgen's `svc_getargs` skips them).
    let mut trailing = add_args(1, 1);
    trailing.extend_from_slice(&[9; 12]);
    burst.extend_from_slice(&call_record(11, 2, 1, &trailing));
    // RPC version 3: RPC_MISMATCH.
    burst.extend_from_slice(&call_record(12, 3, 1, &add_args(1, 1)));
    burst.extend_from_slice(&call_record(13, 2, 1, &add_args(7, 8)));
    s.write_all(&burst).await.unwrap();
    let mut replies = std::collections::HashMap::new();
    let mut reader = xdrgen_runtime::rpc::record::RecordReader::new(1 << 20);
    for _ in 0..4 {
        let (reply, results) = read_reply(&mut s, &mut reader).await.expect("a reply");
        replies.insert(reply.xid, (reply, results));
    }
    let (reply, results) = &replies[&10];
    assert!(success(reply));
    assert_eq!(results.as_slice(), 11i32.to_xdr().unwrap());
    let (reply, results) = &replies[&11];
    assert!(success(reply));
    assert_eq!(results.as_slice(), 2i32.to_xdr().unwrap());
    assert_eq!(
        replies[&12].0.body,
        ReplyBody::Denied(RejectStat::RpcMismatch { low: 2, high: 2 })
    );
    let (reply, results) = &replies[&13];
    assert!(success(reply));
    assert_eq!(results.as_slice(), 15i32.to_xdr().unwrap());
    assert_eq!(bystander.pt_add(&PtPoint { x: 3, y: 3 }).await.unwrap(), 6);

    // Garbage datagrams get no answer; the UDP service goes on.
    let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    u.send_to(&[1, 2, 3], r.udp).await.unwrap();
    u.send_to(&[0; 7000], r.udp).await.unwrap();
    let udp = v1::Client::connect(Endpoint::Udp(r.udp), quick())
        .await
        .unwrap();
    assert_eq!(udp.pt_add(&PtPoint { x: 4, y: 4 }).await.unwrap(), 8);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_calls_in_progress() {
    let mut r = start(ServerConfig::default()).await;
    let c = v1::Client::connect(Endpoint::Tcp(r.tcp), quick())
        .await
        .unwrap();
    let held = &r.service.seen.held;
    let slow = tokio::spawn({
        let c = c.clone();
        async move { c.pt_add(&PtPoint { x: -3, y: 300 }).await }
    });
    held.wait_until("the slow call executing", |h| h.waiting.contains(&300))
        .await;
    r.server.shutdown();
    // Released only after shutdown began: it still finishes and is answered.
    held.release(300);
    assert_eq!(slow.await.unwrap().unwrap(), 300);
    for task in r.tasks.drain(..) {
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("serve_* returns after shutdown")
            .unwrap()
            .unwrap();
    }
    // The connection is gone, and so is the listener.
    let after = c.pt_null().await;
    assert!(
        matches!(after, Err(RpcError::ConnectionClosed)),
        "{after:?}"
    );
    assert!(TcpStream::connect(r.tcp).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_closes_fails_calls_cleanly() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            // Read the call, then hang up without answering.
            let mut buf = [0; 64];
            let _ = s.read(&mut buf).await;
        }
    });
    let c = v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let result = c.pt_null().await;
    assert!(
        matches!(result, Err(RpcError::ConnectionClosed)),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let again = c.pt_null().await;
    assert!(matches!(again, Err(RpcError::ConnectionClosed)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_calls_are_retransmitted() {
    // A server that ignores the first copy of every call.
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0; 1024];
        let mut seen = std::collections::HashSet::new();
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let (header, _) = MessageHeader::decode_from(&buf[..n], &Limits::default()).unwrap();
            if seen.insert(header.xid()) {
                continue;
            }
            let mut reply = ReplyHeader::accepted(header.xid(), AcceptStat::Success)
                .to_xdr()
                .unwrap();
            reply.extend_from_slice(&99i32.to_xdr().unwrap());
            socket.send_to(&reply, from).await.unwrap();
        }
    });
    let config = ClientConfig {
        retransmit: Duration::from_millis(100),
        ..quick()
    };
    let c = v1::Client::connect(Endpoint::Udp(addr), config)
        .await
        .unwrap();
    assert_eq!(c.pt_add(&PtPoint { x: 0, y: 0 }).await.unwrap(), 99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strict_server_refuses_arguments_with_trailing_bytes() {
    let strict = ServerConfig {
        limits: Limits::default().strict(),
        ..ServerConfig::default()
    };
    let r = start(strict).await;
    for endpoint in [Endpoint::Tcp(r.tcp), Endpoint::Udp(r.udp)] {
        let rpc = Client::connect(endpoint, quick()).await.unwrap();
        let long = rpc.call::<_, i32>(PROGRAM, 1, 1, &(1i32, 2i32, 3i32)).await;
        assert!(matches!(long, Err(RpcError::GarbageArgs)), "{long:?}");
        let exact = rpc.call::<_, i32>(PROGRAM, 1, 1, &(1i32, 2i32)).await;
        assert_eq!(exact.unwrap(), 3);
    }
}

/// A UDP server answering every call with PT_ADD's result, 42, followed
/// by 8 bytes no procedure accounts for (as stock `rpc.rstatd` does).
async fn server_with_trailing_bytes() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = [0; 1024];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let (header, _) = MessageHeader::decode_from(&buf[..n], &Limits::default()).unwrap();
            let mut reply = ReplyHeader::accepted(header.xid(), AcceptStat::Success)
                .to_xdr()
                .unwrap();
            reply.extend_from_slice(&42i32.to_xdr().unwrap());
            reply.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9]);
            socket.send_to(&reply, from).await.unwrap();
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_with_trailing_bytes_decode_unless_strict() {
    let addr = server_with_trailing_bytes().await;
    let point = PtPoint { x: 40, y: 2 };
    let lenient = v1::Client::connect(Endpoint::Udp(addr), quick())
        .await
        .unwrap();
    assert_eq!(lenient.pt_add(&point).await.unwrap(), 42);

    let strict_config = ClientConfig {
        limits: Limits::default().strict(),
        ..quick()
    };
    let strict = v1::Client::connect(Endpoint::Udp(addr), strict_config.clone())
        .await
        .unwrap();
    let refused = strict.pt_add(&point).await;
    assert!(
        matches!(
            refused,
            Err(RpcError::Decode(DecodeError::TrailingBytes {
                count: 8,
                ..
            }))
        ),
        "{refused:?}"
    );

    // The blocking client: the same, and the skipped bytes are reported.
    let reported = tokio::task::spawn_blocking(move || {
        let mut strict = v1::BlockingClient::connect(Endpoint::Udp(addr), strict_config).unwrap();
        assert!(matches!(
            strict.pt_add(&point),
            Err(RpcError::Decode(DecodeError::TrailingBytes {
                count: 8,
                ..
            }))
        ));
        let events = TrailingBytesEvents::default();
        let counts = std::sync::Arc::clone(&events.0);
        crate::capture::keep_callsites_open();
        tracing::subscriber::with_default(events, || {
            let mut lenient = v1::BlockingClient::connect(Endpoint::Udp(addr), quick()).unwrap();
            assert_eq!(lenient.pt_add(&point).unwrap(), 42);
        });
        counts.lock().unwrap().clone()
    })
    .await
    .unwrap();
    assert_eq!(reported, [8]);
}

/// A `tracing` subscriber that keeps the `trailing_bytes` field of every
/// event.
#[derive(Default)]
struct TrailingBytesEvents(std::sync::Arc<std::sync::Mutex<Vec<u64>>>);

impl tracing::Subscriber for TrailingBytesEvents {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        struct Field<'a>(&'a std::sync::Mutex<Vec<u64>>);
        impl tracing::field::Visit for Field<'_> {
            fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
                if field.name() == "trailing_bytes" {
                    self.0.lock().unwrap().push(value);
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        event.record(&mut Field(&self.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// ECHO_PROG declares no procedure 0; its server answers NULL anyway.
struct Echo;

impl echo_v1::Service for Echo {
    async fn echo(
        &self,
        _: &xdrgen_runtime::rpc::CallContext,
        text: XdrString,
    ) -> Result<XdrString, xdrgen_runtime::rpc::Fault> {
        Ok(text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_is_answered_even_when_the_x_file_does_not_declare_it() {
    assert!(echo_v1::Procedure::try_from(0).is_err());
    let server = Server::builder(ServerConfig::default())
        .service(echo_v1::Dispatcher(Echo))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn({
        let server = server.clone();
        async move { server.serve_tcp(listener).await }
    });
    let c = echo_v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    let program = xdrgen_tests::fixture_program::echo_prog::PROGRAM;
    c.0.call::<_, ()>(program, 1, 0, &()).await.unwrap();
    let hi = XdrString::from("hi");
    assert_eq!(c.echo(&hi).await.unwrap(), hi);
    // Other undeclared procedures are still PROC_UNAVAIL.
    let missing = c.0.call::<_, ()>(program, 1, 2, &()).await;
    assert!(matches!(missing, Err(RpcError::ProcUnavail)), "{missing:?}");
    server.shutdown();
}
