//! The generated NFSv3, MOUNT, NLM v4 and NSM clients against nfs-ganesha
//! (the `ganesha` peer, `../shared/peers/ganesha`, FSAL_VFS over a real
//! directory): mount, READDIRPLUS over a directory larger than one reply,
//! read, unstable writes and COMMIT, each checked byte for byte against
//! the export directory on disk; NLM locks with a second client seeing
//! the conflict, and the NSM reboot notification that frees a client's
//! locks.
//!
//! The peer's ports and export directory come from the configuration its
//! start script writes (`$XDRGEN_PEERS_STATE/ganesha/ganesha.conf`), not
//! from rpcbind, whose NFS mappings the example server's tests borrow.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use xdrgen_protocols::mount3::{Mountres3, mount_program::mount_v3};
use xdrgen_protocols::nfs3::nfs_program::nfs_v3;
use xdrgen_protocols::nfs3::*;
use xdrgen_protocols::nlm4::nlm_prog::nlm4_vers;
use xdrgen_protocols::nlm4::{
    Nlm4Lock, Nlm4Lockargs, Nlm4Stats, Nlm4Testargs, Nlm4Testrply, Nlm4Unlockargs,
};
use xdrgen_protocols::nsm::{StatChge, sm_prog::sm_vers};
use xdrgen_protocols::registration::{self, Protocol, Rpcbind};
use xdrgen_runtime::rpc::{ClientConfig, Endpoint};
use xdrgen_tests::pattern;

/// What the ganesha peer's configuration says.
struct Ganesha {
    nfs: u16,
    mount: u16,
    nlm: Option<u16>,
    /// The exported directory on disk (FSAL_VFS); `None` with FSAL_MEM,
    /// which keeps no file data.
    directory: Option<PathBuf>,
}

fn setting<'a>(conf: &'a str, key: &str) -> Option<&'a str> {
    conf.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_end_matches(';').trim().trim_matches('"'))
    })
}

fn ganesha(test: &str) -> Option<Ganesha> {
    let state = xdrgen_tests::peers(test)?;
    let conf = std::fs::read_to_string(state.join("ganesha/ganesha.conf")).ok();
    let conf = xdrgen_testenv::require(
        test,
        "the ganesha peer is not started (GANESHA_NLM=1 ../shared/peers/ganesha/start.sh STATE)",
        conf,
    )?;
    let port = |key: &str| setting(&conf, key).and_then(|p| p.parse::<u16>().ok());
    let vfs = conf.contains("Name = VFS;");
    Some(Ganesha {
        nfs: port("NFS_Port").unwrap_or(2049),
        mount: port("MNT_Port").unwrap_or(20048),
        nlm: (setting(&conf, "Enable_NLM") == Some("true"))
            .then(|| port("NLM_Port").unwrap_or(4045)),
        directory: setting(&conf, "Path").filter(|_| vfs).map(PathBuf::from),
    })
}

fn local(port: u16) -> Endpoint {
    Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
}

/// Root over AUTH_SYS: ganesha's export squashes nobody
/// (`Squash = No_Root_Squash`), and refuses AUTH_NONE.
fn config() -> ClientConfig {
    xdrgen_tests::root_auth_sys("localhost")
}

async fn mount(peer: &Ganesha) -> (nfs_v3::Client, NfsFh3) {
    let mount = mount_v3::Client::connect(local(peer.mount), config())
        .await
        .unwrap();
    let res = mount.mountproc3_mnt(&"/export".into()).await.unwrap();
    let Mountres3::Mnt3Ok(ok) = res else {
        panic!("ganesha refused MNT /export: {res:?}")
    };
    let nfs = nfs_v3::Client::connect(local(peer.nfs), config())
        .await
        .unwrap();
    (nfs, NfsFh3 { data: ok.fhandle })
}

