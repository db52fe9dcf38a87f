//! RPC over loopback TCP: PT_NULL and PT_ADD of `peertest.x` with 1 and
//! with 64 calls in flight, every pairing of two clients and two servers,
//! in one run:
//!
//! * `rust` server: xdrgen-runtime's `Server` on a multi-thread tokio
//!   runtime, answering through the generated `Dispatcher`, in a child
//!   process (this binary again, see [`SERVER_ROLE`]);
//! * `tirpc` server: `rpcgen -m` output under a hand-written main(), the
//!   stock single-threaded `svc_run` loop (`c/rpc_server.c`);
//! * `rust` client: the generated async `Client` in this process; N calls
//!   in flight are N tasks sharing ONE connection (xid multiplexing);
//! * `tirpc` client: `c/rpc_client.c`; libtirpc's `clnt_call` is
//!   synchronous, so N calls in flight are N threads with a connection
//!   each.
//!
//! Each case runs for a warm-up, then a measured window: calls/s counts
//! the calls that start and end in the window, p50/p99 are their
//! latencies, and the CPU time both processes spend in the window (from
//! /proc schedstat, or getrusage in the C client) is divided by the calls.
//!
//! Run: `cargo bench -p xdrgen-bench --bench rpc` (optionally
//! `-- --warm-up-time SECS --measurement-time SECS --filter TEXT`; the
//! defaults are 1 and 3 s, all cases). It prints a markdown table.

#[cfg(rpcbench)]
mod real {
    use std::io::Read;
    use std::process::Command;

    use tokio::net::TcpListener;
    use tokio::time::Instant;
    use xdrgen_runtime::XdrString;
    use xdrgen_runtime::rpc::{CallContext, ClientConfig, Fault, Server, ServerConfig};

    use xdrgen_bench::harness::{Process, Sample, Settings, c_client_sample, cpu_ns, thousands};

