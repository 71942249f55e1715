//! The connections whose pushes kept failing, as one publisher instance remembers them
//! (DECISIONS.md #39).
//!
//! A push that fails transiently is retried a few times within the record's fan-out; a
//! connection that still fails is dropped for that record and remembered here. While it is
//! remembered (at most [`FAILING_FOR`] after its last drop), each later record tries it once,
//! with no retries: a connection that always fails costs every record one quick attempt instead
//! of a full set of retries, so it cannot hold back the record's other subscribers (or, through
//! the record, the shard). The first push to it that succeeds forgets it; so does a 410.
//!
//! The memory is per instance and bounded: entries older than [`FAILING_FOR`] are pruned once
//! it holds [`PRUNE_ABOVE`] connections.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after its last drop a connection is tried only once per record.
pub const FAILING_FOR: Duration = Duration::from_secs(300);
/// Above this many remembered connections, the stale ones are pruned.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Default)]
pub struct FailingConnections {
    last_dropped: Mutex<HashMap<String, Instant>>,
}

impl FailingConnections {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.last_dropped.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `connection_id` was dropped within [`FAILING_FOR`] of `now`.
    pub fn is_failing(&self, connection_id: &str, now: Instant) -> bool {
        self.lock()
            .get(connection_id)
            .is_some_and(|at| now.saturating_duration_since(*at) < FAILING_FOR)
    }

    /// Remembers that `connection_id` was dropped at `now`.
    pub fn dropped(&self, connection_id: &str, now: Instant) {
        let mut m = self.lock();
        if m.len() >= PRUNE_ABOVE {
            m.retain(|_, at| now.saturating_duration_since(*at) < FAILING_FOR);
        }
        m.insert(connection_id.to_string(), now);
    }

    /// Forgets `connection_id` (a push to it succeeded, or it is gone).
    pub fn forget(&self, connection_id: &str) {
        self.lock().remove(connection_id);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_until_forgotten_or_stale() {
        let f = FailingConnections::default();
        let t = Instant::now();
        assert!(!f.is_failing("a", t));
        f.dropped("a", t);
        assert!(f.is_failing("a", t + Duration::from_secs(1)));
        assert!(!f.is_failing("b", t));
        assert!(
            !f.is_failing("a", t + FAILING_FOR),
            "stale after FAILING_FOR"
        );
        f.forget("a");
        assert!(!f.is_failing("a", t));
        assert!(f.is_empty());
    }

    #[test]
    fn bounded() {
        let f = FailingConnections::default();
        let t = Instant::now();
        for i in 0..PRUNE_ABOVE {
            f.dropped(&format!("old{i}"), t);
        }
        f.dropped("new", t + FAILING_FOR);
        assert_eq!(f.len(), 1, "the stale ones were pruned");
        assert!(f.is_failing("new", t + FAILING_FOR));
    }
}
