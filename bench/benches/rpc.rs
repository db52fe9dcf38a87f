//! ONC RPC over loopback: PT_NULL and PT_ADD of `peertest.x`, over TCP and
//! UDP, in three shapes, every useful pairing of two clients and two
//! servers, in one run:
//!
//! * **1 in flight**: one call at a time on one connection (or socket);
//! * **64 connections**: 64 clients with one call each in flight, the
//!   common real-world shape (libtirpc's client always runs this way);
//! * **multiplexed**: 64 calls in flight on one connection (or socket),
//!   which only our client can do.
//!
//! The sides:
//!
//! * `rust` server: xdrgen-runtime's `Server` on a multi-thread tokio
//!   runtime, answering through the generated `Dispatcher` over TCP and
//!   UDP, in a child process (this binary again, see [`SERVER_ROLE`]);
//! * `tirpc` server: `rpcgen -m` output under a hand-written main(), the
//!   stock single-threaded `svc_run` loop over a TCP and a UDP transport
//!   (`c/rpc_server.c`);
//! * `rust` client: the generated async `Client` in this process; tasks
//!   calling in a loop, sharing one client (multiplexed) or a client each;
//! * `tirpc` client: `c/rpc_client.c`; libtirpc's `clnt_call` is
//!   synchronous, so N calls in flight are N threads with a client each.
//!
//! Each case runs for a warm-up, then a measured window: calls/s counts
//! the calls that start and end in the window, p50/p99 are their
//! latencies, and the CPU time both processes spend in the window (from
//! /proc schedstat, or getrusage in the C client) is divided by the calls.
//! With `--counts`, `perf stat` also counts both processes' system calls
//! and context switches in the window.
//!
//! Run: `cargo bench -p xdrgen-bench --bench rpc` (optionally
//! `-- --warm-up-time SECS --measurement-time SECS --filter TEXT
//! --counts`; the defaults are 1 and 3 s, all 40 cases, no counts). It
//! prints two markdown tables: ours against libtirpc per cell, and every
//! case.

#[cfg(rpcbench)]
mod real {
    use std::io::Read;
    use std::process::Command;

    use tokio::net::{TcpListener, UdpSocket};
    use tokio::time::Instant;
    use xdrgen_runtime::rpc::{ClientConfig, Endpoint, Server, ServerConfig};

    use xdrgen_bench::PeertestService;
    use xdrgen_bench::harness::{
        Counts, KernelCounts, Process, Sample, Settings, c_client_sample_counted, cpu_ns, thousands,
    };
    use xdrgen_bench::peertest::PtPoint;
    use xdrgen_bench::peertest::peertest_prog::peertest_v1 as v1;

    /// Set in the environment of the child that runs the Rust server.
    const SERVER_ROLE: &str = "XDRGEN_RPC_BENCH_ROLE";
    /// `current_thread` in the server child's environment: the Rust server
    /// runs on a current-thread runtime instead of the default
    /// multi-thread one (2 workers here), to compare the two flavours.
    const SERVER_RUNTIME: &str = "XDRGEN_RPC_BENCH_SERVER_RUNTIME";
    const C_SERVER: &str = env!("XDRGEN_RPC_C_SERVER");
    const C_CLIENT: &str = env!("XDRGEN_RPC_C_CLIENT");
    /// Calls in flight in the 64-connection and multiplexed shapes.
    const MANY: usize = 64;

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Proc {
        Null,
        Add,
    }

