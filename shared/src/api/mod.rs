//! The HTTP API over `lambda_http` types: one function, [`handle`], that the `api` Lambda and the
//! local gateway both call with the request API Gateway builds (claims in the request context).
//! Routing is a `match` on path segments (DECISIONS.md #1); each resource's routes are in their
//! own module, the HTTP plumbing in [`http`].

pub mod campaigns;
pub mod http;
pub mod openapi;
pub mod resources;

use ::http::header::{HeaderName, HeaderValue};
use ::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use tracing::Instrument;

use self::http::{
    CORRELATION_HEADER, MAX_BODY_BYTES, body_bytes, caller_sub, correlation_id, empty,
    error_response, json_response, method_not_allowed,
};
use crate::error::AppError;
use crate::service::Caller;
use crate::state::AppState;

pub use self::http::parse_json;

/// Handles one HTTP API request. Never fails: every error becomes its status and error body.
pub async fn handle(state: &AppState, req: Request) -> Response<Body> {
    let correlation = correlation_id(req.headers());
    let span = tracing::info_span!("request", correlationId = %correlation, method = %req.method(), path = %req.uri().path());
    async {
        let started = std::time::Instant::now();
        let mut response = match route(state, &req, &correlation).await {
            Ok(r) => r,
            Err(e) => {
                if e.status() >= 500 {
                    tracing::error!(error = %e, "request failed");
                }
                error_response(&e, &correlation)
            }
        };
        if let Ok(v) = HeaderValue::from_str(&correlation) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(CORRELATION_HEADER), v);
        }
        tracing::info!(
            status = response.status().as_u16(),
            latencyMs = started.elapsed().as_millis() as u64,
            "request"
        );
        response
    }
    .instrument(span)
    .await
}

async fn route(
    state: &AppState,
    req: &Request,
    correlation: &str,
) -> Result<Response<Body>, AppError> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let method = req.method().clone();
    if method == Method::OPTIONS {
        // CORS preflight (API Gateway answers it when CORS is configured; this is the fallback).
        return Ok(empty(StatusCode::NO_CONTENT));
    }
    if segments == ["health"] {
        return match method {
            Method::GET => Ok(json_response(200, &json!({"status": "ok"}))),
            _ => Err(method_not_allowed("GET")),
        };
    }
    if !matches!(
        segments.first(),
        Some(&"campaigns" | &"personas" | &"proxies")
    ) {
        return Err(AppError::NotFound("route"));
    }
    let caller = Caller {
        owner: caller_sub(req).ok_or(AppError::Unauthorized)?,
        correlation_id: correlation.to_string(),
    };
    if body_bytes(req).len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    match segments.first() {
        Some(&"campaigns") => campaigns::route(state, req, &caller, &segments[1..], &method).await,
        _ => resources::route(state, req, &caller, &segments, &method).await,
    }
}
