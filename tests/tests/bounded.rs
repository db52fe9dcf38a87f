//! Both servers under connection pressure, over real sockets: extra
//! connections over `max_connections` are closed at once and reported; a
//! connection that starts a message and stalls is closed after
//! `partial_message_timeout`; and a server out of file descriptors backs
//! off instead of spinning (under 5% of a core, measured from the
//! server process's CPU time), then serves again once descriptors are
//! freed.

use std::io::BufRead;
use std::net::SocketAddr;
use std::time::Duration;

use crate::capture::{self, Captured};
use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use xdrgen_runtime::libvirt::{self, Connection, ConnectionConfig};
use xdrgen_runtime::rpc::{ClientConfig, Endpoint, Server, ServerConfig};
use xdrgen_tests::peertest::{PeerTest, PtPoint, v1};

async fn onc_server(config: ServerConfig) -> SocketAddr {
    let server = Server::builder(config)
        .service(v1::Dispatcher(PeerTest::default()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

async fn libvirt_server(config: libvirt::ServerConfig) -> SocketAddr {
    let server = libvirt::Server::builder(config)
        .service(remote_program::Dispatcher(Daemon::new()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    addr
}

fn quick() -> ClientConfig {
    ClientConfig {
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

/// Whether the server closes `s` (end of stream or a reset) within 30 s.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Makes a PT_ADD call on a new connection, retrying (at most 30 s) while
/// the server still counts a connection the test has just closed.
async fn onc_call_succeeds(addr: SocketAddr) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let config = ClientConfig {
            timeout: Duration::from_secs(2),
            ..ClientConfig::default()
        };
        if let Ok(c) = v1::Client::connect(Endpoint::Tcp(addr), config).await {
            if c.pt_add(&PtPoint { x: 20, y: 22 }).await.ok() == Some(42) {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server does not serve a new connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn connections_over_max_connections_are_closed_at_once() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let addr = onc_server(ServerConfig {
        max_connections: Some(2),
        ..ServerConfig::default()
    })
    .await;
    let first = v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    let second = v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    assert_eq!(first.pt_add(&PtPoint { x: 1, y: 1 }).await.unwrap(), 2);
    assert_eq!(second.pt_add(&PtPoint { x: 1, y: 2 }).await.unwrap(), 3);

    let mut third = TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_by_server(&mut third).await,
        "the third connection is closed"
    );
    let e = captured.wait_for_event("2 connections open").await;
    assert_eq!(e.level, tracing::Level::WARN);
    // The two open ones go on.
    assert_eq!(first.pt_add(&PtPoint { x: 2, y: 2 }).await.unwrap(), 4);
    // Once one closes, a new connection is served.
    drop(first);
    onc_call_succeeds(addr).await;
    assert_eq!(second.pt_add(&PtPoint { x: 3, y: 3 }).await.unwrap(), 6);

    // The libvirt server the same way.
    let addr = libvirt_server(libvirt::ServerConfig {
        max_connections: Some(1),
        ..libvirt::ServerConfig::default()
    })
    .await;
    let only = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let only = remote_program::Client(only);
    only.connect_get_lib_version().await.unwrap();
    let mut extra = TcpStream::connect(addr).await.unwrap();
    assert!(closed_by_server(&mut extra).await);
    captured.wait_for_event("1 connections open").await;
    only.connect_get_lib_version().await.unwrap();
}

#[tokio::test]
async fn a_connection_that_stalls_mid_message_is_closed() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(capture::subscriber(&captured));
    let timeout = Duration::from_millis(200);
    let addr = onc_server(ServerConfig {
        partial_message_timeout: Some(timeout),
        ..ServerConfig::default()
    })
    .await;
    // An idle connection holds no partial message: it is left alone.
    let idle = v1::Client::connect(Endpoint::Tcp(addr), quick())
        .await
        .unwrap();
    // Half a record mark, then nothing: closed.
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(&[0x80, 0]).await.unwrap();
    assert!(
        closed_by_server(&mut slow).await,
        "the stalled connection is closed"
    );
    let e = captured.wait_for_event("not finished within").await;
    assert_eq!(e.fields["timeout_ms"], "200");
    assert_eq!(e.fields["side"], "ONC RPC server");
    assert_eq!(idle.pt_add(&PtPoint { x: 5, y: 5 }).await.unwrap(), 10);

    let addr = libvirt_server(libvirt::ServerConfig {
        partial_message_timeout: Some(timeout),
        ..libvirt::ServerConfig::default()
    })
    .await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    // A length word and part of a header.
    slow.write_all(&[0, 0, 0, 40, 0x20, 0]).await.unwrap();
    assert!(closed_by_server(&mut slow).await);
    let e = captured.wait_for_event("not finished within").await;
    let libvirt_side = captured
        .events_saying("not finished within")
        .into_iter()
        .any(|e| e.fields["side"] == "libvirt server");
    assert!(libvirt_side, "{e:?}");
}

/// Set in the child process the fd-limit test starts.
const CHILD: &str = "XDRGEN_FD_LIMIT_CHILD";
/// The child's descriptor limit.
const FD_LIMIT: usize = 64;

/// The server side of [`a_server_at_its_fd_limit_backs_off_then_serves_again`],
/// run in a child process with a low descriptor limit: an ONC RPC and a
/// libvirt server, their ports and every event printed on stdout.
#[test]
#[ignore = "the child process of a_server_at_its_fd_limit_backs_off_then_serves_again"]
fn fd_limit_child_servers() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    tracing::subscriber::set_global_default(capture::printing_subscriber()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let onc = onc_server(ServerConfig::default()).await;
        let libvirt = libvirt_server(libvirt::ServerConfig::default()).await;
        println!("PORTS {} {}", onc.port(), libvirt.port());
        std::future::pending::<()>().await;
    });
}

/// utime + stime of `pid`, in clock ticks (/proc/PID/stat fields 14, 15).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name, in parentheses, may hold spaces.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    // Field 3 (state) is after_name's first.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Kills the child by its pid when the test ends, however it ends.
struct ChildGuard(std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_server_at_its_fd_limit_backs_off_then_serves_again() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        xdrgen_testenv::skip(
            "a_server_at_its_fd_limit_backs_off_then_serves_again",
            "no /proc (process CPU time is read from /proc/PID/stat)",
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
        .arg(&exe)
        .args([
            "bounded::fd_limit_child_servers",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sh starts the child");
    let stdout = child.stdout.take().unwrap();
    let child = ChildGuard(child);
    let pid = child.0.id();
    let (tx, lines) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_for_line = |prefix: &str| -> String {
        loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the child printed no line starting {prefix:?}"));
            if line.starts_with(prefix) {
                return line;
            }
        }
    };
    let ports = wait_for_line("PORTS ");
    let ports: Vec<u16> = ports[6..].split(' ').map(|p| p.parse().unwrap()).collect();
    let onc: SocketAddr = ([127, 0, 0, 1], ports[0]).into();
    let libvirt_addr: SocketAddr = ([127, 0, 0, 1], ports[1]).into();

    // More connections than the child has descriptors: the ones it cannot
    // accept wait in the listen backlog.
    let mut held = Vec::new();
    for _ in 0..FD_LIMIT + 16 {
        held.push(std::net::TcpStream::connect(onc).unwrap());
    }
    for _ in 0..4 {
        held.push(std::net::TcpStream::connect(libvirt_addr).unwrap());
    }
    let failure = wait_for_line("EVENT WARN server: accepting a connection failed");
    assert!(failure.contains("os error 24"), "EMFILE: {failure}");

    // Give the backoff a second to reach its ceiling, then measure.
    std::thread::sleep(Duration::from_secs(1));
    let ticks_per_second = clock_ticks_per_second();
    let window = Duration::from_secs(3);
    let before = cpu_ticks(pid);
    std::thread::sleep(window);
    let used = cpu_ticks(pid) - before;
    #[allow(clippy::cast_precision_loss)]
    let share = used as f64 / ticks_per_second as f64 / window.as_secs_f64();
    println!(
        "server at its fd limit: {used} ticks of CPU in {window:?} ({:.2}% of a core)",
        share * 100.0
    );
    assert!(
        share < 0.05,
        "a server out of descriptors used {:.1}% of a core",
        share * 100.0
    );

    // Descriptors freed: both servers serve new connections again.
    drop(held);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        onc_call_succeeds(onc).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let config = ConnectionConfig {
                timeout: Duration::from_secs(2),
                ..ConnectionConfig::default()
            };
            if let Ok(c) = Connection::connect_tcp(libvirt_addr, config).await {
                if remote_program::Client(c)
                    .connect_get_lib_version()
                    .await
                    .is_ok()
                {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the libvirt server does not serve again"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    drop(child);
}
