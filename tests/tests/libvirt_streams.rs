//! libvirt streams as `AsyncRead`/`AsyncWrite` and with sparse holes, in
//! both directions on client and server: volumes downloaded and uploaded
//! between our client and the example daemon (files with real holes), and
//! stock `virsh vol-download --sparse` / `vol-upload --sparse` against the
//! daemon. Also the client's close future, cancelled calls and event lag.

use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use example_libvirt_daemon::Daemon;
use example_libvirt_daemon::remote::remote_program::Client;
use example_libvirt_daemon::remote::{
    RemoteNonnullStorageVol, RemoteStorageVolDownloadArgs, RemoteStorageVolLookupByPathArgs,
    RemoteStorageVolUploadArgs,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc};
use xdrgen_runtime::libvirt::{
    CloseReason, Connection, ConnectionConfig, Context, Dispatch, DispatchFuture, Error, HoleError,
    PacketError, RemoteError, Server, ServerConfig, StreamData, StreamError, error_code,
    error_domain,
};
use xdrgen_runtime::{DecodeError, Limits, XdrDecode, XdrEncode};
use xdrgen_tests::libvirt;

const MIB: u64 = 1024 * 1024;
/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM`, `..._UPLOAD_SPARSE_STREAM`.
const SPARSE: u32 = 1;

/// A sparse file's layout: 1 MiB of data, an 8 MiB hole, 64 KiB of data
/// and a 4 MiB hole to the end (block-aligned, so the file system keeps
/// the holes exactly where they were made).
const LAYOUT: [(bool, u64); 4] = [
    (true, MIB),
    (false, 8 * MIB),
    (true, 64 * 1024),
    (false, 4 * MIB),
];

/// Writes `layout` to `path` with real holes; returns the file's bytes.
fn write_sparse(path: &Path, layout: &[(bool, u64)]) -> Vec<u8> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::File::create(path).unwrap();
    let mut bytes = Vec::new();
    for (i, &(data, length)) in layout.iter().enumerate() {
        let length = usize::try_from(length).unwrap();
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

/// Bytes the file has allocated on disk.
fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// `path` holds `expected` and allocates little more than [`LAYOUT`]'s
/// data (half a MiB of slack for the file system); `holes_lost` says what
/// went wrong if not.
fn assert_sparse_copy(path: &Path, expected: &[u8], holes_lost: &str) {
    assert!(std::fs::read(path).unwrap() == expected, "the bytes differ");
    let used = allocated(path);
    assert!(
        used < data_bytes(&LAYOUT) + MIB / 2,
        "{} allocates {used} bytes for {} of data: {holes_lost}",
        path.display(),
        data_bytes(&LAYOUT)
    );
}

fn data_bytes(layout: &[(bool, u64)]) -> u64 {
    layout
        .iter()
        .filter(|(data, _)| *data)
        .map(|(_, n)| n)
        .sum()
}

/// Consecutive data merged: the stream's shape as (is data, length).
fn shape(pieces: &[StreamData]) -> (Vec<(bool, u64)>, Vec<u8>) {
    let mut shape: Vec<(bool, u64)> = Vec::new();
    let mut bytes = Vec::new();
    for piece in pieces {
        let (data, length) = match piece {
            StreamData::Data(d) => {
                bytes.extend_from_slice(d);
                (true, d.len() as u64)
            }
            StreamData::Hole { length, flags } => {
                assert_eq!(*flags, 0);
                let length = u64::try_from(*length).unwrap();
                bytes.resize(bytes.len() + usize::try_from(length).unwrap(), 0);
                (false, length)
            }
        };
        match shape.last_mut() {
            Some((was_data, n)) if *was_data == data => *n += length,
            _ => shape.push((data, length)),
        }
    }
    (shape, bytes)
}

async fn daemon_with_volumes(test: &str) -> (PathBuf, SocketAddr, Client) {
    let dir = xdrgen_tests::scratch_dir("libvirt-streams", test);
    let (_server, addr) = libvirt::serve_example(Daemon::new().with_volumes(&dir)).await;
    let connection = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    (dir, addr, Client(connection))
}

async fn volume(client: &Client, path: &Path) -> RemoteNonnullStorageVol {
    let args = RemoteStorageVolLookupByPathArgs {
        path: path.to_str().unwrap().into(),
    };
    client.storage_vol_lookup_by_path(&args).await.unwrap().vol
}

fn download_args(vol: RemoteNonnullStorageVol, flags: u32) -> RemoteStorageVolDownloadArgs {
    RemoteStorageVolDownloadArgs {
        vol,
        offset: 0,
        length: 0,
        flags,
    }
}

fn upload_args(vol: RemoteNonnullStorageVol, flags: u32) -> RemoteStorageVolUploadArgs {
    RemoteStorageVolUploadArgs {
        vol,
        offset: 0,
        length: 0,
        flags,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volume_downloads_with_tokio_io_copy_byte_identical() {
    let (dir, _addr, client) = daemon_with_volumes("copy-down").await;
    let path = dir.join("disk.img");
    let expected = write_sparse(&path, &LAYOUT);
    let vol = volume(&client, &path).await;
    // Plain and sparse: through `AsyncRead` a hole reads as zeros.
    for flags in [0, SPARSE] {
        let ((), mut stream) = client
            .storage_vol_download(&download_args(vol.clone(), flags))
            .await
            .unwrap();
        stream.set_sparse(flags == SPARSE);
        let mut got = Vec::new();
        let copied = tokio::io::copy(&mut stream, &mut got).await.unwrap();
        stream.shutdown().await.unwrap();
        assert_eq!(copied, expected.len() as u64, "flags {flags}");
        assert!(got == expected, "flags {flags}: the bytes differ");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sparse_download_keeps_the_holes_and_a_plain_one_has_none() {
    let (dir, _addr, client) = daemon_with_volumes("sparse-down").await;
    let path = dir.join("disk.img");
    let expected = write_sparse(&path, &LAYOUT);
    let vol = volume(&client, &path).await;

    let ((), mut stream) = client
        .storage_vol_download(&download_args(vol.clone(), SPARSE))
        .await
        .unwrap();
    stream.set_sparse(true);
    let mut pieces = Vec::new();
    while let Some(piece) = stream.recv().await.unwrap() {
        pieces.push(piece);
    }
    stream.finish().await.unwrap();
    let (got_shape, bytes) = shape(&pieces);
    assert_eq!(got_shape, LAYOUT.to_vec());
    assert!(bytes == expected, "the bytes differ");

    // Without the sparse flag the daemon sends the holes as zeros.
    let ((), mut stream) = client
        .storage_vol_download(&download_args(vol, 0))
        .await
        .unwrap();
    let mut pieces = Vec::new();
    while let Some(piece) = stream.recv().await.unwrap() {
        pieces.push(piece);
    }
    stream.finish().await.unwrap();
    let (got_shape, bytes) = shape(&pieces);
    assert_eq!(got_shape, vec![(true, expected.len() as u64)]);
    assert!(bytes == expected, "the bytes differ");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_write_the_bytes_and_punch_the_holes() {
    let (dir, _addr, client) = daemon_with_volumes("up").await;
    let source = dir.join("source.img");
    let expected = write_sparse(&source, &LAYOUT);

    // Sparse, piece by piece: holes become holes in the volume.
    let target = dir.join("sparse.img");
    // Old contents where the holes go must read as zeros afterwards.
    std::fs::write(&target, vec![0xa5; 2 << 20]).unwrap();
    let vol = volume(&client, &target).await;
    let ((), mut stream) = client
        .storage_vol_upload(&upload_args(vol, SPARSE))
        .await
        .unwrap();
    stream.set_sparse(true);
    let mut at = 0;
    for &(data, length) in &LAYOUT {
        let end = at + usize::try_from(length).unwrap();
        if data {
            stream.send(&expected[at..end]).await.unwrap();
        } else {
            stream.send_hole(length).await.unwrap();
        }
        at = end;
    }
    stream.finish().await.unwrap();
    assert_sparse_copy(&target, &expected, "the holes were not punched");

    // Through `AsyncWrite`, with `tokio::io::copy`; `shutdown` finishes.
    let target = dir.join("copied.img");
    std::fs::write(&target, b"").unwrap();
    let vol = volume(&client, &target).await;
    let ((), mut stream) = client
        .storage_vol_upload(&upload_args(vol.clone(), 0))
        .await
        .unwrap();
    let copied = tokio::io::copy(&mut &expected[..], &mut stream)
        .await
        .unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(copied, expected.len() as u64);
    assert!(
        std::fs::read(&target).unwrap() == expected,
        "the bytes differ"
    );

    // A hole on a stream opened without the sparse flag is refused here,
    // before it goes out.
    let ((), stream) = client
        .storage_vol_upload(&upload_args(vol, 0))
        .await
        .unwrap();
    assert!(matches!(
        stream.send_hole(4096).await,
        Err(Error::Hole(HoleError::NotSparse))
    ));
    stream.abort().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

const PROGRAM: u32 = 0x7878_5354;
/// Sends "partial", then aborts with "disk on fire".
const ABORT_DOWNLOAD: i32 = 1;
/// Reads one piece, then aborts with "disk full".
const ABORT_UPLOAD: i32 = 2;
/// Reads to the end through `AsyncRead`; reports the result.
const READ_ALL: i32 = 3;
/// Sends a 10-byte hole on a sparse stream, then finishes.
const SEND_HOLE: i32 = 4;
/// Reads chunks of a stream that is not sparse; reports the first error.
const READ_NOT_SPARSE: i32 = 5;
/// Waits for a permit, then answers.
const SLOW: i32 = 6;
/// Answers 42.
const FAST: i32 = 7;
/// Sends 20 events (bodies 0..20), then answers.
const TWENTY_EVENTS: i32 = 8;
/// The event procedure.
const EVENT: i32 = 100;

struct Streams {
    reports: mpsc::UnboundedSender<Result<Vec<u8>, StreamError>>,
    slow: Arc<Semaphore>,
}

fn failure(message: &str) -> RemoteError {
    RemoteError::new(error_code::OPERATION_FAILED, error_domain::NONE, message)
}

impl Dispatch for Streams {
    fn program(&self) -> u32 {
        PROGRAM
    }

    fn version(&self) -> u32 {
        1
    }

    fn dispatch<'a>(&'a self, cx: &'a Context, _args: &'a [u8]) -> DispatchFuture<'a> {
        let reports = self.reports.clone();
        match cx.procedure() {
            ABORT_DOWNLOAD => {
                let mut stream = cx.open_stream();
                tokio::spawn(async move {
                    stream.write_all(b"partial").await.unwrap();
                    stream.abort(&failure("disk on fire")).await.unwrap();
                });
            }
            ABORT_UPLOAD => {
                let mut stream = cx.open_stream();
                tokio::spawn(async move {
                    let first = stream.recv().await;
                    let _ = reports.send(first.map(Option::unwrap_or_default));
                    stream.abort(&failure("disk full")).await.unwrap();
                });
            }
            READ_ALL => {
                let mut stream = cx.open_stream();
                tokio::spawn(async move {
                    let mut all = Vec::new();
                    let result = stream.read_to_end(&mut all).await.map(|_| all);
                    let _ = reports.send(result.map_err(|e| {
                        e.into_inner()
                            .and_then(|inner| inner.downcast::<StreamError>().ok())
                            .map_or(StreamError::Closed, |e| *e)
                    }));
                });
            }
            SEND_HOLE => {
                let mut stream = cx.open_stream();
                stream.set_sparse(true);
                tokio::spawn(async move {
                    stream.send_hole(10).await.unwrap();
                    stream.finish().await.unwrap();
                });
            }
            READ_NOT_SPARSE => {
                let mut stream = cx.open_stream();
                tokio::spawn(async move {
                    let result = stream.recv_chunk().await.map(|_| Vec::new());
                    let _ = reports.send(result);
                });
            }
            SLOW => {
                let slow = Arc::clone(&self.slow);
                return Box::pin(async move {
                    let _permit = slow.acquire().await;
                    Ok(Vec::new())
                });
            }
            FAST => return Box::pin(async { Ok(42u32.to_xdr().unwrap()) }),
            TWENTY_EVENTS => {
                return Box::pin(async move {
                    for i in 0..20u32 {
                        assert!(cx.session().send_event(PROGRAM, 1, EVENT, &i).await);
                    }
                    Ok(Vec::new())
                });
            }
            _ => return Box::pin(async { Err(failure("no such procedure")) }),
        }
        Box::pin(async { Ok(Vec::new()) })
    }
}

struct Harness {
    connection: Connection,
    reports: mpsc::UnboundedReceiver<Result<Vec<u8>, StreamError>>,
    slow: Arc<Semaphore>,
}

async fn harness(config: ConnectionConfig) -> Harness {
    let (reports_tx, reports) = mpsc::unbounded_channel();
    let slow = Arc::new(Semaphore::new(0));
    let server_config = ServerConfig {
        max_client_requests: 200,
        ..ServerConfig::default()
    };
    let server = Server::builder(server_config)
        .service(Streams {
            reports: reports_tx,
            slow: Arc::clone(&slow),
        })
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    let connection = Connection::connect_tcp(addr, config).await.unwrap();
    Harness {
        connection,
        reports,
        slow,
    }
}

/// The libvirt error inside an `io::Error` from a stream.
fn remote_message(e: &std::io::Error) -> String {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::Remote(remote)) => remote.message.as_ref().unwrap().to_string(),
        other => panic!("not a libvirt error: {e:?} ({other:?})"),
    }
}

#[tokio::test]
async fn aborts_reach_the_other_side_with_their_error() {
    let mut h = harness(ConnectionConfig::default()).await;
    let c = &h.connection;

    // The daemon aborts a download: `tokio::io::copy` fails with its error,
    // after the data that came before it; so does every later operation.
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, ABORT_DOWNLOAD, &())
        .await
        .unwrap();
    let mut got = Vec::new();
    let e = tokio::io::copy(&mut stream, &mut got).await.unwrap_err();
    assert_eq!(remote_message(&e), "disk on fire");
    assert_eq!(got, b"partial");
    let e = stream.shutdown().await.unwrap_err();
    assert_eq!(remote_message(&e), "disk on fire");

    // The daemon aborts an upload: finishing it (`shutdown`) fails with
    // the daemon's error.
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, ABORT_UPLOAD, &())
        .await
        .unwrap();
    stream.write_all(b"some data").await.unwrap();
    assert_eq!(h.reports.recv().await.unwrap().unwrap(), b"some data");
    let e = stream.shutdown().await.unwrap_err();
    assert_eq!(remote_message(&e), "disk full");

    // The client aborts an upload: the daemon's `AsyncRead` fails with
    // `StreamError::Aborted`, and the abort is confirmed.
    let ((), stream) = c.call_with_stream(PROGRAM, 1, READ_ALL, &()).await.unwrap();
    stream.send(b"half").await.unwrap();
    stream.abort().await.unwrap();
    assert_eq!(h.reports.recv().await.unwrap(), Err(StreamError::Aborted));

    // A finished upload reads to its end through `AsyncRead`.
    let ((), mut stream) = c.call_with_stream(PROGRAM, 1, READ_ALL, &()).await.unwrap();
    stream.write_all(&vec![7; 300_000]).await.unwrap();
    stream.shutdown().await.unwrap();
    assert_eq!(h.reports.recv().await.unwrap().unwrap(), vec![7; 300_000]);

    // The connection goes on.
    let answer: u32 = c.call(PROGRAM, 1, FAST, &()).await.unwrap();
    assert_eq!(answer, 42);
}

#[tokio::test]
async fn holes_are_refused_on_streams_that_are_not_sparse() {
    let mut h = harness(ConnectionConfig::default()).await;
    let c = &h.connection;

    // From the daemon to a client stream that is not sparse: refused, as
    // libvirt's client refuses it ("Unexpected stream hole").
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, SEND_HOLE, &())
        .await
        .unwrap();
    assert!(matches!(
        stream.recv().await,
        Err(Error::Hole(HoleError::NotSparse))
    ));
    stream.abort().await.unwrap();
    // The same from a sparse one: a hole, read as zeros by `AsyncRead`.
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, SEND_HOLE, &())
        .await
        .unwrap();
    stream.set_sparse(true);
    assert_eq!(
        stream.recv().await.unwrap(),
        Some(StreamData::Hole {
            length: 10,
            flags: 0
        })
    );
    assert_eq!(stream.recv().await.unwrap(), None);
    stream.finish().await.unwrap();
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, SEND_HOLE, &())
        .await
        .unwrap();
    stream.set_sparse(true);
    let mut zeros = Vec::new();
    AsyncReadExt::read_to_end(&mut stream, &mut zeros)
        .await
        .unwrap();
    assert_eq!(zeros, [0; 10]);
    stream.shutdown().await.unwrap();

    // From a sparse client to a server stream that is not sparse.
    let ((), mut stream) = c
        .call_with_stream(PROGRAM, 1, READ_NOT_SPARSE, &())
        .await
        .unwrap();
    stream.set_sparse(true);
    stream.send_hole(4096).await.unwrap();
    assert_eq!(
        h.reports.recv().await.unwrap(),
        Err(StreamError::Hole(HoleError::NotSparse))
    );
    drop(stream);
    let answer: u32 = c.call(PROGRAM, 1, FAST, &()).await.unwrap();
    assert_eq!(answer, 42);
}

/// Waits (at most 30 s) for `done`.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_calls_leave_the_connection_usable_and_nothing_behind() {
    let h = harness(ConnectionConfig::default()).await;
    let c = h.connection.clone();
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.call::<_, ()>(PROGRAM, 1, SLOW, &()).await })
        })
        .collect();
    eventually("100 calls in flight", || c.pending_calls() == 100).await;
    for call in &calls {
        call.abort();
    }
    for call in calls {
        assert!(call.await.unwrap_err().is_cancelled());
    }
    assert_eq!(c.pending_calls(), 0);
    // A call dropped by a timeout around it leaves no entry either.
    let slow = c.call::<_, ()>(PROGRAM, 1, SLOW, &());
    assert!(
        tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err()
    );
    assert_eq!(c.pending_calls(), 0);

    // The slow procedures finish now: their replies find nobody and are
    // dropped, and the connection goes on.
    h.slow.add_permits(101);
    eventually("101 late replies dropped", || c.unexpected_packets() == 101).await;
    let answer: u32 = c.call(PROGRAM, 1, FAST, &()).await.unwrap();
    assert_eq!(answer, 42);
    assert_eq!(c.pending_calls(), 0);
}

fn decode_u32(procedure: i32, body: &[u8], limits: &Limits) -> Result<Option<u32>, DecodeError> {
    if procedure != EVENT {
        return Ok(None);
    }
    u32::from_xdr_with(body, limits).map(Some)
}

#[tokio::test]
async fn a_subscriber_that_lags_is_told_how_many_events_it_missed() {
    let h = harness(ConnectionConfig {
        event_backlog: 4,
        ..ConnectionConfig::default()
    })
    .await;
    let c = &h.connection;
    let mut events = c.subscribe_decoded(PROGRAM, decode_u32);
    // The events come before the reply, so all 20 are in when it returns.
    let () = c.call(PROGRAM, 1, TWENTY_EVENTS, &()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(events.recv().await.unwrap());
    }
    assert_eq!(got, [16, 17, 18, 19]);
    assert_eq!(events.missed(), 16, "the 16 lost events were not reported");
}

#[tokio::test]
async fn the_close_future_tells_why_the_connection_closed() {
    // The daemon hangs up.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move { drop(listener.accept().await.unwrap()) });
    let c = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    accept.await.unwrap();
    assert!(matches!(c.closed().await, CloseReason::Eof));
    assert!(matches!(
        c.call::<_, ()>(PROGRAM, 1, FAST, &()).await,
        Err(Error::Closed)
    ));

    // The daemon breaks the framing: an error, with its cause.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(&[0, 0, 0, 1]).await.unwrap();
        s
    });
    let c = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let _held = accept.await.unwrap();
    match c.closed().await {
        CloseReason::Error(Error::Packet(PacketError::BadLength { len: 1, .. })) => {}
        other => panic!("{other:?}"),
    }

    // The daemon goes silent: keepalive gives it up.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accept = tokio::spawn(async move { listener.accept().await.unwrap() });
    let c = Connection::connect_tcp(addr, ConnectionConfig::default())
        .await
        .unwrap();
    let _held = accept.await.unwrap();
    c.start_keepalive(Duration::from_millis(20), 2);
    let reason = tokio::time::timeout(Duration::from_secs(30), c.closed())
        .await
        .unwrap();
    assert!(matches!(reason, CloseReason::Keepalive), "{reason:?}");

    // This side closes it, explicitly or by dropping the last clone; the
    // future holds no connection.
    let h = harness(ConnectionConfig::default()).await;
    let closed = h.connection.closed();
    h.connection.close();
    assert!(matches!(closed.await, CloseReason::Client));
    assert!(matches!(
        h.connection.call::<_, ()>(PROGRAM, 1, FAST, &()).await,
        Err(Error::Closed)
    ));
    let h = harness(ConnectionConfig::default()).await;
    let closed = tokio::spawn(h.connection.closed());
    drop(h);
    let reason = tokio::time::timeout(Duration::from_secs(30), closed)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(reason, CloseReason::Client), "{reason:?}");
}

async fn virsh(addr: SocketAddr, args: Vec<String>) -> (bool, String) {
    let uri = format!("test+tcp://{addr}/default");
    libvirt::output(libvirt::virsh_command(&uri, 60, &args)).await
}

fn path_arg(path: &Path) -> String {
    path.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_virsh_downloads_and_uploads_sparse_volumes_from_the_daemon() {
    let test = "libvirt_streams::stock_virsh_downloads_and_uploads_sparse_volumes_from_the_daemon";
    if !libvirt::virsh_available(test) {
        return;
    }
    let (dir, addr, _client) = daemon_with_volumes("virsh").await;
    let volume = dir.join("disk.img");
    let expected = write_sparse(&volume, &LAYOUT);
    let out_dir = xdrgen_tests::scratch_dir("libvirt-streams", "virsh-out");

    // Download: virsh receives the holes and makes them holes again.
    let saved = out_dir.join("saved.img");
    let (ok, text) = virsh(
        addr,
        vec![
            "vol-download".into(),
            "--sparse".into(),
            path_arg(&volume),
            path_arg(&saved),
        ],
    )
    .await;
    assert!(ok, "{text}");
    assert_sparse_copy(&saved, &expected, "the holes did not come through");

    // Upload: virsh sends the holes of its file, the daemon punches them.
    let target = dir.join("uploaded.img");
    std::fs::write(&target, vec![0x5a; 3 << 20]).unwrap();
    let (ok, text) = virsh(
        addr,
        vec![
            "vol-upload".into(),
            "--sparse".into(),
            path_arg(&target),
            path_arg(&saved),
        ],
    )
    .await;
    assert!(ok, "{text}");
    assert_sparse_copy(&target, &expected, "the holes were not punched");

    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&out_dir);
}
