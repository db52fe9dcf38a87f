//! What the RPC benchmarks (`benches/rpc.rs`, `benches/libvirt.rs`,
//! `benches/soak.rs`, `benches/idle.rs`) share: their command line, child
//! processes that die with the benchmark, CPU time and RSS from /proc,
//! kernel counts from `perf stat`, the measured window of one case, the
//! protocol of the C load clients (`c/rpc_client.c`, `c/libvirt_client.c`),
//! and the child serving our ONC and libvirt servers (`benches/idle.rs`,
//! `benches/scale.rs`, `benches/soak.rs` start it the same way).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

/// Warm-up and measurement windows, and which cases to run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Calls run this long before the measured window starts.
    pub warm_up: Duration,
    /// The measured window.
    pub measure: Duration,
    /// Runs only the cases whose label contains this.
    pub filter: Option<String>,
    /// Counts system calls and context switches of both processes in
    /// every window with `perf stat` (`--counts`).
    pub counts: bool,
}

impl Settings {
    /// Takes criterion's `--warm-up-time` and `--measurement-time` (in
    /// seconds), so one `cargo bench -p xdrgen-bench -- ...` line serves
    /// every bench, `--filter TEXT` and `--counts`; other arguments
    /// (criterion's, cargo's `--bench`) are ignored. The defaults are 1 s,
    /// 3 s, all cases and no counts.
    pub fn from_args() -> Settings {
        let mut settings = Settings {
            warm_up: Duration::from_secs(1),
            measure: Duration::from_secs(3),
            filter: None,
            counts: false,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let slot = match arg.as_str() {
                "--warm-up-time" => &mut settings.warm_up,
                "--measurement-time" => &mut settings.measure,
                "--filter" => {
                    settings.filter = Some(args.next().expect("a text after --filter"));
                    continue;
                }
                "--counts" => {
                    settings.counts = true;
                    continue;
                }
                _ => continue,
            };
            let secs = args.next().and_then(|s| s.parse::<f64>().ok());
            let secs = secs.unwrap_or_else(|| panic!("{arg} needs a number of seconds"));
            *slot = Duration::from_secs_f64(secs);
        }
        settings
    }

    /// Whether `--filter` leaves out the case with this label.
    pub fn skips(&self, label: &str) -> bool {
        self.filter
            .as_ref()
            .is_some_and(|f| !label.contains(f.as_str()))
    }
}

