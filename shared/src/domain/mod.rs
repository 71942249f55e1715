//! Pure domain logic: no I/O here.

pub mod campaign;
pub mod discovery;
pub mod pipeline;
pub mod resources;

pub use campaign::*;
pub use discovery::{DiscoveryConfig, DiscoveryInput, PatternType};
pub use pipeline::{PIPELINE, PhaseName};

#[cfg(test)]
mod state_machine_tests;
