//! The phase dispatcher: turns committed campaign changes (stream records) into messages. This
//! is the transactional outbox: work is scheduled only from what was committed, and the stream's
//! retries make it at-least-once; duplicates are ignored by the workers. The sweeper calls
//! [`in_flight`] for the same messages when a campaign looks stuck.

use crate::domain::{AutoStartStatus, Campaign, PhaseStatus};
use crate::error::AppError;
use crate::lambda::CampaignChange;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};
use crate::state::AppState;

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch {
    Work(PhaseWorkMessage),
    AutoStart(AutoStartMessage),
}

/// Pure: the messages a change from `old` to `new` calls for:
///  - a running phase that just started, resumed or was re-driven, or whose next chunk moved →
///    its next chunk (of its current run);
///  - a newly queued auto-start (any phase, the first one included: the API's own send is only
///    the fast path) or a re-driven one → its message.
pub fn dispatches(old: Option<&Campaign>, new: &Campaign) -> Vec<Dispatch> {
    let mut out = Vec::new();
    for phase in &new.phases {
        let before = old.map(|o| o.phase(phase.phase));
        let redriven = |now: Option<u32>, then: Option<u32>| now.is_some_and(|n| Some(n) != then);
        let recovery =
            |p: Option<&crate::domain::PhaseState>| p.and_then(|p| p.recovery.map(|r| r.redrives));
        if phase.status == PhaseStatus::Running {
            let changed = before.is_none_or(|b| {
                b.status != PhaseStatus::Running
                    || b.next_chunk != phase.next_chunk
                    || b.run != phase.run
            }) || redriven(recovery(Some(phase)), recovery(before));
            if changed {
                out.push(Dispatch::Work(work_message(new, phase)));
            }
        }
        let request = &phase.auto_start;
        if request.status == AutoStartStatus::Queued
            && let Some(requested_at) = request.requested_at
        {
            let new_request = before.is_none_or(|b| {
                b.auto_start.status != AutoStartStatus::Queued
                    || b.auto_start.requested_at != Some(requested_at)
            });
            if new_request || redriven(recovery(Some(phase)), recovery(before)) {
                out.push(Dispatch::AutoStart(AutoStartMessage {
                    campaign_id: new.id,
                    phase: phase.phase,
                    correlation_id: new.correlation_id.clone(),
                    requested_at,
                }));
            }
        }
    }
    out
}

fn work_message(c: &Campaign, phase: &crate::domain::PhaseState) -> PhaseWorkMessage {
    PhaseWorkMessage {
        campaign_id: c.id,
        phase: phase.phase,
        run: phase.run,
        chunk: phase.next_chunk,
        correlation_id: c.correlation_id.clone(),
    }
}

/// Everything a campaign should have in flight right now: the next chunk of its running phase
/// and the message of its queued auto-start (what the sweeper re-sends).
pub fn in_flight(c: &Campaign) -> Vec<Dispatch> {
    let mut out = Vec::new();
    for phase in &c.phases {
        if phase.status == PhaseStatus::Running {
            out.push(Dispatch::Work(work_message(c, phase)));
        }
        if phase.auto_start.status == AutoStartStatus::Queued
            && let Some(requested_at) = phase.auto_start.requested_at
        {
            out.push(Dispatch::AutoStart(AutoStartMessage {
                campaign_id: c.id,
                phase: phase.phase,
                correlation_id: c.correlation_id.clone(),
                requested_at,
            }));
        }
    }
    out
}

pub async fn send(state: &AppState, dispatch: &Dispatch) -> Result<(), AppError> {
    match dispatch {
        Dispatch::Work(m) => state.queues.send_work(m).await,
        Dispatch::AutoStart(m) => state.queues.send_auto_start(m).await,
    }
}

/// Sends every message one committed change calls for. A failed send fails the record, and the
/// stream retries it (messages already sent are sent again; workers ignore duplicates).
pub async fn handle_change(state: &AppState, change: CampaignChange) -> Result<(), AppError> {
    let Some(new) = &change.new else {
        return Ok(());
    };
    for d in dispatches(change.old.as_ref(), new) {
        send(state, &d).await?;
        tracing::debug!(dispatch = ?d, "dispatched");
    }
    Ok(())
}
