//! The sweeper's schedule on the local stack (EventBridge `rate(1 minute)` in AWS).
//!
//! Locally the sweeper runs every `LOCAL_SWEEP_SECONDS` (2) so that tests see a stale phase
//! re-driven seconds after its threshold, but each sweep costs moto one index query per shard
//! and an SQS receive: 4.5 of the idle stack's 9.6 requests to moto a second. So the pace
//! follows the stack's own writes ([`crate::activity::Activity`]): fast while anything written
//! can still go stale, slow (`LOCAL_SWEEP_IDLE_SECONDS`, 30) once nothing was written for longer
//! than the largest stale threshold plus two sweeps.
//!
//! Invariant: a campaign only becomes due `STALE_*_SECONDS` after its own last write (the
//! sweeper's index key is that write's time), so every campaign that can become due while the
//! stack is quiet became due inside the fast window and was swept at the fast pace; the slow
//! pace only catches what was written from outside the stack.

use std::time::{Duration, Instant};

use campaign_shared::Settings;
use lambda_runtime::{Context, LambdaEvent};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Gateway;
use crate::profile;

/// How often the sweeper runs, by how long ago the stack last wrote.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pace {
    /// Between sweeps while busy (`LOCAL_SWEEP_SECONDS`).
    #[serde(with = "secs")]
    pub every: Duration,
    /// Between sweeps once quiet (`LOCAL_SWEEP_IDLE_SECONDS`).
    #[serde(with = "secs")]
    pub idle_every: Duration,
    /// Busy for this long after a write: the largest stale threshold plus two sweeps.
    #[serde(with = "secs")]
    pub busy_for: Duration,
}

mod secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

impl Pace {
    pub fn new(every_secs: u64, idle_every_secs: u64, settings: &Settings) -> Self {
        let every = every_secs.max(1);
        let stale = settings
            .stale_phase_seconds
            .max(settings.stale_queued_seconds);
        Self {
            every: Duration::from_secs(every),
            idle_every: Duration::from_secs(idle_every_secs.max(every)),
            busy_for: Duration::from_secs(stale + 2 * every),
        }
    }

    pub fn busy(&self, since_write: Duration) -> bool {
        since_write <= self.busy_for
    }

    /// Whether a sweep is due, `since_sweep` after the last one.
    pub fn due(&self, since_sweep: Duration, since_write: Duration) -> bool {
        let gap = if self.busy(since_write) {
            self.every
        } else {
            self.idle_every
        };
        since_sweep >= gap
    }
}

/// Runs the sweeper at the gateway's pace, forever. The first sweep is one fast interval after
/// the start.
pub async fn run_sweeper(gw: Gateway) {
    let pace = gw.sweep_pace;
    let mut tick = tokio::time::interval(pace.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let mut last = Instant::now();
    loop {
        tick.tick().await;
        if !pace.due(last.elapsed(), gw.activity.since_last_write()) {
            continue;
        }
        last = Instant::now();
        sweep_once(&gw).await;
    }
}

/// `GET /_local/sweeper`: the pace, and whether the stack is busy or quiet now (the latency
/// bench waits for quiet before it measures the idle stack).
pub async fn status(axum::extract::State(gw): axum::extract::State<Gateway>) -> axum::Json<Value> {
    let since = gw.activity.since_last_write();
    axum::Json(json!({
        "pace": gw.sweep_pace,
        "busy": gw.sweep_pace.busy(since),
        "sinceLastWriteMs": since.as_millis() as u64,
    }))
}

async fn sweep_once(gw: &Gateway) {
    let state = gw.handler_state();
    let event = LambdaEvent::new(
        serde_json::json!({"source": "aws.events"}),
        Context::default(),
    );
    match profile::invocation(
        "sweeper",
        Vec::new,
        |r| matches!(r, Ok(Ok(_))),
        tokio::time::timeout(
            Duration::from_secs(60),
            sweeper::handler(&state, &gw.publisher, event),
        ),
    )
    .await
    {
        Ok(Ok(report))
            if report["redriven"] != 0
                || report["stalled"] != 0
                || report["streamFailures"] != 0 =>
        {
            tracing::info!(%report, "sweep");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "sweep failed"),
        Err(_) => tracing::warn!("sweep timed out"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pace() -> Pace {
        let mut s = Settings::from_env();
        s.stale_phase_seconds = 10;
        s.stale_queued_seconds = 25;
        Pace::new(2, 30, &s)
    }

    #[test]
    fn fast_while_a_write_can_still_go_stale_then_slow() {
        let p = pace();
        assert_eq!(p.busy_for, Duration::from_secs(29));
        let s = Duration::from_secs;
        // Busy: every 2 s.
        assert!(!p.due(s(1), s(0)));
        assert!(p.due(s(2), s(28)));
        // A campaign written at 0 is due at 25 (queued) and swept by 27 at the latest.
        assert!(p.busy(s(27)));
        // Quiet: every 30 s.
        assert!(!p.due(s(2), s(30)));
        assert!(!p.due(s(29), s(600)));
        assert!(p.due(s(30), s(600)));
    }

    #[test]
    fn the_slow_pace_is_never_faster_than_the_fast_one() {
        let p = Pace::new(5, 1, &Settings::from_env());
        assert_eq!(p.idle_every, Duration::from_secs(5));
        assert_eq!(
            Pace::new(0, 0, &Settings::from_env()).every,
            Duration::from_secs(1)
        );
    }
}
