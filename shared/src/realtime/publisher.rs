//! The stream publisher: committed change → events (`crate::events`) → every subscribed
//! connection of the campaign's owner. Subscribers are found by key lookups (the owner's topic
//! once per batch, a campaign's when a marker says it has subscribers: `batch_subscribers.rs`),
//! never a scan. One connection's failure never affects the others: a transient push failure is
//! retried a few times within the invocation (bounded in count and time), then counted and
//! dropped, and a connection that kept failing is tried once per record until a push to it
//! succeeds (`failing.rs`); a closed connection (410) is forgotten. Pushes go through a client
//! without the SDK's own retries: the publisher's are the only ones.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::streams::DynamoDbEventResponse;
use chrono::Utc;
use futures_util::{FutureExt, StreamExt};
use tracing::Instrument;

use super::batch_subscribers::BatchSubscribers;
use super::failing::FailingConnections;
use super::push::{Push, PushError};
use super::throttle::{PROGRESS_INTERVAL, ProgressThrottle};
use crate::domain::PhaseName;
use crate::error::AppError;
use crate::events::{EventType, PhaseEvent, derive_events_at};
use crate::lambda::CampaignChange;
use crate::state::AppState;
use crate::store::Subscriber;
use crate::telemetry;

/// Pushes to different connections run concurrently, at most this many at a time.
pub const PUSH_CONCURRENCY: usize = 64;

/// The stream publisher: one per function instance (it keeps the progress throttle).
#[derive(Debug)]
pub struct Publisher {
    pub push: Push,
    pub throttle: ProgressThrottle,
    failing: FailingConnections,
    totals: Totals,
}

/// What an instance's fan-outs did since it started (what the per-record log lines add up to).
#[derive(Debug, Default)]
struct Totals {
    records: AtomicU64,
    deliveries: AtomicU64,
    dropped: AtomicU64,
    gone: AtomicU64,
    rejected: AtomicU64,
}

/// [`Publisher::totals`]: records with events fanned out, and per connection and record the
/// deliveries, drops (transient failures past the retries), gone and refused connections.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PublishTotals {
    pub records: u64,
    pub deliveries: u64,
    pub dropped: u64,
    pub gone: u64,
    pub rejected: u64,
}

/// What one record's fan-out did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    pub events: usize,
    pub subscribers: usize,
    pub gone: usize,
    pub rejected: usize,
    /// Connections whose push kept failing transiently: counted and dropped (that connection
    /// misses the event and resyncs from its status fallback; the others are unaffected).
    pub dropped: usize,
}

enum Delivery {
    Delivered,
    Gone,
    Rejected,
    Dropped,
}

/// Tries per push that fails transiently, 25 then 50 ms apart: short, because the record's other
/// subscribers (their next events wait for the record) and the shard's next batch pay for them
/// once for each connection that starts failing (DECISIONS.md #41)…
pub const PUSH_ATTEMPTS: u32 = 3;
/// …and no new try once this long went by since the connection's first try for the record.
pub const PUSH_RETRY_BUDGET: Duration = Duration::from_millis(1000);

impl Publisher {
    /// A publisher pushing through `push`'s client with the SDK's retries turned off.
    pub fn new(push: Push) -> Self {
        Self {
            push: push.without_sdk_retries(),
            throttle: ProgressThrottle::new(PROGRESS_INTERVAL),
            failing: FailingConnections::default(),
            totals: Totals::default(),
        }
    }

    /// What this instance's fan-outs did since it started.
    pub fn totals(&self) -> PublishTotals {
        let t = &self.totals;
        PublishTotals {
            records: t.records.load(Ordering::Relaxed),
            deliveries: t.deliveries.load(Ordering::Relaxed),
            dropped: t.dropped.load(Ordering::Relaxed),
            gone: t.gone.load(Ordering::Relaxed),
            rejected: t.rejected.load(Ordering::Relaxed),
        }
    }

    /// One stream batch. Records are grouped by campaign: each campaign's records are published
    /// in order, different campaigns concurrently, so one campaign's slow or failing pushes do
    /// not hold back the others. A failed record stops its campaign's group; the batch reports
    /// the earliest failed record, from which the stream retries (every record before it has
    /// succeeded; records after it that succeeded are sent again, and clients drop what they
    /// already applied). An unreadable record is logged and skipped
    /// ([`crate::lambda::group_by_campaign`]).
    pub async fn handle_batch(
        &self,
        state: &AppState,
        event: StreamEvent,
    ) -> DynamoDbEventResponse {
        let batch = BatchSubscribers::default();
        let runs = crate::lambda::group_by_campaign(&event)
            .into_iter()
            .map(|group| self.publish_group(state, group, &batch));
        let failed_at = crate::lambda::run_campaign_groups(runs).await;
        crate::lambda::retry_from(&event, failed_at)
    }

