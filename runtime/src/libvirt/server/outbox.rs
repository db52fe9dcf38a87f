//! A connection's outgoing queue: the replies of calls that ran on tasks
//! of their own, events, and stream data, written by the connection's own
//! task between reads. The packets wait back to back in one buffer the
//! writer takes whole, so an empty queue holds no memory: a channel
//! allocates its shared state and a first block of slots with it, about
//! 1.3 KiB that every idle connection kept.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::vec::Vec;

use tokio::sync::Notify;

use crate::stream_io;

/// Bytes queued past which senders wait for the connection to write: a
/// batch. The bound is soft: each sender that found room queues its
/// packet whole (several may have looked at once), and the connection's
/// own pushes (pongs, replies of calls that finished on its task) go in
/// without waiting, to be written once a batch is full.
const ROOM: usize = stream_io::BATCH_BYTES;

#[derive(Debug, Default)]
pub(super) struct Outbox {
    state: Mutex<State>,
    /// Senders waiting for room.
    room: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Packets queued, in order.
    queued: Vec<u8>,
    /// The connection writes no more: a write failed, or it ended.
    closed: bool,
    /// Handles that may still queue packets (sessions, streams): once the
    /// last is gone, nothing more will come.
    senders: usize,
    /// The connection's task, waiting for something to write.
    writer: Option<Waker>,
}

impl Outbox {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One more handle may queue packets.
    pub(super) fn add_sender(&self) {
        self.lock().senders += 1;
    }

    /// A handle that could queue packets is gone.
    pub(super) fn remove_sender(&self) {
        let writer = {
            let mut state = self.lock();
            state.senders = state.senders.saturating_sub(1);
            if state.senders == 0 {
                state.writer.take()
            } else {
                None
            }
        };
        if let Some(writer) = writer {
            writer.wake();
        }
    }

    /// Whether the connection writes no more.
    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Whether a batch or more is queued: senders wait for room.
    pub(super) fn is_full(&self) -> bool {
        self.lock().queued.len() >= ROOM
    }

    /// Waits until the queue has room; false once the connection writes
    /// no more.
    pub(super) async fn reserve(&self) -> bool {
        loop {
            let notified = self.room.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the look, so a take between the look and
            // the wait still wakes this sender.
            notified.as_mut().enable();
            {
                let state = self.lock();
                if state.closed {
                    return false;
                }
                if state.queued.len() < ROOM {
                    return true;
                }
            }
            notified.await;
        }
    }

    /// Queues `packet` whether or not there is room (after
    /// [`reserve`](Outbox::reserve), or for the few packets the connection
    /// makes itself); false once the connection writes no more.
    pub(super) fn push(&self, packet: Vec<u8>) -> bool {
        let writer = {
            let mut state = self.lock();
            if state.closed {
                return false;
            }
            if state.queued.is_empty() {
                // The common case, a lone reply: no copy.
                state.queued = packet;
            } else {
                stream_io::append(&mut state.queued, packet);
            }
            state.writer.take()
        };
        if let Some(writer) = writer {
            writer.wake();
        }
        true
    }

    /// Waits for room, then queues `packet`; false once the connection
    /// writes no more.
    pub(super) async fn send(&self, packet: Vec<u8>) -> bool {
        self.reserve().await && self.push(packet)
    }

    /// What is queued, taken whole; `None` once the connection writes no
    /// more, or nothing is queued and no handle is left to queue more.
    /// Otherwise the task polling it is woken when a packet comes.
    pub(super) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut state = self.lock();
        if state.closed {
            return Poll::Ready(None);
        }
        if !state.queued.is_empty() {
            let taken = std::mem::take(&mut state.queued);
            drop(state);
            // Only a full queue has senders waiting for room.
            if taken.len() >= ROOM {
                self.room.notify_waiters();
            }
            return Poll::Ready(Some(taken));
        }
        if state.senders == 0 {
            return Poll::Ready(None);
        }
        if !state
            .writer
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            state.writer = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// What is queued, if anything, without waiting.
    pub(super) fn try_take(&self) -> Option<Vec<u8>> {
        let mut state = self.lock();
        if state.closed || state.queued.is_empty() {
            return None;
        }
        let taken = std::mem::take(&mut state.queued);
        drop(state);
        if taken.len() >= ROOM {
            self.room.notify_waiters();
        }
        Some(taken)
    }

    /// The connection writes no more: what is queued is dropped, and
    /// senders, waiting or not, see it closed.
    pub(super) fn close(&self) {
        {
            let mut state = self.lock();
            state.closed = true;
            state.queued = Vec::new();
            state.writer = None;
        }
        self.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::{Context, Poll, Waker};
    use std::vec;

    use super::{Outbox, ROOM};

    fn take(outbox: &Outbox) -> Poll<Option<std::vec::Vec<u8>>> {
        outbox.poll_take(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn packets_come_out_together_in_order_and_leave_nothing_behind() {
        let outbox = Outbox::default();
        outbox.add_sender();
        assert_eq!(take(&outbox), Poll::Pending);
        assert!(outbox.push(vec![1, 2]));
        assert!(outbox.push(vec![3]));
        assert_eq!(take(&outbox), Poll::Ready(Some(vec![1, 2, 3])));
        assert_eq!(outbox.lock().queued.capacity(), 0);
        assert_eq!(take(&outbox), Poll::Pending);
        outbox.remove_sender();
        assert_eq!(take(&outbox), Poll::Ready(None));
    }

    /// An outbox holding a full batch, and a sender waiting to queue `[7]`.
    async fn full_with_a_sender_waiting() -> (Arc<Outbox>, tokio::task::JoinHandle<bool>) {
        let outbox = Arc::new(Outbox::default());
        outbox.add_sender();
        assert!(outbox.push(vec![0; ROOM]));
        let waiting = tokio::spawn({
            let outbox = Arc::clone(&outbox);
            async move { outbox.send(vec![7]).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        (outbox, waiting)
    }

    #[tokio::test]
    async fn a_full_queue_holds_senders_until_it_is_taken() {
        let (outbox, waiting) = full_with_a_sender_waiting().await;
        assert_eq!(
            take(&outbox).map(|t| t.map(|t| t.len())),
            Poll::Ready(Some(ROOM))
        );
        assert!(waiting.await.unwrap());
        assert_eq!(take(&outbox), Poll::Ready(Some(vec![7])));
    }

    #[tokio::test]
    async fn closing_refuses_senders_and_frees_what_waits() {
        let (outbox, waiting) = full_with_a_sender_waiting().await;
        outbox.close();
        assert!(!waiting.await.unwrap());
        assert!(outbox.is_closed());
        assert!(!outbox.push(vec![1]));
        assert_eq!(take(&outbox), Poll::Ready(None));
    }
}
