//! The `xdrgen dump` contract: inputs (file, stdin, hex, pcap), the text
//! and JSON outputs, exit codes, and errors with offsets.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn xdrgen(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .current_dir(crate::workspace())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `mapping` of portmap.x: rpcbind itself on TCP port 111.
const MAPPING: &str = "000186a0 00000002 00000006 0000006f";

#[test]
fn a_value_from_hex_on_stdin_prints_a_tree() {
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "--type",
            "mapping",
            "--input-format",
            "hex",
        ],
        MAPPING.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for line in [
        "    0 -: mapping",
        "      0 prog: unsigned int = 100000",
        "     12 port: unsigned int = 111",
    ] {
        assert!(out.contains(line), "{line:?} not in\n{out}");
    }
}

#[test]
fn json_gives_offsets_and_xdr_types() {
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "-t",
            "mapping",
            "--input-format",
            "hex",
            "--json",
        ],
        MAPPING.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["xdrgen_dump_version"], 1);
    let port = &v["value"]["fields"][3];
    assert_eq!(port["name"], "port");
    assert_eq!(port["type"], "unsigned int");
    assert_eq!(
        (port["offset"].as_u64(), port["len"].as_u64()),
        (Some(12), Some(4))
    );
    assert_eq!(port["value"], 111);
    assert_eq!(v["error"], serde_json::Value::Null);
}

#[test]
fn bad_input_prints_what_decoded_and_the_error_offset() {
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "-t",
            "mapping",
            "--input-format",
            "hex",
        ],
        b"000186a0 00000002 0000",
    );
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(out.contains("vers: unsigned int = 2"), "{out}");
    assert!(out.contains("error at byte 8:"), "{out}");
    let err = text(&o.stderr);
    assert!(
        err.contains("at byte 8: unsigned int needs 4 byte(s), 2 left"),
        "{err}"
    );
    // Raw bytes are the default; an unknown type is a usage error.
    let o = xdrgen(&["dump", "protocols/xdr/portmap.x", "-t", "nope"], b"");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no type named `nope`"));
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "--input-format",
            "hex",
            "-t",
            "mapping",
        ],
        b"0g",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        text(&o.stderr).contains("`g` inside a byte"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn a_capture_is_split_into_calls_and_replies() {
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "--framing",
            "onc",
            "fixtures/captures/rpcinfo-p.pcap",
            "--json",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let messages = v["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 4);
    let dump_reply = &messages[3];
    assert_eq!(dump_reply["kind"], "reply");
    assert_eq!(dump_reply["procedure_name"], "PMAPPROC_DUMP");
    assert_eq!(dump_reply["call"], 2);
    assert_eq!(dump_reply["frames"], serde_json::json!([16, 16]));
    assert_eq!(dump_reply["body"]["kind"], "list");
    assert_eq!(v["streams"][0]["src"], "127.0.0.1:866");
    // The text form names the procedure and the call each reply answers.
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "--framing",
            "onc",
            "fixtures/captures/rpcinfo-p.pcap",
        ],
        b"",
    );
    let out = text(&o.stdout);
    assert!(
        out.contains("#4 REPLY xid=0xb102f0d5 PMAP_PROG(100000) v2 PMAPPROC_DUMP(4) SUCCESS (reply to #3) frame 16"),
        "{out}"
    );
}

#[test]
fn usage_errors_exit_two() {
    // Neither --type nor --framing.
    let o = xdrgen(&["dump", "protocols/xdr/portmap.x"], b"");
    assert_eq!(o.status.code(), Some(2));
    // A capture needs framing.
    let o = xdrgen(
        &[
            "dump",
            "protocols/xdr/portmap.x",
            "-t",
            "mapping",
            "fixtures/captures/rpcinfo-p.pcap",
        ],
        b"",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("use --framing"));
}
