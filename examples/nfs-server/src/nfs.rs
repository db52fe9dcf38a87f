//! NFS version 3 (RFC 1813) over the exported directory: the generated
//! `nfs_v3::Service` trait, one method per procedure.
//!
//! The server runs its file system calls as its own user and checks the
//! caller's AUTH_SYS uid and gids against the mode bits itself (root may
//! do anything, as with `no_root_squash`; a call without AUTH_SYS is the
//! anonymous user 65534). New objects belong to the caller.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustix::fs::{AtFlags, Mode, OFlags, Timespec, Timestamps, UTIME_NOW, UTIME_OMIT};
use xdrgen_protocols::nfs3::nfs_program::nfs_v3::Service;
#[allow(clippy::wildcard_imports)] // Nearly every type of the protocol.
use xdrgen_protocols::nfs3::*;
use xdrgen_runtime::XdrEncode;
use xdrgen_runtime::rpc::{CallContext, Fault, Peer};

use crate::export::{Export, Object, attributes, checked_name, wcc_attributes};
use crate::status::NfsError;

/// Largest READ and WRITE over a stream (and what FSINFO says).
pub const MAX_TRANSFER_STREAM: u32 = 1 << 20;
/// Largest READ and WRITE over UDP, so a reply fits a datagram.
pub const MAX_TRANSFER_DATAGRAM: u32 = 32 << 10;

/// Bytes of a READDIR or READDIRPLUS reply besides its entries: status,
/// directory attributes (flag + fattr3), cookie verifier, the flag ending
/// the entry list and `eof`.
const READDIR_OVERHEAD: usize = 4 + (4 + 84) + 8 + 4 + 4;

/// The NFS service of one export.
#[derive(Debug)]
pub struct Nfs {
    export: Arc<Export>,
    /// Changes when the server restarts, so clients resend unstable writes
    /// it may have lost (RFC 1813 §3.3.7).
    write_verifier: Writeverf3,
}

/// Who is calling, as far as permission checks go.
#[derive(Debug, Clone)]
struct Caller {
    uid: u32,
    gid: u32,
    gids: Vec<u32>,
}

/// The anonymous user and group of a call without AUTH_SYS.
const NOBODY: u32 = 65534;

impl Caller {
    fn of(cx: &CallContext) -> Caller {
        match cx.auth_sys() {
            Some(auth) => Caller {
                uid: auth.uid,
                gid: auth.gid,
                gids: auth.gids.clone(),
            },
            None => Caller {
                uid: NOBODY,
                gid: NOBODY,
                gids: Vec::new(),
            },
        }
    }

    /// The permission bits (`rwx`, 0..=7) `meta`'s mode gives the caller.
    fn bits(&self, meta: &Metadata) -> u32 {
        if self.uid == 0 {
            // Root may read and write anything, and execute what anyone may.
            return 0o6 | u32::from(meta.is_dir() || meta.mode() & 0o111 != 0);
        }
        let mode = meta.mode();
        if self.uid == meta.uid() {
            (mode >> 6) & 7
        } else if self.gid == meta.gid() || self.gids.contains(&meta.gid()) {
            (mode >> 3) & 7
        } else {
            mode & 7
        }
    }

    fn require(&self, meta: &Metadata, bits: u32) -> Result<(), NfsError> {
        if self.bits(meta) & bits == bits {
            Ok(())
        } else {
            Err(NfsError::ACCES)
        }
    }
}

const READ: u32 = 4;
const WRITE: u32 = 2;
const EXECUTE: u32 = 1;

fn post_op(path: &Path) -> PostOpAttr {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => PostOpAttr::True(attributes(&meta)),
        Err(_) => PostOpAttr::False,
    }
}

fn post_op_of(object: &Object) -> PostOpAttr {
    PostOpAttr::True(attributes(&object.meta))
}

fn wcc(before: Option<&Metadata>, path: &Path) -> WccData {
    WccData {
        before: before.map_or(PreOpAttr::False, |meta| {
            PreOpAttr::True(wcc_attributes(meta))
        }),
        after: post_op(path),
    }
}

fn no_wcc() -> WccData {
    WccData {
        before: PreOpAttr::False,
        after: PostOpAttr::False,
    }
}

