//! The ONC RPC server's shutdown signal, cheap to look at.
//!
//! A connection's task looks at it every time it wakes, which at one call
//! in flight is once per call. A `watch` channel's `wait_for` costs a
//! coop budget check and a `Notify` registration on each of those looks
//! (about 600 instructions per call, by callgrind); here a look is one
//! atomic load and a waker comparison, and the lock is taken only when a
//! connection starts waiting and when it ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::vec::Vec;

/// The shutdown of one server, shared by its clones: begun once, and then
/// every listener and connection waiting on it is woken.
#[derive(Default)]
pub(super) struct Stop {
    begun: AtomicBool,
    waiters: Mutex<Waiters>,
}

/// The wakers of those waiting, in slots that are reused.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl Stop {
    /// Begins the shutdown and wakes every waiter; beginning it again
    /// changes nothing.
    pub(super) fn begin(&self) {
        self.begun.store(true, Ordering::Release);
        let woken: Vec<Waker> = {
            let mut waiters = self.lock();
            waiters.slots.iter_mut().filter_map(Option::take).collect()
        };
        // Woken outside the lock: a waker may run its task right here.
        for waker in woken {
            waker.wake();
        }
    }

    /// Whether the shutdown has begun.
    pub(super) fn has_begun(&self) -> bool {
        self.begun.load(Ordering::Acquire)
    }

    /// A waiter for this shutdown, to poll as often as its task wakes.
    pub(super) fn waiter(&self) -> Waiter<'_> {
        Waiter {
            stop: self,
            slot: None,
            registered: None,
        }
    }

    /// Completes once the shutdown has begun (at once if it already has).
    pub(super) fn begun(&self) -> Begun<'_> {
        Begun(self.waiter())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiters> {
        // The lists stay consistent through a panic elsewhere: no
        // operation on them can panic halfway.
        self.waiters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One task's wait for a [`Stop`]: its waker is registered once and again
/// only when the task's waker changes; it leaves its slot when dropped.
pub(super) struct Waiter<'a> {
    stop: &'a Stop,
    slot: Option<usize>,
    /// The waker last registered, to tell whether the task's is still it.
    registered: Option<Waker>,
}

impl Waiter<'_> {
    /// Ready once the shutdown has begun; otherwise the task is woken
    /// when it begins.
    pub(super) fn poll_begun(&mut self, cx: &Context<'_>) -> Poll<()> {
        if self.stop.has_begun() {
            return Poll::Ready(());
        }
        if self
            .registered
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            return Poll::Pending;
        }
        let mut waiters = self.stop.lock();
        // Looked at again under the lock: a `begin` that set the flag
        // after the look above either takes this waker or is seen here.
        if self.stop.has_begun() {
            return Poll::Ready(());
        }
        let waker = cx.waker().clone();
        let slot = match self.slot {
            Some(slot) => slot,
            None => {
                let slot = waiters.free.pop().unwrap_or_else(|| {
                    waiters.slots.push(None);
                    waiters.slots.len() - 1
                });
                self.slot = Some(slot);
                slot
            }
        };
        waiters.slots[slot] = Some(waker.clone());
        self.registered = Some(waker);
        Poll::Pending
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut waiters = self.stop.lock();
            waiters.slots[slot] = None;
            waiters.free.push(slot);
        }
    }
}

/// The future of [`Stop::begun`].
pub(super) struct Begun<'a>(Waiter<'a>);

impl Future for Begun<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.poll_begun(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test]
    async fn waiters_before_and_after_the_start_complete_and_leave_their_slots() {
        let stop = Arc::new(Stop::default());
        let early = tokio::spawn({
            let stop = Arc::clone(&stop);
            async move { stop.begun().await }
        });
        tokio::task::yield_now().await;
        assert!(!early.is_finished());
        assert_eq!(stop.lock().slots.iter().flatten().count(), 1);
        stop.begin();
        tokio::time::timeout(Duration::from_secs(5), early)
            .await
            .expect("a waiter before the start is woken")
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), stop.begun())
            .await
            .expect("a waiter after the start completes at once");
        let waiters = stop.lock();
        assert_eq!(waiters.slots.iter().flatten().count(), 0);
        assert_eq!(waiters.free.len(), waiters.slots.len());
    }

    #[test]
    fn a_waiter_whose_task_changes_wakes_the_new_one() {
        let stop = Stop::default();
        let mut waiter = stop.waiter();
        let (first, first_woken) = counting_waker();
        let (second, second_woken) = counting_waker();
        assert!(waiter.poll_begun(&Context::from_waker(&first)).is_pending());
        assert!(
            waiter
                .poll_begun(&Context::from_waker(&second))
                .is_pending()
        );
        stop.begin();
        assert_eq!(first_woken.load(Ordering::SeqCst), 0);
        assert_eq!(second_woken.load(Ordering::SeqCst), 1);
        assert!(waiter.poll_begun(&Context::from_waker(&second)).is_ready());
    }

    struct Count(Arc<std::sync::atomic::AtomicUsize>);

    impl std::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counting_waker() -> (Waker, Arc<std::sync::atomic::AtomicUsize>) {
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        (Waker::from(Arc::new(Count(Arc::clone(&count)))), count)
    }
}
