//! Replacing parts of a campaign's configuration (`PUT /campaigns/{id}/config`).
//!
//! Rules (DECISIONS.md #27): nothing changes while a phase is running or paused (409
//! `PHASE_ALREADY_RUNNING`); a phase's own section (`config.<phase>`) cannot change once that
//! phase has completed (409 `PHASE_ALREADY_COMPLETED`: its output would no longer match it);
//! personas and proxies can change between phases, so a later phase can be configured after an
//! earlier one ran. A stopped or failed phase's section may change before it is started again.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::campaign::{Campaign, CampaignConfig};
use super::phase::PhaseStatus;
use super::pipeline::PhaseName;
use crate::error::{AppError, ConflictCode};

/// A validated `PUT …/config` (or create) body: the parts to replace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigPatch {
    /// Phase sections by key (= phase name), already validated by their phase modules.
    pub sections: BTreeMap<String, serde_json::Value>,
    pub persona_ids: Option<Vec<Uuid>>,
    pub proxy_ids: Option<Vec<Uuid>>,
}

impl ConfigPatch {
    pub fn apply(&self, config: &mut CampaignConfig) {
        for (key, value) in &self.sections {
            config.sections.insert(key.clone(), value.clone());
        }
        if let Some(ids) = &self.persona_ids {
            config.persona_ids = ids.clone();
        }
        if let Some(ids) = &self.proxy_ids {
            config.proxy_ids = ids.clone();
        }
    }
}

impl Campaign {
    /// Applies `patch` if the rules above allow it; writes nothing when it changes nothing.
    pub fn replace_config(
        &mut self,
        patch: &ConfigPatch,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if let Some(active) = self.active_phase() {
            return Err(AppError::conflict(
                ConflictCode::PhaseAlreadyRunning,
                format!(
                    "{active} is {}; stop it or wait for it to finish",
                    self.phase(active).status.as_str()
                ),
            ));
        }
        for key in patch.sections.keys() {
            if let Some(phase) = PhaseName::parse(key)
                && self.phase(phase).status == PhaseStatus::Completed
            {
                return Err(AppError::conflict(
                    ConflictCode::PhaseAlreadyCompleted,
                    format!("{phase} has completed; its configuration can no longer change"),
                ));
            }
        }
        let mut config = self.config.clone();
        patch.apply(&mut config);
        if config != self.config {
            self.config = config;
            self.touch(now);
        }
        Ok(())
    }
}
