//! Generated clients and servers against real, unmodified peers on
//! loopback: Debian's rpcbind and rpcinfo, and the C server and client
//! built by the stock rpcgen + libtirpc from peertest.x.
//!
//! `scripts/test.sh` starts the peers (`../shared/peers/`) and sets
//! `XDRGEN_PEERS_STATE` to their state directory. Without it these tests
//! say they are skipped; with `XDRGEN_REQUIRE_PEERS=1` they fail instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::net::{TcpListener, UdpSocket};
use xdrgen_protocols::portmap::Mapping;
use xdrgen_protocols::registration::{self, LOCAL_RPCBIND, Protocol, Registration, Rpcbind};
use xdrgen_protocols::rpcbind;
use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{BlockingClient, Client, ClientConfig, Server, ServerConfig};
use xdrgen_tests::peertest::{self, PeerTest, PtColor, PtPoint, PtShape, PtShapeDefault, v1};

const PROGRAM: u32 = peertest::proto::peertest_prog::PROGRAM;

/// rpcbind's table is shared: tests that read or change it take turns.
static RPCBIND: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn run(cmd: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn config() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        retransmit: Duration::from_millis(500),
        ..ClientConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_mapper_dump_matches_rpcinfo() {
    let Some(_) = xdrgen_tests::peers("rpc_peers::the_port_mapper_dump_matches_rpcinfo") else {
        return;
    };
    let _turn = RPCBIND.lock().await;
    let ours = registration::dump(&Rpcbind::Tcp(LOCAL_RPCBIND))
        .await
        .unwrap();
    let mut ours: Vec<_> = ours
        .iter()
        .map(|m| (m.prog, m.vers, m.prot, m.port))
        .collect();
    ours.sort_unstable();
    let (ok, text) = run("rpcinfo", &["-p", "127.0.0.1"]);
    assert!(ok, "{text}");
    let mut theirs: Vec<(u32, u32, u32, u32)> = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<_> = line.split_whitespace().collect();
            let prot = match *f.get(2)? {
                "tcp" => 6,
                "udp" => 17,
                _ => return None,
            };
            Some((
                f[0].parse().ok()?,
                f[1].parse().ok()?,
                prot,
                f[3].parse().ok()?,
            ))
        })
        .collect();
    theirs.sort_unstable();
    assert!(ours.contains(&(100_000, 2, 6, 111)), "{ours:?}");
    assert_eq!(ours, theirs, "rpcinfo -p:\n{text}");

    // rpcbind version 4's DUMP, through the generated rpcbind client,
    // lists the same port mapper entries with universal addresses.
    let rpc = Client::connect_tcp(LOCAL_RPCBIND, config()).await.unwrap();
    let v4 = rpcbind::rpcbprog::rpcbvers4::Client(rpc);
    let mut list = v4.rpcbproc_dump().await.unwrap();
    let mut entries = Vec::new();
    while let Some(mut node) = list {
        let entry = &node.rpcb_map;
        entries.push((
            entry.r_prog,
            entry.r_vers,
            entry.r_netid.to_string(),
            entry.r_addr.to_string(),
        ));
        list = node.rpcb_next.take();
    }
    assert!(
        entries.contains(&(100_000, 4, "tcp".into(), "127.0.0.1.0.111".into())),
        "{entries:?}"
    );
}

fn c_peer_binary(state: &std::path::Path, name: &str) -> PathBuf {
    let path = state.join("c-rpcgen/build").join(name);
    assert!(
        path.exists(),
        "{} missing: start the c-rpcgen peer",
        path.display()
    );
    path
}

