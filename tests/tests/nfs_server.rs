//! The example NFSv3 + MOUNT server (`examples/nfs-server`): first through
//! the generated clients (the protocol's corners, no peers needed), then
//! with stock clients: libnfs's `nfs-ls`, `nfs-cp` and `nfs-cat`, which
//! find the server through rpcbind, `showmount -e`, and the Linux kernel
//! client where this machine can mount NFS.
//!
//! The server listens on 127.0.0.1, ::1 and a Unix socket, and registers
//! each under its netid: stock `rpcinfo -T` reaches it over every one.
//!
//! Debian 12's libnfs (4.0) has no URL option for the NFS or MOUNT port: it
//! asks rpcbind (port mapper GETPORT). When nfs-ganesha (the `ganesha` peer)
//! holds NFS v3 and MOUNT v3 there, the server takes the mappings over for
//! the test and puts them back when it stops; the stock-client tests take
//! turns through `RPCBIND`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use example_nfs_server::{Config, NfsServer};
use xdrgen_protocols::mount3::{Mountres3, mount_program::mount_v3};
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::nfs3::*;
use xdrgen_protocols::registration::{self, Protocol, Rpcbind};
use xdrgen_runtime::XdrEncode;
use xdrgen_runtime::rpc::{ClientConfig, Endpoint};
use xdrgen_tests::{pattern, scratch_dir};

/// rpcbind's NFS and MOUNT mappings are one per host: tests that change
/// them take turns.
static RPCBIND: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Calls as root with AUTH_SYS, as libnfs run by root does.
fn config() -> ClientConfig {
    xdrgen_tests::root_auth_sys("xdrgen-test")
}

/// A server of `dir` not registered anywhere, its NFS client and the
/// export's root handle.
async fn serve(dir: &Path) -> (NfsServer, nfs_v3::Client, NfsFh3) {
    let server = NfsServer::start(Config {
        rpcbind: None,
        ..Config::new(dir)
    })
    .await
    .unwrap();
    let endpoint = Endpoint::Tcp(server.tcp_addr());
    let mount = mount_v3::Client::connect(endpoint.clone(), config())
        .await
        .unwrap();
    let Mountres3::Mnt3Ok(ok) = mount.mountproc3_mnt(&"/export".into()).await.unwrap() else {
        panic!("MNT /export failed");
    };
    let nfs = nfs_v3::Client::connect(endpoint, config()).await.unwrap();
    (server, nfs, NfsFh3 { data: ok.fhandle })
}

fn status<D: Into<Nfsstat3>>(discriminant: D) -> Nfsstat3 {
    discriminant.into()
}

async fn lookup(nfs: &nfs_v3::Client, dir: &NfsFh3, name: &str) -> Result<Lookup3resok, Nfsstat3> {
    let res = nfs
        .nfsproc3_lookup(&Lookup3args {
            what: Diropargs3 {
                dir: dir.clone(),
                name: name.into(),
            },
        })
        .await
        .unwrap();
    match res {
        Lookup3res::Nfs3Ok(ok) => Ok(ok),
        Lookup3res::Default { discriminant, .. } => Err(status(discriminant)),
    }
}

async fn getattr(nfs: &nfs_v3::Client, object: &NfsFh3) -> Result<Fattr3, Nfsstat3> {
    match nfs
        .nfsproc3_getattr(&Getattr3args {
            object: object.clone(),
        })
        .await
        .unwrap()
    {
        Getattr3res::Nfs3Ok(ok) => Ok(ok.obj_attributes),
        Getattr3res::Default(d) => Err(status(d)),
    }
}

