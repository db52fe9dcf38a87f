//! libvirt RPC against the real libvirtd (Debian's 9.0, test driver, from
//! `../shared/peers/libvirt/start.sh`), on loopback: calls/s of
//! REMOTE_PROC_CONNECT_GET_LIB_VERSION, a cheap procedure, with 1 and with
//! 32 calls in flight, over TCP (127.0.0.1:16509, auth none, no TLS) and
//! over the daemon's unix socket. Three clients:
//!
//! * `xdrgen`: the client generated from libvirt's `remote_protocol.x`
//!   (the `example-libvirt-daemon` crate's `remote` module) on
//!   xdrgen-runtime's `libvirt::Connection`, on a multi-thread tokio
//!   runtime in this process; N calls in flight are N tasks sharing ONE
//!   connection (replies matched by serial);
//! * `C libvirt`: `c/libvirt_client.c` on libvirt's public API
//!   (libvirt.so's remote driver); N calls in flight are N threads sharing
//!   ONE `virConnectPtr`, which the remote driver multiplexes on its one
//!   socket;
//! * `virsh`: a floor, `virsh -q -c URI version` run again and again (N at
//!   once), a process, a connection and several calls per "call".
//!
//! Each run connects, sends AUTH_LIST and CONNECT_OPEN of test:///default
//! (virConnectOpen does these for the C client), calls for a warm-up, then
//! for a measured window, and ends with CONNECT_CLOSE. calls/s counts the
//! calls that start and end in the window, p50/p99 are their latencies, and
//! the CPU time the daemon (all libvirtd threads, /proc schedstat) and the
//! client spend in the window is divided by the calls.
//!
//! Run: `cargo bench -p xdrgen-bench --bench libvirt`, optionally with
//! `-- --warm-up-time SECS --measurement-time SECS --filter TEXT` (defaults
//! 1 s, 3 s, all cases; labels look like `GET_LIB_VERSION x32 xdrgen tcp`)
//! and, for the analysis in BENCHMARKS.md, `--in-flight N,M,..` (default
//! 1,32), `--current-thread` (our client on a current-thread tokio runtime
//! instead of the multi-thread one) and `--window N` (at most N of our
//! calls outstanding at the daemon). It prints two markdown tables: the
//! timings, then counts per call over the middle of each window from /proc
//! (libvirtd's context switches, event loop and workers apart; the
//! machine's reschedule IPIs; its idle share), which explain the daemon's
//! CPU per call (BENCHMARKS.md, "What limits each"). The daemon
//! is found by its pid file, `$XDRGEN_PEERS_STATE/libvirt/libvirtd.pid`
//! (default /tmp/xdrgen-peers), and its port, `$LIBVIRT_TCP_PORT` (default
//! 16509), as `start.sh` uses them. Without a running libvirtd it prints
//! SKIPPED, or fails if `XDRGEN_REQUIRE_PEERS` is set.

#[cfg(libvirtbench)]
mod real {
    use std::path::PathBuf;
    use std::process::Command;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use example_libvirt_daemon::remote::remote_program::Client;
    use example_libvirt_daemon::remote::{RemoteAuthType, RemoteConnectOpenArgs};
    use tokio::sync::Semaphore;
    use xdrgen_bench::harness::{Sample, Settings, c_client_sample, cpu_ns, thousands};
    use xdrgen_runtime::libvirt::{Connection, ConnectionConfig};

    const C_CLIENT: &str = env!("XDRGEN_LIBVIRT_C_CLIENT");

    /// This bench's own arguments, beside [`Settings`]'.
    struct Options {
        /// `--in-flight 1,32`: the numbers of calls in flight.
        in_flight: Vec<usize>,
        /// `--current-thread`: our client on a current-thread tokio
        /// runtime instead of the default multi-thread one (2 workers here).
        current_thread: bool,
        /// `--window N`: at most N of our calls outstanding at the daemon;
        /// the other tasks wait for a permit (a tokio semaphore) before
        /// sending. Not limited by default.
        window: Option<usize>,
    }

