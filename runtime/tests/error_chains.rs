//! Every runtime error that wraps another says only its own part in
//! `Display` and hands the inner error out as its `source()`, so a report
//! walking the chain (as `anyhow` and `eyre` do) reads each cause once.

use std::error::Error;
use std::io;

use xdrgen_runtime::libvirt::{self, PacketError, RemoteError};
use xdrgen_runtime::rpc::record::RecordError;
use xdrgen_runtime::rpc::{Protocol, RpcError};
use xdrgen_runtime::{DecodeError, EncodeError};

/// The error and its sources, joined as error reporters print them.
fn chain(error: &dyn Error) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

fn refused() -> io::Error {
    io::Error::from_raw_os_error(111)
}

fn trailing() -> DecodeError {
    DecodeError::TrailingBytes { at: 8, count: 4 }
}

#[test]
fn a_refused_connection_reads_once() {
    let text = chain(&RpcError::from(refused()));
    assert_eq!(text, format!("RPC transport error: {}", refused()));
    assert_eq!(text.matches("Connection refused").count(), 1, "{text}");
}

#[test]
fn every_wrapping_error_names_its_cause_once() {
    let over = EncodeError::over_bound("name", 300, 255);
    let cases: Vec<(Box<dyn Error>, String)> = vec![
        (
            Box::new(RpcError::from(trailing())),
            format!("cannot decode the reply: {}", trailing()),
        ),
        (
            Box::new(RpcError::from(over.clone())),
            format!("cannot encode the arguments: {over}"),
        ),
        (
            Box::new(RpcError::from(RecordError::TooLarge { len: 9, max: 8 })),
            "bad record from the server: record of 9 bytes is over the limit of 8".into(),
        ),
        (
            Box::new(PacketError::Decode(trailing())),
            format!("bad packet header: {}", trailing()),
        ),
        (
            Box::new(libvirt::Error::Packet(PacketError::Decode(trailing()))),
            format!(
                "bad packet from the daemon: bad packet header: {}",
                trailing()
            ),
        ),
        (
            Box::new(libvirt::Error::Io(refused())),
            format!("libvirt transport error: {}", refused()),
        ),
        (
            Box::new(libvirt::Error::Remote(Box::new(RemoteError::new(
                42,
                10,
                "no domain",
            )))),
            "the libvirt daemon answered with an error: no domain (code 42, domain 10)".into(),
        ),
        (
            Box::new(RpcError::NotRegistered {
                program: 100_001,
                version: 3,
                protocol: Protocol::Udp,
            }),
            "program 100001 version 3 is not registered with rpcbind for udp".into(),
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(chain(&*error), expected);
    }
}