    /// One campaign's records of a batch, in order; the position of the record that failed, if
    /// one did. The subscribers are read once for the group: a connection
    /// that subscribes later read the campaign's status after every record of the batch was
    /// committed, so it has nothing to miss (the owner's topic: once per batch, `batch`).
    async fn publish_group(
        &self,
        state: &AppState,
        group: Vec<crate::lambda::Positioned>,
        batch: &BatchSubscribers,
    ) -> Option<usize> {
        let mut subscribers = None;
        // A progress event that a later record of this batch supersedes (newer progress, or the
        // phase's end) is not pushed: when the publisher falls behind, it catches up with one
        // fan-out per campaign and batch instead of one per record.
        let phase_updates: Vec<Vec<PhaseName>> = group
            .iter()
            .map(|(_, c)| {
                derive_events_at(c.old.as_ref(), c.new.as_ref(), None)
                    .into_iter()
                    .filter(|e| {
                        matches!(
                            e.kind,
                            EventType::PhaseProgress
                                | EventType::PhaseCompleted
                                | EventType::PhaseFailed
                        )
                    })
                    .filter_map(|e| e.phase)
                    .collect()
            })
            .collect();
        for (i, (pos, change)) in group.into_iter().enumerate() {
            let superseded: Vec<PhaseName> =
                phase_updates[i + 1..].iter().flatten().copied().collect();
            let span = crate::lambda::record_span(&change);
            let run = self
                .publish(state, change, &superseded, &mut subscribers, batch)
                .instrument(span.clone());
            let result = AssertUnwindSafe(run).catch_unwind().await;
            let _enter = span.enter();
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "stream record failed; retrying from here");
                    return Some(pos);
                }
                Err(_) => {
                    tracing::error!("publisher panicked; retrying from here");
                    return Some(pos);
                }
            }
        }
        None
    }

    /// Publishes the events of one committed change to every subscribed connection of the
    /// campaign's owner. Fails (so the stream retries the record) only on a transient error:
    /// reading the subscribers, or a push that may succeed later. A closed connection (410) is
    /// forgotten, a refused push is logged; neither holds back the others.
    pub async fn handle_change(
        &self,
        state: &AppState,
        change: CampaignChange,
    ) -> Result<FanOut, AppError> {
        self.publish(state, change, &[], &mut None, &BatchSubscribers::default())
            .await
    }

    /// [`Publisher::handle_change`] with the campaign's subscribers read once per batch
    /// (`subscribers`: `None` until needed).
    async fn publish(
        &self,
        state: &AppState,
        change: CampaignChange,
        superseded: &[PhaseName],
        subscribers: &mut Option<Vec<Subscriber>>,
        batch: &BatchSubscribers,
    ) -> Result<FanOut, AppError> {
        let Some(campaign) = change.new.as_ref().or(change.old.as_ref()) else {
            return Ok(FanOut::default());
        };
        let mut events = derive_events_at(
            change.old.as_ref(),
            change.new.as_ref(),
            Some(change.approximate_at),
        );
        events.retain(|e| {
            e.kind != EventType::PhaseProgress || !e.phase.is_some_and(|p| superseded.contains(&p))
        });
        let now = Instant::now();
        let version = events.first().map(|e| e.version).unwrap_or_default();
        if events.iter().any(|e| e.kind == EventType::PhaseProgress)
            && !self.throttle.allow(campaign.id, version, now)
        {
            events.retain(|e| e.kind != EventType::PhaseProgress);
        }
        if events.is_empty() {
            return Ok(FanOut::default());
        }
        let mut lookup_ms = 0;
        if subscribers.is_none() {
            let started = Instant::now();
            *subscribers = Some(batch.of(state, campaign).await?);
            lookup_ms = started.elapsed().as_millis() as u64;
        }
        let targets = subscribers.as_mut().map(std::mem::take).unwrap_or_default();
        let payloads: Vec<String> = events.iter().map(PhaseEvent::to_json).collect();
        let mut out = FanOut {
            events: events.len(),
            subscribers: targets.len(),
            ..FanOut::default()
        };
        let payloads = &payloads;
        let deliveries = targets.into_iter().map(|sub| async move {
            let result = self.deliver(state, &sub, payloads).await;
            (sub, result)
        });
        let results: Vec<(Subscriber, Delivery)> = futures_util::stream::iter(deliveries)
            .buffer_unordered(PUSH_CONCURRENCY)
            .collect()
            .await;
        let mut still = Vec::with_capacity(results.len());
        let mut delivered = 0u64;
        for (sub, r) in results {
            match r {
                Delivery::Delivered => {
                    delivered += 1;
                    still.push(sub);
                }
                Delivery::Gone => out.gone += 1,
                Delivery::Rejected => {
                    out.rejected += 1;
                    still.push(sub);
                }
                Delivery::Dropped => {
                    out.dropped += 1;
                    still.push(sub);
                }
            }
        }
        *subscribers = Some(still);
        let t = &self.totals;
        t.records.fetch_add(1, Ordering::Relaxed);
        t.deliveries.fetch_add(delivered, Ordering::Relaxed);
        t.dropped.fetch_add(out.dropped as u64, Ordering::Relaxed);
        t.gone.fetch_add(out.gone as u64, Ordering::Relaxed);
        t.rejected.fetch_add(out.rejected as u64, Ordering::Relaxed);
        if events.iter().any(|e| {
            matches!(
                e.kind,
                EventType::PhaseCompleted | EventType::PhaseFailed | EventType::CampaignDeleted
            )
        }) {
            self.throttle.forget(campaign.id);
        }
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        // commit (`at`) → this record reached the publisher: the stream's share of the latency
        let lag_ms =
            (Utc::now() - events[0].at).num_milliseconds() - now.elapsed().as_millis() as i64;
        tracing::info!(
            events = ?kinds,
            version = events[0].version,
            lagMs = lag_ms,
            lookupMs = lookup_ms,
            subscribers = out.subscribers,
            gone = out.gone,
            rejected = out.rejected,
            dropped = out.dropped,
            elapsedMs = now.elapsed().as_millis() as u64,
            "events published"
        );
        if out.dropped > 0 {
            telemetry::events_dropped(out.dropped);
        }
        Ok(out)
    }

    /// Sends the record's events, in order, to one connection. Never fails: a transient failure
    /// is retried up to [`PUSH_ATTEMPTS`] times within [`PUSH_RETRY_BUDGET`] (once only while the
    /// connection is remembered as failing), then the connection is skipped for this record.
    async fn deliver(&self, state: &AppState, sub: &Subscriber, payloads: &[String]) -> Delivery {
        let id = &sub.connection_id;
        let started = Instant::now();
        let failing = self.failing.is_failing(id, started);
        let attempts = if failing { 1 } else { PUSH_ATTEMPTS };
        for payload in payloads {
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self.push.send(id, payload.as_bytes()).await {
                    Ok(()) => break,
                    Err(PushError::Gone) => {
                        tracing::info!(connectionId = %id, "connection gone; forgetting it");
                        self.failing.forget(id);
                        if let Err(e) = state.ws.forget(id, &[]).await {
                            // Left to the TTL; the next push finds it gone again.
                            tracing::warn!(connectionId = %id, error = %e, "could not forget a gone connection");
                        }
                        return Delivery::Gone;
                    }
                    Err(PushError::Rejected(why)) => {
                        tracing::warn!(connectionId = %id, %why, "push refused; skipping this connection");
                        return Delivery::Rejected;
                    }
                    Err(PushError::Transient(e))
                        if attempt >= attempts || started.elapsed() >= PUSH_RETRY_BUDGET =>
                    {
                        self.failing.dropped(id, Instant::now());
                        if failing {
                            tracing::info!(connectionId = %id, error = %e, "push to a failing connection failed again; this connection misses the event");
                        } else {
                            tracing::warn!(connectionId = %id, error = %e, attempts = attempt, "push kept failing; this connection misses the event and is tried once per record until it recovers");
                        }
                        return Delivery::Dropped;
                    }
                    Err(PushError::Transient(_)) => {
                        tokio::time::sleep(Duration::from_millis(25 << (attempt - 1))).await;
                    }
                }
            }
        }
        if failing {
            tracing::info!(connectionId = %id, "a failing connection recovered");
            self.failing.forget(id);
        }
        Delivery::Delivered
    }
}
