//! The local stack's gateway: hosts the Lambda handlers in-process against moto.
//!
//! - HTTP API on `LOCAL_HTTP_PORT` (3000): API Gateway HTTP API + JWT authorizer → `api`.
//! - WebSocket API + its Management API on `LOCAL_WS_PORT` (3001) → `ws-*` (see `ws.rs`,
//!   `management.rs`).
//! - Event-source pollers: SQS queues → their functions, the campaigns stream → its consumers
//!   (`pollers.rs`, `streams.rs`), stream batches that exhaust their retries → the on-failure
//!   queue (`on_failure.rs`).
//!   Which handler each mapping invokes: `handlers.rs`.
//! - The sweeper on a schedule whose pace follows the stack's own writes (`schedule.rs`,
//!   `activity.rs`; `GET /_local/sweeper`).
//! - On start, creates the tables and queues of `infra/resources.json` on moto, and again when
//!   moto lost them (`resources.rs`).
//! - `/_local/profile`: the latency profile (`profile.rs`), timed by the SDK clients' observed
//!   HTTP client (`sdk_http.rs`), which also wakes the stream pollers after each table write.
//! - `/_local/usage`: what the stack was asked, in AWS's billing units (`usage.rs`).
//!
//! Endpoints come from the SDK's standard variables — `AWS_ENDPOINT_URL`, or one per service
//! (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`, `AWS_ENDPOINT_URL_SQS`: the
//! local stack runs DynamoDB + Streams and SQS in two moto processes); nothing in the handlers
//! knows it runs locally.

mod activity;
mod auth;
mod chaos;
mod faults;
mod handlers;
mod http_api;
mod management;
mod on_failure;
mod pollers;
mod profile;
mod resources;
mod schedule;
mod sdk_http;
mod streams;
mod usage;
mod ws;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use campaign_shared::realtime::Publisher;
use campaign_shared::realtime::Push;
use campaign_shared::store::aws::Aws;
use campaign_shared::{AppState, Settings};

use crate::pollers::SqsMapping;
use crate::streams::StreamConsumer;

#[derive(Clone)]
pub struct Gateway {
    pub state: AppState,
    /// The stream publisher (shared by the `stream-publisher` consumer and the sweeper).
    pub publisher: Arc<Publisher>,
    /// The gateway's own clients (not the handlers').
    pub aws: Arc<Aws>,
    pub sdk: aws_config::SdkConfig,
    pub jwt: auth::Jwt,
    pub faults: faults::Faults,
    pub chaos: chaos::Chaos,
    /// The handlers' clients while chaos is on: DynamoDB and SQS through `/_local/chaos/*`.
    pub chaos_state: AppState,
    pub http: reqwest::Client,
    /// moto's DynamoDB (and Streams) endpoint, and its SQS endpoint (the same unless moto runs
    /// one process per service).
    pub moto_endpoint: String,
    pub moto_sqs_endpoint: String,
    pub self_url: String,
    /// What the stack's own SDK traffic shows (the sweeper's pace, the resource watchdog).
    pub activity: activity::Activity,
    pub sweep_pace: schedule::Pace,
}

impl Gateway {
    /// moto's endpoint for an AWS JSON request with this `X-Amz-Target`.
    pub fn moto_endpoint_for(&self, target: &str) -> &str {
        if target.starts_with("AmazonSQS.") {
            &self.moto_sqs_endpoint
        } else {
            &self.moto_endpoint
        }
    }

    /// The state a handler invocation gets: the normal clients, or the chaos proxies' while
    /// chaos with DynamoDB or SQS faults is on.
    pub fn handler_state(&self) -> AppState {
        if self.chaos.proxies_clients() {
            self.chaos_state.clone()
        } else {
            self.state.clone()
        }
    }

    /// The state of a faulted invocation: DynamoDB through this gateway's fault proxy, with SDK
    /// retries off so each injected error reaches the handler.
    pub fn faulty_state(&self, rule: u64) -> AppState {
        let config = aws_sdk_dynamodb::config::Builder::from(&self.sdk)
            .endpoint_url(format!("{}/_local/ddb/{rule}", self.self_url))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        let aws = Aws::with_clients(
            self.sdk.clone(),
            Some(aws_sdk_dynamodb::Client::from_conf(config)),
            Some(self.sqs().clone()),
        );
        AppState::on_aws(aws, (*self.state.settings).clone())
    }

