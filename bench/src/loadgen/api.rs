//! A non-panicking HTTP client of the local stack: every failure (transport, timeout, status)
//! is a value the wizards count and retry, never a panic (unlike the integration-test helpers).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::backoff;

/// One answer of the API.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// A short description of an outcome for error lists.
pub fn describe(r: &Result<Resp, String>) -> String {
    match r {
        Ok(r) if r.body.is_null() => format!("HTTP {}", r.status),
        Ok(r) if !r.code().is_empty() => format!("HTTP {} {}", r.status, r.code()),
        Ok(r) => {
            let mut s = format!("HTTP {} {}", r.status, r.body);
            s.truncate(200);
            s
        }
        Err(e) => e.clone(),
    }
}

/// Whether a request is worth retrying as is: throttled, a 5xx, the first request with the same
/// idempotency key still running, or no answer at all.
pub fn retryable(r: &Result<Resp, String>) -> bool {
    match r {
        Err(_) => true,
        Ok(r) => {
            r.status == 429
                || r.status >= 500
                || (r.status == 409 && r.code() == "IDEMPOTENCY_IN_PROGRESS")
        }
    }
}

/// The retry reason of an outcome, for the counters (`429`, `5xx`, `409`, `transport`).
pub fn retry_reason(r: &Result<Resp, String>) -> &'static str {
    match r {
        Err(_) => "transport",
        Ok(r) if r.status == 429 => "429",
        Ok(r) if r.status >= 500 => "5xx",
        Ok(_) => "409",
    }
}

/// The HTTP client every wizard shares (a connection pool to the gateway).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("HTTP client")
}

/// One user of the API.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Arc<str>,
    pub user: String,
}

impl Api {
    /// A fresh user with a token from `POST /_local/token`, retried until `deadline`.
    pub async fn new_user(http: &reqwest::Client, deadline: Instant) -> Result<Self, String> {
        let base = integration_tests::api_url();
        let user = integration_tests::new_user();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = http
                .post(format!("{base}/_local/token"))
                .json(&json!({"sub": user}))
                .send()
                .await;
            let last = match res {
                Ok(r) if r.status().is_success() => {
                    let body: Value = r.json().await.map_err(|e| format!("token JSON: {e}"))?;
                    let token = body["token"].as_str().ok_or("no token in the answer")?;
                    return Ok(Self {
                        http: http.clone(),
                        base,
                        token: token.into(),
                        user,
                    });
                }
                Ok(r) => format!("HTTP {}", r.status()),
                Err(e) => e.to_string(),
            };
            let pause = backoff(attempt);
            if Instant::now() + pause >= deadline {
                return Err(format!("no token after {attempt} attempts: {last}"));
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// One request; `Err` when there is no HTTP answer (transport error or the 20 s timeout).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&*self.token);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| {
            if e.is_timeout() {
                "transport: timed out".to_string()
            } else {
                format!("transport: {e}")
            }
        })?;
        let status = res.status().as_u16();
        let text = res
            .text()
            .await
            .map_err(|e| format!("transport (body): {e}"))?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Resp { status, body })
    }

    pub async fn get(&self, path: &str) -> Result<Resp, String> {
        self.call(Method::GET, path, None, &[]).await
    }

    /// A request retried while [`retryable`] and before `until`; returns the last outcome, the
    /// retry reasons, and how long the last attempt took.
    pub async fn call_retrying(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
        until: Instant,
    ) -> Retried {
        let mut reasons = Vec::new();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let outcome = self.call(method.clone(), path, body, headers).await;
            let last_ms = super::ms(started.elapsed());
            if !retryable(&outcome) {
                return Retried {
                    outcome,
                    reasons,
                    last_ms,
                    gave_up: false,
                };
            }
            let pause = backoff(attempt);
            if Instant::now() + pause >= until {
                return Retried {
                    outcome,
                    reasons,
                    last_ms,
                    gave_up: true,
                };
            }
            reasons.push(retry_reason(&outcome));
            tokio::time::sleep(pause).await;
        }
    }

    /// Every domain of a campaign (`GET …/domains?limit=1000`, all pages), each page retried.
    pub async fn all_domains(&self, id: &str, until: Instant) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let path = match &cursor {
                Some(c) => format!("/campaigns/{id}/domains?limit=1000&cursor={c}"),
                None => format!("/campaigns/{id}/domains?limit=1000"),
            };
            let r = self
                .call_retrying(Method::GET, &path, None, &[], until)
                .await
                .outcome;
            let page = match &r {
                Ok(p) if p.status == 200 => &p.body,
                _ => return Err(format!("domains page: {}", describe(&r))),
            };
            for d in page["items"]
                .as_array()
                .ok_or("domains page without items")?
            {
                out.push(
                    d.as_str()
                        .ok_or("a domain that is not a string")?
                        .to_string(),
                );
            }
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(out),
            }
        }
        Err("the domain listing did not end".into())
    }

    /// Every campaign of this user as `(name, id)` (`GET /campaigns?limit=100`, all pages).
    pub async fn all_campaigns(&self, until: Instant) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let path = match &cursor {
                Some(c) => format!("/campaigns?limit=100&cursor={c}"),
                None => "/campaigns?limit=100".to_string(),
            };
            let r = self
                .call_retrying(Method::GET, &path, None, &[], until)
                .await
                .outcome;
            let page = match &r {
                Ok(p) if p.status == 200 => &p.body,
                _ => return Err(format!("campaigns page: {}", describe(&r))),
            };
            for c in page["items"]
                .as_array()
                .ok_or("campaigns page without items")?
            {
                let field = |k: &str| {
                    c[k].as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("a listed campaign without {k}"))
                };
                out.push((field("name")?, field("id")?));
            }
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return Ok(out),
            }
        }
        Err("the campaign listing did not end".into())
    }
}

