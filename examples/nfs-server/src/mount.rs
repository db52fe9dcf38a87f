//! MOUNT version 3 (RFC 1813 §5): hands out the handle of the export's
//! root, or of a directory below it (as knfsd does), and
//! keeps the list of mounts DUMP reports (bounded; it is advisory anyway).

use std::sync::{Arc, Mutex};

use xdrgen_protocols::mount3::mount_program::mount_v3::Service;
use xdrgen_protocols::mount3::{
    Dirpath, Exportnode, Exports, Mountbody, Mountlist, Mountres3, Mountres3Default, Mountres3Ok,
    Mountstat3,
};
use xdrgen_runtime::rpc::message::flavor;
use xdrgen_runtime::rpc::{CallContext, Fault, Peer};

use xdrgen_protocols::nfs3::Nfsstat3;

use crate::export::Export;
use crate::status::NfsError;

/// The one flavor accepted, as MNT lists it (`int` in mount3.x).
const AUTH_SYS: i32 = 1;
const _: () = assert!(AUTH_SYS as u32 == flavor::AUTH_SYS);

/// Most (host, directory) mounts remembered for DUMP.
pub const MAX_MOUNTS: usize = 1024;

/// The MOUNT service of one export.
#[derive(Debug)]
pub struct Mount {
    export: Arc<Export>,
    /// The path clients mount, such as `/export`.
    path: String,
    mounts: Mutex<Vec<(String, String)>>,
}

impl Mount {
    /// Answers MNT of `path` with `export`'s root.
    pub fn new(export: Arc<Export>, path: String) -> Mount {
        Mount {
            export,
            path,
            mounts: Mutex::new(Vec::new()),
        }
    }

    fn mounts(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.mounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The caller's host as DUMP lists it: its address.
fn host(cx: &CallContext) -> String {
    match cx.peer() {
        Peer::Tcp(addr) | Peer::Udp(addr) => addr.ip().to_string(),
        _ => "localhost".to_string(),
    }
}

/// The path as the client sent it, without trailing slashes.
fn normalised(path: &Dirpath) -> String {
    let text = path.to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// MNT's status for an NFS error (the values are the same where both
/// protocols have one).
fn mount_status(error: NfsError) -> Mountstat3 {
    match error.status() {
        Nfsstat3::Nfs3errNoent => Mountstat3::Mnt3errNoent,
        Nfsstat3::Nfs3errNotdir => Mountstat3::Mnt3errNotdir,
        Nfsstat3::Nfs3errAcces | Nfsstat3::Nfs3errPerm => Mountstat3::Mnt3errAcces,
        Nfsstat3::Nfs3errInval => Mountstat3::Mnt3errInval,
        Nfsstat3::Nfs3errNametoolong => Mountstat3::Mnt3errNametoolong,
        _ => Mountstat3::Mnt3errIo,
    }
}

fn failure(status: Mountstat3) -> Mountres3 {
    match Mountres3Default::new(status) {
        Some(d) => Mountres3::Default(d),
        None => unreachable!("failure() is only called with error statuses"),
    }
}

impl Service for Mount {
    async fn mountproc3_mnt(&self, cx: &CallContext, path: Dirpath) -> Result<Mountres3, Fault> {
        let wanted = normalised(&path);
        let below_root = if wanted == self.path {
            Some("")
        } else {
            wanted
                .strip_prefix(self.path.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
        };
        let Some(below_root) = below_root else {
            return Ok(failure(Mountstat3::Mnt3errNoent));
        };
        let handle = match self.export.directory_handle(below_root) {
            Ok(handle) => handle,
            Err(e) => return Ok(failure(mount_status(e))),
        };
        let entry = (host(cx), wanted);
        let mut mounts = self.mounts();
        if !mounts.contains(&entry) {
            if mounts.len() == MAX_MOUNTS {
                mounts.remove(0);
            }
            mounts.push(entry);
        }
        Ok(Mountres3::Mnt3Ok(Mountres3Ok {
            fhandle: handle.data,
            auth_flavors: vec![AUTH_SYS],
        }))
    }

    async fn mountproc3_dump(&self, _cx: &CallContext) -> Result<Mountlist, Fault> {
        let mut list: Mountlist = None;
        for (host, dir) in self.mounts().iter().rev() {
            list = Some(Box::new(Mountbody {
                ml_hostname: host.as_str().into(),
                ml_directory: dir.as_str().into(),
                ml_next: list,
            }));
        }
        Ok(list)
    }

    async fn mountproc3_umnt(&self, cx: &CallContext, path: Dirpath) -> Result<(), Fault> {
        let entry = (host(cx), normalised(&path));
        self.mounts().retain(|m| *m != entry);
        Ok(())
    }

    async fn mountproc3_umntall(&self, cx: &CallContext) -> Result<(), Fault> {
        let host = host(cx);
        self.mounts().retain(|(h, _)| *h != host);
        Ok(())
    }

    async fn mountproc3_export(&self, _cx: &CallContext) -> Result<Exports, Fault> {
        // No groups: every client may mount it (showmount says "(everyone)").
        Ok(Some(Box::new(Exportnode {
            ex_dir: self.path.as_str().into(),
            ex_groups: None,
            ex_next: None,
        })))
    }
}
