//! The WebSocket routes (EVENTS.md): `$connect`, `$disconnect`, `subscribe`, `unsubscribe`,
//! `ping`, `$default`. Answers are JSON values sent back to the asking connection.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::push::{Liveness, Push, PushError};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::dynamo_ws::CONNECTION_TTL_SECONDS;
use crate::store::{Connection, Subscribed, Topic};

/// `$connect`: records the connection of `owner` (the authorizer's `sub`). At the owner's limit,
/// connections that closed without a `$disconnect` (API Gateway runs it best-effort) would hold
/// their slots until their TTL: `liveness` (the Management API) is asked which of the owner's
/// others are gone, those are forgotten, and the connection is tried once more.
pub async fn connect(
    state: &AppState,
    liveness: Option<&dyn Liveness>,
    connection_id: &str,
    owner: &str,
    connected_at: DateTime<Utc>,
) -> Result<(), AppError> {
    if connection_id.is_empty() || owner.is_empty() {
        return Err(AppError::Unauthorized);
    }
    let connection = Connection {
        connection_id: connection_id.to_string(),
        owner_id: owner.to_string(),
        connected_at,
        expires_at: connected_at.timestamp() + CONNECTION_TTL_SECONDS,
        topics: Vec::new(),
    };
    let limit = state.settings.quotas.ws_connections;
    let record = || state.ws.connect(&connection, limit, Utc::now().timestamp());
    let mut recorded = record().await?;
    if !recorded
        && let Some(liveness) = liveness
        && forget_gone(state, liveness, owner, connection_id).await? > 0
    {
        recorded = record().await?;
    }
    if !recorded {
        return Err(AppError::QuotaExceeded {
            quota: "wsConnections",
            problem: format!("{limit} of {limit} connections open"),
            retry_after: None,
        });
    }
    tracing::info!(connectionId = %connection_id, ownerId = %owner, "connected");
    Ok(())
}

/// How long after its `$connect` a connection is left alone by the limit's check: until API
/// Gateway has completed its handshake, `GetConnection` answers 410 for it as for a closed one.
pub const CONNECT_SETTLE_SECONDS: i64 = 60;

/// Forgets `owner`'s connections (other than `except`, and those younger than
/// [`CONNECT_SETTLE_SECONDS`]) that `liveness` says are gone; returns how many. A connection
/// whose state cannot be told is kept (and logged).
async fn forget_gone(
    state: &AppState,
    liveness: &dyn Liveness,
    owner: &str,
    except: &str,
) -> Result<usize, AppError> {
    let settled_before = Utc::now() - chrono::Duration::seconds(CONNECT_SETTLE_SECONDS);
    let settled: Vec<String> = state
        .ws
        .owner_connections(owner)
        .await?
        .into_iter()
        .filter(|c| c.connection_id != except && c.connected_at <= settled_before)
        .map(|c| c.connection_id)
        .collect();
    let answers =
        futures_util::future::join_all(settled.iter().map(|id| liveness.is_gone(id))).await;
    let mut forgotten = 0;
    for (id, answer) in settled.iter().zip(answers) {
        match answer {
            Ok(true) => {
                state.ws.forget(id, &[]).await?;
                tracing::info!(connectionId = %id, ownerId = %owner, "gone without a $disconnect; forgotten");
                forgotten += 1;
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(connectionId = %id, error = %e, "could not tell whether the connection is gone; kept")
            }
        }
    }
    Ok(forgotten)
}

/// `$disconnect`: deletes the connection and its subscriptions.
pub async fn disconnect(state: &AppState, connection_id: &str) -> Result<(), AppError> {
    state.ws.forget(connection_id, &[]).await?;
    tracing::info!(connectionId = %connection_id, "disconnected");
    Ok(())
}

/// A client → server message, once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Subscribe(Target),
    Unsubscribe(Target),
    Ping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    All,
    Campaign(Uuid),
}

impl Target {
    fn as_json(self) -> Value {
        match self {
            Self::All => json!("*"),
            Self::Campaign(id) => json!(id),
        }
    }

    fn topic(self, owner: &str) -> Topic {
        match self {
            Self::All => Topic::Owner(owner.to_string()),
            Self::Campaign(id) => Topic::Campaign(id),
        }
    }
}

