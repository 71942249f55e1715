//! The auto-start worker's decision for one message, and the dead-letter handler's.

use chrono::{DateTime, Utc};

use super::campaigns::{commit, load, mutate, pre_start_validation, with_retries};
use crate::adapters::queue::AutoStartMessage;
use crate::config::AppState;
use crate::domain::{AutoStartStatus, Campaign, ErrorInfo, Mode, PhaseStatus, Trigger, now_millis};
use crate::error::{AppError, RetryClass};
use crate::telemetry;

/// What happened to one auto-start message. Every variant but an `Err` ends the message.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The campaign no longer exists, or this request was already handled (a redelivery or a
    /// stale message): nothing to do.
    NothingToDo,
}

/// The decision that needs no I/O.
pub(crate) enum Decision {
    NothingToDo,
    Cancel,
    Skip,
    Start,
}

pub(crate) fn decide(c: &Campaign, msg: &AutoStartMessage) -> Decision {
    let request = &c.auto_start;
    if request.status != AutoStartStatus::Queued
        || request.phase != Some(msg.phase)
        || request.requested_at != Some(msg.requested_at)
    {
        return Decision::NothingToDo;
    }
    if c.mode != Mode::FullSequence {
        return Decision::Cancel;
    }
    match c.phase(msg.phase).status {
        PhaseStatus::Running | PhaseStatus::Completed => Decision::Skip,
        _ if c.check_can_start(msg.phase).is_err() => Decision::Skip,
        _ => Decision::Start,
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
        let read = c.version;
        let now = now_millis();
        let outcome = match decide(&c, msg) {
            Decision::NothingToDo => AutoStartOutcome::NothingToDo,
            Decision::Cancel => {
                c.end_auto_start(AutoStartStatus::Cancelled, None, receive_count, now);
                AutoStartOutcome::Cancelled
            }
            Decision::Skip => {
                c.end_auto_start(AutoStartStatus::Skipped, None, receive_count, now);
                AutoStartOutcome::Skipped
            }
            Decision::Start => match pre_start_validation(state, &c, msg.phase).await {
                Ok(plan) => {
                    c.start_phase(
                        msg.phase,
                        Trigger::Auto,
                        plan.total,
                        plan.chunk_size,
                        receive_count,
                        now,
                    )?;
                    AutoStartOutcome::Started {
                        latency_ms: c.auto_start.latency_ms.unwrap_or_default(),
                        attempts: c.auto_start.attempts,
                    }
                }
                Err(e) if e.retry_class() == RetryClass::Permanent => {
                    c.end_auto_start(
                        AutoStartStatus::Failed,
                        Some(ErrorInfo::from(&e)),
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
        Ok(commit(state, &c, read).await?.then_some(outcome))
    })
    .await;
    let outcome = match result {
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

/// Records the attempt of a message that failed transiently (best effort: the failing dependency
/// may be DynamoDB itself; the count is also recovered from `ApproximateReceiveCount` later).
pub async fn record_failed_attempt(state: &AppState, msg: &AutoStartMessage, receive_count: u32) {
    let res = mutate(state, msg.campaign_id, None, |c: &mut Campaign| {
        if c.auto_start.requested_at == Some(msg.requested_at) {
            c.record_auto_start_attempt(receive_count, now_millis());
        }
        Ok(())
    })
    .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "could not record the failed attempt");
    }
}

/// The dead-letter handler: the message used up its receives. Marks the request `failed` with
/// `RETRIES_EXHAUSTED` (if it is still that request and still queued).
pub async fn exhausted(
    state: &AppState,
    msg: &AutoStartMessage,
    max_receive_count: u32,
) -> Result<bool, AppError> {
    let info = ErrorInfo {
        code: "RETRIES_EXHAUSTED".into(),
        message: format!("auto-start failed {max_receive_count} times; start the phase manually"),
        details: vec![],
    };
    let requested_at: DateTime<Utc> = msg.requested_at;
    let result = mutate(state, msg.campaign_id, None, |c: &mut Campaign| {
        if c.auto_start.requested_at != Some(requested_at) || c.auto_start.phase != Some(msg.phase)
        {
            return Ok(false);
        }
        Ok(c.end_auto_start(
            AutoStartStatus::Failed,
            Some(info.clone()),
            max_receive_count,
            now_millis(),
        ))
    })
    .await;
    match result {
        Ok((_, marked)) => {
            if marked {
                telemetry::auto_start_failure("RETRIES_EXHAUSTED");
            }
            Ok(marked)
        }
        Err(AppError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The worker's handling of one message: the outcome ends the message, or — for a transient
/// failure — the attempt is recorded, the message hidden for an exponential backoff with jitter
/// (`ChangeMessageVisibility`), and the error returned so the batch reports it as failed.
pub async fn handle_message(
    state: &AppState,
    msg: &AutoStartMessage,
    meta: &crate::lambda::MessageMeta,
) -> Result<(), AppError> {
    match process(state, msg, meta.receive_count).await {
        Ok(outcome) => {
            tracing::info!(campaignId = %msg.campaign_id, phase = %msg.phase, ?outcome, "auto-start message handled");
            Ok(())
        }
        Err(e) => {
            record_failed_attempt(state, msg, meta.receive_count).await;
            let delay = state
                .autostart_queue()
                .retry_later(meta, &state.settings)
                .await;
            tracing::warn!(campaignId = %msg.campaign_id, error = %e, retryInSeconds = delay, "auto-start failed transiently");
            Err(e)
        }
    }
}

pub async fn handle_dead_letter(
    state: &AppState,
    msg: &AutoStartMessage,
    meta: &crate::lambda::MessageMeta,
) -> Result<(), AppError> {
    let _ = meta;
    let marked = exhausted(state, msg, state.settings.autostart_max_receive_count).await?;
    tracing::warn!(campaignId = %msg.campaign_id, marked, "auto-start dead letter handled");
    Ok(())
}