fn unset_attributes() -> Sattr3 {
    Sattr3 {
        mode: SetMode3::True(0o644),
        uid: SetUid3::Default(SetUid3Default::new(false).unwrap()),
        gid: SetGid3::Default(SetGid3Default::new(false).unwrap()),
        size: SetSize3::Default(SetSize3Default::new(false).unwrap()),
        atime: SetAtime::Default(SetAtimeDefault::new(TimeHow::DontChange).unwrap()),
        mtime: SetMtime::Default(SetMtimeDefault::new(TimeHow::DontChange).unwrap()),
    }
}

async fn create(nfs: &nfs_v3::Client, dir: &NfsFh3, name: &str) -> NfsFh3 {
    let res = nfs
        .nfsproc3_create(&Create3args {
            r#where: Diropargs3 {
                dir: dir.clone(),
                name: name.into(),
            },
            how: Createhow3::Unchecked(unset_attributes()),
        })
        .await
        .unwrap();
    match res {
        Create3res::Nfs3Ok(Create3resok {
            obj: PostOpFh3::True(fh),
            ..
        }) => fh,
        other => panic!("CREATE {name}: {other:?}"),
    }
}

async fn lookup(nfs: &nfs_v3::Client, dir: &NfsFh3, name: &str) -> NfsFh3 {
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
        Lookup3res::Nfs3Ok(ok) => ok.object,
        other @ Lookup3res::Default { .. } => panic!("LOOKUP {name}: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_lists_reads_writes_and_commits_through_ganesha() {
    const TEST: &str = "nfs_ganesha::our_client_lists_reads_writes_and_commits_through_ganesha";
    let Some(peer) = ganesha(TEST) else { return };
    let Some(export) = xdrgen_testenv::require(
        TEST,
        "ganesha runs FSAL_MEM (no file data to compare); it needs CAP_DAC_READ_SEARCH and a \
         non-overlay export directory for FSAL_VFS",
        peer.directory.clone(),
    ) else {
        return;
    };
    let (nfs, root) = mount(&peer).await;
    let name = format!("xdrgen-client-{}", std::process::id());
    let _ = std::fs::remove_dir_all(export.join(&name));

    // A directory made through NFS with more entries than one reply holds.
    let res = nfs
        .nfsproc3_mkdir(&Mkdir3args {
            r#where: Diropargs3 {
                dir: root.clone(),
                name: name.as_str().into(),
            },
            attributes: unset_attributes(),
        })
        .await
        .unwrap();
    let Mkdir3res::Nfs3Ok(Mkdir3resok {
        obj: PostOpFh3::True(dir),
        ..
    }) = res
    else {
        panic!("MKDIR: {res:?}")
    };
    let names: BTreeSet<String> = (0..600)
        .map(|i| format!("entry-with-a-longish-name-{i:04}"))
        .collect();
    for entry in &names {
        create(&nfs, &dir, entry).await;
    }
    let (mut cookie, mut verifier, mut listed, mut replies) = (0, [0; 8], Vec::new(), 0);
    loop {
        let res = nfs
            .nfsproc3_readdirplus(&Readdirplus3args {
                dir: dir.clone(),
                cookie,
                cookieverf: verifier,
                dircount: 4096,
                maxcount: 16384,
            })
            .await
            .unwrap();
        let Readdirplus3res::Nfs3Ok(ok) = res else {
            panic!("READDIRPLUS: {res:?}")
        };
        replies += 1;
        verifier = ok.cookieverf;
        let mut entry = ok.reply.entries.as_ref();
        while let Some(e) = entry {
            let text = e.name.to_string_lossy().into_owned();
            if text != "." && text != ".." {
                assert!(matches!(e.name_attributes, PostOpAttr::True(_)), "{text}");
                listed.push(text);
            }
            cookie = e.cookie;
            entry = e.nextentry.as_deref();
        }
        if ok.reply.eof {
            break;
        }
    }
    assert!(replies > 1, "the directory fit one reply");
    assert_eq!(listed.len(), names.len());
    let listed: BTreeSet<String> = listed.into_iter().collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(export.join(&name))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, names);
    assert_eq!(on_disk, names);

    // READ of a file written on the server's disk.
    let data = pattern((2 << 20) + 7, 5);
    std::fs::write(export.join(&name).join("from-disk.bin"), &data).unwrap();
    let file = lookup(&nfs, &dir, "from-disk.bin").await;
    let mut read = Vec::new();
    loop {
        let res = nfs
            .nfsproc3_read(&Read3args {
                file: file.clone(),
                offset: read.len() as u64,
                count: 256 << 10,
            })
            .await
            .unwrap();
        let Read3res::Nfs3Ok(ok) = res else {
            panic!("READ: {res:?}")
        };
        read.extend_from_slice(&ok.data);
        if ok.eof || ok.count == 0 {
            break;
        }
    }
    assert!(read == data, "READ differs from the file on disk");

    // Unstable WRITEs, then COMMIT under the same verifier; the disk has it.
    let data = pattern(3 << 20, 11);
    let file = create(&nfs, &dir, "written.bin").await;
    let mut verifiers = BTreeSet::new();
    for (i, chunk) in data.chunks(512 << 10).enumerate() {
        let res = nfs
            .nfsproc3_write(&Write3args {
                file: file.clone(),
                offset: (i * (512 << 10)) as u64,
                count: u32::try_from(chunk.len()).unwrap(),
                stable: StableHow::Unstable,
                data: chunk.to_vec(),
            })
            .await
            .unwrap();
        let Write3res::Nfs3Ok(ok) = res else {
            panic!("WRITE: {res:?}")
        };
        assert_eq!(ok.count as usize, chunk.len());
        verifiers.insert(ok.verf);
    }
    let res = nfs
        .nfsproc3_commit(&Commit3args {
            file: file.clone(),
            offset: 0,
            count: 0,
        })
        .await
        .unwrap();
    let Commit3res::Nfs3Ok(commit) = res else {
        panic!("COMMIT: {res:?}")
    };
    assert_eq!(verifiers.into_iter().collect::<Vec<_>>(), vec![commit.verf]);
    assert!(
        std::fs::read(export.join(&name).join("written.bin")).unwrap() == data,
        "the file on disk differs from what was written"
    );
    std::fs::remove_dir_all(export.join(&name)).unwrap();
}

