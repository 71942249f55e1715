//! `POST /campaigns`: validate, insert, and in Full Auto send the auto-start message (the fast
//! path; the phase dispatcher sends it again from the insert's stream record — the outbox — and
//! the sweeper re-drives it if both are lost, so creation never depends on the send).
//!
//! With an `Idempotency-Key`, one `(owner, key)` yields at most one campaign: the key is claimed
//! first (`IN_PROGRESS`, a lock of [`LOCK_SECONDS`]), then the campaign insert and the claim's
//! completion (with the response to replay) are one transaction. A request that dies between the
//! claim and the transaction created nothing; one that dies after it left a completed record.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::config_input::{CreateCampaignInput, validate_config};
use super::readiness::readiness;
use super::write::{Caller, usage_between};
use crate::domain::resources::validate_name;
use crate::domain::{Campaign, CampaignConfig, ErrorInfo, Mode, Readiness, now_millis};
use crate::error::{AppError, ConflictCode, FieldProblem, InvalidCode};
use crate::messages::AutoStartMessage;
use crate::state::AppState;
use crate::store::{IdempotencyClaim, IdempotencyRecord, StoredResponse, Usage, Write};

/// How long a claimed key stays `IN_PROGRESS` if its request dies (the API times out at 10 s).
pub const LOCK_SECONDS: i64 = 30;
pub const TTL_SECONDS: i64 = crate::store::IDEMPOTENCY_TTL_SECONDS;

/// What a create answered.
#[derive(Debug)]
pub enum Created {
    New(Box<Campaign>, Vec<Readiness>),
    /// A repeat of an idempotent request: the first response again.
    Replayed(StoredResponse),
}

