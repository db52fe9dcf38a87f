//! Golden bytes, bad bytes, limits, framing and captures.

use std::fmt::Write;
use std::path::Path;

use super::value::{DumpLimits, Node, Value, decode_named};
use super::{Framing, MessageKind, dump_capture, dump_stream, parse_hex};
use crate::ir::Module;
use crate::{MemoryLoader, Options};

const SPEC: &str = "
enum color { RED = 1, GREEN = 2 };
struct pair { string name<8>; int v; unsigned hyper big; opaque o<4>; opaque f[3]; };
struct node { int id; node *next; };
struct deep { deep *inner; int tail; };
union u switch (color c) { case RED: pair p; case GREEN: node *n; };
union open switch (int k) { case 1: int one; default: void; };
struct all { bool b; float f; double d; int xs<2>; color c; open o; };
program P { version V { pair GET(int, string<>) = 1; void PING(void) = 2; } = 3; } = 0x20000001;
";

fn module() -> Module {
    let mut loader = MemoryLoader::new();
    loader.insert("t.x", SPEC);
    crate::check_with(&loader, Path::new("t.x"), &Options::new())
        .unwrap()
        .module
}

fn hex(text: &str) -> Vec<u8> {
    parse_hex(text).unwrap()
}

fn field<'a>(n: &'a Node, name: &str) -> &'a Node {
    let children: Vec<&Node> = match &n.value {
        Value::Struct(c) => c.iter().collect(),
        Value::Union { discriminant, arm } => std::iter::once(discriminant.as_ref())
            .chain(arm.as_deref())
            .collect(),
        _ => Vec::new(),
    };
    children
        .into_iter()
        .find(|c| c.name.as_deref() == Some(name))
        .unwrap_or_else(|| panic!("no field {name} in {n:?}"))
}

#[test]
fn a_union_of_a_struct_decodes_with_offsets_and_types() {
    let m = module();
    let bytes = hex(
        "00000001 00000005 68656c6c 6f000000 ffffffff 00000000 00000001 00000002 abcd0000 010203 00",
    );
    let d = decode_named(&m, "u", &bytes, DumpLimits::default()).unwrap();
    assert_eq!(d.error, None);
    assert_eq!(d.end, bytes.len());
    let p = field(&d.node, "p");
    assert_eq!((p.ty.as_str(), p.offset, p.len), ("pair", 4, 36));
    let name = field(p, "name");
    assert_eq!(
        (name.ty.as_str(), name.offset, name.len),
        ("string<8>", 4, 12)
    );
    assert_eq!(name.value, Value::String(b"hello".to_vec()));
    assert_eq!(field(p, "v").value, Value::Int(-1));
    assert_eq!(field(p, "big").value, Value::Int(1));
    assert_eq!(field(p, "o").value, Value::Opaque(vec![0xab, 0xcd]));
    assert_eq!(field(p, "f").value, Value::Opaque(vec![1, 2, 3]));
    assert_eq!(
        field(&d.node, "c").value,
        Value::Enum {
            value: 1,
            member: Some("RED".to_string())
        }
    );
}

#[test]
fn scalars_arrays_and_a_default_arm() {
    let m = module();
    let bytes =
        hex("00000001 3fc00000 4000000000000000 00000002 00000007 00000008 00000002 00000009");
    let d = decode_named(&m, "all", &bytes, DumpLimits::default()).unwrap();
    assert_eq!(d.error, None);
    assert_eq!(field(&d.node, "b").value, Value::Bool(true));
    assert_eq!(field(&d.node, "f").value, Value::Float(1.5));
    assert_eq!(field(&d.node, "d").value, Value::Float(2.0));
    let Value::Array(xs) = &field(&d.node, "xs").value else {
        panic!()
    };
    assert_eq!(xs.len(), 2);
    assert_eq!((xs[1].offset, &xs[1].value), (24, &Value::Int(8)));
    let o = field(&d.node, "o");
    assert_eq!(field(o, "k").value, Value::Int(9));
    assert!(matches!(&o.value, Value::Union { arm: None, .. }));
}

#[test]
fn a_linked_list_is_flattened_and_iterative() {
    let m = module();
    // 100 000 nodes: recursion would overflow the stack; the list does not.
    let mut text = String::from("00000002");
    for i in 0..100_000 {
        let _ = write!(text, " 00000001 {i:08x}");
    }
    text.push_str(" 00000000");
    let d = decode_named(&m, "u", &hex(&text), DumpLimits::default()).unwrap();
    assert_eq!(d.error, None);
    let n = field(&d.node, "n");
    let Value::List(items) = &n.value else {
        panic!("{n:?}")
    };
    assert_eq!(items.len(), 100_000);
    assert_eq!(items[7].ty, "node");
    assert_eq!(field(&items[7], "id").value, Value::Int(7));
}

