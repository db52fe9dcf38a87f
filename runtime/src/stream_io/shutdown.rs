//! A server's graceful shutdown signal.

use std::future::Future;

use tokio::sync::watch;

/// The shutdown of one server, shared by its clones: begun once, awaited
/// by each of its listeners and connections, which then stop taking new
/// work and let what is under way finish.
pub(crate) struct Shutdown(watch::Sender<bool>);

impl Shutdown {
    pub(crate) fn new() -> Self {
        Shutdown(watch::Sender::new(false))
    }

    /// Begins the shutdown; beginning it again changes nothing.
    pub(crate) fn begin(&self) {
        self.0.send_replace(true);
    }

    /// Completes once the shutdown has begun (at once if it already has).
    /// It owns what it waits on, so a connection's task can hold it.
    pub(crate) fn begun(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            // An error means the sender is gone with its server: nothing
            // is left to wait for.
            let _ = rx.wait_for(|begun| *begun).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waiters_before_and_after_the_start_both_complete() {
        let shutdown = Shutdown::new();
        let early = tokio::spawn(shutdown.begun());
        tokio::task::yield_now().await;
        assert!(!early.is_finished());
        shutdown.begin();
        early.await.unwrap();
        // Begun already: a new waiter does not wait.
        tokio::time::timeout(std::time::Duration::from_secs(5), shutdown.begun())
            .await
            .expect("a waiter after the start completes at once");
    }
}
