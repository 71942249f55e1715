//! Use cases: the logic behind every handler.

pub mod autostart;
pub mod campaigns;
pub mod dispatch;
pub mod phase_work;
pub mod resources;

pub use campaigns::Caller;
