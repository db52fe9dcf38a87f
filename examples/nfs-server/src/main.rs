//! `example-nfs-server DIRECTORY [--path /export] [--listen ADDR]...
//! [--port N] [--udp-port N] [--unix PATH] [--no-register] [--take-over]`
//!
//! Serves DIRECTORY over NFSv3 and MOUNT v3 until SIGINT or SIGTERM, then
//! unregisters from rpcbind. By default it listens on 127.0.0.1 and ::1
//! (where the machine has it); each `--listen` adds an address instead.
//! Every endpoint is registered under its netid. Once registered it
//! prints `tcp=PORT udp=PORT` (the first address's ports) on standard
//! output, then `NETID=UNIVERSAL-ADDRESS` for every endpoint. Try
//! `showmount -e 127.0.0.1`, `nfs-ls nfs://127.0.0.1/export` and
//! `rpcinfo -T tcp6 ::1 nfs 3`.

use std::io::Write;
use std::process::ExitCode;

use example_nfs_server::{Config, NfsServer};
use tokio::signal::unix::{SignalKind, signal};

const USAGE: &str = "usage: example-nfs-server DIRECTORY [--path /export] [--listen ADDR]... \
                     [--port N] [--udp-port N] [--unix PATH] [--no-register] [--take-over]";

fn parse(args: &[String]) -> Result<Config, String> {
    let mut directory = None;
    let mut config = Config::new("");
    let mut listen = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = |name: &str| {
            iter.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--path" => config.mount_path = value("--path")?,
            "--listen" => {
                let text = value("--listen")?;
                listen.push(text.parse().map_err(|e| format!("--listen {text}: {e}"))?);
            }
            "--port" | "--udp-port" => {
                let text = value(arg)?;
                let port = text.parse().map_err(|e| format!("{arg} {text}: {e}"))?;
                if arg == "--port" {
                    config.tcp_port = port;
                } else {
                    config.udp_port = port;
                }
            }
            "--unix" => config.unix_socket = Some(value("--unix")?.into()),
            "--no-register" => config.rpcbind = None,
            "--take-over" => config.take_over = true,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            other if directory.is_none() => directory = Some(other.into()),
            other => return Err(format!("unexpected argument {other}")),
        }
    }
    config.directory = directory.ok_or_else(|| "DIRECTORY is missing".to_string())?;
    if !listen.is_empty() {
        config.addresses = listen;
    }
    Ok(config)
}

/// The error and every cause, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match parse(&args) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("example-nfs-server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (Ok(mut interrupt), Ok(mut terminate)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("example-nfs-server: cannot install signal handlers");
        return ExitCode::FAILURE;
    };
    let directory = config.directory.clone();
    let mount_path = config.mount_path.clone();
    let server = match NfsServer::start(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("example-nfs-server: {}", chain(&e));
            return ExitCode::FAILURE;
        }
    };
    let endpoints: Vec<String> = server
        .endpoints()
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e.netid(),
                e.universal_address().unwrap_or_default()
            )
        })
        .collect();
    eprintln!(
        "example-nfs-server: serving {} as {mount_path} on {}",
        directory.display(),
        endpoints.join(" ")
    );
    if let Some(registered) = server.registered() {
        for m in registered.displaced() {
            eprintln!(
                "example-nfs-server: took over program {} version {} netid {} from {} until exit",
                m.r_prog,
                m.r_vers,
                m.r_netid.to_string_lossy(),
                m.r_addr.to_string_lossy()
            );
        }
    }
    // For scripts; a reader that went away does not stop the server.
    let ports = format!(
        "tcp={} udp={}\n{}\n",
        server.tcp_addr().port(),
        server.udp_addr().port(),
        endpoints.join(" ")
    );
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(ports.as_bytes())
        .and_then(|()| stdout.flush());
    drop(stdout);
    tokio::select! {
        _ = interrupt.recv() => {}
        _ = terminate.recv() => {}
    }
    match server.stop().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-nfs-server: stopping: {}", chain(&e));
            ExitCode::FAILURE
        }
    }
}
