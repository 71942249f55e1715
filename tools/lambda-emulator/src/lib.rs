//! A Lambda Runtime API emulator ([`runtime_api`]) and the bootstrap test built on it.
//!
//! The bootstrap test (`cargo run -p lambda-emulator --bin bootstrap-test`, a step of
//! `make test`) runs every function's real binary — its `main.rs`, the runtime, the event and
//! response (de)serialization — the way Lambda does: a fresh process per invocation, the event
//! from `events/`, the answer checked as JSON, and the function's side effects checked in moto
//! ([`sandbox`]: private tables and queues per run). The cases are in [`cases`].

pub mod cases;
pub mod fixture;
pub mod runtime_api;
pub mod sandbox;