    impl Proc {
        fn number(self) -> u32 {
            match self {
                Proc::Null => v1::Procedure::PtNull.number(),
                Proc::Add => v1::Procedure::PtAdd.number(),
            }
        }
        fn name(self) -> &'static str {
            match self {
                Proc::Null => "PT_NULL",
                Proc::Add => "PT_ADD",
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Transport {
        Tcp,
        Udp,
    }

    impl Transport {
        fn name(self) -> &'static str {
            match self {
                Transport::Tcp => "tcp",
                Transport::Udp => "udp",
            }
        }
        fn endpoint(self, ports: Ports) -> Endpoint {
            match self {
                Transport::Tcp => Endpoint::Tcp(([127, 0, 0, 1], ports.tcp).into()),
                Transport::Udp => Endpoint::Udp(([127, 0, 0, 1], ports.udp).into()),
            }
        }
        fn port(self, ports: Ports) -> u16 {
            match self {
                Transport::Tcp => ports.tcp,
                Transport::Udp => ports.udp,
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Shape {
        /// One call at a time on one connection.
        One,
        /// [`MANY`] clients with one call in flight each.
        Connections,
        /// [`MANY`] calls in flight on one connection.
        Multiplexed,
    }

    impl Shape {
        fn name(self) -> &'static str {
            match self {
                Shape::One => "1 in flight",
                Shape::Connections => "64 connections",
                Shape::Multiplexed => "64 multiplexed",
            }
        }
        fn label(self) -> &'static str {
            match self {
                Shape::One => "x1",
                Shape::Connections => "x64conn",
                Shape::Multiplexed => "x64mux",
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Side {
        Rust,
        Tirpc,
    }

    impl Side {
        fn name(self) -> &'static str {
            match self {
                Side::Rust => "rust",
                Side::Tirpc => "tirpc",
            }
        }
    }

    #[derive(Clone, Copy)]
    struct Ports {
        tcp: u16,
        udp: u16,
    }

    /// The Rust server's process: serves TCP and UDP on 127.0.0.1 on
    /// ports it prints, until its stdin closes (the benchmark ended or
    /// died).
    fn serve() {
        let mut builder = match std::env::var(SERVER_RUNTIME).as_deref() {
            Ok("current_thread") => tokio::runtime::Builder::new_current_thread(),
            Ok("multi_thread") | Err(_) => tokio::runtime::Builder::new_multi_thread(),
            Ok(other) => panic!("{SERVER_RUNTIME}={other}: current_thread or multi_thread"),
        };
        let rt = builder.enable_all().build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            println!(
                "{} {}",
                listener.local_addr().unwrap().port(),
                socket.local_addr().unwrap().port()
            );
            let server = Server::builder(ServerConfig::default())
                .service(v1::Dispatcher(PeertestService))
                .build();
            let udp = server.clone();
            tokio::spawn(async move { server.serve_tcp(listener).await });
            tokio::spawn(async move { udp.serve_udp(socket).await });
            let _ =
                tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        });
        // Connections still open do not matter: the process ends.
        std::process::exit(0);
    }

    /// Starts a server and reads the ports it serves.
    fn start_server(side: Side) -> (Process, Ports) {
        let cmd = match side {
            Side::Rust => {
                let mut cmd = Command::new(std::env::current_exe().unwrap());
                cmd.env(SERVER_ROLE, "server");
                cmd
            }
            Side::Tirpc => Command::new(C_SERVER),
        };
        let mut server = Process::spawn(cmd);
        let line = server.line();
        let ports: Vec<u16> = line.split(' ').filter_map(|p| p.parse().ok()).collect();
        let [tcp, udp] = ports[..] else {
            panic!("expected two ports from the server, got {line:?}")
        };
        (server, Ports { tcp, udp })
    }

    /// One measured case.
    struct Case {
        proc: Proc,
        transport: Transport,
        shape: Shape,
        client: Side,
        server: Side,
    }

    impl Case {
        fn label(&self) -> String {
            format!(
                "{} {} {} {} -> {}",
                self.proc.name(),
                self.transport.name(),
                self.shape.label(),
                self.client.name(),
                self.server.name()
            )
        }
    }

    /// The generated async client: [`MANY`] tasks (or one) calling in a
    /// loop, on one client or a client each.
    fn rust_client(
        case: &Case,
        endpoint: &Endpoint,
        s: &Settings,
        server: u32,
    ) -> (Sample, Option<Vec<Counts>>) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let me = std::process::id();
        let (tasks, clients) = match case.shape {
            Shape::One => (1, 1),
            Shape::Connections => (MANY, MANY),
            Shape::Multiplexed => (MANY, 1),
        };
        rt.block_on(async {
            let mut connected = Vec::with_capacity(clients);
            for _ in 0..clients {
                let client = v1::Client::connect(endpoint.clone(), ClientConfig::default());
                connected.push(client.await.unwrap());
            }
            let warm_end = Instant::now() + s.warm_up;
            let end = warm_end + s.measure;
            let tasks: Vec<_> = (0..tasks)
                .map(|i| {
                    let client = connected[i % clients].clone();
                    tokio::spawn(call_loop(client, case.proc, warm_end, end))
                })
                .collect();
            tokio::time::sleep_until(warm_end).await;
            let counting = s.counts.then(|| KernelCounts::start(&[server, me]));
            let start = (cpu_ns(server), cpu_ns(me));
            tokio::time::sleep_until(end).await;
            let stop = (cpu_ns(server), cpu_ns(me));
            let counts = counting.map(KernelCounts::stop);
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            latencies.sort_unstable();
            let sample = Sample {
                latencies,
                window: s.measure,
                server_cpu_ns: stop.0 - start.0,
                client_cpu_ns: stop.1 - start.1,
            };
            (sample, counts)
        })
    }

