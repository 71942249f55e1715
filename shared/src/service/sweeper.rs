//! The sweeper (BEHAVIOUR.md "Phase control and self-healing"): on a schedule, it finds what may
//! be stuck and re-drives it through the normal idempotent paths.
//!
//! - Stale campaigns come from the sparse sweep index (`sweepAt` ≤ now − threshold), never a
//!   scan: a `running` phase without progress for `STALE_PHASE_SECONDS` gets its next chunk
//!   again; an auto-start still `queued` `STALE_QUEUED_SECONDS` after its request (beyond the
//!   retry budget) gets its message again.
//! - The stream consumers' on-failure messages name stream records a consumer gave up on: the
//!   dispatcher's are re-driven per campaign (its in-flight messages sent again), the
//!   publisher's are published again.
//!
//! Each re-drive is first recorded on the campaign (a conditional write, so `phase_recovered`
//! reaches clients through the stream like every other event), then its messages are sent by
//! the sweeper itself (the outbox may be what is broken). After `MAX_REDRIVES` re-drives
//! without progress (`domain::MAX_REDRIVES`) the phase, or its auto-start, is `failed` with
//! `STALLED`. A paused phase is never touched: it is not in the index.
//! - A stale phase (or auto-start) whose queue has a backlog may only be waiting in it: it is
//!   deferred, neither re-driven nor counted, until the backlog is gone or it has been stale for
//!   `STALE_BACKLOG_SECONDS` (decision 39).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::dispatch::in_flight;
use super::write::mutate;
use crate::domain::campaign::SWEEP_SHARDS;
use crate::domain::{
    AutoStartStatus, Campaign, PhaseName, PhaseState, PhaseStatus, RecoveryReason, Redrive,
};
use crate::error::AppError;
use crate::lambda::CampaignChange;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::QueueName;
use crate::store::streams::OnFailureMessage;
use crate::telemetry;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: usize,
    pub redriven: Vec<(Uuid, PhaseName, RecoveryReason, u32)>,
    pub stalled: Vec<(Uuid, PhaseName)>,
    /// Stale, but possibly waiting in a queue's backlog: left for the next sweep.
    pub deferred: Vec<(Uuid, PhaseName, RecoveryReason)>,
    pub stream_failures: usize,
    pub republished_records: usize,
    /// Re-drives that failed (a write or a send): due again at the next sweep.
    pub failed: usize,
}

/// At most this many on-failure messages per sweep (the rest wait for the next one).
const MAX_FAILURE_MESSAGES: usize = 100;

/// What waited in the work queues when a sweep began (decision 39): a stale phase or auto-start
/// may only be waiting behind it, so while its queue has a backlog it is not re-driven (nor
/// counted towards `STALLED`) unless it has been stale for `STALE_BACKLOG_SECONDS`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub auto_start: u64,
    pub phase_work: u64,
}

impl Backlog {
    /// Reads both queues' backlog. Unreadable: logged, and taken as no backlog (the sweeper
    /// then re-drives as if the queues were empty, its behaviour before decision 39).
    pub async fn read(state: &AppState) -> Self {
        let (auto_start, phase_work) = futures_util::join!(
            state.queues.backlog(QueueName::AutoStart),
            state.queues.backlog(QueueName::PhaseWork)
        );
        let known = |r: Result<u64, AppError>, queue: &str| {
            r.unwrap_or_else(|e| {
                tracing::warn!(error = %e, queue, "queue backlog unreadable; sweeping as if empty");
                0
            })
        };
        Self {
            auto_start: known(auto_start, "auto-start"),
            phase_work: known(phase_work, "phase-work"),
        }
    }

    /// Whether what is stale for `reason` may be a message waiting in its queue.
    fn may_hold(&self, reason: RecoveryReason) -> bool {
        match reason {
            RecoveryReason::StalledPhase => self.phase_work > 0,
            RecoveryReason::StaleQueued => self.auto_start > 0,
            RecoveryReason::StreamFailure => false,
        }
    }
}

/// What the sweeper should do about a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Redrive(PhaseName, RecoveryReason),
    /// Stale, but its message may be waiting in a backlog: look again next sweep.
    Defer(PhaseName, RecoveryReason),
}

