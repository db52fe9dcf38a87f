//! Real traffic for the fuzz targets' seeds: our MOUNT v3 and NFSv3 clients
//! against NFS-Ganesha, and our libvirt client against the example daemon
//! and against the real libvirtd, each connection tapped in both
//! directions. The test checks what it taps (every call and reply stream
//! splits into records or packets that decode as headers of the right
//! kind), and with `XDRGEN_RECORD_FUZZ_SEEDS=DIR` it writes the seeds under
//! `DIR/<target>/`:
//!
//! - `record_reader`, `libvirt_packet`: whole streams, each direction, after
//!   the target's choice byte (largest limit);
//! - `rpc_headers`: every record; `libvirt_header`: every packet without
//!   its length word;
//! - `generated_decoders`: NFSv3 and REMOTE arguments and results after
//!   their type's selector;
//! - `rpc_server_dispatch`, `libvirt_server_dispatch`: each client's
//!   stream.
//!
//! The peers are the ones `../shared/peers/{ganesha,libvirt}/start.sh`
//! start (ganesha's MOUNT on 20048, NFS on 2049; libvirtd on 16509); a
//! missing one is skipped loudly, or fails under `XDRGEN_REQUIRE_PEERS=1`.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::{
    Client as RemoteClient, Dispatcher, PROCEDURES,
};
use example_libvirt_daemon::remote::{
    RemoteConnectDomainEventCallbackRegisterAnyArgs, RemoteConnectListAllDomainsArgs,
    RemoteConnectOpenArgs, RemoteConnectSupportsFeatureArgs, RemoteDomainGetInfoArgs,
    RemoteDomainGetXmlDescArgs, RemoteDomainLookupByNameArgs, RemoteDomainScreenshotArgs,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use xdrgen_protocols::mount3::Mountres3;
use xdrgen_protocols::mount3::mount_program::mount_v3;
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::nfs3::{
    Access3args, Diropargs3, Fsinfo3args, Fsstat3args, Getattr3args, Lookup3args, Lookup3res,
    NfsFh3, Pathconf3args, Read3args, Readdir3args, Readdirplus3args,
};
use xdrgen_runtime::libvirt::{
    Connection, ConnectionConfig, HEADER_LEN, MESSAGE_MAX, MessageType, PacketReader, Server,
    ServerConfig,
};
use xdrgen_runtime::rpc::record::RecordReader;
use xdrgen_runtime::rpc::{AuthSys, Client as RpcClient, ClientConfig, MessageHeader, OpaqueAuth};
use xdrgen_runtime::{Limits, XdrString};

/// The bytes a connection carried, each direction.
#[derive(Clone, Default)]
struct Taps {
    sent: Arc<Mutex<Vec<u8>>>,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Taps {
    fn take(&self) -> (Vec<u8>, Vec<u8>) {
        let get = |m: &Mutex<Vec<u8>>| m.lock().unwrap_or_else(PoisonError::into_inner).clone();
        (get(&self.sent), get(&self.received))
    }
}

/// A stream that copies what passes through it into [`Taps`].
struct Tap<S> {
    inner: S,
    taps: Taps,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let mut received = self
                .taps
                .received
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            received.extend_from_slice(&buf.filled()[before..]);
        }
        poll
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = poll {
            let mut sent = self
                .taps
                .sent
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            sent.extend_from_slice(&data[..n]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

fn tap<S>(inner: S) -> (Tap<S>, Taps) {
    let taps = Taps::default();
    (
        Tap {
            inner,
            taps: taps.clone(),
        },
        taps,
    )
}

/// Largest seed file written.
const MAX_SEED: usize = 16 * 1024;

/// Seeds by target, then by file name (the content's hash, so repeats
/// collapse).
#[derive(Default)]
struct Seeds(BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>);

impl Seeds {
    fn add(&mut self, target: &'static str, source: &str, mut bytes: Vec<u8>) {
        // Small files: the campaign reads at most 4 KiB of an input anyway.
        bytes.truncate(MAX_SEED);
        let name = format!("{source}-{:08x}", xdrgen_fuzz::selector_of_bytes(&bytes));
        self.0.entry(target).or_default().insert(name, bytes);
    }

    fn count(&self, target: &str) -> usize {
        self.0.get(target).map_or(0, BTreeMap::len)
    }

    fn write(&self, dir: &Path) {
        for (target, files) in &self.0 {
            let dir = dir.join(target);
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

fn records(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = RecordReader::new(MESSAGE_MAX);
    reader.push(stream);
    let mut out = Vec::new();
    while let Some(record) = reader.next_record().expect("valid record marking") {
        out.push(record);
    }
    assert!(!reader.is_mid_record(), "a stream ends mid-record");
    out
}

/// NFSv3 argument and result type names by procedure number (RFC 1813).
fn nfs3_types(procedure: u32) -> Option<&'static str> {
    Some(match procedure {
        1 => "GETATTR3",
        3 => "LOOKUP3",
        4 => "ACCESS3",
        6 => "READ3",
        16 => "READDIR3",
        17 => "READDIRPLUS3",
        18 => "FSSTAT3",
        19 => "FSINFO3",
        20 => "PATHCONF3",
        _ => return None,
    })
}

/// Checks and seeds from one ONC RPC connection; `nfs` says whether its
/// bodies are NFSv3 ones (seeds for `generated_decoders`).
fn rpc_seeds(seeds: &mut Seeds, source: &str, taps: &Taps, nfs: bool) {
    let (sent, received) = taps.take();
    let calls = records(&sent);
    let replies = records(&received);
    assert!(!calls.is_empty(), "{source}: no calls tapped");
    assert_eq!(
        calls.len(),
        replies.len(),
        "{source}: a call without its reply"
    );
    let mut procedures = BTreeMap::new();
    for call in &calls {
        let (header, args) = MessageHeader::decode_from(call, &Limits::default()).unwrap();
        let MessageHeader::Call(call_header) = header else {
            panic!("{source}: the client sent a reply");
        };
        procedures.insert(call_header.xid, call_header.procedure);
        seeds.add("rpc_headers", source, call.clone());
        if let (true, Some(name)) = (nfs, nfs3_types(call_header.procedure)) {
            let mut seed = xdrgen_fuzz::selector_of(&format!("nfs3::{name}args"))
                .to_be_bytes()
                .to_vec();
            seed.extend_from_slice(args);
            seeds.add("generated_decoders", source, seed);
        }
    }
    for reply in &replies {
        let (header, results) = MessageHeader::decode_from(reply, &Limits::default()).unwrap();
        let MessageHeader::Reply(reply_header) = header else {
            panic!("{source}: the server sent a call");
        };
        let procedure = procedures
            .get(&reply_header.xid)
            .expect("a reply to a call");
        seeds.add("rpc_headers", source, reply.clone());
        if let (true, Some(name)) = (nfs, nfs3_types(*procedure)) {
            let mut seed = xdrgen_fuzz::selector_of(&format!("nfs3::{name}res"))
                .to_be_bytes()
                .to_vec();
            seed.extend_from_slice(results);
            seeds.add("generated_decoders", source, seed);
        }
    }
    for stream in [&sent, &received] {
        let mut seed = vec![3];
        seed.extend_from_slice(stream);
        seeds.add("record_reader", source, seed);
    }
    seeds.add("rpc_server_dispatch", source, sent);
}

/// Checks and seeds from one libvirt connection.
fn libvirt_seeds(seeds: &mut Seeds, source: &str, taps: &Taps) {
    let (sent, received) = taps.take();
    for (stream, from_client) in [(&sent, true), (&received, false)] {
        let mut reader = PacketReader::new(MESSAGE_MAX);
        reader.push(stream);
        let mut packets = 0;
        let mut at = 0;
        while let Some(packet) = reader.next_packet().expect("valid packets") {
            let len = 4 + HEADER_LEN + packet.body.len();
            seeds.add("libvirt_header", source, stream[at + 4..at + len].to_vec());
            at += len;
            packets += 1;
            let h = packet.header;
            let is_call = matches!(h.kind, MessageType::Call);
            assert!(!is_call || from_client, "{source}: the server sent a call");
            if h.program == example_libvirt_daemon::remote::remote_program::PROGRAM
                && matches!(h.kind, MessageType::Call | MessageType::Reply)
                && h.status == xdrgen_runtime::libvirt::Status::Ok
                // Procedures without arguments or results have no type.
                && !packet.body.is_empty()
                && let Some(info) = PROCEDURES.iter().find(|p| p.number == h.procedure)
            {
                let base = info
                    .name
                    .trim_start_matches("REMOTE_PROC_")
                    .to_ascii_lowercase();
                let suffix = if is_call { "args" } else { "ret" };
                let name = format!("remote::remote_{base}_{suffix}");
                let mut seed = xdrgen_fuzz::selector_of(&name).to_be_bytes().to_vec();
                seed.extend_from_slice(&packet.body);
                seeds.add("generated_decoders", source, seed);
            }
        }
        assert!(packets > 0, "{source}: no packets tapped");
        assert!(
            !reader.is_mid_packet(),
            "{source}: a stream ends mid-packet"
        );
        let mut seed = vec![3];
        seed.extend_from_slice(stream);
        seeds.add("libvirt_packet", source, seed);
    }
    seeds.add("libvirt_server_dispatch", source, sent);
}

async fn tcp(test: &str, addr: &str, what: &str) -> Option<TcpStream> {
    let stream = TcpStream::connect(addr).await.ok();
    xdrgen_testenv::require(test, &format!("{what} is not listening on {addr}"), stream)
}

fn auth_sys() -> ClientConfig {
    let credential = OpaqueAuth::sys(&AuthSys {
        stamp: 1,
        machine_name: XdrString::from("xdrgen-fuzz-seeds"),
        uid: 0,
        gid: 0,
        gids: vec![0],
    })
    .unwrap();
    ClientConfig {
        credential,
        ..ClientConfig::default()
    }
}

/// MOUNT and NFSv3 calls a client makes to list and read an export.
async fn ganesha(seeds: &mut Seeds) {
    const TEST: &str = "fuzz record_seeds (ganesha)";
    let Some(stream) = tcp(
        TEST,
        "127.0.0.1:20048",
        "NFS-Ganesha's MOUNT (../shared/peers/ganesha/start.sh)",
    )
    .await
    else {
        return;
    };
    let (stream, mount_taps) = tap(stream);
    let mount = mount_v3::Client(RpcClient::from_stream(stream, auth_sys()));
    mount.mountproc3_null().await.unwrap();
    mount.mountproc3_export().await.unwrap();
    let Mountres3::Mnt3Ok(mounted) = mount.mountproc3_mnt(&"/export".into()).await.unwrap() else {
        panic!("ganesha refused to mount /export");
    };
    mount
        .mountproc3_mnt(&"/no/such/export".into())
        .await
        .unwrap();
    mount.mountproc3_dump().await.unwrap();
    mount.mountproc3_umnt(&"/export".into()).await.unwrap();
    drop(mount);
    rpc_seeds(seeds, "ganesha-mount", &mount_taps, false);

    let Some(stream) = tcp(TEST, "127.0.0.1:2049", "NFS-Ganesha's NFS").await else {
        return;
    };
    let (stream, nfs_taps) = tap(stream);
    let nfs = nfs_v3::Client(RpcClient::from_stream(stream, auth_sys()));
    let root = NfsFh3 {
        data: mounted.fhandle,
    };
    nfs.nfsproc3_null().await.unwrap();
    nfs.nfsproc3_getattr(&Getattr3args {
        object: root.clone(),
    })
    .await
    .unwrap();
    nfs.nfsproc3_fsinfo(&Fsinfo3args {
        fsroot: root.clone(),
    })
    .await
    .unwrap();
    nfs.nfsproc3_fsstat(&Fsstat3args {
        fsroot: root.clone(),
    })
    .await
    .unwrap();
    nfs.nfsproc3_pathconf(&Pathconf3args {
        object: root.clone(),
    })
    .await
    .unwrap();
    nfs.nfsproc3_access(&Access3args {
        object: root.clone(),
        access: 0x3f,
    })
    .await
    .unwrap();
    nfs.nfsproc3_readdir(&Readdir3args {
        dir: root.clone(),
        cookie: 0,
        cookieverf: [0; 8],
        count: 4096,
    })
    .await
    .unwrap();
    nfs.nfsproc3_readdirplus(&Readdirplus3args {
        dir: root.clone(),
        cookie: 0,
        cookieverf: [0; 8],
        dircount: 1024,
        maxcount: 8192,
    })
    .await
    .unwrap();
    for name in ["hello.txt", "missing"] {
        let found = nfs
            .nfsproc3_lookup(&Lookup3args {
                what: Diropargs3 {
                    dir: root.clone(),
                    name: name.into(),
                },
            })
            .await
            .unwrap();
        if let Lookup3res::Nfs3Ok(ok) = found {
            nfs.nfsproc3_getattr(&Getattr3args {
                object: ok.object.clone(),
            })
            .await
            .unwrap();
            nfs.nfsproc3_read(&Read3args {
                file: ok.object,
                offset: 0,
                count: 512,
            })
            .await
            .unwrap();
        }
    }
    drop(nfs);
    rpc_seeds(seeds, "ganesha-nfs3", &nfs_taps, true);
}

/// What virsh does to list, inspect and screenshot a domain, and watch
/// events, through our client.
async fn libvirt_session(client: &RemoteClient, connection: &Connection, uri: &str, domain: &str) {
    client.auth_list().await.unwrap();
    client
        .connect_open(&RemoteConnectOpenArgs {
            name: Some(uri.into()),
            flags: 0,
        })
        .await
        .unwrap();
    client
        .connect_supports_feature(&RemoteConnectSupportsFeatureArgs { feature: 9 })
        .await
        .unwrap();
    client.connect_get_lib_version().await.unwrap();
    client
        .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        })
        .await
        .unwrap();
    let dom = client
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
            name: domain.into(),
        })
        .await
        .unwrap()
        .dom;
    // An unknown name: an error reply.
    let _ = client
        .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
            name: "no-such-domain".into(),
        })
        .await;
    client
        .domain_get_info(&RemoteDomainGetInfoArgs { dom: dom.clone() })
        .await
        .unwrap();
    client
        .domain_get_xml_desc(&RemoteDomainGetXmlDescArgs {
            dom: dom.clone(),
            flags: 0,
        })
        .await
        .unwrap();
    let registered = client
        .connect_domain_event_callback_register_any(
            &RemoteConnectDomainEventCallbackRegisterAnyArgs {
                event_id: 0,
                dom: None,
            },
        )
        .await;
    if let Ok(shot) = client
        .domain_screenshot(&RemoteDomainScreenshotArgs {
            dom,
            screen: 0,
            flags: 0,
        })
        .await
    {
        let (_, mut stream) = shot;
        let _ = stream.read_to_end().await;
    }
    if let Ok(r) = registered {
        let _ = client
            .connect_domain_event_callback_deregister_any(
                &example_libvirt_daemon::remote::RemoteConnectDomainEventCallbackDeregisterAnyArgs {
                    callback_id: r.callback_id,
                },
            )
            .await;
    }
    connection.ping().await.unwrap();
    client.connect_close().await.unwrap();
}

