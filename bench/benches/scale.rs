//! Scale: N connections to each of our servers at once, each making a call
//! every 100 ms, over loopback, for a bounded time.
//!
//! Servers: our ONC RPC `Server` answering `peertest.x` and our libvirt
//! `Server` answering the example daemon (its `max_clients` lifted, so
//! only descriptors bound the connections), in a child process (this
//! binary again, see [`SERVER_ROLE`]), a fresh one for each server so
//! one run's memory does not flatter the other's.
//!
//! The client is hand-written and minimal, on two tokio workers, one task
//! per connection: ONC RPC PT_ADD (a `pt_point` argument; the sum is
//! checked), libvirt CONNECT_OPEN once (read-only) and then
//! CONNECT_GET_LIB_VERSION. Connection `i` of `N` first calls at
//! `i/N × 100 ms` after the start and then every 100 ms (set 1 ms early,
//! see [`TIMER_LEAD`]), so the calls are
//! spread evenly over each period instead of firing together; one call is
//! in flight per connection. A call's latency runs from the time it was
//! scheduled, not from when it was sent, so a server that falls behind
//! shows as latency rather than as fewer samples (coordinated omission);
//! calls still unsent when the window ends are counted as behind
//! schedule. The time from the send is reported too. A call that fails or
//! takes over 5 s ends its connection and is counted.
//!
//! The bench raises its descriptor limit (soft to hard, and the hard one
//! too when it may) to N plus some slack; the server child inherits it.
//! When the limit cannot cover N it says so and opens fewer.
//!
//! Per server it reports the connections open, calls/s achieved against
//! offered (N × 10/s), p50/p99/max latency, failures, the server's RSS
//! with no connections, with N idle and at the end of the window (KiB per
//! connection), the CPU time of both processes in the window (% of a
//! core, µs per call) and the time their threads waited for a CPU (on a
//! busy machine the figures say more about the neighbours), with `--counts` their system calls and context
//! switches per call (`perf stat`), the server's threads (no thread per
//! connection) and its open descriptors (far past `select()`'s 1,024).
//!
//! Run: `cargo bench -p xdrgen-bench --bench scale` (optionally
//! `-- --connections N` (default 10,000), `--seconds S` (measured window,
//! default 20), `--ramp-up S` (calls before the window, default 3),
//! `--period-ms MS` (default 100), `--filter onc|libvirt`, `--counts`).

#[cfg(rpcbench)]
mod real {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;
    use tokio::sync::Semaphore;
    use tokio::task::JoinSet;

    use xdrgen_bench::harness::{
        Counts, KernelCounts, Sample, cpu_ns, open_fds, raise_fd_limit, rss_kib, run_queue_ns,
        self_with_role, serve_onc_and_libvirt_with, spawn_server, thousands, threads,
        two_worker_runtime,
    };
    use xdrgen_bench::peertest;
    use xdrgen_runtime::{libvirt, rpc};

    /// Set in the environment of the child that runs the servers.
    const SERVER_ROLE: &str = "XDRGEN_SCALE_ROLE";
    /// How early a connection's timer is set before its call is due.
    /// tokio's timer has 1 ms ticks and fires on the first tick at or after
    /// its deadline, which would add up to a millisecond or two of the
    /// client's own to every latency; set this early, the call goes out
    /// around its time, and one sent early is timed from its send.
    const TIMER_LEAD: Duration = Duration::from_millis(1);
    /// A call not answered within this ends its connection.
    const CALL_TIMEOUT: Duration = Duration::from_secs(5);
    /// Connections being opened at once: loopback connects are quick, and
    /// a burst of thousands would overflow the listen backlog (1,024), whose
    /// dropped SYNs are retried only after a second.
    const CONNECTING_AT_ONCE: usize = 64;
    /// The table's columns, one row per server.
    const COLUMNS: [&str; 16] = [
        "server, call",
        "connections",
        "offered calls/s",
        "achieved calls/s",
        "latency from the scheduled time, µs: p50 / p99 / max",
        "from the send, µs: p50 / p99 / max",
        "failed: connect / call / timeout",
        "calls behind schedule at the end",
        "server RSS MiB: before / idle / end (peak)",
        "server KiB per connection: idle / under load",
        "server CPU: % of a core / µs per call",
        "client CPU: % of a core / µs per call",
        "waiting for a CPU, % of a core: server / client",
        "per call: server syscalls / switches, client syscalls / switches",
        "server threads",
        "server descriptors open",
    ];
    /// Descriptors each process needs beyond its connections (runtime,
    /// pipes, /proc reads).
    const FD_SLACK: u64 = 256;
    /// The client's read buffer per connection: a whole reply fits.
    const READ_BUFFER: usize = 256;

