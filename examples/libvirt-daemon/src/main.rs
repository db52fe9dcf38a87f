//! `example-libvirt-daemon [ADDR]`: serves the in-memory daemon over TCP
//! (default 127.0.0.1:16510) until Ctrl-C. Try
//! `virsh -c test+tcp://127.0.0.1:16510/default list --all`.

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::Dispatcher;
use xdrgen_runtime::libvirt::{Server, ServerConfig};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:16510".to_string());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(Daemon::new()))
        .build();
    let stop = server.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.shutdown();
    });
    server.serve_tcp(listener).await
}
