//! The example CLI (`examples/libvirt-cli`, `xvirsh`) end to end: its
//! verbs against the real libvirtd test driver that `scripts/test.sh`
//! starts from `../shared/peers/libvirt`, through four transports (unix,
//! tcp, ssh through an OpenSSH server this test starts, and ext running
//! `socat` to the daemon's socket), with its output compared to stock
//! virsh's; and the storage verbs against our example daemon, whose
//! volumes are files (libvirtd's test driver cannot upload or download
//! volumes).
//!
//! The command runs in process through `example_libvirt_cli::run`, the
//! function its `main` calls, with its standard output and error in
//! buffers and an interrupt the test fires in place of Ctrl-C.
//!
//! Without `XDRGEN_PEERS_STATE` (or virsh, socat, or sshd as root) these tests
//! say they are skipped; with `XDRGEN_REQUIRE_PEERS=1` they fail instead.
//! Packages: libvirt-clients, openssh-server, openssh-client,
//! netcat-openbsd, socat.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use example_libvirt_daemon::Daemon;
use xdrgen_libvirt::{Connect, Error};
use xdrgen_runtime::libvirt::OpenOptions;
use xdrgen_tests::libvirt;

/// What a run of the command printed, and how it exited.
struct Ran {
    status: u8,
    out: String,
    err: String,
}

