//! What the libvirt tests share: stock virsh, and the processes a test
//! starts for itself (a libvirtd of its own, sshd).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether virsh is installed; without it `test` is skipped loudly (and
/// fails when `XDRGEN_REQUIRE_PEERS` is set).
pub fn virsh_available(test: &str) -> bool {
    crate::require_tools(test, &[("virsh", &["--version"], "libvirt-clients")])
}

/// `virsh -c URI ARGS...`, killed after `seconds` (by `timeout`) so a hung
/// exchange fails the test instead of stalling it.
pub fn virsh_command<S: AsRef<std::ffi::OsStr>>(uri: &str, seconds: u32, args: &[S]) -> Command {
    let mut command = Command::new("timeout");
    command
        .arg(seconds.to_string())
        .args(["virsh", "-c", uri])
        .args(args);
    command
}

/// Runs `command` off the async runtime (a tool talking to a server on
/// it): whether it succeeded, and its standard output followed by its
/// standard error.
pub async fn output(mut command: Command) -> (bool, String) {
    let shown = format!("{command:?}");
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A loopback TCP port free now, for a daemon to bind a moment later.
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}

/// `N` distinct loopback TCP ports free now: each stays bound until all
/// are known, so no two are the same.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let held: Vec<std::net::TcpListener> = (0..N)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap().port())
}

