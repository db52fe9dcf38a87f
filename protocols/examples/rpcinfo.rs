//! `rpcinfo -p` in a few lines: lists what this host's rpcbind has
//! registered, with the generated port mapper client.
//!
//! `cargo run -p xdrgen-protocols --example rpcinfo [HOST:PORT]`

use std::net::SocketAddr;

use xdrgen_protocols::registration::{self, LOCAL_RPCBIND, Rpcbind};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rpcbind = match std::env::args().nth(1) {
        Some(addr) => Rpcbind::Tcp(addr.parse::<SocketAddr>()?),
        None => Rpcbind::Tcp(LOCAL_RPCBIND),
    };
    println!("   program vers proto   port");
    for m in registration::dump(&rpcbind).await? {
        let proto = match m.prot {
            6 => "tcp".to_string(),
            17 => "udp".to_string(),
            other => other.to_string(),
        };
        println!("{:>10} {:>4} {:>5} {:>6}", m.prog, m.vers, proto, m.port);
    }
    Ok(())
}
