//! The local WebSocket API: what API Gateway does in front of the `ws-*` Lambdas, on
//! `LOCAL_WS_PORT` (3001), beside its Management API (`management.rs`, same port).
//!
//! - `GET /?token=<JWT>` upgrades to a WebSocket. The token is checked during the handshake with
//!   the same [`auth::Jwt`] as the HTTP API (401 `{"message":"Unauthorized"}` otherwise; in AWS
//!   the `ws-authorizer` Lambda does this). The socket gets a connection id, then `$connect` →
//!   `ws-connect` (a non-2xx answer refuses the handshake with that status).
//! - Each text frame is routed by its `action` (`subscribe`, `unsubscribe`, `ping`, else
//!   `$default`) → `ws-message`, one frame at a time per connection.
//! - A close frame → `$disconnect` → `ws-disconnect`. A connection that drops without a close
//!   frame gets no `$disconnect` (API Gateway only delivers it best effort): its items stay until
//!   a push finds the connection gone (410) or their TTL. Set
//!   `LOCAL_WS_DISCONNECT_ON_DROP=true` to deliver it anyway.
//!
//! Every handler gets an `ApiGatewayWebsocketProxyRequest` shaped like API Gateway's.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use campaign_shared::AppState;
use campaign_shared::realtime::Push;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::auth::Jwt;
use crate::chaos::Chaos;
use crate::faults::Faults;
use crate::management::{self, Conn, Hub, MAX_MESSAGE, Management, Outbound};

/// API Gateway's limit per frame (per message: [`MAX_MESSAGE`]).
pub const MAX_FRAME: usize = 32 * 1024;

/// Everything the WebSocket side of the gateway needs.
#[derive(Clone)]
pub struct WsGateway {
    pub state: AppState,
    pub jwt: Jwt,
    pub push: Push,
    pub hub: Hub,
    pub domain: String,
    pub disconnect_on_drop: bool,
    pub chaos: Chaos,
    pub faults: Faults,
}

/// The WebSocket API and the Management API on one router.
pub fn router(ws: WsGateway) -> Router {
    management::router(Management {
        hub: ws.hub.clone(),
        chaos: ws.chaos.clone(),
        faults: ws.faults.clone(),
    })
    .merge(Router::new().fallback(upgrade).with_state(ws))
}

/// A connection id shaped like API Gateway's (`Vq3xYcE2IAMCJfA=`).
fn new_connection_id() -> String {
    loop {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let id = base64::engine::general_purpose::STANDARD.encode(&bytes[..11]);
        if !id.contains('/') {
            return id;
        }
    }
}

/// Who is on the other end of a connection (the parts of the event API Gateway fills in).
#[derive(Clone)]
struct Peer {
    connection_id: String,
    sub: String,
    connected_at: DateTime<Utc>,
    user_agent: String,
}

impl WsGateway {
    /// The `requestContext` of an event for this connection.
    fn context(&self, peer: &Peer, route_key: &str, event_type: &str) -> Value {
        let now = Utc::now();
        let request_id = new_connection_id();
        let mut ctx = json!({
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": request_id,
            "requestTime": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "messageDirection": "IN",
            "stage": "local",
            "connectedAt": peer.connected_at.timestamp_millis(),
            "requestTimeEpoch": now.timestamp_millis(),
            "identity": {"sourceIp": "127.0.0.1", "userAgent": peer.user_agent},
            "requestId": request_id,
            "domainName": self.domain,
            "connectionId": peer.connection_id,
            "apiId": "local",
            "authorizer": {"principalId": peer.sub, "sub": peer.sub, "integrationLatency": 0},
        });
        if event_type == "MESSAGE" {
            ctx["messageId"] = json!(new_connection_id());
        }
        ctx
    }

    fn event(value: Value) -> Result<LambdaEvent<ApiGatewayWebsocketProxyRequest>, String> {
        let request = serde_json::from_value(value)
            .map_err(|e| format!("could not build the WebSocket event: {e}"))?;
        Ok(LambdaEvent::new(request, Context::default()))
    }