#[test]
fn bad_bytes_stop_at_the_first_error_with_its_offset() {
    let m = module();
    let limits = DumpLimits::default();
    let cases: &[(&str, &str, usize, &str)] = &[
        // Truncated inside the string.
        (
            "u",
            "00000001 00000005 6865",
            4,
            "length 5, only 2 byte(s) left",
        ),
        // Over the string's bound.
        (
            "u",
            "00000001 00000009 00000000 00000000 00000000",
            4,
            "more than its bound 8",
        ),
        // An enum value no member has.
        ("u", "00000003", 0, "not a value of enum color"),
        // A bool that is neither 0 nor 1.
        ("all", "00000002", 0, "bool is 2"),
        // Non-zero padding.
        ("pair", "00000001 61ff0000", 5, "padding"),
        // A presence flag of 2.
        ("node", "00000001 00000002", 4, "presence flag"),
        // An array longer than the bytes left.
        (
            "all",
            "00000000 00000000 0000000000000000 7fffffff",
            16,
            "elements",
        ),
        // Trailing bytes.
        ("color", "00000001 00", 4, "left after the value"),
        // Nothing at all.
        ("pair", "", 0, "needs 4 byte(s), 0 left"),
    ];
    for (ty, bytes, offset, message) in cases {
        let d = decode_named(&m, ty, &hex(bytes), limits).unwrap();
        let e = d.error.unwrap_or_else(|| panic!("{ty} {bytes}: no error"));
        assert_eq!(e.offset, *offset, "{ty} {bytes}: {e}");
        assert!(e.message.contains(message), "{ty} {bytes}: {e}");
    }
    // What came before the error is kept.
    let d = decode_named(
        &m,
        "u",
        &hex("00000001 00000002 6869 0000 00000007"),
        limits,
    )
    .unwrap();
    let p = field(&d.node, "p");
    assert_eq!(field(p, "name").value, Value::String(b"hi".to_vec()));
    assert_eq!(field(p, "v").value, Value::Int(7));
    assert_eq!(d.error.unwrap().offset, 16);
    assert!(decode_named(&m, "nope", &[], limits).is_err());
}

#[test]
fn nesting_and_node_counts_are_bounded() {
    let m = module();
    // `deep` recurses through a field that is not last: no list, real
    // nesting, stopped at the depth limit instead of the stack's end.
    let text = "00000001 ".repeat(10_000);
    let d = decode_named(&m, "deep", &hex(&text), DumpLimits::default()).unwrap();
    let e = d.error.unwrap();
    assert!(e.message.contains("nested more than 64"), "{e}");
    let limits = DumpLimits {
        max_depth: 64,
        max_nodes: 10,
    };
    let mut text = String::from("00000002");
    for i in 0..100 {
        let _ = write!(text, " 00000001 {i:08x}");
    }
    text.push_str(" 00000000");
    let d = decode_named(&m, "u", &hex(&text), limits).unwrap();
    assert!(d.error.unwrap().message.contains("node limit"));
}

