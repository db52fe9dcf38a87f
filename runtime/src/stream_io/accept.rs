//! The accept loop of every server.

use std::future::Future;
use std::io;
use std::time::Duration;

use crate::observe::{self, RateLimited};

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
