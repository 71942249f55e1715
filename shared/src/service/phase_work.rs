//! Phase execution: one chunk of work per message, persisted idempotently.
//!
//! A chunk's output is written first (an idempotent overwrite keyed by chunk number), then the
//! progress is recorded with a conditional write on the campaign version that only succeeds if
//! the chunk is still the next one. A crash between the two redoes the same chunk with the same
//! output; a duplicate message finds the chunk already counted. The next chunk is scheduled by
//! the phase dispatcher from the stream record of that write (see [`super::dispatch`]).

use super::campaigns::{dns_persona, mutate};
use crate::adapters::dns::DnsValidator;
use crate::adapters::queue::PhaseWorkMessage;
use crate::config::AppState;
use crate::domain::{Campaign, ChunkOutcome, ErrorInfo, PhaseName, PhaseStatus, now_millis};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkResult {
    Recorded(ChunkOutcome),
    /// Already counted (redelivery), or the phase is not running this chunk any more.
    NothingToDo,
}

/// The range of work items of chunk `chunk`.
pub fn chunk_range(chunk: u64, chunk_size: u64, total: u64) -> (u64, u64) {
    let start = chunk.saturating_mul(chunk_size).min(total);
    (start, (start + chunk_size).min(total))
}

pub async fn process_chunk(
    state: &AppState,
    msg: &PhaseWorkMessage,
) -> Result<ChunkResult, AppError> {
    let Some(campaign) = state.campaigns().get(msg.campaign_id).await? else {
        return Ok(ChunkResult::NothingToDo);
    };
    let phase = campaign.phase(msg.phase);
    if phase.status != PhaseStatus::Running || phase.next_chunk != msg.chunk {
        tracing::info!(chunk = msg.chunk, next = phase.next_chunk, status = ?phase.status, "chunk not due; ignored");
        return Ok(ChunkResult::NothingToDo);
    }
    let (start, end) = chunk_range(msg.chunk, phase.chunk_size, phase.progress.total);
    let counts = execute(state, &campaign, msg.phase, msg.chunk, start, end).await?;
    let result = mutate(state, msg.campaign_id, None, |c: &mut Campaign| {
        Ok(c.record_chunk_counted(msg.phase, msg.chunk, end - start, &counts, now_millis()))
    })
    .await;
    match result {
        Ok((c, Some(outcome))) => {
            tracing::info!(
                chunk = msg.chunk,
                done = c.phase(msg.phase).progress.done,
                ?outcome,
                "chunk recorded"
            );
            Ok(ChunkResult::Recorded(outcome))
        }
        Ok((_, None)) | Err(AppError::NotFound(_)) => Ok(ChunkResult::NothingToDo),
        Err(e) => Err(e),
    }
}

/// The executor table: what one chunk of each phase does. Each arm writes its output keyed by
/// chunk number (a retry overwrites it with the same result) and returns the chunk's outcome
/// counts for the phase summary.
async fn execute(
    state: &AppState,
    campaign: &Campaign,
    phase: PhaseName,
    chunk: u64,
    start: u64,
    end: u64,
) -> Result<Vec<(String, u64)>, AppError> {
    match phase {
        PhaseName::Discovery => {
            let config = campaign.config.discovery.as_ref().ok_or_else(|| {
                AppError::internal("discovery running without a discovery config")
            })?;
            let domains = config.generator().range(start, end);
            state
                .domains()
                .put_chunk(campaign.id, chunk, &domains)
                .await?;
            Ok(Vec::new())
        }
        PhaseName::Validation => {
            let domains = state
                .domains()
                .chunk(campaign.id, chunk)
                .await?
                .ok_or_else(|| AppError::internal(format!("discovery chunk {chunk} is missing")))?;
            if domains.len() as u64 != end - start {
                return Err(AppError::internal(
                    "discovery chunk does not match the validation chunk",
                ));
            }
            let (_, dns) = dns_persona(state, campaign)
                .await?
                .map_err(|p| AppError::internal(format!("{}: {}", p.field, p.problem)))?;
            let deadline = tokio::time::Instant::now()
                + std::time::Duration::from_secs(state.settings.phase_chunk_budget_seconds);
            let checks = DnsValidator::new(&dns)?.check_all(&domains, deadline).await;
            state
                .domains()
                .put_validation(campaign.id, chunk, &checks)
                .await?;
            let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
            for c in &checks {
                *counts.entry(c.status.as_str()).or_default() += 1;
            }
            Ok(counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect())
        }
    }
}

/// The phase-work dead-letter handler: a chunk failed on every receive; the phase is `failed`
/// with `PHASE_WORK_EXHAUSTED` and can be restarted by hand (it resumes at that chunk).
pub async fn exhausted(state: &AppState, msg: &PhaseWorkMessage) -> Result<bool, AppError> {
    let info = ErrorInfo {
        code: "PHASE_WORK_EXHAUSTED".into(),
        message: format!(
            "chunk {} of {} failed on every attempt; restart the phase to resume",
            msg.chunk, msg.phase
        ),
        details: vec![],
    };
    let result = mutate(state, msg.campaign_id, None, |c: &mut Campaign| {
        if c.phase(msg.phase).next_chunk != msg.chunk {
            return Ok(false);
        }
        Ok(c.fail_phase(msg.phase, info.clone(), now_millis()))
    })
    .await;
    match result {
        Ok((_, failed)) => Ok(failed),
        Err(AppError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The phase worker's handling of one message; transient failures back off like auto-start.
pub async fn handle_message(
    state: &AppState,
    msg: &PhaseWorkMessage,
    meta: &crate::lambda::MessageMeta,
) -> Result<(), AppError> {
    match process_chunk(state, msg).await {
        Ok(result) => {
            tracing::debug!(campaignId = %msg.campaign_id, chunk = msg.chunk, ?result, "chunk handled");
            Ok(())
        }
        Err(e) => {
            let delay = state
                .phase_work_queue()
                .retry_later(meta, &state.settings)
                .await;
            tracing::warn!(campaignId = %msg.campaign_id, chunk = msg.chunk, error = %e, retryInSeconds = delay, "chunk failed transiently");
            Err(e)
        }
    }
}

pub async fn handle_dead_letter(
    state: &AppState,
    msg: &PhaseWorkMessage,
    meta: &crate::lambda::MessageMeta,
) -> Result<(), AppError> {
    let _ = meta;
    let failed = exhausted(state, msg).await?;
    tracing::warn!(campaignId = %msg.campaign_id, chunk = msg.chunk, failed, "phase-work dead letter handled");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::chunk_range;

    #[test]
    fn chunks_cover_the_total_exactly_once() {
        let (size, total) = (7, 50);
        let mut covered = Vec::new();
        let mut chunk = 0;
        loop {
            let (s, e) = chunk_range(chunk, size, total);
            if s == e {
                break;
            }
            covered.extend(s..e);
            chunk += 1;
        }
        assert_eq!(covered, (0..total).collect::<Vec<_>>());
        assert_eq!(chunk, 8);
    }
}
