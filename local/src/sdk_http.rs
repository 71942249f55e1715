//! The HTTP client under every AWS SDK client of the gateway (the handlers' DynamoDB and SQS,
//! the pollers', the Management API's): the SDK's default client, observed.
//!
//! - Each successful DynamoDB write that names a table with a stream bumps [`StreamWrites`],
//!   so the stream pollers read the new records at once instead of polling on a timer (every
//!   writer of those tables in the local stack is a handler hosted here; anything else — a
//!   developer's own CLI call — is still seen by the pollers' idle poll).
//! - While the latency profile is on ([`crate::profile`]), each request is recorded as an `aws`
//!   span: operation, table, status and the invocation or poller that made it.
//! - Every successful write (DynamoDB, or an SQS send) and every request moto rejected with 400
//!   are told to [`Activity`] (the sweeper's pace, the resource watchdog).
//! - Chaos `apiCrashAfterWrite` strikes here, after such a write of an API invocation succeeded:
//!   the answer never reaches the function ([`crate::chaos::CrashSwitch`]).
//! - For the cost model ([`crate::usage`], `scripts/moto_meter.py`): each request says who made it
//!   in an `x-local-caller` header — `fn:<function>` inside an invocation, `esm:<function>` from
//!   an event-source mapping's poller, `gateway` otherwise — and an invocation's requests add
//!   their time to its function's AWS wait.
//!
//! Invariants: requests and responses pass through unchanged but for that one unsigned header;
//! what is inspected is the `X-Amz-Target` header and the in-memory JSON body (the SDK's requests
//! to these services are never streamed).

use std::fmt;
use std::sync::Arc;

use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::watch;

use crate::activity::Activity;
use crate::chaos::CrashSwitch;
use crate::profile;

/// Counts the successful writes to the tables with a stream; stream pollers wait on it.
#[derive(Clone, Debug)]
pub struct StreamWrites {
    tables: Arc<[String]>,
    tx: Arc<watch::Sender<u64>>,
}

impl StreamWrites {
    pub fn new(tables: Vec<String>) -> Self {
        Self {
            tables: tables.into(),
            tx: Arc::new(watch::channel(0).0),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.tx.subscribe()
    }

    fn bump(&self) {
        self.tx.send_modify(|n| *n += 1);
    }

    /// Whether a request body names one of the tables (as a JSON string).
    fn names_watched_table(&self, body: &[u8]) -> bool {
        self.tables.iter().any(|t| {
            let quoted = format!("\"{t}\"");
            body.windows(quoted.len()).any(|w| w == quoted.as_bytes())
        })
    }
}

const SQS_SENDS: &[&str] = &["SendMessage", "SendMessageBatch"];

const DDB_WRITES: &[&str] = &[
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// `("DynamoDB", "PutItem")` from `X-Amz-Target: DynamoDB_20120810.PutItem`; the Management
/// API (REST, no target) is `("ApiGatewayManagement", "PostToConnection")` and the like.
fn operation(request: &HttpRequest) -> (&'static str, String) {
    if let Some(target) = request.headers().get("x-amz-target") {
        let (service, op) = target.split_once('.').unwrap_or((target, ""));
        let service = match service {
            s if s.starts_with("DynamoDBStreams") => "Streams",
            s if s.starts_with("DynamoDB") => "DynamoDB",
            "AmazonSQS" => "SQS",
            _ => "other",
        };
        return (service, op.to_string());
    }
    let op = match request.method() {
        "POST" => "PostToConnection",
        "GET" => "GetConnection",
        "DELETE" => "DeleteConnection",
        other => other,
    };
    ("ApiGatewayManagement", op.to_string())
}

/// The `TableName` a JSON request names (the first one).
fn table_name(body: &[u8]) -> Option<String> {
    let key = b"\"TableName\":\"";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let end = body[at..].iter().position(|b| *b == b'"')?;
    Some(String::from_utf8_lossy(&body[at..at + end]).into_owned())
}

#[derive(Clone, Debug)]
pub struct ObservedClient {
    inner: SharedHttpClient,
    writes: StreamWrites,
    activity: Activity,
}

impl ObservedClient {
    /// The SDK's default HTTPS client (hyper 1, rustls with aws-lc), observed.
    pub fn new(writes: StreamWrites, activity: Activity) -> Self {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::AwsLc,
            ))
            .build_https();
        Self {
            inner,
            writes,
            activity,
        }
    }
}