/// The hash that tells "same body" from "other body" for an idempotency key.
pub fn body_hash(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn build(
    state: &AppState,
    caller: &Caller,
    input: CreateCampaignInput,
) -> Result<(Campaign, Vec<Readiness>), AppError> {
    let mut problems = Vec::new();
    validate_name("name", input.name.as_deref(), &mut problems);
    let raw = input.config.unwrap_or_default();
    let patch = validate_config(state, &caller.owner, &raw, &mut problems).await?;
    if !problems.is_empty() {
        return Err(AppError::invalid_config(problems));
    }
    let mut config = CampaignConfig::default();
    patch.apply(&mut config);
    let campaign = Campaign::new(
        Uuid::new_v4(),
        &caller.owner,
        input.name.unwrap_or_default().trim().to_string(),
        input.mode.unwrap_or(Mode::StepByStep),
        config,
        caller.correlation_id.clone(),
        now_millis(),
    );
    let ready = readiness(state, &campaign).await?;
    Ok((campaign, ready))
}

/// Creates a campaign. `render` turns the new campaign into the response an idempotent repeat
/// replays; `key` is the `Idempotency-Key` with the hash of the body it came with.
pub async fn create(
    state: &AppState,
    caller: &Caller,
    input: CreateCampaignInput,
    key: Option<(&str, &str)>,
    render: impl Fn(&Campaign, &[Readiness]) -> StoredResponse,
) -> Result<Created, AppError> {
    let Some((key, hash)) = key else {
        let (mut campaign, ready) = build(state, caller, input).await?;
        insert(state, &mut campaign).await?;
        return Ok(created(state, campaign, ready).await);
    };
    let claim = IdempotencyClaim {
        pk: format!("{}#{key}", caller.owner),
        hash: hash.to_string(),
        token: Uuid::new_v4().to_string(),
    };
    let mut ours = false;
    for _ in 0..3 {
        match claim_key(state, &claim).await? {
            Claimed::Ours => {
                ours = true;
                break;
            }
            Claimed::Gone => {}
            Claimed::Theirs(record) => return replay_or_refuse(record, hash),
        }
    }
    if !ours {
        return Err(AppError::Unavailable(
            "the idempotency record kept changing".into(),
        ));
    }
    let (mut campaign, ready) = match build(state, caller, input).await {
        Ok(b) => b,
        Err(e) => {
            if let Err(release) = state.idempotency.release(&claim).await {
                tracing::error!(error = %release, "could not release the idempotency key");
            }
            return Err(e);
        }
    };
    match insert_claimed(state, &mut campaign, &claim, &ready, &render).await? {
        Some(replay) => Ok(Created::Replayed(replay)),
        None => Ok(created(state, campaign, ready).await),
    }
}

/// Who holds an idempotency key after a claim.
enum Claimed {
    Ours,
    /// The record vanished between the claim and the read (expired): claim again.
    Gone,
    Theirs(IdempotencyRecord),
}

/// Claims the key. A claim that was applied but answered too late (the SDK retried it into its
/// own condition) reads back `IN_PROGRESS` with our token: it is ours, as decision 35 treats a
/// campaign write.
async fn claim_key(state: &AppState, claim: &IdempotencyClaim) -> Result<Claimed, AppError> {
    let now = chrono::Utc::now().timestamp();
    let write = state
        .idempotency
        .claim(claim, now, LOCK_SECONDS, TTL_SECONDS)
        .await?;
    if write == Write::Done {
        return Ok(Claimed::Ours);
    }
    Ok(match state.idempotency.get(&claim.pk).await? {
        None => Claimed::Gone,
        Some(IdempotencyRecord::InProgress { token, .. }) if token == claim.token => Claimed::Ours,
        Some(record) => Claimed::Theirs(record),
    })
}

fn replay_or_refuse(record: IdempotencyRecord, hash: &str) -> Result<Created, AppError> {
    match record {
        IdempotencyRecord::InProgress { hash: h, .. }
        | IdempotencyRecord::Completed { hash: h, .. }
            if h != hash =>
        {
            Err(AppError::Invalid {
                code: InvalidCode::IdempotencyKeyReused,
                message: "this Idempotency-Key was used with a different request body".into(),
                details: vec![FieldProblem::new(
                    "Idempotency-Key",
                    "reused with a different body",
                )],
            })
        }
        IdempotencyRecord::InProgress { .. } => Err(AppError::conflict(
            ConflictCode::IdempotencyInProgress,
            "a request with this Idempotency-Key is still being processed",
        )),
        IdempotencyRecord::Completed { response, .. } => Ok(Created::Replayed(response)),
    }
}

/// The insert + completion transaction. A transaction the SDK retried after it was applied (or
/// one cancelled by a concurrent write) is told apart by reading the record back: `Some` when the
/// key is completed after all (replay it), an error when another request took the key over.
async fn insert_claimed(
    state: &AppState,
    campaign: &mut Campaign,
    claim: &IdempotencyClaim,
    ready: &[Readiness],
    render: &impl Fn(&Campaign, &[Readiness]) -> StoredResponse,
) -> Result<Option<StoredResponse>, AppError> {
    let mut usage = within_quota(campaign, None, &state.settings);
    for _ in 0..3 {
        let response = render(campaign, ready);
        match state
            .campaigns
            .insert_with_idempotency(campaign, claim, &response, &usage)
            .await
        {
            Ok(Write::Done) => return Ok(None),
            Err(e @ AppError::QuotaExceeded { .. }) => {
                usage = within_quota(campaign, Some(&e), &state.settings);
                continue;
            }
            Ok(Write::Conflict) => {}
            Err(e) => return Err(e),
        }
        match state.idempotency.get(&claim.pk).await? {
            Some(IdempotencyRecord::Completed { response, .. }) => return Ok(Some(response)),
            Some(IdempotencyRecord::InProgress { token, .. }) if token == claim.token => continue,
            _ => {
                return Err(AppError::conflict(
                    ConflictCode::IdempotencyInProgress,
                    "a request with this Idempotency-Key is still being processed",
                ));
            }
        }
    }
    Err(AppError::Unavailable(
        "the create transaction kept being cancelled".into(),
    ))
}

/// A Full Auto create over the active-campaign quota is still created: its auto-start is
/// refused (`failed` with `QUOTA_EXCEEDED`), as any auto-start failure. Returns the usage the
/// insert counts.
fn within_quota(
    campaign: &mut Campaign,
    refused: Option<&AppError>,
    settings: &crate::settings::Settings,
) -> Usage {
    if let Some(e) = refused {
        campaign.refuse_auto_start(ErrorInfo::from(e));
        crate::telemetry::auto_start_failure(e.code());
    }
    usage_between(settings, None, campaign)
}

/// Inserts with its quota usage (refusing the auto-start when over the quota); an insert the SDK
/// retried after it was applied meets its own item: that is success.
async fn insert(state: &AppState, campaign: &mut Campaign) -> Result<(), AppError> {
    let usage = within_quota(campaign, None, &state.settings);
    let written = match state.campaigns.insert(campaign, &usage).await {
        Err(e @ AppError::QuotaExceeded { .. }) => {
            let usage = within_quota(campaign, Some(&e), &state.settings);
            state.campaigns.insert(campaign, &usage).await?
        }
        other => other?,
    };
    if written == Write::Done {
        return Ok(());
    }
    match state.campaigns.get(campaign.id).await? {
        Some(stored) if stored == *campaign => Ok(()),
        _ => Err(AppError::internal("campaign id collision")),
    }
}

async fn created(state: &AppState, campaign: Campaign, ready: Vec<Readiness>) -> Created {
    tracing::info!(campaignId = %campaign.id, mode = ?campaign.mode, "campaign created");
    send_queued_auto_start(state, &campaign).await;
    Created::New(Box::new(campaign), ready)
}

/// The fast path of a queued auto-start: send its message now. A failure is logged only — the
/// outbox (phase dispatcher) sends it from the commit, and the sweeper re-drives it after that.
pub async fn send_queued_auto_start(state: &AppState, campaign: &Campaign) {
    let Some((phase, request)) = campaign.queued_auto_start() else {
        return;
    };
    let Some(requested_at) = request.requested_at else {
        return;
    };
    let message = AutoStartMessage::of(campaign, phase, requested_at);
    match state.queues.send_auto_start(&message, 0).await {
        Ok(()) => tracing::info!(campaignId = %campaign.id, %phase, "auto-start queued"),
        Err(e) => tracing::warn!(
            campaignId = %campaign.id, error = %e,
            "auto-start message not sent now; the outbox and the sweeper will send it"
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::net::AddressPolicy;
    use crate::settings::Settings;
    use crate::store::lazy::Lazy;
    use crate::store::{IdempotencyStore, StoreFuture};

    /// Applies every claim but answers it as a conflict: what the SDK reports when the first
    /// attempt was applied, its answer lost, and the retry failed its own condition.
    struct LateClaims(Lazy<dyn IdempotencyStore>);

    impl IdempotencyStore for LateClaims {
        fn claim<'a>(
            &'a self,
            claim: &'a IdempotencyClaim,
            now: i64,
            lock: i64,
            ttl: i64,
        ) -> StoreFuture<'a, Write> {
            Box::pin(async move {
                self.0.claim(claim, now, lock, ttl).await?;
                Ok(Write::Conflict)
            })
        }
        fn get<'a>(&'a self, pk: &'a str) -> StoreFuture<'a, Option<IdempotencyRecord>> {
            self.0.get(pk)
        }
        fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> StoreFuture<'a, ()> {
            self.0.release(claim)
        }
    }

    #[tokio::test]
    async fn a_claim_applied_but_answered_late_is_ours() {
        let (mut state, _) = AppState::in_memory(Settings::for_tests(), AddressPolicy::default());
        state.idempotency = Lazy::ready(Arc::new(LateClaims(state.idempotency.clone())));
        let caller = Caller {
            owner: "late-claims".into(),
            correlation_id: "c".into(),
        };
        let input = || CreateCampaignInput {
            name: Some("late".into()),
            mode: Some(Mode::StepByStep),
            config: None,
        };
        let render = |c: &Campaign, _: &[Readiness]| StoredResponse {
            status: 201,
            body: c.id.to_string(),
            headers: vec![],
        };
        let first = create(&state, &caller, input(), Some(("k", "h")), render).await;
        let Ok(Created::New(first, _)) = first else {
            panic!("the late claim was taken for someone else's: {first:?}")
        };
        match create(&state, &caller, input(), Some(("k", "h")), render).await {
            Ok(Created::Replayed(r)) => assert_eq!(r.body, first.id.to_string()),
            other => panic!("expected a replay, got {other:?}"),
        }
    }
}
