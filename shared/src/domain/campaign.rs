//! The campaign aggregate: modes, phases and their state machine, and the auto-start state.
//!
//! Every mutation is a method here that checks the state machine and bumps `version` by one; the
//! repository writes the result conditionally on the previous version. Handlers and workers never
//! edit fields directly.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::discovery::DiscoveryConfig;
use super::pipeline::{PIPELINE, PhaseName};
use crate::error::{AppError, ConflictCode, FieldProblem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    StepByStep,
    FullSequence,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    NotStarted,
    /// Reserved by the contract; this implementation goes straight from `not_started` to
    /// `running` (the auto-start queue state lives in `autoStart`).
    Queued,
    Running,
    Completed,
    Failed,
}

impl PhaseStatus {
    /// The phase state machine. `failed → running` is a manual restart (resumes where it stopped).
    pub fn can_become(self, next: PhaseStatus) -> bool {
        use PhaseStatus::*;
        matches!(
            (self, next),
            (NotStarted, Running)
                | (Queued, Running)
                | (Running, Completed)
                | (Running, Failed)
                | (Failed, Running)
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Auto,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoStartStatus {
    NotRequested,
    Queued,
    Started,
    Skipped,
    Cancelled,
    Failed,
}

impl AutoStartStatus {
    /// The auto-start state machine: a request is queued, then ends in exactly one outcome; a new
    /// request (mode switched to `full_sequence` again) may re-queue after a non-start outcome.
    pub fn can_become(self, next: AutoStartStatus) -> bool {
        use AutoStartStatus::*;
        matches!(
            (self, next),
            (NotRequested | Skipped | Cancelled | Failed, Queued)
                | (Queued, Started | Skipped | Cancelled | Failed)
                // auto-advance: the next phase's request after the previous one started
                | (Started, Queued)
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// `{code, message, details?}` recorded on a phase or on the auto-start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

impl From<&AppError> for ErrorInfo {
    fn from(err: &AppError) -> Self {
        Self {
            code: err.code().to_string(),
            message: err.public_message(),
            details: err.details(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseState {
    pub phase: PhaseName,
    pub status: PhaseStatus,
    pub trigger: Option<Trigger>,
    pub progress: Progress,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error: Option<ErrorInfo>,
    /// Internal: the next work chunk to process (not part of the API view).
    #[serde(default)]
    pub next_chunk: u64,
    /// Internal: items per chunk, fixed when the phase starts so a redeploy with another chunk
    /// size cannot shift chunk boundaries mid-run.
    #[serde(default)]
    pub chunk_size: u64,
    /// Outcome counts of the work items so far (validation: resolved / unresolved / error).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub summary: std::collections::BTreeMap<String, u64>,
}

impl PhaseState {
    pub fn new(phase: PhaseName) -> Self {
        Self {
            phase,
            status: PhaseStatus::NotStarted,
            trigger: None,
            progress: Progress::default(),
            started_at: None,
            completed_at: None,
            error: None,
            next_chunk: 0,
            chunk_size: 0,
            summary: Default::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStart {
    pub status: AutoStartStatus,
    /// The phase this auto-start request is for (discovery, or the next phase on auto-advance).
    #[serde(default)]
    pub phase: Option<PhaseName>,
    pub attempts: u32,
    pub requested_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub latency_ms: Option<i64>,
    pub error: Option<ErrorInfo>,
}

impl Default for AutoStart {
    fn default() -> Self {
        Self {
            status: AutoStartStatus::NotRequested,
            phase: None,
            attempts: 0,
            requested_at: None,
            started_at: None,
            latency_ms: None,
            error: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignConfig {
    pub discovery: Option<DiscoveryConfig>,
    #[serde(default)]
    pub persona_ids: Vec<Uuid>,
    #[serde(default)]
    pub proxy_ids: Vec<Uuid>,
}

/// The stored campaign item. The API view ([`Campaign::to_api`]) hides `ownerId`, `createdKey`
/// and the phases' `nextChunk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    pub auto_start: AutoStart,
}

/// Reads the phases and adds any pipeline phase a stored item predates (written before the
/// phase existed), so every campaign has every phase.
fn deserialize_phases<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<PhaseState>, D::Error> {
    let mut phases = Vec::<PhaseState>::deserialize(d)?;
    for def in PIPELINE {
        if !phases.iter().any(|p| p.phase == def.name) {
            phases.push(PhaseState::new(def.name));
        }
    }
    Ok(phases)
}

/// What a mode change did, so the caller knows whether to send an auto-start message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChange {
    Unchanged,
    Changed { auto_start_queued: bool },
}

/// What a chunk of phase work did to the campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Progress recorded; more chunks follow.
    Progressed,
    /// The last chunk: the phase is completed.
    Completed,
}

pub fn now_millis() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

impl Campaign {
    pub fn new(
        owner_id: &str,
        name: String,
        mode: Mode,
        config: CampaignConfig,
        correlation_id: String,
        now: DateTime<Utc>,
    ) -> Self {
        let id = Uuid::new_v4();
        let mut campaign = Self {
            id,
            owner_id: owner_id.to_string(),
            created_key: format!(
                "{}#{id}",
                now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            ),
            name,
            mode: Mode::StepByStep,
            correlation_id,
            version: 1,
            created_at: now,
            updated_at: now,
            config,
            phases: PIPELINE
                .iter()
                .map(|def| PhaseState::new(def.name))
                .collect(),
            auto_start: AutoStart::default(),
        };
        campaign.mode = mode;
        if mode == Mode::FullSequence {
            campaign.queue_auto_start(PhaseName::Discovery, now);
        }
        campaign
    }

    pub fn phase(&self, name: PhaseName) -> &PhaseState {
        self.phases
            .iter()
            .find(|p| p.phase == name)
            .expect("every pipeline phase is present")
    }

    fn phase_mut(&mut self, name: PhaseName) -> &mut PhaseState {
        self.phases
            .iter_mut()
            .find(|p| p.phase == name)
            .expect("every pipeline phase is present")
    }

    /// The phase currently running, if any.
    pub fn running_phase(&self) -> Option<PhaseName> {
        self.phases
            .iter()
            .find(|p| p.status == PhaseStatus::Running)
            .map(|p| p.phase)
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now.max(self.updated_at);
    }

    fn queue_auto_start(&mut self, phase: PhaseName, now: DateTime<Utc>) {
        self.auto_start = AutoStart {
            status: AutoStartStatus::Queued,
            phase: Some(phase),
            attempts: 0,
            requested_at: Some(now),
            started_at: None,
            latency_ms: None,
            error: None,
        };
    }

    /// `PUT /campaigns/{id}/mode`.
    pub fn change_mode(&mut self, to: Mode, now: DateTime<Utc>) -> ModeChange {
        if self.mode == to {
            return ModeChange::Unchanged;
        }
        self.mode = to;
        let mut queued = false;
        match to {
            Mode::FullSequence => {
                if let Some(next) = self.next_phase_to_auto_start()
                    && self.auto_start.status != AutoStartStatus::Queued
                    && self.auto_start.status.can_become(AutoStartStatus::Queued)
                {
                    self.queue_auto_start(next, now);
                    queued = true;
                }
            }
            Mode::StepByStep => {
                if self.auto_start.status == AutoStartStatus::Queued {
                    self.auto_start.status = AutoStartStatus::Cancelled;
                }
            }
        }
        self.touch(now);
        ModeChange::Changed {
            auto_start_queued: queued,
        }
    }

    /// The phase Full Auto would start now: the first phase that is `not_started` when every phase
    /// before it is completed and nothing is running.
    pub fn next_phase_to_auto_start(&self) -> Option<PhaseName> {
        if self.running_phase().is_some() {
            return None;
        }
        for state in &self.phases {
            match state.status {
                PhaseStatus::Completed => continue,
                PhaseStatus::NotStarted | PhaseStatus::Queued => return Some(state.phase),
                PhaseStatus::Running | PhaseStatus::Failed => return None,
            }
        }
        None
    }

    /// The checks a start must pass that depend only on the campaign's phase states
    /// (409 codes), before any pre-start validation of the configuration.
    pub fn check_can_start(&self, name: PhaseName) -> Result<(), AppError> {
        let state = self.phase(name);
        match state.status {
            PhaseStatus::Running => {
                return Err(AppError::conflict(
                    ConflictCode::PhaseAlreadyRunning,
                    format!("{name} is already running"),
                ));
            }
            PhaseStatus::Completed => {
                return Err(AppError::conflict(
                    ConflictCode::PhaseAlreadyCompleted,
                    format!("{name} has already completed"),
                ));
            }
            _ => {}
        }
        if let Some(running) = self.running_phase() {
            return Err(AppError::conflict(
                ConflictCode::PhaseAlreadyRunning,
                format!("{running} is running"),
            ));
        }
        for earlier in PIPELINE.iter().take_while(|d| d.name != name) {
            if self.phase(earlier.name).status != PhaseStatus::Completed {
                return Err(AppError::conflict(
                    ConflictCode::PhaseOrder,
                    format!("{} must complete before {name} starts", earlier.name),
                ));
            }
        }
        Ok(())
    }

    /// Moves a phase to `running`. `total` is the number of work items of the phase. For an
    /// automatic start the auto-start request is marked `started` in the same write.
    pub fn start_phase(
        &mut self,
        name: PhaseName,
        trigger: Trigger,
        total: u64,
        chunk_size: u64,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        self.check_can_start(name)?;
        let state = self.phase_mut(name);
        debug_assert!(state.status.can_become(PhaseStatus::Running));
        let resuming = state.status == PhaseStatus::Failed;
        state.status = PhaseStatus::Running;
        state.trigger = Some(trigger);
        state.started_at = Some(now);
        state.completed_at = None;
        state.error = None;
        if !resuming {
            state.progress = Progress { done: 0, total };
            state.next_chunk = 0;
            state.chunk_size = chunk_size.max(1);
            state.summary.clear();
        }
        if trigger == Trigger::Auto {
            let requested = self.auto_start.requested_at.unwrap_or(now);
            self.auto_start.status = AutoStartStatus::Started;
            self.auto_start.started_at = Some(now);
            self.auto_start.latency_ms = Some((now - requested).num_milliseconds().max(0));
            self.auto_start.attempts = self.auto_start.attempts.max(attempts);
            self.auto_start.error = None;
        }
        self.touch(now);
        Ok(())
    }

    /// Records that chunk `chunk` of a running phase is persisted and `items` more are done.
    /// Returns `None` when the chunk was already recorded (a redelivery) or the phase is not
    /// running, so the caller writes nothing.
    pub fn record_chunk(
        &mut self,
        name: PhaseName,
        chunk: u64,
        items: u64,
        now: DateTime<Utc>,
    ) -> Option<ChunkOutcome> {
        self.record_chunk_counted(name, chunk, items, &[], now)
    }

    /// [`Campaign::record_chunk`] that also adds the chunk's outcome counts to the phase summary
    /// (exactly once, since only the chunk that is next is recorded).
    pub fn record_chunk_counted(
        &mut self,
        name: PhaseName,
        chunk: u64,
        items: u64,
        counts: &[(String, u64)],
        now: DateTime<Utc>,
    ) -> Option<ChunkOutcome> {
        let state = self.phase_mut(name);
        if state.status != PhaseStatus::Running || state.next_chunk != chunk {
            return None;
        }
        state.next_chunk += 1;
        for (key, n) in counts {
            *state.summary.entry(key.clone()).or_default() += n;
        }
        state.progress.done = (state.progress.done + items).min(state.progress.total);
        let outcome = if state.progress.done >= state.progress.total {
            state.status = PhaseStatus::Completed;
            state.completed_at = Some(now);
            ChunkOutcome::Completed
        } else {
            ChunkOutcome::Progressed
        };
        let completed = outcome == ChunkOutcome::Completed;
        self.touch(now);
        if completed && self.mode == Mode::FullSequence {
            // Auto-advance: queue the next phase in the same write that completes this one.
            if let Some(next) = self.next_phase_to_auto_start()
                && self.auto_start.status.can_become(AutoStartStatus::Queued)
            {
                self.queue_auto_start(next, now);
            }
        }
        Some(outcome)
    }

    /// A running phase failed for good (its work queue gave up).
    pub fn fail_phase(&mut self, name: PhaseName, error: ErrorInfo, now: DateTime<Utc>) -> bool {
        let state = self.phase_mut(name);
        if state.status != PhaseStatus::Running {
            return false;
        }
        state.status = PhaseStatus::Failed;
        state.error = Some(error);
        self.touch(now);
        true
    }

    /// Ends a queued auto-start with a non-start outcome. Returns false (write nothing) when the
    /// auto-start is not queued any more.
    pub fn end_auto_start(
        &mut self,
        outcome: AutoStartStatus,
        error: Option<ErrorInfo>,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> bool {
        debug_assert!(matches!(
            outcome,
            AutoStartStatus::Skipped | AutoStartStatus::Cancelled | AutoStartStatus::Failed
        ));
        if self.auto_start.status != AutoStartStatus::Queued {
            return false;
        }
        self.auto_start.status = outcome;
        self.auto_start.error = error;
        self.auto_start.attempts = self.auto_start.attempts.max(attempts);
        self.touch(now);
        true
    }

    /// Records a failed attempt of a queued auto-start that will be retried.
    pub fn record_auto_start_attempt(&mut self, attempts: u32, now: DateTime<Utc>) -> bool {
        if self.auto_start.status != AutoStartStatus::Queued || self.auto_start.attempts >= attempts
        {
            return false;
        }
        self.auto_start.attempts = attempts;
        self.touch(now);
        true
    }

    /// `PUT /campaigns/{id}/config`: allowed only before discovery has started.
    pub fn replace_config(
        &mut self,
        config: CampaignConfig,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        match self.phase(PhaseName::Discovery).status {
            PhaseStatus::NotStarted | PhaseStatus::Queued => {}
            PhaseStatus::Completed => {
                return Err(AppError::conflict(
                    ConflictCode::PhaseAlreadyCompleted,
                    "discovery has completed",
                ));
            }
            PhaseStatus::Running | PhaseStatus::Failed => {
                return Err(AppError::conflict(
                    ConflictCode::PhaseAlreadyRunning,
                    "discovery has started",
                ));
            }
        }
        if self.config != config {
            self.config = config;
            self.touch(now);
        }
        Ok(())
    }

    /// The API representation (camelCase JSON without internal fields).
    pub fn to_api(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = value.as_object_mut() {
            obj.remove("ownerId");
            obj.remove("createdKey");
            if let Some(phases) = obj.get_mut("phases").and_then(|p| p.as_array_mut()) {
                for phase in phases {
                    if let Some(p) = phase.as_object_mut() {
                        p.remove("nextChunk");
                        p.remove("chunkSize");
                    }
                }
            }
        }
        value
    }

    /// The body of `GET /campaigns/{id}/status` (and of the WebSocket `subscribed` answer).
    pub fn status_view(&self) -> serde_json::Value {
        let api = self.to_api();
        serde_json::json!({
            "campaignId": self.id,
            "mode": self.mode,
            "version": self.version,
            "autoStart": api["autoStart"],
            "phases": api["phases"],
            "updatedAt": api["updatedAt"],
        })
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }
}
