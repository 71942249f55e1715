//! The phase dispatcher: turns committed campaign changes (stream records) into work messages.
//! This is a transactional outbox: work is scheduled only from what was committed, and the
//! stream's retries make the scheduling at-least-once; duplicates are ignored by the workers.

use crate::adapters::queue::{AutoStartMessage, PhaseWorkMessage};
use crate::config::AppState;
use crate::domain::{AutoStartStatus, Campaign, PhaseName, PhaseStatus};
use crate::error::AppError;

/// A message the dispatcher must send for a change from `old` to `new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    Work(PhaseWorkMessage),
    AutoStart(AutoStartMessage),
}

/// Pure: the messages a change calls for.
///  - a phase that is running and whose next chunk changed (or that just started) → its next chunk;
///  - an auto-start queued for a later phase by auto-advance → the auto-start message (the API
///    sends the one for discovery itself, in the request that queued it).
pub fn dispatches(old: Option<&Campaign>, new: &Campaign) -> Vec<Dispatch> {
    let mut out = Vec::new();
    for phase in &new.phases {
        if phase.status != PhaseStatus::Running {
            continue;
        }
        let before = old.map(|o| o.phase(phase.phase));
        let changed = before
            .is_none_or(|b| b.status != PhaseStatus::Running || b.next_chunk != phase.next_chunk);
        if changed {
            out.push(Dispatch::Work(PhaseWorkMessage {
                campaign_id: new.id,
                phase: phase.phase,
                chunk: phase.next_chunk,
                correlation_id: new.correlation_id.clone(),
            }));
        }
    }
    let request = &new.auto_start;
    if request.status == AutoStartStatus::Queued
        && let (Some(phase), Some(requested_at)) = (request.phase, request.requested_at)
        && phase != PhaseName::Discovery
        && old.is_none_or(|o| o.auto_start.requested_at != request.requested_at)
    {
        out.push(Dispatch::AutoStart(AutoStartMessage {
            campaign_id: new.id,
            phase,
            correlation_id: new.correlation_id.clone(),
            requested_at,
        }));
    }
    out
}

pub async fn send(state: &AppState, dispatch: &Dispatch) -> Result<(), AppError> {
    match dispatch {
        Dispatch::Work(m) => state.phase_work_queue().send(m, &m.correlation_id).await,
        Dispatch::AutoStart(m) => state.autostart_queue().send(m, &m.correlation_id).await,
    }
}

/// Sends every message one committed change calls for. A failed send fails the record, and the
/// stream retries it (messages already sent are sent again; workers ignore duplicates).
pub async fn handle_change(
    state: &AppState,
    change: crate::lambda::CampaignChange,
) -> Result<(), AppError> {
    let Some(new) = &change.new else {
        return Ok(());
    };
    for d in dispatches(change.old.as_ref(), new) {
        send(state, &d).await?;
        tracing::debug!(dispatch = ?d, "dispatched");
    }
    Ok(())
}
