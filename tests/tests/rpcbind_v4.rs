//! rpcbind versions 3 and 4 against the real Debian rpcbind and rpcinfo:
//! a server registered on every transport it listens on (`tcp`, `udp`,
//! `tcp6`, `udp6`, `local`), stock `rpcinfo` listing and reaching it, and
//! clients that find it through rpcbind alone (GETADDR), over IPv6 too.
//! Also the reserved source port (as root), UDP messages larger than a
//! datagram, and the version 2 fallback for an old port mapper, which
//! need no peer.
//!
//! `scripts/test.sh` starts the peers (`../shared/peers/`) and sets
//! `XDRGEN_PEERS_STATE`. Without them, or without an IPv6 loopback, these
//! tests say they are skipped; with `XDRGEN_REQUIRE_PEERS=1` they fail.

use std::net::{Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, UdpSocket, UnixListener};
use xdrgen_protocols::portmap::{
    CallArgs, CallResult, Mapping, Pmaplist, Pmapnode, pmap_prog::pmap_vers,
};
use xdrgen_protocols::registration::{self, Protocol, Registration, RegistrationError, Rpcbind};
use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{
    BlockingClient, CallContext, Client, Endpoint, Fault, Peer, RpcError, Server, ServerConfig,
    SourcePort,
};
use xdrgen_tests::fixture_program::echo_prog::{self, echo_v1};

const PROGRAM: u32 = echo_prog::PROGRAM;

/// Echoes its text, except that a number `n` is answered with `n` bytes
/// (a reply of a chosen size). Records where each call came from.
#[derive(Clone, Default)]
struct Echo {
    /// Who sent each text. Tests look a call's peer up by its text, not
    /// by order: a retransmitted datagram can be served after the next call.
    peers: Arc<Mutex<Vec<(Peer, String)>>>,
}

impl Echo {
    fn peer_of(&self, text: &XdrString) -> Peer {
        let text = text.to_str().unwrap();
        let peers = self.peers.lock().unwrap();
        let Some((peer, _)) = peers.iter().find(|(_, t)| t == text) else {
            panic!("no call sent {text:?}")
        };
        peer.clone()
    }
}

impl echo_v1::Service for Echo {
    async fn echo(&self, call: &CallContext, text: XdrString) -> Result<XdrString, Fault> {
        let sent = text.to_string_lossy().into_owned();
        self.peers.lock().unwrap().push((call.peer().clone(), sent));
        match text.to_str().ok().and_then(|t| t.parse::<usize>().ok()) {
            Some(len) => Ok(XdrString::from(vec![b'a'; len])),
            None => Ok(text),
        }
    }
}

use xdrgen_tests::peer_client_config as config;

use xdrgen_tests::run_tool as run;

async fn run_async(cmd: &'static str, args: Vec<String>) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(cmd, &args)
    })
    .await
    .unwrap()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Whether this machine has an IPv6 loopback (a network namespace may not).