    async fn on_connect(
        &self,
        peer: &Peer,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> u16 {
        let mut single = serde_json::Map::new();
        let mut multi = serde_json::Map::new();
        for (name, value) in headers {
            let v = String::from_utf8_lossy(value.as_bytes()).to_string();
            single.insert(name.to_string(), json!(v));
            if let Some(list) = multi
                .entry(name.to_string())
                .or_insert_with(|| json!([]))
                .as_array_mut()
            {
                list.push(json!(v));
            }
        }
        let multi_query: serde_json::Map<String, Value> =
            query.iter().map(|(k, v)| (k.clone(), json!([v]))).collect();
        let event = json!({
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": query,
            "multiValueQueryStringParameters": multi_query,
            "requestContext": self.context(peer, "$connect", "CONNECT"),
            "isBase64Encoded": false,
        });
        let result = match Self::event(event) {
            Ok(e) => crate::profile::invocation(
                "ws-connect",
                Vec::new,
                Result::is_ok,
                ws_connect::handler(&self.state, &self.push, e),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => u16::try_from(r.status_code).unwrap_or(500),
            Err(e) => {
                tracing::error!(error = %e, "$connect failed");
                500
            }
        }
    }

    async fn on_message(&self, peer: &Peer, body: String) {
        crate::usage::ws_message(true, body.len());
        let action = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v["action"].as_str().map(str::to_string));
        let route = match action.as_deref() {
            Some(a @ ("subscribe" | "unsubscribe" | "ping")) => a.to_string(),
            _ => "$default".to_string(),
        };
        let event = json!({
            "requestContext": self.context(peer, &route, "MESSAGE"),
            "body": body,
            "isBase64Encoded": false,
        });
        let result = match Self::event(event) {
            Ok(e) => crate::profile::invocation(
                "ws-message",
                Vec::new,
                Result::is_ok,
                ws_message::handler(&self.state, &self.push, e),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            // What API Gateway sends when the integration fails.
            tracing::error!(connectionId = %peer.connection_id, error = %e, "message route failed");
            let answer =
                json!({"message": "Internal server error", "connectionId": peer.connection_id});
            self.hub
                .send(&peer.connection_id, Bytes::from(answer.to_string()));
        }
    }

    async fn on_disconnect(&self, peer: &Peer, code: u16, reason: &str) {
        let mut ctx = self.context(peer, "$disconnect", "DISCONNECT");
        ctx["disconnectStatusCode"] = json!(code);
        ctx["disconnectReason"] = json!(reason);
        let event = json!({
            "headers": {"Host": self.domain},
            "multiValueHeaders": {"Host": [self.domain]},
            "requestContext": ctx,
            "isBase64Encoded": false,
        });
        let result = match Self::event(event) {
            Ok(e) => crate::profile::invocation(
                "ws-disconnect",
                Vec::new,
                Result::is_ok,
                ws_disconnect::handler(&self.state, e),
            )
            .await
            .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(_) => {
                tracing::info!(connectionId = %peer.connection_id, code, "websocket disconnected")
            }
            Err(e) => {
                tracing::error!(connectionId = %peer.connection_id, error = %e, "$disconnect failed")
            }
        }
    }
}

async fn upgrade(
    State(ws): State<WsGateway>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let claims = query
        .get("token")
        .and_then(|t| crate::usage::authorizer(|| ws.jwt.verify(t)));
    let Some(sub) = claims.and_then(|c| c.into_iter().find(|(k, _)| k == "sub").map(|(_, v)| v))
    else {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"message": "Unauthorized"})),
        )
            .into_response();
    };
    let now = Utc::now();
    let peer = Peer {
        connection_id: new_connection_id(),
        sub,
        connected_at: now,
        user_agent: headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
    };
    // Registered before `$connect` runs, so a push right after it is queued, not refused.
    let (tx, rx) = mpsc::unbounded_channel();
    ws.hub.insert(
        &peer.connection_id,
        Conn {
            tx,
            connected_at: now,
            last_active: now,
            source_ip: "127.0.0.1".into(),
            user_agent: peer.user_agent.clone(),
        },
    );
    let status = ws.on_connect(&peer, &headers, &query).await;
    if !(200..300).contains(&status) {
        ws.hub.remove(&peer.connection_id);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (
            status,
            axum::Json(json!({"message": status.canonical_reason().unwrap_or("Forbidden")})),
        )
            .into_response();
    }
    tracing::info!(connectionId = %peer.connection_id, sub = %peer.sub, "websocket connected");
    let failed = (ws.clone(), peer.clone());
    upgrade
        .max_message_size(MAX_MESSAGE)
        .max_frame_size(MAX_FRAME)
        .on_failed_upgrade(move |e| {
            let (ws, peer) = failed;
            tracing::warn!(connectionId = %peer.connection_id, error = %e, "upgrade failed");
            ws.hub.remove(&peer.connection_id);
            tokio::spawn(async move { ws.on_disconnect(&peer, 1006, "upgrade failed").await });
        })
        .on_upgrade(move |socket| run(ws, peer, socket, rx))
}

/// Serves one socket until it closes.
async fn run(
    ws: WsGateway,
    peer: Peer,
    socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) {
    let _connection = crate::usage::ws_connected();
    let (mut sink, mut stream) = socket.split();
    let writer = tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let message = match out {
                Outbound::Data(bytes) => match String::from_utf8(bytes.to_vec()) {
                    Ok(text) => Message::Text(text.into()),
                    Err(_) => Message::Binary(bytes),
                },
                Outbound::Close => {
                    let frame = CloseFrame {
                        code: close_code::NORMAL,
                        reason: "Connection closed by the server".into(),
                    };
                    let _ = sink.send(Message::Close(Some(frame))).await;
                    break;
                }
            };
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut closed: Option<(u16, String)> = None;
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => {
                ws.hub.touch(&peer.connection_id);
                ws.on_message(&peer, text.to_string()).await;
            }
            Ok(Message::Binary(bytes)) => {
                ws.hub.touch(&peer.connection_id);
                ws.on_message(&peer, String::from_utf8_lossy(&bytes).to_string())
                    .await;
            }
            Ok(Message::Close(frame)) => {
                closed = Some(frame.map_or((close_code::STATUS, String::new()), |f| {
                    (f.code, f.reason.to_string())
                }));
                break;
            }
            Ok(Message::Ping(_) | Message::Pong(_)) => ws.hub.touch(&peer.connection_id),
            Err(e) => {
                tracing::debug!(connectionId = %peer.connection_id, error = %e, "socket error");
                break;
            }
        }
    }
    ws.hub.remove(&peer.connection_id);
    writer.abort();
    match closed {
        Some((code, reason)) => ws.on_disconnect(&peer, code, &reason).await,
        None if ws.disconnect_on_drop => ws.on_disconnect(&peer, 1006, "Connection dropped").await,
        None => tracing::info!(
            connectionId = %peer.connection_id,
            "connection dropped without a close frame; $disconnect not delivered (best effort in API Gateway too)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_ids_look_like_api_gateways() {
        for _ in 0..100 {
            let id = new_connection_id();
            assert_eq!(id.len(), 16);
            assert!(id.ends_with('='));
            assert!(!id.contains('/'));
        }
    }
}
