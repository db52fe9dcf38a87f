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

use tokio::net::{TcpListener, UdpSocket};
use xdrgen_protocols::portmap::Mapping;
use xdrgen_protocols::registration::{
    self, LOCAL_RPCBIND, Protocol, Registration, RegistrationError, Rpcbind,
};
use xdrgen_protocols::rpcbind;
use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{
    BlockingClient, CallContext, Client, ClientConfig, Endpoint, Fault, RpcError, Server,
    ServerConfig,
};
use xdrgen_runtime::{DecodeError, Limits};
#[cfg(corpus)]
use xdrgen_tests::corpus_rpcsvc_rstat::rstatprog::{rstatvers_swtch, rstatvers_time};
use xdrgen_tests::fixture_program::echo_prog::{self, echo_v1};
use xdrgen_tests::peertest::{self, PeerTest, PtColor, PtPoint, PtShape, PtShapeDefault, v1};

const PROGRAM: u32 = peertest::proto::peertest_prog::PROGRAM;

/// rpcbind's table is shared: tests that read or change it take turns.
static RPCBIND: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

use xdrgen_tests::run_tool as run;

/// Serves `server` on a TCP and a UDP port of loopback: the ports, and the
/// task that ends when the server shuts down.
async fn serve_tcp_and_udp(
    server: &Server,
) -> (u16, u16, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = listener.local_addr().unwrap().port();
    let udp = socket.local_addr().unwrap().port();
    let server = server.clone();
    let serving = tokio::spawn(async move {
        let (a, b) = tokio::join!(server.serve_tcp(listener), server.serve_udp(socket));
        a.and(b)
    });
    (tcp, udp, serving)
}