    impl Options {
        fn from_args() -> Options {
            let mut options = Options {
                in_flight: vec![1, 32],
                current_thread: false,
                window: None,
            };
            let mut args = std::env::args().skip(1);
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--in-flight" => {
                        let list = args.next().expect("a list after --in-flight");
                        options.in_flight = list
                            .split(',')
                            .map(|n| n.trim().parse().expect("--in-flight N,M,..."))
                            .collect();
                        assert!(options.in_flight.iter().all(|&n| n > 0), "--in-flight 0");
                    }
                    "--current-thread" => options.current_thread = true,
                    "--window" => {
                        let n = args.next().and_then(|n| n.parse().ok());
                        options.window = Some(n.filter(|&n| n > 0).expect("--window N > 0"));
                    }
                    _ => {}
                }
            }
            options
        }
    }

    /// Where the daemon listens, and its process.
    struct Daemon {
        pid: u32,
        tcp: String,
        unix: PathBuf,
    }

    impl Daemon {
        /// The daemon `start.sh` started, if it runs.
        fn find() -> Result<Daemon, String> {
            let state = std::env::var_os("XDRGEN_PEERS_STATE")
                .map_or_else(|| PathBuf::from("/tmp/xdrgen-peers"), PathBuf::from);
            let pidfile = state.join("libvirt/libvirtd.pid");
            let pid = std::fs::read_to_string(&pidfile)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .ok_or_else(|| format!("no pid in {}", pidfile.display()))?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() != "libvirtd" {
                return Err(format!(
                    "pid {pid} of {} is not libvirtd",
                    pidfile.display()
                ));
            }
            let port = std::env::var("LIBVIRT_TCP_PORT").unwrap_or_else(|_| "16509".into());
            Ok(Daemon {
                pid,
                tcp: format!("127.0.0.1:{port}"),
                unix: state.join("libvirt/sock/libvirt-sock"),
            })
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Transport {
        Tcp,
        Unix,
    }

    impl Transport {
        fn name(self) -> &'static str {
            match self {
                Transport::Tcp => "tcp",
                Transport::Unix => "unix",
            }
        }

        /// The URI libvirt's own clients open.
        fn uri(self, daemon: &Daemon) -> String {
            match self {
                Transport::Tcp => format!("test+tcp://{}/default", daemon.tcp),
                Transport::Unix => {
                    format!("test+unix:///default?socket={}", daemon.unix.display())
                }
            }
        }
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Side {
        Xdrgen,
        CLibvirt,
        Virsh,
    }

    impl Side {
        fn name(self) -> &'static str {
            match self {
                Side::Xdrgen => "xdrgen",
                Side::CLibvirt => "C libvirt",
                Side::Virsh => "virsh",
            }
        }
    }

    /// Connects, AUTH_LIST (auth none must be offered), CONNECT_OPEN.
    async fn open(transport: Transport, daemon: &Daemon) -> Client {
        let config = ConnectionConfig::default();
        let connection = match transport {
            Transport::Tcp => Connection::connect_tcp(daemon.tcp.as_str(), config).await,
            Transport::Unix => Connection::connect_unix(&daemon.unix, config).await,
        }
        .unwrap_or_else(|e| panic!("cannot connect to libvirtd over {}: {e}", transport.name()));
        let client = Client(connection);
        let auth = client.auth_list().await.expect("AUTH_LIST");
        assert!(
            auth.types.contains(&RemoteAuthType::RemoteAuthNone),
            "{auth:?}"
        );
        client
            .connect_open(&RemoteConnectOpenArgs {
                name: Some("test:///default".into()),
                flags: 0,
            })
            .await
            .expect("CONNECT_OPEN");
        client
    }

    /// The generated client: `in_flight` tasks calling in a loop, all on
    /// one connection.
    fn xdrgen_client(
        transport: Transport,
        in_flight: usize,
        s: &Settings,
        options: &Options,
        daemon: &Daemon,
    ) -> Sample {
        let rt = if options.current_thread {
            tokio::runtime::Builder::new_current_thread()
        } else {
            tokio::runtime::Builder::new_multi_thread()
        }
        .enable_all()
        .build()
        .unwrap();
        let me = std::process::id();
        rt.block_on(async {
            let client = open(transport, daemon).await;
            let expected = client
                .connect_get_lib_version()
                .await
                .expect("CONNECT_GET_LIB_VERSION")
                .lib_ver;
            let warm_end = tokio::time::Instant::now() + s.warm_up;
            let end = warm_end + s.measure;
            let window = options.window.map(|n| Arc::new(Semaphore::new(n)));
            let tasks: Vec<_> = (0..in_flight)
                .map(|_| {
                    let call = call_loop(client.clone(), expected, window.clone(), warm_end, end);
                    tokio::spawn(call)
                })
                .collect();
            tokio::time::sleep_until(warm_end).await;
            let start = (cpu_ns(daemon.pid), cpu_ns(me));
            tokio::time::sleep_until(end).await;
            let stop = (cpu_ns(daemon.pid), cpu_ns(me));
            let mut latencies = Vec::new();
            for task in tasks {
                latencies.extend(task.await.unwrap());
            }
            client.connect_close().await.expect("CONNECT_CLOSE");
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
        client: Client,
        expected: u64,
        window: Option<Arc<Semaphore>>,
        warm_end: tokio::time::Instant,
        end: tokio::time::Instant,
    ) -> Vec<u64> {
        let mut latencies = Vec::new();
        loop {
            let t0 = tokio::time::Instant::now();
            if t0 >= end {
                return latencies;
            }
            let _permit = match &window {
                Some(w) => Some(w.acquire().await.unwrap()),
                None => None,
            };
            let version = client
                .connect_get_lib_version()
                .await
                .expect("CONNECT_GET_LIB_VERSION");
            assert_eq!(version.lib_ver, expected);
            let t1 = tokio::time::Instant::now();
            if t0 >= warm_end && t1 <= end {
                latencies.push(nanos(t1 - t0));
            }
        }
    }

    fn nanos(d: Duration) -> u64 {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    /// What the daemon and the machine did, read from /proc: context
    /// switches of libvirtd's event loop (its main thread, `libvirtd`) and
    /// of its workers (`rpc-libvirtd`, `prio-rpc-libvir`), the machine's
    /// reschedule IPIs (a thread woken on another CPU, often a halted
    /// vCPU here) and CPU ticks, idle and in all.
    #[derive(Clone, Copy, Default)]
    struct Counts {
        loop_voluntary: u64,
        loop_involuntary: u64,
        workers_voluntary: u64,
        workers_involuntary: u64,
        resched_ipis: u64,
        idle_ticks: u64,
        all_ticks: u64,
    }

    impl Counts {
        fn read(pid: u32) -> Counts {
            let mut c = Counts::default();
            if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
                for task in tasks.flatten() {
                    let path = task.path();
                    let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
                    let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
                    let field = |name: &str| {
                        status
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .unwrap_or(0)
                    };
                    let (voluntary, involuntary) = (
                        field("voluntary_ctxt_switches:"),
                        field("nonvoluntary_ctxt_switches:"),
                    );
                    match comm.trim() {
                        "libvirtd" => {
                            c.loop_voluntary += voluntary;
                            c.loop_involuntary += involuntary;
                        }
                        "rpc-libvirtd" | "prio-rpc-libvir" => {
                            c.workers_voluntary += voluntary;
                            c.workers_involuntary += involuntary;
                        }
                        _ => {}
                    }
                }
            }
            let interrupts = std::fs::read_to_string("/proc/interrupts").unwrap_or_default();
            c.resched_ipis = interrupts
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("RES:"))
                .map_or(0, |counts| {
                    counts
                        .split_whitespace()
                        .map_while(|n| n.parse::<u64>().ok())
                        .sum()
                });
            let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
            let ticks: Vec<u64> = stat
                .lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .skip(1)
                .filter_map(|n| n.parse().ok())
                .collect();
            c.idle_ticks = ticks.get(3).copied().unwrap_or(0);
            c.all_ticks = ticks.iter().sum();
            c
        }

        fn since(self, before: Counts) -> Counts {
            Counts {
                loop_voluntary: self.loop_voluntary - before.loop_voluntary,
                loop_involuntary: self.loop_involuntary - before.loop_involuntary,
                workers_voluntary: self.workers_voluntary - before.workers_voluntary,
                workers_involuntary: self.workers_involuntary - before.workers_involuntary,
                resched_ipis: self.resched_ipis - before.resched_ipis,
                idle_ticks: self.idle_ticks - before.idle_ticks,
                all_ticks: self.all_ticks - before.all_ticks,
            }
        }
    }

    /// Counts over the middle of a case's measured window, taken by a
    /// thread of its own so that every client, ours or a child process,
    /// is measured the same way. The window is trimmed by [`PROBE_MARGIN`]
    /// at each end: the C client's clock starts after `virConnectOpen`.
    struct Probe {
        thread: std::thread::JoinHandle<(Counts, Duration)>,
    }

    const PROBE_MARGIN: Duration = Duration::from_millis(250);

    impl Probe {
        fn start(pid: u32, s: &Settings) -> Probe {
            let (warm_up, measure) = (s.warm_up, s.measure);
            let thread = std::thread::spawn(move || {
                let span = measure.saturating_sub(2 * PROBE_MARGIN);
                std::thread::sleep(warm_up + PROBE_MARGIN);
                let before = Counts::read(pid);
                let t0 = Instant::now();
                std::thread::sleep(span);
                (Counts::read(pid).since(before), t0.elapsed())
            });
            Probe { thread }
        }

        /// The counts and the calls they are divided by: the case's rate
        /// over the probe's span.
        fn finish(self, sample: &Sample) -> (Counts, f64) {
            let (counts, span) = self.thread.join().expect("probe thread");
            (counts, sample.calls_per_sec() * span.as_secs_f64())
        }
    }

    /// libvirt's own client: `in_flight` threads on one `virConnectPtr`.
    fn c_client(transport: Transport, in_flight: usize, s: &Settings, daemon: &Daemon) -> Sample {
        let mut cmd = Command::new(C_CLIENT);
        cmd.arg(transport.uri(daemon))
            .arg(in_flight.to_string())
            .arg(s.warm_up.as_millis().to_string())
            .arg(s.measure.as_millis().to_string());
        c_client_sample(cmd, daemon.pid, s.measure)
    }

    /// CPU time of this process's waited-for children, in ns, from
    /// `/proc/self/stat` (cutime + cstime, in USER_HZ = 100 ticks/s).
    fn children_cpu_ns() -> u64 {
        let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
        // The fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
            .split_whitespace()
            .collect();
        // cutime and cstime are fields 16 and 17 of the whole line; the
        // first field here is the 3rd.
        let ticks: u64 = fields[13..15]
            .iter()
            .map(|f| f.parse::<u64>().unwrap())
            .sum();
        ticks * 10_000_000
    }

    /// The floor: `in_flight` threads each running `virsh version` again
    /// and again; a "call" is one whole virsh process.
    fn virsh_client(
        transport: Transport,
        in_flight: usize,
        s: &Settings,
        daemon: &Daemon,
    ) -> Sample {
        let uri = transport.uri(daemon);
        let warm_end = Instant::now() + s.warm_up;
        let end = warm_end + s.measure;
        let run = || {
            let mut latencies = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    return latencies;
                }
                let out = Command::new("virsh")
                    .args(["-q", "-c", &uri, "version"])
                    .output()
                    .expect("virsh runs (apt-get install libvirt-clients)");
                let t1 = Instant::now();
                assert!(
                    out.status.success()
                        && String::from_utf8_lossy(&out.stdout).contains("Using library: libvirt"),
                    "virsh version failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                if t0 >= warm_end && t1 <= end {
                    latencies.push(nanos(t1 - t0));
                }
            }
        };
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..in_flight).map(|_| scope.spawn(run)).collect();
            std::thread::sleep(warm_end.saturating_duration_since(Instant::now()));
            let start = (cpu_ns(daemon.pid), children_cpu_ns());
            std::thread::sleep(end.saturating_duration_since(Instant::now()));
            let stop = (cpu_ns(daemon.pid), children_cpu_ns());
            let mut latencies: Vec<u64> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            latencies.sort_unstable();
            Sample {
                latencies,
                window: s.measure,
                server_cpu_ns: stop.0 - start.0,
                client_cpu_ns: stop.1 - start.1,
            }
        })
    }

    struct Row {
        transport: Transport,
        in_flight: usize,
        client: Side,
        sample: Sample,
        counts: Counts,
        /// The calls `counts` cover.
        counted_calls: f64,
    }

    pub(super) fn main() {
        let daemon = match Daemon::find() {
            Ok(daemon) => daemon,
            Err(why) => {
                assert!(
                    std::env::var_os("XDRGEN_REQUIRE_PEERS").is_none(),
                    "XDRGEN_REQUIRE_PEERS is set but libvirtd is not running: {why}"
                );
                println!(
                    "SKIPPED: libvirt benchmark: libvirtd is not running ({why}); start it with ../shared/peers/libvirt/start.sh /tmp/xdrgen-peers"
                );
                return;
            }
        };
        let settings = Settings::from_args();
        let options = Options::from_args();
        let mut rows = Vec::new();
        for transport in [Transport::Tcp, Transport::Unix] {
            for &in_flight in &options.in_flight {
                for client in [Side::CLibvirt, Side::Xdrgen, Side::Virsh] {
                    let label = format!(
                        "GET_LIB_VERSION x{in_flight} {} {}",
                        client.name(),
                        transport.name()
                    );
                    if settings.skips(&label) {
                        continue;
                    }
                    eprintln!("{label}: libvirtd pid {}", daemon.pid);
                    let probe = Probe::start(daemon.pid, &settings);
                    let sample = match client {
                        Side::Xdrgen => {
                            xdrgen_client(transport, in_flight, &settings, &options, &daemon)
                        }
                        Side::CLibvirt => c_client(transport, in_flight, &settings, &daemon),
                        Side::Virsh => virsh_client(transport, in_flight, &settings, &daemon),
                    };
                    eprintln!("{label}: {:.0} calls/s", sample.calls_per_sec());
                    let (counts, counted_calls) = probe.finish(&sample);
                    rows.push(Row {
                        transport,
                        in_flight,
                        client,
                        sample,
                        counts,
                        counted_calls,
                    });
                }
            }
        }
        print_table(&rows, &settings, &options);
    }

    fn print_table(rows: &[Row], s: &Settings, options: &Options) {
        println!(
            "\nCONNECT_GET_LIB_VERSION against libvirtd; warm-up {:?}, measured {:?} per case; CPU is µs per call in the window; xdrgen on a {} tokio runtime\n",
            s.warm_up,
            s.measure,
            if options.current_thread {
                "current-thread"
            } else {
                "multi-thread"
            }
        );
        println!(
            "| transport | in flight | client | calls/s | × C libvirt | p50 µs | p99 µs | libvirtd CPU | client CPU |"
        );
        println!("|---|--:|---|--:|--:|--:|--:|--:|--:|");
        for transport in [Transport::Tcp, Transport::Unix] {
            for &in_flight in &options.in_flight {
                let case = || {
                    rows.iter()
                        .filter(|r| r.transport == transport && r.in_flight == in_flight)
                };
                let baseline = case()
                    .find(|r| r.client == Side::CLibvirt)
                    .map_or(f64::NAN, |r| r.sample.calls_per_sec());
                for r in case() {
                    let x = &r.sample;
                    println!(
                        "| {} | {in_flight} | {} | {} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
                        transport.name(),
                        r.client.name(),
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
        print_counts(rows);
    }

    /// Per call, over the middle of each window ([`Probe`]).
    fn print_counts(rows: &[Row]) {
        println!(
            "\nPer call (middle of the window, from /proc): libvirtd's context switches, voluntary + involuntary, of its event loop and of its workers; reschedule IPIs on the machine; share of the machine's CPU time idle\n"
        );
        println!(
            "| transport | in flight | client | loop cs | loop involuntary | workers cs | reschedule IPIs | idle % |"
        );
        println!("|---|--:|---|--:|--:|--:|--:|--:|");
        for r in rows {
            let c = &r.counts;
            #[allow(clippy::cast_precision_loss)] // counts far below 2^52
            let per_call = |n: u64| n as f64 / r.counted_calls;
            #[allow(clippy::cast_precision_loss)]
            let idle = 100.0 * c.idle_ticks as f64 / c.all_ticks.max(1) as f64;
            println!(
                "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {idle:.0} |",
                r.transport.name(),
                r.in_flight,
                r.client.name(),
                per_call(c.loop_voluntary + c.loop_involuntary),
                per_call(c.loop_involuntary),
                per_call(c.workers_voluntary + c.workers_involuntary),
                per_call(c.resched_ipis),
            );
        }
    }
}

fn main() {
    #[cfg(libvirtbench)]
    real::main();
    #[cfg(not(libvirtbench))]
    println!(
        "SKIPPED: libvirt benchmark: libvirt-dev (libvirt.h, libvirt.so) was missing at build time (see the build warning)"
    );
}