/// A call of GET(7, "ab") with xid 0x11 and its reply, record-marked; the
/// call in two fragments.
fn onc_session() -> Vec<u8> {
    hex("
        00000010 00000011 00000000 00000002 20000001
        80000024 00000003 00000001 00000000 00000000 00000000 00000000 00000007 00000002 61620000
        80000034 00000011 00000001 00000000 00000000 00000000 00000000
                 00000002 6f6b0000 00000005 0000000000000009 00000000 616263 00
    ")
}

#[test]
fn onc_calls_and_replies_are_matched_and_decoded() {
    let m = module();
    let d = dump_stream(&m, Framing::Onc, &onc_session(), DumpLimits::default());
    assert_eq!(d.first_error(), None);
    assert_eq!(d.messages.len(), 2);
    let (call, reply) = (&d.messages[0], &d.messages[1]);
    assert_eq!(call.kind, MessageKind::Call);
    assert_eq!(call.procedure_name.as_deref(), Some("GET"));
    assert_eq!(call.program_name.as_deref(), Some("P"));
    let args = call.body.as_ref().unwrap();
    assert_eq!(args.ty, "int, string<>");
    assert_eq!(field(args, "arg1").value, Value::Int(7));
    assert_eq!(field(args, "arg2").value, Value::String(b"ab".to_vec()));
    assert_eq!(reply.kind, MessageKind::Reply);
    assert_eq!(reply.call, Some(0));
    assert_eq!(reply.status.as_deref(), Some("SUCCESS"));
    let results = reply.body.as_ref().unwrap();
    assert_eq!(results.ty, "pair");
    assert_eq!(field(results, "name").value, Value::String(b"ok".to_vec()));
    assert_eq!(field(results, "f").value, Value::Opaque(b"abc".to_vec()));
}

#[test]
fn a_cut_stream_and_unknown_procedures_are_shown_not_hidden() {
    let m = module();
    let mut bytes = onc_session();
    bytes.truncate(bytes.len() - 10);
    let d = dump_stream(&m, Framing::Onc, &bytes, DumpLimits::default());
    assert_eq!(d.messages.len(), 2);
    assert_eq!(d.messages[1].kind, MessageKind::Broken);
    assert!(
        d.first_error()
            .unwrap()
            .contains("inside a record fragment")
    );
    // Procedure 9 is not in the file: its arguments stay raw bytes.
    let call = hex(
        "8000002c 00000001 00000000 00000002 20000001 00000003 00000009
                    00000000 00000000 00000000 00000000 deadbeef",
    );
    let d = dump_stream(&m, Framing::Onc, &call, DumpLimits::default());
    assert_eq!(d.first_error(), None);
    assert_eq!(
        d.messages[0].body.as_ref().unwrap().value,
        Value::Raw(vec![0xde, 0xad, 0xbe, 0xef])
    );
}

#[test]
fn libvirt_packets_with_bad_lengths_are_errors() {
    let m = module();
    for bytes in [
        "00000004 00000000",
        "7fffffff 00000000",
        "0000001c 00000000",
    ] {
        let d = dump_stream(&m, Framing::Libvirt, &hex(bytes), DumpLimits::default());
        assert!(d.first_error().is_some(), "{bytes}");
    }
    // A keepalive PING is known without a .x file for it.
    let ping = hex("0000001c 6b656570 00000001 00000001 00000002 00000000 00000000");
    let d = dump_stream(&m, Framing::Libvirt, &ping, DumpLimits::default());
    assert_eq!(d.first_error(), None);
    assert_eq!(d.messages[0].kind, MessageKind::Event);
    assert_eq!(
        d.messages[0].procedure_name.as_deref(),
        Some("KEEPALIVE_PROC_PING")
    );
}

#[test]
fn a_recorded_capture_decodes_completely() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let options = Options::new();
    let m = crate::check(root.join("protocols/xdr/portmap.x"), &options)
        .unwrap()
        .module;
    let pcap = std::fs::read(root.join("fixtures/captures/rpcinfo-p.pcap")).unwrap();
    let d = dump_capture(&m, Framing::Onc, &pcap, DumpLimits::default()).unwrap();
    assert_eq!(d.first_error(), None);
    let names: Vec<_> = d
        .messages
        .iter()
        .map(|m| (m.kind, m.procedure_name.as_deref(), m.frames))
        .collect();
    assert_eq!(
        names[2..],
        [
            (MessageKind::Call, Some("PMAPPROC_DUMP"), Some((14, 14))),
            (MessageKind::Reply, Some("PMAPPROC_DUMP"), Some((16, 16))),
        ]
    );
    // Every prefix of the file is an error or a shorter dump, never a panic.
    for len in (0..pcap.len()).step_by(7) {
        if let Ok(d) = dump_capture(&m, Framing::Onc, &pcap[..len], DumpLimits::default()) {
            assert!(d.messages.len() <= 4);
        }
    }
    assert!(
        dump_capture(
            &m,
            Framing::Onc,
            b"not a capture at all",
            DumpLimits::default()
        )
        .is_err()
    );
}

