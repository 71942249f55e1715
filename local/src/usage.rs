//! What the local stack was asked to do, in the units AWS bills it (the cost model of
//! docs/DEPLOY.md, "What a campaign costs"): Lambda invocations and their durations per function,
//! HTTP API requests, WebSocket messages and connection time, plus moto's own meter of DynamoDB
//! request units and SQS requests (`scripts/moto_meter.py`), read on demand.
//!
//! - `GET /_local/usage`: the totals since the gateway started, and moto's `/_meter` of each moto
//!   process. Counters only grow: a client takes two readings and subtracts them.
//! - `POST /_local/usage {"units": true|false}`: turns moto's DynamoDB request units on or off in
//!   every moto process (off by default: sizing every write costs moto a fifth of its CPU), then
//!   answers the reading.
//! - Lambda: one invocation per handler run the gateway makes (through
//!   [`crate::profile::invocation`] or the HTTP API layer), its wall time rounded up to 1 ms as
//!   Lambda bills it, and the part of it spent waiting for AWS (moto) calls, timed by the SDK
//!   HTTP client ([`crate::sdk_http`]). `ws-authorizer` is counted once per `$connect` with a
//!   token, as API Gateway invokes it; its duration is the gateway's own token check.
//! - HTTP API: every request but `/_local/*`, in 512 KB increments of request + answer.
//! - WebSocket: every data frame a client sends and every message the Management API delivers, in
//!   32 KB increments; connection time from the upgrade to the socket's end, also as whole
//!   minutes per connection (rounded up: an upper bound of the billed connection-minutes).
//!
//! Invariants: recording is a few atomic adds and one short mutex per invocation; nothing here
//! changes what a handler, a request or a socket does.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use crate::Gateway;

/// API Gateway's metering increments.
const HTTP_INCREMENT: u64 = 512 * 1024;
const WS_INCREMENT: u64 = 32 * 1024;

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionUsage {
    pub invocations: u64,
    /// Invocations that ended in a function error or time-out.
    pub errors: u64,
    /// Σ wall time rounded up to whole milliseconds (Lambda's billed duration).
    pub billed_ms: u64,
    pub duration_us: u64,
    /// Σ time the invocations' SDK requests took (moto here, DynamoDB/SQS in AWS).
    pub aws_wait_us: u64,
}

static FUNCTIONS: Mutex<BTreeMap<String, FunctionUsage>> = Mutex::new(BTreeMap::new());
static HTTP_REQUESTS: AtomicU64 = AtomicU64::new(0);
static HTTP_BILLED: AtomicU64 = AtomicU64::new(0);
static WS_IN: AtomicU64 = AtomicU64::new(0);
static WS_OUT: AtomicU64 = AtomicU64::new(0);
static WS_BILLED: AtomicU64 = AtomicU64::new(0);
static WS_CONNECTIONS: AtomicU64 = AtomicU64::new(0);
static WS_OPEN: AtomicU64 = AtomicU64::new(0);
static WS_CLOSED_MS: AtomicU64 = AtomicU64::new(0);
static WS_CLOSED_MINUTES: AtomicU64 = AtomicU64::new(0);
/// When each open connection started (ms since [`epoch`]), for readings taken while open.
static WS_OPEN_SINCE: Mutex<BTreeMap<u64, u64>> = Mutex::new(BTreeMap::new());
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn increments(bytes: u64, increment: u64) -> u64 {
    bytes.div_ceil(increment).max(1)
}

fn with_function(function: &str, f: impl FnOnce(&mut FunctionUsage)) {
    let mut all = FUNCTIONS.lock().unwrap_or_else(|e| e.into_inner());
    match all.get_mut(function) {
        Some(u) => f(u),
        None => f(all.entry(function.to_string()).or_default()),
    }
}

/// One invocation of `function` that took `took` (`ok`: no function error or time-out).
pub fn invoked(function: &str, took: Duration, ok: bool) {
    let us = took.as_micros() as u64;
    with_function(function, |u| {
        u.invocations += 1;
        u.errors += u64::from(!ok);
        u.duration_us += us;
        u.billed_ms += us.div_ceil(1000).max(1);
    });
}

/// One `ws-authorizer` invocation: `check` is the gateway's token check, which answers for it
/// (`None`: refused).
pub fn authorizer<T>(check: impl FnOnce() -> Option<T>) -> Option<T> {
    let started = Instant::now();
    let out = check();
    invoked("ws-authorizer", started.elapsed(), out.is_some());
    out
}

/// An SDK request made inside an invocation of `function` took `took`.
pub fn aws_wait(function: &str, took: Duration) {
    let us = took.as_micros() as u64;
    with_function(function, |u| u.aws_wait_us += us);
}

/// One HTTP API request with these body sizes.
pub fn http_request(request_bytes: u64, answer_bytes: u64) {
    HTTP_REQUESTS.fetch_add(1, Ordering::Relaxed);
    HTTP_BILLED.fetch_add(
        increments(request_bytes + answer_bytes, HTTP_INCREMENT),
        Ordering::Relaxed,
    );
}

/// One WebSocket message of `bytes` (`inbound`: sent by the client).
pub fn ws_message(inbound: bool, bytes: usize) {
    let counter = if inbound { &WS_IN } else { &WS_OUT };
    counter.fetch_add(1, Ordering::Relaxed);
    WS_BILLED.fetch_add(increments(bytes as u64, WS_INCREMENT), Ordering::Relaxed);
}