    /// One call at a time until `end`; latencies of calls within
    /// `warm_end..end`. Wrong results and failed calls end the benchmark.
    async fn call_loop(
        client: v1::Client,
        proc: Proc,
        warm_end: Instant,
        end: Instant,
    ) -> Vec<u64> {
        let mut latencies = Vec::new();
        let mut i = 0;
        loop {
            let t0 = Instant::now();
            if t0 >= end {
                return latencies;
            }
            match proc {
                Proc::Null => client.pt_null().await.expect("PT_NULL"),
                Proc::Add => {
                    let p = PtPoint {
                        x: i & 0xffff,
                        y: 2,
                    };
                    i += 1;
                    assert_eq!(client.pt_add(&p).await.expect("PT_ADD"), p.x + p.y);
                }
            }
            let t1 = Instant::now();
            if t0 >= warm_end && t1 <= end {
                latencies.push(u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX));
            }
        }
    }

    /// The libtirpc client: one thread and client per call in flight.
    fn tirpc_client(
        case: &Case,
        ports: Ports,
        s: &Settings,
        server: u32,
    ) -> (Sample, Option<Vec<Counts>>) {
        let threads = if case.shape == Shape::One { 1 } else { MANY };
        let mut cmd = Command::new(C_CLIENT);
        cmd.arg(case.transport.name())
            .arg(case.transport.port(ports).to_string())
            .arg(case.proc.number().to_string())
            .arg(threads.to_string())
            .arg(s.warm_up.as_millis().to_string())
            .arg(s.measure.as_millis().to_string());
        c_client_sample_counted(cmd, server, s.measure, s.counts)
    }

    struct Row {
        case: Case,
        sample: Sample,
        /// Server's, then client's.
        counts: Option<Vec<Counts>>,
    }

    /// Every case of the matrix. libtirpc's client cannot multiplex, so
    /// the multiplexed shape has only our client.
    fn cases() -> Vec<Case> {
        let mut cases = Vec::new();
        for proc in [Proc::Null, Proc::Add] {
            for transport in [Transport::Tcp, Transport::Udp] {
                for shape in [Shape::One, Shape::Connections, Shape::Multiplexed] {
                    for client in [Side::Tirpc, Side::Rust] {
                        if shape == Shape::Multiplexed && client == Side::Tirpc {
                            continue;
                        }
                        for server in [Side::Tirpc, Side::Rust] {
                            cases.push(Case {
                                proc,
                                transport,
                                shape,
                                client,
                                server,
                            });
                        }
                    }
                }
            }
        }
        cases
    }

    pub(super) fn main() {
        if std::env::var_os(SERVER_ROLE).is_some() {
            return serve();
        }
        let settings = Settings::from_args();
        let mut rows = Vec::new();
        for server_side in [Side::Tirpc, Side::Rust] {
            let (server, ports) = start_server(server_side);
            for case in cases() {
                let label = case.label();
                if case.server != server_side || settings.skips(&label) {
                    continue;
                }
                eprintln!("{label}: server pid {}", server.pid());
                let (sample, counts) = match case.client {
                    Side::Rust => {
                        let endpoint = case.transport.endpoint(ports);
                        rust_client(&case, &endpoint, &settings, server.pid())
                    }
                    Side::Tirpc => tirpc_client(&case, ports, &settings, server.pid()),
                };
                eprintln!("{label}: {:.0} calls/s", sample.calls_per_sec());
                rows.push(Row {
                    case,
                    sample,
                    counts,
                });
            }
        }
        println!(
            "\nwarm-up {:?}, measured {:?} per case; CPU is µs per call in the window",
            settings.warm_up, settings.measure
        );
        print_matrix(&rows);
        print_cases(&rows);
    }

    fn find(
        rows: &[Row],
        proc: Proc,
        transport: Transport,
        shape: Shape,
        pair: (Side, Side),
    ) -> Option<&Row> {
        rows.iter().find(|r| {
            let c = &r.case;
            c.proc == proc
                && c.transport == transport
                && c.shape == shape
                && (c.client, c.server) == pair
        })
    }

