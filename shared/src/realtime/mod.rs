//! Real-time events (EVENTS.md): the stream publisher (committed change → events → every
//! subscribed connection) and the WebSocket routes.

pub mod publisher;
pub mod push;
pub mod routes;
pub mod throttle;

pub use publisher::{FanOut, Publisher, subscribers_of};
pub use push::{Push, PushError};
pub use routes::{
    ClientMessage, Sender, Target, answer, connect, disconnect, parse_message, reply, ws_event,
};
