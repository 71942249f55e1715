//! Helpers for the integration tests: they talk to the running local stack
//! (`scripts/stack.sh start`) over HTTP and WebSocket, exactly like a client would.

pub mod backend;
pub mod dns;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub fn api_url() -> String {
    std::env::var("CAMPAIGN_API_URL").unwrap_or_else(|_| "http://127.0.0.1:3000".into())
}

pub fn ws_url() -> String {
    std::env::var("CAMPAIGN_WS_URL").unwrap_or_else(|_| "ws://127.0.0.1:3001".into())
}

pub const LOCAL_SECRET: &str = "local-dev-secret";

/// A fresh user id, so tests never see each other's data.
pub fn new_user() -> String {
    format!("user-{}", uuid::Uuid::new_v4())
}

/// A token from the local stack's dev endpoint.
pub async fn token_for(sub: &str) -> String {
    let res = reqwest::Client::new()
        .post(format!("{}/_local/token", api_url()))
        .json(&json!({"sub": sub}))
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the local stack is not running at {} ({e}); start it with scripts/stack.sh start",
                api_url()
            )
        });
    let body: Value = res.json().await.expect("token JSON");
    body["token"].as_str().expect("token").to_string()
}

/// A signed token with arbitrary claims (for forged/expired token tests).
pub fn sign(claims: &Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self
    }
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.body);
        self
    }
}

/// An API client for one user.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub token: Option<String>,
    pub user: String,
}

impl Client {
    pub async fn new_user() -> Self {
        let user = new_user();
        let token = token_for(&user).await;
        Self {
            http: reqwest::Client::new(),
            token: Some(token),
            user,
        }
    }

    pub fn anonymous() -> Self {
        Self {
            http: reqwest::Client::new(),
            token: None,
            user: String::new(),
        }
    }

    pub fn with_token(token: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            token: Some(token.to_string()),
            user: String::new(),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", api_url()));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::reply(req).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", api_url()))
            .body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req).await
    }

    async fn reply(req: reqwest::RequestBuilder) -> Reply {
        let res = req.send().await.expect("request to the local stack");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Every item of a cursor-paged listing (`path` may already have a query string).
    pub async fn all_pages(&self, path: &str) -> Vec<Value> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(cur) => format!("{path}{sep}cursor={cur}"),
                None => path.to_string(),
            };
            let page = self.get(&url).await.expect(200).body;
            all.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(n) => cursor = Some(n.to_string()),
                None => return all,
            }
        }
        panic!("the listing {path} did not end");
    }

    /// Every domain of a campaign, in order.
    pub async fn all_domains(&self, id: &str) -> Vec<String> {
        self.all_pages(&format!("/campaigns/{id}/domains?limit=1000"))
            .await
            .into_iter()
            .map(|d| d.as_str().expect("plain domain").to_string())
            .collect()
    }

    /// Creates a campaign and returns its body (asserting 201).
    pub async fn create_campaign(&self, body: &Value) -> Value {
        self.post("/campaigns", body).await.expect(201).body
    }

    /// Polls `GET /campaigns/{id}/status` until `pred` holds (or panics after `timeout`).
    pub async fn wait_status(
        &self,
        id: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let status = self
                .get(&format!("/campaigns/{id}/status"))
                .await
                .expect(200)
                .body;
            if pred(&status) {
                return status;
            }
            if start.elapsed() > timeout {
                panic!("condition not reached within {timeout:?}; last status: {status}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A valid discovery config producing `n` domains.
pub fn discovery(n: u64) -> Value {
    json!({
        "patternType": "prefix",
        "constantString": "shop",
        "variableLength": 3,
        "characterSet": "abcdefghijklmnopqrstuvwxyz0123456789",
        "tlds": [".com", ".net"],
        "numDomains": n
    })
}

/// The domains discovery generates for [`discovery`]`(n)` (prefix "shop", three characters of
/// a–z0–9, .com and .net alternating), computed independently of the server's generator.
pub fn generated_domains(n: usize) -> Vec<String> {
    let chars: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
    (0..n)
        .map(|i| {
            let (mut v, tld) = (i / 2, if i % 2 == 0 { ".com" } else { ".net" });
            let mut label = ['a'; 3];
            for slot in (0..3).rev() {
                label[slot] = chars[v % 36];
                v /= 36;
            }
            format!("{}shop{tld}", label.iter().collect::<String>())
        })
        .collect()
}

pub fn campaign_body(mode: &str, n: u64) -> Value {
    json!({"name": "Shoes Q4", "mode": mode, "config": {"discovery": discovery(n)}})
}

/// Field-level status of phase `name` in a status or campaign body.
pub fn phase<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["phase"] == name))
        .unwrap_or(&Value::Null)
}

