//! The local API Gateway Management API (`POST`/`GET`/`DELETE /@connections/{id}`, on the
//! WebSocket API's port) over the open connections ([`Hub`]), with API Gateway's errors, so the
//! unchanged `aws-sdk-apigatewaymanagement` client sees exactly what it sees in AWS:
//! `410 GoneException` for an unknown or closed connection, `413 PayloadTooLargeException` over
//! 128 KB.
//!
//! Injected failures of `POST` (never in deployed code):
//! - chaos `pushFailure` (`/_local/chaos`): a share of every push answers 500;
//! - a connection fault rule (`POST /_local/faults {"connectionId", …}`, `faults.rs`): pushes to
//!   that one live connection answer `429 LimitExceededException` (what API Gateway answers when
//!   the client's buffer is full or it posts too fast) or a 500, until the rule is used up or
//!   disarmed. A closed connection is gone whatever a rule says.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::sync::mpsc;

use crate::chaos::Chaos;
use crate::faults::{Faults, PushFault};

/// API Gateway's limit per message.
pub const MAX_MESSAGE: usize = 128 * 1024;

/// What the socket's writer task sends next.
pub enum Outbound {
    Data(Bytes),
    Close,
}

/// One open connection, as the Management API sees it.
pub struct Conn {
    pub tx: mpsc::UnboundedSender<Outbound>,
    pub connected_at: DateTime<Utc>,
    pub last_active: DateTime<Utc>,
    pub source_ip: String,
    pub user_agent: String,
}

/// The open connections, by connection id.
#[derive(Clone, Default)]
pub struct Hub {
    conns: Arc<Mutex<HashMap<String, Conn>>>,
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Conn>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn insert(&self, id: &str, conn: Conn) {
        self.lock().insert(id.to_string(), conn);
    }

    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    fn contains(&self, id: &str) -> bool {
        self.lock().contains_key(id)
    }

    pub fn touch(&self, id: &str) {
        if let Some(c) = self.lock().get_mut(id) {
            c.last_active = Utc::now();
        }
    }

    /// Queues `data` for the socket; `false` when the connection is unknown or closed.
    pub fn send(&self, id: &str, data: Bytes) -> bool {
        let mut conns = self.lock();
        let Some(conn) = conns.get(id) else {
            return false;
        };
        if conn.tx.send(Outbound::Data(data)).is_err() {
            conns.remove(id);
            return false;
        }
        true
    }
}

/// The Management API's state: the live connections, and what injects push failures.
#[derive(Clone)]
pub struct Management {
    pub hub: Hub,
    pub chaos: Chaos,
    pub faults: Faults,
}

/// The Management API alone (`/@connections/{id}`).
pub fn router(management: Management) -> Router {
    Router::new()
        .route(
            "/@connections/{id}",
            post(post_to_connection)
                .get(get_connection)
                .delete(delete_connection),
        )
        .with_state(management)
}

fn aws_error(status: StatusCode, kind: &str, message: &str) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", kind)
        .header("x-amzn-requestid", uuid::Uuid::new_v4().to_string())
        .body(Body::from(json!({ "message": message }).to_string()))
        .unwrap_or_default()
}

fn gone(id: &str) -> Response {
    aws_error(
        StatusCode::GONE,
        "GoneException",
        &format!("connection {id} is gone"),
    )
}

fn internal(why: &str) -> Response {
    aws_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerErrorException",
        why,
    )
}

async fn post_to_connection(
    State(m): State<Management>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if m.chaos.strike(crate::chaos::Kind::PushFailure) {
        return internal("injected fault (chaos)");
    }
    if body.len() > MAX_MESSAGE {
        return aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLargeException",
            "the message is larger than 128 KB",
        );
    }
    if m.hub.contains(&id) {
        match m.faults.push_fault(&id) {
            Some(PushFault::LimitExceeded) => {
                return aws_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    "LimitExceededException",
                    "injected fault: limit exceeded",
                );
            }
            Some(PushFault::Internal) => return internal("injected fault"),
            None => {}
        }
    }
    let len = body.len();
    if m.hub.send(&id, body) {
        crate::usage::ws_message(false, len);
        StatusCode::OK.into_response()
    } else {
        gone(&id)
    }
}

async fn get_connection(State(m): State<Management>, Path(id): Path<String>) -> Response {
    let conns = m.hub.lock();
    let Some(c) = conns.get(&id) else {
        return gone(&id);
    };
    let at = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    axum::Json(json!({
        "connectedAt": at(&c.connected_at),
        "lastActiveAt": at(&c.last_active),
        "identity": {"sourceIp": c.source_ip, "userAgent": c.user_agent},
    }))
    .into_response()
}

