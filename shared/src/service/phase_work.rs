//! Phase execution: one chunk of one run of a phase per message, persisted idempotently.
//!
//! The worker checks the committed state first: the phase must be `running` (a paused phase
//! starts no new chunk), in the message's run, with this chunk next. The chunk's output is
//! written (keyed by chunk and phase, refused if a later run wrote it), then the progress is
//! recorded with a conditional write that only succeeds while that chunk of that run is still
//! next and the phase is running or paused (a chunk in flight when the phase was paused still
//! counts; a stopped phase records nothing more). A crash between the two redoes the chunk; a
//! duplicate message finds it counted. The next chunk is dispatched from the stream record of
//! the progress write (the outbox, `dispatch`).

use super::autostart::retry_later;
use super::readiness::references;
use super::write::{load, mutate};
use crate::domain::{Campaign, ChunkOutcome, DISCOVERY, ErrorInfo, PhaseStatus, now_millis};
use crate::error::AppError;
use crate::lambda::MessageMeta;
use crate::messages::PhaseWorkMessage;
use crate::phases::{self, ChunkInput, discovery};
use crate::state::AppState;
use crate::store::{ChunkOutput, QueueName, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkResult {
    Recorded(ChunkOutcome),
    /// Not due (redelivery, stale run, paused or stopped phase): nothing done.
    NothingToDo,
}

/// The range of work items of chunk `chunk`.
pub fn chunk_range(chunk: u64, chunk_size: u64, total: u64) -> (u64, u64) {
    let start = chunk.saturating_mul(chunk_size).min(total);
    (start, (start + chunk_size).min(total))
}

/// The chunk's outputs of the phases before `msg.phase`, each from that phase's current run.
async fn earlier_outputs(
    state: &AppState,
    c: &Campaign,
    msg: &PhaseWorkMessage,
) -> Result<Vec<ChunkOutput>, AppError> {
    if msg.phase == DISCOVERY {
        return Ok(Vec::new());
    }
    let outputs = state.chunks.range(c.id, msg.chunk, 1).await?;
    let mut earlier = Vec::new();
    for phase in msg.phase.earlier() {
        let run = c.phase(*phase).run;
        let found = outputs
            .iter()
            .find(|o| o.phase == *phase && o.run == run)
            .cloned();
        earlier.push(found.ok_or_else(|| {
            AppError::internal(format!(
                "{phase} output of chunk {} (run {run}) is missing",
                msg.chunk
            ))
        })?);
    }
    Ok(earlier)
}

pub async fn process_chunk(
    state: &AppState,
    msg: &PhaseWorkMessage,
) -> Result<ChunkResult, AppError> {
    let campaign = match load(state, msg.campaign_id, None).await {
        Ok(c) => c,
        Err(AppError::NotFound(_)) => return Ok(ChunkResult::NothingToDo),
        Err(e) => return Err(e),
    };
    let p = campaign.phase(msg.phase);
    if p.status != PhaseStatus::Running || p.run != msg.run || p.next_chunk != msg.chunk {
        tracing::info!(
            chunk = msg.chunk,
            run = msg.run,
            next = p.next_chunk,
            current_run = p.run,
            status = p.status.as_str(),
            "chunk not due; ignored"
        );
        return Ok(ChunkResult::NothingToDo);
    }
    let (start, end) = chunk_range(msg.chunk, p.chunk_size, p.progress.total);
    let earlier = earlier_outputs(state, &campaign, msg).await?;
    let domains = earlier
        .iter()
        .find(|o| o.phase == DISCOVERY)
        .map(|o| discovery::domains_of(&o.data))
        .unwrap_or_default();
    let refs = references(state, &campaign).await?;
    let input = ChunkInput {
        campaign: &campaign,
        refs: &refs,
        settings: &state.settings,
        policy: &state.policy,
        chunk: msg.chunk,
        run: msg.run,
        start,
        end,
        domains,
        earlier,
    };
    let done = phases::phase(msg.phase).run_chunk(&input).await?;
    let output = ChunkOutput {
        phase: msg.phase,
        chunk: msg.chunk,
        run: msg.run,
        count: done.items,
        data: done.data,
    };
    if state.chunks.put(campaign.id, &output).await? == Write::Conflict {
        tracing::info!(
            chunk = msg.chunk,
            run = msg.run,
            "a later run wrote this chunk; stale work dropped"
        );
        return Ok(ChunkResult::NothingToDo);
    }
    let result = mutate(state, msg.campaign_id, None, |c| {
        Ok(c.record_chunk(
            msg.phase,
            msg.run,
            msg.chunk,
            end - start,
            &done.counts,
            now_millis(),
        ))
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

/// The phase worker's handling of one message; transient failures back off like auto-start.
pub async fn handle_message(
    state: &AppState,
    msg: &PhaseWorkMessage,
    meta: &MessageMeta,
) -> Result<(), AppError> {
    match process_chunk(state, msg).await {
        Ok(result) => {
            tracing::debug!(campaignId = %msg.campaign_id, chunk = msg.chunk, ?result, "chunk handled");
            Ok(())
        }
        Err(e) => {
            let delay = retry_later(state, QueueName::PhaseWork, meta).await;
            tracing::warn!(campaignId = %msg.campaign_id, chunk = msg.chunk, error = %e, retryInSeconds = delay, "chunk failed transiently");
            Err(e)
        }
    }
}

/// The phase-work dead-letter handler: a chunk failed on every receive; its run of the phase is
/// `failed` with `PHASE_WORK_EXHAUSTED` (and can be started again).
pub async fn handle_dead_letter(
    state: &AppState,
    msg: &PhaseWorkMessage,
    _meta: &MessageMeta,
) -> Result<(), AppError> {
    let info = ErrorInfo::new(
        "PHASE_WORK_EXHAUSTED",
        format!(
            "chunk {} of {} failed on every attempt; start the phase again",
            msg.chunk, msg.phase
        ),
    );
    let result = mutate(state, msg.campaign_id, None, |c| {
        if c.phase(msg.phase).next_chunk != msg.chunk {
            return Ok(false);
        }
        Ok(c.fail_phase(msg.phase, msg.run, info.clone(), now_millis()))
    })
    .await;
    let failed = match result {
        Ok((_, failed)) => failed,
        Err(AppError::NotFound(_)) => false,
        Err(e) => return Err(e),
    };
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
