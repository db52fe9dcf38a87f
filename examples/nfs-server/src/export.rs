//! The exported directory: file handles, the names they stand for, and
//! file attributes.
//!
//! A handle is 20 bytes: the export id, then the device and inode numbers
//! of the object: the same for the object's whole life, whatever name or
//! `..` led to it, across renames and server restarts. The server keeps a
//! table from (device, inode) to the path below the export root it last
//! saw the object at; every path in it is made of single names (checked by
//! [`checked_name`], or read from a directory), so no path leaves the
//! export. A handle whose
//! object the table does not know, or whose path now holds another object,
//! is searched for below the root (a bounded walk that follows no links),
//! so handles survive server restarts and renames made on the server; one
//! not found there is `NFS3ERR_STALE`.
//!
//! Symbolic links are never followed by the server: attributes come from
//! `symlink_metadata`, files are opened with `O_NOFOLLOW`, and a lookup in
//! a link is `NFS3ERR_NOTDIR`. Each call goes by path again, so a local
//! user of the server who swaps a directory for a link between the check
//! and the call could redirect that call; NFS clients cannot.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use xdrgen_protocols::nfs3::{Fattr3, Ftype3, NfsFh3, Nfstime3, Specdata3, WccAttr};

use crate::status::NfsError;

/// Length of every handle this server makes.
pub const HANDLE_LEN: usize = 20;

/// Most objects the handle table remembers; beyond it the least recently
/// added are forgotten (their handles turn stale and clients look the
/// names up again), so memory stays bounded whatever clients do.
pub const MAX_HANDLES: usize = 1 << 18;

/// Most directory entries one search for an unknown handle looks at.
pub const MAX_SEARCH: usize = 200_000;

/// How many handles that no search found are remembered.
const MAX_MISSING: usize = 1024;

/// Longest name accepted in a directory (Linux's `NAME_MAX`).
pub const NAME_MAX: u32 = 255;

/// An object's identity on the server's file system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FileKey {
    dev: u64,
    ino: u64,
}

