//! Phase control: start (and start again), pause, resume, stop, recording chunks, failing, the
//! auto-start outcomes and the sweeper's re-drives. Pure transitions on [`Campaign`]; each one
//! that changes something calls `touch` once (version + 1) and returns what it did.
//!
//! Invariants: at most one phase is active (running or paused); a phase starts only after every
//! earlier phase completed; a paused phase records a chunk already in flight but is never given a
//! new one; a stopped or reset phase records nothing more of its run.

use chrono::{DateTime, Utc};

use super::campaign::{Campaign, Mode};
use super::phase::{
    AutoStartStatus, ErrorInfo, PhaseStatus, Progress, Recovery, RecoveryReason, Trigger,
};
use super::pipeline::PhaseName;
use crate::error::{AppError, ConflictCode};

/// How a phase's work is chunked, decided by its pre-start checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartPlan {
    pub total: u64,
    pub chunk_size: u64,
}

/// What recording a chunk did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Progress recorded; more chunks follow.
    Progressed,
    /// The last chunk: the phase completed.
    Completed,
}

/// What a sweeper re-drive did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redrive {
    /// Recorded as re-drive number `n`: send the message again.
    Redriven(u32),
    /// The re-drives ran out: the phase (or its auto-start) is now failed with `STALLED`.
    Stalled,
}

/// How many fruitless re-drives the sweeper tries before it fails a phase with `STALLED`.
pub const MAX_REDRIVES: u32 = 3;

fn conflict(code: ConflictCode, message: String) -> AppError {
    AppError::conflict(code, message)
}

impl Campaign {
    /// The 409 checks of a start, before any pre-start validation of the configuration.
    pub fn check_can_start(&self, name: PhaseName) -> Result<(), AppError> {
        match self.phase(name).status {
            PhaseStatus::Running | PhaseStatus::Paused => {
                let s = self.phase(name).status.as_str();
                return Err(conflict(
                    ConflictCode::PhaseAlreadyRunning,
                    format!("{name} is {s}"),
                ));
            }
            PhaseStatus::Completed => {
                return Err(conflict(
                    ConflictCode::PhaseAlreadyCompleted,
                    format!("{name} has already completed"),
                ));
            }
            PhaseStatus::NotStarted | PhaseStatus::Failed | PhaseStatus::Stopped => {}
        }
        if let Some(active) = self.active_phase() {
            return Err(conflict(
                ConflictCode::PhaseAlreadyRunning,
                format!("{active} is {}", self.phase(active).status.as_str()),
            ));
        }
        if let Some(earlier) = name
            .earlier()
            .iter()
            .find(|e| self.phase(**e).status != PhaseStatus::Completed)
        {
            return Err(conflict(
                ConflictCode::PhaseOrder,
                format!("{earlier} must complete before {name} starts"),
            ));
        }
        Ok(())
    }

    /// Starts a phase (`not_started`), or starts a `failed`/`stopped` one again from its first
    /// chunk: that phase's earlier output and every later phase are reset. An automatic start
    /// also marks the phase's queued auto-start `started`, in the same write.
    pub fn start_phase(
        &mut self,
        name: PhaseName,
        trigger: Trigger,
        plan: StartPlan,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        self.check_can_start(name)?;
        for later in self.phases.iter_mut().skip(name.index() + 1) {
            later.reset();
        }
        let state = self.phase_mut(name);
        state.status = PhaseStatus::Running;
        state.trigger = Some(trigger);
        state.started_at = Some(now);
        state.completed_at = None;
        state.error = None;
        state.progress = Progress {
            done: 0,
            total: plan.total,
        };
        state.next_chunk = 0;
        state.chunk_size = plan.chunk_size.max(1);
        state.summary.clear();
        state.run += 1;
        state.progress_at = Some(now);
        state.recovery = None;
        let request = &mut state.auto_start;
        match trigger {
            Trigger::Auto => {
                let requested = request.requested_at.unwrap_or(now);
                request.status = AutoStartStatus::Started;
                request.started_at = Some(now);
                request.latency_ms = Some((now - requested).num_milliseconds().max(0));
                request.attempts = request.attempts.max(attempts);
                request.error = None;
            }
            // A manual start wins over a queued request (the worker would skip it anyway).
            Trigger::Manual if request.status == AutoStartStatus::Queued => {
                request.status = AutoStartStatus::Skipped;
            }
            Trigger::Manual => {}
        }
        self.touch(now);
        Ok(())
    }

