//! Discovery: generates `numDomains` distinct domains from the campaign's pattern
//! (`config.discovery`), in chunks of `DISCOVERY_CHUNK_SIZE`; chunk `k` is domains
//! `k·size .. (k+1)·size` of the deterministic order, so a redone chunk is the same chunk.

pub mod config;
pub mod generator;
#[cfg(test)]
mod tests;

use futures_util::future::BoxFuture;
use serde_json::Value;

pub use config::{DiscoveryConfig, DiscoveryInput, PatternType};

use super::{ChunkDone, ChunkInput, Phase, PlanInput, read_section};
use crate::domain::{DISCOVERY, PhaseName, StartPlan};
use crate::error::{AppError, FieldProblem};

pub struct Discovery;

const FIELD: &str = "config.discovery";

impl Discovery {
    /// The campaign's validated discovery config, or the problem that prevents using it.
    pub fn config(section: Option<&Value>) -> Result<DiscoveryConfig, Vec<FieldProblem>> {
        let Some(raw) = section else {
            return Err(vec![FieldProblem::new(
                FIELD,
                "is required to start discovery",
            )]);
        };
        let input: DiscoveryInput = read_section(raw, FIELD).map_err(|e| e.details())?;
        input.validate(FIELD)
    }
}

impl Phase for Discovery {
    fn name(&self) -> PhaseName {
        DISCOVERY
    }

    fn has_section(&self) -> bool {
        true
    }

    fn validate_section(&self, raw: &Value, field: &str) -> Result<Value, AppError> {
        let input: DiscoveryInput = read_section(raw, field)?;
        let config = input.validate(field).map_err(AppError::invalid_config)?;
        Ok(serde_json::to_value(config).expect("a discovery config serializes"))
    }

    fn plan(&self, input: &PlanInput<'_>) -> Result<StartPlan, Vec<FieldProblem>> {
        let config = Self::config(input.campaign.config.section(FIELD_KEY))?;
        Ok(StartPlan {
            total: config.num_domains,
            chunk_size: input.settings.discovery_chunk_size,
        })
    }

    fn run_chunk<'a>(
        &'a self,
        input: &'a ChunkInput<'a>,
    ) -> BoxFuture<'a, Result<ChunkDone, AppError>> {
        Box::pin(async move {
            let config = Self::config(input.campaign.config.section(FIELD_KEY)).map_err(|p| {
                AppError::internal(format!("discovery running with an unusable config: {p:?}"))
            })?;
            let domains = config.generator().range(input.start, input.end);
            Ok(ChunkDone {
                items: domains.len() as u64,
                data: domains.join("\n"),
                counts: Vec::new(),
            })
        })
    }
}

/// The key of discovery's section in `config`.
pub const FIELD_KEY: &str = "discovery";

/// A chunk's domains as stored by discovery (newline-joined).
pub fn domains_of(data: &str) -> Vec<String> {
    if data.is_empty() {
        Vec::new()
    } else {
        data.split('\n').map(str::to_string).collect()
    }
}
