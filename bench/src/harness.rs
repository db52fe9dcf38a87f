//! What the RPC benchmarks (`benches/rpc.rs`, `benches/libvirt.rs`) share:
//! their command line, child processes that die with the benchmark, CPU
//! time from /proc, the measured window of one case, and the protocol of
//! the C load clients (`c/rpc_client.c`, `c/libvirt_client.c`).

use std::io::{BufRead, BufReader};
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
}

impl Settings {
    /// Takes criterion's `--warm-up-time` and `--measurement-time` (in
    /// seconds), so one `cargo bench -p xdrgen-bench -- ...` line serves
    /// every bench, and `--filter TEXT`; other arguments (criterion's,
    /// cargo's `--bench`) are ignored. The defaults are 1 s, 3 s and all
    /// cases.
    pub fn from_args() -> Settings {
        let mut settings = Settings {
            warm_up: Duration::from_secs(1),
            measure: Duration::from_secs(3),
            filter: None,
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

/// Runs a C load client to its end and reads its measurements. It must
/// print, on stdout: `measure` when its window starts, `end` when it ends,
/// then `cpu_ns N` (its own CPU time in the window), `errors N` (must be 0),
/// `latencies N` and N lines of one latency in ns each. The server's CPU
/// time (process `server`) is read at `measure` and at `end`.
pub fn c_client_sample(cmd: Command, server: u32, window: Duration) -> Sample {
    let mut client = Process::spawn(cmd);
    assert_eq!(client.line(), "measure");
    let start = cpu_ns(server);
    assert_eq!(client.line(), "end");
    let stop = cpu_ns(server);
    let client_cpu_ns = client.value("cpu_ns");
    let errors = client.value("errors");
    assert_eq!(errors, 0, "the C client saw failed calls or wrong results");
    let n = client.value("latencies");
    let mut latencies: Vec<u64> = (0..n)
        .map(|_| client.line().parse().expect("a latency"))
        .collect();
    client.wait_success("the C client");
    latencies.sort_unstable();
    Sample {
        latencies,
        window,
        server_cpu_ns: stop - start,
        client_cpu_ns,
    }
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