    /// `running → paused`: no new chunk starts; a chunk in flight still counts.
    pub fn pause_phase(&mut self, name: PhaseName, now: DateTime<Utc>) -> Result<(), AppError> {
        let state = self.phase_mut(name);
        if state.status != PhaseStatus::Running {
            return Err(conflict(
                ConflictCode::PhaseNotRunning,
                format!("{name} is {}, not running", state.status.as_str()),
            ));
        }
        state.status = PhaseStatus::Paused;
        state.recovery = None;
        self.touch(now);
        Ok(())
    }

    /// `paused → running`, continuing with the next chunk; with nothing left (the last chunk
    /// landed while paused) the phase completes at once (and Full Auto advances).
    pub fn resume_phase(&mut self, name: PhaseName, now: DateTime<Utc>) -> Result<(), AppError> {
        let state = self.phase_mut(name);
        if state.status != PhaseStatus::Paused {
            return Err(conflict(
                ConflictCode::PhaseNotPaused,
                format!("{name} is {}, not paused", state.status.as_str()),
            ));
        }
        state.progress_at = Some(now);
        if state.progress.done >= state.progress.total {
            self.complete(name, now);
        } else {
            state.status = PhaseStatus::Running;
        }
        self.touch(now);
        Ok(())
    }

    /// `running|paused → stopped` (output so far kept, no auto-advance). A phase that has not
    /// started but has an auto-start queued: the request is cancelled.
    pub fn stop_phase(&mut self, name: PhaseName, now: DateTime<Utc>) -> Result<(), AppError> {
        let state = self.phase_mut(name);
        match state.status {
            PhaseStatus::Running | PhaseStatus::Paused => {
                state.status = PhaseStatus::Stopped;
                state.completed_at = Some(now);
                state.recovery = None;
            }
            PhaseStatus::NotStarted if state.auto_start.status == AutoStartStatus::Queued => {
                state.auto_start.status = AutoStartStatus::Cancelled;
                state.recovery = None;
            }
            other => {
                return Err(conflict(
                    ConflictCode::PhaseNotRunning,
                    format!("{name} is {}, not running or paused", other.as_str()),
                ));
            }
        }
        self.touch(now);
        Ok(())
    }

    /// Records chunk `chunk` of run `run` with its `items` and outcome `counts`. `None` (write
    /// nothing) when the chunk is not the next one of that run (a redelivery or a stale message),
    /// or the phase is not running or paused any more.
    pub fn record_chunk(
        &mut self,
        name: PhaseName,
        run: u32,
        chunk: u64,
        items: u64,
        counts: &[(String, u64)],
        now: DateTime<Utc>,
    ) -> Option<ChunkOutcome> {
        let state = self.phase_mut(name);
        if !state.status.is_active() || state.run != run || state.next_chunk != chunk {
            return None;
        }
        state.next_chunk += 1;
        for (key, n) in counts {
            *state.summary.entry(key.clone()).or_default() += n;
        }
        state.progress.done = (state.progress.done + items).min(state.progress.total);
        state.progress_at = Some(now);
        state.recovery = None;
        let outcome = if state.progress.done < state.progress.total {
            ChunkOutcome::Progressed
        } else if state.status == PhaseStatus::Paused {
            // Done while paused: completes when resumed.
            ChunkOutcome::Progressed
        } else {
            self.complete(name, now);
            ChunkOutcome::Completed
        };
        self.touch(now);
        Some(outcome)
    }

