//! Helpers for the integration tests: they talk to the running local stack
//! (`scripts/stack.sh start`) over HTTP and WebSocket, exactly like a client would.

pub mod backend;
pub mod dns;
mod moto;
mod socket;

pub use moto::*;
pub use socket::*;

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
