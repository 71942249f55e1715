//! Real-time events (EVENTS.md): the stream publisher (committed change → events → every
//! subscribed connection) and the WebSocket routes.

pub mod batch_subscribers;
#[cfg(test)]
mod connect_tests;
pub mod failing;
pub mod publisher;
#[cfg(test)]
mod publisher_tests;
pub mod push;
pub mod routes;
pub mod throttle;

pub use publisher::{FanOut, PublishTotals, Publisher};
pub use push::{Liveness, Push, PushError};
pub use routes::{
    ClientMessage, Sender, Target, answer, connect, disconnect, parse_message, reply, ws_event,
};
