//! Idle memory per connection, over loopback.
//!
//! Servers: our ONC RPC `Server` answering `peertest.x` and our libvirt
//! `Server` answering the example daemon, both in a child process (this
//! binary again, see [`SERVER_ROLE`]), and the real libvirtd when the
//! peer runs (`../shared/peers/libvirt/start.sh /tmp/xdrgen-peers`, TCP
//! 127.0.0.1:16509, its pid from the state dir's `libvirtd.pid`).
//!
//! For each server the same minimal client (blocking sockets, one
//! hand-encoded call each: ONC PT_NULL, libvirt AUTH_LIST) opens N
//! connections that each make one call and then stay idle; the server's
//! VmRSS before and after gives KiB per connection. For the ONC server it
//! is measured again after every connection sent a 256 KiB PT_ECHO and
//! read its 256 KiB reply (buffers given back after large messages?).
//!
//! The client side: this process's own VmRSS before and after opening
//! 1,000 of our async ONC clients that each made one call.
//!
//! Run: `cargo bench -p xdrgen-bench --bench idle` (optionally
//! `-- --connections N`, default 1000; the libvirt rows open at most
//! 5,000, libvirtd's default `max_clients`, which our server shares).

#[cfg(rpcbench)]
mod real {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    use xdrgen_runtime::rpc::{ClientConfig, Endpoint};
    use xdrgen_runtime::{XdrEncode, XdrString};

    use xdrgen_bench::harness::{
        rss_kib, self_with_role, serve_onc_and_libvirt, spawn_server, two_worker_runtime,
    };

    use peertest::peertest_prog::peertest_v1 as v1;
    use xdrgen_bench::peertest;

    /// Set in the environment of the child that runs the servers.
    const SERVER_ROLE: &str = "XDRGEN_IDLE_ROLE";
    const PROGRAM: u32 = peertest::peertest_prog::PROGRAM;
    const PT_NULL: u32 = 0;
    const PT_ECHO: u32 = 2;
    /// The string each connection echoes in the burst.
    const BURST_BYTES: usize = 256 * 1024;
    /// libvirt's remote program, and its AUTH_LIST procedure: answered
    /// before CONNECT_OPEN by libvirtd and by the example daemon.
    const REMOTE_PROGRAM: u32 = 0x2000_8086;
    const REMOTE_PROC_AUTH_LIST: u32 = 66;
    const LIBVIRTD: &str = "127.0.0.1:16509";
    /// The peers' state directory when `XDRGEN_PEERS_STATE` does not
    /// name one: the one `scripts/test.sh` uses.
    const DEFAULT_PEERS_STATE: &str = "/tmp/xdrgen-peers";
    /// libvirtd's default `max_clients`, which our libvirt server shares:
    /// the libvirt rows open at most this many connections.
    const LIBVIRT_MAX_CLIENTS: usize = 5000;
    /// Our async clients held at once for the client-side figure.
    const CLIENTS: usize = 1000;

