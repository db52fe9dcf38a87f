//! `example-libvirt-daemon [ADDR] [OPTIONS]`: serves the in-memory daemon
//! over TCP (default 127.0.0.1:16510) until Ctrl-C. Try
//! `virsh -c test+tcp://127.0.0.1:16510/default list --all`.
//!
//! Options, named as libvirtd's `libvirtd.conf` settings:
//! - `--max-clients N`, `--max-anonymous-clients N`,
//!   `--max-client-requests N`, `--max-workers N`, `--prio-workers N`;
//! - `--auth-tcp none|sasl`: `sasl` makes clients authenticate before
//!   anything but the authentication procedures runs;
//! - with the `sasl` feature, `--sasl-db FILE` gives `sasl` its SASL
//!   users: a file of `username:password` lines, passwords in plain text
//!   (keep it private), read once at start (not a Cyrus `sasldb2`), and
//!   `--sasl-mech-list LIST` the mechanisms offered (Cyrus SASL's
//!   `mech_list`: any of SCRAM-SHA-256, SCRAM-SHA-1, PLAIN; all by
//!   default), and `--sasl-allowed-username-list NAME` (repeatable; `*`
//!   and `?` wildcards) the only users admitted. As in libvirtd, SASL works over TLS only here: plain TCP
//!   needs a SASL security layer none of these mechanisms has, so under
//!   `--auth-tcp sasl` nobody can authenticate over TCP, and PLAIN is
//!   offered over TLS alone. Without `--sasl-db`, `sasl` admits only the
//!   certificates of `--tls-allowed-dn-list`;
//! - with the `tls` feature, `--listen-tls ADDR --pkipath DIR` also serves
//!   libvirt's TLS transport (certificates in libvirt's `pkipath` layout),
//!   `--auth-tls none|sasl` its policy, and `--tls-allowed-dn-list DN`
//!   (repeatable; `*` and `?` wildcards) the client certificates that
//!   authenticate under `sasl`.

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::Dispatcher;
use xdrgen_runtime::libvirt::{AuthPolicy, Server, ServerConfig};

