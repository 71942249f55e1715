//! The local HTTP API: what API Gateway's HTTP API does in front of the `api` Lambda — CORS,
//! the JWT authorizer, and the payload-v2 event with the claims in the request context — then a
//! direct call of the very same handler function. Plus the local-only `/_local/*` endpoints.

use axum::Router;
use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use campaign_shared::AppError;
use serde_json::json;

use crate::Gateway;
use crate::auth::bearer;

mod event;
mod local_endpoints;

pub use event::apigw_event;
use local_endpoints::{
    arm_fault, chaos_proxy, chaos_report, clear_chaos, clear_faults, ddb_proxy, disarm_fault,
    fault_stats, publisher_totals, set_chaos, token,
};

/// API Gateway's own payload limit; the handler enforces the contract's 64 KiB.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

pub fn router(gw: Gateway) -> Router {
    Router::new()
        .route("/_local/token", post(token))
        .route("/_local/faults", post(arm_fault).delete(clear_faults))
        .route(
            "/_local/faults/{rule}",
            axum::routing::get(fault_stats).delete(disarm_fault),
        )
        // The SDK posts to the endpoint's path plus "/".
        .route("/_local/ddb/{rule}", any(ddb_proxy))
        .route("/_local/ddb/{rule}/", any(ddb_proxy))
        .route(
            "/_local/chaos",
            post(set_chaos).get(chaos_report).delete(clear_chaos),
        )
        .route("/_local/publisher", axum::routing::get(publisher_totals))
        .route(
            "/_local/sweeper",
            axum::routing::get(crate::schedule::status),
        )
        .route("/_local/chaos/{service}", any(chaos_proxy))
        .route("/_local/chaos/{service}/", any(chaos_proxy))
        .fallback(api)
        .layer(axum::middleware::map_response(cors))
        .layer(axum::middleware::from_fn(preflight))
        .with_state(gw)
}

/// CORS preflight for every path, as API Gateway answers it when CORS is configured (the
/// handlers never see an `OPTIONS`).
async fn preflight(req: Request, next: axum::middleware::Next) -> Response {
    if req.method() == Method::OPTIONS {
        return cors(StatusCode::NO_CONTENT.into_response()).await;
    }
    next.run(req).await
}

async fn cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "authorization,content-type,idempotency-key,if-match,if-none-match,x-correlation-id",
        ),
    );
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET,POST,PUT,PATCH,DELETE,OPTIONS"),
    );
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("etag,x-correlation-id,location,retry-after"),
    );
    response
}

fn to_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(t) => t.into_bytes(),
        lambda_http::Body::Binary(b) => b,
        _ => Vec::new(),
    };
    let mut out = Response::new(AxumBody::from(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

async fn api(State(gw): State<Gateway>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    if parts.method == Method::OPTIONS {
        return StatusCode::NO_CONTENT.into_response();
    }
    let Ok(body) = to_bytes(body, GATEWAY_MAX_BODY).await else {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(json!({"message": "Request Entity Too Large"})),
        )
            .into_response();
    };
    let claims = if parts.uri.path() == "/health" {
        None
    } else {
        match bearer(&parts.headers).and_then(|t| gw.jwt.verify(t)) {
            Some(c) => Some(c),
            None => {
                let correlation = campaign_shared::api::http::correlation_id(&parts.headers);
                let mut r = to_axum(campaign_shared::api::http::error_response(
                    &AppError::Unauthorized,
                    &correlation,
                ));
                if let Ok(v) = HeaderValue::from_str(&correlation) {
                    r.headers_mut()
                        .insert(campaign_shared::api::http::CORRELATION_HEADER, v);
                }
                return r;
            }
        }
    };
    let event = apigw_event(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &body,
        claims.as_deref(),
    );
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("could not build the API Gateway event: {e}"),
            )
                .into_response();
        }
    };
    let state = gw.handler_state();
    let invocation = api::handler(&state, request);
    let Some(result) = gw.chaos.api_invocation(invocation).await else {
        tracing::warn!(path = %parts.uri.path(), "chaos: the api function died after a write");
        return (
            StatusCode::BAD_GATEWAY,
            axum::Json(json!({"message": "Internal server error"})),
        )
            .into_response();
    };
    match result {
        Ok(response) => to_axum(response),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"message": e.to_string()})),
        )
            .into_response(),
    }
}
