//! The runtime's libvirt server and client against each other and against
//! stock `virsh`: the example daemon (examples/libvirt-daemon, on the
//! generated `Service` trait) answers virsh's `list`, `dominfo`, `dumpxml`,
//! `start`, `destroy` and `event --all`; bad input to either side is a
//! clear error that leaves other calls alone.

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::{self as prog, Client, Dispatcher};
use example_libvirt_daemon::remote::{
    RemoteConnectListAllDomainsArgs, RemoteDomainLookupByNameArgs,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xdrgen_runtime::libvirt::{
    Connection, ConnectionConfig, Error, Header, MessageType, PacketError, PacketReader, Server,
    ServerConfig, Status, encode_packet,
};
use xdrgen_tests::libvirt;

async fn serve() -> (Server, SocketAddr) {
    libvirt::serve_example(Daemon::new()).await
}

async fn client(addr: SocketAddr) -> (Connection, Client) {
    let c = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    (c.clone(), Client(c))
}

async fn virsh(addr: SocketAddr, args: &[&str]) -> (bool, String) {
    let uri = format!("test+tcp://{addr}/default");
    libvirt::output(libvirt::virsh_command(&uri, 30, args)).await
}

/// `virsh event --all --loop` against the daemon at `addr`, its output
/// read line by line as it prints; killed (by its pid) when dropped.
struct EventWatcher {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl EventWatcher {
    fn start(addr: SocketAddr) -> EventWatcher {
        use std::io::BufRead;
        // virsh's own timeout only ends a watcher left behind.
        let mut child = Command::new("virsh")
            .arg("-c")
            .arg(format!("test+tcp://{addr}/default"))
            .args(["event", "--all", "--loop", "--timeout", "120"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("virsh starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        // virsh flushes each event line as it prints it.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        EventWatcher {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits until virsh has printed `line` (at most 30 s).
    async fn wait_for_line(&mut self, line: &str) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !self.seen.iter().any(|l| l == line) {
            let Ok(next) = tokio::time::timeout_at(deadline, self.lines.recv()).await else {
                panic!(
                    "virsh event did not print {line:?} in 30 s: {:?}",
                    self.seen
                );
            };
            let Some(next) = next else {
                panic!("virsh event ended before {line:?}: {:?}", self.seen);
            };
            self.seen.push(next);
        }
    }
}

impl Drop for EventWatcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_virsh_drives_the_example_daemon() {
    if !libvirt::virsh_available("libvirt::stock_virsh_drives_the_example_daemon") {
        return;
    }
    let daemon = Daemon::new();
    let mut lifecycle_callbacks = daemon.lifecycle_callbacks();
    let (_server, addr) = libvirt::serve_example(daemon).await;

    let (ok, list) = virsh(addr, &["list", "--all"]).await;
    assert!(ok, "{list}");
    assert!(list.contains(" 1    demo-running   running"), "{list}");
    assert!(list.contains(" -    demo-off       shut off"), "{list}");

    let (ok, info) = virsh(addr, &["dominfo", "demo-running"]).await;
    assert!(ok, "{info}");
    assert!(info.contains("State:          running"), "{info}");
    assert!(info.contains("Max memory:     524288 KiB"), "{info}");

    let (ok, xml) = virsh(addr, &["dumpxml", "demo-off"]).await;
    assert!(ok && xml.contains("<name>demo-off</name>"), "{xml}");

    // `virsh event --all` watches while another virsh starts and destroys:
    // once the daemon has its lifecycle callback, events reach it.
    let mut watcher = EventWatcher::start(addr);
    tokio::time::timeout(
        Duration::from_secs(30),
        lifecycle_callbacks.wait_for(|&n| n > 0),
    )
    .await
    .expect("virsh event registers a lifecycle callback within 30 s")
    .unwrap();
    let (ok, out) = virsh(addr, &["start", "demo-off"]).await;
    assert!(ok && out.contains("Domain 'demo-off' started"), "{out}");
    let (_, list) = virsh(addr, &["list"]).await;
    assert!(list.contains("demo-off       running"), "{list}");
    let (ok, out) = virsh(addr, &["destroy", "demo-off"]).await;
    assert!(ok && out.contains("Domain 'demo-off' destroyed"), "{out}");
    watcher
        .wait_for_line("event 'lifecycle' for domain 'demo-off': Started Booted")
        .await;
    watcher
        .wait_for_line("event 'lifecycle' for domain 'demo-off': Stopped Destroyed")
        .await;
    assert_eq!(watcher.seen.len(), 2, "{:?}", watcher.seen);
    drop(watcher);
    // The watcher's callbacks go with its connection.
    tokio::time::timeout(
        Duration::from_secs(30),
        lifecycle_callbacks.wait_for(|&n| n == 0),
    )
    .await
    .expect("the killed watcher's callbacks are dropped within 30 s")
    .unwrap();

    // A stream from the daemon: `virsh screenshot` saves the image.
    let file = std::env::temp_dir().join(format!("xdrgen-daemon-shot-{}.ppm", std::process::id()));
    let path = file.to_str().unwrap().to_string();
    let (ok, out) = virsh(addr, &["screenshot", "demo-running", &path]).await;
    assert!(ok, "{out}");
    let saved = std::fs::read(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert_eq!(
        saved,
        example_libvirt_daemon::screenshot(b"xdrgen-demo-0001")
    );

    // A procedure the daemon does not implement: virsh prints the error.
    let (ok, out) = virsh(addr, &["nodeinfo"]).await;
    assert!(!ok);
    assert!(
        out.contains(
            "this function is not supported by the connection driver: REMOTE_PROC_NODE_GET_INFO"
        ),
        "{out}"
    );
}

fn call_header(program: u32, procedure: i32, serial: u32) -> Header {
    Header {
        program,
        version: 1,
        procedure,
        kind: MessageType::Call,
        serial,
        status: Status::Ok,
    }
}

/// Reads one packet's header and body; packets after it stay in `reader`.
async fn read_packet(
    s: &mut TcpStream,
    reader: &mut xdrgen_runtime::libvirt::PacketReader,
) -> Option<(Header, Vec<u8>)> {
    let mut buf = [0; 4096];
    loop {
        if let Some(p) = reader.next_packet().unwrap() {
            return Some((p.header, p.body));
        }
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf))
            .await
            .expect("an answer within 10 s")
            .ok()?;
        if n == 0 {
            return None;
        }
        reader.push(&buf[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_survives_bad_input() {
    let (_server, addr) = serve().await;
    let (_, bystander) = client(addr).await;
    let list = RemoteConnectListAllDomainsArgs {
        need_results: 1,
        flags: 0,
    };
    assert_eq!(
        bystander.connect_list_all_domains(&list).await.unwrap().ret,
        2
    );

    // A length word over libvirt's limit: that connection is closed.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&0x7fff_ffffu32.to_be_bytes()).await.unwrap();
    let mut reader = PacketReader::new(1 << 20);
    assert!(read_packet(&mut s, &mut reader).await.is_none());

    // An unknown type is skipped, an unknown program answered with an
    // error, a stray stream packet ignored; the connection goes on.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut burst = encode_packet(&call_header(prog::PROGRAM, 157, 1), &()).unwrap();
    burst[16..20].copy_from_slice(&9u32.to_be_bytes());
    burst.extend(encode_packet(&call_header(0x1234_5678, 1, 2), &()).unwrap());
    let stray = Header {
        kind: MessageType::Stream,
        status: Status::Continue,
        ..call_header(prog::PROGRAM, 211, 77)
    };
    burst.extend(encode_packet(&stray, &7u32).unwrap());
    burst.extend(encode_packet(&call_header(prog::PROGRAM, 157, 3), &()).unwrap());
    burst.extend(encode_packet(&call_header(prog::PROGRAM, 99_999, 4), &()).unwrap());
    s.write_all(&burst).await.unwrap();
    let mut answers = Vec::new();
    let mut reader = PacketReader::new(1 << 20);
    for _ in 0..3 {
        let (h, body) = read_packet(&mut s, &mut reader).await.expect("an answer");
        answers.push((h.serial, h.status, body));
    }
    answers.sort_by_key(|a| a.0);
    assert_eq!(answers[0].0, 2);
    assert_eq!(answers[0].1, Status::Error);
    assert_eq!((answers[1].0, answers[1].1), (3, Status::Ok));
    assert_eq!(answers[1].2, 9_000_000u64.to_be_bytes());
    assert_eq!((answers[2].0, answers[2].1), (4, Status::Error));
    assert_eq!(
        bystander.connect_list_all_domains(&list).await.unwrap().ret,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_survives_a_misbehaving_daemon() {
    // A "daemon" that answers each call with junk first, then the reply.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut reader = PacketReader::new(1 << 20);
        loop {
            let Some((call, _)) = read_packet(&mut s, &mut reader).await else {
                return;
            };
            let reply = |serial, kind| Header {
                kind,
                serial,
                ..call
            };
            let mut out =
                encode_packet(&reply(call.serial + 1000, MessageType::Reply), &()).unwrap();
            let mut unknown = encode_packet(&reply(call.serial, MessageType::Reply), &()).unwrap();
            unknown[16..20].copy_from_slice(&42u32.to_be_bytes());
            out.extend(unknown);
            out.extend(encode_packet(&reply(555, MessageType::Stream), &1u32).unwrap());
            if call.procedure == 1 {
                // CONNECT_OPEN is answered with a length word over the limit.
                out.extend(0x7fff_ffffu32.to_be_bytes());
                s.write_all(&out).await.unwrap();
                return;
            }
            out.extend(
                encode_packet(&reply(call.serial, MessageType::Reply), &9_000_000u64).unwrap(),
            );
            s.write_all(&out).await.unwrap();
        }
    });
    let (connection, client) = client(addr).await;
    assert_eq!(
        client.connect_get_lib_version().await.unwrap().lib_ver,
        9_000_000
    );
    assert_eq!(connection.unexpected_packets(), 3);
    assert_eq!(
        client.connect_get_lib_version().await.unwrap().lib_ver,
        9_000_000
    );
    assert_eq!(connection.unexpected_packets(), 6);
    // Procedure 1 breaks the framing: a packet error (the length word),
    // then the connection is closed and later calls get the same cause.
    let open = client
        .connect_open(&example_libvirt_daemon::remote::RemoteConnectOpenArgs {
            name: None,
            flags: 0,
        })
        .await;
    assert!(
        matches!(
            open,
            Err(Error::Packet(PacketError::BadLength {
                len: 0x7fff_ffff,
                ..
            }))
        ),
        "{open:?}"
    );
    let after = client
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs { name: "x".into() })
        .await;
    assert!(matches!(after, Err(Error::Packet(_))), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_stream_is_chunked_finished_and_confirmed() {
    // A daemon that accepts an upload: it replies to the call, collects
    // CONTINUE packets, and confirms the client's finish.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let daemon = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut reader = PacketReader::new(1 << 20);
        let (call, _) = read_packet(&mut s, &mut reader).await.unwrap();
        let reply = Header {
            kind: MessageType::Reply,
            ..call
        };
        s.write_all(&encode_packet(&reply, &()).unwrap())
            .await
            .unwrap();
        let mut sizes = Vec::new();
        loop {
            let (h, body) = read_packet(&mut s, &mut reader).await.unwrap();
            assert_eq!(
                (h.kind, h.serial, h.procedure),
                (MessageType::Stream, call.serial, 208)
            );
            match h.status {
                Status::Continue => sizes.push(body.len()),
                Status::Ok => break,
                Status::Error => panic!("aborted"),
            }
        }
        let confirm = Header {
            kind: MessageType::Stream,
            status: Status::Ok,
            ..call
        };
        s.write_all(&encode_packet(&confirm, &()).unwrap())
            .await
            .unwrap();
        sizes
    });
    let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let ((), stream): ((), _) = connection
        .call_with_stream(prog::PROGRAM, prog::VERSION, 208, &())
        .await
        .unwrap();
    stream.send(&vec![7u8; 600_000]).await.unwrap();
    stream.finish().await.unwrap();
    // libvirt's own chunking: at most 262,120 bytes of data per packet.
    assert_eq!(daemon.await.unwrap(), [262_120, 262_120, 75_760]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_gives_up_on_a_silent_daemon_and_not_on_a_live_one() {
    // A daemon that accepts and then never says anything.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = listener.local_addr().unwrap();
    // It counts the PINGs until the client hangs up, so the count is
    // final when the task ends.
    let silent_daemon = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut reader = PacketReader::new(1 << 20);
        let mut pings = 0;
        while let Some((h, _)) = read_packet(&mut s, &mut reader).await {
            if h.procedure == 1 && h.kind == MessageType::Message {
                pings += 1;
            }
        }
        pings
    });
    let config = ConnectionConfig {
        timeout: Duration::from_secs(30),
        ..ConnectionConfig::default()
    };
    let silent = Connection::connect_tcp(silent_addr, config.clone())
        .await
        .unwrap();
    silent.start_keepalive(Duration::from_millis(100), 3);
    let started = std::time::Instant::now();
    let call: Result<u64, Error> = silent.call(prog::PROGRAM, prog::VERSION, 157, &()).await;
    assert!(matches!(call, Err(Error::Closed)), "{call:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Giving up closed the socket: the daemon sees the end of the stream.
    drop(silent);
    let pings = tokio::time::timeout(Duration::from_secs(10), silent_daemon)
        .await
        .expect("the client hangs up")
        .unwrap();
    assert_eq!(pings, 3);

    // Our server answers pings: the connection outlives what a silent
    // daemon lasts (four intervals) and is still up after three PONGs.
    // The interval leaves room for a loaded machine: a PONG late by a
    // whole interval would make the client ping again, or give up.
    let (_server, addr) = serve().await;
    let (live, client) = client(addr).await;
    let interval = Duration::from_millis(250);
    live.start_keepalive(interval, 3);
    let idle = std::time::Instant::now();
    while live.pongs_received() < 3 || idle.elapsed() < 6 * interval {
        assert!(
            idle.elapsed() < Duration::from_secs(10),
            "{} PINGs, {} PONGs in 10 s",
            live.pings_sent(),
            live.pongs_received()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client.connect_get_lib_version().await.unwrap().lib_ver,
        9_000_000
    );
}

/// A service that stores what a client uploads (STORAGE_VOL_UPLOAD).
#[derive(Clone, Default)]
struct Uploads(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl prog::Service for Uploads {
    async fn storage_vol_upload(
        &self,
        cx: &xdrgen_runtime::libvirt::Context,
        _args: example_libvirt_daemon::remote::RemoteStorageVolUploadArgs,
    ) -> Result<(), xdrgen_runtime::libvirt::RemoteError> {
        let mut stream = cx.open_stream();
        let store = self.0.clone();
        tokio::spawn(async move {
            let mut data = Vec::new();
            while let Ok(Some(piece)) = stream.recv().await {
                data.extend_from_slice(&piece);
            }
            store.lock().unwrap().push(data);
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_in_both_directions_between_our_client_and_server() {
    // Read: the example daemon's screenshot.
    let (_server, addr) = serve().await;
    let (_, c) = client(addr).await;
    let dom = c
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
            name: "demo-running".into(),
        })
        .await
        .unwrap()
        .dom;
    let (ret, mut stream) = c
        .domain_screenshot(
            &example_libvirt_daemon::remote::RemoteDomainScreenshotArgs {
                dom,
                screen: 0,
                flags: 0,
            },
        )
        .await
        .unwrap();
    assert!(ret.mime.is_some());
    let image = stream.read_to_end().await.unwrap();
    stream.finish().await.unwrap();
    assert_eq!(
        image,
        example_libvirt_daemon::screenshot(b"xdrgen-demo-0001")
    );

    // Write: an upload arrives whole, in order.
    let uploads = Uploads::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(uploads.clone()))
        .build();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    let (_, c) = client(addr).await;
    let args = example_libvirt_daemon::remote::RemoteStorageVolUploadArgs {
        vol: example_libvirt_daemon::remote::RemoteNonnullStorageVol {
            pool: "default".into(),
            name: "disk".into(),
            key: "disk".into(),
        },
        offset: 0,
        length: 0,
        flags: 0,
    };
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 251) as u8).collect();
    let ((), stream) = c.storage_vol_upload(&args).await.unwrap();
    stream.send(&data).await.unwrap();
    stream.finish().await.unwrap();
    // The server confirms the finish before its task stores the data.
    let mut stored = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        stored = uploads.0.lock().unwrap().clone();
        if !stored.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stored, [data]);
}