    /// Ours against libtirpc in each cell. With 1 in flight both sides
    /// are ours (rust → rust against tirpc → tirpc) and CPU is both
    /// processes'; with 64 connections the client is libtirpc's in both
    /// (tirpc → rust against tirpc → tirpc) and CPU is the server's;
    /// multiplexed is rust → rust on one connection against libtirpc's
    /// 64 connections, both processes' CPU.
    fn print_matrix(rows: &[Row]) {
        println!("\n### Ours against libtirpc\n");
        println!(
            "| procedure | transport | shape | ours | calls/s ours | calls/s tirpc | × | p50 µs ours | p50 µs tirpc | × | CPU µs/call ours | CPU µs/call tirpc | × |"
        );
        println!("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        let tirpc = (Side::Tirpc, Side::Tirpc);
        for proc in [Proc::Null, Proc::Add] {
            for transport in [Transport::Tcp, Transport::Udp] {
                for shape in [Shape::One, Shape::Connections, Shape::Multiplexed] {
                    let (ours_pair, baseline_shape) = match shape {
                        Shape::One => ((Side::Rust, Side::Rust), Shape::One),
                        Shape::Connections => ((Side::Tirpc, Side::Rust), Shape::Connections),
                        Shape::Multiplexed => ((Side::Rust, Side::Rust), Shape::Connections),
                    };
                    let (Some(ours), Some(base)) = (
                        find(rows, proc, transport, shape, ours_pair),
                        find(rows, proc, transport, baseline_shape, tirpc),
                    ) else {
                        continue;
                    };
                    let cpu = |r: &Row| {
                        let x = &r.sample;
                        if shape == Shape::Connections {
                            x.cpu_us_per_call(x.server_cpu_ns)
                        } else {
                            x.cpu_us_per_call(x.server_cpu_ns + x.client_cpu_ns)
                        }
                    };
                    let (o, b) = (&ours.sample, &base.sample);
                    println!(
                        "| {} | {} | {} | {} → {} | {} | {} | {:.2} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} |",
                        proc.name(),
                        transport.name(),
                        shape.name(),
                        ours_pair.0.name(),
                        ours_pair.1.name(),
                        thousands(o.calls_per_sec()),
                        thousands(b.calls_per_sec()),
                        o.calls_per_sec() / b.calls_per_sec(),
                        o.percentile_us(50),
                        b.percentile_us(50),
                        o.percentile_us(50) / b.percentile_us(50),
                        cpu(ours),
                        cpu(base),
                        cpu(ours) / cpu(base),
                    );
                }
            }
        }
    }

    // Counts stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    fn per_call(count: u64, sample: &Sample) -> f64 {
        count as f64 / sample.latencies.len() as f64
    }

    /// Every case, with the kernel counts when `--counts` took them.
    fn print_cases(rows: &[Row]) {
        println!("\n### Every case\n");
        println!(
            "| procedure | transport | shape | client → server | calls/s | p50 µs | p99 µs | server CPU | client CPU | server syscalls/call | client syscalls/call | server ctx sw/call | client ctx sw/call |"
        );
        println!("|---|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for r in rows {
            let (c, x) = (&r.case, &r.sample);
            let counts = r.counts.as_deref().map_or_else(
                || "— | — | — | —".to_string(),
                |counts| {
                    format!(
                        "{:.2} | {:.2} | {:.2} | {:.2}",
                        per_call(counts[0].syscalls, x),
                        per_call(counts[1].syscalls, x),
                        per_call(counts[0].context_switches, x),
                        per_call(counts[1].context_switches, x),
                    )
                },
            );
            println!(
                "| {} | {} | {} | {} → {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {counts} |",
                c.proc.name(),
                c.transport.name(),
                c.shape.name(),
                c.client.name(),
                c.server.name(),
                thousands(x.calls_per_sec()),
                x.percentile_us(50),
                x.percentile_us(99),
                x.cpu_us_per_call(x.server_cpu_ns),
                x.cpu_us_per_call(x.client_cpu_ns),
            );
        }
    }
}

fn main() {
    #[cfg(rpcbench)]
    real::main();
    #[cfg(not(rpcbench))]
    println!(
        "SKIPPED: rpc benchmark: peertest.x, rpcgen or libtirpc was missing at build time (see the build warning)"
    );
}