/// The stale thing of one phase at `now`, and since when it has been so.
fn stale_phase(
    p: &PhaseState,
    now: DateTime<Utc>,
    phase_after: Duration,
    queued_after: Duration,
) -> Option<(RecoveryReason, DateTime<Utc>)> {
    if p.status == PhaseStatus::Running
        && let Some(t) = p.progress_at
        && t + phase_after <= now
    {
        return Some((RecoveryReason::StalledPhase, t));
    }
    let since = p.recovery.map(|r| r.at).or(p.auto_start.requested_at)?;
    (p.auto_start.status == AutoStartStatus::Queued && since + queued_after <= now)
        .then_some((RecoveryReason::StaleQueued, since))
}

/// The first stale thing of a campaign at `now`, if any.
pub fn stale(
    c: &Campaign,
    now: DateTime<Utc>,
    phase_after: Duration,
    queued_after: Duration,
) -> Option<(PhaseName, RecoveryReason)> {
    c.phases
        .iter()
        .find_map(|p| stale_phase(p, now, phase_after, queued_after).map(|(why, _)| (p.phase, why)))
}

/// What to do about a campaign's first stale thing at `now`, given the queues' `backlog`.
pub fn due(c: &Campaign, now: DateTime<Utc>, s: &Settings, backlog: Backlog) -> Option<Due> {
    let seconds = |n: u64| Duration::seconds(n as i64);
    let (phase_after, queued_after) = (
        seconds(s.stale_phase_seconds),
        seconds(s.stale_queued_seconds),
    );
    c.phases.iter().find_map(|p| {
        let (why, since) = stale_phase(p, now, phase_after, queued_after)?;
        Some(
            if backlog.may_hold(why) && now < since + seconds(s.stale_backlog_seconds) {
                Due::Defer(p.phase, why)
            } else {
                Due::Redrive(p.phase, why)
            },
        )
    })
}

/// What one re-drive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to re-drive (it moved on, or is gone).
    Nothing,
    Deferred(PhaseName, RecoveryReason),
    Done(PhaseName, RecoveryReason, Redrive),
}

/// Records a re-drive of `id` (for `reason`, if the campaign still needs one) and sends its
/// in-flight messages; `None` when there was nothing to re-drive. Never deferred: the queues'
/// backlog is the sweep's concern ([`sweep`]).
pub async fn redrive(
    state: &AppState,
    id: Uuid,
    reason: Option<RecoveryReason>,
    now: DateTime<Utc>,
) -> Result<Option<(PhaseName, RecoveryReason, Redrive)>, AppError> {
    Ok(
        match redrive_with(state, id, reason, now, Backlog::default()).await? {
            Outcome::Done(phase, why, what) => Some((phase, why, what)),
            Outcome::Nothing | Outcome::Deferred(..) => None,
        },
    )
}

async fn redrive_with(
    state: &AppState,
    id: Uuid,
    reason: Option<RecoveryReason>,
    now: DateTime<Utc>,
    backlog: Backlog,
) -> Result<Outcome, AppError> {
    let result = mutate(state, id, None, |c| {
        let target = match reason {
            // A stream failure: whatever the campaign has in flight, stale or not.
            Some(r) => c
                .phases
                .iter()
                .find(|p| {
                    p.status == PhaseStatus::Running
                        || p.auto_start.status == AutoStartStatus::Queued
                })
                .map(|p| Due::Redrive(p.phase, r)),
            None => due(c, now, &state.settings, backlog),
        };
        Ok(match target {
            None => Outcome::Nothing,
            Some(Due::Defer(phase, why)) => Outcome::Deferred(phase, why),
            Some(Due::Redrive(phase, why)) => c
                .record_redrive(phase, why, now)
                .map_or(Outcome::Nothing, |r| Outcome::Done(phase, why, r)),
        })
    })
    .await;
    let (campaign, outcome) = match result {
        Ok(r) => r,
        Err(AppError::NotFound(_)) => return Ok(Outcome::Nothing),
        Err(e) => return Err(e),
    };
    if let Outcome::Done(phase, why, what) = outcome {
        telemetry::recovered(why.as_str());
        if what != Redrive::Stalled {
            for d in in_flight(&campaign) {
                state.queues.send_dispatch(&d).await?;
            }
        }
        tracing::warn!(campaignId = %id, %phase, reason = why.as_str(), ?what, "re-drive");
    }
    Ok(outcome)
}

