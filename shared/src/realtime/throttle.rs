//! The per-instance `phase_progress` throttle of the publisher: at most one progress event per
//! campaign per [`PROGRESS_INTERVAL`]; completion, failure and every other event always go out.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

/// At most one `phase_progress` per campaign per this interval (per publisher instance).
pub const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

/// Per-instance memory of when a campaign's last progress event was let through. Only progress
/// events are ever skipped; completion, failure and every other event always go out.
#[derive(Debug)]
pub struct ProgressThrottle {
    interval: Duration,
    /// campaign → (when, version of the record whose progress was let through)
    last: Mutex<HashMap<Uuid, (Instant, u64)>>,
}

impl ProgressThrottle {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the progress event of record `version` goes out. The decision sticks to the
    /// record: a retried record whose progress was let through lets it through again, so every
    /// subscriber gets it, not only those reached before the failure.
    pub fn allow(&self, campaign: Uuid, version: u64, now: Instant) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(&campaign) {
            Some((_, v)) if *v == version => true,
            Some((t, _)) if now.saturating_duration_since(*t) < self.interval => false,
            _ => {
                if last.len() > 10_000 {
                    last.retain(|_, (t, _)| {
                        now.saturating_duration_since(*t) < Duration::from_secs(60)
                    });
                }
                last.insert(campaign, (now, version));
                true
            }
        }
    }

    pub fn forget(&self, campaign: Uuid) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&campaign);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_lets_one_progress_through_per_interval_and_sticks_to_its_record() {
        let t = ProgressThrottle::new(Duration::from_millis(250));
        let id = Uuid::new_v4();
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        assert!(t.allow(id, 3, start));
        assert!(!t.allow(id, 4, ms(100)));
        assert!(
            t.allow(id, 3, ms(120)),
            "a retry of the record that went out goes out again"
        );
        assert!(t.allow(Uuid::new_v4(), 4, ms(100)), "per campaign");
        assert!(!t.allow(id, 5, ms(249)));
        assert!(t.allow(id, 6, ms(250)));
        t.forget(id);
        assert!(t.allow(id, 7, ms(251)));
    }
}
