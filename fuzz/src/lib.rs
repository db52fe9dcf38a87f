//! What the fuzz targets share: the generated REMOTE protocol and the type
//! table of `generated_decoders`, the decode/re-encode property, read
//! chunking driven by the input, the MOUNT service behind
//! `rpc_server_dispatch`, and a session of bytes in, bytes out against a
//! server over an in-memory pipe.

use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use xdrgen_protocols::mount3::mount_program::mount_v3;
use xdrgen_protocols::mount3::{
    Dirpath, Exportnode, Exports, Groupnode, Mountbody, Mountlist, Mountres3, Mountres3Default,
    Mountres3Ok, Mountstat3,
};
use xdrgen_runtime::rpc::{AuthStat, CallContext, Fault};
use xdrgen_runtime::{Decoder, Limits, XdrDecode, XdrEncode};

/// libvirt's REMOTE protocol, types only (see build.rs for which file).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod remote {
    include!(concat!(env!("OUT_DIR"), "/remote.rs"));
}

/// One decodable type of `generated_decoders`.
pub struct Entry {
    /// FNV-1a of `name`: the first four bytes of an input that means it.
    pub selector: u32,
    /// `nfs3::<xdr name>` or `remote::<xdr name>`.
    pub name: &'static str,
    /// Decodes the bytes as the type and checks the property.
    pub check: fn(&[u8]),
}

include!(concat!(env!("OUT_DIR"), "/types.rs"));

/// The type an input's first four bytes select: the one with that
/// selector, or else (random bytes) the selector modulo the table size.
pub fn select(selector: u32) -> &'static Entry {
    match TYPES.binary_search_by_key(&selector, |e| e.selector) {
        Ok(i) => &TYPES[i],
        Err(_) => &TYPES[selector as usize % TYPES.len()],
    }
}

/// FNV-1a (32 bits), as build.rs computes selectors.
pub fn selector_of(name: &str) -> u32 {
    selector_of_bytes(name.as_bytes())
}

/// Decodes a `T` from the front of `bytes` under the default [`Limits`]
/// (what a server applies to untrusted input). Strict XDR has one encoding
/// per value, so whatever decodes must encode back to exactly the bytes it
/// consumed, and `encoded_len` must say so.
pub fn decode_reencode<T: XdrDecode + XdrEncode>(bytes: &[u8]) {
    let Ok(mut d) = Decoder::new(bytes, &Limits::default()) else {
        return;
    };
    let Ok(value) = T::decode(&mut d) else {
        return;
    };
    let consumed = &bytes[..d.position()];
    assert_eq!(value.encoded_len(), consumed.len(), "encoded_len disagrees");
    let again = value.to_xdr().expect("a decoded value encodes");
    assert_eq!(
        again, consumed,
        "re-encoding differs from the bytes decoded"
    );
}

/// Splits `stream` into the pieces a transport might deliver, sized by
/// the stream's own bytes: each piece is 1 + (its first byte % 61) long,
/// so any split a fuzzer finds is reproducible from the input alone.
pub fn pieces(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = stream;
    std::iter::from_fn(move || {
        let first = *rest.first()?;
        let len = (1 + usize::from(first) % 61).min(rest.len());
        let (piece, tail) = rest.split_at(len);
        rest = tail;
        Some(piece)
    })
}

/// The largest input the server targets accept: sessions stay fast and
/// what a session may allocate stays small.
pub const MAX_SESSION_INPUT: usize = 64 * 1024;

/// A current-thread runtime with timers (the servers arm some), built once
/// per fuzzing thread.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    thread_local! {
        static RUNTIME: &'static tokio::runtime::Runtime = Box::leak(Box::new(
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .expect("a current-thread runtime"),
        ));
    }
    RUNTIME.with(|rt| *rt)
}

/// Sends `input` into `server_side`'s peer, closes the writing half, and
/// returns everything the server wrote until it closed. The server runs in
/// `serve`, which must end once its input ends.
pub async fn session<F>(input: &[u8], serve: impl FnOnce(DuplexStream) -> F) -> Vec<u8>
where
    F: Future<Output = ()>,
{
    let (mut client, server_side) = tokio::io::duplex(16 * 1024);
    let (mut read, mut write) = tokio::io::split(&mut client);
    let send = async {
        // The server may close before taking every byte (a fatal framing
        // error): a failed write is part of the session, not a finding.
        let _ = write.write_all(input).await;
        let _ = write.shutdown().await;
    };
    let receive = async {
        let mut replies = Vec::new();
        let _ = read.read_to_end(&mut replies).await;
        replies
    };
    let ((), (), replies) = tokio::join!(send, serve(server_side), receive);
    replies
}

