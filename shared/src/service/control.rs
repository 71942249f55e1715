//! Phase control from the API: start (and start again), pause, resume, stop. Each is one
//! conditional write of a domain transition; the phase worker and the dispatcher act on the
//! committed state (a paused phase gets no new chunk, a resumed one gets its next chunk from the
//! dispatcher, a stopped one records nothing more).

use uuid::Uuid;

use super::readiness::pre_start;
use super::write::{Caller, Read, commit, load, mutate, with_retries};
use crate::domain::{Campaign, PhaseName, Trigger, now_millis};
use crate::error::AppError;
use crate::state::AppState;

/// `POST /campaigns/{id}/phases/{phase}/start`: the state checks (409) first, then the pre-start
/// validation (422), then one conditional write. On a `failed`/`stopped` phase it starts again
/// from scratch.
pub async fn start(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    phase: PhaseName,
) -> Result<Campaign, AppError> {
    let campaign = with_retries(|| async move {
        let mut c = load(state, id, Some(&caller.owner)).await?;
        let read = Read::of(&c);
        c.check_can_start(phase)?;
        let plan = pre_start(state, &c, phase).await?;
        c.start_phase(phase, Trigger::Manual, plan, 0, now_millis())?;
        Ok(commit(state, &read, &c).await?.then_some(c))
    })
    .await?;
    tracing::info!(campaignId = %id, %phase, run = campaign.phase(phase).run, "phase started manually");
    Ok(campaign)
}

/// The control actions without a configuration check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Pause,
    Resume,
    Stop,
}

/// `POST /campaigns/{id}/phases/{phase}/pause|resume|stop`.
pub async fn control(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    phase: PhaseName,
    action: Action,
) -> Result<Campaign, AppError> {
    let (campaign, ()) = mutate(state, id, Some(&caller.owner), |c| {
        let now = now_millis();
        match action {
            Action::Pause => c.pause_phase(phase, now),
            Action::Resume => c.resume_phase(phase, now),
            Action::Stop => c.stop_phase(phase, now),
        }
    })
    .await?;
    tracing::info!(campaignId = %id, %phase, ?action, status = campaign.phase(phase).status.as_str(), "phase control");
    Ok(campaign)
}