async fn libvirt(seeds: &mut Seeds) {
    // Our client against the example daemon, in memory.
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(Daemon::new()))
        .build();
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    {
        let server = server.clone();
        tokio::spawn(async move { server.serve_connection(theirs).await });
    }
    let (ours, taps) = tap(ours);
    let connection = Connection::from_stream(ours, ConnectionConfig::default());
    let client = RemoteClient(connection.clone());
    libvirt_session(&client, &connection, "test:///default", "demo-running").await;
    // Every call above had its reply: the taps are complete.
    drop((client, connection));
    server.shutdown();
    libvirt_seeds(seeds, "example-daemon", &taps);

    // Our client against libvirtd's test driver.
    const TEST: &str = "fuzz record_seeds (libvirtd)";
    let Some(stream) = tcp(
        TEST,
        "127.0.0.1:16509",
        "libvirtd (../shared/peers/libvirt/start.sh)",
    )
    .await
    else {
        return;
    };
    let (stream, taps) = tap(stream);
    let connection = Connection::from_stream(stream, ConnectionConfig::default());
    let client = RemoteClient(connection.clone());
    libvirt_session(&client, &connection, "test:///default", "test").await;
    drop((client, connection));
    libvirt_seeds(seeds, "libvirtd", &taps);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_seeds_from_real_traffic() {
    let mut seeds = Seeds::default();
    tokio::time::timeout(Duration::from_secs(60), async {
        ganesha(&mut seeds).await;
        libvirt(&mut seeds).await;
    })
    .await
    .expect("the sessions finish (a peer hangs)");
    for target in [
        "rpc_headers",
        "record_reader",
        "libvirt_header",
        "libvirt_packet",
        "libvirt_server_dispatch",
        "generated_decoders",
    ] {
        assert!(
            seeds.count(target) > 0 || !xdrgen_testenv::required(),
            "no seeds for {target}"
        );
    }
    if let Some(dir) = std::env::var_os("XDRGEN_RECORD_FUZZ_SEEDS") {
        seeds.write(Path::new(&dir));
    }
}
