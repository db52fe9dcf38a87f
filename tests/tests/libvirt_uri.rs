//! `Connection::open` with libvirt URIs against the real libvirtd (test
//! driver) that `scripts/test.sh` starts from `../shared/peers/libvirt`:
//! unix, tcp, ext (a script running `socat`), and ssh through an OpenSSH
//! server this test starts on a free loopback port with a host key and a
//! client key it makes, proxying with netcat to libvirtd's socket as
//! libvirt's own client does. Every opened connection asks the daemon which
//! URI it opened (CONNECT_GET_URI): the name CONNECT_OPEN sent.
//!
//! Without `XDRGEN_PEERS_STATE` these tests say they are skipped; with
//! `XDRGEN_REQUIRE_PEERS=1` they fail instead. Packages: socat,
//! openssh-server, openssh-client, netcat-openbsd.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use xdrgen_runtime::XdrString;
use xdrgen_runtime::libvirt::{AuthType, Connection, Error, OpenError, OpenOptions, error_code};
use xdrgen_tests::{libvirt, pki};

const REMOTE_PROGRAM: u32 = 0x2000_8086;
const PROC_CONNECT_GET_TYPE: i32 = 3;
const PROC_DOMAIN_DEFINE_XML: i32 = 11;
const PROC_CONNECT_GET_URI: i32 = 110;

fn libvirt_socket(state: &Path) -> PathBuf {
    state.join("libvirt/sock/libvirt-sock")
}

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

async fn open(uri: &str) -> Result<Connection, OpenError> {
    Connection::open(uri, OpenOptions::default()).await
}

/// The daemon opened the test driver under the name libvirt's client
/// would have sent.
async fn check_opened(connection: &Connection, uri: &str) {
    let opened: XdrString = connection
        .call(REMOTE_PROGRAM, 1, PROC_CONNECT_GET_URI, &())
        .await
        .unwrap_or_else(|e| panic!("{uri}: {}", chain(&e)));
    assert_eq!(opened.to_str().unwrap(), "test:///default", "{uri}");
    let driver: XdrString = connection
        .call(REMOTE_PROGRAM, 1, PROC_CONNECT_GET_TYPE, &())
        .await
        .unwrap();
    assert_eq!(driver.to_str().unwrap(), "TEST", "{uri}");
}

