//! Storage volumes served from a directory ([`Daemon::with_volumes`]):
//! each regular file in it is a volume of pool `default`, whose key and
//! path are the file's canonical path, as in libvirt's `dir` pools.
//! Downloads and uploads run on the call's stream, sparse when the call
//! asks: holes found with `SEEK_DATA`/`SEEK_HOLE` go out as stream holes,
//! and holes that come in are punched into the file.
//!
//! [`Daemon::with_volumes`]: crate::Daemon::with_volumes

use std::io::{self, SeekFrom};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufReader};
use xdrgen_runtime::libvirt::{
    Context, Extent, LEGACY_PAYLOAD_MAX, RemoteError, ServerStream, StreamData, StreamError,
    error_code, file_extents,
};

use crate::remote::{
    RemoteNonnullStorageVol, RemoteStorageVolDownloadArgs, RemoteStorageVolUploadArgs,
};

/// The one pool volumes belong to.
const POOL: &str = "default";
/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`.
const DOWNLOAD_SPARSE_STREAM: u32 = 1;
/// `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`.
const UPLOAD_SPARSE_STREAM: u32 = 1;
/// `VIR_ERR_SYSTEM_ERROR`.
const SYSTEM_ERROR: i32 = 38;
/// `VIR_ERR_NO_STORAGE_VOL`.
const NO_STORAGE_VOL: i32 = 50;
/// `VIR_FROM_STORAGE`.
const FROM_STORAGE: i32 = 18;

fn no_volume(what: &str) -> RemoteError {
    RemoteError::new(
        NO_STORAGE_VOL,
        FROM_STORAGE,
        format!("Storage volume not found: {what}"),
    )
}

fn system_error(what: &str, path: &Path, e: &io::Error) -> RemoteError {
    RemoteError::new(
        SYSTEM_ERROR,
        FROM_STORAGE,
        format!("{what} '{}': {e}", path.display()),
    )
}

fn unsupported_flags(flags: u32) -> RemoteError {
    RemoteError::new(
        error_code::INVALID_ARG,
        FROM_STORAGE,
        format!("unsupported flags ({flags:#x})"),
    )
}

/// The volume at `path` (its key or path) in `dir`.
pub(crate) fn lookup(
    dir: Option<&Path>,
    path: &str,
) -> Result<RemoteNonnullStorageVol, RemoteError> {
    let file = resolve(dir, path)?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(RemoteNonnullStorageVol {
        pool: POOL.into(),
        name: name.into(),
        key: file.to_string_lossy().as_ref().into(),
    })
}

/// A volume's file: a regular file directly in `dir`.
fn resolve(dir: Option<&Path>, path: &str) -> Result<PathBuf, RemoteError> {
    let missing = || no_volume(&format!("no storage vol with matching path '{path}'"));
    let dir = dir.ok_or_else(missing)?;
    let file = std::fs::canonicalize(path).map_err(|_| missing())?;
    let in_dir = std::fs::canonicalize(dir).is_ok_and(|dir| file.parent() == Some(dir.as_path()));
    if !in_dir || !file.is_file() {
        return Err(missing());
    }
    Ok(file)
}

/// STORAGE_VOL_DOWNLOAD: the volume's bytes from `offset`, `length` of
/// them (0: to the end), on the call's stream; holes as stream holes when
/// the call asks for a sparse stream.
pub(crate) fn download(
    dir: Option<&Path>,
    cx: &Context,
    args: &RemoteStorageVolDownloadArgs,
) -> Result<(), RemoteError> {
    if args.flags & !DOWNLOAD_SPARSE_STREAM != 0 {
        return Err(unsupported_flags(args.flags));
    }
    let sparse = args.flags & DOWNLOAD_SPARSE_STREAM != 0;
    let path = resolve(dir, &args.vol.key.to_string())?;
    let file = std::fs::File::open(&path).map_err(|e| system_error("cannot open", &path, &e))?;
    let size = file
        .metadata()
        .map_err(|e| system_error("cannot stat", &path, &e))?
        .len();
    if args.offset > size {
        return Err(RemoteError::new(
            error_code::INVALID_ARG,
            FROM_STORAGE,
            format!(
                "offset {} is past the end of the volume ({size})",
                args.offset
            ),
        ));
    }
    let end = match args.length {
        0 => size,
        length => size.min(args.offset.saturating_add(length)),
    };
    let extents = if sparse {
        file_extents(&file, args.offset, end).map_err(|e| system_error("cannot map", &path, &e))?
    } else {
        vec![Extent {
            offset: args.offset,
            length: end - args.offset,
            data: true,
        }]
    };
    let mut stream = cx.open_stream();
    stream.set_sparse(sparse);
    let file = tokio::fs::File::from_std(file);
    tokio::spawn(async move {
        match send_extents(&mut stream, file, &extents).await {
            Ok(()) => {
                let _ = stream.finish().await;
            }
            Err(e) => {
                let _ = stream.abort(&system_error("cannot read", &path, &e)).await;
            }
        }
    });
    Ok(())
}

async fn send_extents(
    stream: &mut ServerStream,
    mut file: tokio::fs::File,
    extents: &[Extent],
) -> io::Result<()> {
    for &Extent {
        offset,
        length,
        data,
    } in extents
    {
        if !data {
            stream.send_hole(length).await?;
            continue;
        }
        file.seek(SeekFrom::Start(offset)).await?;
        // Reads of a whole packet's payload, each written as one packet.
        let mut reader = BufReader::with_capacity(
            LEGACY_PAYLOAD_MAX,
            tokio::io::AsyncReadExt::take(&mut file, length),
        );
        let copied = tokio::io::copy_buf(&mut reader, stream).await?;
        if copied != length {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the volume shrank: {copied} of {length} bytes at {offset}"),
            ));
        }
    }
    Ok(())
}

/// STORAGE_VOL_UPLOAD: the call's stream written into the volume from
/// `offset`, at most `length` bytes (0: no limit); holes of a sparse
/// stream punched into the file.
pub(crate) fn upload(
    dir: Option<&Path>,
    cx: &Context,
    args: &RemoteStorageVolUploadArgs,
) -> Result<(), RemoteError> {
    if args.flags & !UPLOAD_SPARSE_STREAM != 0 {
        return Err(unsupported_flags(args.flags));
    }
    let path = resolve(dir, &args.vol.key.to_string())?;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| system_error("cannot open", &path, &e))?;
    let mut stream = cx.open_stream();
    stream.set_sparse(args.flags & UPLOAD_SPARSE_STREAM != 0);
    let (offset, limit) = (args.offset, args.length);
    tokio::spawn(async move {
        if let Err(e) = receive(&mut stream, file, offset, limit).await {
            // A stream the client aborted, or a connection gone, has
            // nobody left to tell.
            let stream_gone = e
                .get_ref()
                .is_some_and(|inner| inner.downcast_ref::<StreamError>().is_some());
            if !stream_gone {
                let _ = stream.abort(&system_error("cannot write", &path, &e)).await;
            }
        }
    });
    Ok(())
}

/// Writes what the client sends until it finishes. `recv_chunk` confirms
/// the finish as it returns `None`, and the client's upload returns then:
/// each piece is written out (not only handed to tokio's file task)
/// before the next is asked for, so the volume holds all of it by then.
async fn receive(
    stream: &mut ServerStream,
    file: std::fs::File,
    offset: u64,
    limit: u64,
) -> io::Result<()> {
    let mut file = tokio::fs::File::from_std(file);
    let mut at = offset;
    file.seek(SeekFrom::Start(at)).await?;
    while let Some(piece) = stream.recv_chunk().await? {
        let length = match &piece {
            StreamData::Data(data) => u64::try_from(data.len()).unwrap_or(u64::MAX),
            StreamData::Hole { length, .. } => u64::try_from(*length).unwrap_or(0),
        };
        if limit != 0 && at + length > offset + limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the client sent more than the {limit} bytes it announced"),
            ));
        }
        match piece {
            StreamData::Data(data) => {
                file.write_all(&data).await?;
                file.flush().await?;
            }
            StreamData::Hole { .. } => {
                file.flush().await?;
                punch_hole(&file, at, length).await?;
                file.seek(SeekFrom::Start(at + length)).await?;
            }
        }
        at += length;
    }
    file.flush().await?;
    file.sync_all().await
}

/// Makes `length` bytes at `at` a hole: the file grows (sparsely) to
/// cover them, and what it held there is deallocated.
async fn punch_hole(file: &tokio::fs::File, at: u64, length: u64) -> io::Result<()> {
    let size = file.metadata().await?.len();
    if at + length > size {
        file.set_len(at + length).await?;
    }
    if at < size {
        let punched = size.min(at + length) - at;
        rustix::fs::fallocate(
            file.as_fd(),
            rustix::fs::FallocateFlags::PUNCH_HOLE | rustix::fs::FallocateFlags::KEEP_SIZE,
            at,
            punched,
        )?;
    }
    Ok(())
}
