//! The invariant audit after a scenario (BEHAVIOUR.md, invariants), each part in its own file:
//! - `settle`, `status`: every campaign settled (nothing running or queued by itself) and not
//!   `queued` (1), started, completed, started by its auto-start;
//! - `stream`, `image`, `judge`: the campaigns table's DynamoDB stream read from TRIM_HORIZON,
//!   independently of the WebSocket: each phase started at most once (2), `version` + 1 per
//!   write (3), nothing still past the stale threshold plus one sweep unless its queue's
//!   `backlog` explains it, and no paused phase moving by itself (5), re-drives and `STALLED`;
//! - `events`: what the wizards applied never goes backwards and matches the stream (3);
//! - `domains`: exactly the domains of an uninterrupted run (2, 6);
//! - `listing`: one create, one campaign (idempotency under crashes);
//! - `queues`: every consumed queue drained;
//! - `invariants`: the per-scenario result, every count 0.

pub mod backlog;
pub mod domains;
pub mod events;
pub mod image;
pub mod invariants;
pub mod judge;
pub mod listing;
pub mod queues;
pub mod settle;
pub mod status;
pub mod stream;

#[cfg(test)]
mod fixtures;

use serde::Serialize;

pub use backlog::Backlogs;
pub use domains::check_domains;
pub use events::{EventAudit, audit_events};
pub use image::Image;
pub use invariants::{Invariants, Strict};
pub use judge::{StaleBounds, StreamVerdict, judge_stream};
pub use listing::{Asked, ListingAudit, check_listings};
pub use queues::{drain_queues, sample_queues, wait_queues_quiet};
pub use settle::{FinalState, wait_settled};
pub use status::{auto_started, brief, completed, invariant1, stalled, started, state_key};
pub use stream::{EventKey, StreamCache, read_stream};

/// A count with the first few examples.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Findings {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Findings {
    pub fn add(&mut self, what: String) {
        self.count += 1;
        if self.examples.len() < 20 {
            self.examples.push(what);
        }
    }

    /// Adds every finding of `other` (its examples as far as they fit).
    pub fn extend(&mut self, other: &Findings, prefix: &str) {
        for e in &other.examples {
            self.add(format!("{prefix}{e}"));
        }
        self.count += other.count - other.examples.len();
    }
}
