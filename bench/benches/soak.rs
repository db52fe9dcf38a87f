//! Soak: honest and hostile clients at once against both servers, over
//! loopback, bounded in time and in connections. The servers (our ONC RPC
//! `Server` answering `peertest.x`, and our libvirt `Server` answering the
//! example daemon) run in a child process (this binary again, see
//! [`SERVER_ROLE`]) whose descriptor limit is [`SERVER_FD_LIMIT`], with a
//! 2 s `partial_message_timeout`.
//!
//! Honest clients hold their connections for the whole run and call in a
//! loop: PT_ADD and PT_ECHO (1 KiB, compared) over ONC RPC;
//! CONNECT_GET_LIB_VERSION and DOMAIN_SCREENSHOT (the image streamed after
//! the reply, compared byte for byte) over libvirt. Hostile clients, all
//! the while: slowloris (a byte every 300 ms, never a whole message),
//! giant length words, garbage, clients that send calls and never read
//! the replies, and, in the middle third of the run, connection churn to
//! past the server's descriptor limit, held for a measured window.
//!
//! It reports the honest calls' success rate and p50/p99 latency, the
//! server's RSS over time, and its CPU time and open descriptors while at
//! its descriptor limit; it fails if an honest call failed or a stream
//! differed.
//!
//! Run: `cargo bench -p xdrgen-bench --bench soak` (optionally
//! `-- --seconds N`, default 30).

