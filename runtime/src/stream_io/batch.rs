//! Batched writes: messages that queue up while a write is in progress go
//! out together in the next one, so many calls in flight cost few system
//! calls. The ONC RPC server writes from its connection's own task with
//! [`flush`]; the libvirt server and client give a task to
//! [`write_batched`].

// A no_std crate: what the prelude would give is imported by hand.
use std::vec::Vec;

use std::io;
use std::pin::Pin;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Most bytes gathered into one write; a connection whose pending
/// messages reach it writes them before it runs more calls.
pub(crate) const BATCH_BYTES: usize = 64 * 1024;

/// Largest buffer kept for the next message on the same thread.
const SPARE_BYTES: usize = 4096;

std::thread_local! {
    /// The buffer of the last small message written from this thread, for
    /// the next one: a call answered where it arrived then allocates
    /// nothing for its reply, and no connection keeps a buffer while idle.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty buffer: the one [`recycle`] kept on this thread, if any.
#[inline]
pub(crate) fn spare_buffer() -> Vec<u8> {
    SPARE.take()
}

/// Keeps a written message's buffer for the next message, when small.
#[inline]
pub(crate) fn recycle(mut buffer: Vec<u8>) {
    if buffer.capacity() <= SPARE_BYTES {
        buffer.clear();
        SPARE.set(buffer);
    }
}

/// Adds a framed message to those waiting for a write; the first is taken
/// as it is, without a copy.
#[inline]
pub(crate) fn append(out: &mut Vec<u8>, message: Vec<u8>) {
    if out.is_empty() {
        *out = message;
    } else {
        out.extend_from_slice(&message);
    }
}

/// Adds the messages already waiting in `rx` to `out`, until it holds
/// [`BATCH_BYTES`] or none is waiting; returns how many it took.
#[inline]
fn gather(out: &mut Vec<u8>, rx: &mut mpsc::Receiver<Vec<u8>>) -> usize {
    let mut taken = 0;
    while out.len() < BATCH_BYTES {
        match rx.try_recv() {
            Ok(message) => {
                append(out, message);
                taken += 1;
            }
            Err(_) => break,
        }
    }
    taken
}

/// Writes `out` and the messages waiting in `rx`, in writes of up to
/// [`BATCH_BYTES`], until none is waiting; returns how many it took from
/// `rx`. What was written is dropped, so a large message leaves no
/// buffer behind; a small one is kept for this thread's next message.
pub(crate) async fn flush<W: AsyncWrite>(
    write: &mut Pin<&mut W>,
    out: &mut Vec<u8>,
    rx: &mut mpsc::Receiver<Vec<u8>>,
) -> io::Result<usize> {
    let mut taken = 0;
    loop {
        taken += gather(out, rx);
        if out.is_empty() {
            return Ok(taken);
        }
        let batch = std::mem::take(out);
        write.write_all(&batch).await?;
        // A TLS stream may keep the tail of what it took (its socket was
        // full) until it is flushed or written again: flush, or that tail
        // waits for the next message. Free on plain sockets.
        write.flush().await?;
        recycle(batch);
    }
}

/// Writes framed messages from `rx` until every sender is gone, then shuts
/// the stream down: the writer task of a connection.
///
/// When `others_in_flight` says more messages may be on their way, the
/// writer first lets the tasks that are ready run: the scheduler runs a
/// task woken by the one running next (tokio's LIFO slot), so without
/// this the writer would wake for, and write, each message on its own.
/// With one call at a time it does not yield, which would cost a wake-up
/// of another worker thread per message.
pub(crate) async fn write_batched<W: AsyncWrite>(
    write: W,
    mut rx: mpsc::Receiver<Vec<u8>>,
    others_in_flight: impl Fn() -> bool,
) -> io::Result<()> {
    let mut write = std::pin::pin!(write);
    while let Some(mut batch) = rx.recv().await {
        if others_in_flight() {
            tokio::task::yield_now().await;
        }
        gather(&mut batch, &mut rx);
        write.write_all(&batch).await?;
        // As in `flush`: a TLS stream's tail goes out now.
        write.flush().await?;
    }
    write.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    /// A writer that records the size of every write it is given, and,
    /// as a TLS stream may, holds what it took until it is flushed: `1`
    /// is what went out, `2` what waits for a flush.
    #[derive(Default)]
    struct Writes(Vec<usize>, Vec<u8>, Vec<u8>);

    impl AsyncWrite for Writes {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.0.push(buf.len());
            this.2.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            let this = self.get_mut();
            let held = std::mem::take(&mut this.2);
            this.1.extend(held);
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn waiting_messages_go_out_together_in_writes_of_at_most_the_batch() {
        let (tx, mut rx) = mpsc::channel(64);
        for byte in 0..40u8 {
            tx.send(vec![byte; 4096]).await.unwrap();
        }
        let mut writes = Writes::default();
        let mut write = std::pin::pin!(&mut writes);
        let mut out = vec![255; 10];
        assert_eq!(flush(&mut write, &mut out, &mut rx).await.unwrap(), 40);
        assert!(out.is_empty() && rx.is_empty());
        // 10 + 40 * 4096 bytes: two full batches (16 messages reach 64 KiB)
        // and the rest.
        assert_eq!(writes.0, vec![10 + 16 * 4096, 16 * 4096, 8 * 4096]);
        assert_eq!(writes.1[10..10 + 4096], [0; 4096]);
        assert_eq!(writes.1[writes.1.len() - 1], 39);
        assert!(writes.2.is_empty(), "a tail held by the stream");
    }

    #[tokio::test]
    async fn the_writer_task_batches_what_queued_and_ends_with_its_senders() {
        let (tx, rx) = mpsc::channel(8);
        for byte in 0..3u8 {
            tx.send(vec![byte; 100]).await.unwrap();
        }
        drop(tx);
        let mut writes = Writes::default();
        write_batched(&mut writes, rx, || true).await.unwrap();
        assert_eq!(writes.0, vec![300]);
        assert_eq!((writes.1.len(), writes.2.len()), (300, 0));
    }
}
