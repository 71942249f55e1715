//! Campaign Auto-Start: the library every Lambda function and the local stack share.
//!
//! - [`domain`]: campaigns, modes, the phase and auto-start state machines, discovery generation.
//! - [`service`]: the use cases (what each handler does).
//! - [`adapters`]: DynamoDB, SQS and the API Gateway Management API.
//! - [`api`]: the HTTP API (routing, auth claims, error mapping) over `lambda_http` types.
//! - [`lambda`]: SQS and stream batch glue for the worker functions.
//! - [`events`]: the real-time events a committed change yields (pure).
//! - [`realtime`]: the stream publisher and the WebSocket routes.
//! - [`telemetry`]: JSON logs and EMF metrics.

pub mod adapters;
pub mod api;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod lambda;
pub mod realtime;
pub mod sdk;
pub mod service;
pub mod telemetry;

pub use config::{AppState, Settings};
pub use error::AppError;
