//! Recording real traffic on loopback with `tcpdump`, for tests that
//! compare a decoding (`xdrgen dump`, a generated dissector) with
//! `tshark`'s on the same capture.
//!
//! [`Capture::start`] returns once tcpdump says it is listening, so no
//! packet of the session is missed. [`Capture::finish`] sends one UDP
//! datagram carrying a unique marker to the discard port and waits until
//! the marker is in the file before stopping tcpdump: a packet-buffered
//! (`-U`) file that holds the marker holds every packet sent before it,
//! and stopping earlier could lose packets tcpdump has not read yet.

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The port the end-of-capture marker goes to (discard, RFC 863). Nothing
/// listens on it; the datagram only has to be seen by tcpdump.
pub const MARKER_PORT: u16 = 9;

/// How long [`Capture::finish`] waits for the marker before giving up: far
/// more than loopback needs, so a stuck tcpdump is an error, not a hang.
const MARKER_WAIT: Duration = Duration::from_secs(30);

/// A running `tcpdump` writing a pcap file.
#[derive(Debug)]
pub struct Capture {
    child: Child,
    path: PathBuf,
}

/// Whether `tcpdump` can be run; otherwise the skip (or failure) is recorded
/// for `test`.
pub fn tcpdump(test: &str) -> bool {
    let installed = crate::require(
        test,
        "tcpdump is not installed (Debian package `tcpdump`)",
        crate::has_tool("tcpdump", &["--version"]).then_some(()),
    )
    .is_some();
    installed
        && crate::require(
            test,
            "capturing on loopback needs root",
            can_capture().then_some(()),
        )
        .is_some()
}

/// Whether `tshark` can be run; otherwise the skip (or failure) is recorded
/// for `test`.
pub fn tshark(test: &str) -> bool {
    crate::require(
        test,
        "tshark is not installed (Debian package `tshark`)",
        crate::has_tool("tshark", &["--version"]).then_some(()),
    )
    .is_some()
}

/// Whether this process may capture on loopback: it runs as root (the
/// test script and CI do).
fn can_capture() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Capture {
    /// Starts `tcpdump -i lo` writing to `path`, capturing what `filter` (a
    /// pcap filter such as `tcp port 111`) selects plus the end marker.
    /// Returns when tcpdump is listening.
    pub fn start(path: &Path, filter: &str) -> Result<Capture, String> {
        let filter = format!("({filter}) or (udp dst port {MARKER_PORT})");
        // A 32 MiB kernel buffer (`-B`, in KiB): with the default one,
        // tcpdump drops segments of a large burst on loopback.
        let mut child = Command::new("tcpdump")
            .args([
                "-i",
                "lo",
                "-U",
                "--immediate-mode",
                "-B",
                "32768",
                "-s",
                "0",
                "-w",
            ])
            .arg(path)
            .arg(&filter)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("tcpdump: {e}"))?;
        let Some(stderr) = child.stderr.take() else {
            return Err("tcpdump: no stderr pipe".to_string());
        };
        let mut lines = BufReader::new(stderr).lines();
        let mut said = String::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("listening on") => break,
                Some(Ok(line)) => {
                    said.push_str(&line);
                    said.push('\n');
                }
                Some(Err(e)) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("tcpdump: reading its stderr: {e}"));
                }
                None => {
                    let status = child.wait();
                    return Err(format!(
                        "tcpdump exited ({status:?}) before listening:\n{said}"
                    ));
                }
            }
        }
        // tcpdump writes its statistics on exit; drain them so it never
        // blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Capture {
            child,
            path: path.to_path_buf(),
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends the end marker, waits until it is in the file, stops tcpdump
    /// and returns the file's path.
    pub fn finish(mut self) -> Result<PathBuf, String> {
        let marker = format!(
            "xdrgen-capture-end-{}-{:?}",
            std::process::id(),
            Instant::now()
        );
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("marker socket: {e}"))?;
        let started = Instant::now();
        loop {
            socket
                .send_to(marker.as_bytes(), ("127.0.0.1", MARKER_PORT))
                .map_err(|e| format!("sending the capture marker: {e}"))?;
            std::thread::sleep(Duration::from_millis(20));
            let bytes = std::fs::read(&self.path)
                .map_err(|e| format!("reading {}: {e}", self.path.display()))?;
            if contains(&bytes, marker.as_bytes()) {
                break;
            }
            if started.elapsed() > MARKER_WAIT {
                self.stop();
                return Err(format!(
                    "tcpdump did not record the end marker within {MARKER_WAIT:?}"
                ));
            }
        }
        self.stop();
        Ok(self.path.clone())
    }

    /// Interrupts tcpdump (it flushes and closes the file) and reaps it.
    fn stop(&mut self) {
        let interrupted = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !interrupted {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Runs `tshark -r FILE` with `args` (for example `-T json` with
/// `-Y rpc`), returning its standard output.
pub fn run_tshark(file: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(args)
        .output()
        .map_err(|e| format!("tshark: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tshark {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("tshark output is not UTF-8: {e}"))
}

/// Whether tshark has a dissector with the filter name `protocol` (such as
/// `libvirt`, which Debian's `libvirt-wireshark` adds).
pub fn tshark_has_protocol(protocol: &str) -> bool {
    Command::new("tshark")
        .args(["-G", "protocols"])
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.split('\t').nth(2) == Some(protocol))
        })
}
