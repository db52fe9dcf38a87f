//! libvirt's `tls` transport: a local CA made for the test (with openssl),
//! the example daemon behind TLS, our client and stock `virsh` (with
//! `?pkipath=`) connecting through it, and the certificate checks that
//! must fail; then a libvirtd of the test's own with those certificates,
//! TLS only, listing the test driver's domains to our client as to virsh.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::{Client, Dispatcher};
use example_libvirt_daemon::remote::{
    RemoteAuthType, RemoteConnectListAllDomainsArgs, RemoteConnectOpenArgs,
};
use tokio::net::TcpListener;
use xdrgen_runtime::libvirt::{Connection, ConnectionConfig, Server, ServerConfig, tls};
use xdrgen_tests::pki;

struct Pki(PathBuf);

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A CA and, signed by it, a server certificate for 127.0.0.1 and a
/// client certificate, with the extensions libvirt checks for.
fn make_pki(dir: &Path, ca_name: &str) {
    pki::make_ca(dir, "ca", &format!("/CN={ca_name}"));
    pki::sign(dir, "server", "/O=xdrgen/CN=127.0.0.1", "server", &[]);
    pki::sign(dir, "client", "/O=xdrgen/CN=xdrgen-client", "client", &[]);
}

fn pki(tag: &str) -> Pki {
    let dir = std::env::temp_dir().join(format!("xdrgen-pki-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    make_pki(&dir, &format!("xdrgen test CA {tag}"));
    Pki(dir)
}

/// The error and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(inner) = next {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        next = inner.source();
    }
    text
}

/// `result` failed, and its error chain names `why` (for example rustls'
/// certificate error), so that an unrelated failure cannot pass.
fn expect_refusal<T: std::fmt::Debug, E: std::error::Error>(result: Result<T, E>, why: &str) {
    match result {
        Ok(v) => panic!("expected a refusal ({why}), got {v:?}"),
        Err(e) => {
            let text = chain(&e);
            assert!(text.contains(why), "refused for another reason: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_certificates_checked_both_ways() {
    if !xdrgen_testenv::has_tool("openssl", &["version"]) {
        xdrgen_tests::skip(
            "libvirt_tls::tls_with_certificates_checked_both_ways",
            "openssl is not installed",
        );
        return;
    }
    let good = pki("good");
    let rogue = pki("rogue");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(Daemon::new()))
        .build();
    let tls_server = tls::server_config(&good.0, true).unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tls(listener, tls_server).await });

    // Our client, with a certificate from the daemon's CA.
    let config = tls::client_config(&good.0).unwrap();
    let connection = Connection::connect_tls(
        addr,
        "127.0.0.1",
        config.clone(),
        ConnectionConfig::default(),
    )
    .await
    .unwrap();
    let client = Client(connection);
    let all = client
        .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        })
        .await
        .unwrap();
    assert_eq!(all.ret, 2);

    // The wrong name for the daemon's certificate.
    let wrong_name =
        Connection::connect_tls(addr, "example.invalid", config, ConnectionConfig::default()).await;
    expect_refusal(
        wrong_name.map(drop),
        "not valid for name \"example.invalid\"",
    );

    // A client that trusts another CA refuses the daemon.
    let distrust = tls::client_config(&rogue.0).unwrap();
    let refused =
        Connection::connect_tls(addr, "127.0.0.1", distrust, ConnectionConfig::default()).await;
    expect_refusal(refused.map(drop), "invalid peer certificate: UnknownIssuer");

    // A client certificate from another CA: the daemon refuses it.
    let mixed = good
        .0
        .with_file_name(format!("xdrgen-pki-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&mixed).unwrap();
    let _mixed = Pki(mixed.clone());
    std::fs::copy(good.0.join("cacert.pem"), mixed.join("cacert.pem")).unwrap();
    std::fs::copy(rogue.0.join("clientcert.pem"), mixed.join("clientcert.pem")).unwrap();
    std::fs::copy(rogue.0.join("clientkey.pem"), mixed.join("clientkey.pem")).unwrap();
    let impostor = Connection::connect_tls(
        addr,
        "127.0.0.1",
        tls::client_config(&mixed).unwrap(),
        ConnectionConfig::default(),
    )
    .await;
    // The daemon's alert names the reason; TLS 1.3 delivers it on the first
    // read rather than in the handshake.
    match impostor {
        Ok(connection) => {
            let result = Client(connection)
                .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
                    need_results: 1,
                    flags: 0,
                })
                .await;
            expect_refusal(result.map(drop), "received fatal alert: UnknownCA");
        }
        Err(e) => expect_refusal::<(), _>(Err(e), "received fatal alert: UnknownCA"),
    }

    // Stock virsh over TLS, with the same files as its pkipath.
    if xdrgen_testenv::has_tool("virsh", &["--version"]) {
        let uri = format!(
            "test+tls://127.0.0.1:{}/default?pkipath={}",
            addr.port(),
            good.0.display()
        );
        let out = tokio::task::spawn_blocking(move || {
            Command::new("timeout")
                .args(["30", "virsh", "-c", &uri, "list", "--all"])
                .output()
        })
        .await
        .unwrap()
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("demo-running"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        xdrgen_tests::skip(
            "libvirt_tls::tls_with_certificates_checked_both_ways (virsh half)",
            "virsh is not installed (Debian: libvirt-clients)",
        );
    }
    server.shutdown();
}