    /// The gateway's own SQS client (pollers, resource creation).
    pub fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.aws.sqs()
    }

    /// The gateway's own DynamoDB client.
    pub fn ddb(&self) -> &aws_sdk_dynamodb::Client {
        self.aws.ddb()
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    campaign_shared::telemetry::init_tracing();
    let bind = env("LOCAL_BIND", "127.0.0.1");
    let http_port: u16 = env("LOCAL_HTTP_PORT", "3000").parse()?;
    let ws_port: u16 = env("LOCAL_WS_PORT", "3001").parse()?;
    let moto_endpoint = env(
        "AWS_ENDPOINT_URL_DYNAMODB",
        &env("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
    );
    let moto_sqs_endpoint = env(
        "AWS_ENDPOINT_URL_SQS",
        &env("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
    );
    // Every SDK client of this gateway sends through the observed HTTP client: writes to the
    // campaigns table wake the stream pollers, and the profile times each request.
    let stream_writes = sdk_http::StreamWrites::new(vec![Settings::from_env().campaigns_table]);
    let activity = activity::Activity::new();
    let sdk = campaign_shared::sdk::load_sdk_config()
        .await
        .into_builder()
        .http_client(sdk_http::ObservedClient::new(
            stream_writes.clone(),
            activity.clone(),
        ))
        .build();
    // The gateway's own clients (the pollers' 20 s long polls among them) without stalled-stream
    // protection: its upload check wakes every few milliseconds for as long as a request is out,
    // which was most of the idle gateway's CPU (perf). Lambda's pollers are AWS's; the handlers
    // keep the default.
    let aws = Aws::new(
        sdk.clone()
            .into_builder()
            .stalled_stream_protection(
                aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled(),
            )
            .build(),
    );
    let res = resources::Resources::load();

    let mut tries = 0;
    while let Err(e) = resources::create_all(aws.ddb(), aws.sqs(), &res).await {
        tries += 1;
        if tries > 60 {
            return Err(format!("could not create the resources on {moto_endpoint}: {e}").into());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let queue_url = |name: &str| {
        let sqs = aws.sqs().clone();
        let name = name.to_string();
        async move {
            let url = sqs
                .get_queue_url()
                .queue_name(&name)
                .send()
                .await
                .map_err(|e| format!("{name}: {e:?}"))?
                .queue_url
                .unwrap_or_default();
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| format!("{name}: {e:?}"))?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            Ok::<_, String>((url, arn))
        }
    };
    let mut settings = Settings::from_env();
    settings.autostart_queue_url = queue_url(res.queue_name("AutoStartQueue").unwrap_or_default())
        .await?
        .0;
    settings.phase_work_queue_url = queue_url(res.queue_name("PhaseWorkQueue").unwrap_or_default())
        .await?
        .0;
    if let Some(q) = res.queues.iter().find(|q| q.logical_id == "AutoStartQueue")
        && let Some(dl) = &q.dead_letter
    {
        settings.autostart_max_receive_count = dl.max_receive_count;
    }
    let campaigns_table = settings.campaigns_table.clone();
    let res = Arc::new(res);
    tokio::spawn(resources::keep_created(
        aws.ddb().clone(),
        aws.sqs().clone(),
        res.clone(),
        campaigns_table.clone(),
        activity.clone(),
        Duration::from_secs(env("LOCAL_WATCHDOG_SECONDS", "10").parse()?),
    ));
    let self_url = format!("http://{bind}:{http_port}");
    let state = AppState::on_aws(Aws::new(sdk.clone()), settings.clone());
    let chaos_state = AppState::on_aws(
        Aws::with_clients(
            sdk.clone(),
            Some(aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .endpoint_url(format!("{self_url}/_local/chaos/ddb"))
                    .build(),
            )),
            Some(aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(&sdk)
                    .endpoint_url(format!("{self_url}/_local/chaos/sqs"))
                    .build(),
            )),
        ),
        settings,
    );
    // The Management API the handlers push through is this gateway's own (WS_MANAGEMENT_ENDPOINT).
    let management = state
        .settings
        .ws_management_endpoint
        .clone()
        .unwrap_or_else(|| format!("http://{bind}:{ws_port}"));
    let push = Push::new(&sdk, Some(&management));
    let publisher = Arc::new(Publisher::new(push.clone()));
    let gw = Gateway {
        state,
        publisher: publisher.clone(),
        aws: aws.clone(),
        sdk: sdk.clone(),
        jwt: auth::Jwt::new(&env("LOCAL_JWT_SECRET", "local-dev-secret")),
        faults: faults::Faults::default(),
        chaos: chaos::Chaos::default(),
        chaos_state,
        http: reqwest::Client::new(),
        moto_endpoint: moto_endpoint.clone(),
        moto_sqs_endpoint,
        self_url,
        activity: activity.clone(),
        sweep_pace: schedule::Pace::new(
            env("LOCAL_SWEEP_SECONDS", "2").parse()?,
            env("LOCAL_SWEEP_IDLE_SECONDS", "30").parse()?,
            &Settings::from_env(),
        ),
    };

    let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
    // Lambda's SQS event source starts with five concurrent pollers and scales up from there,
    // never past the mapping's MaximumConcurrency; locally the count stays at the start
    // (decision 43: with two, the phase worker drained 2 chunks at a time while the template
    // allows 50).
    let pollers: usize = env("LOCAL_POLLERS_PER_QUEUE", "5").parse().unwrap_or(5);
    for f in &res.functions {
        match f.trigger.as_str() {
            "sqs" => {
                let Some(handler) = handlers::sqs_handler(&f.dir) else {
                    return Err(
                        format!("no local handler is wired for SQS function {}", f.dir).into(),
                    );
                };
                let (url, arn) = queue_url(
                    res.queue_name(f.source.as_deref().unwrap_or_default())
                        .unwrap_or_default(),
                )
                .await?;
                let mapping = Arc::new(SqsMapping {
                    function: f.dir.clone(),
                    queue_url: url,
                    queue_arn: arn,
                    batch_size: f.batch_size.unwrap_or(10),
                    timeout: f.timeout(),
                    handler,
                });
                for _ in 0..pollers.min(f.maximum_concurrency.unwrap_or(pollers)).max(1) {
                    tokio::spawn(pollers::run_sqs(gw.clone(), mapping.clone()));
                }
            }
            "stream" => {
                let Some(handler) = handlers::stream_handler(&f.dir, &publisher) else {
                    tracing::warn!(function = %f.dir, "no local handler wired for this stream consumer yet");
                    continue;
                };
                // The mapping's own on-failure destination (the template's
                // DestinationConfig.OnFailure); every stream mapping of ours has one.
                let destination = f
                    .on_failure
                    .as_deref()
                    .and_then(|q| res.queue_name(q))
                    .ok_or_else(|| {
                        format!("infra/resources.json: {} has no onFailure queue", f.dir)
                    })?;
                let on_failure = on_failure::Destination {
                    queue_url: queue_url(destination).await?.0,
                };
                let consumer = Arc::new(StreamConsumer {
                    function: f.dir.clone(),
                    function_arn: on_failure::function_arn(&f.dir),
                    timeout: f.timeout(),
                    batch_size: f.batch_size.unwrap_or(100),
                    maximum_retry_attempts: f.maximum_retry_attempts.unwrap_or(10),
                    handler,
                    on_failure,
                });
                tokio::spawn(streams::run_stream(
                    gw.clone(),
                    streams.clone(),
                    campaigns_table.clone(),
                    consumer,
                    stream_writes.subscribe(),
                ));
            }
            "schedule" if f.dir == "sweeper" => {
                tokio::spawn(schedule::run_sweeper(gw.clone()));
            }
            "schedule" => {
                return Err(
                    format!("no local handler is wired for scheduled function {}", f.dir).into(),
                );
            }
            _ => {}
        }
    }

    let ws_gateway = ws::WsGateway {
        state: gw.state.clone(),
        jwt: gw.jwt.clone(),
        push,
        hub: management::Hub::default(),
        domain: format!("{bind}:{ws_port}"),
        disconnect_on_drop: env("LOCAL_WS_DISCONNECT_ON_DROP", "false") == "true",
        chaos: gw.chaos.clone(),
        faults: gw.faults.clone(),
    };
    let ws_listener = tokio::net::TcpListener::bind((bind.as_str(), ws_port)).await?;
    tracing::info!(url = %format!("ws://{bind}:{ws_port}"), management = %management, "local WebSocket API ready");
    tokio::spawn(async move {
        if let Err(e) = axum::serve(ws_listener, ws::router(ws_gateway)).await {
            tracing::error!(error = %e, "the WebSocket server stopped");
        }
    });

    let listener = tokio::net::TcpListener::bind((bind.as_str(), http_port)).await?;
    tracing::info!(url = %gw.self_url, moto = %moto_endpoint, "local gateway ready");
    let app = http_api::router(gw.clone())
        .layer(axum::middleware::from_fn(profile::http_layer))
        .merge(profile::router())
        .merge(usage::router(gw.clone()));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