    const ONC_PROGRAM: u32 = peertest::peertest_prog::PROGRAM;
    const PT_ADD: u32 = 1;
    /// Record marking: the last-fragment bit, and the PT_ADD call's and
    /// reply's lengths (headers with AUTH_NONE, a `pt_point`, an `int`).
    const LAST_FRAGMENT: u32 = 0x8000_0000;
    const ONC_CALL_LEN: u32 = 48;
    const ONC_REPLY_LEN: u32 = 28;
    /// libvirt's remote program and the procedures used.
    const REMOTE_PROGRAM: u32 = 0x2000_8086;
    const REMOTE_PROC_CONNECT_OPEN: u32 = 1;
    const REMOTE_PROC_CONNECT_GET_LIB_VERSION: u32 = 157;
    /// `VIR_CONNECT_RO`.
    const CONNECT_READ_ONLY: u32 = 1;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Protocol {
        Onc,
        Libvirt,
    }

    impl Protocol {
        fn label(self) -> &'static str {
            match self {
                Protocol::Onc => "our ONC RPC server, PT_ADD",
                Protocol::Libvirt => "our libvirt server (example daemon), CONNECT_GET_LIB_VERSION",
            }
        }

        fn filter_name(self) -> &'static str {
            match self {
                Protocol::Onc => "onc",
                Protocol::Libvirt => "libvirt",
            }
        }
    }

    /// Why a connection stopped calling.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum FailureKind {
        Connect,
        Call,
        Timeout,
    }

    #[derive(Debug)]
    struct Failure {
        kind: FailureKind,
        detail: String,
    }

    impl Failure {
        fn call(detail: impl Into<String>) -> Failure {
            Failure {
                kind: FailureKind::Call,
                detail: detail.into(),
            }
        }
    }

    impl From<std::io::Error> for Failure {
        fn from(e: std::io::Error) -> Failure {
            Failure::call(format!("I/O: {e}"))
        }
    }

    /// One client connection and what its next call carries.
    struct Conn {
        stream: BufReader<TcpStream>,
        /// The connection's index, sent in every call and checked in
        /// every reply.
        index: u32,
    }

    impl Conn {
        async fn open(addr: SocketAddr, protocol: Protocol, index: u32) -> Result<Conn, Failure> {
            let connecting = async {
                let stream = TcpStream::connect(addr).await.map_err(|e| Failure {
                    kind: FailureKind::Connect,
                    detail: format!("connect: {e}"),
                })?;
                stream.set_nodelay(true)?;
                let mut conn = Conn {
                    stream: BufReader::with_capacity(READ_BUFFER, stream),
                    index,
                };
                // A first call, so the server's per-connection state is
                // what a working connection holds.
                match protocol {
                    Protocol::Onc => conn.pt_add(0).await?,
                    Protocol::Libvirt => conn.connect_open().await?,
                }
                Ok(conn)
            };
            tokio::time::timeout(CALL_TIMEOUT, connecting)
                .await
                .unwrap_or_else(|_| {
                    Err(Failure {
                        kind: FailureKind::Connect,
                        detail: "connect and first call took over 5 s".into(),
                    })
                })
        }

        async fn call(&mut self, protocol: Protocol, number: u32) -> Result<(), Failure> {
            match protocol {
                Protocol::Onc => self.pt_add(number).await,
                Protocol::Libvirt => self.get_lib_version(number).await,
            }
        }

        /// PT_ADD(index, number) with xid `number`, AUTH_NONE; checks the
        /// sum.
        async fn pt_add(&mut self, number: u32) -> Result<(), Failure> {
            // Both stay below 2^31, so they are the same `int`s on the
            // wire, and the server's sum is the same bits as ours.
            let (x, y) = (self.index, number % 1_000_000);
            let words = [
                LAST_FRAGMENT | ONC_CALL_LEN,
                number,
                0, // CALL
                2, // RPC version
                ONC_PROGRAM,
                1,
                PT_ADD,
                0, // AUTH_NONE credential, empty
                0,
                0, // AUTH_NONE verifier, empty
                0,
                x,
                y,
            ];
            self.send(&words).await?;
            let mark = self.read_word().await?;
            if mark != LAST_FRAGMENT | ONC_REPLY_LEN {
                return Err(Failure::call(format!(
                    "ONC reply record mark {mark:#x}, expected one 28-byte fragment"
                )));
            }
            let mut reply = [0u8; 28];
            self.stream.read_exact(&mut reply).await?;
            let word = |i: usize| u32::from_be_bytes(reply[i * 4..i * 4 + 4].try_into().unwrap());
            // xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE (2 words),
            // SUCCESS, the sum.
            let expected = [number, 1, 0, 0, 0, 0, x.wrapping_add(y)];
            let got: Vec<u32> = (0..7).map(word).collect();
            if got != expected {
                return Err(Failure::call(format!(
                    "ONC reply {got:?}, expected {expected:?}"
                )));
            }
            Ok(())
        }

        /// CONNECT_OPEN(no name, read-only), as serial 0.
        async fn connect_open(&mut self) -> Result<(), Failure> {
            // remote_string name: absent; flags.
            let args = [0, CONNECT_READ_ONLY];
            self.libvirt_call(REMOTE_PROC_CONNECT_OPEN, 0, &args, 0)
                .await
                .map(drop)
        }

        /// CONNECT_GET_LIB_VERSION as serial `number + 1`; checks that a
        /// version came back.
        async fn get_lib_version(&mut self, number: u32) -> Result<(), Failure> {
            let ret = self
                .libvirt_call(
                    REMOTE_PROC_CONNECT_GET_LIB_VERSION,
                    number.wrapping_add(1),
                    &[],
                    8,
                )
                .await?;
            let version = u64::from_be_bytes(ret[..8].try_into().unwrap());
            if version == 0 {
                return Err(Failure::call("CONNECT_GET_LIB_VERSION returned 0"));
            }
            Ok(())
        }

        /// One libvirt call; its reply must be REPLY/OK with `ret_len`
        /// bytes of return value, which come back.
        async fn libvirt_call(
            &mut self,
            procedure: u32,
            serial: u32,
            args: &[u32],
            ret_len: usize,
        ) -> Result<[u8; 8], Failure> {
            let len = u32::try_from(28 + args.len() * 4).unwrap();
            let mut words = vec![len, REMOTE_PROGRAM, 1, procedure, 0, serial, 0];
            words.extend_from_slice(args);
            self.send(&words).await?;
            let len = self.read_word().await?;
            if len as usize != 28 + ret_len {
                return Err(Failure::call(format!(
                    "libvirt reply of {len} bytes to procedure {procedure}, expected {}",
                    28 + ret_len
                )));
            }
            let mut header = [0u8; 24];
            self.stream.read_exact(&mut header).await?;
            let got: Vec<u32> = header
                .chunks_exact(4)
                .map(|w| u32::from_be_bytes(w.try_into().unwrap()))
                .collect();
            // program, version, procedure, REPLY, serial, OK.
            let expected = [REMOTE_PROGRAM, 1, procedure, 1, serial, 0];
            if got != expected {
                return Err(Failure::call(format!(
                    "libvirt reply header {got:?}, expected {expected:?}"
                )));
            }
            let mut ret = [0u8; 8];
            self.stream.read_exact(&mut ret[..ret_len]).await?;
            Ok(ret)
        }

        async fn send(&mut self, words: &[u32]) -> Result<(), Failure> {
            let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
            self.stream.get_mut().write_all(&bytes).await?;
            Ok(())
        }

        async fn read_word(&mut self) -> Result<u32, Failure> {
            let mut word = [0u8; 4];
            self.stream.read_exact(&mut word).await?;
            Ok(u32::from_be_bytes(word))
        }
    }

    /// When a connection calls: `first`, then every `period` while the
    /// call is due before `end`; latencies count from `measure_from`.
    #[derive(Clone, Copy)]
    struct Schedule {
        first: Instant,
        measure_from: Instant,
        end: Instant,
        period: Duration,
    }

    /// What one connection saw.
    #[derive(Default)]
    struct Outcome {
        /// ns from the scheduled time to the reply, of calls scheduled in
        /// the window.
        latencies: Vec<u64>,
        /// ns from the send to the reply, of the same calls.
        service: Vec<u64>,
        /// Replies that arrived within the window.
        replies_in_window: u64,
        /// Calls due before the end that were not sent by then.
        behind: u64,
        failure: Option<Failure>,
    }

    /// Calls on `conn` on its schedule until the window ends or a call
    /// fails.
    async fn drive(mut conn: Conn, protocol: Protocol, schedule: Schedule) -> Outcome {
        let mut outcome = Outcome::default();
        let mut number = 1u32;
        loop {
            let due = schedule.first + schedule.period * number.saturating_sub(1);
            if due >= schedule.end {
                break;
            }
            if Instant::now() >= schedule.end {
                let left = (schedule.end - due)
                    .as_nanos()
                    .div_ceil(schedule.period.as_nanos());
                outcome.behind = u64::try_from(left).unwrap_or(u64::MAX);
                break;
            }
            tokio::time::sleep_until(due.checked_sub(TIMER_LEAD).unwrap_or(due).into()).await;
            let sent = Instant::now();
            let deadline = due.max(sent) + CALL_TIMEOUT;
            let result =
                tokio::time::timeout_at(deadline.into(), conn.call(protocol, number)).await;
            match result {
                Ok(Ok(())) => {
                    let done = Instant::now();
                    if due >= schedule.measure_from {
                        let ns = |from: Instant| {
                            u64::try_from((done - from).as_nanos()).unwrap_or(u64::MAX)
                        };
                        outcome.latencies.push(ns(due.min(sent)));
                        outcome.service.push(ns(sent));
                    }
                    if done >= schedule.measure_from && done < schedule.end {
                        outcome.replies_in_window += 1;
                    }
                }
                Ok(Err(failure)) => {
                    outcome.failure = Some(failure);
                    break;
                }
                Err(_) => {
                    outcome.failure = Some(Failure {
                        kind: FailureKind::Timeout,
                        detail: format!("call {number} unanswered after 5 s"),
                    });
                    break;
                }
            }
            number += 1;
        }
        outcome
    }

    /// What the watcher thread read from /proc in the window.
    #[derive(Default)]
    struct Watched {
        server_cpu_ns: u64,
        client_cpu_ns: u64,
        /// Time their threads were runnable but waited for a CPU.
        server_wait_ns: u64,
        client_wait_ns: u64,
        server_rss_end: u64,
        server_rss_peak: u64,
        server_threads_peak: u64,
        /// Read as the window starts.
        server_fds: usize,
        /// The server's and this process's, with `--counts`.
        counts: Option<Vec<Counts>>,
    }

    /// Reads the server's and this process's CPU time at `measure_from`
    /// and `end`, the server's open descriptors at `measure_from`, and its
    /// RSS and threads every 250 ms between; with `counts`, their system
    /// calls and context switches in the window (`perf stat`).
    fn watch(server: u32, schedule: Schedule, counts: bool) -> std::thread::JoinHandle<Watched> {
        std::thread::spawn(move || {
            let me = std::process::id();
            std::thread::sleep(
                schedule
                    .measure_from
                    .saturating_duration_since(Instant::now()),
            );
            let counting = counts.then(|| KernelCounts::start(&[server, me]));
            let (server_start, client_start) = (cpu_ns(server), cpu_ns(me));
            let (server_waited, client_waited) = (run_queue_ns(server), run_queue_ns(me));
            let mut watched = Watched {
                server_fds: open_fds(server),
                ..Watched::default()
            };
            // The last sample is taken within 250 ms of the end, while
            // every connection is still open.
            loop {
                let left = schedule.end.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                watched.server_rss_end = rss_kib(server);
                watched.server_rss_peak = watched.server_rss_peak.max(watched.server_rss_end);
                watched.server_threads_peak = watched.server_threads_peak.max(threads(server));
                std::thread::sleep(left.min(Duration::from_millis(250)));
            }
            watched.server_cpu_ns = cpu_ns(server).saturating_sub(server_start);
            watched.client_cpu_ns = cpu_ns(me).saturating_sub(client_start);
            watched.server_wait_ns = run_queue_ns(server).saturating_sub(server_waited);
            watched.client_wait_ns = run_queue_ns(me).saturating_sub(client_waited);
            watched.counts = counting.map(KernelCounts::stop);
            watched
        })
    }

    struct Settings {
        connections: usize,
        measure: Duration,
        ramp_up: Duration,
        period: Duration,
        filter: Option<String>,
        counts: bool,
    }

    impl Settings {
        /// `--connections N`, `--seconds S`, `--ramp-up S`, `--period-ms
        /// MS`, `--filter TEXT`, `--counts`; other arguments (cargo's
        /// `--bench`) are ignored.
        fn from_args() -> Settings {
            let mut settings = Settings {
                connections: 10_000,
                measure: Duration::from_secs(20),
                ramp_up: Duration::from_secs(3),
                period: Duration::from_millis(100),
                filter: None,
                counts: false,
            };
            let mut args = std::env::args().skip(1);
            while let Some(arg) = args.next() {
                let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
                let seconds = |v: String| {
                    let secs: f64 = v
                        .parse()
                        .unwrap_or_else(|_| panic!("{arg} needs a number of seconds, not {v:?}"));
                    Duration::from_secs_f64(secs)
                };
                match arg.as_str() {
                    "--connections" => {
                        let v = value();
                        settings.connections = v
                            .parse()
                            .unwrap_or_else(|_| panic!("--connections needs a count, not {v:?}"));
                    }
                    "--seconds" => settings.measure = seconds(value()),
                    "--ramp-up" => settings.ramp_up = seconds(value()),
                    "--period-ms" => {
                        let v = value();
                        let ms: u64 = v.parse().ok().filter(|&ms| ms > 0).unwrap_or_else(|| {
                            panic!("--period-ms needs a positive count, not {v:?}")
                        });
                        settings.period = Duration::from_millis(ms);
                    }
                    "--filter" => settings.filter = Some(value()),
                    "--counts" => settings.counts = true,
                    _ => {}
                }
            }
            settings
        }
    }

    /// "p50 / p99 / max" of latencies in ns, as µs.
    // ns here stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    fn percentiles(mut latencies: Vec<u64>, window: Duration) -> String {
        if latencies.is_empty() {
            return "—".to_string();
        }
        latencies.sort_unstable();
        let max = *latencies.last().unwrap() as f64 / 1e3;
        let sample = Sample {
            latencies,
            window,
            server_cpu_ns: 0,
            client_cpu_ns: 0,
        };
        format!(
            "{} / {} / {}",
            thousands(sample.percentile_us(50)),
            thousands(sample.percentile_us(99)),
            thousands(max)
        )
    }

    // Counts, KiB and ns here stay far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    fn run(protocol: Protocol, n: usize, settings: &Settings) {
        let server = spawn_server(self_with_role(SERVER_ROLE));
        let pid = server.process.pid();
        let addr = match protocol {
            Protocol::Onc => server.onc,
            Protocol::Libvirt => server.libvirt,
        };

        let rt = two_worker_runtime();
        std::thread::sleep(Duration::from_millis(500));
        let rss_before = rss_kib(pid);
        let threads_before = threads(pid);

        let opening = Instant::now();
        let (conns, connect_failures) = rt.block_on(async {
            let gate = Arc::new(Semaphore::new(CONNECTING_AT_ONCE));
            let mut opening = JoinSet::new();
            for index in 0..n {
                let gate = Arc::clone(&gate);
                let index = u32::try_from(index).unwrap();
                opening.spawn(async move {
                    let _permit = gate.acquire_owned().await.unwrap();
                    Conn::open(addr, protocol, index).await
                });
            }
            let mut conns = Vec::with_capacity(n);
            let mut failures = Vec::new();
            while let Some(opened) = opening.join_next().await {
                match opened.unwrap() {
                    Ok(conn) => conns.push(conn),
                    Err(failure) => failures.push(failure),
                }
            }
            (conns, failures)
        });
        let opened_in = opening.elapsed();
        let open = conns.len();
        std::thread::sleep(Duration::from_millis(500));
        let rss_idle = rss_kib(pid);

        let start = Instant::now() + Duration::from_millis(100);
        let measure_from = start + settings.ramp_up;
        let end = measure_from + settings.measure;
        let period = settings.period;
        let watcher = watch(
            pid,
            Schedule {
                first: start,
                measure_from,
                end,
                period,
            },
            settings.counts,
        );
        let outcomes: Vec<Outcome> = rt.block_on(async {
            let mut driving = JoinSet::new();
            let spread = u32::try_from(open.max(1)).unwrap();
            for (position, conn) in (0u32..).zip(conns) {
                let schedule = Schedule {
                    first: start + period * position / spread,
                    measure_from,
                    end,
                    period,
                };
                driving.spawn(drive(conn, protocol, schedule));
            }
            let mut outcomes = Vec::with_capacity(open);
            while let Some(outcome) = driving.join_next().await {
                outcomes.push(outcome.unwrap());
            }
            outcomes
        });
        let watched = watcher.join().unwrap();
        drop(server);

        let mut latencies = Vec::new();
        let mut service = Vec::new();
        let mut replies = 0;
        let mut behind = 0;
        let mut failures: Vec<Failure> = connect_failures;
        for outcome in outcomes {
            latencies.extend_from_slice(&outcome.latencies);
            service.extend_from_slice(&outcome.service);
            replies += outcome.replies_in_window;
            behind += outcome.behind;
            failures.extend(outcome.failure);
        }
        let count = |kind| failures.iter().filter(|f| f.kind == kind).count();
        let (connect_failed, call_failed, timed_out) = (
            count(FailureKind::Connect),
            count(FailureKind::Call),
            count(FailureKind::Timeout),
        );
        for kind in [
            FailureKind::Connect,
            FailureKind::Call,
            FailureKind::Timeout,
        ] {
            if let Some(first) = failures.iter().find(|f| f.kind == kind) {
                eprintln!(
                    "{}: {} {kind:?} failures, the first: {}",
                    protocol.filter_name(),
                    count(kind),
                    first.detail
                );
            }
        }
        let still_open = open - call_failed - timed_out;
        let window = settings.measure.as_secs_f64();
        let offered = n as f64 / period.as_secs_f64();
        let achieved = replies as f64 / window;
        let per_connection = |rss: u64| (rss as f64 - rss_before as f64) / open.max(1) as f64;
        let mib = |kib: u64| kib as f64 / 1024.0;
        let core_pct = |ns: u64| ns as f64 / settings.measure.as_nanos() as f64 * 100.0;
        eprintln!(
            "{}: {open} connections opened in {:.1} s",
            protocol.filter_name(),
            opened_in.as_secs_f64()
        );
        let per_call = |ns: u64| ns as f64 / 1e3 / replies.max(1) as f64;
        let kernel = watched.counts.as_ref().map_or("—".to_string(), |counts| {
            let per = |v: u64| v as f64 / replies.max(1) as f64;
            format!(
                "{:.1} / {:.1} / {:.1} / {:.1}",
                per(counts[0].syscalls),
                per(counts[0].context_switches),
                per(counts[1].syscalls),
                per(counts[1].context_switches),
            )
        });
        let cells: [String; COLUMNS.len()] = [
            protocol.label().to_string(),
            format!("{open} of {n}, {still_open} at the end"),
            thousands(offered),
            thousands(achieved),
            percentiles(latencies, settings.measure),
            percentiles(service, settings.measure),
            format!("{connect_failed} / {call_failed} / {timed_out}"),
            behind.to_string(),
            format!(
                "{:.1} / {:.1} / {:.1} ({:.1})",
                mib(rss_before),
                mib(rss_idle),
                mib(watched.server_rss_end),
                mib(watched.server_rss_peak)
            ),
            format!(
                "{:.2} / {:.2}",
                per_connection(rss_idle),
                per_connection(watched.server_rss_end)
            ),
            format!(
                "{:.0}% / {:.1}",
                core_pct(watched.server_cpu_ns),
                per_call(watched.server_cpu_ns)
            ),
            format!(
                "{:.0}% / {:.1}",
                core_pct(watched.client_cpu_ns),
                per_call(watched.client_cpu_ns)
            ),
            format!(
                "{:.0}% / {:.0}%",
                core_pct(watched.server_wait_ns),
                core_pct(watched.client_wait_ns)
            ),
            kernel,
            format!("{} ({threads_before} before)", watched.server_threads_peak),
            watched.server_fds.to_string(),
        ];
        println!("| {} |", cells.join(" | "));
    }

    pub(super) fn main() {
        if std::env::var_os(SERVER_ROLE).is_some() {
            // Only descriptors bound the connections: the bench measures
            // the runtime, not libvirtd's policy of 5,000 clients.
            serve_onc_and_libvirt_with(
                rpc::ServerConfig::default(),
                libvirt::ServerConfig {
                    max_clients: usize::MAX,
                    ..libvirt::ServerConfig::default()
                },
            );
        }
        let settings = Settings::from_args();
        let wanted = settings.connections;
        // One server is loaded at a time: each process holds at most N
        // connections.
        let limit = raise_fd_limit(wanted as u64 + FD_SLACK);
        let n = usize::try_from(limit.saturating_sub(FD_SLACK))
            .unwrap_or(usize::MAX)
            .min(wanted);
        if n < wanted {
            println!(
                "NOTE: the descriptor limit is {limit}: opening {n} connections per server, not {wanted}"
            );
        }
        println!(
            "Scale: {n} connections per server, one call every {} ms on each, {} s ramp-up, {} s measured, descriptor limit {limit}",
            settings.period.as_millis(),
            settings.ramp_up.as_secs_f64(),
            settings.measure.as_secs_f64(),
        );
        println!();
        println!("| {} |", COLUMNS.join(" | "));
        println!("|{}", " --- |".repeat(COLUMNS.len()));
        for protocol in [Protocol::Onc, Protocol::Libvirt] {
            if settings
                .filter
                .as_ref()
                .is_some_and(|f| !protocol.filter_name().contains(f.as_str()))
            {
                continue;
            }
            run(protocol, n, &settings);
        }
    }
}

fn main() {
    #[cfg(rpcbench)]
    real::main();
    #[cfg(not(rpcbench))]
    println!(
        "SKIPPED: scale benchmark: peertest.x, rpcgen or libtirpc was missing at build time (see the build warning)"
    );
}