fn note(report: &mut SweepReport, id: Uuid, outcome: Outcome) {
    match outcome {
        Outcome::Done(phase, why, Redrive::Redriven(n)) => {
            report.redriven.push((id, phase, why, n))
        }
        Outcome::Done(phase, _, Redrive::Stalled) => report.stalled.push((id, phase)),
        Outcome::Deferred(phase, why) => report.deferred.push((id, phase, why)),
        Outcome::Nothing => {}
    }
}

/// Re-publishes the events of stream records (the publisher's on-failure records).
pub type Republish<'a> = &'a (
        dyn Fn(
    Vec<aws_lambda_events::dynamodb::EventRecord>,
) -> futures_util::future::BoxFuture<'a, Result<(), AppError>>
            + Sync
    );

/// One sweep. `republish` re-publishes a publisher's failed records (`None`: only logged).
pub async fn sweep(
    state: &AppState,
    now: DateTime<Utc>,
    republish: Option<Republish<'_>>,
) -> Result<SweepReport, AppError> {
    let mut report = SweepReport::default();
    let s = &state.settings;
    let threshold = s.stale_phase_seconds.min(s.stale_queued_seconds) as i64;
    let before = (now - Duration::seconds(threshold)).timestamp_millis();
    let mut backlog = None;
    for shard in 0..SWEEP_SHARDS {
        let ids = state
            .campaigns
            .sweep_due(&format!("s{shard}"), before)
            .await?;
        if !ids.is_empty() && backlog.is_none() {
            backlog = Some(Backlog::read(state).await);
        }
        for id in ids {
            report.examined += 1;
            // One campaign's failure (its write, or a send after the re-drive was recorded) does
            // not end the sweep: the others are as due, and this one is due again at the next.
            // Under a 50 % SQS send failure every sweep used to stop at its first failed send.
            match redrive_with(state, id, None, now, backlog.unwrap_or_default()).await {
                Ok(outcome) => note(&mut report, id, outcome),
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(campaignId = %id, error = %e, "re-drive failed; due again at the next sweep");
                }
            }
        }
    }
    while report.stream_failures < MAX_FAILURE_MESSAGES {
        let messages = state.queues.receive_stream_failures(10).await?;
        if messages.is_empty() {
            break;
        }
        for m in messages {
            report.stream_failures += 1;
            match handle_failure(state, &m.body, now, republish, &mut report).await {
                Ok(()) => {
                    state
                        .queues
                        .delete_stream_failure(&m.receipt_handle)
                        .await?
                }
                Err(e) => {
                    tracing::error!(error = %e, "on-failure message not handled; it comes back")
                }
            }
        }
    }
    tracing::info!(
        examined = report.examined,
        redriven = report.redriven.len(),
        stalled = report.stalled.len(),
        deferred = report.deferred.len(),
        failed = report.failed,
        backlog = ?backlog,
        streamFailures = report.stream_failures,
        "sweep"
    );
    Ok(report)
}

async fn handle_failure(
    state: &AppState,
    body: &str,
    now: DateTime<Utc>,
    republish: Option<Republish<'_>>,
    report: &mut SweepReport,
) -> Result<(), AppError> {
    let message: OnFailureMessage = match serde_json::from_str(body) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, body, "unreadable on-failure message dropped");
            return Ok(());
        }
    };
    let records = state.streams.failed_batch(&message.batch).await?;
    let function = &message.request_context.function_arn;
    if function.ends_with("stream-publisher") || function.contains("StreamPublisher") {
        report.republished_records += records.len();
        return match republish {
            Some(f) => f(records).await,
            None => Ok(()),
        };
    }
    let mut ids: Vec<Uuid> = records
        .iter()
        .filter_map(|r| CampaignChange::from_record(r).ok())
        .filter_map(|c| c.campaign_id())
        .collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        let outcome = redrive_with(
            state,
            id,
            Some(RecoveryReason::StreamFailure),
            now,
            Backlog::default(),
        )
        .await?;
        note(report, id, outcome);
    }
    Ok(())
}
