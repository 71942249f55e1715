//! The auto-start worker's decision for one message, and the dead-letter handler's.
//!
//! A message acts only on the request it was sent for (same phase, same `requestedAt`, still
//! `queued`); everything else is a no-op, so duplicates from the fast path, the outbox and the
//! sweeper are harmless and at most one of them starts the phase (one conditional write).

use super::readiness::pre_start;
use super::write::{Read, commit, load, mutate, with_retries};
use crate::domain::{AutoStartStatus, Campaign, ErrorInfo, Mode, PhaseStatus, Trigger, now_millis};
use crate::error::{AppError, RetryClass};
use crate::lambda::MessageMeta;
use crate::messages::AutoStartMessage;
use crate::state::AppState;
use crate::store::QueueName;
use crate::store::sqs::backoff_seconds;
use crate::telemetry;

/// What happened to one auto-start message. Every variant ends the message; only an `Err` of
/// [`process`] is retried.
#[derive(Debug, Clone)]
pub enum AutoStartOutcome {
    Started {
        latency_ms: i64,
        attempts: u32,
    },
    Cancelled,
    Skipped,
    /// Pre-start validation failed: permanent, not retried.
    Failed {
        code: String,
    },
    /// The campaign is gone, or this request was already handled (a duplicate or stale message).
    NothingToDo,
    /// Starting it would exceed a quota (the daily domains): ended as `failed` with the 429's code.
    OverQuota(AppError),
}

/// The decision that needs no I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    NothingToDo,
    Cancel,
    Skip,
    Start,
}

pub fn decide(c: &Campaign, msg: &AutoStartMessage) -> Decision {
    let state = c.phase(msg.phase);
    let request = &state.auto_start;
    if request.status != AutoStartStatus::Queued || request.requested_at != Some(msg.requested_at) {
        return Decision::NothingToDo;
    }
    if c.mode != Mode::FullSequence {
        return Decision::Cancel;
    }
    match state.status {
        PhaseStatus::NotStarted if c.check_can_start(msg.phase).is_ok() => Decision::Start,
        _ => Decision::Skip,
    }
}

/// Handles one auto-start message received for the `receive_count`-th time. `Err` only for
/// transient failures: the caller retries the message with backoff.
pub async fn process(
    state: &AppState,
    msg: &AutoStartMessage,
    receive_count: u32,
) -> Result<AutoStartOutcome, AppError> {
    let result = with_retries(|| async move {
        let mut c = load(state, msg.campaign_id, None).await?;
        let read = Read::of(&c);
        let now = now_millis();
        let (phase, at) = (msg.phase, msg.requested_at);
        let outcome = match decide(&c, msg) {
            Decision::NothingToDo => AutoStartOutcome::NothingToDo,
            Decision::Cancel => {
                c.end_auto_start(
                    phase,
                    at,
                    AutoStartStatus::Cancelled,
                    None,
                    receive_count,
                    now,
                );
                AutoStartOutcome::Cancelled
            }
            Decision::Skip => {
                c.end_auto_start(
                    phase,
                    at,
                    AutoStartStatus::Skipped,
                    None,
                    receive_count,
                    now,
                );
                AutoStartOutcome::Skipped
            }
            Decision::Start => match pre_start(state, &c, phase).await {
                Ok(plan) => {
                    c.start_phase(phase, Trigger::Auto, plan, receive_count, now)?;
                    let request = &c.phase(phase).auto_start;
                    AutoStartOutcome::Started {
                        latency_ms: request.latency_ms.unwrap_or_default(),
                        attempts: request.attempts,
                    }
                }
                Err(e) if e.retry_class() == RetryClass::Permanent => {
                    let info = ErrorInfo::from(&e);
                    c.end_auto_start(
                        phase,
                        at,
                        AutoStartStatus::Failed,
                        Some(info),
                        receive_count,
                        now,
                    );
                    AutoStartOutcome::Failed {
                        code: e.code().to_string(),
                    }
                }
                Err(e) => return Err(e),
            },
        };
        match commit(state, &read, &c).await {
            Ok(committed) => Ok(committed.then_some(outcome)),
            // over the daily domain quota: a permanent failure of this request, recorded below
            Err(e @ AppError::QuotaExceeded { .. }) => Ok(Some(AutoStartOutcome::OverQuota(e))),
            Err(e) => Err(e),
        }
    })
    .await;
    let outcome = match result {
        Ok(AutoStartOutcome::OverQuota(e)) => fail_over_quota(state, msg, receive_count, e).await?,
        Ok(outcome) => outcome,
        Err(AppError::NotFound(_)) => AutoStartOutcome::NothingToDo,
        Err(e) => return Err(e),
    };
    match &outcome {
        AutoStartOutcome::Started { latency_ms, .. } => telemetry::auto_start_success(*latency_ms),
        AutoStartOutcome::Failed { code } => telemetry::auto_start_failure(code),
        _ => {}
    }
    Ok(outcome)
}

