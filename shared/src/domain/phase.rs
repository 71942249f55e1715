//! One phase's state inside a campaign: its status machine, progress, chunk cursor, run number,
//! its own auto-start request and what the sweeper did for it.
//!
//! Invariants (checked by `state_machine_tests`):
//! - status moves only along [`PhaseStatus::can_become`];
//! - `next_chunk` counts the chunks recorded in the current `run`; `progress.done` is the items
//!   of those chunks; only recorded chunks' output is visible;
//! - `run` grows by one on every start, so output written by an earlier run can be told apart
//!   (and is never allowed to overwrite a later run's).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::pipeline::PhaseName;
use crate::error::{AppError, FieldProblem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    NotStarted,
    Running,
    Paused,
    Stopped,
    Completed,
    Failed,
}

impl PhaseStatus {
    /// The phase state machine:
    /// - `not_started → running` (start), `failed|stopped → running` (start again, from scratch);
    /// - `running → paused → running` (pause, resume), `running|paused → stopped` (stop);
    /// - `running|paused → completed` (the last chunk is recorded; a chunk in flight when the
    ///   phase was paused still counts, and a resume with nothing left completes at once);
    /// - `running → failed` (the work gave up, or the sweeper found it stalled);
    /// - any state `→ not_started` when an earlier phase starts again (a reset).
    pub fn can_become(self, next: PhaseStatus) -> bool {
        use PhaseStatus::*;
        matches!(
            (self, next),
            (NotStarted | Failed | Stopped, Running)
                | (Running, Paused | Stopped | Completed | Failed)
                | (Paused, Running | Stopped | Completed)
                | (_, NotStarted)
        )
    }

    /// Running or paused: the phase holds the campaign (no other phase starts, no delete).
    pub fn is_active(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Auto,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// A request is queued, then ends in exactly one outcome; a new request (Full Auto asked again,
    /// or the phase reset) may queue again after any outcome.
    pub fn can_become(self, next: AutoStartStatus) -> bool {
        use AutoStartStatus::*;
        matches!(
            (self, next),
            (
                NotRequested | Started | Skipped | Cancelled | Failed,
                Queued
            ) | (Queued, Started | Skipped | Cancelled | Failed)
                | (_, NotRequested)
        )
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// `{code, message, details?}` recorded on a phase or on an auto-start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

impl ErrorInfo {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_string(),
            message: message.into(),
            details: Vec::new(),
        }
    }
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

/// One phase's automatic-start request (BEHAVIOUR.md "Modes and auto-start").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStart {
    pub status: AutoStartStatus,
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
            attempts: 0,
            requested_at: None,
            started_at: None,
            latency_ms: None,
            error: None,
        }
    }
}

/// Why the sweeper re-drove a phase or its auto-start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryReason {
    /// An auto-start still queued after the retry budget.
    StaleQueued,
    /// A running phase without progress for `STALE_PHASE_SECONDS`.
    StalledPhase,
    /// A stream consumer gave up on a record of this campaign (on-failure destination).
    StreamFailure,
}

impl RecoveryReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StaleQueued => "stale_queued",
            Self::StalledPhase => "stalled_phase",
            Self::StreamFailure => "stream_failure",
        }
    }
}

/// The sweeper's re-drives since the phase last made progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Recovery {
    pub redrives: u32,
    pub reason: RecoveryReason,
    pub at: DateTime<Utc>,
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
    /// This phase's own auto-start request.
    #[serde(default)]
    pub auto_start: AutoStart,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Recovery>,
    /// Outcome counts of the recorded chunks (validation: resolved / unresolved / error).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, u64>,
    /// Internal: the next chunk to record in this run.
    #[serde(default)]
    pub next_chunk: u64,
    /// Internal: items per chunk, fixed when the run starts.
    #[serde(default)]
    pub chunk_size: u64,
    /// Internal: 1 for the first run, +1 on every start.
    #[serde(default)]
    pub run: u32,
    /// Internal: when the phase last moved (start, resume, a recorded chunk, a re-drive); the
    /// sweeper's staleness clock.
    #[serde(default)]
    pub progress_at: Option<DateTime<Utc>>,
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
            auto_start: AutoStart::default(),
            recovery: None,
            summary: BTreeMap::new(),
            next_chunk: 0,
            chunk_size: 0,
            run: 0,
            progress_at: None,
        }
    }

    /// Back to `not_started` (an earlier phase starts again): output and history go, the run
    /// number stays so that the next run's output is told apart from anything left behind.
    pub fn reset(&mut self) {
        let run = self.run;
        *self = Self::new(self.phase);
        self.run = run;
    }

    /// Whether chunk `chunk`'s output is part of what this phase shows: recorded in this run.
    pub fn shows_chunk(&self, chunk: u64, stored_run: u32) -> bool {
        self.status != PhaseStatus::NotStarted && stored_run == self.run && chunk < self.next_chunk
    }
}