impl FileKey {
    fn of(meta: &Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// One exported directory.
#[derive(Debug)]
pub struct Export {
    id: u32,
    root: PathBuf,
    root_key: FileKey,
    table: Mutex<HandleTable>,
}

#[derive(Debug, Default)]
struct HandleTable {
    paths: HashMap<FileKey, PathBuf>,
    /// Insertion order, for forgetting the oldest entries past `MAX_HANDLES`.
    order: std::collections::VecDeque<FileKey>,
    /// Handles searched for in vain, most recent last.
    missing: std::collections::VecDeque<FileKey>,
}

impl HandleTable {
    fn insert(&mut self, key: FileKey, relative: PathBuf) {
        // A new object may reuse a forgotten inode number.
        self.missing.retain(|&k| k != key);
        if self.paths.insert(key, relative).is_none() {
            self.order.push_back(key);
            while self.order.len() > MAX_HANDLES {
                if let Some(old) = self.order.pop_front() {
                    self.paths.remove(&old);
                }
            }
        }
    }
}

/// A resolved handle: where the object is now and its attributes.
#[derive(Debug)]
pub struct Object {
    /// Absolute path on the server.
    pub path: PathBuf,
    /// Path below the export root (empty for the root).
    pub relative: PathBuf,
    /// `symlink_metadata` of the object.
    pub meta: Metadata,
}

impl Export {
    /// Exports `root`, a directory, under export id `id`.
    pub fn new(id: u32, root: &Path) -> std::io::Result<Export> {
        let root = root.canonicalize()?;
        let meta = std::fs::symlink_metadata(&root)?;
        if !meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a directory", root.display()),
            ));
        }
        let root_key = FileKey::of(&meta);
        let mut table = HandleTable::default();
        table.insert(root_key, PathBuf::new());
        Ok(Export {
            id,
            root,
            root_key,
            table: Mutex::new(table),
        })
    }

    /// The exported directory on the server.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root's handle (what MNT answers).
    pub fn root_handle(&self) -> NfsFh3 {
        self.handle_of(self.root_key)
    }

    fn handle_of(&self, key: FileKey) -> NfsFh3 {
        let mut data = Vec::with_capacity(HANDLE_LEN);
        data.extend_from_slice(&self.id.to_be_bytes());
        data.extend_from_slice(&key.dev.to_be_bytes());
        data.extend_from_slice(&key.ino.to_be_bytes());
        NfsFh3 { data }
    }

    /// The handle of the object at `relative` with `meta`, remembered so
    /// it resolves later.
    pub fn handle(&self, relative: &Path, meta: &Metadata) -> NfsFh3 {
        let key = FileKey::of(meta);
        self.lock().insert(key, relative.to_path_buf());
        self.handle_of(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HandleTable> {
        // A panic while holding the lock cannot leave the map half-changed
        // in a way that matters: every entry is checked when used.
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The object a handle stands for.
    pub fn resolve(&self, handle: &NfsFh3) -> Result<Object, NfsError> {
        let data = handle.data.as_slice();
        if data.len() != HANDLE_LEN || data[..4] != self.id.to_be_bytes() {
            return Err(NfsError::BAD_HANDLE);
        }
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&data[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let key = FileKey {
            dev: word(4),
            ino: word(12),
        };
        let known = self.lock().paths.get(&key).cloned();
        if let Some(relative) = known {
            let path = self.root.join(&relative);
            let meta = std::fs::symlink_metadata(&path).ok();
            if let Some(meta) = meta.filter(|meta| FileKey::of(meta) == key) {
                return Ok(Object {
                    path,
                    relative,
                    meta,
                });
            }
            // Removed, or renamed behind the server's back: look for it.
        }
        let found = self.search(key).ok_or(NfsError::STALE)?;
        self.lock().insert(key, found.relative.clone());
        Ok(found)
    }

    /// Finds the object with `key` below the root, breadth first, without
    /// following links, looking at no more than [`MAX_SEARCH`] entries: a
    /// handle from before a restart, or of an object renamed on the server.
    /// Keys not found are remembered (a few), so a client repeating a dead
    /// handle costs one search.
    fn search(&self, key: FileKey) -> Option<Object> {
        if self.lock().missing.contains(&key) {
            return None;
        }
        let mut queue = std::collections::VecDeque::from([PathBuf::new()]);
        let mut seen = 0;
        while let Some(relative) = queue.pop_front() {
            let Ok(entries) = std::fs::read_dir(self.root.join(&relative)) else {
                continue;
            };
            for entry in entries.flatten() {
                seen += 1;
                if seen > MAX_SEARCH {
                    break;
                }
                let child = relative.join(entry.file_name());
                if std::os::unix::fs::DirEntryExt::ino(&entry) == key.ino {
                    let path = self.root.join(&child);
                    let meta = std::fs::symlink_metadata(&path).ok();
                    if let Some(meta) = meta.filter(|meta| FileKey::of(meta) == key) {
                        return Some(Object {
                            path,
                            relative: child,
                            meta,
                        });
                    }
                }
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    queue.push_back(child);
                }
            }
            if seen > MAX_SEARCH {
                break;
            }
        }
        let mut table = self.lock();
        if table.missing.len() == MAX_MISSING {
            table.missing.pop_front();
        }
        table.missing.push_back(key);
        None
    }

    /// A directory's handle, refusing other objects with `NFS3ERR_NOTDIR`.
    pub fn resolve_dir(&self, handle: &NfsFh3) -> Result<Object, NfsError> {
        let dir = self.resolve(handle)?;
        if dir.meta.is_dir() {
            Ok(dir)
        } else {
            Err(NfsError::NOT_DIR)
        }
    }

    /// What `name` means in `dir`: `.` is the directory, `..` its parent
    /// (the root is its own parent, so nothing leaves the export), any other
    /// name a child. Returns the child's paths without checking it exists.
    pub fn child(&self, dir: &Object, name: &[u8]) -> Result<(PathBuf, PathBuf), NfsError> {
        let relative = match name {
            b"." => dir.relative.clone(),
            b".." => dir
                .relative
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            _ => dir.relative.join(checked_name(name)?),
        };
        Ok((self.root.join(&relative), relative))
    }

    /// The handle of a directory below the root, given as `/`-separated
    /// names (MNT of a subdirectory of the export).
    pub fn directory_handle(&self, below_root: &str) -> Result<NfsFh3, NfsError> {
        let mut relative = PathBuf::new();
        let mut meta = std::fs::symlink_metadata(&self.root)?;
        for name in below_root.split('/').filter(|name| !name.is_empty()) {
            relative.push(checked_name(name.as_bytes())?);
            meta = std::fs::symlink_metadata(self.root.join(&relative))?;
            if !meta.is_dir() {
                return Err(NfsError::NOT_DIR);
            }
        }
        Ok(self.handle(&relative, &meta))
    }

    /// Forgets where an object was (after REMOVE or RMDIR).
    pub fn forget(&self, meta: &Metadata) {
        let key = FileKey::of(meta);
        if key != self.root_key {
            self.lock().paths.remove(&key);
        }
    }

    /// Records a rename: the object and, for a directory, everything the
    /// table knows below it now live under `to`.
    pub fn renamed(&self, from: &Path, to: &Path) {
        let mut table = self.lock();
        for path in table.paths.values_mut() {
            if let Ok(rest) = path.strip_prefix(from) {
                *path = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
            }
        }
    }
}

/// A single name component a client may create or look up: not empty, not
/// `.` or `..`, no `/` or NUL, at most [`NAME_MAX`] bytes.
pub fn checked_name(name: &[u8]) -> Result<&OsStr, NfsError> {
    if name.len() > NAME_MAX as usize {
        return Err(NfsError::NAME_TOO_LONG);
    }
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0)
    {
        return Err(NfsError::INVAL);
    }
    Ok(OsStr::from_bytes(name))
}

fn time(seconds: i64, nanos: i64) -> Nfstime3 {
    Nfstime3 {
        // NFSv3 times are unsigned 32-bit seconds; earlier times are 0 and
        // later ones saturate.
        seconds: u32::try_from(seconds.max(0)).unwrap_or(u32::MAX),
        nseconds: u32::try_from(nanos).unwrap_or(0),
    }
}

/// NFS attributes of an object.
pub fn attributes(meta: &Metadata) -> Fattr3 {
    let file_type = meta.file_type();
    let r#type = if file_type.is_dir() {
        Ftype3::Nf3dir
    } else if file_type.is_symlink() {
        Ftype3::Nf3lnk
    } else if file_type.is_block_device() {
        Ftype3::Nf3blk
    } else if file_type.is_char_device() {
        Ftype3::Nf3chr
    } else if file_type.is_socket() {
        Ftype3::Nf3sock
    } else if file_type.is_fifo() {
        Ftype3::Nf3fifo
    } else {
        Ftype3::Nf3reg
    };
    let rdev = meta.rdev();
    Fattr3 {
        r#type,
        mode: meta.mode() & 0o7777,
        nlink: u32::try_from(meta.nlink()).unwrap_or(u32::MAX),
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.size(),
        used: meta.blocks().saturating_mul(512),
        rdev: Specdata3 {
            specdata1: rustix::fs::major(rdev),
            specdata2: rustix::fs::minor(rdev),
        },
        fsid: meta.dev(),
        fileid: meta.ino(),
        atime: time(meta.atime(), meta.atime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        ctime: time(meta.ctime(), meta.ctime_nsec()),
    }
}

/// The attributes weak cache consistency data carries from before a change.
pub fn wcc_attributes(meta: &Metadata) -> WccAttr {
    WccAttr {
        size: meta.size(),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        ctime: time(meta.ctime(), meta.ctime_nsec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("example-nfs-server-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn names_that_would_leave_the_directory_are_refused() {
        for bad in [&b""[..], b".", b"..", b"a/b", b"/", b"a\0b"] {
            assert_eq!(checked_name(bad), Err(NfsError::INVAL), "{bad:?}");
        }
        assert_eq!(checked_name(&[b'x'; 256]), Err(NfsError::NAME_TOO_LONG));
        assert!(checked_name(b"ok.txt").is_ok());
    }

    #[test]
    fn dot_dot_stops_at_the_export_root() {
        let dir = scratch("dotdot");
        let export = Export::new(1, &dir).unwrap();
        let root = export.resolve(&export.root_handle()).unwrap();
        let (path, relative) = export.child(&root, b"..").unwrap();
        assert_eq!(relative, PathBuf::new());
        assert_eq!(path, export.root());

        let (sub_path, sub_relative) = export.child(&root, b"sub").unwrap();
        let sub_meta = std::fs::symlink_metadata(&sub_path).unwrap();
        let sub = export
            .resolve(&export.handle(&sub_relative, &sub_meta))
            .unwrap();
        let (up, up_relative) = export.child(&sub, b"..").unwrap();
        assert_eq!(up_relative, PathBuf::new());
        assert_eq!(up, export.root());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn foreign_and_forgotten_handles_are_refused() {
        let dir = scratch("handles");
        let export = Export::new(7, &dir).unwrap();
        let other = Export::new(8, &dir).unwrap();
        assert_eq!(
            export.resolve(&other.root_handle()).unwrap_err(),
            NfsError::BAD_HANDLE
        );
        let short = NfsFh3 { data: vec![0; 3] };
        assert_eq!(export.resolve(&short).unwrap_err(), NfsError::BAD_HANDLE);

        let file = dir.join("f");
        std::fs::write(&file, b"x").unwrap();
        let meta = std::fs::symlink_metadata(&file).unwrap();
        let handle = export.handle(Path::new("f"), &meta);
        assert!(export.resolve(&handle).is_ok());
        std::fs::remove_file(&file).unwrap();
        assert_eq!(export.resolve(&handle).unwrap_err(), NfsError::STALE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_renamed_directory_keeps_the_handles_below_it() {
        let dir = scratch("rename");
        std::fs::write(dir.join("sub/f"), b"x").unwrap();
        let export = Export::new(1, &dir).unwrap();
        let meta = std::fs::symlink_metadata(dir.join("sub/f")).unwrap();
        let handle = export.handle(Path::new("sub/f"), &meta);
        std::fs::rename(dir.join("sub"), dir.join("moved")).unwrap();
        export.renamed(Path::new("sub"), Path::new("moved"));
        let object = export.resolve(&handle).unwrap();
        assert_eq!(object.relative, Path::new("moved/f"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
