//! Writing records to a stream, shared by the client and the server.

// A no_std crate: what the prelude would give is imported by hand.
use std::vec::Vec;

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::observe::{self, RateLimited};

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

/// First wait after a failed accept; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// Longest wait between accepts while they fail.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How often a storm of accept failures or refusals is reported.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Accepts connections until `stop` completes, serving each on its own
/// task, then waits for those tasks: the accept loop of every server.
///
/// A failed accept is retried after a wait that starts at 5 ms and
/// doubles to 1 s, reset by the next success: out of descriptors
/// (EMFILE, ENFILE) or memory (ENOBUFS, ENOMEM) the listener stays
/// readable, and retrying at once would spin a core until a connection
/// closes. With `max_connections` open, a new connection is accepted and
/// closed at once, so its client sees an orderly close instead of
/// waiting in the backlog.
pub(crate) async fn accept_until<C, A, F>(
    mut accept: impl FnMut() -> A,
    stop: impl Future<Output = ()>,
    max_connections: Option<usize>,
    mut serve: impl FnMut(C) -> F,
) where
    A: Future<Output = io::Result<C>>,
    F: Future<Output = ()> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    let mut backoff = FIRST_BACKOFF;
    let mut failures = RateLimited::new(REPORT_EVERY);
    let mut refusals = RateLimited::new(REPORT_EVERY);
    loop {
        let accepted = tokio::select! {
            accepted = accept() => accepted,
            () = &mut stop => break,
        };
        while connections.try_join_next().is_some() {}
        match accepted {
            Ok(connection) => {
                backoff = FIRST_BACKOFF;
                match max_connections {
                    Some(max) if connections.len() >= max => {
                        drop(connection);
                        if let Some(count) = refusals.tick() {
                            observe::connection_refused(max, count);
                        }
                    }
                    _ => {
                        connections.spawn(serve(connection));
                    }
                }
            }
            Err(error) => {
                if let Some(count) = failures.tick() {
                    observe::accept_failed(&error, count, backoff);
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut stop => break,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    while connections.join_next().await.is_some() {}
}

/// The deadline of a message that a connection has started and not
/// finished: with a timeout set, a client that sends part of a message
/// and stalls (slowloris) is closed when it passes.
pub(crate) struct StallClock {
    timeout: Option<Duration>,
    deadline: Option<tokio::time::Instant>,
}

impl StallClock {
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        StallClock {
            timeout,
            deadline: None,
        }
    }

    /// After a read: whether a message is now partly read, and whether the
    /// read finished one (the next one's time starts now).
    pub(crate) fn update(&mut self, mid_message: bool, finished_one: bool) {
        if !mid_message {
            self.deadline = None;
        } else if self.deadline.is_none() || finished_one {
            self.deadline = self.timeout.map(|t| tokio::time::Instant::now() + t);
        }
    }

    /// Completes when the started message is overdue; never without one.
    pub(crate) async fn overdue(&self) {
        match self.deadline {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    }

    /// The timeout, once [`overdue`](StallClock::overdue) completed.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout.unwrap_or_default()
    }
}
