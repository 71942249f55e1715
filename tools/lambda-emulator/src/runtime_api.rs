//! The Lambda Runtime API, emulated on 127.0.0.1 for one invocation of one bootstrap process.
//!
//! [`Emulator::start`] binds a fresh port; [`Emulator::invoke`] starts the bootstrap the way
//! Lambda does (a clean environment with `AWS_LAMBDA_RUNTIME_API` and the `AWS_LAMBDA_*`
//! variables), hands it the event on its first `GET …/invocation/next`, and returns what it
//! answered. Invariants:
//!
//! - one process, one event: the process is killed once it answered (or exited, or timed out),
//!   so every invocation is a cold start and nothing leaks from one invocation into the next;
//! - a second `/next` is held until the emulator stops (a frozen sandbox, as far as the runtime
//!   can tell);
//! - only the answer to the request id that was handed out counts.
//!
//! The same server also plays the two other HTTP services a function may call besides AWS:
//! the API Gateway Management API (`POST /ws-management/@connections/{id}`, recorded, answered
//! 200) and an OpenID issuer (`/issuer/.well-known/openid-configuration`, `/issuer/jwks.json`).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::watch;

const API: &str = "/2018-06-01/runtime";
const ACCOUNT: &str = "123456789012";

/// What the function answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST …/invocation/{id}/response` with a JSON body.
    Response(Value),
    /// A `/response` whose body is not JSON.
    NotJson(String),
    /// `POST …/invocation/{id}/error` (`errorType`, `errorMessage`).
    Error { kind: String, message: String },
    /// `POST …/init/error`: the init phase failed.
    InitError { kind: String, message: String },
    /// The process exited (with this code) before answering.
    Exited(Option<i32>),
    /// No answer within the time-out.
    TimedOut,
}

/// One management API call: `PostToConnection` to `connection_id` with `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    pub connection_id: String,
    pub data: Vec<u8>,
}

impl Push {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.data)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.data).into_owned()))
    }
}

/// The result of one invocation.
#[derive(Debug)]
pub struct Invocation {
    pub outcome: Outcome,
    /// Process spawn → first `/next` (Lambda's "Init Duration"), if it got that far.
    pub init: Option<Duration>,
    /// Process spawn → the answer (or the end of waiting).
    pub total: Duration,
    pub pushes: Vec<Push>,
    /// The process's stdout and stderr.
    pub logs: String,
}

impl Invocation {
    /// The response JSON, or an error that says what came instead (with the logs).
    pub fn response(&self) -> Result<&Value, String> {
        match &self.outcome {
            Outcome::Response(v) => Ok(v),
            other => Err(format!(
                "expected a JSON response, got {other:?}\n--- function output ---\n{}",
                self.logs
            )),
        }
    }
}

struct Shared {
    function_name: String,
    request_id: String,
    deadline: Duration,
    event: Mutex<Vec<u8>>,
    nexts: Mutex<u32>,
    first_next: Mutex<Option<Instant>>,
    outcome: Mutex<Option<Outcome>>,
    pushes: Mutex<Vec<Push>>,
    base_url: String,
    jwks: Value,
    stopping: watch::Receiver<bool>,
}