/// An open WebSocket connection; its time is counted when dropped.
pub struct Connection {
    id: u64,
    since: Instant,
}

/// A WebSocket connection was accepted.
pub fn ws_connected() -> Connection {
    let id = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let since = Instant::now();
    WS_CONNECTIONS.fetch_add(1, Ordering::Relaxed);
    WS_OPEN.fetch_add(1, Ordering::Relaxed);
    WS_OPEN_SINCE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, since.duration_since(epoch()).as_millis() as u64);
    Connection { id, since }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let ms = self.since.elapsed().as_millis() as u64;
        WS_CLOSED_MS.fetch_add(ms, Ordering::Relaxed);
        WS_CLOSED_MINUTES.fetch_add(ms.div_ceil(60_000).max(1), Ordering::Relaxed);
        WS_OPEN.fetch_sub(1, Ordering::Relaxed);
        WS_OPEN_SINCE
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.id);
    }
}

/// The gateway's own counters (no moto).
pub fn snapshot() -> Value {
    let now_ms = epoch().elapsed().as_millis() as u64;
    let (open_ms, open_minutes) = WS_OPEN_SINCE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|since| now_ms.saturating_sub(*since))
        .fold((0, 0), |(ms, min), d| {
            (ms + d, min + d.div_ceil(60_000).max(1))
        });
    let functions = FUNCTIONS.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    json!({
        "functions": functions,
        "httpApi": {"requests": load(&HTTP_REQUESTS), "billedRequests": load(&HTTP_BILLED)},
        "webSocket": {
            "messagesIn": load(&WS_IN),
            "messagesOut": load(&WS_OUT),
            "billedMessages": load(&WS_BILLED),
            "connections": load(&WS_CONNECTIONS),
            "open": load(&WS_OPEN),
            "connectionSeconds": (load(&WS_CLOSED_MS) + open_ms) as f64 / 1000.0,
            "connectionMinutesRoundedUp": load(&WS_CLOSED_MINUTES) + open_minutes,
        },
    })
}

/// `POST /_local/usage {"units": bool}`: moto's request units on or off, then the reading.
async fn switch_units(State(gw): State<Gateway>, axum::Json(body): axum::Json<Units>) -> Response {
    reading(&gw, Some(body.units)).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Units {
    units: bool,
}

/// `GET /_local/usage`: the gateway's counters and each moto process's meter.
async fn usage(State(gw): State<Gateway>) -> Response {
    reading(&gw, None).await
}

/// The reading, after switching moto's request units when `units` says so.
async fn reading(gw: &Gateway, units: Option<bool>) -> Response {
    let mut endpoints = vec![gw.moto_endpoint.clone()];
    if gw.moto_sqs_endpoint != gw.moto_endpoint {
        endpoints.push(gw.moto_sqs_endpoint.clone());
    }
    let mut moto = Vec::new();
    for endpoint in endpoints {
        let url = format!("{}/_meter", endpoint.trim_end_matches('/'));
        let request = match units {
            Some(units) => gw.http.post(&url).json(&json!({ "units": units })),
            None => gw.http.get(&url),
        };
        let meter = match request.send().await {
            Ok(r) if r.status().is_success() => r.json::<Value>().await.map_err(|e| e.to_string()),
            Ok(r) => Err(format!("{url}: HTTP {}", r.status())),
            Err(e) => Err(format!("{url}: {e}")),
        };
        match meter {
            Ok(m) => moto.push(json!({"endpoint": endpoint, "meter": m})),
            // No silent zeros: a reading without moto's meter is an error.
            Err(e) => {
                return (
                    axum::http::StatusCode::BAD_GATEWAY,
                    axum::Json(json!({"error": format!("moto's meter: {e}")})),
                )
                    .into_response();
            }
        }
    }
    let mut out = snapshot();
    out["moto"] = json!(moto);
    out["atUnixMs"] = json!(chrono::Utc::now().timestamp_millis());
    axum::Json(out).into_response()
}

/// `/_local/usage` (merged into the HTTP API's router).
pub fn router(gw: Gateway) -> Router {
    Router::new()
        .route(
            "/_local/usage",
            axum::routing::get(usage).post(switch_units),
        )
        .with_state(gw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bills_in_increments() {
        assert_eq!(increments(0, WS_INCREMENT), 1);
        assert_eq!(increments(32 * 1024, WS_INCREMENT), 1);
        assert_eq!(increments(32 * 1024 + 1, WS_INCREMENT), 2);
        assert_eq!(increments(600 * 1024, HTTP_INCREMENT), 2);
    }

    #[test]
    fn counts_invocations_and_connection_time() {
        invoked("usage-test", Duration::from_micros(1500), true);
        invoked("usage-test", Duration::from_micros(10), false);
        aws_wait("usage-test", Duration::from_micros(700));
        let u = FUNCTIONS.lock().unwrap()["usage-test"].clone();
        assert_eq!((u.invocations, u.errors), (2, 1));
        assert_eq!(u.billed_ms, 2 + 1, "each invocation rounded up to 1 ms");
        assert_eq!(u.duration_us, 1510);
        assert_eq!(u.aws_wait_us, 700);

        let before = WS_CLOSED_MINUTES.load(Ordering::Relaxed);
        let conn = ws_connected();
        assert!(snapshot()["webSocket"]["open"].as_u64().unwrap() >= 1);
        drop(conn);
        assert!(WS_CLOSED_MINUTES.load(Ordering::Relaxed) > before);
    }
}
