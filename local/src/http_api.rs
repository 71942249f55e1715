//! The local HTTP API: what API Gateway's HTTP API does in front of the `api` Lambda — CORS,
//! the JWT authorizer, and the payload-v2 event with the claims in the request context — then a
//! direct call of the very same handler function. Plus the local-only `/_local/*` endpoints.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use base64::Engine;
use campaign_shared::AppError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Gateway;
use crate::auth::bearer;
use crate::chaos::{ChaosConfig, proxied_fault};
use crate::faults::{FaultRule, PushFaultRule};

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    sub: String,
    ttl_seconds: Option<i64>,
}

async fn token(State(gw): State<Gateway>, body: axum::body::Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<TokenRequest>(&body) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"code": "BAD_REQUEST", "message": "body must be {\"sub\": \"…\"}"}}))).into_response();
    };
    if req.sub.is_empty() || req.sub.len() > 128 {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": {"code": "BAD_REQUEST", "message": "sub must be 1 to 128 characters"}}))).into_response();
    }
    match gw.jwt.mint(&req.sub, req.ttl_seconds.unwrap_or(3600)) {
        Ok((token, exp)) => {
            let expires = chrono::DateTime::from_timestamp(exp, 0)
                .map(|t| t.to_rfc3339())
                .unwrap_or_default();
            axum::Json(json!({"token": token, "expiresAt": expires})).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// An invocation rule (`function` + `campaignId`) or a connection rule (`connectionId`): see
/// `faults.rs`.
async fn arm_fault(State(gw): State<Gateway>, axum::Json(body): axum::Json<Value>) -> Response {
    let id = if body.get("connectionId").is_some() {
        serde_json::from_value::<PushFaultRule>(body).map(|r| gw.faults.arm_push(r))
    } else {
        serde_json::from_value::<FaultRule>(body).map(|r| gw.faults.arm(r))
    };
    match id {
        Ok(id) => (StatusCode::CREATED, axum::Json(json!({"ruleId": id}))).into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"error": {"code": "VALIDATION_ERROR", "message": e.to_string()}})),
        )
            .into_response(),
    }
}

/// What the stream publisher's fan-outs did since the gateway started (`Publisher::totals`).
async fn publisher_totals(State(gw): State<Gateway>) -> Response {
    axum::Json(gw.publisher.totals()).into_response()
}

async fn fault_stats(State(gw): State<Gateway>, Path(rule): Path<u64>) -> Response {
    match gw.faults.injected(rule) {
        Some(n) => axum::Json(json!({"ruleId": rule, "injected": n})).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn disarm_fault(State(gw): State<Gateway>, Path(rule): Path<u64>) -> StatusCode {
    if gw.faults.disarm(rule) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn clear_faults(State(gw): State<Gateway>) -> StatusCode {
    gw.faults.clear();
    StatusCode::NO_CONTENT
}

/// The DynamoDB endpoint of a faulted invocation: fails the requests the rule matches, forwards
/// the others to moto unchanged.
async fn ddb_proxy(
    State(gw): State<Gateway>,
    Path(rule): Path<u64>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let target = amz_target(&headers);
    if let Some((status, error)) = gw.faults.error_for(rule, &target, &body) {
        tracing::info!(%target, status, "injected DynamoDB fault");
        return aws_json_error(status, error);
    }
    forward_to_moto(&gw, &headers, body).await
}

/// The operation an AWS JSON-protocol request calls (`X-Amz-Target`, e.g. `AmazonSQS.SendMessage`).
fn amz_target(headers: &HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn aws_json_error(status: u16, body: impl Into<AxumBody>) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(body.into())
        .unwrap_or_default()
}

/// Sends an AWS JSON-protocol request on to moto unchanged and relays the answer.
async fn forward_to_moto(gw: &Gateway, headers: &HeaderMap, body: axum::body::Bytes) -> Response {
    let mut forward = gw
        .http
        .post(gw.moto_endpoint_for(&amz_target(headers)))
        .body(body);
    for (name, value) in headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    match forward.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let content_type = r.headers().get("content-type").cloned();
            let bytes = r.bytes().await.unwrap_or_default();
            let mut out = Response::builder().status(status);
            if let Some(ct) = content_type {
                out = out.header("content-type", ct.as_bytes());
            }
            out.body(AxumBody::from(bytes)).unwrap_or_default()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

async fn set_chaos(State(gw): State<Gateway>, body: axum::body::Bytes) -> Response {
    let config: ChaosConfig = match serde_json::from_slice(&body) {
        Ok(c) => c,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"error": {"code": "BAD_REQUEST", "message": e.to_string()}})),
            )
                .into_response();
        }
    };
    if let Some(field) = config.invalid() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": {"code": "BAD_REQUEST", "message": "probabilities are 0 to 1", "field": field}})),
        )
            .into_response();
    }
    gw.chaos.set(config);
    tracing::warn!(?config, "chaos on");
    axum::Json(gw.chaos.report()).into_response()
}

async fn chaos_report(State(gw): State<Gateway>) -> Response {
    axum::Json(gw.chaos.report()).into_response()
}

async fn clear_chaos(State(gw): State<Gateway>) -> StatusCode {
    gw.chaos.clear();
    tracing::warn!(report = %gw.chaos.report(), "chaos off");
    StatusCode::NO_CONTENT
}

/// The DynamoDB (`ddb`) and SQS (`sqs`) endpoints of the handlers while chaos is on.
async fn chaos_proxy(
    State(gw): State<Gateway>,
    Path(service): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Some((status, error)) = proxied_fault(&gw.chaos, &service, &amz_target(&headers)) {
        return aws_json_error(status, error);
    }
    forward_to_moto(&gw, &headers, body).await
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

/// Builds the API Gateway HTTP API (payload format 2.0) event for a request.
pub fn apigw_event(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    claims: Option<&[(String, String)]>,
) -> Value {
    let path = uri.path();
    let raw_query = uri.query().unwrap_or_default();
    let mut header_map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_string();
        header_map
            .entry(name.as_str().to_string())
            .and_modify(|e| *e = format!("{e},{v}"))
            .or_insert(v);
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(uri) {
        for (k, v) in pairs {
            query
                .entry(k)
                .and_modify(|e| *e = format!("{e},{v}"))
                .or_insert(v);
        }
    }
    let is_health = path == "/health";
    let route_key = if is_health {
        "GET /health".to_string()
    } else {
        "ANY /{proxy+}".to_string()
    };
    let now = chrono::Utc::now();
    let (body_text, is_base64) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": header_map.get("host").cloned().unwrap_or_else(|| "127.0.0.1".into()),
        "domainPrefix": "local",
        "http": {
            "method": method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": header_map.get("user-agent").cloned().unwrap_or_default(),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    });
    if let Some(claims) = claims {
        let claims: serde_json::Map<String, Value> = claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": header_map,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !is_health {
        event["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
    }
    if !body.is_empty() {
        event["body"] = Value::String(body_text);
    }
    event
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
