//! Pre-start checks: of one phase before it starts (a 422 `INVALID_CONFIG` listing every
//! problem), and of every phase for a campaign read (`readiness`, so a client sees what Full
//! Auto will still need before it gets there).
//!
//! Every phase needs its referenced personas and proxies to exist, be the owner's and be enabled;
//! the rest is the phase module's own `plan`.

use crate::domain::resources::OwnedResource;
use crate::domain::{Campaign, PIPELINE, PhaseName, Readiness, StartPlan};
use crate::error::{AppError, FieldProblem};
use crate::phases::{self, PlanInput, References};
use crate::state::AppState;
use crate::store::ResourceStore;

/// At most this many persona or proxy ids per campaign.
pub const MAX_REFERENCES: usize = 20;

async fn lookup<T: OwnedResource>(
    store: &dyn ResourceStore<T>,
    owner: &str,
    ids: &[uuid::Uuid],
) -> Result<Vec<(uuid::Uuid, Option<T>)>, AppError> {
    let found = futures_util::future::join_all(ids.iter().map(|id| store.get(owner, *id))).await;
    ids.iter()
        .zip(found)
        .map(|(id, r)| r.map(|found| (*id, found)))
        .collect()
}

/// Looks up the campaign's references (concurrently, once).
pub async fn references(state: &AppState, campaign: &Campaign) -> Result<References, AppError> {
    let owner = &campaign.owner_id;
    let (personas, proxies) = futures_util::future::join(
        lookup(state.personas.as_ref(), owner, &campaign.config.persona_ids),
        lookup(state.proxies.as_ref(), owner, &campaign.config.proxy_ids),
    )
    .await;
    Ok(References {
        personas: personas?,
        proxies: proxies?,
    })
}

/// Problems of one reference list: duplicates, and (when `must_be_usable`) ids that are not
/// the owner's or are disabled.
pub fn reference_problems<T: OwnedResource>(
    field: &str,
    refs: &[(uuid::Uuid, Option<T>)],
    must_be_enabled: bool,
) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    if refs.len() > MAX_REFERENCES {
        problems.push(FieldProblem::new(
            field,
            format!("at most {MAX_REFERENCES} ids"),
        ));
        return problems;
    }
    for (i, (id, found)) in refs.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if refs[..i].iter().any(|(other, _)| other == id) {
            problems.push(FieldProblem::new(at, "is a duplicate"));
            continue;
        }
        match found {
            None => problems.push(FieldProblem::new(at, format!("{} {id} not found", T::KIND))),
            Some(r) if must_be_enabled && !r.enabled() => problems.push(FieldProblem::new(
                at,
                format!("{} {id} is disabled", T::KIND),
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The checks of phase `name` given the looked-up references: its plan, or every problem.
pub fn check(
    state: &AppState,
    campaign: &Campaign,
    refs: &References,
    name: PhaseName,
) -> Result<StartPlan, Vec<FieldProblem>> {
    let mut problems = reference_problems("config.personaIds", &refs.personas, true);
    problems.extend(reference_problems("config.proxyIds", &refs.proxies, true));
    let input = PlanInput {
        campaign,
        refs,
        settings: &state.settings,
        policy: &state.policy,
    };
    match phases::phase(name).plan(&input) {
        Ok(plan) if problems.is_empty() => Ok(plan),
        Ok(_) => Err(problems),
        Err(own) => {
            problems.extend(own);
            Err(problems)
        }
    }
}

/// Pre-start validation of phase `name`: the plan, or 422 `INVALID_CONFIG` with every problem.
pub async fn pre_start(
    state: &AppState,
    campaign: &Campaign,
    name: PhaseName,
) -> Result<StartPlan, AppError> {
    let refs = references(state, campaign).await?;
    check(state, campaign, &refs, name).map_err(AppError::invalid_config)
}

/// `readiness`: the pre-start checks of every phase as of now.
pub async fn readiness(state: &AppState, campaign: &Campaign) -> Result<Vec<Readiness>, AppError> {
    let refs = references(state, campaign).await?;
    Ok(PIPELINE
        .iter()
        .map(|name| {
            let problems = check(state, campaign, &refs, *name)
                .err()
                .unwrap_or_default();
            Readiness {
                phase: *name,
                ready: problems.is_empty(),
                problems,
            }
        })
        .collect())
}