    #[allow(
        missing_docs,
        unreachable_pub,
        dead_code,
        clippy::all,
        clippy::pedantic
    )]
    mod peertest {
        include!(concat!(env!("OUT_DIR"), "/peertest_x.rs"));
    }
    use peertest::peertest_prog::peertest_v1 as v1;
    use peertest::{PtColor, PtItem, PtPoint, PtShape};

    /// Set in the environment of the child that runs the Rust server.
    const SERVER_ROLE: &str = "XDRGEN_RPC_BENCH_ROLE";
    const C_SERVER: &str = env!("XDRGEN_RPC_C_SERVER");
    const C_CLIENT: &str = env!("XDRGEN_RPC_C_CLIENT");
    const IN_FLIGHT: [usize; 2] = [1, 64];

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

    /// The procedures of peertest v1 the benchmark calls; the others
    /// answer PROC_UNAVAIL, as the C server's do.
    struct Bench;

    impl v1::Service for Bench {
        async fn pt_null(&self, _cx: &CallContext) -> Result<(), Fault> {
            Ok(())
        }
        async fn pt_add(&self, _cx: &CallContext, p: PtPoint) -> Result<i32, Fault> {
            Ok(p.x.wrapping_add(p.y))
        }
        async fn pt_echo(&self, _cx: &CallContext, _s: XdrString) -> Result<XdrString, Fault> {
            Err(Fault::ProcUnavail)
        }
        async fn pt_bump(&self, _cx: &CallContext, _item: PtItem) -> Result<PtItem, Fault> {
            Err(Fault::ProcUnavail)
        }
        async fn pt_shape(&self, _cx: &CallContext, _c: PtColor) -> Result<PtShape, Fault> {
            Err(Fault::ProcUnavail)
        }
    }

    /// The Rust server's process: serves 127.0.0.1 on a port it prints,
    /// until its stdin closes (the benchmark ended or died).
    fn serve() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("{}", listener.local_addr().unwrap().port());
            let server = Server::builder(ServerConfig::default())
                .service(v1::Dispatcher(Bench))
                .build();
            tokio::spawn(async move { server.serve_tcp(listener).await });
            let _ =
                tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
        });
        // Connections still open do not matter: the process ends.
        std::process::exit(0);
    }

    /// Starts a server and reads the port it listens on.
    fn start_server(side: Side) -> (Process, u16) {
        let cmd = match side {
            Side::Rust => {
                let mut cmd = Command::new(std::env::current_exe().unwrap());
                cmd.env(SERVER_ROLE, "server");
                cmd
            }
            Side::Tirpc => Command::new(C_SERVER),
        };
        let mut server = Process::spawn(cmd);
        let port = server.line().parse().expect("a port");
        (server, port)
    }

    /// The generated async client: `in_flight` tasks calling in a loop,
    /// all on one connection.
    fn rust_client(port: u16, proc: Proc, in_flight: usize, s: &Settings, server: u32) -> Sample {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let me = std::process::id();
        rt.block_on(async {
            let endpoint = xdrgen_runtime::rpc::Endpoint::Tcp(([127, 0, 0, 1], port).into());
            let client = v1::Client::connect(endpoint, ClientConfig::default())
                .await
                .unwrap();
            let warm_end = Instant::now() + s.warm_up;
            let end = warm_end + s.measure;
            let tasks: Vec<_> = (0..in_flight)
                .map(|_| tokio::spawn(call_loop(client.clone(), proc, warm_end, end)))
                .collect();
            tokio::time::sleep_until(warm_end).await;
            let start = (cpu_ns(server), cpu_ns(me));
            tokio::time::sleep_until(end).await;
            let stop = (cpu_ns(server), cpu_ns(me));
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            latencies.sort_unstable();
            Sample {
                latencies,
                window: s.measure,
                server_cpu_ns: stop.0 - start.0,
                client_cpu_ns: stop.1 - start.1,
            }
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

    /// The libtirpc client: `in_flight` threads, a `CLIENT` each.
    fn tirpc_client(port: u16, proc: Proc, in_flight: usize, s: &Settings, server: u32) -> Sample {
        let mut cmd = Command::new(C_CLIENT);
        cmd.arg(port.to_string())
            .arg(proc.number().to_string())
            .arg(in_flight.to_string())
            .arg(s.warm_up.as_millis().to_string())
            .arg(s.measure.as_millis().to_string());
        c_client_sample(cmd, server, s.measure)
    }

    struct Row {
        proc: Proc,
        in_flight: usize,
        client: Side,
        server: Side,
        sample: Sample,
    }

    pub(super) fn main() {
        if std::env::var_os(SERVER_ROLE).is_some() {
            return serve();
        }
        let settings = Settings::from_args();
        let mut rows = Vec::new();
        for server_side in [Side::Tirpc, Side::Rust] {
            let (server, port) = start_server(server_side);
            for proc in [Proc::Null, Proc::Add] {
                for in_flight in IN_FLIGHT {
                    for client in [Side::Tirpc, Side::Rust] {
                        let label = format!(
                            "{} x{in_flight} {} -> {}",
                            proc.name(),
                            client.name(),
                            server_side.name()
                        );
                        if settings.skips(&label) {
                            continue;
                        }
                        eprintln!("{label}: server pid {}", server.pid());
                        let sample = match client {
                            Side::Rust => {
                                rust_client(port, proc, in_flight, &settings, server.pid())
                            }
                            Side::Tirpc => {
                                tirpc_client(port, proc, in_flight, &settings, server.pid())
                            }
                        };
                        eprintln!("{label}: {:.0} calls/s", sample.calls_per_sec());
                        rows.push(Row {
                            proc,
                            in_flight,
                            client,
                            server: server_side,
                            sample,
                        });
                    }
                }
            }
        }
        print_table(&rows, &settings);
    }

    fn print_table(rows: &[Row], s: &Settings) {
        println!(
            "\nwarm-up {:?}, measured {:?} per case; CPU is µs per call in the window\n",
            s.warm_up, s.measure
        );
        println!(
            "| procedure | in flight | client → server | calls/s | × tirpc→tirpc | p50 µs | p99 µs | server CPU | client CPU |"
        );
        println!("|---|--:|---|--:|--:|--:|--:|--:|--:|");
        for proc in [Proc::Null, Proc::Add] {
            for in_flight in IN_FLIGHT {
                let case = || {
                    rows.iter()
                        .filter(|r| r.proc == proc && r.in_flight == in_flight)
                };
                let baseline = case()
                    .find(|r| r.client == Side::Tirpc && r.server == Side::Tirpc)
                    .map_or(f64::NAN, |r| r.sample.calls_per_sec());
                for r in case() {
                    let x = &r.sample;
                    println!(
                        "| {} | {in_flight} | {} → {} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
                        proc.name(),
                        r.client.name(),
                        r.server.name(),
                        thousands(x.calls_per_sec()),
                        x.calls_per_sec() / baseline,
                        x.percentile_us(50),
                        x.percentile_us(99),
                        x.cpu_us_per_call(x.server_cpu_ns),
                        x.cpu_us_per_call(x.client_cpu_ns),
                    );
                }
            }
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