/// What the command line asks for.
struct Options {
    addr: String,
    config: ServerConfig,
    auth_tcp: String,
    auth_tls: String,
    tls_allowed_dn_list: Vec<String>,
    listen_tls: Option<String>,
    pkipath: Option<String>,
    sasl_db: Option<String>,
    sasl_mech_list: Option<String>,
    sasl_allowed_username_list: Option<Vec<String>>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        addr: "127.0.0.1:16510".to_string(),
        config: ServerConfig::default(),
        auth_tcp: "none".to_string(),
        auth_tls: "none".to_string(),
        tls_allowed_dn_list: Vec::new(),
        listen_tls: None,
        pkipath: None,
        sasl_db: None,
        sasl_mech_list: None,
        sasl_allowed_username_list: None,
    };
    while let Some(arg) = args.next() {
        if !arg.starts_with("--") {
            options.addr = arg;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        let number = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{arg} {value}: {e}"))
        };
        let config = &mut options.config;
        match arg.as_str() {
            "--max-clients" => config.max_clients = number()?,
            "--max-anonymous-clients" => config.max_anonymous_clients = number()?,
            "--max-client-requests" => config.max_client_requests = number()?,
            "--max-workers" => config.max_workers = number()?,
            "--prio-workers" => config.prio_workers = number()?,
            "--auth-tcp" => options.auth_tcp = value,
            "--auth-tls" => options.auth_tls = value,
            "--tls-allowed-dn-list" => options.tls_allowed_dn_list.push(value),
            "--listen-tls" => options.listen_tls = Some(value),
            "--pkipath" => options.pkipath = Some(value),
            "--sasl-db" => options.sasl_db = Some(value),
            "--sasl-mech-list" => options.sasl_mech_list = Some(value),
            "--sasl-allowed-username-list" => options
                .sasl_allowed_username_list
                .get_or_insert_with(Vec::new)
                .push(value),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(options)
}

/// The SASL users and mechanisms of `--sasl-db` and `--sasl-mech-list`.
#[cfg(feature = "sasl")]
type Sasl = Option<xdrgen_runtime::libvirt::SaslConfig>;
#[cfg(not(feature = "sasl"))]
type Sasl = Option<std::convert::Infallible>;

#[cfg(feature = "sasl")]
fn sasl(options: &Options) -> Result<Sasl, String> {
    use xdrgen_runtime::libvirt::{PasswordFile, SaslConfig};
    let Some(db) = &options.sasl_db else {
        return match (&options.sasl_mech_list, &options.sasl_allowed_username_list) {
            (None, None) => Ok(None),
            _ => {
                Err("--sasl-mech-list and --sasl-allowed-username-list need --sasl-db".to_string())
            }
        };
    };
    let users = PasswordFile::load(std::path::Path::new(db)).map_err(|e| {
        // The cause too: "No such file or directory".
        let cause = std::error::Error::source(&e).map(|c| format!(": {c}"));
        format!("{db}: {e}{}", cause.unwrap_or_default())
    })?;
    let mut config = SaslConfig::new(users);
    if let Some(list) = &options.sasl_mech_list {
        let names: Vec<&str> = list.split([',', ' ']).filter(|m| !m.is_empty()).collect();
        config = config
            .with_mechanisms(&names)
            .map_err(|e| format!("--sasl-mech-list: {e}"))?;
    }
    if let Some(users) = &options.sasl_allowed_username_list {
        config = config.with_allowed_usernames(users);
    }
    Ok(Some(config))
}

#[cfg(not(feature = "sasl"))]
fn sasl(options: &Options) -> Result<Sasl, String> {
    match (
        &options.sasl_db,
        &options.sasl_mech_list,
        &options.sasl_allowed_username_list,
    ) {
        (None, None, None) => Ok(None),
        _ => Err("--sasl-db needs the example built with its `sasl` feature".to_string()),
    }
}

/// libvirtd's `auth_tcp`/`auth_tls` values this daemon knows.
// Without the `sasl` feature `Sasl` is an empty option, cheap to copy.
#[cfg_attr(not(feature = "sasl"), allow(clippy::trivially_copy_pass_by_ref))]
fn policy(
    option: &str,
    value: &str,
    dn_list: &[String],
    sasl: &Sasl,
) -> Result<AuthPolicy, String> {
    let tls_allowed_dn_list = dn_list.to_vec();
    match (value, sasl) {
        ("none", _) => Ok(AuthPolicy::None),
        ("sasl", None) => Ok(AuthPolicy::Required {
            tls_allowed_dn_list,
        }),
        #[cfg(feature = "sasl")]
        ("sasl", Some(sasl)) => Ok(AuthPolicy::Sasl {
            sasl: sasl.clone(),
            tls_allowed_dn_list,
        }),
        _ => Err(format!("{option} {value}: expected none or sasl")),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = parse(std::env::args().skip(1))?;
    let sasl = sasl(&options)?;
    let auth_tcp = policy("--auth-tcp", &options.auth_tcp, &[], &sasl)?;
    let auth_tls = policy(
        "--auth-tls",
        &options.auth_tls,
        &options.tls_allowed_dn_list,
        &sasl,
    )?;
    let tls = match (options.listen_tls, options.pkipath) {
        (None, None) => None,
        (Some(addr), Some(pkipath)) => Some((addr, pkipath)),
        _ => return Err("--listen-tls and --pkipath go together".to_string()),
    };
    let listener = tokio::net::TcpListener::bind(&options.addr)
        .await
        .map_err(|e| format!("{}: {e}", options.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("listening on {local}");
    let server = Server::builder(options.config)
        .service(Dispatcher(Daemon::new()))
        .build();
    let stop = server.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.shutdown();
    });
    let tcp_server = server.with_auth(auth_tcp);
    let tcp = tcp_server.serve_tcp(listener);
    match tls {
        None => tcp.await.map_err(|e| e.to_string()),
        Some((addr, pkipath)) => {
            let tls = serve_tls(server.with_auth(auth_tls), &addr, &pkipath);
            let (tcp, tls) = tokio::join!(tcp, tls);
            tcp.map_err(|e| e.to_string())?;
            tls
        }
    }
}

#[cfg(feature = "tls")]
async fn serve_tls(server: Server, addr: &str, pkipath: &str) -> Result<(), String> {
    use xdrgen_runtime::libvirt::tls;
    let config =
        tls::server_config(std::path::Path::new(pkipath), true).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    eprintln!(
        "listening for TLS on {}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    server
        .serve_tls(listener, config)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "tls"))]
fn serve_tls(
    _server: Server,
    _addr: &str,
    _pkipath: &str,
) -> std::future::Ready<Result<(), String>> {
    std::future::ready(Err(
        "--listen-tls needs the example built with its `tls` feature".to_string(),
    ))
}