fn has_ipv6_loopback() -> bool {
    std::net::TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

/// The peers and an IPv6 loopback, or a loud skip.
fn needs_peers_and_ipv6(test: &str) -> bool {
    if xdrgen_tests::peers(test).is_none() {
        return false;
    }
    xdrgen_testenv::require(
        test,
        "this machine has no IPv6 loopback (::1)",
        has_ipv6_loopback().then_some(()),
    )
    .is_some()
}

struct Listening {
    endpoints: Vec<Endpoint>,
    socket_path: PathBuf,
    serving: tokio::task::JoinHandle<()>,
}

/// Serves `server` on TCP and UDP over 127.0.0.1 and ::1, and on a Unix
/// socket.
async fn listen_everywhere(server: &Server) -> Listening {
    let tcp4 = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udp4 = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp6 = TcpListener::bind("[::1]:0").await.unwrap();
    let udp6 = UdpSocket::bind("[::1]:0").await.unwrap();
    let socket_path =
        std::env::temp_dir().join(format!("xdrgen-rpcbind-v4-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket_path);
    let unix = UnixListener::bind(&socket_path).unwrap();
    let endpoints = vec![
        Endpoint::Tcp(tcp4.local_addr().unwrap()),
        Endpoint::Udp(udp4.local_addr().unwrap()),
        Endpoint::Tcp(tcp6.local_addr().unwrap()),
        Endpoint::Udp(udp6.local_addr().unwrap()),
        Endpoint::Unix(socket_path.clone()),
    ];
    let server = server.clone();
    let serving = tokio::spawn(async move {
        let (tcp4, udp4, tcp6, udp6, unix) = tokio::join!(
            server.serve_tcp(tcp4),
            server.serve_udp(udp4),
            server.serve_tcp(tcp6),
            server.serve_udp(udp6),
            server.serve_unix(unix),
        );
        for result in [tcp4, udp4, tcp6, udp6, unix] {
            result.unwrap();
        }
    });
    Listening {
        endpoints,
        socket_path,
        serving,
    }
}

/// rpcinfo's lines for `PROGRAM` version 1: (netid, universal address).
fn rpcinfo_entries(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<_> = line.split_whitespace().collect();
            (f.first()?.parse::<u32>().ok()? == PROGRAM && *f.get(1)? == "1")
                .then(|| (f[2].to_string(), f[3].to_string()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_is_registered_and_stock_rpcinfo_reaches_it() {
    const TEST: &str = "rpcbind_v4::every_transport_is_registered_and_stock_rpcinfo_reaches_it";
    if !needs_peers_and_ipv6(TEST) {
        return;
    }
    let echo = Echo::default();
    let server = Server::builder(ServerConfig::default())
        .service(echo_v1::Dispatcher(echo.clone()))
        .build();
    let listening = listen_everywhere(&server).await;
    let registered =
        Registration::register_endpoints(Rpcbind::local(), PROGRAM, 1, &listening.endpoints)
            .await
            .unwrap();

    // rpcbind's version 4 table holds each transport under its netid.
    let mut expected: Vec<(String, String)> = listening
        .endpoints
        .iter()
        .map(|e| (e.netid().to_string(), e.universal_address().unwrap()))
        .collect();
    expected.sort();
    let table = registration::dump_entries(&Rpcbind::local()).await.unwrap();
    let mut ours: Vec<(String, String)> = table
        .iter()
        .filter(|e| e.r_prog == PROGRAM && e.r_vers == 1)
        .map(|e| {
            (
                e.r_netid.to_string_lossy().into_owned(),
                e.r_addr.to_string_lossy().into_owned(),
            )
        })
        .collect();
    ours.sort();
    assert_eq!(ours, expected);

    // Stock rpcinfo lists the same (its version 4 dump) ...
    let (ok, text) = run_async("rpcinfo", vec![]).await;
    assert!(ok, "{text}");
    let mut listed = rpcinfo_entries(&text);
    listed.sort();
    assert_eq!(listed, expected, "rpcinfo:\n{text}");
    // ... and `rpcinfo -p` the IPv4 ports (version 2's view).
    let (ok, text) = run_async("rpcinfo", vec!["-p".into(), "127.0.0.1".into()]).await;
    let port = |i: usize| match &listening.endpoints[i] {
        Endpoint::Tcp(a) | Endpoint::Udp(a) => a.port(),
        _ => unreachable!(),
    };
    assert!(ok, "{text}");
    for (netid, port) in [("tcp", port(0)), ("udp", port(1))] {
        assert!(
            text.lines().any(|l| {
                let f: Vec<_> = l.split_whitespace().collect();
                f.len() >= 4
                    && f[0] == PROGRAM.to_string()
                    && f[2] == netid
                    && f[3] == port.to_string()
            }),
            "rpcinfo -p has no {netid} {port}:\n{text}"
        );
    }

    // rpcinfo's NULL calls reach our server over every netid, our Unix
    // socket included: it asks rpcbind for the address (GETADDR over that
    // netid), then calls.
    for (netid, host) in [
        ("local", "localhost"),
        ("tcp6", "::1"),
        ("udp6", "::1"),
        ("tcp", "127.0.0.1"),
        ("udp", "127.0.0.1"),
    ] {
        let args = vec![
            "-T".into(),
            netid.into(),
            host.into(),
            PROGRAM.to_string(),
            "1".into(),
        ];
        let (ok, text) = run_async("rpcinfo", args).await;
        assert!(
            ok && text.contains("ready and waiting"),
            "rpcinfo -T {netid} {host}: {text}"
        );
    }

    // Our own lookups: GETADDR for each netid gives the endpoint back.
    for endpoint in &listening.endpoints {
        let found = registration::get_address(&Rpcbind::local(), PROGRAM, 1, endpoint.netid())
            .await
            .unwrap();
        assert_eq!(found.as_ref(), Some(endpoint), "{}", endpoint.netid());
    }
    // Also asked over rpcbind's IPv6 address.
    let over_ipv6 = Rpcbind::Tcp(SocketAddr::from((Ipv6Addr::LOCALHOST, 111)));
    let found = registration::get_address(&over_ipv6, PROGRAM, 1, "tcp6")
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&listening.endpoints[2]));

    // Clients that know only the host: GETADDR with the netid of the
    // transport in the family of rpcbind's address.
    for (host, protocol, listener) in [
        ("::1", Protocol::Tcp, 2),
        ("::1", Protocol::Udp, 3),
        ("127.0.0.1", Protocol::Tcp, 0),
        ("127.0.0.1", Protocol::Udp, 1),
    ] {
        let client = echo_v1::Client::connect_rpcbind(host, protocol, config())
            .await
            .unwrap_or_else(|e| panic!("{host} {protocol}: {e}"));
        let text = XdrString::from(format!("through rpcbind: {host} {protocol}"));
        assert_eq!(client.echo(&text).await.unwrap(), text);
        let seen_on_ipv6 = match echo.peer_of(&text) {
            Peer::Tcp(a) | Peer::Udp(a) => a.is_ipv6(),
            other => panic!("{other:?}"),
        };
        assert_eq!(seen_on_ipv6, listener >= 2, "{host} {protocol}");
        let blocking_text = text.clone();
        let echoed = tokio::task::spawn_blocking(move || {
            let mut c = echo_v1::BlockingClient::connect_rpcbind(host, protocol, config())
                .unwrap_or_else(|e| panic!("{host} {protocol}: {e}"));
            c.echo(&blocking_text).unwrap()
        })
        .await
        .unwrap();
        assert_eq!(echoed, text);
    }

    // Through rpcbind over IPv6, from a reserved port (root only; the
    // reserved-port test says when it is skipped).
    if is_root() {
        let text = XdrString::from("through rpcbind over IPv6, from a reserved port");
        let client = Client::connect_rpcbind_from(
            "::1",
            Protocol::Tcp,
            PROGRAM,
            1,
            SourcePort::Reserved,
            config(),
        )
        .await
        .unwrap();
        let echoed: XdrString = client.call(PROGRAM, 1, 1, &text).await.unwrap();
        assert_eq!(echoed, text);
        match echo.peer_of(&text) {
            Peer::Tcp(a) => assert!(a.is_ipv6() && a.port() < 1024, "{a}"),
            other => panic!("{other:?}"),
        }
    }

    // Unregistering removes every netid: rpcinfo no longer finds it.
    registered.unregister().await.unwrap();
    let table = registration::dump_entries(&Rpcbind::local()).await.unwrap();
    assert!(
        !table.iter().any(|e| e.r_prog == PROGRAM),
        "left behind: {table:?}"
    );
    let missing = Client::connect_rpcbind("::1", Protocol::Tcp, PROGRAM, 1, config()).await;
    assert!(
        matches!(missing, Err(RpcError::NotRegistered { .. })),
        "{:?}",
        missing.err()
    );
    server.shutdown();
    listening.serving.await.unwrap();
    let _ = std::fs::remove_file(&listening.socket_path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_source_port_is_below_1024_for_tcp_and_udp() {
    const TEST: &str = "rpcbind_v4::a_reserved_source_port_is_below_1024_for_tcp_and_udp";
    let is_root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    if xdrgen_testenv::require(
        TEST,
        "binding a reserved port needs root",
        is_root.then_some(()),
    )
    .is_none()
    {
        return;
    }
    let echo = Echo::default();
    let server = Server::builder(ServerConfig::default())
        .service(echo_v1::Dispatcher(echo.clone()))
        .build();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let endpoints = [
        Endpoint::Tcp(tcp.local_addr().unwrap()),
        Endpoint::Udp(udp.local_addr().unwrap()),
    ];
    let serving = tokio::spawn({
        let server = server.clone();
        async move {
            let (a, b) = tokio::join!(server.serve_tcp(tcp), server.serve_udp(udp));
            a.and(b)
        }
    });
    let source_port = |text: &XdrString| match echo.peer_of(text) {
        Peer::Tcp(a) | Peer::Udp(a) => a.port(),
        other => panic!("{other:?}"),
    };
    for endpoint in &endpoints {
        let text = XdrString::from(format!("from a reserved port to {endpoint}"));
        let client = Client::connect_from(endpoint.clone(), SourcePort::Reserved, config())
            .await
            .unwrap();
        let echoed: XdrString = client.call(PROGRAM, 1, 1, &text).await.unwrap();
        assert_eq!(echoed, text);
        let port = source_port(&text);
        assert!((512..1024).contains(&port), "{endpoint}: port {port}");

        let blocking_text =
            XdrString::from(format!("blocking, from a reserved port to {endpoint}"));
        let sent = blocking_text.clone();
        let target = endpoint.clone();
        tokio::task::spawn_blocking(move || {
            let mut client =
                BlockingClient::connect_from(target, SourcePort::Reserved, config()).unwrap();
            let echoed: XdrString = client.call(PROGRAM, 1, 1, &blocking_text).unwrap();
            assert_eq!(echoed, blocking_text);
        })
        .await
        .unwrap();
        let port = source_port(&sent);
        assert!((512..1024).contains(&port), "blocking: port {port}");

        // Without the option the system picks an ephemeral port.
        let client = Client::connect(endpoints[0].clone(), config())
            .await
            .unwrap();
        let text = XdrString::from(format!("from any port, after {endpoint}"));
        let _: XdrString = client.call(PROGRAM, 1, 1, &text).await.unwrap();
        assert!(source_port(&text) >= 1024);
    }
    server.shutdown();
    serving.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_messages_larger_than_a_datagram_fail_with_typed_errors() {
    let server = Server::builder(ServerConfig::default())
        .service(echo_v1::Dispatcher(Echo::default()))
        .build();
    let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let endpoint = Endpoint::Udp(udp.local_addr().unwrap());
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve_udp(udp).await }
    });
    let client = echo_v1::Client::connect(endpoint.clone(), config())
        .await
        .unwrap();

    // A reply that fits is sent; one over a datagram is answered with
    // SYSTEM_ERR, as an rpcgen server does when svc_sendreply fails.
    let fits = client.echo(&XdrString::from("60000")).await.unwrap();
    assert_eq!(fits.len(), 60_000);
    let too_big = client.echo(&XdrString::from("70000")).await;
    assert!(
        matches!(too_big, Err(RpcError::SystemErr)),
        "{:?}",
        too_big.err()
    );

    // A call over a datagram is refused before anything is sent.
    let huge = XdrString::from(vec![b'x'; 70_000]);
    match client.echo(&huge).await {
        Err(RpcError::CallTooLargeForDatagram { len, max }) => {
            assert!(len > 70_000 && max < 65_536, "{len} {max}");
        }
        other => panic!("{:?}", other.err()),
    }
    let blocking = tokio::task::spawn_blocking(move || {
        let mut client = echo_v1::BlockingClient::connect(endpoint, config()).unwrap();
        let call = client.echo(&huge).map(|_| ());
        let reply = client.echo(&XdrString::from("70000")).map(|_| ());
        (call, reply)
    })
    .await
    .unwrap();
    assert!(
        matches!(blocking.0, Err(RpcError::CallTooLargeForDatagram { .. })),
        "{:?}",
        blocking.0
    );
    assert!(
        matches!(blocking.1, Err(RpcError::SystemErr)),
        "{:?}",
        blocking.1
    );
    // The server serves on.
    assert_eq!(client.echo(&XdrString::from("ok")).await.unwrap(), "ok");
    server.shutdown();
    serving.await.unwrap().unwrap();
}

/// A port mapper that speaks only version 2, as old systems (and rpcbind
/// built without version 3/4) do: our server on the generated `pmap_vers`
/// service, answering version 4 with PROG_MISMATCH.
#[derive(Clone, Default)]
struct Version2PortMapper {
    table: Arc<Mutex<Vec<Mapping>>>,
}

impl pmap_vers::Service for Version2PortMapper {
    async fn pmapproc_set(&self, _: &CallContext, mapping: Mapping) -> Result<bool, Fault> {
        let mut table = self.table.lock().unwrap();
        if table
            .iter()
            .any(|m| (m.prog, m.vers, m.prot) == (mapping.prog, mapping.vers, mapping.prot))
        {
            return Ok(false);
        }
        table.push(mapping);
        Ok(true)
    }

    async fn pmapproc_unset(&self, _: &CallContext, mapping: Mapping) -> Result<bool, Fault> {
        let mut table = self.table.lock().unwrap();
        let before = table.len();
        table.retain(|m| (m.prog, m.vers) != (mapping.prog, mapping.vers));
        Ok(table.len() != before)
    }

    async fn pmapproc_getport(&self, _: &CallContext, wanted: Mapping) -> Result<u32, Fault> {
        let table = self.table.lock().unwrap();
        Ok(table
            .iter()
            .find(|m| (m.prog, m.vers, m.prot) == (wanted.prog, wanted.vers, wanted.prot))
            .map_or(0, |m| m.port))
    }

    async fn pmapproc_dump(&self, _: &CallContext) -> Result<Pmaplist, Fault> {
        let mut list: Pmaplist = None;
        for map in self.table.lock().unwrap().iter().rev() {
            list = Some(Box::new(Pmapnode {
                map: map.clone(),
                next: list,
            }));
        }
        Ok(list)
    }

    async fn pmapproc_callit(&self, _: &CallContext, _: CallArgs) -> Result<CallResult, Fault> {
        Err(Fault::ProcUnavail)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_port_mapper_is_spoken_to_with_version_2() {
    let port_mapper = Version2PortMapper::default();
    let server = Server::builder(ServerConfig::default())
        .service(pmap_vers::Dispatcher(port_mapper.clone()))
        .build();
    // Like rpcbind, on one port over TCP and UDP.
    // Another socket may hold the UDP port of the same number: try again.
    let (listener, socket) = loop {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        if let Ok(socket) = UdpSocket::bind(listener.local_addr().unwrap()).await {
            break (listener, socket);
        }
    };
    let address = listener.local_addr().unwrap();
    let rpcbind = Rpcbind::Tcp(address);
    let serving = tokio::spawn({
        let server = server.clone();
        async move {
            let (tcp, udp) = tokio::join!(server.serve_tcp(listener), server.serve_udp(socket));
            tcp.and(udp)
        }
    });

    // Version 4 is refused, so IPv4 TCP and UDP go in with version 2 SET.
    let ports = [(Protocol::Tcp, 2049), (Protocol::Udp, 2050)];
    let registered = Registration::register(rpcbind.clone(), PROGRAM, 1, &ports)
        .await
        .unwrap();
    let table = registration::dump(&rpcbind).await.unwrap();
    let held: Vec<_> = table.iter().map(|m| (m.prot, m.port)).collect();
    assert_eq!(held, [(6, 2049), (17, 2050)]);
    // GETADDR's fallback is GETPORT, for the IPv4 netids.
    let found = registration::get_address(&rpcbind, PROGRAM, 1, "udp")
        .await
        .unwrap();
    assert_eq!(
        found,
        Some(Endpoint::Udp("127.0.0.1:2050".parse().unwrap()))
    );
    // What version 2 cannot hold is a clear error, and nothing is changed.
    let ipv6 = [Endpoint::Tcp("[::1]:2049".parse().unwrap())];
    let refused = Registration::register_endpoints(rpcbind.clone(), PROGRAM, 2, &ipv6).await;
    match refused {
        Err(e @ RegistrationError::NeedsVersion4 { .. }) => {
            assert!(e.to_string().contains("tcp6"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    registered.unregister().await.unwrap();
    assert!(port_mapper.table.lock().unwrap().is_empty());
    server.shutdown();
    serving.await.unwrap().unwrap();
}
