//! libvirt's SASL authentication, both ways:
//! - our client against our server (the example daemon under
//!   `AuthPolicy::Sasl`) over a Unix socket, TLS and plain TCP: the right
//!   password, a wrong one, an unknown user, forced mechanisms, the auth
//!   file, no credentials;
//! - stock `virsh` authenticating to our daemon, its credentials from an
//!   auth file (`LIBVIRT_AUTH_FILE`), SCRAM-SHA-256 over a Unix socket and
//!   PLAIN over TLS;
//! - our client against a libvirtd this test starts with its own SASL
//!   configuration (`SASL_CONF_PATH`: `mech_list`, a sasldb with a user
//!   made by `saslpasswd2`), over its Unix socket, TLS and TCP.
//!
//! Tools: openssl (TLS halves), virsh (libvirt-clients), libvirtd
//! (libvirt-daemon, as root), saslpasswd2 (sasl2-bin) and Cyrus SASL's
//! SCRAM and PLAIN plugins (libsasl2-modules). Missing ones skip loudly, or
//! fail under `XDRGEN_REQUIRE_PEERS=1`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::Dispatcher;
use xdrgen_runtime::XdrString;
use xdrgen_runtime::libvirt::{
    AUTH_FAILED, AuthPolicy, Connection, CredentialKind, Credentials, Error, OpenError,
    OpenOptions, PasswordFile, SaslConfig, SaslError, Server, ServerConfig, error_domain, tls,
};
use xdrgen_tests::{libvirt, pki};

const REMOTE_PROGRAM: u32 = 0x2000_8086;
const PROC_CONNECT_GET_TYPE: i32 = 3;

/// The error and each of its sources, joined with ": ".
fn chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let _ = write!(out, ": {e}");
        next = e.source();
    }
    out
}

fn with_password(user: &str, password: &str) -> OpenOptions {
    OpenOptions {
        credentials: Some(Credentials::password(user, password)),
        ..OpenOptions::default()
    }
}

async fn open(uri: &str, options: OpenOptions) -> Result<Connection, OpenError> {
    Connection::open(uri, options).await
}

/// The connection is open and authenticated: a call past the
/// authentication procedures answers.
async fn driver_type(connection: &Connection) -> String {
    let driver: XdrString = connection
        .call(REMOTE_PROGRAM, 1, PROC_CONNECT_GET_TYPE, &())
        .await
        .unwrap_or_else(|e| panic!("CONNECT_GET_TYPE: {}", chain(&e)));
    driver.to_str().unwrap().to_owned()
}

/// `e` is the daemon's own `VIR_ERR_AUTH_FAILED` answer to a SASL step.
fn assert_refused_by_daemon(e: &OpenError, message: &str) {
    let OpenError::Sasl(SaslError::Daemon {
        source: Error::Remote(remote),
        ..
    }) = e
    else {
        panic!("expected the daemon's refusal, got {}", chain(e));
    };
    assert_eq!(remote.code, AUTH_FAILED, "{remote:?}");
    assert_eq!(remote.domain, error_domain::RPC, "{remote:?}");
    let text = remote.message.as_ref().map(|m| m.to_string_lossy());
    assert_eq!(text.as_deref(), Some(message), "{remote:?}");
}

/// libvirtd's message for every failed SASL step.
const LIBVIRT_AUTH_FAILED: &str = "authentication failed: authentication failed";

fn sasl_policy(mechanisms: &[&str]) -> AuthPolicy {
    let users = PasswordFile::parse("alice:wonderland\nbob:builder\n").unwrap();
    AuthPolicy::Sasl {
        sasl: SaslConfig::new(users).with_mechanisms(mechanisms).unwrap(),
        tls_allowed_dn_list: Vec::new(),
    }
}

fn daemon() -> Server {
    Server::builder(ServerConfig::default())
        .service(Dispatcher(Daemon::new()))
        .build()
}