use xdrgen_tests::peer_client_config as config;

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
    let v4 = rpcbind::rpcbprog::rpcbvers4::Client::connect(Endpoint::Tcp(LOCAL_RPCBIND), config())
        .await
        .unwrap();
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
    let tcp = v1::Client::connect(Endpoint::Tcp(c_tcp), config())
        .await
        .unwrap();
    expect_c_server_results(&tcp).await;
    let udp = v1::Client(
        Client::connect(Endpoint::Udp(c_udp), config())
            .await
            .unwrap(),
    );
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
        let mut c =
            v1::BlockingClient(BlockingClient::connect(Endpoint::Udp(c_udp), config()).unwrap());
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
    let (our_tcp, our_udp, serving) = serve_tcp_and_udp(&server).await;
    // The C server still answers on its ports: its mapping is another
    // process's, kept unless we ask to replace it.
    let ours = [(Protocol::Tcp, our_tcp), (Protocol::Udp, our_udp)];
    let refused = Registration::register(Rpcbind::local(), PROGRAM, 1, &ours).await;
    match refused {
        Err(RegistrationError::Taken { existing }) => {
            assert_eq!((existing.prot, existing.port), (6, u32::from(tcp_port)));
        }
        other => panic!("registered over the C server's mapping: {other:?}"),
    }
    let still_c = registration::get_port(&Rpcbind::local(), PROGRAM, 1, Protocol::Tcp)
        .await
        .unwrap();
    assert_eq!(still_c, Some(tcp_port));
    let registered = Registration::register_replacing(Rpcbind::local(), PROGRAM, 1, &ours)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_client_connects_through_rpcbind_alone() {
    let Some(_) =
        xdrgen_tests::peers("rpc_peers::a_generated_client_connects_through_rpcbind_alone")
    else {
        return;
    };
    let _turn = RPCBIND.lock().await;
    for protocol in [Protocol::Tcp, Protocol::Udp] {
        let c = v1::Client::connect_rpcbind("127.0.0.1", protocol, config())
            .await
            .unwrap_or_else(|e| panic!("{protocol}: {e}"));
        expect_c_server_results(&c).await;
        let sum = tokio::task::spawn_blocking(move || {
            let mut c = v1::BlockingClient::connect_rpcbind("localhost", protocol, config())
                .unwrap_or_else(|e| panic!("{protocol}: {e}"));
            c.pt_add(&PtPoint { x: 20, y: 22 }).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(sum, 42);
    }
    // A program rpcbind does not know is a typed error naming it.
    let missing =
        Client::connect_rpcbind("127.0.0.1", Protocol::Tcp, 0x3fff_fff0, 1, config()).await;
    match missing {
        Err(e @ RpcError::NotRegistered { .. }) => assert_eq!(
            e.to_string(),
            "program 1073741808 version 1 is not registered with rpcbind for tcp"
        ),
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("connected to an unregistered program"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_servers_mapping_is_replaced_without_asking() {
    let Some(_) =
        xdrgen_tests::peers("rpc_peers::a_dead_servers_mapping_is_replaced_without_asking")
    else {
        return;
    };
    let _turn = RPCBIND.lock().await;
    const DEAD: u32 = 0x3fff_fff1;
    // A port nobody listens on any more.
    let dead_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut pmap = Rpcbind::local().blocking().unwrap();
    let left_behind = Mapping {
        prog: DEAD,
        vers: 1,
        prot: 17,
        port: u32::from(dead_port),
    };
    assert!(pmap.pmapproc_set(&left_behind).unwrap());
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let ours = socket.local_addr().unwrap().port();
    let registered = Registration::register(Rpcbind::local(), DEAD, 1, &[(Protocol::Udp, ours)])
        .await
        .unwrap();
    let found = registration::get_port(&Rpcbind::local(), DEAD, 1, Protocol::Udp)
        .await
        .unwrap();
    assert_eq!(found, Some(ours));
    registered.unregister().await.unwrap();
}

/// The rstat client comes from `../shared/corpus/rpcsvc/rstat.x`.
#[cfg(not(corpus))]
#[test]
fn stock_rstatd_answers_with_trailing_bytes_our_client_skips() {
    xdrgen_tests::skip(
        "rpc_peers::stock_rstatd_answers_with_trailing_bytes_our_client_skips",
        "../shared/corpus (rstat.x) is not beside the clone",
    );
}

#[cfg(corpus)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_rstatd_answers_with_trailing_bytes_our_client_skips() {
    let Some(state) =
        xdrgen_tests::peers("rpc_peers::stock_rstatd_answers_with_trailing_bytes_our_client_skips")
    else {
        return;
    };
    assert!(
        state.join("rpcsvc/rstatd.pid").exists(),
        "rpc.rstatd is not running: start it with ../shared/peers/rpcsvc/start.sh {} rstatd",
        state.display()
    );
    // rstat.x as Debian ships it, generated; rpc.rstatd found through rpcbind.
    let c = rstatvers_time::Client::connect_rpcbind("127.0.0.1", Protocol::Udp, config())
        .await
        .unwrap();
    let stats = c.rstatproc_stats().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(stats.boottime.tv_sec > 0 && stats.boottime.tv_sec <= stats.curtime.tv_sec);
    assert!(
        u64::from(stats.curtime.tv_sec).abs_diff(now) < 60,
        "{stats:?}"
    );
    let swtch = rstatvers_swtch::Client::connect_rpcbind("127.0.0.1", Protocol::Udp, config())
        .await
        .unwrap();
    assert_eq!(
        swtch.rstatproc_stats().await.unwrap().boottime,
        stats.boottime
    );

    // The bytes are really there: a strict client refuses the reply.
    let strict = ClientConfig {
        limits: Limits::default().strict(),
        ..config()
    };
    let c = rstatvers_time::Client::connect_rpcbind("127.0.0.1", Protocol::Udp, strict)
        .await
        .unwrap();
    let refused = c.rstatproc_stats().await;
    assert!(
        matches!(
            refused,
            Err(RpcError::Decode(DecodeError::TrailingBytes { .. }))
        ),
        "{refused:?}"
    );
}

/// ECHO_PROG declares no procedure 0.
struct Echo;

impl echo_v1::Service for Echo {
    async fn echo(&self, _: &CallContext, text: XdrString) -> Result<XdrString, Fault> {
        Ok(text)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpcinfo_finds_a_server_without_procedure_0_ready() {
    let Some(_) =
        xdrgen_tests::peers("rpc_peers::rpcinfo_finds_a_server_without_procedure_0_ready")
    else {
        return;
    };
    let _turn = RPCBIND.lock().await;
    let server = Server::builder(ServerConfig::default())
        .service(echo_v1::Dispatcher(Echo))
        .build();
    let (tcp, udp, serving) = serve_tcp_and_udp(&server).await;
    // Debian's rpcinfo (rpcbind 1.2.6) asks rpcbind for the address even
    // with `-n PORT`, so the server is registered first.
    let registered = Registration::register(
        Rpcbind::local(),
        echo_prog::PROGRAM,
        1,
        &[(Protocol::Tcp, tcp), (Protocol::Udp, udp)],
    )
    .await
    .unwrap();
    let program = echo_prog::PROGRAM.to_string();
    for (transport, port) in [("-t", tcp), ("-u", udp)] {
        let (program, port) = (program.clone(), port.to_string());
        let (ok, text) = tokio::task::spawn_blocking(move || {
            run(
                "rpcinfo",
                &["-n", &port, transport, "127.0.0.1", &program, "1"],
            )
        })
        .await
        .unwrap();
        assert!(
            ok && text.contains("ready and waiting"),
            "rpcinfo -n {transport}: {text}"
        );
    }
    registered.unregister().await.unwrap();
    server.shutdown();
    serving.await.unwrap().unwrap();
}
