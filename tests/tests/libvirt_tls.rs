//! libvirt's `tls` transport: a local CA made for the test (with openssl),
//! the example daemon behind TLS, our client and stock `virsh` (with
//! `?pkipath=`) connecting through it, and the certificate checks that
//! must fail; then a libvirtd of the test's own with those certificates,
//! TLS only, listing the test driver's domains to our client as to virsh.

use std::path::{Path, PathBuf};
use std::process::Command;

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::{Client, Dispatcher};
use example_libvirt_daemon::remote::{
    RemoteAuthType, RemoteConnectListAllDomainsArgs, RemoteConnectOpenArgs,
};
use tokio::net::TcpListener;
use xdrgen_runtime::libvirt::{Connection, ConnectionConfig, Server, ServerConfig, tls};
use xdrgen_tests::{libvirt, pki};

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
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

fn pki(tag: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("xdrgen-pki-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    make_pki(&dir, &format!("xdrgen test CA {tag}"));
    TempDir(dir)
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
    if !pki::openssl_available("libvirt_tls::tls_with_certificates_checked_both_ways") {
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
    let _mixed = TempDir(mixed.clone());
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

/// A libvirtd of this test alone: TLS only, on a free loopback port, in
/// a directory of its own, removed once it has stopped.
struct Libvirtd {
    // Fields drop in order: the directory goes after the process stops.
    _process: libvirt::Libvirtd,
    _dir: TempDir,
    port: u16,
}

impl Libvirtd {
    fn start(pki: &Path) -> Libvirtd {
        let dir = std::env::temp_dir().join(format!("xdrgen-libvirtd-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // Made first, so the directory goes even if libvirtd fails to start.
        let dir_guard = TempDir(dir.clone());
        // A port free now; libvirtd binds it a moment later.
        let port = libvirt::free_port();
        let file = |name: &str| pki.join(name).display().to_string();
        let config = format!(
            "listen_tls = 1\nlisten_tcp = 0\nlisten_addr = \"127.0.0.1\"\ntls_port = \"{port}\"\n\
             key_file = \"{}\"\ncert_file = \"{}\"\nca_file = \"{}\"\n\
             auth_tls = \"none\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
            file("serverkey.pem"),
            file("servercert.pem"),
            file("cacert.pem"),
        );
        // Polls its TLS port, as start.sh polls with virsh.
        let process = libvirt::Libvirtd::start(&dir, &config, &[], |_| {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Libvirtd {
            _process: process,
            _dir: dir_guard,
            port,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_over_tls_to_a_real_libvirtd_lists_what_virsh_lists() {
    const TEST: &str = "libvirt_tls::our_client_over_tls_to_a_real_libvirtd_lists_what_virsh_lists";
    if !xdrgen_tests::require_tools(
        TEST,
        &[
            ("openssl", &["version"], "openssl"),
            ("libvirtd", &["--version"], "libvirt-daemon"),
            ("virsh", &["--version"], "libvirt-clients"),
        ],
    ) {
        return;
    }
    if !libvirt::is_root() {
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