async fn expect_c_server_results(c: &v1::Client) {
    c.pt_null().await.unwrap();
    assert_eq!(c.pt_add(&PtPoint { x: 40, y: 2 }).await.unwrap(), 42);
    let hello = XdrString::from("hello from Rust");
    assert_eq!(c.pt_echo(&hello).await.unwrap(), hello);
    let item = peertest::sample_item();
    assert_eq!(c.pt_bump(&item).await.unwrap(), peertest::bump(item));
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

/// Puts the C server's mappings back however the test ends.
struct RestoreC(Vec<Mapping>);

impl Drop for RestoreC {
    fn drop(&mut self) {
        let mut pmap = Rpcbind::local().blocking().unwrap();
        let all = Mapping {
            prog: PROGRAM,
            vers: 1,
            prot: 0,
            port: 0,
        };
        let _ = pmap.pmapproc_unset(&all);
        for m in &self.0 {
            let _ = pmap.pmapproc_set(m);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_peers_and_rpcinfo_against_our_client_and_server() {
    let Some(state) =
        xdrgen_tests::peers("rpc_peers::c_peers_and_rpcinfo_against_our_client_and_server")
    else {
        return;
    };
    let _turn = RPCBIND.lock().await;

    // 1. Our generated client calls the C server, found through rpcbind.
    let tcp_port = registration::get_port(&Rpcbind::local(), PROGRAM, 1, Protocol::Tcp)
        .await
        .unwrap()
        .expect("the C peer is registered for TCP");
    let udp_port = registration::get_port(&Rpcbind::local(), PROGRAM, 1, Protocol::Udp)
        .await
        .unwrap()
        .expect("the C peer is registered for UDP");
    let c_tcp = SocketAddr::from(([127, 0, 0, 1], tcp_port));
    let c_udp = SocketAddr::from(([127, 0, 0, 1], udp_port));
    let tcp = v1::Client(Client::connect_tcp(c_tcp, config()).await.unwrap());
    expect_c_server_results(&tcp).await;
    let udp = v1::Client(Client::connect_udp(c_udp, config()).await.unwrap());
    expect_c_server_results(&udp).await;
    // Many calls in flight on one connection to the single-threaded C server.
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let tcp = tcp.clone();
            tokio::spawn(async move { tcp.pt_add(&PtPoint { x: i, y: 1 }).await.unwrap() == i + 1 })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap());
    }
    let blocking = tokio::task::spawn_blocking(move || {
        let mut c = v1::BlockingClient(BlockingClient::connect_udp(c_udp, config()).unwrap());
        c.pt_add(&PtPoint { x: 1, y: 2 }).unwrap()
    });
    assert_eq!(blocking.await.unwrap(), 3);

    // 2. Our generated server takes over the program in rpcbind.
    let _restore = RestoreC(vec![
        Mapping {
            prog: PROGRAM,
            vers: 1,
            prot: 6,
            port: u32::from(tcp_port),
        },
        Mapping {
            prog: PROGRAM,
            vers: 1,
            prot: 17,
            port: u32::from(udp_port),
        },
    ]);
    let service = PeerTest::default();
    let server = Server::builder(ServerConfig::default())
        .service(v1::Dispatcher(service.clone()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let (our_tcp, our_udp) = (
        listener.local_addr().unwrap().port(),
        socket.local_addr().unwrap().port(),
    );
    let serving = tokio::spawn({
        let server = server.clone();
        async move {
            let (a, b) = tokio::join!(server.serve_tcp(listener), server.serve_udp(socket));
            a.and(b)
        }
    });
    let registered = Registration::register(
        Rpcbind::local(),
        PROGRAM,
        1,
        &[(Protocol::Tcp, our_tcp), (Protocol::Udp, our_udp)],
    )
    .await
    .unwrap();
    let found = registration::get_port(&Rpcbind::local(), PROGRAM, 1, Protocol::Tcp)
        .await
        .unwrap();
    assert_eq!(found, Some(our_tcp));

    // rpcinfo's NULL calls over TCP and UDP reach our server.
    let prog = PROGRAM.to_string();
    let nulls = service.seen.nulls.load(Ordering::Relaxed);
    for transport in ["-t", "-u"] {
        let prog = prog.clone();
        let (ok, text) = tokio::task::spawn_blocking(move || {
            run("rpcinfo", &[transport, "127.0.0.1", prog.as_str(), "1"])
        })
        .await
        .unwrap();
        assert!(
            ok && text.contains("ready and waiting"),
            "rpcinfo {transport}: {text}"
        );
    }
    assert!(service.seen.nulls.load(Ordering::Relaxed) >= nulls + 2);
    let (ok, text) = run("rpcinfo", &["-p", "127.0.0.1"]);
    assert!(
        ok && text.contains(&format!("{prog}    1   tcp  {our_tcp:>5}")),
        "{text}"
    );

    // The C client built by rpcgen + libtirpc calls every procedure and
    // checks every result: through rpcbind, and on a given port.
    let client = c_peer_binary(&state, "peertest_client");
    let tcp_arg = our_tcp.to_string();
    let udp_arg = our_udp.to_string();
    for args in [
        vec!["127.0.0.1", "tcp"],
        vec!["127.0.0.1", "udp"],
        vec!["-p", tcp_arg.as_str(), "127.0.0.1", "tcp"],
        vec!["-p", udp_arg.as_str(), "127.0.0.1", "udp"],
    ] {
        let client = client.clone();
        let shown = args.join(" ");
        let args: Vec<String> = args.iter().map(ToString::to_string).collect();
        let out = tokio::task::spawn_blocking(move || Command::new(client).args(&args).output())
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("ALL OK"),
            "peertest_client {shown}:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Stopping: unregister, then shut down gracefully.
    registered.unregister().await.unwrap();
    let gone = registration::get_port(&Rpcbind::local(), PROGRAM, 1, Protocol::Tcp)
        .await
        .unwrap();
    assert_eq!(gone, None);
    server.shutdown();
    serving.await.unwrap().unwrap();
}