/// Arms a fault in the local stack (see local/src/faults.rs); returns the rule id.
pub async fn arm_fault(rule: &Value) -> u64 {
    let res = reqwest::Client::new()
        .post(format!("{}/_local/faults", api_url()))
        .json(rule)
        .send()
        .await
        .expect("arm fault");
    assert_eq!(res.status().as_u16(), 201, "arming a fault");
    let body: Value = res.json().await.expect("fault JSON");
    body["ruleId"].as_u64().expect("ruleId")
}

/// Disarms a fault rule (its counts stay readable).
pub async fn disarm_fault(rule: u64) {
    let res = reqwest::Client::new()
        .delete(format!("{}/_local/faults/{rule}", api_url()))
        .send()
        .await
        .expect("disarm fault");
    assert_eq!(res.status().as_u16(), 204, "disarming fault {rule}");
}

/// How many requests a fault rule has failed so far.
pub async fn fault_injected(rule: u64) -> u64 {
    let res = reqwest::Client::new()
        .get(format!("{}/_local/faults/{rule}", api_url()))
        .send()
        .await
        .expect("fault stats");
    let body: Value = res.json().await.expect("fault stats JSON");
    body["injected"].as_u64().expect("injected")
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// WebSocket (EVENTS.md) and direct reads of the connection tables
// ---------------------------------------------------------------------------------------------

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

/// Calls moto's DynamoDB JSON API directly (tests check what the handlers stored).
pub async fn dynamodb(operation: &str, body: &Value) -> Value {
    moto_json("DynamoDB_20120810", operation, body).await
}

/// Calls moto's DynamoDB Streams JSON API directly.
pub async fn dynamodb_streams(operation: &str, body: &Value) -> Value {
    moto_json("DynamoDBStreams_20120810", operation, body).await
}

/// One JSON-protocol call to moto (`X-Amz-Target: <service>.<operation>`), as the SDK sends it.
async fn moto_json(service: &str, operation: &str, body: &Value) -> Value {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    let res = reqwest::Client::new()
        .post(endpoint)
        .header("x-amz-target", format!("{service}.{operation}"))
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{service}.{operation} request to moto: {e}"));
    let text = res.text().await.unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{service}.{operation}: {text}"))
}

/// The connection ids subscribed to a topic (`campaign#<id>` or `owner#<sub>`).
pub async fn subscribed_connections(topic: &str) -> Vec<String> {
    let table = std::env::var("SUBSCRIPTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-subscriptions".into());
    let out = dynamodb(
        "Query",
        &json!({
            "TableName": table,
            "KeyConditionExpression": "topic = :t",
            "ExpressionAttributeValues": {":t": {"S": topic}},
            "ConsistentRead": true
        }),
    )
    .await;
    let mut ids: Vec<String> = out["Items"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|i| i["connectionId"]["S"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// Whether the connections table has an item for `connection_id`.
pub async fn connection_stored(connection_id: &str) -> bool {
    let table = std::env::var("CONNECTIONS_TABLE")
        .unwrap_or_else(|_| "campaign-autostart-connections".into());
    let out = dynamodb(
        "GetItem",
        &json!({"TableName": table, "Key": {"connectionId": {"S": connection_id}}, "ConsistentRead": true}),
    )
    .await;
    out.get("Item").is_some_and(|i| !i.is_null())
}