/// Parses a message body; `Err` is the `BAD_REQUEST` message.
pub fn parse_message(body: Option<&str>) -> Result<ClientMessage, String> {
    let value: Value = serde_json::from_str(body.unwrap_or_default())
        .map_err(|_| "the message must be a JSON object".to_string())?;
    let Some(obj) = value.as_object() else {
        return Err("the message must be a JSON object".into());
    };
    let target = || match obj.get("campaignId").and_then(Value::as_str) {
        Some("*") => Ok(Target::All),
        Some(id) => id
            .parse()
            .map(Target::Campaign)
            .map_err(|_| "campaignId must be a campaign id or \"*\"".to_string()),
        None => Err("campaignId is required".to_string()),
    };
    match obj.get("action").and_then(Value::as_str) {
        Some("subscribe") => Ok(ClientMessage::Subscribe(target()?)),
        Some("unsubscribe") => Ok(ClientMessage::Unsubscribe(target()?)),
        Some("ping") => Ok(ClientMessage::Ping),
        Some(other) => Err(format!(
            "unknown action {other:?}; use subscribe, unsubscribe or ping"
        )),
        None => Err("action is required".to_string()),
    }
}

fn error_answer(code: &str, message: impl Into<String>) -> Value {
    json!({"type": "error", "code": code, "message": message.into()})
}

/// Who sent a message.
#[derive(Debug, Clone)]
pub struct Sender<'a> {
    pub connection_id: &'a str,
    /// The authorizer's `sub`, passed by API Gateway with every message of the connection.
    pub owner: Option<&'a str>,
    pub connected_at: DateTime<Utc>,
}

/// Handles a `subscribe`/`unsubscribe`/`ping`/`$default` message and returns the answer to send
/// back (`subscribed`, `unsubscribed`, `pong` or `error`). Never fails: a dependency failure is
/// answered as an `UNAVAILABLE` error, the connection stays open.
pub async fn answer(state: &AppState, sender: &Sender<'_>, body: Option<&str>) -> Value {
    let message = match parse_message(body) {
        Ok(m) => m,
        Err(why) => return error_answer("BAD_REQUEST", why),
    };
    match handle(state, sender, message).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(connectionId = %sender.connection_id, error = %e, "message failed");
            error_answer(e.code(), e.public_message())
        }
    }
}

async fn handle(
    state: &AppState,
    sender: &Sender<'_>,
    message: ClientMessage,
) -> Result<Value, AppError> {
    if message == ClientMessage::Ping {
        return Ok(json!({"type": "pong"}));
    }
    let owner = match sender.owner.filter(|o| !o.is_empty()) {
        Some(o) => o.to_string(),
        None => state
            .ws
            .get_connection(sender.connection_id)
            .await?
            .map(|c| c.owner_id)
            .ok_or(AppError::Unauthorized)?,
    };
    let repo = &state.ws;
    match message {
        ClientMessage::Ping => Ok(json!({"type": "pong"})),
        ClientMessage::Unsubscribe(target) => {
            repo.unsubscribe(sender.connection_id, &target.topic(&owner))
                .await?;
            Ok(json!({"type": "unsubscribed", "campaignId": target.as_json()}))
        }
        ClientMessage::Subscribe(target) => {
            let topic = target.topic(&owner);
            let expires_at = sender.connected_at.timestamp() + CONNECTION_TTL_SECONDS;
            // Subscribe first, then read: every change committed after the status read is
            // published to this subscription, so the client misses nothing in between.
            let limit = state.settings.quotas.subscriptions;
            match repo
                .subscribe(sender.connection_id, &owner, &topic, expires_at, limit)
                .await?
            {
                Subscribed::Yes => {}
                Subscribed::NoConnection => {
                    tracing::warn!(connectionId = %sender.connection_id, "subscribe on a connection without a connection item");
                }
                Subscribed::AtLimit => {
                    return Err(AppError::QuotaExceeded {
                        quota: "subscriptions",
                        problem: format!("{limit} of {limit} subscriptions on this connection"),
                        retry_after: None,
                    });
                }
            }
            match target {
                Target::All => Ok(json!({"type": "subscribed", "campaignId": "*"})),
                Target::Campaign(id) => match state.campaigns.get(id).await? {
                    Some(c) if c.owner_id == owner => {
                        let ready = crate::service::readiness::readiness(state, &c).await?;
                        Ok(
                            json!({"type": "subscribed", "campaignId": id, "status": c.status_view(Some(&ready))}),
                        )
                    }
                    _ => {
                        repo.unsubscribe(sender.connection_id, &topic).await?;
                        Ok(error_answer("NOT_FOUND", "campaign not found"))
                    }
                },
            }
        }
    }
}

