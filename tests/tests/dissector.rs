//! The generated Wireshark dissector, loaded into tshark, on recorded
//! sessions: our ONC RPC client and server for `peertest.x`, and our
//! libvirt client and the example daemon (`remote_subset.x`). Field values
//! tshark reports through it are the values the test sent or was answered,
//! the values `xdrgen dump` decodes from the same capture, and, for
//! libvirt, the values libvirt's own Wireshark plugin shows.
//!
//! Needs: root, Debian `tcpdump`, `tshark` and (for the plugin comparison)
//! `libvirt-wireshark`. Missing ones are loud skips, failures under
//! `XDRGEN_REQUIRE_PEERS=1`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;
use tokio::net::TcpListener;
use xdrgen_build::dissector::DissectorOptions;
use xdrgen_build::dump::{self, DumpLimits, Framing};
use xdrgen_runtime::XdrString;
use xdrgen_runtime::rpc::{ClientConfig, Endpoint, Server, ServerConfig};
use xdrgen_testenv::capture::{self, Capture};
use xdrgen_tests::peertest::{self, PeerTest, PtColor, PtPoint, v1};

const TEST: &str = "dissector::peertest_session_through_the_generated_lua";

/// tcpdump (with what it needs to capture) and tshark, or a loud skip.
fn tools(test: &str) -> bool {
    capture::tcpdump(test)
        && xdrgen_testenv::require_tools(test, &[("tshark", &["--version"], "tshark")])
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

async fn session(addr: SocketAddr) {
    let config = ClientConfig {
        timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    };
    let c = v1::Client::connect(Endpoint::Tcp(addr), config)
        .await
        .unwrap();
    assert_eq!(c.pt_add(&PtPoint { x: 40, y: 2 }).await.unwrap(), 42);
    let hello = XdrString::from("hello, peer");
    assert_eq!(c.pt_echo(&hello).await.unwrap(), hello);
    c.pt_shape(&PtColor::PtGreen).await.unwrap();
    c.pt_shape(&PtColor::PtRed).await.unwrap();
    let item = peertest::sample_item();
    assert_eq!(c.pt_bump(&item).await.unwrap(), peertest::bump(item));
}

/// One line of `tshark -T fields` per dissected message, its fields split.
fn fields(capture: &Path, lua: &Path, names: &[&str]) -> Vec<Vec<String>> {
    proto_fields(capture, lua, "peertest", names)
}

fn proto_fields(capture: &Path, lua: &Path, proto: &str, names: &[&str]) -> Vec<Vec<String>> {
    let script = format!("lua_script:{}", lua.display());
    let mut args = vec![
        "-X",
        &script,
        "-Y",
        proto,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=;",
    ];
    for n in names {
        args.push("-e");
        args.push(n);
    }
    let out = capture::run_tshark(capture, &args).unwrap();
    out.lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Checks that every value `xdrgen dump` decodes from `pcap`, tshark shows
/// through the dissector `lua` (protocol `proto`) under the field the .x
/// names, in order; returns how many fields were compared.
fn same_as_dump(
    module: &xdrgen_build::ir::Module,
    framing: Framing,
    pcap: &Path,
    lua: &Path,
    proto: &str,
) -> usize {
    let expected = dump_values(module, framing, pcap);
    let keys: Vec<&str> = expected.keys().map(String::as_str).collect();
    let names: Vec<String> = keys.iter().map(|k| format!("{proto}.{k}")).collect();
    let rows = proto_fields(
        pcap,
        lua,
        proto,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    for (i, key) in keys.iter().enumerate() {
        let shown: Vec<String> = rows
            .iter()
            .flat_map(|r| r[i].split(';').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect();
        let want = &expected[*key];
        assert_eq!(
            shown.len(),
            want.len(),
            "{key}: tshark {shown:?}, dump {want:?}"
        );
        for (s, w) in shown.iter().zip(want) {
            let same = match (s.parse::<f64>(), w.parse::<f64>()) {
                (Ok(a), Ok(b)) if s.contains('.') || w.contains('.') => a.total_cmp(&b).is_eq(),
                _ => s == w,
            };
            assert!(same, "{key}: tshark {shown:?}, dump {want:?}");
        }
    }
    keys.len()
}

/// `xdrgen dump`'s values (its library, the JSON `--json` prints) of every
/// message in the capture, by the dissector field each belongs to:
/// `<type>.<field>` inside named types, `<procedure>.argN` and
/// `<procedure>.result` for bodies that are not.
fn dump_values(
    module: &xdrgen_build::ir::Module,
    framing: Framing,
    pcap: &Path,
) -> BTreeMap<String, Vec<String>> {
    let bytes = std::fs::read(pcap).unwrap();
    let decoded = dump::dump_capture(module, framing, &bytes, DumpLimits::default()).unwrap();
    assert!(
        decoded.first_error().is_none(),
        "{}",
        dump::text::dump(&decoded)
    );
    let json = dump::json::dump(&decoded);
    let mut out = BTreeMap::new();
    let messages = json["messages"].as_array().unwrap();
    assert!(!messages.is_empty());
    for m in messages {
        let procedure = m["procedure_name"].as_str().unwrap().to_ascii_lowercase();
        if framing == Framing::Libvirt {
            let suffix = match m["kind"].as_str() {
                Some("call") => "args",
                Some("reply") => "ret",
                _ => "msg",
            };
            if !m["body"].is_null() {
                values(&m["body"], &format!("{procedure}.{suffix}"), &mut out);
            }
        } else if m["kind"] == "call" {
            for arg in m["body"]["fields"].as_array().unwrap() {
                let key = format!("{procedure}.{}", arg["name"].as_str().unwrap());
                values(arg, &key, &mut out);
            }
        } else {
            values(&m["body"], &format!("{procedure}.result"), &mut out);
        }
    }
    out
}

fn values(node: &Json, key: &str, out: &mut BTreeMap<String, Vec<String>>) {
    let ty = node["type"].as_str().unwrap_or_default();
    if let Some(fields) = node["fields"].as_array() {
        for f in fields {
            values(f, &format!("{ty}.{}", f["name"].as_str().unwrap()), out);
        }
    } else if node["kind"] == "union" {
        for part in [&node["discriminant"], &node["arm"]] {
            if let Some(name) = part["name"].as_str() {
                values(part, &format!("{ty}.{name}"), out);
            }
        }
    } else if let Some(items) = node["items"].as_array() {
        for item in items {
            values(item, key, out);
        }
    } else if node["value"].is_object() {
        // Optional data that is there.
        values(&node["value"], key, out);
    } else if !node["value"].is_null() {
        let value = match &node["value"] {
            Json::Bool(b) => u8::from(*b).to_string(),
            // tshark shows an empty byte field as <MISSING>.
            Json::String(s) if s.is_empty() && node["kind"] == "opaque" => "<MISSING>".to_string(),
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            other => panic!("{key}: no value in {other}"),
        };
        if !value.is_empty() {
            out.entry(key.to_string()).or_default().push(value);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peertest_session_through_the_generated_lua() {
    if !tools(TEST) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dissector");
    std::fs::create_dir_all(&dir).unwrap();

    let checked = xdrgen_build::check(
        workspace().join("fixtures/peers/peertest.x"),
        &xdrgen_build::Options::new(),
    )
    .unwrap();
    let lua = dir.join("peertest.lua");
    std::fs::write(
        &lua,
        xdrgen_build::dissector::dissector(
            &checked.module,
            "peertest.x",
            &DissectorOptions::default(),
        ),
    )
    .unwrap();

    let server = Server::builder(ServerConfig::default())
        .service(v1::Dispatcher(PeerTest::default()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn({
        let s = server.clone();
        async move { s.serve_tcp(listener).await }
    });
    let pcap = dir.join("peertest.pcap");
    let recording = Capture::start(&pcap, &format!("tcp port {}", addr.port())).unwrap();
    session(addr).await;
    let pcap = recording.finish().unwrap();
    serving.abort();

    // Headers: five calls and five replies, matched by xid.
    let rows = fields(
        &pcap,
        &lua,
        &[
            "peertest.rpc.msg_type",
            "peertest.rpc.xid",
            "peertest.rpc.procedure",
            "peertest.rpc.accept_stat",
        ],
    );
    assert_eq!(rows.len(), 10, "{rows:?}");
    let calls: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "0").collect();
    let replies: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "1").collect();
    assert_eq!(calls.len(), 5);
    assert_eq!(
        calls.iter().map(|r| r[2].as_str()).collect::<Vec<_>>(),
        ["1", "2", "4", "4", "3"]
    );
    for r in &replies {
        assert_eq!(r[3], "0", "{r:?}");
        assert!(
            calls.iter().any(|c| c[1] == r[1]),
            "reply {r:?} answers no call"
        );
    }

    // Bodies: arguments and results as sent and answered.
    let rows = fields(
        &pcap,
        &lua,
        &[
            "peertest.pt_point.x",
            "peertest.pt_point.y",
            "peertest.pt_add.result",
            "peertest.pt_echo.arg1",
            "peertest.pt_echo.result",
            "peertest.pt_shape.arg1",
            "peertest.pt_shape.kind",
            "peertest.pt_shape.big",
            "peertest.pt_item.name",
            "peertest.pt_item.id",
            "peertest.pt_item.weight",
            "peertest.pt_item.flag",
            "peertest.pt_item.nums",
            "peertest.pt_item.tag",
            "peertest.pt_item.next.present",
        ],
    );
    let col = |i: usize| {
        rows.iter()
            .map(|r| r[i].clone())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        col(0),
        ["40", "3"],
        "PT_ADD's x, then PT_SHAPE(RED)'s center"
    );
    assert_eq!(col(1), ["2", "4"]);
    assert_eq!(col(2), ["42"]);
    assert_eq!(col(3), ["hello, peer"]);
    assert_eq!(col(4), ["hello, peer"]);
    assert_eq!(col(5), ["1", "0"], "PT_GREEN, PT_RED");
    assert_eq!(col(6), ["1", "0"]);
    assert_eq!(col(7), [(-(1i64 << 40)).to_string()]);
    // PT_BUMP: the list as sent, then bumped (names upper-cased, ids +1,
    // weights doubled, flags flipped, numbers +1).
    assert_eq!(col(8), ["head;tail", "HEAD;TAIL"]);
    assert_eq!(
        col(9),
        [format!("41;{}", u64::MAX - 1), format!("42;{}", u64::MAX)]
    );
    assert_eq!(col(10), ["1.5;-0.25", "3;-0.5"]);
    assert_eq!(col(11), ["1;0", "0;1"]);
    assert_eq!(col(12), ["1;2;3", "2;3;4"]);
    assert_eq!(col(13), ["74616731;74616732", "74616731;74616732"]);
    assert_eq!(col(14), ["1;0", "1;0"]);

    // Every value `xdrgen dump` decodes from the capture, tshark shows
    // through the dissector under the field the .x names, in order.
    let keys = same_as_dump(&checked.module, Framing::Onc, &pcap, &lua, "peertest");
    assert!(keys >= 15, "every leaf field of peertest.x: {keys}");

    // Nothing malformed, nothing left over.
    let script = format!("lua_script:{}", lua.display());
    let bad = capture::run_tshark(
        &pcap,
        &[
            "-X",
            &script,
            "-Y",
            "peertest.malformed || peertest.trailing || _ws.malformed",
        ],
    )
    .unwrap();
    assert!(bad.trim().is_empty(), "{bad}");
}

/// libvirt's own Wireshark dissector (Debian `libvirt-wireshark`, generated
/// by libvirt from its protocol files) names fields as ours do,
/// `libvirt.<type>.<field>`: on the same capture, every field both have
/// shows the same values.
fn same_as_libvirt_plugin(test: &str, pcap: &Path, lua: &Path, port: u16) {
    let Some(known) = xdrgen_testenv::require(
        test,
        "libvirt's Wireshark plugin is not installed (Debian package `libvirt-wireshark`)",
        // `-G` must come first, so not through run_tshark (`-r` first).
        std::process::Command::new("tshark")
            .args(["-G", "fields", "-X"])
            .arg(format!("lua_script:{}", lua.display()))
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .filter(|f| f.contains("\tlibvirt.remote_nonnull_domain.name\t")),
    ) else {
        return;
    };
    // Value fields: subtrees (FT_NONE) are laid out differently.
    let ours: Vec<String> = known
        .lines()
        .filter(|l| l.split('\t').nth(3) != Some("FT_NONE"))
        .filter_map(|l| l.split('\t').nth(2))
        .filter_map(|f| f.strip_prefix("remote_subset."))
        .filter(|k| {
            !k.starts_with("rpc.") && !k.starts_with("libvirt.") && !k.starts_with("remote_proc_")
        })
        .map(str::to_string)
        .collect();
    let theirs: Vec<&str> = known
        .lines()
        .filter_map(|l| l.split('\t').nth(2))
        .filter_map(|f| f.strip_prefix("libvirt."))
        .collect();
    let keys: Vec<&String> = ours
        .iter()
        .filter(|k| theirs.contains(&k.as_str()))
        .collect();
    assert!(keys.len() >= 20, "{keys:?}");
    let our_names: Vec<String> = keys.iter().map(|k| format!("remote_subset.{k}")).collect();
    let their_names: Vec<String> = keys.iter().map(|k| format!("libvirt.{k}")).collect();
    let our_rows = proto_fields(
        pcap,
        lua,
        "remote_subset",
        &our_names.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let decode_as = format!("tcp.port=={port},libvirt");
    let mut args = vec![
        "-d",
        &decode_as,
        "-Y",
        "libvirt",
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=;",
    ];
    for n in &their_names {
        args.push("-e");
        args.push(n);
    }
    let out = capture::run_tshark(pcap, &args).unwrap();
    let their_rows: Vec<Vec<String>> = out
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect();
    let column = |rows: &[Vec<String>], i: usize| -> Vec<String> {
        rows.iter()
            .flat_map(|r| r[i].split(';').map(str::to_string).collect::<Vec<_>>())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let mut compared = 0;
    for (i, key) in keys.iter().enumerate() {
        let (a, b) = (column(&our_rows, i), column(&their_rows, i));
        assert_eq!(a, b, "{key}: ours {a:?}, libvirt's {b:?}");
        compared += a.len();
    }
    assert!(compared >= 10, "only {compared} values in common");
    eprintln!(
        "{compared} values of {} fields agree with libvirt's dissector",
        keys.len()
    );
}

/// libvirt framing: our client and the example daemon (remote_subset.x),
/// the dissector generated from the same file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libvirt_session_through_the_generated_lua() {
    use example_libvirt_daemon::Daemon;
    use example_libvirt_daemon::remote::{self, remote_program};
    use xdrgen_runtime::libvirt::{Connection, ConnectionConfig};

    let test = "dissector::libvirt_session_through_the_generated_lua";
    if !tools(test) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dissector");
    std::fs::create_dir_all(&dir).unwrap();
    let checked = xdrgen_build::check(
        workspace().join("examples/libvirt-daemon/remote_subset.x"),
        &xdrgen_build::Options::new(),
    )
    .unwrap();
    let lua = dir.join("remote_subset.lua");
    std::fs::write(
        &lua,
        xdrgen_build::dissector::dissector(
            &checked.module,
            "remote_subset.x",
            &DissectorOptions::default(),
        ),
    )
    .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server =
        xdrgen_runtime::libvirt::Server::builder(xdrgen_runtime::libvirt::ServerConfig::default())
            .service(remote_program::Dispatcher(Daemon::new()))
            .build();
    let serving = tokio::spawn({
        let s = server.clone();
        async move { s.serve_tcp(listener).await }
    });
    let pcap = dir.join("remote_subset.pcap");
    let recording = Capture::start(&pcap, &format!("tcp port {}", addr.port())).unwrap();
    {
        let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
            .await
            .unwrap();
        let c = remote_program::Client(connection);
        c.connect_open(&remote::RemoteConnectOpenArgs {
            name: Some("test:///default".into()),
            flags: 0,
        })
        .await
        .unwrap();
        let listed = c
            .connect_list_all_domains(&remote::RemoteConnectListAllDomainsArgs {
                need_results: 1,
                flags: 0,
            })
            .await
            .unwrap();
        assert_eq!(listed.ret, 2);
        let dom = c
            .domain_lookup_by_name(&remote::RemoteDomainLookupByNameArgs {
                name: "demo-running".into(),
            })
            .await
            .unwrap()
            .dom;
        c.domain_get_info(&remote::RemoteDomainGetInfoArgs { dom })
            .await
            .unwrap();
    }
    let pcap = recording.finish().unwrap();
    serving.abort();

    // Headers: four calls, four replies, serials matching.
    let rows = proto_fields(
        &pcap,
        &lua,
        "remote_subset",
        &[
            "remote_subset.libvirt.type",
            "remote_subset.libvirt.serial",
            "remote_subset.libvirt.procedure",
            "remote_subset.libvirt.status",
        ],
    );
    let calls: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "0").collect();
    let replies: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "1").collect();
    assert_eq!((calls.len(), replies.len()), (4, 4), "{rows:?}");
    for r in &replies {
        assert_eq!(r[3], "0", "{r:?}");
        assert!(
            calls.iter().any(|c| c[1] == r[1] && c[2] == r[2]),
            "reply {r:?} answers no call"
        );
    }
    // Known values, then everything dump decodes.
    let rows = proto_fields(
        &pcap,
        &lua,
        "remote_subset",
        &[
            "remote_subset.remote_connect_open_args.name",
            "remote_subset.remote_connect_list_all_domains_ret.ret",
            "remote_subset.remote_nonnull_domain.name",
        ],
    );
    let col = |i: usize| {
        rows.iter()
            .map(|r| r[i].clone())
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
    };
    assert_eq!(col(0), ["test:///default"]);
    assert_eq!(col(1), ["2"]);
    assert!(
        col(2).iter().any(|names| names.contains("demo-running")),
        "{:?}",
        col(2)
    );
    let keys = same_as_dump(
        &checked.module,
        Framing::Libvirt,
        &pcap,
        &lua,
        "remote_subset",
    );
    assert!(keys >= 10, "{keys}");
    same_as_libvirt_plugin(test, &pcap, &lua, addr.port());
    let script = format!("lua_script:{}", lua.display());
    let bad = capture::run_tshark(
        &pcap,
        &[
            "-X",
            &script,
            "-Y",
            "remote_subset.malformed || remote_subset.trailing || _ws.malformed",
        ],
    )
    .unwrap();
    assert!(bad.trim().is_empty(), "{bad}");
}

/// An ONC RPC call record of peertest's program 0x20000099 version 1.
fn call_record(xid: u32, procedure: u32, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::new();
    for word in [xid, 0, 2, 0x2000_0099, 1, procedure, 0, 0, 0, 0] {
        message.extend_from_slice(&word.to_be_bytes());
    }
    message.extend_from_slice(body);
    let mark = 0x8000_0000 | u32::try_from(message.len()).unwrap();
    let mut record = mark.to_be_bytes().to_vec();
    record.extend(message);
    record
}

/// Bad bodies are marked malformed at their first error, and the calls
/// after them on the same stream are still decoded: a string longer than
/// the bytes left, a count over its bound. A 42-node linked list is no
/// error: its nodes are siblings, not 42 levels of tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_are_malformed_not_fatal() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use xdrgen_runtime::XdrEncode;

    let test = "dissector::bad_bodies_are_malformed_not_fatal";
    if !tools(test) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dissector-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let checked = xdrgen_build::check(
        workspace().join("fixtures/peers/peertest.x"),
        &xdrgen_build::Options::new(),
    )
    .unwrap();
    let lua = dir.join("peertest.lua");
    std::fs::write(
        &lua,
        xdrgen_build::dissector::dissector(
            &checked.module,
            "peertest.x",
            &DissectorOptions::default(),
        ),
    )
    .unwrap();

    // A listener that reads and drops: no server decodes these.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // It reports how many bytes it has read, so the writer can wait for
    // each record to arrive before sending the next.
    let (read_so_far, mut reads) = tokio::sync::watch::channel(0usize);
    let sink = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 65536];
        let mut total = 0;
        loop {
            let n = socket.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            total += n;
            read_so_far.send_replace(total);
        }
    });
    let mut deep = peertest::sample_item();
    for _ in 0..40 {
        let mut node = peertest::sample_item();
        node.next = Some(Box::new(deep));
        deep = node;
    }
    let mut stream = Vec::new();
    stream.extend(call_record(1, 1, &[0, 0, 0, 40, 0, 0, 0, 2])); // PT_ADD(40, 2)
    stream.extend(call_record(2, 2, &[0, 0, 3, 232, b'a', b'b', b'c', b'd'])); // 1000 bytes promised
    stream.extend(call_record(3, 3, &deep.to_xdr().unwrap())); // 42 nodes
    let mut item = peertest::sample_item().to_xdr().unwrap();
    // nums<16>: the count word after name "head" (8 bytes), tag (4), blob
    // [1, 2, 3] (8), id (8), weight (8) and flag (4).
    let at = 8 + 4 + 8 + 8 + 8 + 4;
    item[at..at + 4].copy_from_slice(&17u32.to_be_bytes());
    stream.extend(call_record(4, 3, &item));
    stream.extend(call_record(5, 1, &[0, 0, 0, 7, 0, 0, 0, 8])); // PT_ADD(7, 8)
    // PT_ADD(9, 10) as a record of two fragments.
    let whole = call_record(6, 1, &[0, 0, 0, 9, 0, 0, 0, 10]);
    let message = &whole[4..];
    let mut fragments = 20u32.to_be_bytes().to_vec();
    fragments.extend_from_slice(&message[..20]);
    let rest = u32::try_from(message.len() - 20).unwrap();
    fragments.extend_from_slice(&(0x8000_0000 | rest).to_be_bytes());
    fragments.extend_from_slice(&message[20..]);
    stream.extend(fragments);

    let pcap = dir.join("bad.pcap");
    let recording = Capture::start(&pcap, &format!("tcp port {}", addr.port())).unwrap();
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.set_nodelay(true).unwrap();
    // One record per segment: each is written alone and read by the sink
    // before the next goes, so neither Nagle nor a busy loopback can
    // coalesce two into one frame (tshark would then list both xids in
    // one row).
    let mut at = 0;
    for len in record_lengths(&stream) {
        socket.write_all(&stream[at..at + len]).await.unwrap();
        socket.flush().await.unwrap();
        at += len;
        reads.wait_for(|&read| read >= at).await.unwrap();
    }
    socket.shutdown().await.unwrap();
    sink.await.unwrap();
    let pcap = recording.finish().unwrap();

    let rows = proto_fields(
        &pcap,
        &lua,
        "peertest",
        &[
            "peertest.rpc.xid",
            "peertest.pt_point.x",
            "_ws.expert.message",
        ],
    );
    let by_xid: BTreeMap<String, (String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
        .collect();
    assert_eq!(by_xid.len(), 6, "{rows:?}");
    assert_eq!(by_xid["0x00000006"], ("9".to_string(), String::new()));
    assert_eq!(by_xid["0x00000001"], ("40".to_string(), String::new()));
    assert_eq!(by_xid["0x00000005"], ("7".to_string(), String::new()));
    assert_eq!(by_xid["0x00000003"].1, "", "the long list is no error");
    let names = proto_fields(
        &pcap,
        &lua,
        "peertest.rpc.xid == 3",
        &["peertest.pt_item.name"],
    );
    assert_eq!(names[0][0].split(';').count(), 42, "{names:?}");
    for (xid, why) in [
        ("0x00000002", "out of bounds"),
        ("0x00000004", "pt_item.nums: count 17 over its bound 16"),
    ] {
        assert!(by_xid[xid].1.contains(why), "{xid}: {:?}", by_xid[xid]);
    }
}

/// The lengths of the fragments in a stream of records.
fn record_lengths(stream: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let mark = u32::from_be_bytes(stream[at..at + 4].try_into().unwrap());
        let len = 4 + usize::try_from(mark & 0x7fff_ffff).unwrap();
        out.push(len);
        at += len;
    }
    out
}

/// A call and a reply far larger than a TCP segment (and than one record
/// fragment, when the writer splits them) are reassembled and decoded whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_are_reassembled() {
    let test = "dissector::large_messages_are_reassembled";
    if !tools(test) {
        return;
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dissector-large");
    std::fs::create_dir_all(&dir).unwrap();
    let checked = xdrgen_build::check(
        workspace().join("fixtures/peers/peertest.x"),
        &xdrgen_build::Options::new(),
    )
    .unwrap();
    let lua = dir.join("peertest.lua");
    std::fs::write(
        &lua,
        xdrgen_build::dissector::dissector(
            &checked.module,
            "peertest.x",
            &DissectorOptions::default(),
        ),
    )
    .unwrap();
    let server = Server::builder(ServerConfig::default())
        .service(v1::Dispatcher(PeerTest::default()))
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn({
        let s = server.clone();
        async move { s.serve_tcp(listener).await }
    });
    let text: String = (0..100_000u32)
        .map(|i| char::from(b'a' + u8::try_from(i % 26).unwrap()))
        .collect();
    // tcpdump can drop segments of a loopback burst; such a capture says
    // so (lost or unseen segments) and is recorded again.
    let mut pcap = dir.join("large.pcap");
    for attempt in 1..=5 {
        let recording = Capture::start(&pcap, &format!("tcp port {}", addr.port())).unwrap();
        let c = v1::Client::connect(
            Endpoint::Tcp(addr),
            ClientConfig {
                timeout: Duration::from_secs(10),
                ..ClientConfig::default()
            },
        )
        .await
        .unwrap();
        let big = XdrString::from(text.as_str());
        assert_eq!(c.pt_echo(&big).await.unwrap(), big);
        drop(c);
        pcap = recording.finish().unwrap();
        let lost = capture::run_tshark(
            &pcap,
            &[
                "-Y",
                "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment",
            ],
        )
        .unwrap();
        if lost.trim().is_empty() {
            break;
        }
        assert!(attempt < 5, "tcpdump lost segments in five recordings");
    }
    serving.abort();
    let rows = fields(
        &pcap,
        &lua,
        &["peertest.pt_echo.arg1", "peertest.pt_echo.result"],
    );
    let values: Vec<&str> = rows
        .iter()
        .flat_map(|r| r.iter().map(String::as_str))
        .filter(|v| !v.is_empty())
        .collect();
    assert_eq!(values.len(), 2, "one call, one reply");
    assert!(values.iter().all(|v| *v == text), "the string whole");
}