/// Opens a regular file without following a symbolic link.
fn open_file(path: &Path, write: bool) -> io::Result<File> {
    let access = if write {
        OFlags::WRONLY
    } else {
        OFlags::RDONLY
    };
    let fd = rustix::fs::open(
        path,
        access | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok(File::from(fd))
}

/// The file to read or write: `NFS3ERR_ISDIR` for a directory,
/// `NFS3ERR_INVAL` for anything else that is not a regular file.
fn regular(object: &Object) -> Result<(), NfsError> {
    if object.meta.is_file() {
        Ok(())
    } else if object.meta.is_dir() {
        Err(NfsError::IS_DIR)
    } else {
        Err(NfsError::INVAL)
    }
}

fn timespec(time: &Nfstime3) -> Timespec {
    Timespec {
        tv_sec: i64::from(time.seconds),
        tv_nsec: i64::from(time.nseconds.min(999_999_999)),
    }
}

fn omit() -> Timespec {
    Timespec {
        tv_sec: 0,
        tv_nsec: UTIME_OMIT,
    }
}

fn now() -> Timespec {
    Timespec {
        tv_sec: 0,
        tv_nsec: UTIME_NOW,
    }
}

/// Applies `attrs` to the object at `path` (SETATTR, and the attributes
/// given with CREATE, MKDIR and SYMLINK).
fn set_attributes(path: &Path, meta: &Metadata, attrs: &Sattr3) -> Result<(), NfsError> {
    if let SetSize3::True(size) = attrs.size {
        if !meta.is_file() {
            return Err(if meta.is_dir() {
                NfsError::IS_DIR
            } else {
                NfsError::INVAL
            });
        }
        open_file(path, true)?.set_len(size)?;
    }
    if let SetMode3::True(mode) = attrs.mode {
        if meta.is_symlink() {
            // Linux has no mode of its own for a link.
            return Err(NfsError::NOT_SUPP);
        }
        rustix::fs::chmod(path, Mode::from_raw_mode(mode & 0o7777))?;
    }
    let uid = match attrs.uid {
        SetUid3::True(uid) => Some(uid),
        SetUid3::Default(_) => None,
    };
    let gid = match attrs.gid {
        SetGid3::True(gid) => Some(gid),
        SetGid3::Default(_) => None,
    };
    if uid.is_some() || gid.is_some() {
        std::os::unix::fs::lchown(path, uid, gid)?;
    }
    let time = |set: Option<Nfstime3>, how: Option<TimeHow>| match (set, how) {
        (Some(time), _) => timespec(&time),
        (None, Some(TimeHow::SetToServerTime)) => now(),
        _ => omit(),
    };
    let atime = match &attrs.atime {
        SetAtime::SetToClientTime(t) => time(Some(t.clone()), None),
        SetAtime::Default(how) => time(None, Some(how.get())),
    };
    let mtime = match &attrs.mtime {
        SetMtime::SetToClientTime(t) => time(Some(t.clone()), None),
        SetMtime::Default(how) => time(None, Some(how.get())),
    };
    if atime.tv_nsec != UTIME_OMIT || mtime.tv_nsec != UTIME_OMIT {
        rustix::fs::utimensat(
            rustix::fs::CWD,
            path,
            &Timestamps {
                last_access: atime,
                last_modification: mtime,
            },
            AtFlags::SYMLINK_NOFOLLOW,
        )?;
    }
    Ok(())
}

/// Makes the new object at `path` the caller's (uid and gid from the
/// credential unless the attributes name others), then applies the rest
/// of `attrs`.
fn take_ownership(path: &Path, caller: &Caller, attrs: &Sattr3) -> Result<Metadata, NfsError> {
    std::os::unix::fs::lchown(path, Some(caller.uid), Some(caller.gid))?;
    let meta = std::fs::symlink_metadata(path)?;
    set_attributes(path, &meta, attrs)?;
    Ok(std::fs::symlink_metadata(path)?)
}

fn sattr_none() -> Sattr3 {
    // `new` refuses only the discriminants with arms of their own (`true`,
    // SET_TO_CLIENT_TIME), which these are not.
    let unset = || SetMode3Default::new(false);
    let keep_time = || SetAtimeDefault::new(TimeHow::DontChange);
    match (
        unset(),
        SetUid3Default::new(false),
        SetGid3Default::new(false),
        SetSize3Default::new(false),
        keep_time(),
        SetMtimeDefault::new(TimeHow::DontChange),
    ) {
        (Some(mode), Some(uid), Some(gid), Some(size), Some(atime), Some(mtime)) => Sattr3 {
            mode: SetMode3::Default(mode),
            uid: SetUid3::Default(uid),
            gid: SetGid3::Default(gid),
            size: SetSize3::Default(size),
            atime: SetAtime::Default(atime),
            mtime: SetMtime::Default(mtime),
        },
        _ => unreachable!("false and DONT_CHANGE are default arms"),
    }
}

/// One directory entry, in the sorted listing READDIR pages through.
struct Listed {
    name: std::ffi::OsString,
    fileid: u64,
}

/// A directory's entries sorted by name (so a cookie, the index after an
/// entry, means the same entry on the next call), and the cookie verifier:
/// the directory's modification time, which changes with its entries.
fn list(dir: &Object) -> Result<(Vec<Listed>, Cookieverf3), NfsError> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(&dir.path)? {
        let entry = entry?;
        entries.push(Listed {
            fileid: std::os::unix::fs::DirEntryExt::ino(&entry),
            name: entry.file_name(),
        });
    }
    entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    let mtime = dir
        .meta
        .mtime()
        .wrapping_mul(1_000_000_000)
        .wrapping_add(dir.meta.mtime_nsec());
    Ok((entries, mtime.to_be_bytes()))
}

