//! The capture helper records a loopback TCP exchange completely.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use xdrgen_testenv::capture::{self, Capture};

#[test]
fn a_loopback_exchange_is_recorded_completely() {
    if !capture::tcpdump("testenv::capture") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = std::env::temp_dir().join(format!("xdrgen-capture-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("exchange.pcap");
    let capture = Capture::start(&path, &format!("tcp port {port}")).unwrap();
    let payload = b"a payload tcpdump must keep in full";
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (mut served, _) = listener.accept().unwrap();
    client.write_all(payload).unwrap();
    let mut got = vec![0; payload.len()];
    served.read_exact(&mut got).unwrap();
    drop(client);
    drop(served);
    let path = capture.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(
        bytes.windows(payload.len()).any(|w| w == payload),
        "the payload is not in the capture"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
