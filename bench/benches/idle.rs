//! Idle memory per connection, over loopback.
//!
//! Servers, each freshly started for its row: our ONC RPC `Server`
//! answering `peertest.x` and our libvirt `Server` answering the example
//! daemon, each in a child process (this binary again, see
//! [`SERVER_ROLE`]), and a libvirtd of this run alone (see
//! [`OwnLibvirtd`]): started in a scratch directory with the test driver
//! only, on a free loopback TCP port, its `max_clients` raised to N plus a
//! margin. Starting it needs root and libvirtd installed; without either
//! the bench says so and measures the shared peer instead when it runs
//! (`../shared/peers/libvirt/start.sh /tmp/xdrgen-peers`, TCP
//! 127.0.0.1:16509, its pid from the state dir's `libvirtd.pid`; at most
//! its 5,000 `max_clients`, and a daemon that served earlier runs reuses
//! their memory), or skips the row.
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
//! The bench raises its `RLIMIT_NOFILE` to N + 256 (the hard limit too as
//! root); the servers it starts inherit it.
//!
//! Run: `cargo bench -p xdrgen-bench --bench idle` (optionally
//! `-- --connections N`, default 1000).

#[cfg(rpcbench)]
mod real {
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::path::PathBuf;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use xdrgen_runtime::rpc::{ClientConfig, Endpoint};
    use xdrgen_runtime::{XdrEncode, XdrString, libvirt, rpc};

