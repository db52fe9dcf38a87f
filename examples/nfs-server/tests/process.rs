//! The `example-nfs-server` binary as a process: usage errors, a missing
//! directory, and (with the rpcbind peer) registering, then unregistering
//! on SIGTERM with another server's mappings given back.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use xdrgen_protocols::registration::{self, Protocol, Rpcbind};

const BIN: &str = env!("CARGO_BIN_EXE_example-nfs-server");

#[test]
fn usage_errors_exit_2_and_a_missing_directory_exits_1() {
    let out = Command::new(BIN).arg("--port").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--port needs a value") && err.contains("usage:"),
        "{err}"
    );

    let out = Command::new(BIN)
        .args(["/nonexistent/xdrgen-nfs", "--no-register"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot serve the export") && err.contains("No such file"),
        "{err}"
    );
}

fn mappings(rt: &tokio::runtime::Runtime, rpcbind: &Rpcbind) -> Vec<Option<u16>> {
    let mut out = Vec::new();
    for (program, version) in [(100_003, 3), (100_005, 3)] {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            out.push(
                rt.block_on(registration::get_port(rpcbind, program, version, protocol))
                    .unwrap(),
            );
        }
    }
    out
}

#[test]
fn sigterm_unregisters_and_gives_the_mappings_back() {
    const TEST: &str =
        "example-nfs-server::process::sigterm_unregisters_and_gives_the_mappings_back";
    let Some(_) = xdrgen_testenv::require(
        TEST,
        "the real peers are not started (XDRGEN_PEERS_STATE unset; scripts/test.sh starts them)",
        std::env::var_os("XDRGEN_PEERS_STATE"),
    ) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let rpcbind = Rpcbind::local();
    let before = mappings(&rt, &rpcbind);
    let dir = std::env::temp_dir().join(format!("xdrgen-nfs-process-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(BIN)
        .arg(&dir)
        .arg("--take-over")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut line, mut endpoints) = (String::new(), String::new());
    stdout.read_line(&mut line).unwrap();
    stdout.read_line(&mut endpoints).unwrap();
    // Every endpoint as NETID=UNIVERSAL-ADDRESS: IPv4, and IPv6 where
    // this machine has ::1.
    let netids: Vec<&str> = endpoints
        .split_whitespace()
        .filter_map(|word| Some(word.split_once('=')?.0))
        .collect();
    let ipv6 = std::net::TcpListener::bind("[::1]:0").is_ok();
    let expected: &[&str] = if ipv6 {
        &["tcp", "udp", "tcp6", "udp6"]
    } else {
        &["tcp", "udp"]
    };
    assert_eq!(netids, expected, "{endpoints:?}");
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|word| word.split_once('=')?.1.parse().ok())
        .collect();
    assert_eq!(ports.len(), 2, "{line:?}");
    let (tcp, udp) = (ports[0], ports[1]);
    assert_eq!(
        mappings(&rt, &rpcbind),
        vec![Some(tcp), Some(udp), Some(tcp), Some(udp)]
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mappings(&rt, &rpcbind), before);
    std::fs::remove_dir_all(&dir).unwrap();
}