/// A Runtime API server for one invocation.
pub struct Emulator {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Binds 127.0.0.1 on a free port; `jwks` is served as the issuer's key set.
    pub async fn start(
        function_name: &str,
        jwks: Value,
        deadline: Duration,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (stop, stopping) = watch::channel(false);
        let shared = Arc::new(Shared {
            function_name: function_name.to_string(),
            request_id: uuid::Uuid::new_v4().to_string(),
            deadline,
            event: Mutex::new(Vec::new()),
            nexts: Mutex::new(0),
            first_next: Mutex::new(None),
            outcome: Mutex::new(None),
            pushes: Mutex::new(Vec::new()),
            base_url,
            jwks,
            stopping,
        });
        let app = Router::new()
            .route(&format!("{API}/invocation/next"), get(next))
            .route(&format!("{API}/invocation/{{id}}/response"), post(response))
            .route(&format!("{API}/invocation/{{id}}/error"), post(error))
            .route(&format!("{API}/init/error"), post(init_error))
            .route("/ws-management/@connections/{id}", post(push))
            .route("/issuer/.well-known/openid-configuration", get(discovery))
            .route("/issuer/jwks.json", get(jwks_set))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            shared,
            stop,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> &str {
        self.shared.base_url.trim_start_matches("http://")
    }

    /// The management API endpoint to give a function as `WS_MANAGEMENT_ENDPOINT`.
    pub fn ws_management_endpoint(&self) -> String {
        format!("{}/ws-management", self.shared.base_url)
    }

    /// An issuer URL whose discovery document points at the JWKS given to [`Emulator::start`].
    pub fn issuer(&self) -> String {
        format!("{}/issuer", self.shared.base_url)
    }

    /// Runs `bootstrap` with exactly `env` plus the Lambda variables and hands it `event`, until
    /// it answered, exited or `timeout` passed; then kills it and stops the emulator.
    pub async fn invoke(
        self,
        bootstrap: &Path,
        event: &Value,
        env: &BTreeMap<String, String>,
        timeout: Duration,
    ) -> Invocation {
        *self.shared.event.lock().expect("lock") =
            serde_json::to_vec(event).expect("a JSON value serializes");
        let name = &self.shared.function_name;
        let started = Instant::now();
        let spawned = Command::new(bootstrap)
            .env_clear()
            .envs(lambda_env(name, self.runtime_api()))
            .envs(env)
            .current_dir(bootstrap.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                return self.finish(
                    Outcome::Exited(None),
                    started,
                    format!("could not start {}: {e}", bootstrap.display()),
                );
            }
        };
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let outcome = loop {
            if let Some(o) = self.shared.outcome.lock().expect("lock").clone() {
                break o;
            }
            match child.try_wait() {
                Ok(Some(status)) => {
                    // It may have answered just before exiting.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    break self
                        .shared
                        .outcome
                        .lock()
                        .expect("lock")
                        .clone()
                        .unwrap_or(Outcome::Exited(status.code()));
                }
                Ok(None) if started.elapsed() > timeout => break Outcome::TimedOut,
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        let logs = [out, err]
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("");
        self.finish(outcome, started, logs)
    }

    fn finish(self, outcome: Outcome, started: Instant, logs: String) -> Invocation {
        let total = started.elapsed();
        let _ = self.stop.send(true);
        self.server.abort();
        let init = self
            .shared
            .first_next
            .lock()
            .expect("lock")
            .map(|t| t.saturating_duration_since(started));
        Invocation {
            outcome,
            init,
            total,
            pushes: std::mem::take(&mut *self.shared.pushes.lock().expect("lock")),
            logs,
        }
    }
}

/// What Lambda sets for a `provided.al2023` function (the handler's own variables come on top).
fn lambda_env(name: &str, runtime_api: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", name),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{name}")),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]bootstrap-test",
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023"),
        ("_HANDLER", "bootstrap"),
        ("LANG", "C.UTF-8"),
        ("TZ", ":UTC"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}

fn answer(shared: &Shared, outcome: Outcome) -> Response {
    let mut slot = shared.outcome.lock().expect("lock");
    if slot.is_none() {
        *slot = Some(outcome);
    }
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    let first = {
        let mut n = shared.nexts.lock().expect("lock");
        *n += 1;
        *n == 1
    };
    if !first {
        let mut stopping = shared.stopping.clone();
        let _ = stopping.wait_for(|s| *s).await;
        return StatusCode::GONE.into_response();
    }
    *shared.first_next.lock().expect("lock") = Some(Instant::now());
    let now = chrono::Utc::now();
    let deadline = now.timestamp_millis() + shared.deadline.as_millis() as i64;
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        now.timestamp(),
        &uuid::Uuid::new_v4().simple().to_string()[..24],
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    );
    let arn = format!(
        "arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}",
        shared.function_name
    );
    let mut headers = HeaderMap::new();
    let mut set = |k: &'static str, v: String| {
        headers.insert(k, v.parse().expect("a valid header value"));
    };
    set("content-type", "application/json".into());
    set("lambda-runtime-aws-request-id", shared.request_id.clone());
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set("lambda-runtime-invoked-function-arn", arn);
    set("lambda-runtime-trace-id", trace);
    let event = shared.event.lock().expect("lock").clone();
    (StatusCode::OK, headers, event).into_response()
}

async fn response(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> Response {
    if id != shared.request_id {
        return (StatusCode::BAD_REQUEST, "unknown request id").into_response();
    }
    let outcome = match serde_json::from_slice(&body) {
        Ok(v) => Outcome::Response(v),
        Err(_) => Outcome::NotJson(String::from_utf8_lossy(&body).into_owned()),
    };
    answer(&shared, outcome)
}

fn error_parts(body: &[u8], headers: &HeaderMap) -> (String, String) {
    let doc: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let kind = doc["errorType"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            headers
                .get("lambda-runtime-function-error-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let message = doc["errorMessage"].as_str().unwrap_or_default().to_string();
    (kind, message)
}

async fn error(
    State(shared): State<Arc<Shared>>,
    UrlPath(id): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if id != shared.request_id {
        return (StatusCode::BAD_REQUEST, "unknown request id").into_response();
    }
    let (kind, message) = error_parts(&body, &headers);
    answer(&shared, Outcome::Error { kind, message })
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (kind, message) = error_parts(&body, &headers);
    answer(&shared, Outcome::InitError { kind, message })
}

async fn push(
    State(shared): State<Arc<Shared>>,
    UrlPath(connection_id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    shared.pushes.lock().expect("lock").push(Push {
        connection_id,
        data: body.to_vec(),
    });
    StatusCode::OK
}

async fn discovery(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(json!({
        "issuer": format!("{}/issuer", shared.base_url),
        "jwks_uri": format!("{}/issuer/jwks.json", shared.base_url),
    }))
}

async fn jwks_set(State(shared): State<Arc<Shared>>) -> axum::Json<Value> {
    axum::Json(shared.jwks.clone())
}
