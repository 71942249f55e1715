//! The campaign aggregate: identity, mode, configuration, the phases and the sparse sweep-index
//! attributes. Phase transitions are in [`super::control`], the API views in [`super::view`].
//!
//! Every mutation is a method that checks the state machines and calls [`Campaign::touch`]
//! exactly once, which bumps `version` by one; the store writes the result conditionally on the
//! previous version. Handlers and workers never edit fields directly.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::phase::{AutoStart, AutoStartStatus, PhaseState, PhaseStatus};
use super::pipeline::{PIPELINE, PhaseName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    StepByStep,
    FullSequence,
}

/// The configuration: each phase's own section (`discovery`, …, validated by its module in
/// `crate::phases`) and the referenced personas and proxies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignConfig {
    #[serde(flatten)]
    pub sections: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub persona_ids: Vec<Uuid>,
    #[serde(default)]
    pub proxy_ids: Vec<Uuid>,
}

impl CampaignConfig {
    /// A phase's config section, if set (a stored `null` counts as unset).
    pub fn section(&self, key: &str) -> Option<&serde_json::Value> {
        self.sections.get(key).filter(|v| !v.is_null())
    }
}

/// How many partitions the sweep index spreads active campaigns over (see `sweep_shard`).
pub const SWEEP_SHARDS: u32 = 8;

/// The stored campaign item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: Uuid,
    pub owner_id: String,
    /// Sort key of the owner index: `createdAt#id`, so listing is newest first and stable.
    pub created_key: String,
    pub name: String,
    pub mode: Mode,
    pub correlation_id: String,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub config: CampaignConfig,
    #[serde(deserialize_with = "deserialize_phases")]
    pub phases: Vec<PhaseState>,
    /// Sweep index (sparse GSI `bySweep`): set only while something can stall — a phase
    /// `running` or an auto-start `queued`. `sweepShard` spreads the index over
    /// [`SWEEP_SHARDS`] partitions; `sweepAt` (epoch ms) is when it last moved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_shard: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_at: Option<i64>,
    /// A fresh id per save (`service::write::commit`): a writer whose conditional write was
    /// applied but answered too late (the SDK retries it into a version conflict) recognizes its
    /// own write when it re-reads (DECISIONS.md #35). Never shown by the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_id: Option<Uuid>,
}

/// Reads the phases in pipeline order and adds any phase a stored item predates.
fn deserialize_phases<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PhaseState>, D::Error> {
    let stored = Vec::<PhaseState>::deserialize(d)?;
    Ok(PIPELINE
        .iter()
        .map(|name| {
            stored
                .iter()
                .find(|p| p.phase == *name)
                .cloned()
                .unwrap_or_else(|| PhaseState::new(*name))
        })
        .collect())
}

/// What a mode change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChange {
    Unchanged,
    Changed { auto_start_queued: bool },
}

/// Now, to the millisecond (what every stored time and event carries).
pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

