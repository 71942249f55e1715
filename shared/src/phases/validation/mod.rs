//! Validation: resolves every discovered domain through the campaign's DNS persona (the first
//! referenced persona of kind `dns`), chunk by chunk over discovery's chunks, and stores each
//! chunk's results (`resolved` with the addresses, `unresolved`, `error`) as its output. A chunk
//! stops after `PHASE_CHUNK_BUDGET_SECONDS`, recording unanswered names as `error`
//! ("deadline"), so the phase always completes.

pub mod dns;
pub mod persona;

use futures_util::future::BoxFuture;
use serde_json::{Value, json};

pub use dns::{DnsCheck, DnsStatus, DnsValidator};
pub use persona::DnsPersonaConfig;

use super::{ChunkDone, ChunkInput, Phase, PlanInput, References};
use crate::domain::resources::PersonaKind;
use crate::domain::{DISCOVERY, PhaseName, StartPlan, VALIDATION};
use crate::error::{AppError, FieldProblem};
use crate::net::AddressPolicy;
use crate::store::ChunkOutput;

pub struct Validation;

/// The campaign's DNS persona config, or the problem that prevents validation from using one.
pub fn dns_config(
    refs: &References,
    policy: &AddressPolicy,
) -> Result<DnsPersonaConfig, Vec<FieldProblem>> {
    match refs.persona_of_kind(PersonaKind::Dns) {
        None => Err(vec![FieldProblem::new(
            "config.personaIds",
            "a persona of kind dns with at least one resolver is required to start validation",
        )]),
        Some((i, persona)) => DnsPersonaConfig::parse(
            &persona.config,
            &format!("config.personaIds[{i}].config"),
            policy,
        ),
    }
}

/// Reads a stored validation output (one check per domain of the chunk).
pub fn checks_of(output: &ChunkOutput) -> Result<Vec<DnsCheck>, AppError> {
    serde_json::from_str(&output.data).map_err(|e| {
        AppError::internal(format!(
            "unreadable validation output of chunk {}: {e}",
            output.chunk
        ))
    })
}

impl Phase for Validation {
    fn name(&self) -> PhaseName {
        VALIDATION
    }

    fn persona_kind(&self) -> Option<PersonaKind> {
        Some(PersonaKind::Dns)
    }

    fn persona_problems(
        &self,
        config: &serde_json::Map<String, Value>,
        field: &str,
        policy: &AddressPolicy,
    ) -> Vec<FieldProblem> {
        DnsPersonaConfig::parse(config, field, policy)
            .err()
            .unwrap_or_default()
    }

    /// Validation works through discovery's output, chunk by chunk.
    fn plan(&self, input: &PlanInput<'_>) -> Result<StartPlan, Vec<FieldProblem>> {
        dns_config(input.refs, input.policy)?;
        let discovery = input.campaign.phase(DISCOVERY);
        Ok(StartPlan {
            total: discovery.progress.done,
            chunk_size: discovery.chunk_size.max(1),
        })
    }

    fn run_chunk<'a>(
        &'a self,
        input: &'a ChunkInput<'a>,
    ) -> BoxFuture<'a, Result<ChunkDone, AppError>> {
        Box::pin(async move {
            if input.domains.len() as u64 != input.end - input.start {
                return Err(AppError::internal(format!(
                    "discovery chunk {} holds {} domains, validation expects {}",
                    input.chunk,
                    input.domains.len(),
                    input.end - input.start
                )));
            }
            let config = dns_config(input.refs, input.policy).map_err(|p| {
                AppError::internal(format!(
                    "validation running without a usable dns persona: {p:?}"
                ))
            })?;
            let deadline = tokio::time::Instant::now()
                + std::time::Duration::from_secs(input.settings.phase_chunk_budget_seconds);
            let checks = DnsValidator::new(&config)?
                .check_all(&input.domains, deadline)
                .await;
            Ok(ChunkDone::counted(
                serde_json::to_string(&checks).map_err(AppError::internal)?,
                checks.iter().map(|c| c.status.as_str()),
            ))
        })
    }

    fn result_key(&self) -> Option<&'static str> {
        Some("dns")
    }

    fn statuses(&self) -> &'static [&'static str] {
        &["resolved", "unresolved", "error"]
    }

    fn results(&self, output: &ChunkOutput) -> Result<Vec<Value>, AppError> {
        Ok(checks_of(output)?
            .into_iter()
            .map(|c| {
                let mut v = json!({"status": c.status.as_str()});
                if !c.addresses.is_empty() {
                    v["addresses"] = json!(c.addresses);
                }
                if let Some(e) = c.error {
                    v["error"] = json!(e);
                }
                v
            })
            .collect())
    }
}