/// Whether the tests run as root (starting a libvirtd of their own needs
/// it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Stops a daemon a test started, by the pid it was started with: SIGTERM
/// lets it remove its sockets; SIGKILL if it has not exited in 10 s.
pub fn stop(child: &mut Child) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A libvirtd of one test alone (never the shared peer's), run as
/// `../shared/peers/libvirt/start.sh` runs it: in the foreground (the
/// child is libvirtd itself), with its config, sockets, pid file and log
/// in its own directory and no hypervisor driver modules. Stopped by the
/// pid it was started with when dropped; its directory is left to the
/// test.
pub struct Libvirtd {
    child: Child,
    dir: PathBuf,
}

impl Libvirtd {
    /// Starts libvirtd in `dir` with `config` (`libvirtd.conf` lines; its
    /// sockets' directory, no mDNS and logging to its log are added) and
    /// `env`, then waits at most 30 s until `listening` says it is.
    /// Panics with its log if it exits or does not listen in time.
    pub fn start(
        dir: &Path,
        config: &str,
        env: &[(&str, &Path)],
        listening: impl Fn(&Libvirtd) -> bool,
    ) -> Libvirtd {
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        std::fs::create_dir_all(dir.join("no-driver-modules")).unwrap();
        let config = format!(
            "{config}unix_sock_dir = \"{}\"\nmdns_adv = 0\nlog_outputs = \"3:stderr\"\n",
            dir.join("sock").display(),
        );
        std::fs::write(dir.join("libvirtd.conf"), config).unwrap();
        let log = std::fs::File::create(dir.join("libvirtd.log")).unwrap();
        let child = Command::new("libvirtd")
            .arg("-l")
            .arg("-f")
            .arg(dir.join("libvirtd.conf"))
            .arg("-p")
            .arg(dir.join("libvirtd.pid"))
            .env("LIBVIRT_DRIVER_DIR", dir.join("no-driver-modules"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("libvirtd starts");
        let mut daemon = Libvirtd {
            child,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = daemon.child.try_wait().unwrap() {
                panic!("libvirtd exited ({status}): {}", daemon.log());
            }
            if listening(&daemon) {
                return daemon;
            }
            assert!(
                Instant::now() < deadline,
                "libvirtd not listening after 30 s: {}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What it logged (errors and warnings) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("libvirtd.log")).unwrap_or_default()
    }

    /// Its read-write unix socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("sock/libvirt-sock")
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Our libvirt server answering `daemon` (the example daemon) over TCP on
/// a free loopback port, served in the background: the server (to shut
/// down or reconfigure) and its address.
pub async fn serve_example(
    daemon: example_libvirt_daemon::Daemon,
) -> (xdrgen_runtime::libvirt::Server, std::net::SocketAddr) {
    use example_libvirt_daemon::remote::remote_program::Dispatcher;
    use xdrgen_runtime::libvirt::{Server, ServerConfig};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder(ServerConfig::default())
        .service(Dispatcher(daemon))
        .build();
    let s = server.clone();
    tokio::spawn(async move { s.serve_tcp(listener).await });
    (server, addr)
}

/// An OpenSSH server of one test on a free loopback port, logging in
/// with a key it makes (`client_key` in its directory) and known to a
/// `ssh` wrapper that trusts only its host key; stopped when dropped.
/// libvirt's ssh transport runs that wrapper (`command=`) and proxies with
/// netcat to the daemon's socket.
pub struct Sshd {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The client's private key (`keyfile=`).
    pub client_key: PathBuf,
    /// The `ssh` to run (`command=`).
    pub ssh: PathBuf,
}

impl Sshd {
    /// Whether this test can start one: the OpenSSH server and client and
    /// netcat are installed and the tests run as root (sshd logs users
    /// in); otherwise `test` is skipped loudly (or fails when
    /// `XDRGEN_REQUIRE_PEERS` is set).
    pub fn available(test: &str) -> bool {
        let tools = Path::new("/usr/sbin/sshd").exists()
            && xdrgen_testenv::has_tool("ssh", &["-V"])
            && xdrgen_testenv::has_tool("ssh-keygen", &["-?"])
            && xdrgen_testenv::has_tool("nc", &["-h"]);
        crate::require(
            test,
            "sshd, ssh, ssh-keygen or nc is missing (apt-get install openssh-server \
             openssh-client netcat-openbsd)",
            tools.then_some(()),
        )
        .is_some()
            && crate::require(
                test,
                "sshd must run as root here (it logs users in)",
                is_root().then_some(()),
            )
            .is_some()
    }

    /// Starts one with its keys and configuration in `dir`; panics with
    /// its log if it does not listen within 10 s.
    pub fn start(dir: &Path) -> Sshd {
        ssh_keygen(&dir.join("host_key"));
        ssh_keygen(&dir.join("client_key"));
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).unwrap();
        // sshd refuses to start without its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\nPidFile {dir}/sshd.pid\n\
                 AuthorizedKeysFile {dir}/authorized_keys\nUsePAM no\nStrictModes no\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nLogLevel VERBOSE\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let log = dir.join("sshd.log");
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("sshd starts");
        // The wrapper's own configuration: the test neither reads nor
        // writes the user's known hosts.
        let host_key = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let host_key: Vec<&str> = host_key.split_whitespace().take(2).collect();
        let known_hosts = dir.join("known_hosts");
        std::fs::write(
            &known_hosts,
            format!("[127.0.0.1]:{port} {}\n", host_key.join(" ")),
        )
        .unwrap();
        let ssh_config = dir.join("ssh_config");
        std::fs::write(
            &ssh_config,
            format!(
                "UserKnownHostsFile {}\nGlobalKnownHostsFile /dev/null\nIdentitiesOnly yes\n",
                known_hosts.display()
            ),
        )
        .unwrap();
        let ssh = dir.join("ssh");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(
                &ssh,
                format!("#!/bin/sh\nexec ssh -F '{}' \"$@\"\n", ssh_config.display()),
            )
            .unwrap();
            std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut sshd = Sshd {
            child,
            port,
            client_key: dir.join("client_key"),
            ssh,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = sshd.child.try_wait() {
                panic!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "sshd is not listening on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        sshd
    }

    /// A libvirt ssh URI through this server as root to the daemon
    /// socket `socket` (`driver+ssh://root@127.0.0.1:PORT/path?...`).
    pub fn uri(&self, driver: &str, path: &str, socket: &Path) -> String {
        format!(
            "{driver}+ssh://root@127.0.0.1:{}{path}?socket={}&keyfile={}&command={}&no_tty=1",
            self.port,
            socket.display(),
            self.client_key.display(),
            self.ssh.display()
        )
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// A new ed25519 key pair without a passphrase: `path` and `path.pub`.
pub fn ssh_keygen(path: &Path) {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "ssh-keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
