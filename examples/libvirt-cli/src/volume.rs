//! `vol-upload` and `vol-download`: a file to or from a volume over the
//! runtime's streams, holes kept as holes with `--sparse`.

use std::io::SeekFrom;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use xdrgen_libvirt::StorageVol;
use xdrgen_libvirt::constants::{StorageVolDownloadFlags, StorageVolUploadFlags};
use xdrgen_runtime::libvirt::{Extent, StreamData, file_extents};

use super::{Failure, Outcome};

/// How much of the file one read takes (libvirt's payload size).
const CHUNK: usize = 256 * 1024;

fn download_flags(sparse: bool) -> StorageVolDownloadFlags {
    if sparse {
        StorageVolDownloadFlags::STREAM
    } else {
        StorageVolDownloadFlags::empty()
    }
}

fn upload_flags(sparse: bool) -> StorageVolUploadFlags {
    if sparse {
        StorageVolUploadFlags::STREAM
    } else {
        StorageVolUploadFlags::empty()
    }
}

pub(crate) async fn download(
    vol: &StorageVol,
    file: &Path,
    offset: u64,
    length: u64,
    sparse: bool,
) -> Outcome {
    let shown = file.display();
    let created = !file.exists();
    let mut target = tokio::fs::File::create(file)
        .await
        .map_err(|e| Failure::because(format!("cannot create {shown}"), &e))?;
    let result = async {
        let mut stream = vol
            .download(offset, length, download_flags(sparse))
            .await
            .map_err(|e| {
                Failure::because(format!("cannot download from volume {}", vol.name()), &e)
            })?;
        let mut at = 0u64;
        loop {
            let piece = stream
                .recv()
                .await
                .map_err(|e| Failure::because("cannot receive data from volume", &e))?;
            match piece {
                None => break,
                Some(StreamData::Data(bytes)) => {
                    target
                        .write_all(&bytes)
                        .await
                        .map_err(|e| Failure::because(format!("cannot write to {shown}"), &e))?;
                    at += bytes.len() as u64;
                }
                // A hole: skip over it; the file's length is set at the
                // end, so a trailing hole stays one too.
                Some(StreamData::Hole { length, .. }) => {
                    // The runtime refuses negative holes before they get here.
                    at += u64::try_from(length).unwrap_or(0);
                    target
                        .seek(SeekFrom::Start(at))
                        .await
                        .map_err(|e| Failure::because(format!("cannot seek in {shown}"), &e))?;
                }
            }
        }
        stream
            .finish()
            .await
            .map_err(|e| Failure::because("cannot close volume stream", &e))?;
        target
            .set_len(at)
            .await
            .and(target.flush().await)
            .map_err(|e| Failure::because(format!("cannot write to {shown}"), &e))
    }
    .await;
    if result.is_err() && created {
        // virsh removes a file it created for a download that failed.
        let _ = std::fs::remove_file(file);
    }
    result
}

pub(crate) async fn upload(
    vol: &StorageVol,
    file: &Path,
    offset: u64,
    length: u64,
    sparse: bool,
) -> Outcome {
    let shown = file.display();
    let mut source = tokio::fs::File::open(file)
        .await
        .map_err(|e| Failure::because(format!("cannot read {shown}"), &e))?;
    let size = source
        .metadata()
        .await
        .map_err(|e| Failure::because(format!("cannot read {shown}"), &e))?
        .len();
    let extents = if sparse {
        let std_file = source
            .try_clone()
            .await
            .map_err(|e| Failure::because(format!("cannot read {shown}"), &e))?
            .into_std()
            .await;
        file_extents(&std_file, 0, size)
            .map_err(|e| Failure::because(format!("cannot find the holes of {shown}"), &e))?
    } else {
        vec![Extent {
            offset: 0,
            length: size,
            data: true,
        }]
    };
    let stream = vol
        .upload(offset, length, upload_flags(sparse))
        .await
        .map_err(|e| Failure::because(format!("cannot upload to volume {}", vol.name()), &e))?;
    let mut buffer = vec![0u8; CHUNK];
    for Extent {
        offset: start,
        length: len,
        data: is_data,
    } in extents
    {
        if !is_data {
            stream
                .send_hole(len)
                .await
                .map_err(|e| Failure::because("cannot send data to volume", &e))?;
            continue;
        }
        source
            .seek(SeekFrom::Start(start))
            .await
            .map_err(|e| Failure::because(format!("cannot seek in {shown}"), &e))?;
        let mut left = len;
        while left > 0 {
            let want = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            let got = source
                .read(&mut buffer[..want])
                .await
                .map_err(|e| Failure::because(format!("cannot read {shown}"), &e))?;
            if got == 0 {
                // The file shrank while being read: send what there was.
                break;
            }
            stream
                .send(&buffer[..got])
                .await
                .map_err(|e| Failure::because("cannot send data to volume", &e))?;
            left -= got as u64;
        }
    }
    stream
        .finish()
        .await
        .map_err(|e| Failure::because("cannot close volume stream", &e))
}