/// Serves `server` on a Unix socket in `dir`; its path.
fn serve_unix(server: &Server, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let server = server.clone();
    tokio::spawn(async move { server.serve_unix(listener).await });
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_authenticates_to_our_daemon() {
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "ours");
    let server = daemon();
    let all = server.with_auth(sasl_policy(&["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]));
    let socket = serve_unix(&all, &dir, "all.sock");
    let uri = format!("test+unix:///default?socket={}", socket.display());

    // The right password: SCRAM-SHA-256, and calls past authentication.
    let connection = open(&uri, with_password("alice", "wonderland"))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(driver_type(&connection).await, "XDRGEN");
    // Each mechanism when forced.
    for mechanism in ["SCRAM-SHA-1", "PLAIN", "scram-sha-256"] {
        let connection = open(
            &format!("{uri}&auth=sasl.{mechanism}"),
            with_password("bob", "builder"),
        )
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {}", chain(&e)));
        assert_eq!(driver_type(&connection).await, "XDRGEN");
    }

    // A wrong password, an unknown user: the daemon's own error, as
    // libvirtd words it; through SCRAM and PLAIN.
    for (user, password, mechanism) in [
        ("alice", "looking-glass", "SCRAM-SHA-256"),
        ("alice", "looking-glass", "PLAIN"),
        ("mallory", "wonderland", "SCRAM-SHA-256"),
        ("mallory", "wonderland", "PLAIN"),
    ] {
        let e = open(
            &format!("{uri}&auth=sasl.{mechanism}"),
            with_password(user, password),
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("{user}/{password} over {mechanism} was let in"));
        assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);
    }

    // Credentials from an auth file (`authfile=`), no callback.
    let auth_file = dir.join("auth.conf");
    std::fs::write(
        &auth_file,
        "[credentials-wonder]\nauthname=alice\npassword=wonderland\n\n\
         [auth-libvirt-localhost]\ncredentials=wonder\n",
    )
    .unwrap();
    let connection = open(
        &format!("{uri}&authfile={}", auth_file.display()),
        OpenOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("auth file: {}", chain(&e)));
    assert_eq!(driver_type(&connection).await, "XDRGEN");

    // No credentials at all: this side says what is missing.
    let e = open(&uri, OpenOptions::default()).await.err().unwrap();
    assert!(
        matches!(
            e,
            OpenError::Sasl(SaslError::NoCredential {
                kind: CredentialKind::AuthName,
                ..
            })
        ),
        "{}",
        chain(&e)
    );

    // A daemon offering SCRAM-SHA-256 only: PLAIN forced is refused before
    // any exchange, naming both lists.
    let scram_only = server.with_auth(sasl_policy(&["SCRAM-SHA-256"]));
    let socket = serve_unix(&scram_only, &dir, "scram.sock");
    let e = open(
        &format!(
            "test+unix:///default?socket={}&auth=sasl.PLAIN",
            socket.display()
        ),
        with_password("alice", "wonderland"),
    )
    .await
    .err()
    .unwrap();
    let OpenError::Sasl(SaslError::MechanismRefused {
        wanted, offered, ..
    }) = &e
    else {
        panic!("{}", chain(&e));
    };
    assert_eq!(
        (wanted.as_str(), offered.as_slice()),
        ("PLAIN", &["SCRAM-SHA-256".to_string()][..])
    );
    assert!(
        chain(&e).contains("the daemon offers SCRAM-SHA-256, this client supports"),
        "{}",
        chain(&e)
    );

    // Plain TCP: no mechanism here has the security layer libvirt wants
    // there, so the daemon offers none and says so as libvirtd does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tcp = all.clone();
    tokio::spawn(async move { tcp.serve_tcp(listener).await });
    let e = open(
        &format!("test+tcp://127.0.0.1:{port}/default"),
        with_password("alice", "wonderland"),
    )
    .await
    .err()
    .unwrap();
    assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);

    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// `sasl_allowed_username_list`: a user who proves the password but is not
/// on the list is refused as libvirtd refuses it (the daemon's
/// "authentication failed"), and may try again as someone on the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_off_the_allowed_username_list_are_refused() {
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "allowed");
    let server = daemon();
    let users = PasswordFile::parse("alice:wonderland\nbob:builder\n").unwrap();
    let listed = server.with_auth(AuthPolicy::Sasl {
        sasl: SaslConfig::new(users.clone()).with_allowed_usernames(&["b?b", "carol*"]),
        tls_allowed_dn_list: Vec::new(),
    });
    let socket = serve_unix(&listed, &dir, "listed.sock");
    let uri = format!("test+unix:///default?socket={}", socket.display());
    for mechanism in ["SCRAM-SHA-256", "PLAIN"] {
        let e = open(
            &format!("{uri}&auth=sasl.{mechanism}"),
            with_password("alice", "wonderland"),
        )
        .await
        .err()
        .unwrap_or_else(|| panic!("alice is not on the list but got in over {mechanism}"));
        assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);
        let connection = open(
            &format!("{uri}&auth=sasl.{mechanism}"),
            with_password("bob", "builder"),
        )
        .await
        .unwrap_or_else(|e| panic!("bob over {mechanism}: {}", chain(&e)));
        assert_eq!(driver_type(&connection).await, "XDRGEN");
    }

    // An empty list admits nobody, as libvirtd's `[]` does.
    let nobody = server.with_auth(AuthPolicy::Sasl {
        sasl: SaslConfig::new(users).with_allowed_usernames::<&str>(&[]),
        tls_allowed_dn_list: Vec::new(),
    });
    let socket = serve_unix(&nobody, &dir, "nobody.sock");
    let e = open(
        &format!("test+unix:///default?socket={}", socket.display()),
        with_password("bob", "builder"),
    )
    .await
    .err()
    .unwrap();
    assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);

    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// libvirt's pkipath layout in `dir`: a CA and, signed by it, a server