/// The entries after `cookie`, after checking its verifier (a zero
/// verifier is a new listing, as clients send with cookie 0).
fn resume(
    entries: &[Listed],
    cookie: u64,
    given: Cookieverf3,
    current: Cookieverf3,
) -> Result<&[Listed], NfsError> {
    if cookie != 0 && given != [0; 8] && given != current {
        return Err(NfsError::BAD_COOKIE);
    }
    let start = usize::try_from(cookie).map_err(|_| NfsError::BAD_COOKIE)?;
    entries.get(start..).ok_or(NfsError::BAD_COOKIE)
}

/// XDR bytes of a name: length word, then the bytes padded to 4.
fn name_len(name: &[u8]) -> usize {
    4 + name.len().div_ceil(4) * 4
}

impl Nfs {
    /// The NFS service of `export`.
    pub fn new(export: Arc<Export>) -> Nfs {
        let boot = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Nfs {
            export,
            write_verifier: u64::try_from(boot).unwrap_or(u64::MAX).to_be_bytes(),
        }
    }

    fn max_transfer(cx: &CallContext) -> u32 {
        match cx.peer() {
            Peer::Udp(_) => MAX_TRANSFER_DATAGRAM,
            _ => MAX_TRANSFER_STREAM,
        }
    }

    fn lookup(&self, cx: &CallContext, args: &Lookup3args) -> Result<Lookup3resok, NfsError> {
        let dir = self.export.resolve_dir(&args.what.dir)?;
        Caller::of(cx).require(&dir.meta, EXECUTE)?;
        let (path, relative) = self.export.child(&dir, args.what.name.as_bytes())?;
        let meta = std::fs::symlink_metadata(&path)?;
        Ok(Lookup3resok {
            object: self.export.handle(&relative, &meta),
            obj_attributes: PostOpAttr::True(attributes(&meta)),
            dir_attributes: post_op_of(&dir),
        })
    }

