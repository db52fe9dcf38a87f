//! The deadline of a message a peer started and did not finish.

use std::time::Duration;

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
