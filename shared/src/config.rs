//! Settings read once from the environment, and the clients every function shares.
//!
//! Endpoints come from the standard `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` variables
//! that `aws-config` reads itself: the same code talks to AWS or to moto.

use std::sync::Arc;

/// Table names, queue URLs and tuning knobs. Defaults are the local stack's names
/// (`infra/resources.json`); in AWS the SAM template sets every variable.
#[derive(Debug, Clone)]
pub struct Settings {
    pub campaigns_table: String,
    pub personas_table: String,
    pub proxies_table: String,
    pub domains_table: String,
    pub idempotency_table: String,
    pub connections_table: String,
    pub subscriptions_table: String,
    pub autostart_queue_url: String,
    pub phase_work_queue_url: String,
    pub ws_management_endpoint: Option<String>,
    /// Domains per discovery chunk (one item in the domains table each).
    pub discovery_chunk_size: u64,
    /// Auto-start retry backoff: base and cap in seconds (exponential with full jitter).
    pub backoff_base_seconds: u32,
    pub backoff_cap_seconds: u32,
    /// The auto-start queue's `maxReceiveCount` (what the DLQ handler reports as attempts).
    pub autostart_max_receive_count: u32,
    /// How long one chunk of phase work may take before its unfinished items are recorded as
    /// errors (below the phase worker's function timeout).
    pub phase_chunk_budget_seconds: u64,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The local default of a queue URL (moto's URL form) for a queue name.
pub fn local_queue_url(name: &str) -> String {
    let endpoint = var("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
    format!("{}/123456789012/{name}", endpoint.trim_end_matches('/'))
}

impl Settings {
    pub fn from_env() -> Self {
        Self {
            campaigns_table: var("CAMPAIGNS_TABLE", "campaign-autostart-campaigns"),
            personas_table: var("PERSONAS_TABLE", "campaign-autostart-personas"),
            proxies_table: var("PROXIES_TABLE", "campaign-autostart-proxies"),
            domains_table: var("DOMAINS_TABLE", "campaign-autostart-domains"),
            idempotency_table: var("IDEMPOTENCY_TABLE", "campaign-autostart-idempotency"),
            connections_table: var("CONNECTIONS_TABLE", "campaign-autostart-connections"),
            subscriptions_table: var("SUBSCRIPTIONS_TABLE", "campaign-autostart-subscriptions"),
            autostart_queue_url: std::env::var("AUTOSTART_QUEUE_URL")
                .unwrap_or_else(|_| local_queue_url("campaign-autostart-autostart")),
            phase_work_queue_url: std::env::var("PHASE_WORK_QUEUE_URL")
                .unwrap_or_else(|_| local_queue_url("campaign-autostart-phase-work")),
            ws_management_endpoint: std::env::var("WS_MANAGEMENT_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
            discovery_chunk_size: num("DISCOVERY_CHUNK_SIZE", 1000u64).clamp(1, 5000),
            backoff_base_seconds: num("AUTOSTART_BACKOFF_BASE_SECONDS", 2u32),
            backoff_cap_seconds: num("AUTOSTART_BACKOFF_CAP_SECONDS", 300u32),
            autostart_max_receive_count: num("AUTOSTART_MAX_RECEIVE_COUNT", 5u32),
            phase_chunk_budget_seconds: num("PHASE_CHUNK_BUDGET_SECONDS", 45u64),
        }
    }
}

/// Everything a handler needs: SDK clients (cheap to clone) and settings.
#[derive(Clone)]
pub struct AppState {
    pub ddb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub settings: Arc<Settings>,
}

impl AppState {
    pub fn new(sdk: &aws_config::SdkConfig, settings: Settings) -> Self {
        Self {
            ddb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            settings: Arc::new(settings),
        }
    }

    /// Builds the state from the environment (what every Lambda does in its init phase).
    pub async fn from_env() -> Self {
        let sdk = load_sdk_config().await;
        Self::new(&sdk, Settings::from_env())
    }
}

pub async fn load_sdk_config() -> aws_config::SdkConfig {
    crate::sdk::load().await
}