impl Campaign {
    pub fn new(
        id: Uuid,
        owner_id: &str,
        name: String,
        mode: Mode,
        config: CampaignConfig,
        correlation_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        let mut campaign = Self {
            id,
            owner_id: owner_id.to_string(),
            created_key: format!(
                "{}#{id}",
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            name,
            mode,
            correlation_id,
            version: 1,
            created_at: now,
            updated_at: now,
            config,
            phases: PIPELINE.iter().map(|n| PhaseState::new(*n)).collect(),
            sweep_shard: None,
            sweep_at: None,
            write_id: None,
        };
        if mode == Mode::FullSequence {
            campaign.queue_auto_start(PIPELINE[0], now);
        }
        campaign.refresh_sweep();
        campaign
    }

    pub fn phase(&self, name: PhaseName) -> &PhaseState {
        &self.phases[name.index()]
    }

    pub(super) fn phase_mut(&mut self, name: PhaseName) -> &mut PhaseState {
        &mut self.phases[name.index()]
    }

    /// The phase running or paused, if any (at most one is).
    pub fn active_phase(&self) -> Option<PhaseName> {
        self.phases
            .iter()
            .find(|p| p.status.is_active())
            .map(|p| p.phase)
    }

    /// Whether the campaign counts against its owner's active-campaign quota: a phase running or
    /// paused, or an auto-start queued.
    pub fn holds_slot(&self) -> bool {
        self.active_phase().is_some() || self.queued_auto_start().is_some()
    }

    /// A Full Auto create over the active-campaign quota is still created, with its auto-start
    /// failed (not queued): only before the first write (version 1, no other change).
    pub fn refuse_auto_start(&mut self, error: super::phase::ErrorInfo) {
        debug_assert_eq!(self.version, 1, "only a campaign that was never written");
        if let Some((phase, _)) = self.queued_auto_start() {
            let request = &mut self.phase_mut(phase).auto_start;
            request.status = AutoStartStatus::Failed;
            request.error = Some(error);
        }
        self.refresh_sweep();
    }

    /// The latest auto-start request (the top-level `autoStart` of the API) and its phase.
    pub fn latest_auto_start(&self) -> Option<(PhaseName, &AutoStart)> {
        self.phases
            .iter()
            .filter(|p| p.auto_start.requested_at.is_some())
            .max_by_key(|p| (p.auto_start.requested_at, p.phase.index()))
            .map(|p| (p.phase, &p.auto_start))
    }

    /// The auto-start request that is queued, if any (at most one is).
    pub fn queued_auto_start(&self) -> Option<(PhaseName, &AutoStart)> {
        self.phases
            .iter()
            .find(|p| p.auto_start.status == AutoStartStatus::Queued)
            .map(|p| (p.phase, &p.auto_start))
    }

    /// Bumps the version (once per write) and keeps the derived attributes current.
    pub(super) fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now.max(self.updated_at);
        self.refresh_sweep();
    }

    /// The sweep-index attributes: present while a phase runs or an auto-start is queued.
    fn refresh_sweep(&mut self) {
        let running = self
            .phases
            .iter()
            .filter(|p| p.status == PhaseStatus::Running)
            .filter_map(|p| p.progress_at);
        let queued = self
            .phases
            .iter()
            .filter(|p| p.auto_start.status == AutoStartStatus::Queued)
            .filter_map(|p| match p.recovery {
                Some(r) => Some(r.at),
                None => p.auto_start.requested_at,
            });
        let since = running.chain(queued).min();
        self.sweep_at = since.map(|t| t.timestamp_millis());
        self.sweep_shard = since.map(|_| sweep_shard(self.id));
    }

    /// Queues an automatic start of `phase` (a new request: attempts and outcome start over).
    pub(super) fn queue_auto_start(&mut self, phase: PhaseName, now: DateTime<Utc>) {
        let state = self.phase_mut(phase);
        debug_assert!(state.auto_start.status.can_become(AutoStartStatus::Queued));
        state.auto_start = AutoStart {
            status: AutoStartStatus::Queued,
            requested_at: Some(now),
            ..AutoStart::default()
        };
        state.recovery = None;
    }

    /// The phase Full Auto would start now: the first phase not yet completed, if it is
    /// `not_started`, nothing is active and no auto-start is queued.
    pub fn next_phase_to_auto_start(&self) -> Option<PhaseName> {
        if self.active_phase().is_some() || self.queued_auto_start().is_some() {
            return None;
        }
        self.phases
            .iter()
            .find(|p| p.status != PhaseStatus::Completed)
            .filter(|p| p.status == PhaseStatus::NotStarted)
            .map(|p| p.phase)
    }

    /// `PUT /campaigns/{id}/mode`. To Full Auto: the next phase is queued for an automatic start
    /// (when nothing is active); back to Manual: a queued auto-start is cancelled.
    pub fn change_mode(&mut self, to: Mode, now: DateTime<Utc>) -> ModeChange {
        if self.mode == to {
            return ModeChange::Unchanged;
        }
        self.mode = to;
        let mut queued = false;
        match to {
            Mode::FullSequence => {
                if let Some(next) = self.next_phase_to_auto_start() {
                    self.queue_auto_start(next, now);
                    queued = true;
                }
            }
            Mode::StepByStep => {
                if let Some((phase, _)) = self.queued_auto_start() {
                    self.phase_mut(phase).auto_start.status = AutoStartStatus::Cancelled;
                }
            }
        }
        self.touch(now);
        ModeChange::Changed {
            auto_start_queued: queued,
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}

/// The sweep-index partition of a campaign: stable, spread evenly by the id's first byte.
pub fn sweep_shard(id: Uuid) -> String {
    format!("s{}", u32::from(id.as_bytes()[0]) % SWEEP_SHARDS)
}