async fn open_and_check(uri: &str) -> Connection {
    let connection = open(uri)
        .await
        .unwrap_or_else(|e| panic!("{uri}: {}", chain(&e)));
    check_opened(&connection, uri).await;
    connection
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_and_tcp_uris_open_the_test_driver() {
    let Some(state) = xdrgen_tests::peers("libvirt_uri::unix_and_tcp_uris_open_the_test_driver")
    else {
        return;
    };
    let socket = libvirt_socket(&state);
    open_and_check(&format!("test+unix:///default?socket={}", socket.display())).await;
    open_and_check("test+tcp://127.0.0.1:16509/default").await;
    // tcp's default port is libvirtd's 16509.
    open_and_check("test+tcp://127.0.0.1/default").await;

    // A socket nobody listens on: the error names it.
    let e = open("test+unix:///default?socket=/nonexistent/libvirt-sock")
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&e, OpenError::Connect { target, .. } if target == "/nonexistent/libvirt-sock"),
        "{e:?}"
    );
    assert!(
        chain(&e).contains("(/nonexistent/libvirt-sock)"),
        "{}",
        chain(&e)
    );

    // A driver path the daemon cannot open: libvirt's own error, with the
    // name that was sent.
    let e = open("test+tcp://127.0.0.1:16509/nonexistent.xml?no_verify=1")
        .await
        .err()
        .unwrap();
    let OpenError::ConnectOpen { name, source } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(name, "test:///nonexistent.xml");
    assert!(matches!(source, Error::Remote(_)), "{source:?}");

    // The daemon offers auth none only: asking for SASL is refused before
    // any exchange.
    let e = open("test+tcp://127.0.0.1:16509/default?auth=sasl")
        .await
        .err()
        .unwrap();
    assert!(
        matches!(
            &e,
            OpenError::AuthRejected { wanted: AuthType::Sasl, offered } if offered == &[AuthType::None]
        ),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_is_sent_in_connect_open() {
    let Some(state) = xdrgen_tests::peers("libvirt_uri::read_only_is_sent_in_connect_open") else {
        return;
    };
    // The read-write socket, so only CONNECT_OPEN's flag makes it
    // read-only.
    let uri = format!(
        "test+unix:///default?socket={}",
        libvirt_socket(&state).display()
    );
    let options = OpenOptions {
        read_only: true,
        ..OpenOptions::default()
    };
    let connection = Connection::open(&uri, options).await.unwrap();
    check_opened(&connection, &uri).await;
    let defined: Result<(), Error> = connection
        .call(
            REMOTE_PROGRAM,
            1,
            PROC_DOMAIN_DEFINE_XML,
            &XdrString::from("<domain type='test'><name>ro</name></domain>"),
        )
        .await;
    match defined {
        Err(Error::Remote(e)) => assert_eq!(e.code, error_code::OPERATION_DENIED, "{e:?}"),
        other => panic!("a read-only connection defined a domain: {other:?}"),
    }
}

/// A script file, executable.
fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn process_gone(pid: u32) -> bool {
    // Gone, or at least not a zombie nobody reaps.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('X')),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ext_runs_the_command_and_reaps_it() {
    let Some(state) = xdrgen_tests::peers("libvirt_uri::ext_runs_the_command_and_reaps_it") else {
        return;
    };
    if !xdrgen_tests::require_tools(
        "libvirt_uri::ext_runs_the_command_and_reaps_it",
        &[("socat", &["-V"], "socat")],
    ) {
        return;
    }
    let dir = xdrgen_tests::scratch_dir("libvirt-uri", "ext");
    let tunnel = dir.join("tunnel");
    let pid_file = dir.join("tunnel.pid");
    script(
        &tunnel,
        &format!(
            "echo $$ > '{}'\nexec socat - UNIX-CONNECT:'{}'",
            pid_file.display(),
            libvirt_socket(&state).display()
        ),
    );
    let uri = format!("test+ext:///default?command={}", tunnel.display());
    let connection = open_and_check(&uri).await;
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!process_gone(pid));
    // Dropping the connection kills the command, and it is reaped.
    drop(connection);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !process_gone(pid) {
        assert!(
            Instant::now() < deadline,
            "the ext command {pid} outlived its connection"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A command that fails: its error output and exit status are the
    // error's message.
    let failing = dir.join("failing");
    script(&failing, "echo 'tunnel refused by policy' >&2\nexit 3");
    let e = open(&format!(
        "test+ext:///default?command={}",
        failing.display()
    ))
    .await
    .err()
    .unwrap();
    let text = chain(&e);
    assert!(matches!(e, OpenError::AuthList(_)), "{text}");
    assert!(text.contains("tunnel refused by policy"), "{text}");
    assert!(text.contains("exit status: 3"), "{text}");

    // ext needs a command.
    let e = open("test+ext:///default").await.err().unwrap();
    assert!(chain(&e).contains("command"), "{}", chain(&e));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An `ssh` for `command=`: the system's ssh with its own configuration,
/// so the test neither reads nor writes the user's known hosts.
fn ssh_wrapper(dir: &Path, name: &str, known_hosts: &Path) -> PathBuf {
    let config = dir.join(format!("{name}_config"));
    std::fs::write(
        &config,
        format!(
            "UserKnownHostsFile {}\nGlobalKnownHostsFile /dev/null\nIdentitiesOnly yes\n",
            known_hosts.display()
        ),
    )
    .unwrap();
    let wrapper = dir.join(name);
    script(
        &wrapper,
        &format!("exec ssh -F '{}' \"$@\"", config.display()),
    );
    wrapper
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_through_a_real_sshd() {
    const TEST: &str = "libvirt_uri::ssh_through_a_real_sshd";
    let Some(state) = xdrgen_tests::peers(TEST) else {
        return;
    };
    if !libvirt::Sshd::available(TEST) {
        return;
    }
    let dir = xdrgen_tests::scratch_dir("libvirt-uri", "ssh");
    let sshd = libvirt::Sshd::start(&dir);
    let port = sshd.port;
    let ssh = sshd.ssh.clone();
    let socket = libvirt_socket(&state);
    let key = sshd.client_key.clone();
    let uri = |extra: &str, ssh: &Path| {
        format!(
            "test+ssh://root@127.0.0.1:{port}/default?socket={}&keyfile={}&command={}&no_tty=1{extra}",
            socket.display(),
            key.display(),
            ssh.display()
        )
    };

    // The key, the known host key, netcat to libvirtd's socket.
    let connection = open_and_check(&uri("", &ssh)).await;
    drop(connection);

    // A host key this client has never seen: ssh refuses, and its words
    // are the error; no_verify=1 accepts it.
    let unknown = ssh_wrapper(&dir, "ssh-unknown", &dir.join("unknown_hosts"));
    let e = open(&uri("", &unknown)).await.err().unwrap();
    let text = chain(&e);
    assert!(text.contains("Host key verification failed"), "{text}");
    open_and_check(&uri("&no_verify=1", &unknown)).await;

    // A key sshd does not know: refused, in ssh's words.
    libvirt::ssh_keygen(&dir.join("stranger_key"));
    let stranger = format!(
        "test+ssh://root@127.0.0.1:{port}/default?socket={}&keyfile={}&command={}&no_tty=1",
        socket.display(),
        dir.join("stranger_key").display(),
        ssh.display()
    );
    let e = open(&stranger).await.err().unwrap();
    let text = chain(&e);
    assert!(text.contains("Permission denied"), "{text}");

    drop(sshd);
    let _ = std::fs::remove_dir_all(&dir);
}

/// libvirt's pkipath layout in `dir`: a CA, and signed by it a server
/// certificate for 127.0.0.1 and a client certificate; and a second CA,
/// `roguecert.pem`, that signed neither.
fn make_pki(dir: &Path) {
    pki::make_ca(dir, "rogue", "/CN=xdrgen URI test rogue");
    pki::make_ca(dir, "ca", "/CN=xdrgen URI test ca");
    for who in ["server", "client"] {
        pki::sign(dir, who, &format!("/O=xdrgen/CN={who}"), who, &[]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_uris_and_authentication_against_our_daemon() {
    use example_libvirt_daemon::Daemon;
    use example_libvirt_daemon::remote::remote_program::Dispatcher;
    use xdrgen_runtime::libvirt::{AuthPolicy, Server, ServerConfig, tls};

    const TEST: &str = "libvirt_uri::tls_uris_and_authentication_against_our_daemon";
    if !pki::openssl_available(TEST) {
        return;
    }
    let pki = xdrgen_tests::scratch_dir("libvirt-uri", "tls");
    make_pki(&pki);
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(Daemon::new()))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let tls_server = tls::server_config(&pki, true).unwrap();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tls(listener, tls_server).await });

    // pkipath: the CA, the client's certificate and key.
    let uri = format!(
        "test+tls://127.0.0.1:{port}/default?pkipath={}",
        pki.display()
    );
    let connection = open(&uri)
        .await
        .unwrap_or_else(|e| panic!("{uri}: {}", chain(&e)));
    let driver: XdrString = connection
        .call(REMOTE_PROGRAM, 1, PROC_CONNECT_GET_TYPE, &())
        .await
        .unwrap();
    assert_eq!(driver.to_str().unwrap(), "XDRGEN");

    // A pkipath whose CA did not sign the daemon's certificate: refused,
    // unless no_verify=1.
    let distrust = pki.join("distrust");
    std::fs::create_dir_all(&distrust).unwrap();
    std::fs::copy(pki.join("roguecert.pem"), distrust.join("cacert.pem")).unwrap();
    for file in ["clientcert.pem", "clientkey.pem"] {
        std::fs::copy(pki.join(file), distrust.join(file)).unwrap();
    }
    let uri = format!(
        "test+tls://127.0.0.1:{port}/default?pkipath={}",
        distrust.display()
    );
    let e = open(&uri).await.err().unwrap();
    assert!(
        matches!(e, OpenError::Connect { .. }) && chain(&e).contains("UnknownIssuer"),
        "{}",
        chain(&e)
    );
    let connection = open(&format!("{uri}&no_verify=1"))
        .await
        .unwrap_or_else(|e| panic!("no_verify: {}", chain(&e)));
    let driver: XdrString = connection
        .call(REMOTE_PROGRAM, 1, PROC_CONNECT_GET_TYPE, &())
        .await
        .unwrap();
    assert_eq!(driver.to_str().unwrap(), "XDRGEN");

    // Missing TLS files: the error names the file.
    let e = open("test+tls://127.0.0.1:1/default?pkipath=/nonexistent/pki")
        .await
        .err()
        .unwrap();
    assert!(
        chain(&e).contains("/nonexistent/pki/cacert.pem"),
        "{}",
        chain(&e)
    );

    // A daemon that requires authentication offers SASL, and this one has
    // no SASL exchange (certificates only): opening fails in the exchange,
    // before CONNECT_OPEN (tests/tests/libvirt_sasl.rs has working ones).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let strict = server.with_auth(AuthPolicy::Required {
        tls_allowed_dn_list: Vec::new(),
    });
    tokio::spawn(async move { strict.serve_tcp(listener).await });
    let e = open(&format!("test+tcp://127.0.0.1:{port}/default"))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, OpenError::Sasl(_)), "{}", chain(&e));
    assert!(chain(&e).contains("AUTH_SASL_INIT"), "{}", chain(&e));

    server.shutdown();
    let _ = std::fs::remove_dir_all(&pki);
}