/// One NLM client: its own connection and lock owner.
struct Locker {
    nlm: nlm4_vers::Client,
    caller_name: &'static str,
    svid: i32,
    owner: &'static [u8],
}

impl Locker {
    async fn new(port: u16, caller_name: &'static str, svid: i32, owner: &'static [u8]) -> Locker {
        Locker {
            nlm: nlm4_vers::Client::connect(local(port), config())
                .await
                .unwrap(),
            caller_name,
            svid,
            owner,
        }
    }

    fn lock(&self, fh: &NfsFh3, offset: u64, len: u64) -> Nlm4Lock {
        Nlm4Lock {
            caller_name: self.caller_name.into(),
            fh: fh.data.clone(),
            oh: self.owner.to_vec(),
            svid: self.svid,
            l_offset: offset,
            l_len: len,
        }
    }

    async fn try_lock(&self, fh: &NfsFh3, offset: u64, len: u64) -> Nlm4Stats {
        let res = self
            .nlm
            .nlmproc4_lock(&Nlm4Lockargs {
                cookie: b"lock".to_vec(),
                block: false,
                exclusive: true,
                alock: self.lock(fh, offset, len),
                reclaim: false,
                state: 1,
            })
            .await
            .unwrap();
        assert_eq!(res.cookie, b"lock", "the cookie comes back");
        res.stat.stat
    }

    async fn test(&self, fh: &NfsFh3, offset: u64, len: u64) -> Nlm4Testrply {
        self.nlm
            .nlmproc4_test(&Nlm4Testargs {
                cookie: b"test".to_vec(),
                exclusive: true,
                alock: self.lock(fh, offset, len),
            })
            .await
            .unwrap()
            .stat
    }