/// Sends an answer to the connection that asked; a connection that is already gone is fine.
pub async fn reply(push: &Push, connection_id: &str, answer: &Value) -> Result<(), AppError> {
    match push
        .send(connection_id, answer.to_string().as_bytes())
        .await
    {
        Ok(()) | Err(PushError::Gone) => Ok(()),
        Err(PushError::Rejected(why)) => {
            tracing::warn!(connectionId = %connection_id, %why, "answer refused");
            Ok(())
        }
        Err(PushError::Transient(e)) => Err(e),
    }
}

/// The parts of an API Gateway WebSocket event the routes need.
pub mod ws_event {
    use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
    use chrono::{DateTime, Utc};

    use super::Sender;

    pub fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> &str {
        event
            .request_context
            .connection_id
            .as_deref()
            .unwrap_or_default()
    }

    /// The authorizer context's `sub` (set by the `$connect` authorizer, passed with every route).
    pub fn owner(event: &ApiGatewayWebsocketProxyRequest) -> Option<&str> {
        event
            .request_context
            .authorizer
            .fields
            .get("sub")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    }

    pub fn connected_at(event: &ApiGatewayWebsocketProxyRequest) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(event.request_context.connected_at)
            .filter(|t| t.timestamp() > 0)
            .unwrap_or_else(Utc::now)
    }

    pub fn sender(event: &ApiGatewayWebsocketProxyRequest) -> Sender<'_> {
        Sender {
            connection_id: connection_id(event),
            owner: owner(event),
            connected_at: connected_at(event),
        }
    }

    /// The integration response: only its status matters (a non-2xx `$connect` refuses the
    /// connection).
    pub fn response(status: u16) -> ApiGatewayProxyResponse {
        let mut r = ApiGatewayProxyResponse::default();
        r.status_code = i64::from(status);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_or_explain() {
        let id = Uuid::new_v4();
        assert_eq!(
            parse_message(Some(&format!(
                r#"{{"action":"subscribe","campaignId":"{id}"}}"#
            ))),
            Ok(ClientMessage::Subscribe(Target::Campaign(id)))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"subscribe","campaignId":"*"}"#)),
            Ok(ClientMessage::Subscribe(Target::All))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"unsubscribe","campaignId":"*"}"#)),
            Ok(ClientMessage::Unsubscribe(Target::All))
        );
        assert_eq!(
            parse_message(Some(r#"{"action":"ping"}"#)),
            Ok(ClientMessage::Ping)
        );
        for bad in [
            None,
            Some(""),
            Some("nope"),
            Some("[1]"),
            Some(r#"{"campaignId":"*"}"#),
            Some(r#"{"action":"subscribe"}"#),
            Some(r#"{"action":"subscribe","campaignId":"not-a-uuid"}"#),
            Some(r#"{"action":"subscribe","campaignId":7}"#),
            Some(r#"{"action":"dance"}"#),
        ] {
            assert!(parse_message(bad).is_err(), "{bad:?}");
        }
    }

    /// The sample events in `events/` (also for `sam local invoke`) carry what the routes read.
    #[test]
    fn websocket_fixtures_carry_the_connection_and_the_authorizer_sub() {
        use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
        let fixture = |name: &str| -> ApiGatewayWebsocketProxyRequest {
            let path = format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"));
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
        };
        for name in [
            "ws-connect.json",
            "ws-message-subscribe.json",
            "ws-disconnect.json",
        ] {
            let e = fixture(name);
            let sender = ws_event::sender(&e);
            assert_eq!(sender.connection_id, "Vq3xYcE2IAMCJfA=", "{name}");
            assert_eq!(
                sender.owner,
                Some("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"),
                "{name}"
            );
            assert_eq!(
                sender.connected_at.timestamp_millis(),
                1_795_600_798_000,
                "{name}"
            );
        }
        let e = fixture("ws-message-subscribe.json");
        let id: Uuid = "3f2b8c1e-7a4d-4e2b-9c6f-1d2e3f4a5b6c".parse().unwrap();
        assert_eq!(
            parse_message(e.body.as_deref()),
            Ok(ClientMessage::Subscribe(Target::Campaign(id)))
        );
        assert_eq!(ws_event::response(200).status_code, 200);
    }

    #[test]
    fn topics_are_keyed_by_campaign_or_owner() {
        let id = Uuid::nil();
        assert_eq!(
            Target::Campaign(id).topic("u").key(),
            format!("campaign#{id}")
        );
        assert_eq!(Target::All.topic("u-1").key(), "owner#u-1");
    }
}
