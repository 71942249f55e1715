//! The WebSocket client of the tests (EVENTS.md): one socket of the local stack's WebSocket API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::*;

pub type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// `CAMPAIGN_WS_URL` with `?token=` (a `/` path is added when the URL has none).
pub fn ws_url_with_token(token: &str) -> String {
    let base = ws_url();
    let has_path = base
        .split_once("://")
        .is_some_and(|(_, rest)| rest.contains('/'));
    format!("{base}{}?token={token}", if has_path { "" } else { "/" })
}

/// Answers to client messages; everything else a socket receives is an event.
pub const WS_ANSWERS: &[&str] = &["subscribed", "unsubscribed", "pong", "error"];

/// One WebSocket client of the local stack.
pub struct Socket {
    pub ws: WsStream,
    /// Events read while waiting for an answer, handed out by [`Socket::events_until`].
    pub backlog: std::collections::VecDeque<Value>,
}

impl Socket {
    /// Connects with `?token=` (none when `None`); `Err(status)` when the handshake is refused.
    pub async fn open(token: Option<&str>) -> Result<Self, u16> {
        let url = match token {
            Some(t) => ws_url_with_token(t),
            None => ws_url(),
        };
        match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => Ok(Self {
                ws,
                backlog: Default::default(),
            }),
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("WebSocket connection to {} failed: {e}", ws_url()),
        }
    }

    /// Connects as `client`'s user (asserting the handshake succeeds).
    pub async fn connect(client: &Client) -> Self {
        Self::open(client.token.as_deref())
            .await
            .expect("WebSocket handshake")
    }

    pub async fn send(&mut self, message: &Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                message.to_string().into(),
            ))
            .await
            .expect("WebSocket send");
    }

    /// The next JSON message, or `None` after `timeout` (or when the socket closed).
    pub async fn next(&mut self, timeout: Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(t)) => {
                    return Some(serde_json::from_str(&t).expect("JSON message"));
                }
                Ok(Message::Binary(b)) => {
                    return Some(serde_json::from_slice(&b).expect("JSON message"));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Sends a client message and returns its answer (`subscribed`, `unsubscribed`, `pong`,
    /// `error`); events that arrive meanwhile are kept for [`Socket::events_until`].
    pub async fn request(&mut self, message: &Value) -> Value {
        self.send(message).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(m) = self.next(left).await else {
                panic!("no answer to {message} within 10 s");
            };
            if WS_ANSWERS.contains(&m["type"].as_str().unwrap_or_default()) {
                return m;
            }
            self.backlog.push_back(m);
        }
    }

    /// `subscribe` (`"*"` or a campaign id) and its answer.
    pub async fn subscribe(&mut self, campaign: &str) -> Value {
        self.request(&json!({"action": "subscribe", "campaignId": campaign}))
            .await
    }

    /// The events of `campaign`, in arrival order, up to and including the first for which
    /// `stop` holds; panics after `timeout` with what arrived.
    pub async fn events_until(
        &mut self,
        campaign: &str,
        timeout: Duration,
        stop: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let next = match self.backlog.pop_front() {
                Some(m) => Some(m),
                None => {
                    self.next(deadline.saturating_duration_since(Instant::now()))
                        .await
                }
            };
            let Some(m) = next else {
                let types: Vec<&Value> = out.iter().map(|e: &Value| &e["type"]).collect();
                panic!(
                    "campaign {campaign}: stop condition not reached within {timeout:?}; got {types:?}"
                );
            };
            if m["campaignId"] != campaign
                || WS_ANSWERS.contains(&m["type"].as_str().unwrap_or_default())
            {
                continue;
            }
            let done = stop(&m);
            out.push(m);
            if done {
                return out;
            }
        }
    }

    /// Every message that arrives within `window` (answers and events).
    pub async fn drain(&mut self, window: Duration) -> Vec<Value> {
        let mut out: Vec<Value> = self.backlog.drain(..).collect();
        let deadline = Instant::now() + window;
        while let Some(m) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            out.push(m);
        }
        out
    }

    /// A clean close (close frame), as a browser tab does.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