    fn read(&self, cx: &CallContext, args: &Read3args) -> Result<Read3resok, NfsError> {
        let file = self.export.resolve(&args.file)?;
        regular(&file)?;
        Caller::of(cx).require(&file.meta, READ)?;
        let count = args.count.min(Self::max_transfer(cx)) as usize;
        let handle = open_file(&file.path, false)?;
        let mut data = vec![0; count];
        let mut filled = 0;
        while filled < count {
            let at = args.offset.saturating_add(filled as u64);
            match handle.read_at(&mut data[filled..], at) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
        data.truncate(filled);
        let meta = handle.metadata()?;
        Ok(Read3resok {
            file_attributes: PostOpAttr::True(attributes(&meta)),
            count: u32::try_from(filled).unwrap_or(u32::MAX),
            eof: args.offset.saturating_add(filled as u64) >= meta.len(),
            data,
        })
    }

    fn write(
        &self,
        cx: &CallContext,
        args: &Write3args,
        before: &mut Option<Object>,
    ) -> Result<Write3resok, NfsError> {
        let file = before.insert(self.export.resolve(&args.file)?);
        regular(file)?;
        Caller::of(cx).require(&file.meta, WRITE)?;
        let count = args.count as usize;
        if count > args.data.len() || args.count > Self::max_transfer(cx) {
            return Err(NfsError::INVAL);
        }
        let handle = open_file(&file.path, true)?;
        handle.write_all_at(&args.data[..count], args.offset)?;
        let committed = match args.stable {
            StableHow::Unstable => StableHow::Unstable,
            StableHow::DataSync => {
                handle.sync_data()?;
                StableHow::DataSync
            }
            StableHow::FileSync => {
                handle.sync_all()?;
                StableHow::FileSync
            }
        };
        Ok(Write3resok {
            file_wcc: wcc(Some(&file.meta), &file.path),
            count: args.count,
            committed,
            verf: self.write_verifier,
        })
    }

    /// The directory a new object goes in, checked for the caller's write
    /// and search permission, and the new object's paths.
    fn new_entry(
        &self,
        cx: &CallContext,
        place: &Diropargs3,
        dir_out: &mut Option<Object>,
    ) -> Result<(PathBuf, PathBuf), NfsError> {
        let dir = dir_out.insert(self.export.resolve_dir(&place.dir)?);
        Caller::of(cx).require(&dir.meta, WRITE | EXECUTE)?;
        let name = checked_name(place.name.as_bytes())?;
        Ok((dir.path.join(name), dir.relative.join(name)))
    }

    fn create(
        &self,
        cx: &CallContext,
        args: &Create3args,
        dir: &mut Option<Object>,
    ) -> Result<Create3resok, NfsError> {
        let (path, relative) = self.new_entry(cx, &args.r#where, dir)?;
        let caller = Caller::of(cx);
        let created = |exclusive: bool| -> io::Result<File> {
            let mut flags = OFlags::WRONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            if exclusive {
                flags |= OFlags::EXCL;
            }
            Ok(File::from(rustix::fs::open(
                &path,
                flags,
                Mode::from_raw_mode(0o644),
            )?))
        };
        let meta = match &args.how {
            Createhow3::Unchecked(attrs) => {
                let existed = path.symlink_metadata().is_ok();
                created(false)?;
                if existed {
                    let meta = std::fs::symlink_metadata(&path)?;
                    set_attributes(&path, &meta, attrs)?;
                    std::fs::symlink_metadata(&path)?
                } else {
                    take_ownership(&path, &caller, attrs)?
                }
            }
            Createhow3::Guarded(attrs) => {
                created(true)?;
                take_ownership(&path, &caller, attrs)?
            }
            Createhow3::Exclusive(verifier) => {
                // The verifier is kept in the times, as other servers do, so
                // a retransmitted CREATE finds its own file (RFC 1813 §3.3.8);
                // the client sets the real times with SETATTR afterwards.
                let stored = |meta: &Metadata| {
                    let mut bytes = [0u8; 8];
                    bytes[..4]
                        .copy_from_slice(&u32::try_from(meta.atime()).unwrap_or(0).to_be_bytes());
                    bytes[4..]
                        .copy_from_slice(&u32::try_from(meta.mtime()).unwrap_or(0).to_be_bytes());
                    bytes
                };
                match created(true) {
                    Ok(_) => {
                        let mut attrs = sattr_none();
                        let half = |i: usize| Nfstime3 {
                            seconds: u32::from_be_bytes([
                                verifier[i],
                                verifier[i + 1],
                                verifier[i + 2],
                                verifier[i + 3],
                            ]),
                            nseconds: 0,
                        };
                        attrs.atime = SetAtime::SetToClientTime(half(0));
                        attrs.mtime = SetMtime::SetToClientTime(half(4));
                        take_ownership(&path, &caller, &attrs)?
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let meta = std::fs::symlink_metadata(&path)?;
                        if stored(&meta) != *verifier {
                            return Err(NfsError::EXIST);
                        }
                        meta
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let dir = dir.as_ref();
        Ok(Create3resok {
            obj: PostOpFh3::True(self.export.handle(&relative, &meta)),
            obj_attributes: PostOpAttr::True(attributes(&meta)),
            dir_wcc: wcc(dir.map(|d| &d.meta), dir.map_or(&path, |d| &d.path)),
        })
    }

    fn readdir(&self, cx: &CallContext, args: &Readdir3args) -> Result<Readdir3resok, NfsError> {
        let dir = self.export.resolve_dir(&args.dir)?;
        Caller::of(cx).require(&dir.meta, READ)?;
        let (entries, verifier) = list(&dir)?;
        let rest = resume(&entries, args.cookie, args.cookieverf, verifier)?;
        // Over UDP the reply must also fit a datagram.
        let count = args.count.min(Self::max_transfer(cx));
        let budget = (count as usize).saturating_sub(READDIR_OVERHEAD);
        let mut used = 0;
        let mut taken = 0;
        for entry in rest {
            let size = 8 + name_len(entry.name.as_bytes()) + 8 + 4;
            if used + size > budget {
                break;
            }
            used += size;
            taken += 1;
        }
        if taken == 0 && !rest.is_empty() {
            return Err(NfsError::TOO_SMALL);
        }
        let first_cookie = args.cookie;
        let mut next = None;
        for (i, entry) in rest[..taken].iter().enumerate().rev() {
            next = Some(Box::new(Entry3 {
                fileid: entry.fileid,
                name: entry.name.as_bytes().into(),
                cookie: first_cookie + i as u64 + 1,
                nextentry: next,
            }));
        }
        Ok(Readdir3resok {
            dir_attributes: post_op_of(&dir),
            cookieverf: verifier,
            reply: Dirlist3 {
                entries: next.map(|entry| *entry),
                eof: taken == rest.len(),
            },
        })
    }

    fn readdirplus(
        &self,
        cx: &CallContext,
        args: &Readdirplus3args,
    ) -> Result<Readdirplus3resok, NfsError> {
        let dir = self.export.resolve_dir(&args.dir)?;
        Caller::of(cx).require(&dir.meta, READ)?;
        let (entries, verifier) = list(&dir)?;
        let rest = resume(&entries, args.cookie, args.cookieverf, verifier)?;
        let maxcount = args.maxcount.min(Self::max_transfer(cx));
        let reply_budget = (maxcount as usize).saturating_sub(READDIR_OVERHEAD);
        // Some clients send no dircount: then only maxcount bounds the reply.
        let dir_budget = if args.dircount == 0 {
            usize::MAX
        } else {
            args.dircount as usize
        };
        let (mut reply_used, mut dir_used) = (0, 0);
        let mut page = Vec::new();
        for (i, entry) in rest.iter().enumerate() {
            let (path, relative) = self.export.child(&dir, entry.name.as_bytes())?;
            // Gone since the listing: leave it out of this page.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let item = Entryplus3 {
                fileid: meta.ino(),
                name: entry.name.as_bytes().into(),
                cookie: args.cookie + i as u64 + 1,
                name_attributes: PostOpAttr::True(attributes(&meta)),
                name_handle: PostOpFh3::True(self.export.handle(&relative, &meta)),
                nextentry: None,
            };
            let dir_size = 8 + name_len(entry.name.as_bytes()) + 8;
            let reply_size = item.encoded_len();
            if reply_used + reply_size > reply_budget || dir_used + dir_size > dir_budget {
                if page.is_empty() {
                    return Err(NfsError::TOO_SMALL);
                }
                break;
            }
            reply_used += reply_size;
            dir_used += dir_size;
            page.push((i, item));
        }
        let eof = page.last().is_none_or(|(i, _)| i + 1 == rest.len());
        let mut next: Option<Box<Entryplus3>> = None;
        for (_, mut item) in page.into_iter().rev() {
            item.nextentry = next;
            next = Some(Box::new(item));
        }
        Ok(Readdirplus3resok {
            dir_attributes: post_op_of(&dir),
            cookieverf: verifier,
            reply: Dirlistplus3 {
                entries: next.map(|entry| *entry),
                eof,
            },
        })
    }
}

/// Weak cache consistency data of an object the call resolved: its
/// attributes from then and now (nothing when it was never resolved).
fn wcc_of(object: Option<&Object>) -> WccData {
    object.map_or_else(no_wcc, |o| wcc(Some(&o.meta), &o.path))
}

impl Service for Nfs {
    async fn nfsproc3_getattr(
        &self,
        _cx: &CallContext,
        args: Getattr3args,
    ) -> Result<Getattr3res, Fault> {
        Ok(match self.export.resolve(&args.object) {
            Ok(object) => Getattr3res::Nfs3Ok(Getattr3resok {
                obj_attributes: attributes(&object.meta),
            }),
            Err(e) => Getattr3res::Default(e.discriminant()),
        })
    }

    async fn nfsproc3_setattr(
        &self,
        cx: &CallContext,
        args: Setattr3args,
    ) -> Result<Setattr3res, Fault> {
        let mut seen = None;
        let result = (|| {
            let object = seen.insert(self.export.resolve(&args.object)?);
            let caller = Caller::of(cx);
            // Only the owner (or root) changes attributes; a size change is
            // a write.
            if caller.uid != 0 && caller.uid != object.meta.uid() {
                if matches!(args.new_attributes.size, SetSize3::True(_)) {
                    caller.require(&object.meta, WRITE)?;
                } else {
                    return Err(NfsError::ACCES);
                }
            }
            if let Sattrguard3::True(ctime) = &args.guard {
                let now = attributes(&object.meta).ctime;
                if now != *ctime {
                    return Err(NfsError::NOT_SYNC);
                }
            }
            set_attributes(&object.path, &object.meta, &args.new_attributes)
        })();
        Ok(match result {
            Ok(()) => {
                let object = seen.as_ref();
                Setattr3res::Nfs3Ok(Setattr3resok {
                    obj_wcc: wcc_of(object),
                })
            }
            Err(e) => Setattr3res::Default {
                discriminant: e.discriminant(),
                value: Setattr3resfail {
                    obj_wcc: wcc_of(seen.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_lookup(
        &self,
        cx: &CallContext,
        args: Lookup3args,
    ) -> Result<Lookup3res, Fault> {
        Ok(match self.lookup(cx, &args) {
            Ok(ok) => Lookup3res::Nfs3Ok(ok),
            Err(e) => Lookup3res::Default {
                discriminant: e.discriminant(),
                value: Lookup3resfail {
                    dir_attributes: self
                        .export
                        .resolve(&args.what.dir)
                        .map_or(PostOpAttr::False, |d| post_op_of(&d)),
                },
            },
        })
    }

    async fn nfsproc3_access(
        &self,
        cx: &CallContext,
        args: Access3args,
    ) -> Result<Access3res, Fault> {
        Ok(match self.export.resolve(&args.object) {
            Ok(object) => {
                let bits = Caller::of(cx).bits(&object.meta);
                let mut granted = 0;
                if bits & READ != 0 {
                    granted |= ACCESS3_READ;
                }
                if bits & WRITE != 0 {
                    granted |= ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE;
                }
                if bits & EXECUTE != 0 {
                    granted |= if object.meta.is_dir() {
                        ACCESS3_LOOKUP
                    } else {
                        ACCESS3_EXECUTE
                    };
                }
                Access3res::Nfs3Ok(Access3resok {
                    obj_attributes: post_op_of(&object),
                    access: args.access & granted,
                })
            }
            Err(e) => Access3res::Default {
                discriminant: e.discriminant(),
                value: Access3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_readlink(
        &self,
        _cx: &CallContext,
        args: Readlink3args,
    ) -> Result<Readlink3res, Fault> {
        let result = self.export.resolve(&args.symlink).and_then(|link| {
            if !link.meta.is_symlink() {
                return Err(NfsError::INVAL);
            }
            let target = std::fs::read_link(&link.path)?;
            Ok((link, target))
        });
        Ok(match result {
            Ok((link, target)) => Readlink3res::Nfs3Ok(Readlink3resok {
                symlink_attributes: post_op_of(&link),
                data: target.as_os_str().as_bytes().into(),
            }),
            Err(e) => Readlink3res::Default {
                discriminant: e.discriminant(),
                value: Readlink3resfail {
                    symlink_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_read(&self, cx: &CallContext, args: Read3args) -> Result<Read3res, Fault> {
        Ok(match self.read(cx, &args) {
            Ok(ok) => Read3res::Nfs3Ok(ok),
            Err(e) => Read3res::Default {
                discriminant: e.discriminant(),
                value: Read3resfail {
                    file_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_write(&self, cx: &CallContext, args: Write3args) -> Result<Write3res, Fault> {
        let mut file = None;
        Ok(match self.write(cx, &args, &mut file) {
            Ok(ok) => Write3res::Nfs3Ok(ok),
            Err(e) => Write3res::Default {
                discriminant: e.discriminant(),
                value: Write3resfail {
                    file_wcc: wcc_of(file.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_create(
        &self,
        cx: &CallContext,
        args: Create3args,
    ) -> Result<Create3res, Fault> {
        let mut dir = None;
        Ok(match self.create(cx, &args, &mut dir) {
            Ok(ok) => Create3res::Nfs3Ok(ok),
            Err(e) => Create3res::Default {
                discriminant: e.discriminant(),
                value: Create3resfail {
                    dir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_mkdir(&self, cx: &CallContext, args: Mkdir3args) -> Result<Mkdir3res, Fault> {
        let mut dir = None;
        let result = self
            .new_entry(cx, &args.r#where, &mut dir)
            .and_then(|(path, relative)| {
                rustix::fs::mkdir(&path, Mode::from_raw_mode(0o755))?;
                let meta = take_ownership(&path, &Caller::of(cx), &args.attributes)?;
                Ok((path, relative, meta))
            });
        Ok(match result {
            Ok((path, relative, meta)) => Mkdir3res::Nfs3Ok(Mkdir3resok {
                obj: PostOpFh3::True(self.export.handle(&relative, &meta)),
                obj_attributes: post_op(&path),
                dir_wcc: wcc_of(dir.as_ref()),
            }),
            Err(e) => Mkdir3res::Default {
                discriminant: e.discriminant(),
                value: Mkdir3resfail {
                    dir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_symlink(
        &self,
        cx: &CallContext,
        args: Symlink3args,
    ) -> Result<Symlink3res, Fault> {
        let mut dir = None;
        let result = self
            .new_entry(cx, &args.r#where, &mut dir)
            .and_then(|(path, relative)| {
                let target = std::ffi::OsStr::from_bytes(args.symlink.symlink_data.as_bytes());
                std::os::unix::fs::symlink(target, &path)?;
                // A link's mode means nothing on Linux: only owner and times.
                let mut attrs = args.symlink.symlink_attributes.clone();
                attrs.mode = sattr_none().mode;
                let meta = take_ownership(&path, &Caller::of(cx), &attrs)?;
                Ok((relative, meta))
            });
        Ok(match result {
            Ok((relative, meta)) => Symlink3res::Nfs3Ok(Symlink3resok {
                obj: PostOpFh3::True(self.export.handle(&relative, &meta)),
                obj_attributes: PostOpAttr::True(attributes(&meta)),
                dir_wcc: wcc_of(dir.as_ref()),
            }),
            Err(e) => Symlink3res::Default {
                discriminant: e.discriminant(),
                value: Symlink3resfail {
                    dir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_mknod(
        &self,
        _cx: &CallContext,
        _args: Mknod3args,
    ) -> Result<Mknod3res, Fault> {
        // Device files and FIFOs are not served from a plain directory.
        Ok(Mknod3res::Default {
            discriminant: NfsError::NOT_SUPP.discriminant(),
            value: Mknod3resfail { dir_wcc: no_wcc() },
        })
    }

    async fn nfsproc3_remove(
        &self,
        cx: &CallContext,
        args: Remove3args,
    ) -> Result<Remove3res, Fault> {
        let mut dir = None;
        let result = self
            .new_entry(cx, &args.object, &mut dir)
            .and_then(|(path, _)| {
                let meta = std::fs::symlink_metadata(&path)?;
                if meta.is_dir() {
                    return Err(NfsError::IS_DIR);
                }
                std::fs::remove_file(&path)?;
                if meta.nlink() <= 1 {
                    self.export.forget(&meta);
                }
                Ok(())
            });
        Ok(match result {
            Ok(()) => Remove3res::Nfs3Ok(Remove3resok {
                dir_wcc: wcc_of(dir.as_ref()),
            }),
            Err(e) => Remove3res::Default {
                discriminant: e.discriminant(),
                value: Remove3resfail {
                    dir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_rmdir(&self, cx: &CallContext, args: Rmdir3args) -> Result<Rmdir3res, Fault> {
        let mut dir = None;
        let result = self
            .new_entry(cx, &args.object, &mut dir)
            .and_then(|(path, _)| {
                let meta = std::fs::symlink_metadata(&path)?;
                if !meta.is_dir() {
                    return Err(NfsError::NOT_DIR);
                }
                std::fs::remove_dir(&path)?;
                self.export.forget(&meta);
                Ok(())
            });
        Ok(match result {
            Ok(()) => Rmdir3res::Nfs3Ok(Rmdir3resok {
                dir_wcc: wcc_of(dir.as_ref()),
            }),
            Err(e) => Rmdir3res::Default {
                discriminant: e.discriminant(),
                value: Rmdir3resfail {
                    dir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_rename(
        &self,
        cx: &CallContext,
        args: Rename3args,
    ) -> Result<Rename3res, Fault> {
        let (mut from_dir, mut to_dir) = (None, None);
        let result =
            self.new_entry(cx, &args.from, &mut from_dir)
                .and_then(|(from, from_relative)| {
                    let (to, to_relative) = self.new_entry(cx, &args.to, &mut to_dir)?;
                    std::fs::rename(&from, &to)?;
                    self.export.renamed(&from_relative, &to_relative);
                    Ok(())
                });
        let fromdir_wcc = wcc_of(from_dir.as_ref());
        let todir_wcc = wcc_of(to_dir.as_ref());
        Ok(match result {
            Ok(()) => Rename3res::Nfs3Ok(Rename3resok {
                fromdir_wcc,
                todir_wcc,
            }),
            Err(e) => Rename3res::Default {
                discriminant: e.discriminant(),
                value: Rename3resfail {
                    fromdir_wcc,
                    todir_wcc,
                },
            },
        })
    }

    async fn nfsproc3_link(&self, cx: &CallContext, args: Link3args) -> Result<Link3res, Fault> {
        let mut dir = None;
        let result = self.export.resolve(&args.file).and_then(|file| {
            if file.meta.is_dir() {
                return Err(NfsError::IS_DIR);
            }
            let (path, _) = self.new_entry(cx, &args.link, &mut dir)?;
            std::fs::hard_link(&file.path, &path)?;
            Ok(file)
        });
        Ok(match result {
            Ok(file) => Link3res::Nfs3Ok(Link3resok {
                file_attributes: post_op(&file.path),
                linkdir_wcc: wcc_of(dir.as_ref()),
            }),
            Err(e) => Link3res::Default {
                discriminant: e.discriminant(),
                value: Link3resfail {
                    file_attributes: PostOpAttr::False,
                    linkdir_wcc: wcc_of(dir.as_ref()),
                },
            },
        })
    }

    async fn nfsproc3_readdir(
        &self,
        cx: &CallContext,
        args: Readdir3args,
    ) -> Result<Readdir3res, Fault> {
        Ok(match self.readdir(cx, &args) {
            Ok(ok) => Readdir3res::Nfs3Ok(ok),
            Err(e) => Readdir3res::Default {
                discriminant: e.discriminant(),
                value: Readdir3resfail {
                    dir_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_readdirplus(
        &self,
        cx: &CallContext,
        args: Readdirplus3args,
    ) -> Result<Readdirplus3res, Fault> {
        Ok(match self.readdirplus(cx, &args) {
            Ok(ok) => Readdirplus3res::Nfs3Ok(ok),
            Err(e) => Readdirplus3res::Default {
                discriminant: e.discriminant(),
                value: Readdirplus3resfail {
                    dir_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_fsstat(
        &self,
        _cx: &CallContext,
        args: Fsstat3args,
    ) -> Result<Fsstat3res, Fault> {
        let result = self.export.resolve(&args.fsroot).and_then(|object| {
            let stat = rustix::fs::statvfs(&object.path)?;
            Ok((object, stat))
        });
        Ok(match result {
            Ok((object, stat)) => Fsstat3res::Nfs3Ok(Fsstat3resok {
                obj_attributes: post_op_of(&object),
                tbytes: stat.f_blocks.saturating_mul(stat.f_frsize),
                fbytes: stat.f_bfree.saturating_mul(stat.f_frsize),
                abytes: stat.f_bavail.saturating_mul(stat.f_frsize),
                tfiles: stat.f_files,
                ffiles: stat.f_ffree,
                afiles: stat.f_favail,
                invarsec: 0,
            }),
            Err(e) => Fsstat3res::Default {
                discriminant: e.discriminant(),
                value: Fsstat3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_fsinfo(
        &self,
        cx: &CallContext,
        args: Fsinfo3args,
    ) -> Result<Fsinfo3res, Fault> {
        let max = Self::max_transfer(cx);
        Ok(match self.export.resolve(&args.fsroot) {
            Ok(object) => Fsinfo3res::Nfs3Ok(Fsinfo3resok {
                obj_attributes: post_op_of(&object),
                rtmax: max,
                rtpref: max,
                rtmult: 4096,
                wtmax: max,
                wtpref: max,
                wtmult: 4096,
                dtpref: 64 << 10,
                maxfilesize: i64::MAX as u64,
                time_delta: Nfstime3 {
                    seconds: 0,
                    nseconds: 1,
                },
                properties: FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME,
            }),
            Err(e) => Fsinfo3res::Default {
                discriminant: e.discriminant(),
                value: Fsinfo3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_pathconf(
        &self,
        _cx: &CallContext,
        args: Pathconf3args,
    ) -> Result<Pathconf3res, Fault> {
        Ok(match self.export.resolve(&args.object) {
            Ok(object) => Pathconf3res::Nfs3Ok(Pathconf3resok {
                obj_attributes: post_op_of(&object),
                linkmax: 65_000,
                name_max: crate::export::NAME_MAX,
                no_trunc: true,
                chown_restricted: true,
                case_insensitive: false,
                case_preserving: true,
            }),
            Err(e) => Pathconf3res::Default {
                discriminant: e.discriminant(),
                value: Pathconf3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_commit(
        &self,
        _cx: &CallContext,
        args: Commit3args,
    ) -> Result<Commit3res, Fault> {
        let mut seen = None;
        let result = (|| -> Result<(), NfsError> {
            let file = seen.insert(self.export.resolve(&args.file)?);
            regular(file)?;
            // Data and metadata: a commit after unstable writes that grew
            // the file must make the size durable too.
            open_file(&file.path, false)?.sync_all()?;
            Ok(())
        })();
        Ok(match result {
            Ok(()) => Commit3res::Nfs3Ok(Commit3resok {
                file_wcc: wcc_of(seen.as_ref()),
                verf: self.write_verifier,
            }),
            Err(e) => Commit3res::Default {
                discriminant: e.discriminant(),
                value: Commit3resfail {
                    file_wcc: wcc_of(seen.as_ref()),
                },
            },
        })
    }
}