async fn delete_connection(State(m): State<Management>, Path(id): Path<String>) -> Response {
    let tx = m.hub.lock().get(&id).map(|c| c.tx.clone());
    match tx {
        Some(tx) if tx.send(Outbound::Close).is_ok() => StatusCode::NO_CONTENT.into_response(),
        _ => {
            m.hub.remove(&id);
            gone(&id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::{Credentials, Region, SharedCredentialsProvider};
    use campaign_shared::AppError;
    use campaign_shared::realtime::{Push, PushError};

    fn sdk() -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }

    async fn serve(hub: Hub, faults: Faults) -> String {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let m = Management {
            hub,
            chaos: Chaos::default(),
            faults,
        };
        tokio::spawn(async move { axum::serve(listener, router(m)).await });
        url
    }

    fn conn(tx: mpsc::UnboundedSender<Outbound>) -> Conn {
        let now = Utc::now();
        Conn {
            tx,
            connected_at: now,
            last_active: now,
            source_ip: "127.0.0.1".into(),
            user_agent: "test".into(),
        }
    }

    /// The unchanged SDK client maps the local 410 to `GoneException`, as it does in AWS.
    #[tokio::test]
    async fn management_api_speaks_api_gateways_errors() {
        let hub = Hub::default();
        let push = Push::new(&sdk(), Some(&serve(hub.clone(), Faults::default()).await));

        assert!(matches!(
            push.send("Vq3xYcE2IAMCJfA=", b"{}").await,
            Err(PushError::Gone)
        ));

        let id = "a+b=c=";
        let (tx, mut rx) = mpsc::unbounded_channel();
        hub.insert(id, conn(tx));
        push.send(id, br#"{"type":"pong"}"#).await.unwrap();
        match rx.recv().await {
            Some(Outbound::Data(bytes)) => assert_eq!(&bytes[..], br#"{"type":"pong"}"#),
            _ => panic!("the message was not queued for the socket"),
        }
        let got = push
            .client()
            .get_connection()
            .connection_id(id)
            .send()
            .await
            .unwrap();
        assert!(got.connected_at().is_some());
        assert_eq!(
            got.identity().and_then(|i| i.source_ip()),
            Some("127.0.0.1")
        );

        let big = vec![b'x'; MAX_MESSAGE + 1];
        assert!(matches!(
            push.send(id, &big).await,
            Err(PushError::Rejected(_))
        ));

        push.client()
            .delete_connection()
            .connection_id(id)
            .send()
            .await
            .unwrap();
        assert!(matches!(rx.recv().await, Some(Outbound::Close)));
        drop(rx);
        assert!(
            matches!(push.send(id, b"{}").await, Err(PushError::Gone)),
            "a closed socket is gone"
        );
        let err = push
            .client()
            .get_connection()
            .connection_id(id)
            .send()
            .await
            .unwrap_err();
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_gone_exception())
        );
    }

    /// A connection fault rule fails pushes to that connection only, as a transient failure the
    /// SDK reports as `LimitExceededException`; the rule's count is readable; a closed
    /// connection is gone whatever the rule says.
    #[tokio::test]
    async fn a_connection_rule_fails_only_its_connection() {
        let (hub, faults) = (Hub::default(), Faults::default());
        let push = Push::new(&sdk(), Some(&serve(hub.clone(), faults.clone()).await));
        let (bad, good) = ("bad+conn=", "good+conn=");
        let (tx_bad, rx_bad) = mpsc::unbounded_channel();
        let (tx_good, mut rx_good) = mpsc::unbounded_channel();
        hub.insert(bad, conn(tx_bad));
        hub.insert(good, conn(tx_good));
        let rule = faults
            .arm_push(serde_json::from_value(json!({"connectionId": bad})).expect("a push rule"));

        // What the SDK reports: `LimitExceededException`, a throttle (retried by the SDK too).
        match push.send(bad, b"{}").await {
            Err(PushError::Transient(AppError::Throttled(kind))) => {
                assert_eq!(kind, "LimitExceededException")
            }
            other => panic!("expected a throttle, got {other:?}"),
        }
        assert!(matches!(
            push.send(bad, b"{}").await,
            Err(PushError::Transient(_))
        ));
        push.send(good, b"{}").await.unwrap();
        assert!(matches!(rx_good.recv().await, Some(Outbound::Data(_))));
        // The SDK's own retries (throttling) count too: at least the two calls' first attempts.
        let injected = faults.injected(rule).expect("the rule is known");
        assert!(injected >= 2, "{injected}");

        // The socket closes (the WebSocket side removes it from the hub).
        assert!(hub.remove(bad));
        drop(rx_bad);
        assert!(matches!(push.send(bad, b"{}").await, Err(PushError::Gone)));
        assert!(faults.disarm(rule));
        assert_eq!(
            faults.injected(rule),
            Some(injected),
            "a gone push is not an injected one"
        );
    }
}