    /// A record-marked ONC RPC call with AUTH_NONE credential and verifier.
    fn onc_call(xid: u32, procedure: u32, args: &[u8]) -> Vec<u8> {
        let words = [xid, 0, 2, PROGRAM, 1, procedure, 0, 0, 0, 0];
        let len = u32::try_from(words.len() * 4 + args.len()).unwrap();
        let mut out = (0x8000_0000 | len).to_be_bytes().to_vec();
        for w in words {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(args);
        out
    }

    /// Reads one record-marked reply (single fragment, as our server
    /// sends) and checks it accepted the call with SUCCESS.
    fn read_onc_reply(s: &mut TcpStream) -> Vec<u8> {
        let mut mark = [0; 4];
        s.read_exact(&mut mark).unwrap();
        let len = (u32::from_be_bytes(mark) & 0x7fff_ffff) as usize;
        let mut reply = vec![0; len];
        s.read_exact(&mut reply).unwrap();
        // xid, REPLY, MSG_ACCEPTED, verifier (2 words), SUCCESS.
        assert_eq!(&reply[4..8], &1u32.to_be_bytes(), "not a reply");
        assert_eq!(&reply[8..12], &[0; 4], "call denied");
        assert_eq!(&reply[20..24], &[0; 4], "call not successful");
        reply
    }

    /// A libvirt call packet: length, program, version 1, procedure,
    /// CALL, serial, OK.
    fn libvirt_call(serial: u32, procedure: u32) -> Vec<u8> {
        let words = [28, REMOTE_PROGRAM, 1, procedure, 0, serial, 0];
        words.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    fn read_libvirt_reply(s: &mut TcpStream) {
        let mut len = [0; 4];
        s.read_exact(&mut len).unwrap();
        let mut rest = vec![0; (u32::from_be_bytes(len) as usize).saturating_sub(4)];
        s.read_exact(&mut rest).unwrap();
        // program, version, procedure, REPLY, serial, OK.
        assert_eq!(&rest[12..16], &1u32.to_be_bytes(), "not a reply");
        assert_eq!(&rest[20..24], &[0; 4], "AUTH_LIST failed");
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_nodelay(true).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    }

    /// Lets the server settle, then its RSS.
    fn settled_rss(pid: u32) -> u64 {
        std::thread::sleep(Duration::from_millis(500));
        rss_kib(pid)
    }

    // KiB figures stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    fn per_connection(before: u64, after: u64, n: usize) -> f64 {
        (after as f64 - before as f64) / n as f64
    }

    /// N idle ONC connections, then the same after a 256 KiB echo each.
    fn onc_server(addr: SocketAddr, pid: u32, n: usize) {
        let before = settled_rss(pid);
        let mut held = Vec::with_capacity(n);
        for i in 0..n {
            let mut s = connect(addr);
            s.write_all(&onc_call(u32::try_from(i).unwrap(), PT_NULL, &[]))
                .unwrap();
            read_onc_reply(&mut s);
            held.push(s);
        }
        let idle = settled_rss(pid);
        let text = XdrString::from("x".repeat(BURST_BYTES));
        let mut args = Vec::new();
        text.encode(&mut args).unwrap();
        let call = onc_call(1, PT_ECHO, &args);
        for s in &mut held {
            s.write_all(&call).unwrap();
            let reply = read_onc_reply(s);
            assert_eq!(reply.len(), 24 + args.len(), "echo came back short");
        }
        let after_burst = settled_rss(pid);
        println!(
            "| our ONC RPC server | {n} | {before} | {idle} | {:.2} | {after_burst} | {:.2} |",
            per_connection(before, idle, n),
            per_connection(before, after_burst, n),
        );
    }

    /// N idle libvirt connections that each made one AUTH_LIST call.
    fn libvirt_server(label: &str, addr: SocketAddr, pid: u32, n: usize) {
        let before = settled_rss(pid);
        let mut held = Vec::with_capacity(n);
        for i in 0..n {
            let mut s = connect(addr);
            s.write_all(&libvirt_call(
                u32::try_from(i).unwrap(),
                REMOTE_PROC_AUTH_LIST,
            ))
            .unwrap();
            read_libvirt_reply(&mut s);
            held.push(s);
        }
        let idle = settled_rss(pid);
        println!(
            "| {label} | {n} | {before} | {idle} | {:.2} | — | — |",
            per_connection(before, idle, n),
        );
    }

    /// This process's RSS before and after holding [`CLIENTS`] of our
    /// async clients that each made one call.
    fn onc_clients(addr: SocketAddr) {
        let rt = two_worker_runtime();
        rt.block_on(async {
            // The runtime's own threads and buffers first.
            let warm = v1::Client::connect(Endpoint::Tcp(addr), ClientConfig::default())
                .await
                .unwrap();
            warm.pt_null().await.unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
            let before = rss_kib(std::process::id());
            let mut held = Vec::with_capacity(CLIENTS);
            for _ in 0..CLIENTS {
                let c = v1::Client::connect(Endpoint::Tcp(addr), ClientConfig::default())
                    .await
                    .unwrap();
                c.pt_null().await.unwrap();
                held.push(c);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
            let after = rss_kib(std::process::id());
            println!(
                "| our ONC RPC client (this process) | {CLIENTS} | {before} | {after} | {:.2} | — | — |",
                per_connection(before, after, CLIENTS),
            );
        });
    }

    fn connections_from_args() -> usize {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == "--connections")
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(1000)
    }

    pub(super) fn main() {
        if std::env::var_os(SERVER_ROLE).is_some() {
            serve_onc_and_libvirt(None);
        }
        let n = connections_from_args();
        let server = spawn_server(self_with_role(SERVER_ROLE));
        let pid = server.process.pid();
        let (onc, ours) = (server.onc, server.libvirt);

        println!("Idle memory per connection (VmRSS, KiB), {n} connections");
        println!();
        println!(
            "| process | connections | RSS before | RSS idle | KiB per idle connection | RSS after 256 KiB echo each, idle | KiB per connection |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        onc_server(onc, pid, n);
        let libvirt_n = n.min(LIBVIRT_MAX_CLIENTS);
        libvirt_server("our libvirt server (example daemon)", ours, pid, libvirt_n);
        let state =
            std::env::var("XDRGEN_PEERS_STATE").unwrap_or_else(|_| DEFAULT_PEERS_STATE.to_string());
        let libvirtd_pid = std::fs::read_to_string(format!("{state}/libvirt/libvirtd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        match libvirtd_pid {
            Some(libvirtd) if TcpStream::connect(LIBVIRTD).is_ok() => {
                libvirt_server("libvirtd", LIBVIRTD.parse().unwrap(), libvirtd, libvirt_n);
            }
            _ => println!(
                "| libvirtd | SKIPPED: not running (../shared/peers/libvirt/start.sh /tmp/xdrgen-peers) | | | | | |"
            ),
        }
        onc_clients(onc);
    }
}

fn main() {
    #[cfg(rpcbench)]
    real::main();
    #[cfg(not(rpcbench))]
    println!(
        "SKIPPED: idle benchmark: peertest.x, rpcgen or libtirpc was missing at build time (see the build warning)"
    );
}