fn unset_attributes() -> Sattr3 {
    Sattr3 {
        mode: SetMode3::Default(SetMode3Default::new(false).unwrap()),
        uid: SetUid3::Default(SetUid3Default::new(false).unwrap()),
        gid: SetGid3::Default(SetGid3Default::new(false).unwrap()),
        size: SetSize3::Default(SetSize3Default::new(false).unwrap()),
        atime: SetAtime::Default(SetAtimeDefault::new(TimeHow::DontChange).unwrap()),
        mtime: SetMtime::Default(SetMtimeDefault::new(TimeHow::DontChange).unwrap()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookups_stay_inside_the_export() {
    let dir = scratch_dir("nfs", "confined");
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::os::unix::fs::symlink("/", dir.join("to-root")).unwrap();
    let (server, nfs, root) = serve(&dir).await;
    assert!(root.data.len() <= 64, "{} bytes", root.data.len());

    // `..` of the root is the root; `..` of a subdirectory is the root.
    assert_eq!(lookup(&nfs, &root, "..").await.unwrap().object, root);
    let sub = lookup(&nfs, &root, "sub").await.unwrap().object;
    assert_eq!(lookup(&nfs, &sub, "..").await.unwrap().object, root);
    assert_eq!(lookup(&nfs, &sub, "..").await.unwrap().object, root);

    // A name is one component.
    assert_eq!(
        lookup(&nfs, &root, "sub/..").await.unwrap_err(),
        Nfsstat3::Nfs3errInval
    );
    assert_eq!(
        lookup(&nfs, &root, "../etc").await.unwrap_err(),
        Nfsstat3::Nfs3errInval
    );
    assert_eq!(
        lookup(&nfs, &root, "missing").await.unwrap_err(),
        Nfsstat3::Nfs3errNoent
    );

    // A symbolic link is served as a link: never followed by the server.
    let link = lookup(&nfs, &root, "to-root").await.unwrap();
    let PostOpAttr::True(attrs) = link.obj_attributes else {
        panic!("no attributes")
    };
    assert_eq!(attrs.r#type, Ftype3::Nf3lnk);
    assert_eq!(
        lookup(&nfs, &link.object, "etc").await.unwrap_err(),
        Nfsstat3::Nfs3errNotdir
    );
    let read = nfs
        .nfsproc3_read(&Read3args {
            file: link.object.clone(),
            offset: 0,
            count: 100,
        })
        .await
        .unwrap();
    assert!(
        matches!(read, Read3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errInval)
    );
    let Readlink3res::Nfs3Ok(target) = nfs
        .nfsproc3_readlink(&Readlink3args {
            symlink: link.object,
        })
        .await
        .unwrap()
    else {
        panic!("READLINK failed")
    };
    assert_eq!(target.data, "/");

    // MOUNT: the export and directories below it, nothing else.
    let mount = mount_v3::Client::connect(Endpoint::Tcp(server.tcp_addr()), config())
        .await
        .unwrap();
    let mnt = |path: &'static str| {
        let mount = &mount;
        async move { mount.mountproc3_mnt(&path.into()).await.unwrap() }
    };
    let Mountres3::Mnt3Ok(ok) = mnt("/export/sub/").await else {
        panic!("MNT of a subdirectory failed")
    };
    assert_eq!(ok.fhandle, sub.data);
    for (path, expected) in [
        (
            "/export/..",
            xdrgen_protocols::mount3::Mountstat3::Mnt3errInval,
        ),
        (
            "/export/to-root",
            xdrgen_protocols::mount3::Mountstat3::Mnt3errNotdir,
        ),
        ("/etc", xdrgen_protocols::mount3::Mountstat3::Mnt3errNoent),
        (
            "/exportx",
            xdrgen_protocols::mount3::Mountstat3::Mnt3errNoent,
        ),
    ] {
        match mnt(path).await {
            Mountres3::Default(d) => assert_eq!(d.get(), expected, "{path}"),
            Mountres3::Mnt3Ok(_) => panic!("MNT {path} succeeded"),
        }
    }
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_and_stale_handles_are_refused() {
    let dir = scratch_dir("nfs", "handles");
    std::fs::write(dir.join("f"), b"x").unwrap();
    let (server, nfs, root) = serve(&dir).await;
    let file = lookup(&nfs, &root, "f").await.unwrap().object;
    assert!(getattr(&nfs, &file).await.is_ok());

    for data in [vec![], vec![0; 64], root.data[..10].to_vec()] {
        assert_eq!(
            getattr(&nfs, &NfsFh3 { data }).await.unwrap_err(),
            Nfsstat3::Nfs3errBadhandle
        );
    }
    let res = nfs
        .nfsproc3_remove(&Remove3args {
            object: Diropargs3 {
                dir: root.clone(),
                name: "f".into(),
            },
        })
        .await
        .unwrap();
    assert!(matches!(res, Remove3res::Nfs3Ok(_)), "{res:?}");
    assert_eq!(
        getattr(&nfs, &file).await.unwrap_err(),
        Nfsstat3::Nfs3errStale
    );
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handles_survive_a_restart_and_renames_on_the_server() {
    let dir = scratch_dir("nfs", "restart");
    std::fs::create_dir_all(dir.join("a/b")).unwrap();
    std::fs::write(dir.join("a/b/f"), b"data").unwrap();
    let (server, nfs, root) = serve(&dir).await;
    let a = lookup(&nfs, &root, "a").await.unwrap().object;
    let b = lookup(&nfs, &a, "b").await.unwrap().object;
    let f = lookup(&nfs, &b, "f").await.unwrap().object;
    server.stop().await.unwrap();

    // A new server process knows none of them, and a rename happened.
    std::fs::rename(dir.join("a/b"), dir.join("moved")).unwrap();
    let (server, nfs, new_root) = serve(&dir).await;
    assert_eq!(new_root, root);
    let attrs = getattr(&nfs, &f).await.unwrap();
    assert_eq!((attrs.r#type, attrs.size), (Ftype3::Nf3reg, 4));
    assert_eq!(lookup(&nfs, &b, "f").await.unwrap().object, f);
    assert_eq!(lookup(&nfs, &b, "..").await.unwrap().object, root);
    assert!(getattr(&nfs, &a).await.is_ok());
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directories_are_paged_within_the_clients_counts() {
    let dir = scratch_dir("nfs", "paging");
    let names: BTreeSet<String> = (0..1000).map(|i| format!("entry-{i:04}")).collect();
    for name in &names {
        std::fs::write(dir.join(name), name.as_bytes()).unwrap();
    }
    let (server, nfs, root) = serve(&dir).await;

    // READDIRPLUS: every reply within maxcount, and all names once.
    let maxcount = 4096;
    let (mut cookie, mut verifier, mut seen, mut replies) = (0, [0; 8], Vec::new(), 0);
    loop {
        let res = nfs
            .nfsproc3_readdirplus(&Readdirplus3args {
                dir: root.clone(),
                cookie,
                cookieverf: verifier,
                dircount: 1024,
                maxcount,
            })
            .await
            .unwrap();
        assert!(
            res.encoded_len() <= maxcount as usize,
            "{}",
            res.encoded_len()
        );
        let Readdirplus3res::Nfs3Ok(ok) = res else {
            panic!("READDIRPLUS failed: {res:?}")
        };
        replies += 1;
        verifier = ok.cookieverf;
        let mut entry = ok.reply.entries.as_ref();
        while let Some(e) = entry {
            seen.push(e.name.to_string_lossy().into_owned());
            assert!(matches!(e.name_handle, PostOpFh3::True(_)));
            cookie = e.cookie;
            entry = e.nextentry.as_deref();
        }
        if ok.reply.eof {
            break;
        }
    }
    assert!(replies > 10, "{replies} replies");
    assert_eq!(seen.len(), names.len());
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), names);

    // READDIR the same way, within count.
    let (mut cookie, mut seen) = (0, 0);
    loop {
        let res = nfs
            .nfsproc3_readdir(&Readdir3args {
                dir: root.clone(),
                cookie,
                cookieverf: verifier,
                count: 1024,
            })
            .await
            .unwrap();
        assert!(res.encoded_len() <= 1024);
        let Readdir3res::Nfs3Ok(ok) = res else {
            panic!("READDIR failed")
        };
        let mut entry = ok.reply.entries.as_ref();
        while let Some(e) = entry {
            seen += 1;
            cookie = e.cookie;
            entry = e.nextentry.as_deref();
        }
        if ok.reply.eof {
            break;
        }
    }
    assert_eq!(seen, names.len());

    // Too small for one entry; an old verifier after the directory changed.
    let res = nfs
        .nfsproc3_readdir(&Readdir3args {
            dir: root.clone(),
            cookie: 0,
            cookieverf: [0; 8],
            count: 100,
        })
        .await
        .unwrap();
    assert!(
        matches!(&res, Readdir3res::Default { discriminant, .. } if status(*discriminant) == Nfsstat3::Nfs3errToosmall),
        "{res:?}"
    );
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(dir.join("new"), b"").unwrap();
    let res = nfs
        .nfsproc3_readdir(&Readdir3args {
            dir: root.clone(),
            cookie: 5,
            cookieverf: verifier,
            count: 4096,
        })
        .await
        .unwrap();
    assert!(
        matches!(&res, Readdir3res::Default { discriminant, .. } if status(*discriminant) == Nfsstat3::Nfs3errBadCookie),
        "{res:?}"
    );
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unstable_writes_are_committed_under_the_servers_verifier() {
    let dir = scratch_dir("nfs", "writes");
    let (server, nfs, root) = serve(&dir).await;
    let created = nfs
        .nfsproc3_create(&Create3args {
            r#where: Diropargs3 {
                dir: root.clone(),
                name: "data".into(),
            },
            how: Createhow3::Guarded(unset_attributes()),
        })
        .await
        .unwrap();
    let Create3res::Nfs3Ok(Create3resok {
        obj: PostOpFh3::True(file),
        ..
    }) = created
    else {
        panic!("CREATE failed: {created:?}")
    };
    let data = pattern(300_000, 7);
    let mut verifiers = BTreeSet::new();
    for (i, chunk) in data.chunks(65536).enumerate() {
        let res = nfs
            .nfsproc3_write(&Write3args {
                file: file.clone(),
                offset: (i * 65536) as u64,
                count: u32::try_from(chunk.len()).unwrap(),
                stable: StableHow::Unstable,
                data: chunk.to_vec(),
            })
            .await
            .unwrap();
        let Write3res::Nfs3Ok(ok) = res else {
            panic!("WRITE failed")
        };
        assert_eq!(ok.count as usize, chunk.len());
        assert_eq!(ok.committed, StableHow::Unstable);
        verifiers.insert(ok.verf);
    }
    let Commit3res::Nfs3Ok(commit) = nfs
        .nfsproc3_commit(&Commit3args {
            file: file.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .unwrap()
    else {
        panic!("COMMIT failed")
    };
    assert_eq!(verifiers.into_iter().collect::<Vec<_>>(), vec![commit.verf]);
    assert_eq!(std::fs::read(dir.join("data")).unwrap(), data);

    let res = nfs
        .nfsproc3_write(&Write3args {
            file: file.clone(),
            offset: 0,
            count: 4,
            stable: StableHow::FileSync,
            data: b"head".to_vec(),
        })
        .await
        .unwrap();
    assert!(matches!(res, Write3res::Nfs3Ok(ref ok) if ok.committed == StableHow::FileSync));
    // More data claimed than sent.
    let res = nfs
        .nfsproc3_write(&Write3args {
            file: file.clone(),
            offset: 0,
            count: 10,
            stable: StableHow::Unstable,
            data: b"short".to_vec(),
        })
        .await
        .unwrap();
    assert!(
        matches!(res, Write3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errInval)
    );

    // READ back across the end: count and eof.
    let Read3res::Nfs3Ok(read) = nfs
        .nfsproc3_read(&Read3args {
            file: file.clone(),
            offset: 299_990,
            count: 100,
        })
        .await
        .unwrap()
    else {
        panic!("READ failed")
    };
    assert_eq!((read.count, read.eof), (10, true));
    assert_eq!(read.data, data[299_990..]);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_system_errors_are_nfs_statuses() {
    let dir = scratch_dir("nfs", "errors");
    std::fs::create_dir_all(dir.join("full/inner")).unwrap();
    std::fs::write(dir.join("file"), b"x").unwrap();
    let (server, nfs, root) = serve(&dir).await;
    let place = |name: &str| Diropargs3 {
        dir: root.clone(),
        name: name.into(),
    };
    let rmdir = nfs
        .nfsproc3_rmdir(&Rmdir3args {
            object: place("full"),
        })
        .await
        .unwrap();
    assert!(
        matches!(rmdir, Rmdir3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errNotempty)
    );
    let rmdir = nfs
        .nfsproc3_rmdir(&Rmdir3args {
            object: place("file"),
        })
        .await
        .unwrap();
    assert!(
        matches!(rmdir, Rmdir3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errNotdir)
    );
    let remove = nfs
        .nfsproc3_remove(&Remove3args {
            object: place("missing"),
        })
        .await
        .unwrap();
    assert!(
        matches!(remove, Remove3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errNoent)
    );
    let create = nfs
        .nfsproc3_create(&Create3args {
            r#where: place("file"),
            how: Createhow3::Guarded(unset_attributes()),
        })
        .await
        .unwrap();
    assert!(
        matches!(create, Create3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errExist)
    );
    let mkdir = nfs
        .nfsproc3_mkdir(&Mkdir3args {
            r#where: place(&"n".repeat(300)),
            attributes: unset_attributes(),
        })
        .await
        .unwrap();
    assert!(
        matches!(mkdir, Mkdir3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errNametoolong)
    );

    // Without AUTH_SYS the caller is nobody, who may not write here.
    let anonymous =
        nfs_v3::Client::connect(Endpoint::Tcp(server.tcp_addr()), ClientConfig::default())
            .await
            .unwrap();
    let create = anonymous
        .nfsproc3_create(&Create3args {
            r#where: place("anonymous"),
            how: Createhow3::Unchecked(unset_attributes()),
        })
        .await
        .unwrap();
    assert!(
        matches!(create, Create3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errAcces)
    );

    // A renamed directory keeps its handle and the handles below it.
    let full = lookup(&nfs, &root, "full").await.unwrap().object;
    let inner = lookup(&nfs, &full, "inner").await.unwrap().object;
    let rename = nfs
        .nfsproc3_rename(&Rename3args {
            from: place("full"),
            to: place("moved"),
        })
        .await
        .unwrap();
    assert!(matches!(rename, Rename3res::Nfs3Ok(_)), "{rename:?}");
    assert_eq!(getattr(&nfs, &full).await.unwrap().r#type, Ftype3::Nf3dir);
    assert_eq!(lookup(&nfs, &inner, "..").await.unwrap().object, full);
    assert!(dir.join("moved/inner").is_dir());

    // SETATTR: size and mode, and a guard that does not match.
    let file = lookup(&nfs, &root, "file").await.unwrap().object;
    let mut attrs = unset_attributes();
    attrs.size = SetSize3::True(1000);
    attrs.mode = SetMode3::True(0o600);
    let res = nfs
        .nfsproc3_setattr(&Setattr3args {
            object: file.clone(),
            new_attributes: attrs.clone(),
            guard: Sattrguard3::True(Nfstime3 {
                seconds: 1,
                nseconds: 0,
            }),
        })
        .await
        .unwrap();
    assert!(
        matches!(res, Setattr3res::Default { discriminant, .. } if status(discriminant) == Nfsstat3::Nfs3errNotSync)
    );
    let res = nfs
        .nfsproc3_setattr(&Setattr3args {
            object: file.clone(),
            new_attributes: attrs,
            guard: Sattrguard3::False,
        })
        .await
        .unwrap();
    assert!(matches!(res, Setattr3res::Nfs3Ok(_)), "{res:?}");
    let now = getattr(&nfs, &file).await.unwrap();
    assert_eq!((now.size, now.mode), (1000, 0o600));
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The stock tools this needs, or a loud skip.
fn stock_tools(test: &str) -> bool {
    xdrgen_testenv::require_tools(
        test,
        &[
            ("nfs-ls", &[], "libnfs-utils"),
            ("nfs-cp", &[], "libnfs-utils"),
            ("nfs-cat", &[], "libnfs-utils"),
            ("showmount", &[], "nfs-common"),
        ],
    )
}

/// rpcbind's version 4 entries for NFS v3 and MOUNT v3: (program, netid,
/// universal address), sorted.
async fn entries(rpcbind: &Rpcbind) -> Vec<(u32, String, String)> {
    let mut out: Vec<_> = registration::dump_entries(rpcbind)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.r_prog, 100_003 | 100_005) && e.r_vers == 3)
        .map(|e| {
            (
                e.r_prog,
                e.r_netid.to_string_lossy().into_owned(),
                e.r_addr.to_string_lossy().into_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

/// The NFS v3 and MOUNT v3 ports rpcbind has now, per protocol.
async fn mappings(rpcbind: &Rpcbind) -> Vec<Option<u16>> {
    let mut out = Vec::new();
    for (program, version) in [(100_003, 3), (100_005, 3)] {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            out.push(
                registration::get_port(rpcbind, program, version, protocol)
                    .await
                    .unwrap(),
            );
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_clients_list_and_copy_both_ways() {
    const TEST: &str = "nfs_server::stock_clients_list_and_copy_both_ways";
    let Some(_) = xdrgen_tests::peers(TEST) else {
        return;
    };
    if !stock_tools(TEST) {
        return;
    }
    let _turn = RPCBIND.lock().await;
    let dir = scratch_dir("nfs", "stock");
    std::fs::create_dir(dir.join("many")).unwrap();
    let names: BTreeSet<String> = (0..1200).map(|i| format!("file-{i:05}.txt")).collect();
    for name in &names {
        std::fs::write(dir.join("many").join(name), name.as_bytes()).unwrap();
    }
    let big = pattern((16 << 20) + 12345, 42);
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    std::fs::write(dir.join("small.txt"), b"hello from xdrgen\n").unwrap();

    let rpcbind = Rpcbind::local();
    let before = mappings(&rpcbind).await;
    let entries_before = entries(&rpcbind).await;
    let socket = dir.with_extension("sock");
    let server = NfsServer::start(Config {
        take_over: true,
        unix_socket: Some(socket.clone()),
        ..Config::new(&dir)
    })
    .await
    .unwrap();
    let (tcp, udp) = (server.tcp_addr().port(), server.udp_addr().port());
    assert_eq!(
        mappings(&rpcbind).await,
        vec![Some(tcp), Some(udp), Some(tcp), Some(udp)]
    );
    // Every transport it listens on is registered, under its netid: IPv4,
    // IPv6 where this machine has ::1, and the Unix socket.
    let netids: Vec<&str> = server.endpoints().iter().map(Endpoint::netid).collect();
    let ipv6 = example_nfs_server::default_addresses().len() > 1;
    let expected_netids: &[&str] = if ipv6 {
        &["tcp", "udp", "tcp6", "udp6", "local"]
    } else {
        &["tcp", "udp", "local"]
    };
    assert_eq!(netids, expected_netids);
    let mut expected = Vec::new();
    for program in [100_003, 100_005] {
        for endpoint in server.endpoints() {
            let address = endpoint.universal_address().unwrap();
            expected.push((program, endpoint.netid().to_string(), address));
        }
    }
    expected.sort();
    assert_eq!(entries(&rpcbind).await, expected);

    // Stock rpcinfo finds it through rpcbind over every netid (GETADDR
    // asked over that transport) and calls NULL there.
    for netid in expected_netids {
        let host = match *netid {
            "tcp6" | "udp6" => "::1",
            "local" => "localhost",
            _ => "127.0.0.1",
        };
        for program in ["nfs", "mountd"] {
            let (ok, out, err) = run("rpcinfo", &["-T", netid, host, program, "3"]);
            assert!(
                ok && out.contains("ready and waiting"),
                "rpcinfo -T {netid} {host} {program} 3: {out}{err}"
            );
        }
    }
    for (flag, program) in [
        ("-t", "nfs"),
        ("-u", "nfs"),
        ("-t", "mountd"),
        ("-u", "mountd"),
    ] {
        let (ok, out, err) = run("rpcinfo", &[flag, "127.0.0.1", program, "3"]);
        assert!(
            ok && out.contains("ready and waiting"),
            "rpcinfo {flag} {program}: {out}{err}"
        );
    }
    let (ok, out, err) = run("showmount", &["-e", "127.0.0.1"]);
    assert!(ok, "{out}{err}");
    assert!(out.lines().any(|l| l.starts_with("/export ")), "{out}");

    // A directory larger than one READDIRPLUS reply, listed completely.
    let (ok, out, err) = run("nfs-ls", &["nfs://127.0.0.1/export/many"]);
    assert!(ok, "{out}{err}");
    let listed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|n| *n != "." && *n != "..")
        .collect();
    assert_eq!(listed.len(), names.len(), "{err}");
    assert_eq!(
        listed
            .iter()
            .map(ToString::to_string)
            .collect::<BTreeSet<_>>(),
        names
    );

    let (ok, out, err) = run("nfs-cat", &["nfs://127.0.0.1/export/small.txt"]);
    assert!(ok, "{err}");
    assert_eq!(out, "hello from xdrgen\n");

    // 16 MiB and a bit, from the server and back, byte for byte.
    let local = dir.with_extension("download");
    let (ok, out, err) = run(
        "nfs-cp",
        &["nfs://127.0.0.1/export/big.bin", local.to_str().unwrap()],
    );
    assert!(ok, "{out}{err}");
    assert!(std::fs::read(&local).unwrap() == big, "download differs");
    let (ok, out, err) = run(
        "nfs-cp",
        &[
            local.to_str().unwrap(),
            "nfs://127.0.0.1/export/uploaded.bin",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(
        std::fs::read(dir.join("uploaded.bin")).unwrap() == big,
        "upload differs"
    );

    server.stop().await.unwrap();
    assert_eq!(
        mappings(&rpcbind).await,
        before,
        "displaced mappings restored"
    );
    assert_eq!(
        entries(&rpcbind).await,
        entries_before,
        "displaced netids restored"
    );
    assert!(!socket.exists(), "the Unix socket is removed");
    std::fs::remove_file(&local).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Set to 1 where the kernel cannot mount NFS at all (no `nfs` file
/// system and no modules, as in a Firecracker VM's minimal kernel): the
/// kernel-client test then says so instead of failing under
/// `XDRGEN_REQUIRE_PEERS`.
const NO_KERNEL_NFS: &str = "XDRGEN_NO_KERNEL_NFS";

/// Why the kernel client cannot mount here, if it cannot.
fn kernel_nfs_missing() -> Option<String> {
    let filesystems = std::fs::read_to_string("/proc/filesystems").unwrap_or_default();
    if !filesystems
        .lines()
        .any(|l| l.split_whitespace().last() == Some("nfs"))
    {
        let modules = if Path::new("/proc/modules").exists() {
            "and `modprobe nfs` did not add it"
        } else {
            "and the kernel cannot load modules (no /proc/modules)"
        };
        return Some(format!(
            "the kernel has no nfs file system in /proc/filesystems {modules}"
        ));
    }
    if !xdrgen_testenv::has_tool("mount.nfs", &["-V"]) {
        return Some("mount.nfs is missing (Debian nfs-common)".to_string());
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kernel_client_mounts_and_copies() {
    const TEST: &str = "nfs_server::the_kernel_client_mounts_and_copies";
    if Path::new("/proc/modules").exists() {
        // Loads the module where it is one; the check below says if it worked.
        let _ = Command::new("modprobe").arg("nfs").status();
    }
    if let Some(why) = kernel_nfs_missing() {
        if std::env::var_os(NO_KERNEL_NFS).is_some_and(|v| v == "1") {
            // The machine said it has no kernel NFS client: not a missing
            // peer, so not a failure under XDRGEN_REQUIRE_PEERS.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! NOT RUN {TEST}: {why} ({NO_KERNEL_NFS}=1)\n"
            );
        } else {
            xdrgen_testenv::skip(
                TEST,
                &format!("{why}; set {NO_KERNEL_NFS}=1 on machines that cannot have it"),
            );
        }
        return;
    }
    let dir = scratch_dir("nfs", "kernel");
    let data = pattern(3 << 20, 9);
    std::fs::write(dir.join("from-server.bin"), &data).unwrap();
    let server = NfsServer::start(Config {
        rpcbind: None,
        ..Config::new(&dir)
    })
    .await
    .unwrap();
    let target = dir.with_extension("mnt");
    std::fs::create_dir_all(&target).unwrap();
    let port = server.tcp_addr().port();
    let options = format!("vers=3,proto=tcp,port={port},mountport={port},mountproto=tcp,nolock");
    let target_str = target.to_str().unwrap().to_string();
    let mounted = tokio::task::spawn_blocking(move || {
        run(
            "mount",
            &[
                "-t",
                "nfs",
                "-o",
                &options,
                "127.0.0.1:/export",
                &target_str,
            ],
        )
    })
    .await
    .unwrap();
    if !mounted.0 {
        // Not allowed here (no CAP_SYS_ADMIN, a user namespace, ...).
        xdrgen_testenv::skip(TEST, &format!("mount failed: {}", mounted.2.trim()));
        server.stop().await.unwrap();
        return;
    }
    let checked = {
        let target = target.clone();
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            let read = std::fs::read(target.join("from-server.bin"))?;
            std::fs::write(target.join("from-client.bin"), &data)?;
            let names = std::fs::read_dir(&target)?.count();
            Ok::<_, std::io::Error>((read, names))
        })
        .await
        .unwrap()
    };
    let target_str = target.to_str().unwrap().to_string();
    let unmounted = tokio::task::spawn_blocking(move || run("umount", &[&target_str]))
        .await
        .unwrap();
    let (read, names) = checked.unwrap();
    assert!(unmounted.0, "{}", unmounted.2);
    assert!(read == data);
    assert_eq!(names, 2);
    assert!(std::fs::read(dir.join("from-client.bin")).unwrap() == data);
    server.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
