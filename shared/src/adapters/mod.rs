//! Adapters to AWS services.

pub mod dns;
pub mod dynamo;
pub mod queue;
pub mod ws;
