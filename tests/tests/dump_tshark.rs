//! `xdrgen dump` against tshark on the same recorded sessions.
//!
//! Each test records a real session with tcpdump on loopback: our
//! generated clients against rpcbind, nfs-ganesha (MOUNT and NFSv3) and
//! libvirtd, all started from `../shared/peers` by `scripts/test.sh`. The
//! capture (TCP, and UDP for the port mapper) is decoded by `xdrgen dump`'s library (the JSON `--json`
//! prints) and by tshark (`-T fields`), and for every RPC frame the two
//! must agree field by field: xid, message type, program, version,
//! procedure, the call a reply answers, the accept status, AUTH_SYS
//! credentials, and body fields tshark's own dissectors decode (portmap
//! mappings; NFS file handles, names, attributes, READ data; libvirt
//! procedure, serial, status and arguments).
//!
//! Needs: root, Debian `tcpdump`, `tshark`, `libvirt-wireshark` (for
//! libvirt), the peers (`XDRGEN_PEERS_STATE`). Missing ones are loud skips,
//! failures under `XDRGEN_REQUIRE_PEERS=1`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as Json;
use xdrgen_build::dump::{self, DumpLimits, Framing};
use xdrgen_runtime::rpc::{AuthSys, ClientConfig, Endpoint, OpaqueAuth};
use xdrgen_testenv::capture::{self, Capture};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Everything a capture test needs, or `None` after a loud skip.
fn ready(test: &str) -> Option<PathBuf> {
    let state = xdrgen_tests::peers(test)?;
    (capture::tcpdump(test) && capture::tshark(test)).then_some(state)
}

/// The resolved IR of a `.x` file, with extra command-line words.
fn module(file: &Path, args: &[String]) -> xdrgen_build::ir::Module {
    let mut words: Vec<String> = args.to_vec();
    words.push("--".to_string());
    words.push(file.display().to_string());
    let options = xdrgen_build::Options::from_args(words).unwrap();
    xdrgen_build::check(file, &options)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .module
}

/// `xdrgen dump --framing F --json` of a capture, through the library.
fn dump_json(module: &xdrgen_build::ir::Module, framing: Framing, pcap: &Path) -> Json {
    let bytes = std::fs::read(pcap).unwrap();
    let d = dump::dump_capture(module, framing, &bytes, DumpLimits::default()).unwrap();
    if let Some(e) = d.first_error() {
        panic!("dump reports an error: {e}\n{}", dump::text::dump(&d));
    }
    dump::json::dump(&d)
}

/// tshark's values of `fields` for every frame `filter` selects:
/// frame number → field → values in order.
fn tshark_fields(
    pcap: &Path,
    filter: &str,
    fields: &[&str],
    extra: &[&str],
) -> BTreeMap<u64, BTreeMap<String, Vec<String>>> {
    let mut args = vec![
        "-Y",
        filter,
        "-T",
        "fields",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=|",
    ];
    args.extend_from_slice(extra);
    args.extend(["-e", "frame.number"]);
    for f in fields {
        args.extend(["-e", f]);
    }
    let out = capture::run_tshark(pcap, &args).unwrap();
    let mut rows = BTreeMap::new();
    for line in out.lines() {
        let mut cols = line.split('\t');
        let frame: u64 = cols.next().unwrap().parse().unwrap();
        let row = fields
            .iter()
            .zip(cols.chain(std::iter::repeat("")))
            .map(|(f, v)| {
                let values = if v.is_empty() {
                    Vec::new()
                } else {
                    v.split('|').map(str::to_string).collect()
                };
                ((*f).to_string(), values)
            })
            .collect();
        rows.insert(frame, row);
    }
    rows
}

/// How one tshark field is found in dump's JSON.
enum Ours {
    /// A value of the message itself (header summary).
    Message(fn(&Json, &[Json]) -> Vec<String>),
    /// Nodes of the header or body with one of `names` (any if empty), of
    /// XDR type `ty` (any if `None`), whose parent has type `parent` (any
    /// if `None`); rendered as tshark prints them.
    Node {
        parent: Option<&'static str>,
        names: &'static [&'static str],
        ty: Option<&'static str>,
    },
    /// Each of these in turn (for a field tshark fills from several
    /// places, never two in one message).
    All(Vec<Ours>),
}