impl HttpClient for ObservedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(ObservedConnector {
            inner: self.inner.http_connector(settings, components),
            writes: self.writes.clone(),
            activity: self.activity.clone(),
        })
    }
}

struct ObservedConnector {
    inner: SharedHttpConnector,
    writes: StreamWrites,
    activity: Activity,
}

impl fmt::Debug for ObservedConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ObservedConnector")
    }
}

/// The `x-local-caller` value for the running task (see the module docs).
fn caller(ctx: Option<&profile::Ctx>) -> String {
    match ctx {
        Some(c) if c.invocation.is_some() => format!("fn:{}", c.function),
        Some(c) => format!("esm:{}", c.function),
        None => "gateway".to_string(),
    }
}

impl HttpConnector for ObservedConnector {
    fn call(&self, mut request: HttpRequest) -> HttpConnectorFuture {
        let ctx = profile::current();
        // Function names are ASCII (crate directory names): a valid header value.
        request
            .headers_mut()
            .insert("x-local-caller", caller(ctx.as_ref()));
        let waiting = ctx
            .filter(|c| c.invocation.is_some())
            .map(|c| (c.function, std::time::Instant::now()));
        let (service, op) = operation(&request);
        let body = request.body().bytes().unwrap_or_default();
        let ddb_write = service == "DynamoDB" && DDB_WRITES.contains(&op.as_str());
        let write = ddb_write || (service == "SQS" && SQS_SENDS.contains(&op.as_str()));
        let watched_write = ddb_write && self.writes.names_watched_table(body);
        let span = profile::on().then(|| {
            let mut span = profile::Span::new("aws", format!("{service}.{op}"), profile::now_us());
            span.table = table_name(body);
            if let Some(ctx) = profile::current() {
                span.function = Some(ctx.function.to_string());
                span.invocation = ctx.invocation;
            }
            span
        });
        let writes = self.writes.clone();
        let activity = self.activity.clone();
        let crash = watched_write.then(CrashSwitch::current).flatten();
        let response = self.inner.call(request);
        HttpConnectorFuture::new(async move {
            let result = response.await;
            if let Some((function, since)) = waiting {
                crate::usage::aws_wait(&function, since.elapsed());
            }
            let status = result.as_ref().ok().map(|r| r.status());
            match status.map(|s| s.as_u16()) {
                Some(200..=299) if write => activity.wrote(),
                Some(400) => activity.rejected(),
                _ => {}
            }
            if watched_write && status.is_some_and(|s| s.is_success()) {
                writes.bump();
                if crash.is_some_and(|c| c.strike_after_write()) {
                    std::future::pending::<()>().await;
                }
            }
            if let Some(mut span) = span {
                span.dur_us = profile::now_us() - span.start_us;
                span.status = status.map(|s| s.as_u16());
                profile::record(span);
            }
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_table_and_watched_writes() {
        let body = br#"{"TableName":"campaign-autostart-campaigns","Item":{}}"#;
        assert_eq!(
            table_name(body).as_deref(),
            Some("campaign-autostart-campaigns")
        );
        let writes = StreamWrites::new(vec!["campaign-autostart-campaigns".into()]);
        assert!(writes.names_watched_table(body));
        assert!(!writes.names_watched_table(br#"{"TableName":"campaign-autostart-campaigns-x"}"#));
        let mut rx = writes.subscribe();
        writes.bump();
        assert!(rx.has_changed().unwrap());
        assert_eq!(*rx.borrow_and_update(), 1);
    }
}