    /// Marks `name` completed and, in Full Auto, queues the next phase (auto-advance) in the same
    /// write. The caller touches.
    fn complete(&mut self, name: PhaseName, now: DateTime<Utc>) {
        let state = self.phase_mut(name);
        state.status = PhaseStatus::Completed;
        state.completed_at = Some(now);
        state.recovery = None;
        if self.mode == Mode::FullSequence
            && let Some(next) = self.next_phase_to_auto_start()
        {
            self.queue_auto_start(next, now);
        }
    }

    /// The phase's work gave up (dead letter of run `run`, or stalled): `running → failed`.
    pub fn fail_phase(
        &mut self,
        name: PhaseName,
        run: u32,
        error: ErrorInfo,
        now: DateTime<Utc>,
    ) -> bool {
        let state = self.phase_mut(name);
        if state.status != PhaseStatus::Running || state.run != run {
            return false;
        }
        state.status = PhaseStatus::Failed;
        state.error = Some(error);
        state.completed_at = Some(now);
        self.touch(now);
        true
    }

    /// Ends `phase`'s queued auto-start requested at `requested_at` with a non-start outcome.
    /// `false` (write nothing) when that request is not queued any more.
    pub fn end_auto_start(
        &mut self,
        phase: PhaseName,
        requested_at: DateTime<Utc>,
        outcome: AutoStartStatus,
        error: Option<ErrorInfo>,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> bool {
        debug_assert!(matches!(
            outcome,
            AutoStartStatus::Skipped | AutoStartStatus::Cancelled | AutoStartStatus::Failed
        ));
        let state = self.phase_mut(phase);
        let request = &mut state.auto_start;
        if request.status != AutoStartStatus::Queued || request.requested_at != Some(requested_at) {
            return false;
        }
        request.status = outcome;
        request.error = error;
        request.attempts = request.attempts.max(attempts);
        state.recovery = None;
        self.touch(now);
        true
    }

    /// Records a failed attempt of a queued auto-start that will be retried.
    pub fn record_auto_start_attempt(
        &mut self,
        phase: PhaseName,
        requested_at: DateTime<Utc>,
        attempts: u32,
        now: DateTime<Utc>,
    ) -> bool {
        let request = &mut self.phase_mut(phase).auto_start;
        if request.status != AutoStartStatus::Queued
            || request.requested_at != Some(requested_at)
            || request.attempts >= attempts
        {
            return false;
        }
        request.attempts = attempts;
        self.touch(now);
        true
    }

    /// The sweeper found `name` (or its queued auto-start) stale: records re-drive number n, or
    /// after [`MAX_REDRIVES`] fruitless ones fails it with `STALLED`. `None` when there is
    /// nothing to re-drive (it moved on meanwhile).
    pub fn record_redrive(
        &mut self,
        name: PhaseName,
        reason: RecoveryReason,
        now: DateTime<Utc>,
    ) -> Option<Redrive> {
        let state = self.phase(name);
        let queued = state.auto_start.status == AutoStartStatus::Queued;
        if state.status != PhaseStatus::Running && !queued {
            return None;
        }
        let done = state.recovery.map_or(0, |r| r.redrives);
        if done >= MAX_REDRIVES {
            let error = ErrorInfo::new(
                "STALLED",
                format!("{name} made no progress after {MAX_REDRIVES} re-drives"),
            );
            let state = self.phase_mut(name);
            if state.status == PhaseStatus::Running {
                state.status = PhaseStatus::Failed;
                state.error = Some(error);
                state.completed_at = Some(now);
            } else {
                state.auto_start.status = AutoStartStatus::Failed;
                state.auto_start.error = Some(error);
            }
            state.recovery = None;
            self.touch(now);
            return Some(Redrive::Stalled);
        }
        let state = self.phase_mut(name);
        state.recovery = Some(Recovery {
            redrives: done + 1,
            reason,
            at: now,
        });
        if state.status == PhaseStatus::Running {
            state.progress_at = Some(now);
        }
        self.touch(now);
        Some(Redrive::Redriven(done + 1))
    }
}