/// Ends the request `failed` with `QUOTA_EXCEEDED` and its details (the user starts it by hand
/// once the quota allows).
async fn fail_over_quota(
    state: &AppState,
    msg: &AutoStartMessage,
    receive_count: u32,
    e: AppError,
) -> Result<AutoStartOutcome, AppError> {
    let info = ErrorInfo::from(&e);
    let result = mutate(state, msg.campaign_id, None, |c| {
        Ok(c.end_auto_start(
            msg.phase,
            msg.requested_at,
            AutoStartStatus::Failed,
            Some(info.clone()),
            receive_count,
            now_millis(),
        ))
    })
    .await;
    match result {
        Ok((_, true)) => Ok(AutoStartOutcome::Failed {
            code: e.code().to_string(),
        }),
        Ok((_, false)) | Err(AppError::NotFound(_)) => Ok(AutoStartOutcome::NothingToDo),
        Err(e) => Err(e),
    }
}

/// Records the attempt of a message that failed transiently (best effort: the failing dependency
/// may be DynamoDB itself; the count is also recovered from `ApproximateReceiveCount` later).
pub async fn record_failed_attempt(state: &AppState, msg: &AutoStartMessage, receive_count: u32) {
    let res = mutate(state, msg.campaign_id, None, |c| {
        c.record_auto_start_attempt(msg.phase, msg.requested_at, receive_count, now_millis());
        Ok(())
    })
    .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not record the failed attempt");
    }
}

/// Hides a failed message for its backoff and returns the delay. A failure to do so is logged:
/// the queue's visibility timeout then applies, so the message is still retried.
/// On the auto-start queue's last receive there is nothing to wait for: the message goes to the
/// dead-letter queue at once (so the budget is the backoffs of the first `maxReceiveCount - 1`).
pub async fn retry_later(state: &AppState, queue: QueueName, meta: &MessageMeta) -> i32 {
    let s = &state.settings;
    let last = queue == QueueName::AutoStart && meta.receive_count >= s.autostart_max_receive_count;
    let delay = if last {
        0
    } else {
        backoff_seconds(
            meta.receive_count,
            s.backoff_base_seconds,
            s.backoff_cap_seconds,
            rand::random::<f64>(),
        )
    };
    if let Err(e) = state
        .queues
        .retry_later(queue, &meta.receipt_handle, delay)
        .await
    {
        tracing::warn!(error = %e, "could not set the retry backoff; the queue's visibility timeout applies");
    }
    delay
}

/// The worker's handling of one message: the outcome ends the message, or — for a transient
/// failure — the attempt is recorded, the message hidden for its backoff, and the error returned
/// so the batch reports it as failed.
pub async fn handle_message(
    state: &AppState,
    msg: &AutoStartMessage,
    meta: &MessageMeta,
) -> Result<(), AppError> {
    match process(state, msg, meta.receive_count).await {
        Ok(outcome) => {
            tracing::info!(campaignId = %msg.campaign_id, phase = %msg.phase, ?outcome, "auto-start message handled");
            Ok(())
        }
        Err(e) => {
            record_failed_attempt(state, msg, meta.receive_count).await;
            let delay = retry_later(state, QueueName::AutoStart, meta).await;
            tracing::warn!(campaignId = %msg.campaign_id, error = %e, retryInSeconds = delay, "auto-start failed transiently");
            Err(e)
        }
    }
}

/// The dead-letter handler: the message used up its receives. Marks the request `failed` with
/// `RETRIES_EXHAUSTED` (if it is still that request and still queued).
pub async fn handle_dead_letter(
    state: &AppState,
    msg: &AutoStartMessage,
    _meta: &MessageMeta,
) -> Result<(), AppError> {
    let attempts = state.settings.autostart_max_receive_count;
    let info = ErrorInfo::new(
        "RETRIES_EXHAUSTED",
        format!("auto-start failed {attempts} times; start the phase manually"),
    );
    let result = mutate(state, msg.campaign_id, None, |c| {
        Ok(c.end_auto_start(
            msg.phase,
            msg.requested_at,
            AutoStartStatus::Failed,
            Some(info.clone()),
            attempts,
            now_millis(),
        ))
    })
    .await;
    let marked = match result {
        Ok((_, marked)) => marked,
        Err(AppError::NotFound(_)) => false,
        Err(e) => return Err(e),
    };
    if marked {
        telemetry::auto_start_failure("RETRIES_EXHAUSTED");
    }
    tracing::warn!(campaignId = %msg.campaign_id, marked, "auto-start dead letter handled");
    Ok(())
}
