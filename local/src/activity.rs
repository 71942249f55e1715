//! What the gateway's own SDK traffic says about the stack, for the two local timers that would
//! otherwise poll moto at a fixed rate while nothing happens:
//!
//! - the last write (a DynamoDB write to any table, an SQS send): the sweeper's schedule runs
//!   at `LOCAL_SWEEP_SECONDS` while anything can go stale, and slows down once the stack has
//!   been quiet for longer than any stale threshold ([`crate::schedule`]);
//! - a request moto rejected (HTTP 400: a missing table or queue answers so, as do conditional
//!   check failures): the resource watchdog checks at once whether moto lost its tables and
//!   queues, instead of asking every second ([`crate::resources::keep_created`]).
//!
//! Invariants: every handler hosted here writes through the observed client
//! ([`crate::sdk_http`]), so "no write seen" means no write by the stack; a write from outside
//! (a developer's CLI) is only seen by the slow timers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct Activity {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last write.
    last_write_ms: AtomicU64,
    rejected: Notify,
}

impl Default for Activity {
    fn default() -> Self {
        Self::new()
    }
}

impl Activity {
    /// A stack that has just written (startup creates the resources).
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                epoch: Instant::now(),
                last_write_ms: AtomicU64::new(0),
                rejected: Notify::new(),
            }),
        }
    }

    pub fn wrote(&self) {
        let now = self.inner.epoch.elapsed().as_millis() as u64;
        self.inner.last_write_ms.fetch_max(now, Ordering::Relaxed);
    }

    pub fn since_last_write(&self) -> Duration {
        let last = Duration::from_millis(self.inner.last_write_ms.load(Ordering::Relaxed));
        self.inner.epoch.elapsed().saturating_sub(last)
    }

    pub fn rejected(&self) {
        self.inner.rejected.notify_one();
    }

    /// Waits for a rejection seen since the last call (or this one).
    pub async fn next_rejection(&self) {
        self.inner.rejected.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_from_the_last_write_and_keeps_one_rejection() {
        let a = Activity::new();
        std::thread::sleep(Duration::from_millis(30));
        assert!(a.since_last_write() >= Duration::from_millis(30));
        a.wrote();
        assert!(a.since_last_write() < Duration::from_millis(30));
        a.rejected();
        a.rejected();
        tokio::time::timeout(Duration::from_millis(10), a.next_rejection())
            .await
            .expect("a rejection was kept");
        assert!(
            tokio::time::timeout(Duration::from_millis(10), a.next_rejection())
                .await
                .is_err(),
            "two rejections before one wait wake it once"
        );
    }
}