    use xdrgen_bench::harness::{
        raise_fd_limit, rss_kib, self_with_role, serve_onc_and_libvirt_with, spawn_server,
        two_worker_runtime,
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
    /// The shared peer's libvirtd, measured only when this run cannot
    /// start its own.
    const PEER_LIBVIRTD: &str = "127.0.0.1:16509";
    /// The peers' state directory when `XDRGEN_PEERS_STATE` does not
    /// name one: the one `scripts/test.sh` uses.
    const DEFAULT_PEERS_STATE: &str = "/tmp/xdrgen-peers";
    /// The shared peer's `max_clients` (libvirtd's default): at most this
    /// many connections go to it.
    const PEER_MAX_CLIENTS: usize = 5000;
    /// Descriptors beyond the N connections: the processes' own files,
    /// sockets and pipes (libvirtd's listeners and worker pipes too).
    const FD_SLACK: usize = 256;
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

    /// Makes one AUTH_LIST call on `s` and reads its reply: an error when
    /// the connection fails or the reply is not a successful AUTH_LIST
    /// reply.
    fn auth_list(s: &mut TcpStream, serial: u32) -> Result<(), String> {
        s.write_all(&libvirt_call(serial, REMOTE_PROC_AUTH_LIST))
            .map_err(|e| format!("sending AUTH_LIST: {e}"))?;
        let mut len = [0; 4];
        s.read_exact(&mut len)
            .map_err(|e| format!("reading the AUTH_LIST reply: {e}"))?;
        let len = u32::from_be_bytes(len) as usize;
        if !(28..=4096).contains(&len) {
            return Err(format!("an AUTH_LIST reply of {len} bytes"));
        }
        let mut rest = vec![0; len - 4];
        s.read_exact(&mut rest)
            .map_err(|e| format!("reading the AUTH_LIST reply: {e}"))?;
        // program, version, procedure, REPLY, serial, OK.
        if rest[12..16] != 1u32.to_be_bytes() {
            return Err("the answer to AUTH_LIST is not a reply".to_string());
        }
        if rest[20..24] != [0; 4] {
            return Err("AUTH_LIST failed".to_string());
        }
        Ok(())
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
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
            let serial = u32::try_from(i).unwrap();
            auth_list(&mut s, serial)
                .unwrap_or_else(|e| panic!("{label}, connection {i} of {n}: {e}"));
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

    /// A libvirtd of this run alone, as `../shared/peers/libvirt/start.sh`
    /// runs one: in the foreground (the child is libvirtd itself), with a
    /// private config, sockets, pid file and log in a scratch directory,
    /// no hypervisor driver modules (the test driver is built in), TCP on
    /// a free loopback port without authentication. Stopped by the pid it
    /// was started with, and its directory removed, when dropped.
    struct OwnLibvirtd {
        child: Child,
        dir: PathBuf,
        addr: SocketAddr,
    }

    impl OwnLibvirtd {
        /// Why this run cannot start its own libvirtd, if it cannot.
        fn unavailable() -> Option<String> {
            if !rustix::process::geteuid().is_root() {
                return Some("starting a libvirtd of its own needs root".to_string());
            }
            match Command::new("libvirtd").arg("--version").output() {
                Ok(out) if out.status.success() => None,
                Ok(out) => Some(format!("`libvirtd --version` failed: {}", out.status)),
                Err(e) => Some(format!(
                    "libvirtd is not installed ({e}; apt-get install libvirt-daemon)"
                )),
            }
        }

        /// Starts one that takes `max_clients` clients, and waits at most
        /// 30 s until it answers AUTH_LIST. An error with its log if it
        /// exits or does not answer in time.
        fn start(max_clients: usize) -> Result<OwnLibvirtd, String> {
            let dir =
                std::env::temp_dir().join(format!("xdrgen-idle-libvirtd-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let made = std::fs::create_dir_all(dir.join("sock"))
                .and_then(|()| std::fs::create_dir_all(dir.join("no-driver-modules")));
            made.map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
            // A port free now; libvirtd binds it a moment later.
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map_err(|e| format!("no free loopback port: {e}"))?
                .port();
            // max_queued_clients is the listen backlog; the bench connects
            // one at a time, so libvirtd's default (1,000) is not raised.
            // AUTH_NONE clients count as authenticated, so neither is
            // max_anonymous_clients (20).
            let config = format!(
                "listen_tls = 0\nlisten_tcp = 1\nlisten_addr = \"127.0.0.1\"\ntcp_port = \"{port}\"\n\
                 auth_tcp = \"none\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n\
                 unix_sock_dir = \"{}\"\nmax_clients = {max_clients}\n\
                 mdns_adv = 0\nlog_outputs = \"3:stderr\"\n",
                dir.join("sock").display(),
            );
            let config_path = dir.join("libvirtd.conf");
            let log_path = dir.join("libvirtd.log");
            std::fs::write(&config_path, config)
                .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
            let log = std::fs::File::create(&log_path)
                .map_err(|e| format!("cannot make {}: {e}", log_path.display()))?;
            let log_err = log
                .try_clone()
                .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
            let child = Command::new("libvirtd")
                .arg("-l")
                .arg("-f")
                .arg(&config_path)
                .arg("-p")
                .arg(dir.join("libvirtd.pid"))
                .env("LIBVIRT_DRIVER_DIR", dir.join("no-driver-modules"))
                .stdin(Stdio::null())
                .stdout(log)
                .stderr(log_err)
                .spawn()
                .map_err(|e| format!("cannot start libvirtd: {e}"))?;
            let mut daemon = OwnLibvirtd {
                child,
                dir,
                addr: ([127, 0, 0, 1], port).into(),
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = daemon.child.try_wait() {
                    return Err(format!("libvirtd exited ({status}): {}", daemon.log()));
                }
                // Its socket listens before the daemon accepts on it: only
                // an answer says it serves.
                let answered = TcpStream::connect(daemon.addr).is_ok_and(|mut s| {
                    s.set_read_timeout(Some(Duration::from_secs(1))).is_ok()
                        && auth_list(&mut s, 0).is_ok()
                });
                if answered {
                    return Ok(daemon);
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "libvirtd does not answer on {} after 30 s: {}",
                        daemon.addr,
                        daemon.log()
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }

        fn pid(&self) -> u32 {
            self.child.id()
        }

        /// What it logged (errors and warnings) so far.
        fn log(&self) -> String {
            std::fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
        }
    }

    impl Drop for OwnLibvirtd {
        /// SIGTERM lets it remove its sockets and pid file; SIGKILL if it
        /// has not exited within 10 s.
        fn drop(&mut self) {
            let pid = rustix::process::Pid::from_child(&self.child);
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// libvirtd's version (`libvirtd --version`'s last word).
    fn libvirtd_version() -> String {
        Command::new("libvirtd")
            .arg("--version")
            .output()
            .ok()
            .and_then(|out| {
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                Some(text.split_whitespace().last()?.to_string())
            })
            .unwrap_or_else(|| "?".to_string())
    }

    /// Which libvirtd the libvirtd row measures.
    enum LibvirtdChoice {
        /// A fresh one of this run's own, started at its row.
        Own,
        /// The shared peer (its pid), when this run cannot start its own.
        Peer(u32),
        /// Neither, and why this run cannot start its own.
        Skipped(String),
    }

    /// Decides before the table (so that its notes do not split it),
    /// saying why when this run cannot start a libvirtd of its own.
    fn choose_libvirtd() -> LibvirtdChoice {
        let Some(cause) = OwnLibvirtd::unavailable() else {
            return LibvirtdChoice::Own;
        };
        println!("NOTE: no libvirtd of this run's own: {cause}");
        let state =
            std::env::var("XDRGEN_PEERS_STATE").unwrap_or_else(|_| DEFAULT_PEERS_STATE.to_string());
        let peer_pid = std::fs::read_to_string(format!("{state}/libvirt/libvirtd.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        match peer_pid {
            Some(pid) if TcpStream::connect(PEER_LIBVIRTD).is_ok() => {
                println!(
                    "NOTE: measuring the shared peer instead: at most its {PEER_MAX_CLIENTS} max_clients, and a daemon that served earlier runs reuses their memory"
                );
                LibvirtdChoice::Peer(pid)
            }
            _ => {
                println!(
                    "NOTE: nor is the shared peer running (../shared/peers/libvirt/start.sh /tmp/xdrgen-peers): no libvirtd figure"
                );
                LibvirtdChoice::Skipped(cause)
            }
        }
    }

    /// The libvirtd row, for `n` connections.
    fn libvirtd_row(choice: LibvirtdChoice, n: usize) {
        match choice {
            LibvirtdChoice::Own => match OwnLibvirtd::start(n + FD_SLACK) {
                Ok(daemon) => {
                    let label = format!("libvirtd {} (fresh, this run's own)", libvirtd_version());
                    libvirt_server(&label, daemon.addr, daemon.pid(), n);
                }
                Err(e) => {
                    eprintln!("idle bench: {e}");
                    println!(
                        "| libvirtd | FAILED to start (why and its log: on stderr) | | | | | |"
                    );
                }
            },
            LibvirtdChoice::Peer(pid) => libvirt_server(
                "libvirtd (the shared peer, not fresh)",
                PEER_LIBVIRTD.parse().unwrap(),
                pid,
                n.min(PEER_MAX_CLIENTS),
            ),
            LibvirtdChoice::Skipped(cause) => println!(
                "| libvirtd | SKIPPED: {cause}, and the shared peer is not running | | | | | |"
            ),
        }
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
            // Only descriptors bound the connections, as with the libvirtd
            // this run starts (its max_clients raised to N and a margin).
            serve_onc_and_libvirt_with(
                rpc::ServerConfig::default(),
                libvirt::ServerConfig {
                    max_clients: usize::MAX,
                    ..libvirt::ServerConfig::default()
                },
            );
        }
        let wanted = connections_from_args();
        let limit = raise_fd_limit(wanted as u64 + FD_SLACK as u64);
        let n = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(FD_SLACK)
            .min(wanted);
        if n < wanted {
            println!(
                "NOTE: the descriptor limit is {limit}: opening {n} connections per server, not {wanted}"
            );
        }

        let libvirtd = choose_libvirtd();
        println!("Idle memory per connection (VmRSS, KiB), {n} connections, each server fresh");
        println!();
        println!(
            "| process | connections | RSS before | RSS idle | KiB per idle connection | RSS after 256 KiB echo each, idle | KiB per connection |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        // A child per server, so none reuses memory another row's
        // connections gave back.
        {
            let server = spawn_server(self_with_role(SERVER_ROLE));
            onc_server(server.onc, server.process.pid(), n);
        }
        {
            let server = spawn_server(self_with_role(SERVER_ROLE));
            libvirt_server(
                "our libvirt server (example daemon)",
                server.libvirt,
                server.process.pid(),
                n,
            );
        }
        libvirtd_row(libvirtd, n);
        let server = spawn_server(self_with_role(SERVER_ROLE));
        onc_clients(server.onc);
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