/// A libvirtd of this test alone (never the shared peer's): TLS only, on
/// a free loopback port, with its config, sockets, pid file and log in its
/// own directory and no hypervisor driver modules (as
/// `../shared/peers/libvirt/start.sh` runs it). Stopped by the pid it was
/// started with when dropped.
struct Libvirtd {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Libvirtd {
    fn start(pki: &Path) -> Libvirtd {
        let dir = std::env::temp_dir().join(format!("xdrgen-libvirtd-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        std::fs::create_dir_all(dir.join("no-driver-modules")).unwrap();
        // A port free now; libvirtd binds it a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let file = |name: &str| pki.join(name).display().to_string();
        let config = format!(
            "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
             key_file = \"{}\"\ncert_file = \"{}\"\nca_file = \"{}\"\n\
             auth_tls = \"none\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
             unix_sock_dir = \"{}\"\nmdns_adv = 0\nlog_outputs = \"3:stderr\"\n",
            file("serverkey.pem"),
            file("servercert.pem"),
            file("cacert.pem"),
            dir.join("sock").display(),
        );
        std::fs::write(dir.join("libvirtd.conf"), config).unwrap();
        let log = std::fs::File::create(dir.join("libvirtd.log")).unwrap();
        // In the foreground (no -d): the child is libvirtd itself.
        let child = Command::new("libvirtd")
            .arg("-l")
            .arg("-f")
            .arg(dir.join("libvirtd.conf"))
            .arg("-p")
            .arg(dir.join("libvirtd.pid"))
            .env("LIBVIRT_DRIVER_DIR", dir.join("no-driver-modules"))
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("libvirtd starts");
        let mut daemon = Libvirtd { child, dir, port };
        daemon.wait_until_listening();
        daemon
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
    }

    /// Polls its TLS port (as start.sh polls with virsh), at most 30 s.
    fn wait_until_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("libvirtd exited ({status}): {}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "libvirtd not listening on 127.0.0.1:{} after 30 s: {}",
                self.port,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        // SIGTERM lets it remove its sockets; SIGKILL if it does not exit.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_over_tls_to_a_real_libvirtd_lists_what_virsh_lists() {
    const TEST: &str = "libvirt_tls::our_client_over_tls_to_a_real_libvirtd_lists_what_virsh_lists";
    for (tool, args, package) in [
        ("openssl", &["version"][..], "openssl"),
        ("libvirtd", &["--version"][..], "libvirt-daemon"),
        ("virsh", &["--version"][..], "libvirt-clients"),
    ] {
        if !xdrgen_testenv::has_tool(tool, args) {
            xdrgen_tests::skip(
                TEST,
                &format!("{tool} is not installed (Debian: {package})"),
            );
            return;
        }
    }
    if !is_root() {
        xdrgen_tests::skip(TEST, "starting a libvirtd of its own needs root");
        return;
    }
    let pki = pki("libvirtd");
    let pki_dir = pki.0.clone();
    let daemon = tokio::task::spawn_blocking(move || Libvirtd::start(&pki_dir))
        .await
        .unwrap();
    let port = daemon.port;

    let connection = Connection::connect_tls(
        ("127.0.0.1", port),
        "127.0.0.1",
        tls::client_config(&pki.0).unwrap(),
        ConnectionConfig::default(),
    )
    .await
    .unwrap();
    let client = Client(connection);
    let auth = client.auth_list().await.unwrap();
    assert!(
        auth.types.contains(&RemoteAuthType::RemoteAuthNone),
        "{auth:?}"
    );
    client
        .connect_open(&RemoteConnectOpenArgs {
            name: Some("test:///default".into()),
            flags: 0,
        })
        .await
        .unwrap();
    let all = client
        .connect_list_all_domains(&RemoteConnectListAllDomainsArgs {
            need_results: 1,
            flags: 0,
        })
        .await
        .unwrap();
    assert_eq!(all.ret as usize, all.domains.len());
    let mut ours: Vec<String> = all.domains.iter().map(|d| d.name.to_string()).collect();
    ours.sort();
    assert!(ours.contains(&"test".to_string()), "{ours:?}");

    let uri = format!(
        "test+tls://127.0.0.1:{port}/default?pkipath={}",
        pki.0.display()
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args(["30", "virsh", "-c", &uri, "list", "--all", "--name"])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(
        out.status.success(),
        "virsh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    listed.sort();
    assert_eq!(ours, listed);

    client.connect_close().await.unwrap();
    drop(daemon);
}
