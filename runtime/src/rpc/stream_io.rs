//! Writing records to a stream, shared by the client and the server.

// A no_std crate: what the prelude would give is imported by hand.
use std::vec::Vec;

use std::future::Future;
use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Most bytes gathered into one write.
const BATCH_BYTES: usize = 64 * 1024;

/// Writes framed records from `rx` until every sender is gone, then shuts
/// the stream down. Records that queue up while a write is in progress go
/// out together in the next one, so many calls in flight cost few
/// system calls.
///
/// When `others_in_flight` says more records may be on their way, the
/// writer first lets the tasks that are ready run: the scheduler runs a
/// task woken by the one running next (tokio's LIFO slot), so without
/// this the writer would wake for, and write, each record on its own.
/// With one call at a time it does not yield, which would cost a wake-up
/// of another worker thread per record.
pub(crate) async fn write_batched<W: AsyncWrite>(
    write: W,
    mut rx: mpsc::Receiver<Vec<u8>>,
    others_in_flight: impl Fn() -> bool,
) -> io::Result<()> {
    let mut write = std::pin::pin!(write);
    while let Some(mut buf) = rx.recv().await {
        if others_in_flight() {
            tokio::task::yield_now().await;
        }
        while buf.len() < BATCH_BYTES {
            match rx.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        write.write_all(&buf).await?;
    }
    write.shutdown().await
}

/// Accepts connections until `stop` completes, serving each on its own
/// task, then waits for those tasks: the accept loop of every server.
pub(crate) async fn accept_until<C, A, F>(
    mut accept: impl FnMut() -> A,
    stop: impl Future<Output = ()>,
    mut serve: impl FnMut(C) -> F,
) where
    A: Future<Output = io::Result<C>>,
    F: Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            accepted = accept() => {
                // A failed accept (out of descriptors, a reset) ends only
                // that connection.
                if let Ok(connection) = accepted {
                    connections.spawn(serve(connection));
                }
            }
            () = &mut stop => break,
        }
        while connections.try_join_next().is_some() {}
    }
    while connections.join_next().await.is_some() {}
}
