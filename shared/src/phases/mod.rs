//! One module per pipeline phase, each behind the [`Phase`] trait: its configuration section and
//! persona kind, its pre-start checks and chunk plan, what one chunk does, and how its stored
//! per-domain output reads back (for listings and filters). Everything else — starting,
//! chunking, retries, progress, pause/resume/stop, auto-advance, events, recovery — is generic
//! and lives in `crate::service`.
//!
//! Adding a phase: its module here, one row in [`REGISTRY`], one name in
//! `crate::domain::pipeline::PIPELINE` (docs/ADDING.md).

use futures_util::future::BoxFuture;
use serde_json::Value;
use uuid::Uuid;

use crate::domain::resources::{Persona, PersonaKind, Proxy};
use crate::domain::{Campaign, PIPELINE, PhaseName, StartPlan};
use crate::error::{AppError, FieldProblem};
use crate::net::AddressPolicy;
use crate::settings::Settings;
use crate::store::ChunkOutput;

pub mod discovery;
pub mod keywords;
pub mod validation;

/// The phases' implementations, in pipeline order.
pub static REGISTRY: &[&dyn Phase] = &[
    &discovery::Discovery,
    &validation::Validation,
    &keywords::Keywords,
];

/// The implementation of pipeline phase `name`.
pub fn phase(name: PhaseName) -> &'static dyn Phase {
    REGISTRY[name.index()]
}

/// A campaign's referenced personas and proxies, looked up once (`None`: not found for this
/// owner), in the order of `config.personaIds` / `config.proxyIds`.
#[derive(Debug, Clone, Default)]
pub struct References {
    pub personas: Vec<(Uuid, Option<Persona>)>,
    pub proxies: Vec<(Uuid, Option<Proxy>)>,
}

impl References {
    /// The first referenced, existing persona of `kind`, with its position in `personaIds`.
    pub fn persona_of_kind(&self, kind: PersonaKind) -> Option<(usize, &Persona)> {
        self.personas
            .iter()
            .enumerate()
            .find_map(|(i, (_, p))| p.as_ref().filter(|p| p.kind == kind).map(|p| (i, p)))
    }

    /// The first referenced proxy that exists and is enabled.
    pub fn first_enabled_proxy(&self) -> Option<&Proxy> {
        self.proxies
            .iter()
            .find_map(|(_, p)| p.as_ref().filter(|p| p.enabled))
    }
}

/// What a phase's pre-start checks see.
pub struct PlanInput<'a> {
    pub campaign: &'a Campaign,
    pub refs: &'a References,
    pub settings: &'a Settings,
    pub policy: &'a AddressPolicy,
}

/// What one chunk of a phase works on.
pub struct ChunkInput<'a> {
    pub campaign: &'a Campaign,
    pub refs: &'a References,
    pub settings: &'a Settings,
    pub policy: &'a AddressPolicy,
    pub chunk: u64,
    pub run: u32,
    /// Work items `start..end` of the phase (its `progress.total` is split into chunks).
    pub start: u64,
    pub end: u64,
    /// The chunk's domains (empty for discovery, which produces them).
    pub domains: Vec<String>,
    /// The chunk's output of every earlier phase, from their current runs.
    pub earlier: Vec<ChunkOutput>,
}

impl ChunkInput<'_> {
    /// The chunk's output of an earlier phase.
    pub fn output_of(&self, phase: PhaseName) -> Option<&ChunkOutput> {
        self.earlier.iter().find(|o| o.phase == phase)
    }
}

/// What one chunk produced: the output to store, how many work items it covers, and its
/// outcome counts for the phase summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkDone {
    pub data: String,
    pub items: u64,
    pub counts: Vec<(String, u64)>,
}

impl ChunkDone {
    /// The output `data` of one result per work item, whose statuses give the counts.
    pub fn counted<'s>(data: String, statuses: impl IntoIterator<Item = &'s str>) -> Self {
        let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
        let mut items = 0;
        for status in statuses {
            *counts.entry(status).or_default() += 1;
            items += 1;
        }
        Self {
            data,
            items,
            counts: counts
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }
}

/// One pipeline phase.
pub trait Phase: Send + Sync {
    fn name(&self) -> PhaseName;

    /// Validates and normalizes this phase's `config.<name>` section of a request body
    /// (`field` is its path, e.g. `config.discovery`): a 400 for wrong JSON types, a 422
    /// (`AppError::Invalid`, every problem in its details) for unacceptable values. The default:
    /// the phase has no section.
    fn validate_section(&self, raw: &Value, field: &str) -> Result<Value, AppError> {
        let _ = raw;
        Err(AppError::invalid_config(vec![FieldProblem::new(
            field,
            "this phase has no configuration section",
        )]))
    }

    /// Whether the phase reads a `config.<name>` section.
    fn has_section(&self) -> bool {
        false
    }

    /// The kind of persona this phase uses, if any.
    fn persona_kind(&self) -> Option<PersonaKind> {
        None
    }

    /// Problems of a persona config of [`Phase::persona_kind`] (paths under `field`).
    fn persona_problems(
        &self,
        config: &serde_json::Map<String, Value>,
        field: &str,
        policy: &AddressPolicy,
    ) -> Vec<FieldProblem> {
        let _ = (config, field, policy);
        Vec::new()
    }

    /// The pre-start checks that are this phase's own (references existing and enabled are
    /// checked for every phase by the service): the chunk plan, or every problem found.
    fn plan(&self, input: &PlanInput<'_>) -> Result<StartPlan, Vec<FieldProblem>>;

    /// Does chunk `input.chunk`'s work. Must be deterministic enough to be redone: a retried
    /// chunk replaces its output, and only the output recorded in progress counts.
    fn run_chunk<'a>(
        &'a self,
        input: &'a ChunkInput<'a>,
    ) -> BoxFuture<'a, Result<ChunkDone, AppError>>;

    /// The key of this phase's per-domain result in listings (`dns`, `http`), if it has one.
    fn result_key(&self) -> Option<&'static str> {
        None
    }

    /// The statuses of its per-domain results (the `?status=` filter values it answers).
    fn statuses(&self) -> &'static [&'static str] {
        &[]
    }

    /// Reads a stored output back as one result per domain, each an object with `status`.
    fn results(&self, output: &ChunkOutput) -> Result<Vec<Value>, AppError> {
        let _ = output;
        Ok(Vec::new())
    }
}

/// The phase that owns `?status=<status>` for a campaign: among the phases that know the status,
/// the latest one that has run (or the first that knows it, when none has).
pub fn phase_for_status(campaign: &Campaign, status: &str) -> Option<PhaseName> {
    let knowing: Vec<PhaseName> = PIPELINE
        .iter()
        .copied()
        .filter(|n| phase(*n).statuses().contains(&status))
        .collect();
    knowing
        .iter()
        .rev()
        .find(|n| campaign.phase(**n).status != crate::domain::PhaseStatus::NotStarted)
        .or(knowing.first())
        .copied()
}

/// Reads a configuration section into its typed input: malformed JSON types are a 400 naming the
/// field (`config.discovery.variableLength`), like the rest of a request body.
pub fn read_section<T: serde::de::DeserializeOwned>(
    raw: &Value,
    field: &str,
) -> Result<T, AppError> {
    serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." || path.is_empty() {
            field.to_string()
        } else {
            format!("{field}.{path}")
        };
        AppError::bad_request(format!("invalid JSON body: {}", e.inner()), Some(at))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_pipeline() {
        let names: Vec<PhaseName> = REGISTRY.iter().map(|p| p.name()).collect();
        assert_eq!(names, PIPELINE);
    }
}