#[test]
fn udp_datagrams_are_one_message_each() {
    // `rpcinfo -u 127.0.0.1 100000 2` and `rpcinfo -T udp6 ::1 100000 4`
    // (GETADDR over UDP, then NULL), and the capture helper's end marker
    // to the discard port, recorded with tcpdump.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let m = crate::check(root.join("protocols/xdr/rpcbind.x"), &Options::new())
        .unwrap()
        .module;
    let pcap = std::fs::read(root.join("fixtures/captures/rpcinfo-u.pcap")).unwrap();
    let d = dump_capture(&m, Framing::Onc, &pcap, DumpLimits::default()).unwrap();
    assert_eq!(d.first_error(), None);
    let got: Vec<_> = d
        .messages
        .iter()
        .map(|m| (m.kind, m.version, m.procedure, m.call, m.frames))
        .collect();
    let (call, reply) = (MessageKind::Call, MessageKind::Reply);
    assert_eq!(
        got,
        [
            (call, Some(4), Some(3), None, Some((1, 1))),
            (reply, Some(4), Some(3), Some(0), Some((2, 2))),
            (call, Some(2), Some(0), None, Some((3, 3))),
            (reply, Some(2), Some(0), Some(2), Some((4, 4))),
            (call, Some(4), Some(3), None, Some((5, 5))),
            (reply, Some(4), Some(3), Some(4), Some((6, 6))),
            (call, Some(4), Some(0), None, Some((7, 7))),
            (reply, Some(4), Some(0), Some(6), Some((8, 8))),
        ]
    );
    // GETADDR's answer is rpcbind's own universal address, in each family.
    let text = super::text::dump(&d);
    assert!(
        text.contains("results: string<> = \"127.0.0.1.0.111\""),
        "{text}"
    );
    assert!(text.contains("results: string<> = \"::1.0.111\""), "{text}");
    assert!(text.contains("(udp [::1]:"), "{text}");
    assert!(
        d.streams
            .iter()
            .all(|s| s.transport == Some(super::Transport::Udp)),
        "{:?}",
        d.streams
    );
    // One stream per direction and address pair (rpcinfo asks rpcbind and
    // calls from one socket), offsets counting within it; the marker's
    // flow holds no RPC and is not listed.
    assert_eq!(d.streams.len(), 4);
    assert_eq!(
        (d.messages[2].stream_offset, d.messages[2].stream_len),
        (88, 40)
    );
    // The marker is no RPC message.
    assert_eq!(d.skipped_packets, 1);
    // libvirt's framing runs over streams only: every datagram is skipped.
    let libvirt = dump_capture(&m, Framing::Libvirt, &pcap, DumpLimits::default()).unwrap();
    assert!(libvirt.messages.is_empty() && libvirt.streams.is_empty());
    assert_eq!(libvirt.skipped_packets, 9);
    // Every prefix of the file is an error or a shorter dump, never a panic.
    for len in (0..pcap.len()).step_by(5) {
        if let Ok(d) = dump_capture(&m, Framing::Onc, &pcap[..len], DumpLimits::default()) {
            assert!(d.messages.len() <= 8);
        }
    }
}

#[test]
fn hex_text_is_strict_about_what_it_accepts() {
    assert_eq!(
        parse_hex("de:ad-be ef # comment 00\n01").unwrap(),
        [0xde, 0xad, 0xbe, 0xef, 1]
    );
    assert_eq!(parse_hex("abc").unwrap_err().offset, 3);
    assert_eq!(parse_hex("a b").unwrap_err().offset, 1);
    assert_eq!(parse_hex("zz").unwrap_err().offset, 0);
}

#[test]
fn pcapng_and_linux_cooked_captures_read_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let m = crate::check(root.join("protocols/xdr/portmap.x"), &Options::new())
        .unwrap()
        .module;
    let read = |name: &str| {
        let bytes = std::fs::read(root.join("fixtures/captures").join(name)).unwrap();
        dump_capture(&m, Framing::Onc, &bytes, DumpLimits::default()).unwrap()
    };
    // The same packets, rewritten by `editcap -F pcapng`.
    let (pcap, pcapng) = (read("rpcinfo-p.pcap"), read("rpcinfo-p.pcapng"));
    assert_eq!(pcapng.first_error(), None);
    assert_eq!(pcapng.messages, pcap.messages);
    assert_eq!(pcapng.streams, pcap.streams);
    // Another session recorded with `tcpdump -i any` (LINUX_SLL2).
    let cooked = read("rpcinfo-p-sll2.pcap");
    assert_eq!(cooked.first_error(), None);
    let procedures: Vec<_> = cooked
        .messages
        .iter()
        .map(|m| (m.kind, m.procedure, m.call))
        .collect();
    assert_eq!(
        procedures,
        [
            (MessageKind::Call, Some(3), None),
            (MessageKind::Reply, Some(3), Some(0)),
            (MessageKind::Call, Some(4), None),
            (MessageKind::Reply, Some(4), Some(2)),
        ]
    );
}
