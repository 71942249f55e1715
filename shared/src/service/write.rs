//! The one read–modify–conditional-write helper every campaign change goes through, and the
//! caller identity.
//!
//! A write is conditional on the version read; a lost race re-reads and re-decides (up to
//! [`MAX_WRITE_ATTEMPTS`] times, with a short randomized pause). Every domain method bumps the
//! version exactly once when it changes something, so a write is always "version n → n+1".

use std::future::Future;

use uuid::Uuid;

use crate::domain::Campaign;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::Write;

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

/// Writes `campaign` if it changed since `read_version`. `false` = someone else wrote first.
pub async fn commit(
    state: &AppState,
    campaign: &Campaign,
    read_version: u64,
) -> Result<bool, AppError> {
    if campaign.version == read_version {
        return Ok(true);
    }
    debug_assert_eq!(
        campaign.version,
        read_version + 1,
        "one write bumps the version once"
    );
    Ok(state.campaigns.save(campaign, read_version).await? == Write::Done)
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
        let read = campaign.version;
        let out = f(&mut campaign)?;
        if commit(state, &campaign, read).await? {
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
