//! The local stack's latency profile (read by `bench --bin latency-profile`): timed spans of
//! what one create → `phase_auto_started` goes through, recorded only while switched on.
//!
//! - `POST /_local/profile` switches recording on (and forgets earlier spans), `GET` returns
//!   the spans recorded so far, `DELETE` switches it off and forgets them.
//! - Span kinds: `http` (an API request, from the gateway's receipt to its answer, with the
//!   created campaign's id), `invoke` (one handler invocation with the campaigns of its batch),
//!   `aws` (one SDK request — every DynamoDB, Streams, SQS and Management API call, timed around
//!   the wire by [`crate::sdk_http`] — tagged with the invocation or poller it was made in),
//!   `sqs-receive` and `stream-records` (a poller's receive or `GetRecords` that returned
//!   something, with the campaigns it returned).
//! - Times are wall-clock microseconds since the Unix epoch, so the client's own timestamps on
//!   this machine line up with them.
//!
//! Invariants: recording off costs one atomic load per SDK request and invocation; the store
//! is bounded ([`MAX_SPANS`], oldest dropped first); the invocation context travels in a task
//! local, so a span is attributed to the invocation whose future made the call.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Spans kept at most (a profile run of 100 campaigns records about 10,000).
pub const MAX_SPANS: usize = 200_000;

static ON: AtomicBool = AtomicBool::new(false);
static NEXT_INVOCATION: AtomicU64 = AtomicU64::new(1);
static SPANS: Mutex<VecDeque<Span>> = Mutex::new(VecDeque::new());

tokio::task_local! {
    static CONTEXT: Ctx;
}

/// Who is making SDK calls: a poller (`invocation` none) or one invocation of a function.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub function: Arc<str>,
    pub invocation: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    pub kind: &'static str,
    /// Operation (`DynamoDB.PutItem`), function name, or `METHOD /path`.
    pub name: String,
    pub start_us: i64,
    pub dur_us: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invocation: Option<u64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub campaigns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Messages or records a poller call returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
}

impl Span {
    pub fn new(kind: &'static str, name: impl Into<String>, start_us: i64) -> Self {
        Self {
            kind,
            name: name.into(),
            start_us,
            dur_us: now_us() - start_us,
            function: None,
            invocation: None,
            campaigns: Vec::new(),
            table: None,
            status: None,
            count: None,
        }
    }
}

pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

/// The context of the running task, if any.
pub fn current() -> Option<Ctx> {
    CONTEXT.try_with(Ctx::clone).ok()
}

pub fn record(span: Span) {
    if !on() {
        return;
    }
    let mut spans = SPANS.lock().unwrap_or_else(|e| e.into_inner());
    if spans.len() >= MAX_SPANS {
        spans.pop_front();
    }
    spans.push_back(span);
}

/// Runs a poller loop with its function as context (its own SDK calls are tagged with it).
pub async fn poller<F: Future>(function: &str, f: F) -> F::Output {
    let ctx = Ctx {
        function: Arc::from(function),
        invocation: None,
    };
    CONTEXT.scope(ctx, f).await
}

/// Runs one invocation of `function` for `campaigns` in its own context and, while recording,
/// records its span (`ok`: whether it returned without a function error or time-out).
pub async fn invocation<T, F: Future<Output = T>>(
    function: &str,
    campaigns: impl FnOnce() -> Vec<String>,
    ok: impl FnOnce(&T) -> bool,
    f: F,
) -> T {
    let id = NEXT_INVOCATION.fetch_add(1, Ordering::Relaxed);
    let ctx = Ctx {
        function: Arc::from(function),
        invocation: Some(id),
    };
    let start = now_us();
    let took = std::time::Instant::now();
    let out = CONTEXT.scope(ctx, f).await;
    let ok = ok(&out);
    crate::usage::invoked(function, took.elapsed(), ok);
    if on() {
        let mut span = Span::new("invoke", function, start);
        span.function = Some(function.to_string());
        span.invocation = Some(id);
        span.campaigns = campaigns();
        span.status = Some(if ok { 200 } else { 500 });
        record(span);
    }
    out
}

/// A poller's receive or `GetRecords` that returned `count` items of `campaigns`.
pub fn delivered(kind: &'static str, function: &str, start_us: i64, campaigns: Vec<String>) {
    if !on() {
        return;
    }
    let mut span = Span::new(kind, function, start_us);
    span.function = Some(function.to_string());
    span.count = Some(campaigns.len());
    span.campaigns = campaigns;
    record(span);
}

/// Middleware around the HTTP API: each request (except `/_local/*`) is an `api` invocation (its
/// SDK calls are tagged with it, and it is counted in [`crate::usage`]); while recording, a JSON
/// answer with an `id` (a create) names the campaign.
pub async fn http_layer(req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_local") {
        return next.run(req).await;
    }
    let name = format!("{} {}", req.method(), req.uri().path());
    let request_bytes = body_len(req.headers());
    let start = now_us();
    let took = std::time::Instant::now();
    let id = NEXT_INVOCATION.fetch_add(1, Ordering::Relaxed);
    let ctx = Ctx {
        function: Arc::from("api"),
        invocation: Some(id),
    };
    let response = CONTEXT.scope(ctx, next.run(req)).await;
    crate::usage::invoked("api", took.elapsed(), response.status().as_u16() < 500);
    let answer_bytes = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .unwrap_or_else(|| body_len(response.headers()));
    crate::usage::http_request(request_bytes, answer_bytes);
    if !on() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut span = Span::new("http", name, start);
    span.function = Some("api".into());
    span.invocation = Some(id);
    span.status = Some(parts.status.as_u16());
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        && let Some(campaign) = v["id"].as_str()
    {
        span.campaigns = vec![campaign.to_string()];
    }
    record(span);
    Response::from_parts(parts, Body::from(bytes))
}

fn body_len(headers: &axum::http::HeaderMap) -> u64 {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0)
}

async fn start() -> StatusCode {
    SPANS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    ON.store(true, Ordering::Relaxed);
    StatusCode::NO_CONTENT
}

async fn stop() -> StatusCode {
    ON.store(false, Ordering::Relaxed);
    SPANS.lock().unwrap_or_else(|e| e.into_inner()).clear();
    StatusCode::NO_CONTENT
}

async fn spans() -> Response {
    let spans: Vec<Span> = SPANS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect();
    axum::Json(serde_json::json!({"on": on(), "spans": spans})).into_response()
}

/// `/_local/profile` (merged into the HTTP API's router).
pub fn router() -> Router {
    Router::new().route(
        "/_local/profile",
        axum::routing::post(start).get(spans).delete(stop),
    )
}
