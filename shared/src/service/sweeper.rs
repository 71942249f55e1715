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
//! without progress (`domain::MAX_REDRIVES`) the phase, or its auto-start, is `failed` with `STALLED`. A paused phase is
//! never touched: it is not in the index.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::dispatch::{in_flight, send};
use super::write::mutate;
use crate::domain::campaign::SWEEP_SHARDS;
use crate::domain::{AutoStartStatus, Campaign, PhaseName, PhaseStatus, RecoveryReason, Redrive};
use crate::error::AppError;
use crate::lambda::CampaignChange;
use crate::state::AppState;
use crate::store::streams::OnFailureMessage;
use crate::telemetry;

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    pub examined: usize,
    pub redriven: Vec<(Uuid, PhaseName, RecoveryReason, u32)>,
    pub stalled: Vec<(Uuid, PhaseName)>,
    pub stream_failures: usize,
    pub republished_records: usize,
}

/// At most this many on-failure messages per sweep (the rest wait for the next one).
const MAX_FAILURE_MESSAGES: usize = 100;

/// The first stale thing of a campaign at `now`, if any.
pub fn stale(
    c: &Campaign,
    now: DateTime<Utc>,
    phase_after: Duration,
    queued_after: Duration,
) -> Option<(PhaseName, RecoveryReason)> {
    c.phases.iter().find_map(|p| {
        if p.status == PhaseStatus::Running && p.progress_at.is_some_and(|t| t + phase_after <= now)
        {
            return Some((p.phase, RecoveryReason::StalledPhase));
        }
        let since = p.recovery.map(|r| r.at).or(p.auto_start.requested_at);
        (p.auto_start.status == AutoStartStatus::Queued
            && since.is_some_and(|t| t + queued_after <= now))
        .then_some((p.phase, RecoveryReason::StaleQueued))
    })
}

/// Records a re-drive of `id` (for `reason`, if the campaign still needs one) and sends its
/// in-flight messages; `None` when there was nothing to re-drive.
pub async fn redrive(
    state: &AppState,
    id: Uuid,
    reason: Option<RecoveryReason>,
    now: DateTime<Utc>,
) -> Result<Option<(PhaseName, RecoveryReason, Redrive)>, AppError> {
    let s = &state.settings;
    let (phase_after, queued_after) = (
        Duration::seconds(s.stale_phase_seconds as i64),
        Duration::seconds(s.stale_queued_seconds as i64),
    );
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
                .map(|p| (p.phase, r)),
            None => stale(c, now, phase_after, queued_after),
        };
        Ok(target
            .and_then(|(phase, why)| c.record_redrive(phase, why, now).map(|r| (phase, why, r))))
    })
    .await;
    let (campaign, outcome) = match result {
        Ok(r) => r,
        Err(AppError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    if let Some((phase, why, what)) = outcome {
        telemetry::recovered(why.as_str());
        if what != Redrive::Stalled {
            for d in in_flight(&campaign) {
                send(state, &d).await?;
            }
        }
        tracing::warn!(campaignId = %id, %phase, reason = why.as_str(), ?what, "re-drive");
    }
    Ok(outcome)
}

fn note(report: &mut SweepReport, id: Uuid, outcome: Option<(PhaseName, RecoveryReason, Redrive)>) {
    match outcome {
        Some((phase, why, Redrive::Redriven(n))) => report.redriven.push((id, phase, why, n)),
        Some((phase, _, Redrive::Stalled)) => report.stalled.push((id, phase)),
        None => {}
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
    for shard in 0..SWEEP_SHARDS {
        let ids = state
            .campaigns
            .sweep_due(&format!("s{shard}"), before)
            .await?;
        for id in ids {
            report.examined += 1;
            let outcome = redrive(state, id, None, now).await?;
            note(&mut report, id, outcome);
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
        let outcome = redrive(state, id, Some(RecoveryReason::StreamFailure), now).await?;
        note(report, id, outcome);
    }
    Ok(())
}
