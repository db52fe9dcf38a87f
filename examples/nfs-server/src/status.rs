//! NFS errors: an `nfsstat3` other than `NFS3_OK`, made from the
//! `io::Error` of a failed file system call.

use std::io;

use rustix::io::Errno;
use xdrgen_protocols::nfs3::Nfsstat3;

/// A failed procedure's status; never `NFS3_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NfsError(Nfsstat3);

impl NfsError {
    /// The handle is not one of ours (wrong length or export).
    pub const BAD_HANDLE: NfsError = NfsError(Nfsstat3::Nfs3errBadhandle);
    /// The handle was ours but names nothing now.
    pub const STALE: NfsError = NfsError(Nfsstat3::Nfs3errStale);
    /// Not a directory.
    pub const NOT_DIR: NfsError = NfsError(Nfsstat3::Nfs3errNotdir);
    /// A directory where a file was needed.
    pub const IS_DIR: NfsError = NfsError(Nfsstat3::Nfs3errIsdir);
    /// Bad argument (a name with a slash, a special file to read).
    pub const INVAL: NfsError = NfsError(Nfsstat3::Nfs3errInval);
    /// The object exists.
    pub const EXIST: NfsError = NfsError(Nfsstat3::Nfs3errExist);
    /// Not supported by this server.
    pub const NOT_SUPP: NfsError = NfsError(Nfsstat3::Nfs3errNotsupp);
    /// A READDIR cookie from an older listing of a changed directory.
    pub const BAD_COOKIE: NfsError = NfsError(Nfsstat3::Nfs3errBadCookie);
    /// Not even one directory entry fits the client's count.
    pub const TOO_SMALL: NfsError = NfsError(Nfsstat3::Nfs3errToosmall);
    /// A SETATTR guard that does not match the object's ctime.
    pub const NOT_SYNC: NfsError = NfsError(Nfsstat3::Nfs3errNotSync);
    /// The caller may not do this.
    pub const ACCES: NfsError = NfsError(Nfsstat3::Nfs3errAcces);
    /// A name longer than the server allows.
    pub const NAME_TOO_LONG: NfsError = NfsError(Nfsstat3::Nfs3errNametoolong);
    /// A failure with no better status.
    pub const SERVER_FAULT: NfsError = NfsError(Nfsstat3::Nfs3errServerfault);

    /// The status.
    pub fn status(self) -> Nfsstat3 {
        self.0
    }

    /// The failure discriminant of a result union (each result type has
    /// its own `…Default` wrapper of `nfsstat3`).
    pub fn discriminant<D: TryFrom<Nfsstat3>>(self) -> D {
        match D::try_from(self.0) {
            Ok(d) => d,
            // Every constructor above and `From<io::Error>` avoid NFS3_OK.
            Err(_) => unreachable!("an NfsError is never NFS3_OK"),
        }
    }
}

impl From<io::Error> for NfsError {
    /// The errno's `nfsstat3` (RFC 1813 §2.6 takes most values from Unix
    /// errnos), `NFS3ERR_IO` for an errno with no NFS status, and
    /// `NFS3ERR_SERVERFAULT` for an error without an errno.
    fn from(error: io::Error) -> Self {
        let Some(errno) = error.raw_os_error().map(Errno::from_raw_os_error) else {
            return match error.kind() {
                io::ErrorKind::NotFound => NfsError(Nfsstat3::Nfs3errNoent),
                io::ErrorKind::PermissionDenied => NfsError(Nfsstat3::Nfs3errAcces),
                io::ErrorKind::AlreadyExists => NfsError(Nfsstat3::Nfs3errExist),
                io::ErrorKind::InvalidInput => NfsError(Nfsstat3::Nfs3errInval),
                _ => {
                    tracing::warn!(%error, "a file system call failed");
                    NfsError::SERVER_FAULT
                }
            };
        };
        let status = match errno {
            Errno::PERM => Nfsstat3::Nfs3errPerm,
            Errno::NOENT => Nfsstat3::Nfs3errNoent,
            Errno::NXIO => Nfsstat3::Nfs3errNxio,
            Errno::ACCESS => Nfsstat3::Nfs3errAcces,
            Errno::EXIST => Nfsstat3::Nfs3errExist,
            Errno::XDEV => Nfsstat3::Nfs3errXdev,
            Errno::NODEV => Nfsstat3::Nfs3errNodev,
            Errno::NOTDIR => Nfsstat3::Nfs3errNotdir,
            Errno::ISDIR => Nfsstat3::Nfs3errIsdir,
            Errno::INVAL => Nfsstat3::Nfs3errInval,
            Errno::FBIG => Nfsstat3::Nfs3errFbig,
            Errno::NOSPC => Nfsstat3::Nfs3errNospc,
            Errno::ROFS => Nfsstat3::Nfs3errRofs,
            Errno::MLINK => Nfsstat3::Nfs3errMlink,
            Errno::NAMETOOLONG => Nfsstat3::Nfs3errNametoolong,
            Errno::NOTEMPTY => Nfsstat3::Nfs3errNotempty,
            Errno::DQUOT => Nfsstat3::Nfs3errDquot,
            Errno::STALE => Nfsstat3::Nfs3errStale,
            Errno::REMOTE => Nfsstat3::Nfs3errRemote,
            // O_NOFOLLOW met a symbolic link: not a file this call can use.
            Errno::LOOP => Nfsstat3::Nfs3errInval,
            Errno::OPNOTSUPP => Nfsstat3::Nfs3errNotsupp,
            _ => Nfsstat3::Nfs3errIo,
        };
        if status == Nfsstat3::Nfs3errIo {
            // The client sees only NFS3ERR_IO: the cause is said here.
            tracing::warn!(%error, "a file system call failed");
        }
        NfsError(status)
    }
}

impl From<Errno> for NfsError {
    fn from(errno: Errno) -> Self {
        NfsError::from(io::Error::from(errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_map_to_their_nfs_statuses() {
        let of = |errno: Errno| NfsError::from(io::Error::from(errno)).status();
        assert_eq!(of(Errno::NOENT), Nfsstat3::Nfs3errNoent);
        assert_eq!(of(Errno::NOTEMPTY), Nfsstat3::Nfs3errNotempty);
        assert_eq!(of(Errno::NAMETOOLONG), Nfsstat3::Nfs3errNametoolong);
        assert_eq!(of(Errno::DQUOT), Nfsstat3::Nfs3errDquot);
        assert_eq!(of(Errno::BADF), Nfsstat3::Nfs3errIo);
        let custom = io::Error::other("no errno");
        assert_eq!(
            NfsError::from(custom).status(),
            Nfsstat3::Nfs3errServerfault
        );
    }
}
