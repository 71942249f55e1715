//! Pure domain logic: no I/O here.
//!
//! - [`campaign`]: the aggregate, modes and configuration sections;
//! - [`phase`]: one phase's state, its auto-start request and recovery record;
//! - [`control`]: the phase and auto-start transitions (start, pause, resume, stop, chunks,
//!   failures, re-drives);
//! - [`config`]: the rules for replacing configuration;
//! - [`view`]: the API representations;
//! - [`pipeline`]: the phase names in order;
//! - [`resources`]: personas and proxies.

pub mod campaign;
pub mod config;
pub mod control;
pub mod phase;
pub mod pipeline;
pub mod resources;
pub mod view;

pub use campaign::{Campaign, CampaignConfig, Mode, ModeChange, now_millis};
pub use config::ConfigPatch;
pub use control::{ChunkOutcome, MAX_REDRIVES, Redrive, StartPlan};
pub use phase::{
    AutoStart, AutoStartStatus, ErrorInfo, PhaseState, PhaseStatus, Progress, Recovery,
    RecoveryReason, Trigger,
};
pub use pipeline::{DISCOVERY, PIPELINE, PhaseName, VALIDATION};
pub use view::Readiness;

#[cfg(test)]
mod state_machine_tests;