#[cfg(rpcbench)]
mod real {
    use std::net::SocketAddr;
    use std::process::Command;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    use example_libvirt_daemon::remote::remote_program;
    use example_libvirt_daemon::remote::{
        RemoteDomainLookupByNameArgs, RemoteDomainScreenshotArgs,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::Instant;
    use xdrgen_runtime::rpc::{CallHeader, ClientConfig, Endpoint};
    use xdrgen_runtime::{XdrEncode, XdrString, libvirt};

    use xdrgen_bench::harness::{cpu_ns, rss_kib, serve_onc_and_libvirt, spawn_server, thousands};

    use peertest::PtPoint;
    use peertest::peertest_prog::peertest_v1 as v1;
    use xdrgen_bench::peertest;

    /// Set in the environment of the child that runs the servers.
    const SERVER_ROLE: &str = "XDRGEN_SOAK_ROLE";
    /// The server process's descriptor limit.
    const SERVER_FD_LIMIT: usize = 256;
    const PROGRAM: u32 = peertest::peertest_prog::PROGRAM;
    /// Honest connections of each kind.
    const HONEST_ONC: usize = 4;
    const HONEST_LIBVIRT: usize = 2;
    /// The pause between an honest client's calls: a steady load, so the
    /// server's CPU time says what the hostile clients and the
    /// descriptor limit cost on top of it.
    const PACE: Duration = Duration::from_millis(5);

    /// What the honest clients saw.
    #[derive(Default)]
    struct Honest {
        latencies: std::sync::Mutex<Vec<u64>>,
        calls: AtomicU64,
        failures: AtomicU64,
        streams: AtomicU64,
        streams_differing: AtomicU64,
    }

    impl Honest {
        fn record(&self, started: Instant, ok: bool) {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if ok {
                let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.latencies
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(ns);
            } else {
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    async fn honest_onc(addr: SocketAddr, until: Instant, seen: Arc<Honest>) {
        let config = ClientConfig {
            timeout: Duration::from_secs(10),
            ..ClientConfig::default()
        };
        let c = v1::Client::connect(Endpoint::Tcp(addr), config)
            .await
            .expect("an honest client connects before the hostile ones");
        let text = XdrString::from("x".repeat(1024));
        let mut i = 0i32;
        while Instant::now() < until {
            i = i.wrapping_add(1);
            let started = Instant::now();
            let ok = if i % 2 == 0 {
                c.pt_add(&PtPoint { x: i, y: 1 }).await.ok() == Some(i.wrapping_add(1))
            } else {
                c.pt_echo(&text).await.ok().as_ref() == Some(&text)
            };
            seen.record(started, ok);
            tokio::time::sleep(PACE).await;
        }
    }

    async fn honest_libvirt(addr: SocketAddr, until: Instant, seen: Arc<Honest>) {
        let config = libvirt::ConnectionConfig {
            timeout: Duration::from_secs(10),
            ..libvirt::ConnectionConfig::default()
        };
        let c = remote_program::Client(
            libvirt::Connection::connect_tcp(addr, config)
                .await
                .expect("an honest client connects before the hostile ones"),
        );
        let dom = c
            .domain_lookup_by_name(&RemoteDomainLookupByNameArgs {
                name: "demo-running".into(),
            })
            .await
            .unwrap()
            .dom;
        let expected = example_libvirt_daemon::screenshot(&dom.uuid);
        let mut i = 0u64;
        while Instant::now() < until {
            i += 1;
            let started = Instant::now();
            let ok = if i % 8 == 0 {
                let args = RemoteDomainScreenshotArgs {
                    dom: dom.clone(),
                    screen: 0,
                    flags: 0,
                };
                match c.domain_screenshot(&args).await {
                    Ok((_, mut stream)) => {
                        let image = stream.read_to_end().await;
                        let finished = stream.finish().await;
                        seen.streams.fetch_add(1, Ordering::Relaxed);
                        let same = image.as_ref().ok() == Some(&expected);
                        if !same {
                            seen.streams_differing.fetch_add(1, Ordering::Relaxed);
                        }
                        same && finished.is_ok()
                    }
                    Err(_) => false,
                }
            } else {
                c.connect_get_lib_version().await.is_ok()
            };
            seen.record(started, ok);
            tokio::time::sleep(PACE).await;
        }
    }

    /// Hostile connections made, by kind.
    #[derive(Default)]
    struct Hostile {
        slowloris: AtomicU64,
        giant: AtomicU64,
        garbage: AtomicU64,
        never_read: AtomicU64,
        churn_peak: AtomicU64,
    }

    /// Connects with a bound on the wait (a server at its descriptor
    /// limit leaves connections in the backlog).
    async fn connect(addr: SocketAddr) -> Option<TcpStream> {
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
            .await
            .ok()?
            .ok()
    }

    /// Reads until the server closes or `limit` passes.
    async fn drain(s: &mut TcpStream, limit: Duration) {
        let mut buf = [0; 4096];
        let _ = tokio::time::timeout(limit, async {
            while s.read(&mut buf).await.is_ok_and(|n| n > 0) {}
        })
        .await;
    }

    async fn slowloris(addr: SocketAddr, until: Instant, count: Arc<Hostile>) {
        while Instant::now() < until {
            let Some(mut s) = connect(addr).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            count.slowloris.fetch_add(1, Ordering::Relaxed);
            // A length word claiming 1000 bytes, then a byte at a time.
            let mut bytes = 1000u32.to_be_bytes().to_vec();
            bytes.extend([0; 64]);
            for b in bytes {
                if Instant::now() >= until || s.write_all(&[b]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }

    async fn giant(addr: SocketAddr, until: Instant, count: Arc<Hostile>) {
        while Instant::now() < until {
            let Some(mut s) = connect(addr).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            count.giant.fetch_add(1, Ordering::Relaxed);
            let _ = s.write_all(&0xffff_fff0u32.to_be_bytes()).await;
            drain(&mut s, Duration::from_secs(2)).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn garbage(addr: SocketAddr, until: Instant, count: Arc<Hostile>, seed: u64) {
        let mut x = seed | 1;
        while Instant::now() < until {
            let Some(mut s) = connect(addr).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            count.garbage.fetch_add(1, Ordering::Relaxed);
            let junk: Vec<u8> = (0..4096)
                .map(|_| {
                    // xorshift: the bytes only need to be arbitrary.
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x.to_be_bytes()[0]
                })
                .collect();
            let _ = s.write_all(&junk).await;
            drain(&mut s, Duration::from_millis(200)).await;
        }
    }

    /// Sends PT_ECHO calls as fast as the server reads them and never
    /// reads a reply, on one connection for the whole run.
    async fn never_read(addr: SocketAddr, until: Instant, count: Arc<Hostile>) {
        let Some(mut s) = connect(addr).await else {
            return;
        };
        count.never_read.fetch_add(1, Ordering::Relaxed);
        let mut body = CallHeader::new(1, PROGRAM, 1, 2).to_xdr().unwrap();
        body.extend(XdrString::from("y".repeat(4096)).to_xdr().unwrap());
        let mut record = Vec::new();
        xdrgen_runtime::rpc::record::write_record(&body, 1 << 20, &mut record);
        while Instant::now() < until {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, s.write_all(&record)).await {
                Ok(Ok(())) => {}
                _ => break,
            }
        }
    }

    /// Opens connections until `target` are open or the run ends, holds
    /// them until `release`, then closes them.
    async fn churn(
        addr: SocketAddr,
        target: usize,
        release: Instant,
        count: Arc<Hostile>,
        at_limit: Arc<AtomicBool>,
    ) {
        let mut held = Vec::new();
        while held.len() < target && Instant::now() < release {
            match connect(addr).await {
                Some(s) => held.push(s),
                None => break,
            }
        }
        count.churn_peak.store(held.len() as u64, Ordering::Relaxed);
        at_limit.store(true, Ordering::Relaxed);
        tokio::time::sleep_until(release).await;
        at_limit.store(false, Ordering::Relaxed);
    }

    fn open_fds(pid: u32) -> usize {
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
    }

    fn seconds_from_args() -> u64 {
        let args: Vec<String> = std::env::args().collect();
        args.iter()
            .position(|a| a == "--seconds")
            .and_then(|i| args.get(i + 1)?.parse().ok())
            .unwrap_or(30)
    }

    // Counts and durations here stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    pub(super) fn main() {
        if std::env::var_os(SERVER_ROLE).is_some() {
            // The stall timeout closes the slowloris clients.
            serve_onc_and_libvirt(Some(Duration::from_secs(2)));
        }
        let seconds = seconds_from_args().max(9);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("ulimit -n {SERVER_FD_LIMIT} && exec \"$0\""))
            .arg(std::env::current_exe().unwrap())
            .env(SERVER_ROLE, "server");
        let server = spawn_server(cmd);
        let pid = server.process.pid();
        let (onc, libvirt_addr) = (server.onc, server.libvirt);

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let honest = Arc::new(Honest::default());
        let hostile = Arc::new(Hostile::default());
        let at_limit = Arc::new(AtomicBool::new(false));
        let report = rt.block_on(async {
            let start = Instant::now();
            let until = start + Duration::from_secs(seconds);
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..HONEST_ONC {
                tasks.spawn(honest_onc(onc, until, Arc::clone(&honest)));
            }
            for _ in 0..HONEST_LIBVIRT {
                tasks.spawn(honest_libvirt(libvirt_addr, until, Arc::clone(&honest)));
            }
            // Let the honest clients connect first.
            tokio::time::sleep(Duration::from_millis(200)).await;
            for (i, addr) in [onc, libvirt_addr].into_iter().enumerate() {
                for _ in 0..4 {
                    tasks.spawn(slowloris(addr, until, Arc::clone(&hostile)));
                }
                tasks.spawn(giant(addr, until, Arc::clone(&hostile)));
                tasks.spawn(garbage(addr, until, Arc::clone(&hostile), 7 + i as u64));
            }
            for _ in 0..2 {
                tasks.spawn(never_read(onc, until, Arc::clone(&hostile)));
            }
            // Churn past the descriptor limit in the middle third.
            let third = Duration::from_secs(seconds / 3);
            let churn_task = {
                let hostile = Arc::clone(&hostile);
                let at_limit = Arc::clone(&at_limit);
                tokio::spawn(async move {
                    tokio::time::sleep_until(start + third).await;
                    churn(
                        onc,
                        SERVER_FD_LIMIT + 64,
                        start + third * 2,
                        hostile,
                        at_limit,
                    )
                    .await;
                })
            };
            // Samples: RSS every second; CPU in the first third (the same
            // load, below the limit) and while at the limit; descriptors.
            let mut rss = Vec::new();
            let mut limit_cpu: Option<(Instant, u64)> = None;
            let mut limit_share = None;
            let mut limit_fds = 0;
            let mut below_cpu: Option<(Instant, u64)> = None;
            let mut below_share = None;
            while Instant::now() < until {
                rss.push((start.elapsed().as_secs(), rss_kib(pid)));
                let elapsed = start.elapsed();
                if below_cpu.is_none() && elapsed >= Duration::from_secs(1) {
                    below_cpu = Some((Instant::now(), cpu_ns(pid)));
                } else if let (Some((from, cpu)), None) = (below_cpu, below_share) {
                    if elapsed + Duration::from_secs(1) >= third {
                        below_share =
                            Some((cpu_ns(pid) - cpu) as f64 / from.elapsed().as_nanos() as f64);
                    }
                }
                let limited = at_limit.load(Ordering::Relaxed);
                match (limited, limit_cpu) {
                    (true, None) => {
                        // Let the accept backoff settle first.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        limit_cpu = Some((Instant::now(), cpu_ns(pid)));
                        limit_fds = open_fds(pid);
                    }
                    (false, Some((from, cpu))) if limit_share.is_none() => {
                        let share = (cpu_ns(pid) - cpu) as f64 / from.elapsed().as_nanos() as f64;
                        limit_share = Some(share);
                    }
                    _ => {}
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            rss.push((start.elapsed().as_secs(), rss_kib(pid)));
            let _ = churn_task.await;
            while tasks.join_next().await.is_some() {}
            (rss, below_share, limit_share, limit_fds)
        });
        let (rss, below_share, limit_share, limit_fds) = report;
        drop(server);

        let mut latencies = honest
            .latencies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        latencies.sort_unstable();
        let pct = |p: usize| {
            let rank = (latencies.len() * p).div_ceil(100).max(1);
            latencies.get(rank - 1).map_or(0.0, |&ns| ns as f64 / 1e3)
        };
        let calls = honest.calls.load(Ordering::Relaxed);
        let failures = honest.failures.load(Ordering::Relaxed);
        let streams = honest.streams.load(Ordering::Relaxed);
        let differing = honest.streams_differing.load(Ordering::Relaxed);
        let peak = rss.iter().map(|&(_, kib)| kib).max().unwrap_or(0);
        println!("| soak, {seconds} s, server fd limit {SERVER_FD_LIMIT} | |");
        println!("|---|---|");
        println!(
            "| honest calls ({HONEST_ONC} ONC RPC + {HONEST_LIBVIRT} libvirt connections) | {} |",
            thousands(calls as f64)
        );
        println!(
            "| honest success rate | {:.3}% ({failures} failed) |",
            if calls == 0 {
                0.0
            } else {
                100.0 * (calls - failures) as f64 / calls as f64
            }
        );
        println!(
            "| honest latency p50 / p99 | {:.0} µs / {:.0} µs |",
            pct(50),
            pct(99)
        );
        println!(
            "| screenshots streamed, byte-identical | {} of {streams} |",
            streams - differing
        );
        println!(
            "| hostile connections: slowloris, giant length, garbage, never-read | {} / {} / {} / {} |",
            hostile.slowloris.load(Ordering::Relaxed),
            hostile.giant.load(Ordering::Relaxed),
            hostile.garbage.load(Ordering::Relaxed),
            hostile.never_read.load(Ordering::Relaxed),
        );
        println!(
            "| churn: connections held at once | {} |",
            hostile.churn_peak.load(Ordering::Relaxed)
        );
        println!("| server descriptors open at the limit | {limit_fds} of {SERVER_FD_LIMIT} |");
        let share = |s: Option<f64>| {
            s.map_or("not measured (run longer)".to_string(), |s| {
                format!("{:.1}% of a core", s * 100.0)
            })
        };
        println!(
            "| server CPU, same load below the limit (first third) | {} |",
            share(below_share)
        );
        println!(
            "| server CPU at its fd limit (middle third) | {} |",
            share(limit_share)
        );
        let series: Vec<String> = rss
            .iter()
            .map(|(t, kib)| format!("{t}s {:.1}", *kib as f64 / 1024.0))
            .collect();
        println!(
            "| server RSS, MiB (peak {:.1}) | {} |",
            peak as f64 / 1024.0,
            series.join(", ")
        );
        assert_eq!(failures, 0, "honest calls failed");
        assert_eq!(differing, 0, "streamed data differed");
    }
}

fn main() {
    #[cfg(rpcbench)]
    real::main();
    #[cfg(not(rpcbench))]
    println!(
        "SKIPPED: soak benchmark: peertest.x, rpcgen or libtirpc was missing at build time (see the build warning)"
    );
}