    async fn unlock(&self, fh: &NfsFh3, offset: u64, len: u64) -> Nlm4Stats {
        self.nlm
            .nlmproc4_unlock(&Nlm4Unlockargs {
                cookie: b"unlock".to_vec(),
                alock: self.lock(fh, offset, len),
            })
            .await
            .unwrap()
            .stat
            .stat
    }
}

fn granted(reply: &Nlm4Testrply) -> bool {
    matches!(reply, Nlm4Testrply::Default(d) if d.get() == Nlm4Stats::Nlm4Granted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nlm_locks_conflict_between_clients_and_nsm_notify_frees_them() {
    const TEST: &str = "nfs_ganesha::nlm_locks_conflict_between_clients_and_nsm_notify_frees_them";
    let Some(peer) = ganesha(TEST) else { return };
    let Some(nlm_port) = xdrgen_testenv::require(
        TEST,
        "the ganesha peer runs without NLM (start it with GANESHA_NLM=1)",
        peer.nlm,
    ) else {
        return;
    };
    let (nfs, root) = mount(&peer).await;
    let name = format!("xdrgen-lock-{}", std::process::id());
    let fh = create(&nfs, &root, &name).await;

    // Two clients on two hosts, as NLM and NSM know them by caller name.
    let a = Locker::new(nlm_port, "localhost", 1001, b"owner-a").await;
    let b = Locker::new(nlm_port, "127.0.0.1", 2002, b"owner-b").await;
    a.nlm.nlmproc4_null().await.unwrap();

    assert_eq!(a.try_lock(&fh, 0, 100).await, Nlm4Stats::Nlm4Granted);
    // B sees A's lock as the holder of the overlapping range.
    match b.test(&fh, 50, 100).await {
        Nlm4Testrply::Nlm4Denied(holder) => {
            assert!(holder.exclusive);
            assert_eq!(holder.svid, 1001);
            assert_eq!((holder.l_offset, holder.l_len), (0, 100));
        }
        other @ Nlm4Testrply::Default(_) => panic!("TEST while A holds the lock: {other:?}"),
    }
    assert_eq!(b.try_lock(&fh, 50, 100).await, Nlm4Stats::Nlm4Denied);
    // A range that does not overlap is free.
    assert!(granted(&b.test(&fh, 100, 10).await));

    assert_eq!(a.unlock(&fh, 0, 100).await, Nlm4Stats::Nlm4Granted);
    assert!(granted(&b.test(&fh, 50, 100).await));
    assert_eq!(b.try_lock(&fh, 50, 100).await, Nlm4Stats::Nlm4Granted);
    assert_eq!(b.unlock(&fh, 50, 100).await, Nlm4Stats::Nlm4Granted);

    // NSM: A holds a lock again and "reboots": its status monitor's
    // SM_NOTIFY reaches the server's rpc.statd, which tells ganesha, which
    // drops A's locks.
    assert_eq!(a.try_lock(&fh, 0, 100).await, Nlm4Stats::Nlm4Granted);
    assert!(!granted(&b.test(&fh, 0, 100).await));
    let statd = registration::get_port(&Rpcbind::local(), 100_024, 1, Protocol::Tcp)
        .await
        .unwrap();
    let statd = xdrgen_testenv::require(TEST, "rpc.statd is not registered", statd);
    let Some(statd) = statd else { return };
    let sm = sm_vers::Client::connect(local(statd), config())
        .await
        .unwrap();
    sm.sm_notify(&StatChge {
        mon_name: a.caller_name.into(),
        state: 3,
    })
    .await
    .unwrap();
    // The notification travels statd → ganesha asynchronously: wait for
    // its effect (bounded, so a server that ignores it fails the test).
    let mut freed = false;
    for _ in 0..100 {
        if granted(&b.test(&fh, 0, 100).await) {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(freed, "A's lock survived its NSM reboot notification");

    let res = nfs
        .nfsproc3_remove(&Remove3args {
            object: Diropargs3 {
                dir: root.clone(),
                name: name.as_str().into(),
            },
        })
        .await
        .unwrap();
    assert!(matches!(res, Remove3res::Nfs3Ok(_)), "{res:?}");
}