/// What [`Api::call_retrying`] ended with.
#[derive(Debug)]
pub struct Retried {
    pub outcome: Result<Resp, String>,
    pub reasons: Vec<&'static str>,
    pub last_ms: f64,
    pub gave_up: bool,
}

/// The local gateway's chaos switch (`/_local/chaos`, no auth).
pub struct ChaosSwitch {
    http: reqwest::Client,
    url: String,
}

impl ChaosSwitch {
    pub fn new(http: &reqwest::Client) -> Self {
        Self {
            http: http.clone(),
            url: format!("{}/_local/chaos", integration_tests::api_url()),
        }
    }

    fn missing(&self) -> String {
        format!(
            "{} answered 404: this gateway has no fault injection (`/_local/chaos`); build and \
             restart the stack with a local-gateway that has it (scripts/stack.sh stop && start)",
            self.url
        )
    }

    pub async fn arm(&self, config: &Value) -> Result<(), String> {
        let r = self
            .http
            .post(&self.url)
            .json(config)
            .send()
            .await
            .map_err(|e| format!("POST {}: {e}", self.url))?;
        match r.status().as_u16() {
            200 | 201 | 204 => Ok(()),
            404 => Err(self.missing()),
            s => Err(format!(
                "POST {} {config}: HTTP {s} {}",
                self.url,
                r.text().await.unwrap_or_default()
            )),
        }
    }

    pub async fn disarm(&self) -> Result<(), String> {
        let r = self
            .http
            .delete(&self.url)
            .send()
            .await
            .map_err(|e| format!("DELETE {}: {e}", self.url))?;
        match r.status().as_u16() {
            200 | 204 => Ok(()),
            404 => Err(self.missing()),
            s => Err(format!("DELETE {}: HTTP {s}", self.url)),
        }
    }

    /// `{"config", "injected"}`; `Ok(None)` when the route does not exist.
    pub async fn report(&self) -> Result<Option<Value>, String> {
        let r = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| format!("GET {}: {e}", self.url))?;
        match r.status().as_u16() {
            200 => Ok(Some(
                r.json()
                    .await
                    .map_err(|e| format!("GET {}: {e}", self.url))?,
            )),
            404 => Ok(None),
            s => Err(format!("GET {}: HTTP {s}", self.url)),
        }
    }
}
