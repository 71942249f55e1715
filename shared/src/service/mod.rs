//! Use cases: the logic behind every handler, over the store ports of [`crate::AppState`].
//!
//! - [`create`], [`campaigns`], [`control`], [`domains`], [`resources`]: the HTTP API's;
//! - [`autostart`], [`phase_work`]: the SQS workers' and their dead-letter handlers';
//! - [`dispatch`]: the stream outbox; [`sweeper`]: the scheduled recovery;
//! - [`readiness`]: pre-start checks; [`config_input`]: configuration bodies;
//! - [`write`]: the one read–modify–conditional-write helper.

pub mod autostart;
pub mod campaigns;
pub mod config_input;
pub mod control;
pub mod create;
pub mod dispatch;
pub mod domains;
pub mod phase_work;
pub mod readiness;
pub mod resources;
pub mod sweeper;
pub mod write;

pub use write::Caller;
