//! The HTTP API contract (API.md) against the running local stack: every route, status and
//! error code, auth, owner isolation, idempotency and optimistic concurrency.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

mod auth;
mod bodies;
mod lifecycle;
mod routes;
mod updates;

async fn create(c: &Client, mode: &str, n: u64) -> String {
    c.create_campaign(&campaign_body(mode, n)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}
