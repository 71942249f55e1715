//! Campaign Auto-Start: the library every Lambda function and the local stack share.
//!
//! - [`domain`]: campaigns, modes, the phase and auto-start state machines, phase control (pure);
//! - [`phases`]: one module per pipeline phase behind the `Phase` trait;
//! - [`service`]: the use cases (what each handler does), over the store ports;
//! - [`store`]: the ports and their two backends (AWS, in memory);
//! - [`api`]: the HTTP API (routing, auth claims, error mapping) over `lambda_http` types;
//! - [`lambda`]: SQS and stream batch glue for the worker functions;
//! - [`events`]: the real-time events a committed change yields (pure);
//! - [`realtime`]: the stream publisher and the WebSocket routes;
//! - [`messages`], [`settings`], [`state`], [`sdk`], [`net`], [`telemetry`], [`error`].
//!
//! Layering (checked by `tests/layers.rs`): `domain` uses nothing above it; `phases` and `store`
//! use `domain`; `service` uses those; `api`, `realtime` and `lambda` use `service`.

pub mod api;
pub mod domain;
pub mod error;
pub mod events;
pub mod lambda;
pub mod messages;
pub mod net;
pub mod phases;
pub mod realtime;
pub mod sdk;
pub mod sdk_lambda;
pub mod service;
pub mod settings;
pub mod state;
pub mod store;
pub mod telemetry;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use error::AppError;
pub use settings::Settings;
pub use state::AppState;
