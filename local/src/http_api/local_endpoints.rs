//! The local-only `/_local/*` endpoints: tokens, fault injection (and the faulted DynamoDB
//! endpoint), chaos (and its DynamoDB and SQS endpoints), and the publisher's totals.

use axum::body::Body as AxumBody;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Gateway;
use crate::chaos::{ChaosConfig, proxied_fault};
use crate::faults::{FaultRule, PushFaultRule};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRequest {
    sub: String,
    ttl_seconds: Option<i64>,
}

pub(super) async fn token(State(gw): State<Gateway>, body: axum::body::Bytes) -> Response {
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
pub(super) async fn arm_fault(
    State(gw): State<Gateway>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
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
pub(super) async fn publisher_totals(State(gw): State<Gateway>) -> Response {
    axum::Json(gw.publisher.totals()).into_response()
}

pub(super) async fn fault_stats(State(gw): State<Gateway>, Path(rule): Path<u64>) -> Response {
    match gw.faults.injected(rule) {
        Some(n) => axum::Json(json!({"ruleId": rule, "injected": n})).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn disarm_fault(State(gw): State<Gateway>, Path(rule): Path<u64>) -> StatusCode {
    if gw.faults.disarm(rule) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

pub(super) async fn clear_faults(State(gw): State<Gateway>) -> StatusCode {
    gw.faults.clear();
    StatusCode::NO_CONTENT
}

/// The DynamoDB endpoint of a faulted invocation: fails the requests the rule matches, forwards
/// the others to moto unchanged.
pub(super) async fn ddb_proxy(
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

pub(super) async fn set_chaos(State(gw): State<Gateway>, body: axum::body::Bytes) -> Response {
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

pub(super) async fn chaos_report(State(gw): State<Gateway>) -> Response {
    axum::Json(gw.chaos.report()).into_response()
}

pub(super) async fn clear_chaos(State(gw): State<Gateway>) -> StatusCode {
    gw.chaos.clear();
    tracing::warn!(report = %gw.chaos.report(), "chaos off");
    StatusCode::NO_CONTENT
}

/// The DynamoDB (`ddb`) and SQS (`sqs`) endpoints of the handlers while chaos is on.
pub(super) async fn chaos_proxy(
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
