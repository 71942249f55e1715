//! The one read–modify–conditional-write helper every campaign change goes through, and the
//! caller identity.
//!
//! A write is conditional on the version read and carries a fresh write id, so a write that was
//! applied but answered too late (the SDK retried it into a conflict) is recognized as ours
//! instead of re-decided against its own result. A lost race re-reads and re-decides (up to
//! [`MAX_WRITE_ATTEMPTS`] times, with a short randomized pause). Every domain method bumps the
//! version exactly once when it changes something, so a write is always "version n → n+1".

use std::future::Future;

use uuid::Uuid;

use crate::domain::{Campaign, DISCOVERY};
use crate::error::AppError;
use crate::settings::Settings;
use crate::state::AppState;
use crate::store::{Usage, Write};

/// Who is calling, and the correlation id of the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub owner: String,
    pub correlation_id: String,
}

pub const MAX_WRITE_ATTEMPTS: usize = 10;

/// Runs `attempt` until it commits: `Ok(None)` means it lost an optimistic-concurrency race and
/// must re-read and re-decide.
pub async fn with_retries<T, Fut>(mut attempt: impl FnMut() -> Fut) -> Result<T, AppError>
where
    Fut: Future<Output = Result<Option<T>, AppError>>,
{
    for n in 0..MAX_WRITE_ATTEMPTS {
        if let Some(out) = attempt().await? {
            return Ok(out);
        }
        conflict_pause(n).await;
    }
    Err(too_many_conflicts())
}

async fn conflict_pause(attempt: usize) {
    tracing::debug!(attempt, "version conflict, re-reading");
    let pause = rand::random_range(1..=(5u64 << attempt.min(5)));
    tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
}

pub fn too_many_conflicts() -> AppError {
    AppError::Unavailable("too many concurrent writes to the campaign".into())
}

/// Reads a campaign: the caller's (`owner`), or any for trusted workers (`None`). Someone else's
/// campaign is reported exactly like a missing one.
pub async fn load(state: &AppState, id: Uuid, owner: Option<&str>) -> Result<Campaign, AppError> {
    match state.campaigns.get(id).await? {
        Some(c) if owner.is_none_or(|o| o == c.owner_id) => Ok(c),
        _ => Err(AppError::NotFound("campaign")),
    }
}

/// What a write needs to know of the campaign as it was read: its version, and what its quota
/// accounting compares (whether it held an active slot, discovery's run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Read {
    pub version: u64,
    pub held_slot: bool,
    pub discovery_run: u32,
}

impl Read {
    pub fn of(c: &Campaign) -> Self {
        Self {
            version: c.version,
            held_slot: c.holds_slot(),
            discovery_run: c.phase(DISCOVERY).run,
        }
    }
}

/// Today's UTC date, the key of the daily domain counter.
pub fn utc_day() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The owner's counters a change from `read` to `c` moves: a slot taken when the campaign starts
/// holding one (a phase active or an auto-start queued), released when it stops; a discovery run
/// that starts counts its domains for today.
pub fn usage_between(settings: &Settings, read: Option<&Read>, c: &Campaign) -> Usage {
    let held = read.is_some_and(|r| r.held_slot);
    let run = read.map_or(0, |r| r.discovery_run);
    let discovery = c.phase(DISCOVERY);
    Usage {
        owner: c.owner_id.clone(),
        active: i8::from(c.holds_slot()) - i8::from(held),
        active_limit: settings.quotas.active_campaigns,
        domains: if discovery.run > run {
            discovery.progress.total
        } else {
            0
        },
        domains_limit: settings.quotas.domains_per_day,
        day: utc_day(),
    }
}

/// Writes `campaign` if it changed since it was `read`, with the quota counters the change
/// moves. `false` = someone else wrote first; `QuotaExceeded` = the change is over a quota.
pub async fn commit(state: &AppState, read: &Read, campaign: &Campaign) -> Result<bool, AppError> {
    if campaign.version == read.version {
        return Ok(true);
    }
    debug_assert_eq!(
        campaign.version,
        read.version + 1,
        "one write bumps the version once"
    );
    commit_as(state, read, campaign, Uuid::new_v4()).await
}

async fn commit_as(
    state: &AppState,
    read: &Read,
    campaign: &Campaign,
    write_id: Uuid,
) -> Result<bool, AppError> {
    let usage = usage_between(&state.settings, Some(read), campaign);
    let mut stamped = campaign.clone();
    stamped.write_id = Some(write_id);
    if state.campaigns.save(&stamped, read.version, &usage).await? == Write::Done {
        return Ok(true);
    }
    // A conflict can be our own write: applied, answered too late, retried by the SDK into its
    // own condition. Then the stored version is ours, with our write id.
    Ok(matches!(
        state.campaigns.get(campaign.id).await?,
        Some(current) if current.version == stamped.version && current.write_id == stamped.write_id
    ))
}

/// Read–modify–write: reads the campaign, lets `f` change it, and writes it conditionally on the
/// version read; a lost race re-reads and re-decides.
pub async fn mutate<T>(
    state: &AppState,
    id: Uuid,
    owner: Option<&str>,
    mut f: impl FnMut(&mut Campaign) -> Result<T, AppError>,
) -> Result<(Campaign, T), AppError> {
    for n in 0..MAX_WRITE_ATTEMPTS {
        let mut campaign = load(state, id, owner).await?;
        let read = Read::of(&campaign);
        let out = f(&mut campaign)?;
        if commit(state, &read, &campaign).await? {
            return Ok((campaign, out));
        }
        conflict_pause(n).await;
    }
    Err(too_many_conflicts())
}

/// `If-Match` given and stale → 412.
pub fn check_if_match(if_match: Option<u64>, campaign: &Campaign) -> Result<(), AppError> {
    match if_match {
        Some(expected) if expected != campaign.version => Err(AppError::VersionMismatch {
            expected,
            current: campaign.version,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CampaignConfig, Mode};
    use crate::net::AddressPolicy;

    /// The first attempt of a write was applied but its answer lost; the SDK's retry of the same
    /// request then fails its condition. The writer must see its own write, not a lost race.
    #[tokio::test]
    async fn a_write_applied_but_answered_late_is_recognized_as_ours() {
        let (state, _) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        let now = chrono::Utc::now();
        let c = Campaign::new(
            Uuid::new_v4(),
            "owner",
            "c".into(),
            Mode::StepByStep,
            CampaignConfig::default(),
            "corr".into(),
            now,
        );
        let empty = usage_between(&state.settings, None, &c);
        assert_eq!(
            state.campaigns.insert(&c, &empty).await.unwrap(),
            Write::Done
        );
        let read = Read::of(&c);
        let mut renamed = c.clone();
        renamed.name = "renamed".into();
        renamed.version += 1;
        let ours = Uuid::new_v4();
        assert!(commit_as(&state, &read, &renamed, ours).await.unwrap());
        // The retry of the applied request: same id, same expected version.
        assert!(commit_as(&state, &read, &renamed, ours).await.unwrap());
        // Someone else's write of the same version is a lost race.
        assert!(
            !commit_as(&state, &read, &renamed, Uuid::new_v4())
                .await
                .unwrap()
        );
    }
}