fn node(
    parent: Option<&'static str>,
    name: Option<&'static str>,
    ty: Option<&'static str>,
) -> Ours {
    let names: &'static [&'static str] = match name {
        Some(n) => Box::leak(Box::new([n])),
        None => &[],
    };
    Ours::Node { parent, names, ty }
}

/// A node's value as tshark prints it: integers and enums in decimal,
/// bools as 0/1, opaque data in hex, a one-field struct (`nfs_fh3`) as its
/// field, an array of scalars as its items. Empty for anything else.
fn render(n: &Json) -> Vec<String> {
    match n["kind"].as_str() {
        Some("int" | "enum") => vec![n["value"].to_string()],
        Some("bool") => vec![if n["value"] == true { "1" } else { "0" }.to_string()],
        Some("opaque" | "string") => n["value"]
            .as_str()
            .map(str::to_string)
            .into_iter()
            .collect(),
        Some("struct") => match n["fields"].as_array().map(Vec::as_slice) {
            Some([only]) => render(only),
            _ => Vec::new(),
        },
        Some("optional") => render(&n["value"]),
        Some("array") => n["items"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(render)
            .collect(),
        _ => Vec::new(),
    }
}

/// Children of a node, in wire order.
fn children(n: &Json) -> Vec<&Json> {
    let mut out = Vec::new();
    for key in ["fields", "items"] {
        if let Some(a) = n[key].as_array() {
            out.extend(a.iter());
        }
    }
    for key in ["discriminant", "arm", "value"] {
        if n[key].is_object() {
            out.push(&n[key]);
        }
    }
    out
}

fn collect(n: &Json, parent: &str, want: &Ours, out: &mut Vec<String>) {
    let Ours::Node {
        parent: p,
        names,
        ty,
    } = want
    else {
        return;
    };
    let matches = p.is_none_or(|p| p == parent)
        && (names.is_empty() || names.iter().any(|name| n["name"] == *name))
        && ty.is_none_or(|ty| n["type"] == ty);
    if matches {
        let values = render(n);
        if !values.is_empty() {
            out.extend(values);
            return;
        }
    }
    let me = n["type"].as_str().unwrap_or("");
    for c in children(n) {
        collect(c, me, want, out);
    }
}

fn ours(message: &Json, all: &[Json], want: &Ours) -> Vec<String> {
    match want {
        Ours::Message(f) => f(message, all),
        Ours::All(each) => each.iter().flat_map(|w| ours(message, all, w)).collect(),
        Ours::Node { .. } => {
            let mut out = Vec::new();
            collect(&message["header"], "", want, &mut out);
            if message["body"].is_object() {
                collect(&message["body"], "", want, &mut out);
            }
            out
        }
    }
}

/// Fields every ONC RPC message has, as tshark's RPC dissector names them.
fn onc_fields() -> Vec<(&'static str, Ours)> {
    vec![
        (
            "rpc.xid",
            Ours::Message(|m, _| vec![format!("{:#010x}", m["xid"].as_u64().unwrap())]),
        ),
        (
            "rpc.msgtyp",
            Ours::Message(|m, _| vec![if m["kind"] == "call" { "0" } else { "1" }.to_string()]),
        ),
        (
            "rpc.program",
            Ours::Message(|m, _| vec![m["program"].to_string()]),
        ),
        (
            "rpc.procedure",
            Ours::Message(|m, _| vec![m["procedure"].to_string()]),
        ),
        (
            "rpc.programversion",
            Ours::Message(|m, _| vec![m["version"].to_string()]),
        ),
        (
            "rpc.repframe",
            Ours::Message(|m, all| {
                m["call"]
                    .as_u64()
                    .map(|c| all[usize::try_from(c).unwrap()]["frames"][1].to_string())
                    .into_iter()
                    .collect()
            }),
        ),
        ("rpc.state_accept", node(None, Some("accept_stat"), None)),
        (
            "rpc.auth.flavor",
            node(Some("opaque_auth"), Some("flavor"), None),
        ),
        (
            "rpc.auth.uid",
            node(Some("authsys_parms"), Some("uid"), None),
        ),
        (
            "rpc.auth.gid",
            Ours::Node {
                parent: Some("authsys_parms"),
                names: &["gid", "gids"],
                ty: None,
            },
        ),
        (
            "rpc.auth.machinename",
            node(Some("authsys_parms"), Some("machinename"), None),
        ),
    ]
}

/// Compares dump's messages with tshark's rows frame by frame; `keep`
/// picks the messages this comparison is about. Returns how many frames
/// and values were compared. Every field must have been seen at least
/// once: a field both sides miss proves nothing.
fn compare(
    pcap: &Path,
    dumped: &Json,
    filter: &str,
    fields: &[(&'static str, Ours)],
    keep: &dyn Fn(&Json) -> bool,
    extra: &[&str],
) -> (usize, usize) {
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    let theirs = tshark_fields(pcap, filter, &names, extra);
    let all = dumped["messages"].as_array().unwrap().clone();
    let mut by_frame: BTreeMap<u64, Vec<&Json>> = BTreeMap::new();
    for m in all.iter().filter(|m| keep(m)) {
        by_frame
            .entry(m["frames"][1].as_u64().unwrap())
            .or_default()
            .push(m);
    }
    assert_eq!(
        by_frame.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "the frames completing a message differ (ours, tshark's)"
    );
    let mut values = 0;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (frame, messages) in &by_frame {
        for (name, want) in fields {
            let mut mine: Vec<String> = messages.iter().flat_map(|m| ours(m, &all, want)).collect();
            let mut tshark = theirs[frame][*name].clone();
            if *name == "rpc.programversion" {
                mine.dedup();
                tshark.dedup();
            }
            assert_eq!(
                mine, tshark,
                "frame {frame}, {name}: xdrgen dump (left) and tshark (right) differ"
            );
            values += mine.len();
            *seen.entry(*name).or_default() += mine.len();
        }
    }
    let unseen: Vec<&str> = seen
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(f, _)| *f)
        .collect();
    assert!(
        unseen.is_empty(),
        "fields neither side decoded anywhere: {unseen:?}"
    );
    (by_frame.len(), values)
}

fn auth_sys() -> ClientConfig {
    let credential = OpaqueAuth::sys(&AuthSys {
        stamp: 7,
        machine_name: "xdrgen-dump-test".into(),
        uid: 0,
        gid: 0,
        gids: vec![0, 42],
    })
    .unwrap();
    // No retransmission: the capture is compared frame by frame, and a
    // datagram sent twice would add frames.
    ClientConfig {
        timeout: Duration::from_secs(10),
        retransmit: Duration::from_secs(10),
        credential,
        ..ClientConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portmap_session_matches_tshark() {
    let test = "dump_tshark::portmap_session_matches_tshark";
    let Some(_) = ready(test) else { return };
    let dir = xdrgen_tests::scratch_dir("dump-tshark", "portmap");
    let pcap = dir.join("portmap.pcap");
    let recording = Capture::start(&pcap, "port 111").unwrap();
    // The same calls over TCP (record marking) and over UDP (a datagram
    // each).
    for endpoint in [
        Endpoint::Tcp("127.0.0.1:111".parse().unwrap()),
        Endpoint::Udp("127.0.0.1:111".parse().unwrap()),
    ] {
        use xdrgen_protocols::portmap::{Mapping, pmap_prog::pmap_vers::Client};
        let client = Client::connect(endpoint, auth_sys()).await.unwrap();
        client.pmapproc_null().await.unwrap();
        let port = client
            .pmapproc_getport(&Mapping {
                prog: 100_000,
                vers: 2,
                prot: 6,
                port: 0,
            })
            .await
            .unwrap();
        assert_eq!(port, 111);
        let list = client.pmapproc_dump().await.unwrap();
        assert!(list.is_some());
    }
    let pcap = tokio::task::spawn_blocking(move || recording.finish())
        .await
        .unwrap()
        .unwrap();
    let dumped = dump_json(
        &module(&workspace().join("protocols/xdr/portmap.x"), &[]),
        Framing::Onc,
        &pcap,
    );
    let mut fields = onc_fields();
    fields.extend([
        ("portmap.prog", node(Some("mapping"), Some("prog"), None)),
        ("portmap.version", node(Some("mapping"), Some("vers"), None)),
        ("portmap.proto", node(Some("mapping"), Some("prot"), None)),
        (
            "portmap.port",
            Ours::All(vec![
                node(Some("mapping"), Some("port"), None),
                // GETPORT's result is a bare `unsigned int`.
                Ours::Message(|m, _| {
                    if m["kind"] == "reply" && m["procedure_name"] == "PMAPPROC_GETPORT" {
                        render(&m["body"])
                    } else {
                        Vec::new()
                    }
                }),
            ]),
        ),
    ]);
    let (frames, values) = compare(&pcap, &dumped, "rpc", &fields, &|_| true, &[]);
    assert_eq!(
        frames, 12,
        "NULL, GETPORT and DUMP, calls and replies, over TCP and UDP"
    );
    let transports: Vec<&str> = dumped["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["transport"].as_str().unwrap())
        .collect();
    assert_eq!(transports, ["tcp", "tcp", "udp", "udp"]);
    // Each DUMP reply alone lists every mapping rpcbind holds: four values each.
    assert!(values > 12 * 8, "only {values} values compared");
    eprintln!("portmap: {frames} frames, {values} values agree with tshark");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A field of the structs of type `parent` named `name`.
fn field(parent: &'static str, name: &'static str) -> Ours {
    node(Some(parent), Some(name), None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nfs3_session_matches_tshark() {
    use xdrgen_protocols::mount3::{Mountres3, mount_program::mount_v3};
    use xdrgen_protocols::nfs3::{self, nfs_program::nfs_v3};

    let test = "dump_tshark::nfs3_session_matches_tshark";
    let Some(state) = ready(test) else { return };
    let export_dir = state.join("ganesha/export");
    let Some(()) = xdrgen_tests::require(
        test,
        "the ganesha peer is not started (../shared/peers/ganesha)",
        export_dir.is_dir().then_some(()),
    ) else {
        return;
    };
    let dir = xdrgen_tests::scratch_dir("dump-tshark", "nfs3");
    let pcap = dir.join("nfs3.pcap");
    let recording = Capture::start(&pcap, "tcp port 2049 or tcp port 20048").unwrap();
    let (read, names) = {
        let mount = mount_v3::Client::connect(
            Endpoint::Tcp("127.0.0.1:20048".parse().unwrap()),
            auth_sys(),
        )
        .await
        .unwrap();
        let Mountres3::Mnt3Ok(mounted) = mount.mountproc3_mnt(&"/export".into()).await.unwrap()
        else {
            panic!("MNT /export failed")
        };
        let root = nfs3::NfsFh3 {
            data: mounted.fhandle.clone(),
        };
        let nfs =
            nfs_v3::Client::connect(Endpoint::Tcp("127.0.0.1:2049".parse().unwrap()), auth_sys())
                .await
                .unwrap();
        let nfs3::Getattr3res::Nfs3Ok(_) = nfs
            .nfsproc3_getattr(&nfs3::Getattr3args {
                object: root.clone(),
            })
            .await
            .unwrap()
        else {
            panic!("GETATTR of the export failed")
        };
        let nfs3::Readdirplus3res::Nfs3Ok(listed) = nfs
            .nfsproc3_readdirplus(&nfs3::Readdirplus3args {
                dir: root.clone(),
                cookie: 0,
                cookieverf: [0; 8],
                dircount: 4096,
                maxcount: 16384,
            })
            .await
            .unwrap()
        else {
            panic!("READDIRPLUS of the export failed")
        };
        let mut names = Vec::new();
        let mut entry = listed.reply.entries.as_ref();
        while let Some(e) = entry {
            names.push(e.name.to_string());
            entry = e.nextentry.as_deref();
        }
        let nfs3::Readdir3res::Nfs3Ok(_) = nfs
            .nfsproc3_readdir(&nfs3::Readdir3args {
                dir: root.clone(),
                cookie: 0,
                cookieverf: [0; 8],
                count: 4096,
            })
            .await
            .unwrap()
        else {
            panic!("READDIR of the export failed")
        };
        let nfs3::Lookup3res::Nfs3Ok(found) = nfs
            .nfsproc3_lookup(&nfs3::Lookup3args {
                what: nfs3::Diropargs3 {
                    dir: root.clone(),
                    name: "hello.txt".into(),
                },
            })
            .await
            .unwrap()
        else {
            panic!("LOOKUP hello.txt failed")
        };
        let nfs3::Read3res::Nfs3Ok(read) = nfs
            .nfsproc3_read(&nfs3::Read3args {
                file: found.object,
                offset: 0,
                count: 4096,
            })
            .await
            .unwrap()
        else {
            panic!("READ hello.txt failed")
        };
        (read.data, names)
    };
    assert_eq!(read, std::fs::read(export_dir.join("hello.txt")).unwrap());
    assert!(names.iter().any(|n| n == "hello.txt"), "{names:?}");
    let pcap = tokio::task::spawn_blocking(move || recording.finish())
        .await
        .unwrap()
        .unwrap();

    let xdr = workspace().join("protocols/xdr");
    let mount_dump = dump_json(&module(&xdr.join("mount3.x"), &[]), Framing::Onc, &pcap);
    let mut fields = onc_fields();
    fields.extend([
        ("mount.path", node(None, None, Some("dirpath"))),
        ("mount.status", node(None, Some("fhs_status"), None)),
        ("nfs.fhandle", node(None, None, Some("fhandle3"))),
        ("mount.flavor", field("mountres3_ok", "auth_flavors")),
    ]);
    let is = |program: u64| move |m: &Json| m["program"] == program;
    let (frames, values) = compare(&pcap, &mount_dump, "mount", &fields, &is(100_005), &[]);
    assert_eq!(frames, 2, "MNT call and reply");
    eprintln!("MOUNT: {frames} frames, {values} values agree with tshark");

    let nfs_dump = dump_json(&module(&xdr.join("nfs3.x"), &[]), Framing::Onc, &pcap);
    let mut fields = onc_fields();
    fields.extend([
        ("nfs.fhandle", node(None, None, Some("nfs_fh3"))),
        ("nfs.name", field("diropargs3", "name")),
        ("nfs.status3", node(None, None, Some("nfsstat3"))),
        ("nfs.fattr3.type", field("fattr3", "type")),
        ("nfs.fattr3.nlink", field("fattr3", "nlink")),
        ("nfs.fattr3.uid", field("fattr3", "uid")),
        ("nfs.fattr3.gid", field("fattr3", "gid")),
        ("nfs.fattr3.size", field("fattr3", "size")),
        ("nfs.fattr3.fileid", field("fattr3", "fileid")),
        ("nfs.readdirplus.entry.name", field("entryplus3", "name")),
        (
            "nfs.readdirplus.entry.fileid",
            field("entryplus3", "fileid"),
        ),
        (
            "nfs.readdirplus.entry.cookie",
            field("entryplus3", "cookie"),
        ),
        ("nfs.readdir.entry3.name", field("entry3", "name")),
        ("nfs.readdir.entry3.fileid", field("entry3", "fileid")),
        ("nfs.readdir.entry3.cookie", field("entry3", "cookie")),
        ("nfs.count3_dircount", field("READDIRPLUS3args", "dircount")),
        ("nfs.count3_maxcount", field("READDIRPLUS3args", "maxcount")),
        ("nfs.offset3", field("READ3args", "offset")),
        ("nfs.read.eof", field("READ3resok", "eof")),
        ("nfs.data", field("READ3resok", "data")),
    ]);
    let (frames, values) = compare(&pcap, &nfs_dump, "nfs", &fields, &is(100_003), &[]);
    assert_eq!(frames, 10, "GETATTR, READDIRPLUS, READDIR, LOOKUP, READ");
    eprintln!("NFSv3: {frames} frames, {values} values agree with tshark");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The header fields of a libvirt packet as tshark's libvirt dissector
/// (Debian `libvirt-wireshark`) names them.
fn libvirt_fields() -> Vec<(&'static str, Ours)> {
    let header = |name| node(Some("virNetMessageHeader"), Some(name), None);
    vec![
        (
            "libvirt.program",
            Ours::Message(|m, _| vec![format!("{:#010x}", m["program"].as_u64().unwrap())]),
        ),
        ("libvirt.version", header("vers")),
        ("libvirt.procedure", header("proc")),
        ("libvirt.type", header("type")),
        ("libvirt.serial", header("serial")),
        ("libvirt.status", header("status")),
    ]
}

#[cfg(not(corpus))]
#[test]
fn libvirt_session_needs_the_corpus() {
    xdrgen_tests::skip(
        "dump_tshark::libvirt_session_matches_tshark",
        "../shared/corpus (libvirt's remote_protocol.x) is not beside the clone",
    );
}

#[cfg(corpus)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libvirt_session_matches_tshark() {
    use xdrgen_runtime::XdrString;
    use xdrgen_runtime::libvirt::{Connection, ConnectionConfig, Error};
    use xdrgen_tests::corpus_libvirt_remote_protocol as remote;

    let test = "dump_tshark::libvirt_session_matches_tshark";
    let Some(_) = ready(test) else { return };
    let Some(corpus) = xdrgen_tests::corpus(test) else {
        return;
    };
    let Some(()) = xdrgen_tests::require(
        test,
        "tshark has no libvirt dissector (Debian package `libvirt-wireshark`)",
        capture::tshark_has_protocol("libvirt").then_some(()),
    ) else {
        return;
    };
    let dir = xdrgen_tests::scratch_dir("dump-tshark", "libvirt");
    let pcap = dir.join("libvirt.pcap");
    let recording = Capture::start(&pcap, "tcp port 16509").unwrap();
    {
        let connection = Connection::connect_tcp("127.0.0.1:16509", ConnectionConfig::default())
            .await
            .unwrap();
        let client = remote::remote_program::Client(connection.clone());
        client.auth_list().await.unwrap();
        client
            .connect_open(&remote::RemoteConnectOpenArgs {
                name: Some("test:///default".into()),
                flags: 0,
            })
            .await
            .unwrap();
        client.connect_get_hostname().await.unwrap();
        let test_dom = client
            .domain_lookup_by_name(&remote::RemoteDomainLookupByNameArgs {
                name: "test".into(),
            })
            .await
            .unwrap()
            .dom;
        client
            .domain_get_info(&remote::RemoteDomainGetInfoArgs {
                dom: test_dom.clone(),
            })
            .await
            .unwrap();
        // An error reply.
        let missing = client
            .domain_lookup_by_name(&remote::RemoteDomainLookupByNameArgs {
                name: "xdrgen-no-such-domain".into(),
            })
            .await;
        assert!(matches!(missing, Err(Error::Remote(_))), "{missing:?}");
        // Events: a domain defined and undefined.
        let mut events = client.events();
        let callback = client
            .connect_domain_event_callback_register_any(
                &remote::RemoteConnectDomainEventCallbackRegisterAnyArgs {
                    event_id: 0,
                    dom: None,
                },
            )
            .await
            .unwrap()
            .callback_id;
        let name = format!("xdrgen-dump-{}", std::process::id());
        let xml = format!(
            "<domain type='test'><name>{name}</name><memory>8192</memory>\
             <os><type>hvm</type></os></domain>"
        );
        let dom = client
            .domain_define_xml(&remote::RemoteDomainDefineXmlArgs {
                xml: XdrString::from(xml.as_str()),
            })
            .await
            .unwrap()
            .dom;
        client
            .domain_undefine(&remote::RemoteDomainUndefineArgs { dom })
            .await
            .unwrap();
        let mut seen = 0;
        while seen < 2 {
            let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .expect("lifecycle events within 10 s")
                .unwrap();
            if let remote::remote_program::Event::DomainEventCallbackLifecycle(m) = event {
                if m.msg.dom.name == name.as_str() {
                    seen += 1;
                }
            }
        }
        client
            .connect_domain_event_callback_deregister_any(
                &remote::RemoteConnectDomainEventCallbackDeregisterAnyArgs {
                    callback_id: callback,
                },
            )
            .await
            .unwrap();
        // Keepalive, and a stream (the test driver's screenshot).
        connection.ping().await.unwrap();
        let (_, mut stream) = client
            .domain_screenshot(&remote::RemoteDomainScreenshotArgs {
                dom: test_dom,
                screen: 0,
                flags: 0,
            })
            .await
            .unwrap();
        assert!(!stream.read_to_end().await.unwrap().is_empty());
        stream.finish().await.unwrap();
        client.connect_close().await.unwrap();
    }
    let pcap = tokio::task::spawn_blocking(move || recording.finish())
        .await
        .unwrap()
        .unwrap();

    let args_file = workspace().join("examples/libvirt.args");
    let args =
        xdrgen_build::argument_file::split_words(&std::fs::read_to_string(&args_file).unwrap())
            .unwrap();
    let module = module(&corpus.join("libvirt/remote_protocol.x"), &args);
    let dumped = dump_json(&module, Framing::Libvirt, &pcap);
    let kinds: Vec<&str> = dumped["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    for kind in ["call", "reply", "event", "stream"] {
        assert!(kinds.contains(&kind), "no {kind} message: {kinds:?}");
    }
    let mut fields = libvirt_fields();
    fields.extend([
        (
            "libvirt.remote_nonnull_domain.name",
            field("remote_nonnull_domain", "name"),
        ),
        (
            "libvirt.remote_nonnull_domain.uuid",
            field("remote_nonnull_domain", "uuid"),
        ),
        (
            "libvirt.remote_nonnull_domain.id",
            field("remote_nonnull_domain", "id"),
        ),
        (
            "libvirt.remote_connect_open_args.name",
            field("remote_connect_open_args", "name"),
        ),
        (
            "libvirt.remote_connect_get_hostname_ret.hostname",
            field("remote_connect_get_hostname_ret", "hostname"),
        ),
        (
            "libvirt.remote_domain_lookup_by_name_args.name",
            field("remote_domain_lookup_by_name_args", "name"),
        ),
        (
            "libvirt.remote_domain_get_info_ret.state",
            field("remote_domain_get_info_ret", "state"),
        ),
        (
            "libvirt.remote_domain_get_info_ret.maxMem",
            field("remote_domain_get_info_ret", "maxMem"),
        ),
        (
            "libvirt.remote_domain_get_info_ret.memory",
            field("remote_domain_get_info_ret", "memory"),
        ),
        (
            "libvirt.remote_domain_get_info_ret.nrVirtCpu",
            field("remote_domain_get_info_ret", "nrVirtCpu"),
        ),
        ("libvirt.remote_error.code", field("remote_error", "code")),
        (
            "libvirt.remote_error.domain",
            field("remote_error", "domain"),
        ),
        (
            "libvirt.remote_error.message",
            field("remote_error", "message"),
        ),
        ("libvirt.remote_error.level", field("remote_error", "level")),
    ]);
    let (frames, values) = compare(&pcap, &dumped, "libvirt", &fields, &|_| true, &[]);
    eprintln!("libvirt: {frames} frames, {values} values agree with tshark");
    std::fs::remove_dir_all(&dir).unwrap();
}
