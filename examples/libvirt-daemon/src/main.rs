//! `example-libvirt-daemon [ADDR] [OPTIONS]`: serves the in-memory daemon
//! over TCP (default 127.0.0.1:16510) until Ctrl-C. Try
//! `virsh -c test+tcp://127.0.0.1:16510/default list --all`.
//!
//! Options, named as libvirtd's `libvirtd.conf` settings:
//! - `--max-clients N`, `--max-anonymous-clients N`,
//!   `--max-client-requests N`, `--max-workers N`, `--prio-workers N`;
//! - `--auth-tcp none|sasl`: `sasl` makes clients authenticate before
//!   anything but the authentication procedures runs (this daemon has no
//!   SASL yet, so over TCP nobody can);
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
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(options)
}

/// libvirtd's `auth_tcp`/`auth_tls` values this daemon knows.
fn policy(option: &str, value: &str, dn_list: &[String]) -> Result<AuthPolicy, String> {
    match value {
        "none" => Ok(AuthPolicy::None),
        "sasl" => Ok(AuthPolicy::Required {
            tls_allowed_dn_list: dn_list.to_vec(),
        }),
        _ => Err(format!("{option} {value}: expected none or sasl")),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let options = parse(std::env::args().skip(1))?;
    let auth_tcp = policy("--auth-tcp", &options.auth_tcp, &[])?;
    let auth_tls = policy(
        "--auth-tls",
        &options.auth_tls,
        &options.tls_allowed_dn_list,
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