/// A child process that is killed when this is dropped, panics too. Its
/// stdin is a pipe that closes then (a server child can exit on that),
/// and its stdout is read line by line.
pub struct Process {
    child: Child,
    _stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Process {
    /// Starts `cmd` with piped stdin and stdout.
    pub fn spawn(mut cmd: Command) -> Process {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Process {
            _stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    /// The next line of its stdout, without the line end; panics at EOF.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "child {} ended early", self.child.id());
        line.trim_end().to_string()
    }

    /// The number after `key` on the next line.
    pub fn value(&mut self, key: &str) -> u64 {
        let line = self.line();
        line.strip_prefix(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("expected {key} N, got {line:?}"))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit, and panics unless it succeeded.
    pub fn wait_success(&mut self, what: &str) {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{what} failed: {status}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A child serving our ONC and libvirt servers, and where they listen.
pub struct ServerChild {
    /// The child; killed when this is dropped.
    pub process: Process,
    /// Our ONC RPC server (peertest) on loopback TCP.
    pub onc: SocketAddr,
    /// Our libvirt server (the example daemon) on loopback TCP.
    pub libvirt: SocketAddr,
}

/// This benchmark's own executable with `role` set in its environment: the
/// benchmark's `main` sees the variable and calls [`serve_onc_and_libvirt`]
/// instead of measuring.
pub fn self_with_role(role: &str) -> Command {
    let exe = std::env::current_exe().expect("the benchmark's own executable");
    let mut cmd = Command::new(exe);
    cmd.env(role, "server");
    cmd
}

/// Starts `cmd`, a child that runs [`serve_onc_and_libvirt`] (the
/// benchmark itself, from [`self_with_role`] or wrapped in a shell), and
/// reads the two ports it prints.
pub fn spawn_server(cmd: Command) -> ServerChild {
    let mut process = Process::spawn(cmd);
    let line = process.line();
    let ports: Vec<u16> = line.split(' ').filter_map(|p| p.parse().ok()).collect();
    let [onc, libvirt] = ports[..] else {
        panic!("expected \"ONC_PORT LIBVIRT_PORT\" from the server child, got {line:?}");
    };
    ServerChild {
        process,
        onc: ([127, 0, 0, 1], onc).into(),
        libvirt: ([127, 0, 0, 1], libvirt).into(),
    }
}

/// CPU time of all threads of a process so far, in ns, from
/// `/proc/PID/task/*/schedstat` (threads that already exited are not
/// counted).
pub fn cpu_ns(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Time all threads of a process so far spent runnable but waiting for a
/// CPU, in ns (the second field of `/proc/PID/task/*/schedstat`): how
/// much a busy machine held it back.
pub fn run_queue_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Resident memory of a process (VmRSS), KiB; 0 when it is gone.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Threads of a process (`Threads:` in /proc/PID/status); 0 when it is
/// gone.
pub fn threads(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Descriptors a process holds open (entries of /proc/PID/fd); 0 when it
/// is gone.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// A tokio runtime on two worker threads (the machine's budget for one
/// side of a measurement), with its timers and I/O.
pub fn two_worker_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The body of a child process serving our ONC RPC server (peertest v1,
/// [`PeertestService`](crate::PeertestService)) and our libvirt server
/// (the example daemon) on 127.0.0.1, on two tokio workers. It prints
/// "ONC_PORT LIBVIRT_PORT" and serves until its stdin closes (the
/// benchmark ended or died), then exits the process.
/// `partial_message_timeout` goes to both servers.
#[cfg(rpcbench)]
pub fn serve_onc_and_libvirt(partial_message_timeout: Option<Duration>) -> ! {
    serve_onc_and_libvirt_with(
        xdrgen_runtime::rpc::ServerConfig {
            partial_message_timeout,
            ..xdrgen_runtime::rpc::ServerConfig::default()
        },
        xdrgen_runtime::libvirt::ServerConfig {
            partial_message_timeout,
            ..xdrgen_runtime::libvirt::ServerConfig::default()
        },
    )
}

/// [`serve_onc_and_libvirt`] with each server's whole configuration
/// (the scale bench lifts the libvirt server's `max_clients`).
#[cfg(rpcbench)]
pub fn serve_onc_and_libvirt_with(
    onc_config: xdrgen_runtime::rpc::ServerConfig,
    libvirt_config: xdrgen_runtime::libvirt::ServerConfig,
) -> ! {
    use crate::peertest::peertest_prog::peertest_v1 as v1;
    use example_libvirt_daemon::remote::remote_program;
    use std::io::Read;
    use tokio::net::TcpListener;
    use xdrgen_runtime::libvirt;
    use xdrgen_runtime::rpc::Server;

    let rt = two_worker_runtime();
    rt.block_on(async {
        let onc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let libvirt_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!(
            "{} {}",
            onc.local_addr().unwrap().port(),
            libvirt_listener.local_addr().unwrap().port()
        );
        let server = Server::builder(onc_config)
            .service(v1::Dispatcher(crate::PeertestService))
            .build();
        tokio::spawn(async move { server.serve_tcp(onc).await });
        let server = libvirt::Server::builder(libvirt_config)
            .service(remote_program::Dispatcher(
                example_libvirt_daemon::Daemon::new(),
            ))
            .build();
        tokio::spawn(async move { server.serve_tcp(libvirt_listener).await });
        let _ = tokio::task::spawn_blocking(|| std::io::stdin().read_to_end(&mut Vec::new())).await;
    });
    // Connections still open do not matter: the process ends.
    std::process::exit(0)
}

/// One case's measured window.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Latency of every call in the window, ns, sorted.
    pub latencies: Vec<u64>,
    /// The window's length.
    pub window: Duration,
    /// CPU time the server spent in the window.
    pub server_cpu_ns: u64,
    /// CPU time the client spent in the window.
    pub client_cpu_ns: u64,
}

// Counts and nanoseconds here stay far below 2^52.
#[allow(clippy::cast_precision_loss)]
impl Sample {
    /// Calls that started and ended in the window, per second.
    pub fn calls_per_sec(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }

    /// Nearest-rank percentile, in µs.
    pub fn percentile_us(&self, pct: usize) -> f64 {
        let rank = (self.latencies.len() * pct).div_ceil(100).max(1);
        self.latencies[rank - 1] as f64 / 1e3
    }

    /// `ns` of CPU time per call, in µs.
    pub fn cpu_us_per_call(&self, ns: u64) -> f64 {
        ns as f64 / 1e3 / self.latencies.len() as f64
    }
}

/// What the kernel did for one process in a window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Counts {
    /// System calls entered (`raw_syscalls:sys_enter`).
    pub syscalls: u64,
    /// Times its threads were switched out (`context-switches`).
    pub context_switches: u64,
}

/// `perf stat` attached to some processes, counting until
/// [`stop`](KernelCounts::stop): wall-clock timings on a busy machine
/// say little, these counts stay put.
pub struct KernelCounts {
    perf: Vec<(Child, std::path::PathBuf)>,
}

impl KernelCounts {
    /// Starts counting for every thread of each of `pids`. Panics when
    /// perf cannot run or has no syscall tracepoints (run as root, or
    /// lower `kernel.perf_event_paranoid`), since `--counts` asked for it.
    pub fn start(pids: &[u32]) -> KernelCounts {
        let perf = pids
            .iter()
            .map(|pid| {
                let out = std::env::temp_dir().join(format!(
                    "xdrgen-bench-perf-{}-{pid}.csv",
                    std::process::id()
                ));
                let child = Command::new("perf")
                    .args(["stat", "-x", ",", "--no-big-num", "-o"])
                    .arg(&out)
                    .args(["-e", "raw_syscalls:sys_enter,context-switches", "-p"])
                    .arg(pid.to_string())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap_or_else(|e| panic!("--counts needs perf: {e}"));
                (child, out)
            })
            .collect();
        // perf attaches asynchronously; counting starts within a few ms
        // of a window that lasts seconds.
        std::thread::sleep(Duration::from_millis(20));
        KernelCounts { perf }
    }

    /// Stops counting (SIGINT makes perf write its totals) and reads the
    /// counts, in the order of the pids given to [`start`](KernelCounts::start).
    pub fn stop(self) -> Vec<Counts> {
        self.perf
            .into_iter()
            .map(|(mut child, out)| {
                let sent = Command::new("kill")
                    .args(["-INT", &child.id().to_string()])
                    .status();
                assert!(sent.is_ok_and(|s| s.success()), "cannot stop perf");
                let status = child.wait().unwrap();
                let text = std::fs::read_to_string(&out).unwrap_or_default();
                let _ = std::fs::remove_file(&out);
                let counts = parse_perf_csv(&text);
                assert!(
                    counts.is_some(),
                    "perf stat failed ({status}); its output: {text}"
                );
                counts.unwrap_or_default()
            })
            .collect()
    }
}

/// The two counts from `perf stat -x ,` output (`VALUE,UNIT,EVENT,...`).
fn parse_perf_csv(text: &str) -> Option<Counts> {
    let value = |event: &str| {
        text.lines().find_map(|line| {
            let mut fields = line.split(',');
            let value = fields.next()?;
            (fields.nth(1)? == event).then(|| value.parse::<u64>().ok())?
        })
    };
    Some(Counts {
        syscalls: value("raw_syscalls:sys_enter")?,
        context_switches: value("context-switches")?,
    })
}

/// Runs a C load client to its end and reads its measurements. It must
/// print, on stdout: `measure` when its window starts, `end` when it ends,
/// then `cpu_ns N` (its own CPU time in the window), `errors N` (must be 0),
/// `latencies N` and N lines of one latency in ns each. The server's CPU
/// time (process `server`) is read at `measure` and at `end`.
pub fn c_client_sample(cmd: Command, server: u32, window: Duration) -> Sample {
    c_client_sample_counted(cmd, server, window, false).0
}

/// [`c_client_sample`], and with `counts` the kernel counts of the server
/// and the client (in that order) over the window.
pub fn c_client_sample_counted(
    cmd: Command,
    server: u32,
    window: Duration,
    counts: bool,
) -> (Sample, Option<Vec<Counts>>) {
    let mut client = Process::spawn(cmd);
    assert_eq!(client.line(), "measure");
    let counting = counts.then(|| KernelCounts::start(&[server, client.pid()]));
    let start = cpu_ns(server);
    assert_eq!(client.line(), "end");
    let stop = cpu_ns(server);
    let counts = counting.map(KernelCounts::stop);
    let client_cpu_ns = client.value("cpu_ns");
    let errors = client.value("errors");
    assert_eq!(errors, 0, "the C client saw failed calls or wrong results");
    let n = client.value("latencies");
    let mut latencies: Vec<u64> = (0..n)
        .map(|_| client.line().parse().expect("a latency"))
        .collect();
    client.wait_success("the C client");
    latencies.sort_unstable();
    let sample = Sample {
        latencies,
        window,
        server_cpu_ns: stop - start,
        client_cpu_ns,
    };
    (sample, counts)
}

/// 123456.7 as "123,457".
pub fn thousands(v: f64) -> String {
    let digits = format!("{v:.0}");
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Raises this process's descriptor limit to `want` (the soft limit to
/// the hard one, and the hard one too if this process may), and returns
/// the soft limit it has then. The servers it starts inherit it.
pub fn raise_fd_limit(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    let hard = limit.maximum.unwrap_or(u64::MAX);
    if soft >= want {
        return soft;
    }
    if want > hard {
        let raised = Rlimit {
            current: Some(want),
            maximum: Some(want),
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => return want,
            Err(e) => println!(
                "NOTE: cannot raise the hard descriptor limit from {hard} to {want} ({e}; it needs root or CAP_SYS_RESOURCE, and fs.nr_open at least {want})"
            ),
        }
    }
    let to_hard = Rlimit {
        current: Some(hard.min(want)),
        maximum: Some(hard),
    };
    match setrlimit(Resource::Nofile, to_hard) {
        Ok(()) => hard.min(want),
        Err(e) => {
            println!("NOTE: cannot raise the descriptor limit from {soft} to {hard}: {e}");
            soft
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_perf_csv;

    #[test]
    fn perf_csv_counts_are_read_by_event_name() {
        let text = "# started on Thu Dec  3 03:31:20 2026\n\n\
                    1234,,raw_syscalls:sys_enter,2000000,100.00,,\n\
                    56,,context-switches,2000000,100.00,,\n";
        let counts = parse_perf_csv(text).unwrap();
        assert_eq!((counts.syscalls, counts.context_switches), (1234, 56));
    }

    #[test]
    fn perf_csv_without_a_count_is_none() {
        let text = "<not counted>,,raw_syscalls:sys_enter,0,0.00,,\n\
                    56,,context-switches,2000000,100.00,,\n";
        assert!(parse_perf_csv(text).is_none());
        assert!(parse_perf_csv("").is_none());
    }
}
