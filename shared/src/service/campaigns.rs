//! Campaign use cases behind the HTTP API besides create and phase control: read (with
//! `readiness`), list, change mode or config, delete.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::config_input::validate_config;
use super::create::send_queued_auto_start;
use super::readiness::readiness;
use super::write::{
    Caller, MAX_WRITE_ATTEMPTS, Read, check_if_match, load, mutate, too_many_conflicts,
    usage_between,
};
use crate::domain::{Campaign, Mode, ModeChange, Readiness, now_millis};
use crate::error::{AppError, ConflictCode};
use crate::state::AppState;
use crate::store::{Page, Write};

/// The caller's campaign and its readiness.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<(Campaign, Vec<Readiness>), AppError> {
    let campaign = load(state, id, Some(&caller.owner)).await?;
    let ready = readiness(state, &campaign).await?;
    Ok((campaign, ready))
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Campaign>, AppError> {
    state.campaigns.list(&caller.owner, limit, cursor).await
}

/// `PUT /campaigns/{id}/mode`: to Full Auto queues the next phase's auto-start (sent at once,
/// and again by the outbox); back to Manual cancels a queued one.
pub async fn change_mode(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    mode: Mode,
    if_match: Option<u64>,
) -> Result<Campaign, AppError> {
    let (campaign, change) = mutate(state, id, Some(&caller.owner), |c| {
        check_if_match(if_match, c)?;
        Ok(c.change_mode(mode, now_millis()))
    })
    .await?;
    tracing::info!(campaignId = %id, ?mode, ?change, "mode change");
    if change
        == (ModeChange::Changed {
            auto_start_queued: true,
        })
    {
        send_queued_auto_start(state, &campaign).await;
    }
    Ok(campaign)
}

/// `PUT /campaigns/{id}/config`: validated first, then applied to whatever version is current
/// (or only to the `If-Match` version), under the rules of `domain::config`.
pub async fn replace_config(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    input: &Map<String, Value>,
    if_match: Option<u64>,
) -> Result<Campaign, AppError> {
    let current = load(state, id, Some(&caller.owner)).await?;
    check_if_match(if_match, &current)?;
    let mut problems = Vec::new();
    let patch = validate_config(state, &caller.owner, input, &mut problems).await?;
    if !problems.is_empty() {
        return Err(AppError::invalid_config(problems));
    }
    let (campaign, ()) = mutate(state, id, Some(&caller.owner), |c| {
        check_if_match(if_match, c)?;
        c.replace_config(&patch, now_millis())
    })
    .await?;
    Ok(campaign)
}

/// `DELETE /campaigns/{id}`: refused while a phase runs or is paused; the phase output goes with
/// the campaign.
pub async fn delete(state: &AppState, caller: &Caller, id: Uuid) -> Result<(), AppError> {
    for _ in 0..MAX_WRITE_ATTEMPTS {
        let campaign = load(state, id, Some(&caller.owner)).await?;
        if let Some(active) = campaign.active_phase() {
            return Err(AppError::conflict(
                ConflictCode::ResourceInUse,
                format!(
                    "{active} is {}; stop it first",
                    campaign.phase(active).status.as_str()
                ),
            ));
        }
        // a queued auto-start holds a slot: the delete releases it
        let mut usage = usage_between(&state.settings, Some(&Read::of(&campaign)), &campaign);
        usage.active = -i8::from(campaign.holds_slot());
        if state.campaigns.delete(&campaign, &usage).await? == Write::Done {
            state.chunks.delete_all(id).await?;
            tracing::info!(campaignId = %id, "campaign deleted");
            return Ok(());
        }
    }
    Err(too_many_conflicts())
}