/// A buffer the test reads while the command still writes to it (the
/// event loop).
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl Write for Shared {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `xvirsh -c URI ARGS...`, never interrupted.
async fn xvirsh(uri: &str, args: &[&str]) -> Ran {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let argv = ["xvirsh", "-c", uri]
        .into_iter()
        .chain(args.iter().copied());
    let never = Box::pin(std::future::pending::<()>());
    let status = example_libvirt_cli::run(argv, &mut out, &mut err, never).await;
    Ran {
        status,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

/// Runs `xvirsh` and expects it to succeed with exactly `expected` on
/// standard output.
async fn expect_output(uri: &str, args: &[&str], expected: &str) {
    let ran = xvirsh(uri, args).await;
    assert_eq!(
        (ran.status, ran.err.as_str()),
        (0, ""),
        "xvirsh {args:?} over {uri}"
    );
    assert_eq!(ran.out, expected, "xvirsh {args:?} over {uri}");
}

/// Stock virsh's standard output and error for the same verb (over the
/// unix socket: the same daemon and driver state).
async fn virsh(uri: &str, args: &[&str]) -> (bool, String, String) {
    let out = tokio::task::spawn_blocking({
        let mut command = libvirt::virsh_command(uri, 30, args);
        move || command.output()
    })
    .await
    .unwrap()
    .expect("virsh runs");
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `dominfo` without its `CPU time:` line, which the test driver makes
/// from the clock.
fn steady(dominfo: &str) -> String {
    dominfo
        .lines()
        .filter(|line| !line.starts_with("CPU time:"))
        .flat_map(|line| [line, "\n"])
        .collect()
}

/// Waits until `done` holds for `buffer`'s text, at most 30 s.
async fn wait_for(buffer: &Shared, what: &str, done: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&buffer.text()) {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen in 30 s; the event loop printed:\n{}",
            buffer.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The lines of `out` about `domain`'s lifecycle.
fn events_of(out: &str, domain: &str) -> Vec<String> {
    let prefix = format!("event 'lifecycle' for domain '{domain}': ");
    out.lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

/// Every verb but the storage ones over `uri`, against the daemon's test
/// driver, compared with stock virsh over `virsh_uri`; `label` names the
/// transport in the domain it defines, so runs never share one.
async fn verbs(uri: &str, virsh_uri: &str, label: &str, dir: &Path) {
    // The driver's own domain: dominfo and dumpxml as virsh prints them.
    let (ok, expected, _) = virsh(virsh_uri, &["dominfo", "test"]).await;
    assert!(ok);
    let ran = xvirsh(uri, &["dominfo", "test"]).await;
    assert_eq!(ran.status, 0, "{}", ran.err);
    assert_eq!(steady(&ran.out), steady(&expected), "dominfo over {uri}");
    let (ok, expected, _) = virsh(virsh_uri, &["dumpxml", "test"]).await;
    assert!(ok);
    expect_output(uri, &["dumpxml", "test"], &expected).await;

    // Events from here on, of every domain, until interrupted, while the
    // domain goes through its steps. Joined, not spawned: the command's
    // future is not `Send` (the runtime's `Stream::send_hole` borrows a
    // stream that is not `Sync`).
    let name = format!("xvirsh-{label}-{}", std::process::id());
    let events = Shared::default();
    let (interrupt, interrupted) = tokio::sync::oneshot::channel::<()>();
    let event_loop = async {
        let mut out = events.clone();
        let mut err = Vec::new();
        let argv = [
            "xvirsh",
            "-c",
            uri,
            "event",
            "--loop",
            "--event",
            "lifecycle",
        ];
        let interrupt = Box::pin(async {
            let _ = interrupted.await;
        });
        let status = example_libvirt_cli::run(argv, &mut out, &mut err, interrupt).await;
        (status, String::from_utf8(err).unwrap())
    };
    let steps = async {
        domain_steps(
            uri,
            virsh_uri,
            &name,
            &dir.join(format!("{label}.xml")),
            &events,
        )
        .await;
        interrupt.send(()).unwrap();
    };
    let ((status, err), ()) = tokio::join!(event_loop, steps);
    assert_eq!((status, err.as_str()), (0, ""), "{uri}");
    let out = events.text();
    let seen = events_of(&out, &name);
    let (registration, steps) = seen.split_at(seen.len() - 3);
    assert_eq!(
        steps,
        ["Started Booted", "Stopped Destroyed", "Undefined Removed"],
        "{out}"
    );
    assert!(
        registration
            .iter()
            .all(|e| e == "Defined Added" || e == "Defined Updated"),
        "{out}"
    );
    let received = out.lines().filter(|l| l.starts_with("event '")).count();
    assert!(
        out.ends_with(&format!(
            "event loop interrupted\nevents received: {received}\n\n"
        )),
        "{out}"
    );
}

/// Domain `name` defined from `xml`, listed, started, destroyed and
/// undefined over `uri`, each printed as virsh prints it over `virsh_uri`;
/// returns once `events` shows the last step.
async fn domain_steps(uri: &str, virsh_uri: &str, name: &str, xml: &Path, events: &Shared) {
    // Defined: printed as virsh prints it. The event loop registers while
    // this runs, so the domain is defined again until an event shows the
    // registration live (the first says Added, later ones Updated).
    // A UUID of its own (from its name), so defining it again updates it.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let uuid = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        hash >> 32,
        hash & 0xffff_ffff_ffff
    );
    std::fs::write(
        xml,
        format!(
            "<domain type='test'>\n  <name>{name}</name>\n  <uuid>{uuid}</uuid>\n  \
             <memory unit='KiB'>65536</memory>\n  <vcpu>1</vcpu>\n  <os><type>hvm</type></os>\n\
             </domain>\n"
        ),
    )
    .unwrap();
    let xml_arg = path_arg(xml);
    let defined = format!("Domain '{name}' defined from {xml_arg}\n\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        expect_output(uri, &["define", xml_arg], &defined).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if !events_of(&events.text(), name).is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "no event in 30 s over {uri}");
    }

    // Listed as virsh lists it, inactive.
    let (ok, expected, _) = virsh(virsh_uri, &["list", "--all"]).await;
    assert!(ok);
    assert!(expected.contains(name), "{expected}");
    assert!(
        expected.contains(&format!(" -    {name}   shut off\n")),
        "{expected}"
    );
    expect_output(uri, &["list", "--all"], &expected).await;

    // Started: running, with an id, in `list` and `dominfo`; a second
    // start is refused as virsh refuses it.
    expect_output(
        uri,
        &["start", name],
        &format!("Domain '{name}' started\n\n"),
    )
    .await;
    let (ok, expected, _) = virsh(virsh_uri, &["list"]).await;
    assert!(ok);
    expect_output(uri, &["list"], &expected).await;
    let (ok, expected, _) = virsh(virsh_uri, &["dominfo", name]).await;
    assert!(ok);
    assert!(expected.contains("State:          running\n"), "{expected}");
    let ran = xvirsh(uri, &["dominfo", name]).await;
    assert_eq!(steady(&ran.out), steady(&expected), "dominfo over {uri}");
    let (ok, out, err) = virsh(virsh_uri, &["start", name]).await;
    assert!(!ok);
    let ran = xvirsh(uri, &["start", name]).await;
    assert_eq!((ran.status, ran.out, ran.err), (1, out, err), "{uri}");

    // Destroyed and undefined; then it is gone, in virsh's words.
    expect_output(
        uri,
        &["destroy", name],
        &format!("Domain '{name}' destroyed\n\n"),
    )
    .await;
    expect_output(
        uri,
        &["undefine", name],
        &format!("Domain '{name}' has been undefined\n\n"),
    )
    .await;
    let (ok, out, err) = virsh(virsh_uri, &["dominfo", name]).await;
    assert!(!ok);
    let ran = xvirsh(uri, &["dominfo", name]).await;
    assert_eq!((ran.status, ran.out, ran.err), (1, out, err), "{uri}");

    // The event loop saw the last step.
    wait_for(events, "the Undefined event", |out| {
        events_of(out, name).last().map(String::as_str) == Some("Undefined Removed")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verbs_drive_libvirtd_over_unix_tcp_ssh_and_ext_as_virsh_does() {
    const TEST: &str =
        "libvirt_cli::the_verbs_drive_libvirtd_over_unix_tcp_ssh_and_ext_as_virsh_does";
    let Some(state) = xdrgen_tests::peers(TEST) else {
        return;
    };
    if !libvirt::virsh_available(TEST) || !libvirt::Sshd::available(TEST) {
        return;
    }
    if !xdrgen_tests::require_tools(TEST, &[("socat", &["-V"], "socat")]) {
        return;
    }
    let socket = state.join("libvirt/sock/libvirt-sock");
    let unix = format!("test+unix:///default?socket={}", socket.display());
    // libvirtd frees test:///default's domains when its last connection
    // closes, and every run of the command (and of virsh) is a connection
    // of its own: this one keeps what they define alive between them.
    let keep = Connect::open(&unix, OpenOptions::default()).await.unwrap();

    let dir = xdrgen_tests::scratch_dir("libvirt-cli", "verbs");
    let sshd = libvirt::Sshd::start(&dir);
    // ext: a command whose standard input and output reach the daemon.
    let proxy = dir.join("proxy");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &proxy,
            format!(
                "#!/bin/sh\nexec socat - UNIX-CONNECT:'{}'\n",
                socket.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&proxy, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let transports = [
        ("unix", unix.clone()),
        ("tcp", "test+tcp://127.0.0.1:16509/default".to_owned()),
        ("ssh", sshd.uri("test", "/default", &socket)),
        (
            "ext",
            format!("test+ext:///default?command={}", proxy.display()),
        ),
    ];
    for (label, uri) in &transports {
        verbs(uri, &unix, label, &dir).await;
    }
    keep.close().await.unwrap();
    drop(sshd);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_print_virshs_errors_and_exit_1() {
    const TEST: &str = "libvirt_cli::failures_print_virshs_errors_and_exit_1";
    let Some(state) = xdrgen_tests::peers(TEST) else {
        return;
    };
    if !libvirt::virsh_available(TEST) {
        return;
    }
    let socket = state.join("libvirt/sock/libvirt-sock");
    let unix = format!("test+unix:///default?socket={}", socket.display());

    let ran = xvirsh(&unix, &["dominfo", "no-such-domain"]).await;
    assert_eq!(ran.status, 1);
    assert_eq!(ran.err, "error: failed to get domain 'no-such-domain'\n");

    // The daemon's own message comes second, as virsh prints it.
    let dir = xdrgen_tests::scratch_dir("libvirt-cli", "failures");
    let bad = dir.join("bad.xml");
    std::fs::write(
        &bad,
        "<domain type='test'><name>no memory</name></domain>\n",
    )
    .unwrap();
    let (ok, out, err) = virsh(&unix, &["define", path_arg(&bad)]).await;
    assert!(!ok);
    let ran = xvirsh(&unix, &["define", path_arg(&bad)]).await;
    assert_eq!((ran.status, ran.out, ran.err), (1, out, err));
    let _ = std::fs::remove_dir_all(&dir);

    // A daemon nobody runs: the transport's error, naming the socket.
    let ran = xvirsh("test+unix:///default?socket=/nonexistent/sock", &["list"]).await;
    assert_eq!(ran.status, 1);
    assert!(
        ran.err
            .starts_with("error: failed to connect to the hypervisor\nerror: "),
        "{}",
        ran.err
    );
    assert!(ran.err.contains("/nonexistent/sock"), "{}", ran.err);

    // A libvirt error through the handles keeps its code and domain.
    let connect = Connect::open(&unix, OpenOptions::default()).await.unwrap();
    let e = connect
        .lookup_domain_by_name("no-such-domain")
        .await
        .unwrap_err();
    let Error::Libvirt(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        e.code(),
        Ok(xdrgen_libvirt::constants::ErrorNumber::ErrNoDomain),
        "{e:?}"
    );
    assert_eq!(
        e.domain(),
        Ok(xdrgen_libvirt::constants::ErrorDomain::Test),
        "{e:?}"
    );
    connect.close().await.unwrap();
}

/// A sparse file: 1 MiB of data, an 8 MiB hole, 64 KiB of data and a
/// 4 MiB hole to the end (block-aligned, so the file system keeps the
/// holes where they were made). Returns its bytes.
fn write_sparse(path: &Path) -> Vec<u8> {
    use std::io::{Seek, SeekFrom};
    const MIB: usize = 1 << 20;
    let layout = [
        (true, MIB),
        (false, 8 * MIB),
        (true, 64 << 10),
        (false, 4 * MIB),
    ];
    let mut file = std::fs::File::create(path).unwrap();
    let mut bytes = Vec::new();
    for (i, (data, length)) in layout.into_iter().enumerate() {
        if data {
            let piece = xdrgen_tests::pattern(length, i as u64 + 1);
            file.write_all(&piece).unwrap();
            bytes.extend_from_slice(&piece);
        } else {
            file.seek(SeekFrom::Current(i64::try_from(length).unwrap()))
                .unwrap();
            bytes.resize(bytes.len() + length, 0);
        }
    }
    file.set_len(bytes.len() as u64).unwrap();
    bytes
}

/// Bytes `path` has allocated on disk.
fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// The 1 MiB + 64 KiB of [`write_sparse`]'s data, and half a MiB of slack
/// for the file system: a copy that lost its holes allocates 13 MiB.
const SPARSE_ALLOCATION_MAX: u64 = (1 << 20) + (64 << 10) + (512 << 10);

fn path_arg(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volumes_upload_and_download_byte_identical_and_sparse() {
    let dir = xdrgen_tests::scratch_dir("libvirt-cli", "volumes");
    let volumes = dir.join("pool");
    std::fs::create_dir_all(&volumes).unwrap();
    let volumes = volumes.canonicalize().unwrap();
    let (_server, addr) = libvirt::serve_example(Daemon::new().with_volumes(&volumes)).await;
    let uri = format!("test+tcp://{addr}/default");
    let volume = volumes.join("disk.img");
    let expected = write_sparse(&volume);

    // Download, plain and sparse: the same bytes; holes only in the
    // sparse copy.
    let plain = dir.join("plain.img");
    expect_output(
        &uri,
        &["vol-download", path_arg(&volume), path_arg(&plain)],
        "\n",
    )
    .await;
    assert!(
        std::fs::read(&plain).unwrap() == expected,
        "plain download differs"
    );
    assert!(
        allocated(&plain) > SPARSE_ALLOCATION_MAX,
        "{}",
        allocated(&plain)
    );
    let sparse = dir.join("sparse.img");
    expect_output(
        &uri,
        &[
            "vol-download",
            "--sparse",
            path_arg(&volume),
            path_arg(&sparse),
        ],
        "\n",
    )
    .await;
    assert!(
        std::fs::read(&sparse).unwrap() == expected,
        "sparse download differs"
    );
    assert!(
        allocated(&sparse) < SPARSE_ALLOCATION_MAX,
        "{}",
        allocated(&sparse)
    );

    // Upload over a volume holding other bytes: plain writes every byte,
    // sparse punches the holes.
    for (flag, name) in [(None, "up-plain.img"), (Some("--sparse"), "up-sparse.img")] {
        let target = volumes.join(name);
        std::fs::write(&target, vec![0xa5; 2 << 20]).unwrap();
        let mut args = vec!["vol-upload"];
        args.extend(flag);
        args.extend([path_arg(&target), path_arg(&sparse)]);
        expect_output(&uri, &args, "\n").await;
        assert!(
            std::fs::read(&target).unwrap() == expected,
            "{name} differs"
        );
        if flag.is_some() {
            assert!(
                allocated(&target) < SPARSE_ALLOCATION_MAX,
                "{}",
                allocated(&target)
            );
        }
    }

    // Stock virsh downloads the same bytes.
    if libvirt::virsh_available(
        "libvirt_cli::volumes_upload_and_download_byte_identical_and_sparse",
    ) {
        let theirs = dir.join("virsh.img");
        let (ok, out, err) = virsh(
            &uri,
            &[
                "vol-download",
                "--sparse",
                path_arg(&volume),
                path_arg(&theirs),
            ],
        )
        .await;
        assert!(ok, "{out}{err}");
        // What it prints is what ours printed.
        assert_eq!(out, "\n");
        assert!(
            std::fs::read(&theirs).unwrap() == expected,
            "virsh's download differs"
        );
    }

    // A volume the daemon does not have: virsh's words, exit 1, and no
    // file left behind.
    let missing = dir.join("missing.img");
    let ran = xvirsh(
        &uri,
        &[
            "vol-download",
            path_arg(&volumes.join("nope.img")),
            path_arg(&missing),
        ],
    )
    .await;
    assert_eq!(ran.status, 1);
    assert!(
        ran.err.starts_with(&format!(
            "error: failed to get vol '{}'\n",
            volumes.join("nope.img").display()
        )),
        "{}",
        ran.err
    );
    assert!(!missing.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `LIBVIRT_DEFAULT_URI` is the URI when `-c` is not given.
#[test]
fn the_default_uri_follows_libvirt() {
    let default = example_libvirt_cli::default_uri();
    match std::env::var("LIBVIRT_DEFAULT_URI") {
        Ok(uri) if !uri.is_empty() => assert_eq!(default, uri),
        _ if libvirt::is_root() => assert_eq!(default, "qemu:///system"),
        _ => assert_eq!(default, "qemu:///session"),
    }
}

/// The handles the CLI does not use: networks, storage pools and volumes
/// of libvirtd's test driver, domains by UUID and id, and the generated
/// client under a handle for what the handles do not wrap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_reach_networks_pools_and_volumes() {
    use xdrgen_libvirt::constants::{
        ConnectListAllNetworksFlags, ConnectListAllStoragePoolsFlags, DomainState, NetworkXMLFlags,
        StoragePoolState, StorageVolType, StorageXMLFlags,
    };
    use xdrgen_libvirt::remote::{RemoteStorageVolCreateXmlArgs, RemoteStorageVolDeleteArgs};

    let Some(state) = xdrgen_tests::peers("libvirt_cli::handles_reach_networks_pools_and_volumes")
    else {
        return;
    };
    let socket = state.join("libvirt/sock/libvirt-sock");
    let unix = format!("test+unix:///default?socket={}", socket.display());
    let connect = Connect::open(&unix, OpenOptions::default()).await.unwrap();
    assert_eq!(connect.uri().await.unwrap(), "test:///default");
    assert_eq!(connect.driver_type().await.unwrap(), "TEST");

    // The driver's domain, found three ways.
    let test = connect.lookup_domain_by_name("test").await.unwrap();
    let id = test.id().expect("the driver's domain runs");
    let by_id = connect
        .lookup_domain_by_id(i32::try_from(id).unwrap())
        .await
        .unwrap();
    let by_uuid = connect.lookup_domain_by_uuid(&test.uuid()).await.unwrap();
    assert_eq!((by_id.name(), by_id.uuid()), (test.name(), test.uuid()));
    assert_eq!(by_uuid.id(), Some(id));
    assert_eq!(test.uuid_string(), "6695eb01-f6a4-8304-79aa-97f2502e193f");
    assert_eq!(test.state().await.unwrap().0, Ok(DomainState::Running));
    assert!(test.is_active().await.unwrap());

    // Its network, as `virsh net-info default` shows it.
    let networks = connect
        .list_all_networks(ConnectListAllNetworksFlags::empty())
        .await
        .unwrap();
    assert!(
        networks.iter().any(|n| n.name() == "default"),
        "{networks:?}"
    );
    let network = connect.lookup_network_by_name("default").await.unwrap();
    assert_eq!(
        network.uuid_string(),
        "dd8fe884-6c02-601e-7551-cca97df1c5df"
    );
    assert!(network.is_active().await.unwrap());
    assert!(network.is_persistent().await.unwrap());
    assert!(!network.autostart().await.unwrap());
    assert_eq!(network.bridge_name().await.unwrap(), "virbr0");
    assert!(
        network
            .xml_desc(NetworkXMLFlags::empty())
            .await
            .unwrap()
            .contains("<name>default</name>")
    );
    let same = connect
        .lookup_network_by_uuid(&network.uuid())
        .await
        .unwrap();
    assert_eq!(same.name(), "default");

    // Its pool, as `virsh pool-info default-pool` shows it.
    let pools = connect
        .list_all_storage_pools(ConnectListAllStoragePoolsFlags::empty())
        .await
        .unwrap();
    assert!(
        pools.iter().any(|p| p.name() == "default-pool"),
        "{pools:?}"
    );
    let pool = connect
        .lookup_storage_pool_by_name("default-pool")
        .await
        .unwrap();
    let info = pool.info().await.unwrap();
    assert_eq!(info.state, Ok(StoragePoolState::Running));
    assert_eq!(info.capacity, 100 << 30);
    assert!(pool.is_active().await.unwrap());
    let same = connect
        .lookup_storage_pool_by_uuid(&pool.uuid())
        .await
        .unwrap();
    assert_eq!(same.name(), "default-pool");

    // A volume made through the generated client, found through the
    // handles by name, key and path, then deleted.
    let name = format!("xvirsh-{}.img", std::process::id());
    let xml =
        format!("<volume><name>{name}</name><capacity unit='bytes'>1048576</capacity></volume>");
    let args = RemoteStorageVolCreateXmlArgs {
        pool: pool.raw().clone(),
        xml: xml.as_str().into(),
        flags: 0,
    };
    let created = connect
        .client()
        .storage_vol_create_xml(&args)
        .await
        .unwrap()
        .vol;
    let vol = pool.lookup_volume_by_name(&name).await.unwrap();
    assert_eq!(vol.pool_name(), "default-pool");
    assert_eq!(vol.raw(), &created);
    let info = vol.info().await.unwrap();
    assert_eq!(info.kind, Ok(StorageVolType::File));
    assert_eq!(info.capacity, 1 << 20);
    let xml = vol.xml_desc(StorageXMLFlags::empty()).await.unwrap();
    assert!(xml.contains(&format!("<name>{name}</name>")), "{xml}");
    let path = vol.path().await.unwrap();
    assert_eq!(path, format!("/default-pool/{name}"));
    let by_key = connect.lookup_storage_vol_by_key(&vol.key()).await.unwrap();
    let by_path = connect.lookup_storage_vol_by_path(&path).await.unwrap();
    assert_eq!(by_key.raw(), by_path.raw());
    assert!(
        pool.list_all_volumes()
            .await
            .unwrap()
            .iter()
            .any(|v| v.name() == name.as_str())
    );
    let args = RemoteStorageVolDeleteArgs {
        vol: vol.raw().clone(),
        flags: 0,
    };
    connect.client().storage_vol_delete(&args).await.unwrap();
    let e = pool.lookup_volume_by_name(&name).await.unwrap_err();
    assert!(e.libvirt().is_some(), "{e:?}");

    // A closed connection: its handles fail with the runtime's error.
    connect.close().await.unwrap();
    let e = test.info().await.unwrap_err();
    assert!(matches!(e, Error::Call(_)), "{e:?}");
}
