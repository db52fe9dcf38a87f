//! libvirt's `tls` transport: a local CA made for the test (with openssl),
//! the example daemon behind TLS, our client and stock `virsh` (with
//! `?pkipath=`) connecting through it, and the certificate checks that
//! must fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::RemoteConnectListAllDomainsArgs;
use example_libvirt_daemon::remote::remote_program::{Client, Dispatcher};
use tokio::net::TcpListener;
use xdrgen_runtime::libvirt::{Connection, ConnectionConfig, Server, ServerConfig, tls};

struct Pki(PathBuf);

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and, signed by it, a server certificate for 127.0.0.1 and a
/// client certificate, with the extensions libvirt checks for.
fn make_pki(dir: &Path, ca_name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("ext.cnf"),
        "[req]\ndistinguished_name=dn\n[dn]\n[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n\
         [server]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n\
         [client]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let subject = format!("/CN={ca_name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "cakey.pem",
            "-out",
            "cacert.pem",
            "-days",
            "2",
            "-subj",
            &subject,
            "-extensions",
            "ca",
            "-config",
            "ext.cnf",
        ],
    );
    for (who, cn) in [("server", "127.0.0.1"), ("client", "xdrgen-client")] {
        let key = format!("{who}key.pem");
        let csr = format!("{who}.csr");
        let cert = format!("{who}cert.pem");
        let subject = format!("/O=xdrgen/CN={cn}");
        openssl(
            dir,
            &[
                "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj",
                &subject, "-config", "ext.cnf",
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "cacert.pem",
                "-CAkey",
                "cakey.pem",
                "-CAcreateserial",
                "-out",
                &cert,
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
                "-extensions",
                who,
            ],
        );
    }
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