/// An in-memory MOUNT version 3 server (RFC 1813 §5) with two exports:
/// enough state that MNT, UMNT, DUMP and EXPORT answer differently
/// depending on earlier calls. MNT requires AUTH_SYS, as real servers do.
#[derive(Default)]
pub struct MountService {
    mounts: Mutex<Vec<(Vec<u8>, Vec<u8>)>>,
}

const EXPORTS: [&str; 2] = ["/export", "/srv/share"];
/// Bound on the mount table, so a session cannot grow it without limit.
const MAX_MOUNTS: usize = 64;

impl MountService {
    fn mounts(&self) -> std::sync::MutexGuard<'_, Vec<(Vec<u8>, Vec<u8>)>> {
        self.mounts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn mount_error(status: Mountstat3) -> Mountres3 {
    Mountres3::Default(Mountres3Default::new(status).expect("an error status"))
}

impl mount_v3::Service for MountService {
    async fn mountproc3_mnt(&self, cx: &CallContext, dir: Dirpath) -> Result<Mountres3, Fault> {
        let Some(auth) = cx.auth_sys() else {
            return Err(Fault::Auth(AuthStat::TooWeak));
        };
        if !EXPORTS.iter().any(|e| e.as_bytes() == dir.as_bytes()) {
            return Ok(mount_error(Mountstat3::Mnt3errNoent));
        }
        let mut mounts = self.mounts();
        if mounts.len() >= MAX_MOUNTS {
            return Ok(mount_error(Mountstat3::Mnt3errServerfault));
        }
        mounts.push((
            auth.machine_name.as_bytes().to_vec(),
            dir.as_bytes().to_vec(),
        ));
        let mut fhandle = b"fh:".to_vec();
        fhandle.extend_from_slice(dir.as_bytes());
        Ok(Mountres3::Mnt3Ok(Mountres3Ok {
            fhandle,
            auth_flavors: vec![1],
        }))
    }

    async fn mountproc3_dump(&self, _cx: &CallContext) -> Result<Mountlist, Fault> {
        let mut list: Mountlist = None;
        for (host, dir) in self.mounts().iter().rev() {
            list = Some(Box::new(Mountbody {
                ml_hostname: host.clone().into(),
                ml_directory: dir.clone().into(),
                ml_next: list,
            }));
        }
        Ok(list)
    }

    async fn mountproc3_umnt(&self, cx: &CallContext, dir: Dirpath) -> Result<(), Fault> {
        let host = cx
            .auth_sys()
            .map(|a| a.machine_name.as_bytes().to_vec())
            .unwrap_or_default();
        self.mounts()
            .retain(|(h, d)| !(*h == host && d.as_slice() == dir.as_bytes()));
        Ok(())
    }

    async fn mountproc3_umntall(&self, cx: &CallContext) -> Result<(), Fault> {
        let host = cx
            .auth_sys()
            .map(|a| a.machine_name.as_bytes().to_vec())
            .unwrap_or_default();
        self.mounts().retain(|(h, _)| *h != host);
        Ok(())
    }

    async fn mountproc3_export(&self, _cx: &CallContext) -> Result<Exports, Fault> {
        let mut list: Exports = None;
        for dir in EXPORTS.iter().rev() {
            let groups = Some(Box::new(Groupnode {
                gr_name: "localhost".into(),
                gr_next: None,
            }));
            list = Some(Box::new(Exportnode {
                ex_dir: (*dir).into(),
                ex_groups: groups,
                ex_next: list,
            }));
        }
        Ok(list)
    }
}

/// The MOUNT service as the runtime's server dispatches to it.
pub fn mount_dispatcher() -> mount_v3::Dispatcher<MountService> {
    mount_v3::Dispatcher(MountService::default())
}

/// Bytes encoded as they are (a packet body that is already XDR).
pub struct Raw<'a>(pub &'a [u8]);

impl XdrEncode for Raw<'_> {
    fn encoded_len(&self) -> usize {
        self.0.len()
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), xdrgen_runtime::EncodeError> {
        out.extend_from_slice(self.0);
        Ok(())
    }
}

/// FNV-1a of any bytes (seed file names).
pub fn selector_of_bytes(bytes: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &byte in bytes {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}