/// certificate for 127.0.0.1 and a client certificate.
fn make_pki(dir: &Path) {
    pki::make_ca(dir, "ca", "/CN=xdrgen SASL test CA");
    pki::sign(dir, "server", "/O=xdrgen/CN=127.0.0.1", "server", &[]);
    pki::sign(dir, "client", "/O=xdrgen/CN=client", "client", &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_uses_plain_over_tls_with_our_daemon() {
    const TEST: &str = "libvirt_sasl::our_client_uses_plain_over_tls_with_our_daemon";
    if !pki::openssl_available(TEST) {
        return;
    }
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "tls");
    make_pki(&dir);
    let server = daemon().with_auth(sasl_policy(&["PLAIN"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = tls::server_config(&dir, true).unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tls(listener, config).await });
    let uri = format!(
        "test+tls://127.0.0.1:{port}/default?pkipath={}",
        dir.display()
    );
    let connection = open(&uri, with_password("alice", "wonderland"))
        .await
        .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(driver_type(&connection).await, "XDRGEN");
    let e = open(&uri, with_password("alice", "cheshire"))
        .await
        .err()
        .unwrap();
    assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs virsh with `auth_file` as its `LIBVIRT_AUTH_FILE`: whether it
/// succeeded, and its output and error output.
async fn virsh(uri: &str, auth_file: &Path, args: &[&str]) -> (bool, String) {
    let mut command = libvirt::virsh_command(uri, 30, args);
    command
        .env("LIBVIRT_AUTH_FILE", auth_file)
        .stdin(Stdio::null());
    libvirt::output(command).await
}

/// An auth file for virsh giving `user` and `password` for every host.
fn virsh_auth_file(dir: &Path, name: &str, user: &str, password: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[credentials-test]\nauthname={user}\nusername={user}\npassword={password}\n\n\
             [auth-libvirt-default]\ncredentials=test\n"
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn virsh_authenticates_to_our_daemon() {
    const TEST: &str = "libvirt_sasl::virsh_authenticates_to_our_daemon";
    if !libvirt::virsh_available(TEST) {
        return;
    }
    if !cyrus_plugins_available(TEST) {
        return;
    }
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "virsh");
    let server = daemon();
    let good = virsh_auth_file(&dir, "good.conf", "alice", "wonderland");
    let bad = virsh_auth_file(&dir, "bad.conf", "alice", "queen-of-hearts");

    // SCRAM-SHA-256 over a Unix socket.
    let scram = server.with_auth(sasl_policy(&["SCRAM-SHA-256"]));
    let socket = serve_unix(&scram, &dir, "virsh.sock");
    let uri = format!("test+unix:///default?socket={}", socket.display());
    let (ok, out) = virsh(&uri, &good, &["list", "--all", "--name"]).await;
    assert!(ok, "virsh with the right password: {out}");
    assert!(
        out.contains("demo-running") && out.contains("demo-off"),
        "{out}"
    );
    let (ok, out) = virsh(&uri, &bad, &["list", "--all", "--name"]).await;
    assert!(!ok, "virsh with a wrong password got in: {out}");
    assert!(out.contains("authentication failed"), "{out}");

    // PLAIN over TLS (with the certificates libvirt's client wants).
    if pki::openssl_available(&format!("{TEST} (PLAIN over TLS)")) {
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki).unwrap();
        make_pki(&pki);
        let plain = server.with_auth(sasl_policy(&["PLAIN"]));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = tls::server_config(&pki, true).unwrap();
        tokio::spawn(async move { plain.serve_tls(listener, config).await });
        let uri = format!(
            "test+tls://127.0.0.1:{port}/default?pkipath={}",
            pki.display()
        );
        let (ok, out) = virsh(&uri, &good, &["list", "--all", "--name"]).await;
        assert!(ok, "virsh over TLS with PLAIN: {out}");
        assert!(out.contains("demo-running"), "{out}");
        let (ok, out) = virsh(&uri, &bad, &["list", "--all", "--name"]).await;
        assert!(!ok, "virsh over TLS with a wrong password got in: {out}");
        assert!(out.contains("authentication failed"), "{out}");
    }
    server.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Whether Cyrus SASL's SCRAM and PLAIN plugins, which libvirt's client
/// and libvirtd load, are installed; without them `test` is skipped
/// loudly (and fails when `XDRGEN_REQUIRE_PEERS` is set).
fn cyrus_plugins_available(test: &str) -> bool {
    let found = ["libscram.so.2", "libplain.so.2"].iter().all(|plugin| {
        [
            "/usr/lib/x86_64-linux-gnu/sasl2",
            "/usr/lib/aarch64-linux-gnu/sasl2",
            "/usr/lib/sasl2",
        ]
        .iter()
        .any(|dir| Path::new(dir).join(plugin).exists())
    });
    xdrgen_tests::require(
        test,
        "Cyrus SASL's SCRAM and PLAIN plugins are missing (Debian: libsasl2-modules)",
        found.then_some(()),
    )
    .is_some()
}

/// A libvirtd of this test alone, with SASL on its Unix socket, TLS and
/// TCP listeners and its own Cyrus SASL configuration (`SASL_CONF_PATH`),
/// whose sasldb has one user made with `saslpasswd2`. Stopped when
/// dropped.
struct Libvirtd {
    process: libvirt::Libvirtd,
    tls_port: u16,
    tcp_port: u16,
}

impl Libvirtd {
    fn start(dir: &Path, pki: &Path) -> Libvirtd {
        // Cyrus reads `<SASL_CONF_PATH>/<app>.conf`; libvirtd's app is
        // "libvirt".
        let sasldb = dir.join("passwd.db");
        std::fs::write(
            dir.join("libvirt.conf"),
            format!(
                "mech_list: scram-sha-256 plain\nsasldb_path: {}\n",
                sasldb.display()
            ),
        )
        .unwrap();
        let mut saslpasswd = Command::new("saslpasswd2")
            .args(["-c", "-p", "-a", "libvirt", "-f"])
            .arg(&sasldb)
            .arg("alice")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("saslpasswd2 runs");
        {
            use std::io::Write as _;
            let mut stdin = saslpasswd.stdin.take().unwrap();
            stdin.write_all(b"wonderland").unwrap();
        }
        let out = saslpasswd.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "saslpasswd2: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let [tls_port, tcp_port] = libvirt::free_ports();
        let file = |name: &str| pki.join(name).display().to_string();
        let config = format!(
            "listen_tls = 1\nlisten_tcp = 1\nlisten_addr = \"127.0.0.1\"\n\
             tls_port = \"{tls_port}\"\ntcp_port = \"{tcp_port}\"\n\
             key_file = \"{}\"\ncert_file = \"{}\"\nca_file = \"{}\"\n\
             auth_tls = \"sasl\"\nauth_tcp = \"sasl\"\nauth_unix_rw = \"sasl\"\n\
             auth_unix_ro = \"none\"\n",
            file("serverkey.pem"),
            file("servercert.pem"),
            file("cacert.pem"),
        );
        let process = libvirt::Libvirtd::start(dir, &config, &[("SASL_CONF_PATH", dir)], |d| {
            [tls_port, tcp_port]
                .iter()
                .all(|&port| std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
                && d.socket().exists()
        });
        Libvirtd {
            process,
            tls_port,
            tcp_port,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_authenticates_to_a_real_libvirtd() {
    const TEST: &str = "libvirt_sasl::our_client_authenticates_to_a_real_libvirtd";
    if !xdrgen_tests::require_tools(
        TEST,
        &[
            ("openssl", &["version"], "openssl"),
            ("libvirtd", &["--version"], "libvirt-daemon"),
            ("saslpasswd2", &["-v"], "sasl2-bin"),
        ],
    ) {
        return;
    }
    if !cyrus_plugins_available(TEST) {
        return;
    }
    let Some(()) = xdrgen_tests::require(
        TEST,
        "starting a libvirtd of its own needs root",
        libvirt::is_root().then_some(()),
    ) else {
        return;
    };
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "libvirtd");
    let pki = dir.join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_pki(&pki);
    let (d, p) = (dir.clone(), pki.clone());
    let daemon = tokio::task::spawn_blocking(move || Libvirtd::start(&d, &p))
        .await
        .unwrap();
    let unix = format!(
        "test+unix:///default?socket={}",
        daemon.process.socket().display()
    );

    // The right password over the Unix socket: SCRAM-SHA-256, then a call.
    let connection = open(&unix, with_password("alice", "wonderland"))
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", chain(&e), daemon.process.log()));
    assert_eq!(driver_type(&connection).await, "TEST");
    drop(connection);

    // A wrong password and an unknown user: libvirtd's own error.
    for (user, password) in [("alice", "looking-glass"), ("mallory", "wonderland")] {
        let e = open(&unix, with_password(user, password))
            .await
            .err()
            .unwrap_or_else(|| panic!("{user}/{password} was let in"));
        assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);
    }

    // A mechanism libvirtd does not offer: refused before any exchange,
    // naming what it offers.
    let e = open(
        &format!("{unix}&auth=sasl.SCRAM-SHA-1"),
        with_password("alice", "wonderland"),
    )
    .await
    .err()
    .unwrap();
    let OpenError::Sasl(SaslError::MechanismRefused { offered, .. }) = &e else {
        panic!("{}", chain(&e));
    };
    assert!(
        offered.contains(&"SCRAM-SHA-256".to_string()),
        "{offered:?}"
    );
    assert!(!offered.contains(&"SCRAM-SHA-1".to_string()), "{offered:?}");

    // PLAIN over TLS.
    let tls_uri = format!(
        "test+tls://127.0.0.1:{}/default?pkipath={}&auth=sasl.PLAIN",
        daemon.tls_port,
        pki.display()
    );
    let connection = open(&tls_uri, with_password("alice", "wonderland"))
        .await
        .unwrap_or_else(|e| panic!("{}\n{}", chain(&e), daemon.process.log()));
    assert_eq!(driver_type(&connection).await, "TEST");
    drop(connection);
    let e = open(&tls_uri, with_password("alice", "looking-glass"))
        .await
        .err()
        .unwrap();
    assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);

    // Plain TCP: libvirtd wants a security layer these mechanisms lack,
    // so it lists none and refuses INIT.
    let e = open(
        &format!("test+tcp://127.0.0.1:{}/default", daemon.tcp_port),
        with_password("alice", "wonderland"),
    )
    .await
    .err()
    .unwrap();
    assert_refused_by_daemon(&e, LIBVIRT_AUTH_FAILED);
    assert!(chain(&e).contains("AUTH_SASL_INIT"), "{}", chain(&e));

    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Set for the copy of this test binary that opens the URI it names as
/// an unprivileged user and prints the outcome.
const POLKIT_CLIENT_URI: &str = "XDRGEN_POLKIT_CLIENT_URI";

/// The client half of `polkit_is_asked_for_when_libvirtd_wants_it`, run in
/// a copy of this binary as `nobody` (libvirtd lets root past polkit
/// without asking it); does nothing otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polkit_client_half() {
    let Some(uri) = std::env::var_os(POLKIT_CLIENT_URI) else {
        return;
    };
    let outcome = match open(uri.to_str().unwrap(), OpenOptions::default()).await {
        Ok(_) => "opened".to_string(),
        Err(OpenError::Polkit(Error::Remote(remote))) => format!(
            "polkit refused: code {} domain {}: {}",
            remote.code,
            remote.domain,
            remote
                .message
                .as_ref()
                .map(|m| m.to_string_lossy().into_owned())
                .unwrap_or_default()
        ),
        Err(e) => format!("other error: {}", chain(&e)),
    };
    println!("POLKIT-OUTCOME {outcome}");
}

/// A libvirtd whose Unix socket wants polkit (`auth_unix_rw = "polkit"`).
/// libvirtd lets root in without asking polkit (AUTH_LIST answers `none`
/// to uid 0), which this checks first; an unprivileged client gets
/// `polkit` from AUTH_LIST and answers it with AUTH_POLKIT, as libvirt's
/// remote driver does. No polkit authority runs here (no system D-Bus), so
/// libvirtd cannot ask it and refuses ("Unable to get system bus
/// connection"): its own error comes back as `OpenError::Polkit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polkit_is_asked_for_when_libvirtd_wants_it() {
    const TEST: &str = "libvirt_sasl::polkit_is_asked_for_when_libvirtd_wants_it";
    if !xdrgen_tests::require_tools(
        TEST,
        &[
            ("libvirtd", &["--version"], "libvirt-daemon"),
            ("setpriv", &["--version"], "util-linux"),
        ],
    ) {
        return;
    }
    let Some(()) = xdrgen_tests::require(
        TEST,
        "starting a libvirtd of its own needs root",
        libvirt::is_root().then_some(()),
    ) else {
        return;
    };
    let dir = xdrgen_tests::scratch_dir("libvirt-sasl", "polkit");
    let d = dir.clone();
    let daemon = tokio::task::spawn_blocking(move || {
        libvirt::Libvirtd::start(
            &d,
            "listen_tls = 0\nlisten_tcp = 0\nauth_unix_rw = \"polkit\"\nauth_unix_ro = \"polkit\"\n",
            &[],
            |daemon| std::os::unix::net::UnixStream::connect(daemon.socket()).is_ok(),
        )
    })
    .await
    .unwrap();
    let uri = format!("test+unix:///default?socket={}", daemon.socket().display());

    // Root: let in without polkit.
    let connection = open(&uri, OpenOptions::default())
        .await
        .unwrap_or_else(|e| panic!("root: {}\n{}", chain(&e), daemon.log()));
    assert_eq!(driver_type(&connection).await, "TEST");
    drop(connection);

    // nobody: AUTH_POLKIT, refused by libvirtd in its own words.
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [dir.as_path(), &dir.join("sock")] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let exe = std::env::current_exe().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(exe)
            .args([
                "--exact",
                "libvirt_sasl::polkit_client_half",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(POLKIT_CLIENT_URI, uri)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let outcome = stdout
        .lines()
        .find_map(|l| l.split_once("POLKIT-OUTCOME ").map(|(_, outcome)| outcome))
        .unwrap_or_else(|| {
            panic!(
                "the client half printed no outcome: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    // libvirtd 9.0 reports the missing system bus as an internal error
    // of its D-Bus layer; the point is that it answered AUTH_POLKIT.
    assert!(
        outcome.starts_with("polkit refused: ") && outcome.contains("system bus"),
        "{outcome}\n{}",
        daemon.log()
    );
    drop(daemon);
    let _ = std::fs::remove_dir_all(&dir);
}
