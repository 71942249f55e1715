//! Settings read once from the environment. Defaults are the local stack's names
//! (`infra/resources.json`); in AWS the SAM template sets every variable. Endpoints are not
//! settings: `aws-config` reads `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` itself, so the
//! same code talks to AWS or to moto.

use std::time::Duration;

/// Table names, queue URLs and tuning knobs.
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
    /// The stream consumers' on-failure destination, read by the sweeper.
    pub stream_failure_queue_url: String,
    pub ws_management_endpoint: Option<String>,
    /// Domains per discovery chunk (one item in the domains table each).
    pub discovery_chunk_size: u64,
    /// Retry backoff of failed messages: base and cap in seconds (exponential, equal jitter).
    pub backoff_base_seconds: u32,
    pub backoff_cap_seconds: u32,
    /// The auto-start queue's `maxReceiveCount` (what the DLQ handler reports as attempts).
    pub autostart_max_receive_count: u32,
    /// How long one chunk of phase work may take before its unfinished items are recorded as
    /// errors (below the phase worker's function timeout).
    pub phase_chunk_budget_seconds: u64,
    /// A running phase without progress for this long is re-driven by the sweeper.
    pub stale_phase_seconds: u64,
    /// An auto-start still queued this long after its request (or last re-drive) is re-driven.
    pub stale_queued_seconds: u64,
    /// While its queue has a backlog, a stale phase or auto-start is taken as waiting in it and
    /// not re-driven, unless it has been stale this long (decision 39).
    pub stale_backlog_seconds: u64,
    /// Every SDK operation (all its attempts) ends within this, below the function timeout.
    pub sdk_operation_timeout: Duration,
    /// The per-user quota counters (API.md "Limits").
    pub quotas_table: String,
    pub quotas: Quotas,
}

/// Per-user limits (API.md "Limits"), each overridable by its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// `QUOTA_ACTIVE_CAMPAIGNS`: campaigns with a phase running/paused or an auto-start queued.
    pub active_campaigns: u64,
    /// `QUOTA_DOMAINS_PER_DAY`: domains discovery may generate per UTC day (counted at start).
    pub domains_per_day: u64,
    /// `QUOTA_WS_CONNECTIONS`: WebSocket connections open at once.
    pub ws_connections: u64,
    /// `QUOTA_SUBSCRIPTIONS`: subscriptions per connection.
    pub subscriptions: u64,
}

impl Quotas {
    pub fn from_env() -> Self {
        Self {
            active_campaigns: num("QUOTA_ACTIVE_CAMPAIGNS", 20),
            domains_per_day: num("QUOTA_DOMAINS_PER_DAY", 2_000_000),
            ws_connections: num("QUOTA_WS_CONNECTIONS", 10),
            subscriptions: num("QUOTA_SUBSCRIPTIONS", 100),
        }
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            active_campaigns: 20,
            domains_per_day: 2_000_000,
            ws_connections: 10,
            subscriptions: 100,
        }
    }
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A numeric setting: the default when unset; a value that does not parse is a configuration
/// error, reported when the function starts instead of being silently replaced.
fn num<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name).ok().filter(|v| !v.is_empty()) {
        None => default,
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("environment variable {name}={v:?} is not a valid number")),
    }
}

/// The local default of a queue URL (moto's URL form) for a queue name.
pub fn local_queue_url(name: &str) -> String {
    let endpoint = var("AWS_ENDPOINT_URL", "http://127.0.0.1:4566");
    format!("{}/123456789012/{name}", endpoint.trim_end_matches('/'))
}

fn queue_url(env: &str, local_name: &str) -> String {
    std::env::var(env)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| local_queue_url(local_name))
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
            autostart_queue_url: queue_url("AUTOSTART_QUEUE_URL", "campaign-autostart-autostart"),
            phase_work_queue_url: queue_url(
                "PHASE_WORK_QUEUE_URL",
                "campaign-autostart-phase-work",
            ),
            stream_failure_queue_url: queue_url(
                "STREAM_FAILURE_QUEUE_URL",
                "campaign-autostart-stream-failures",
            ),
            ws_management_endpoint: std::env::var("WS_MANAGEMENT_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
            discovery_chunk_size: num("DISCOVERY_CHUNK_SIZE", 1000u64).clamp(1, 1000),
            backoff_base_seconds: num("AUTOSTART_BACKOFF_BASE_SECONDS", 2u32),
            backoff_cap_seconds: num("AUTOSTART_BACKOFF_CAP_SECONDS", 300u32),
            autostart_max_receive_count: num("AUTOSTART_MAX_RECEIVE_COUNT", 10u32),
            phase_chunk_budget_seconds: num("PHASE_CHUNK_BUDGET_SECONDS", 45u64),
            stale_phase_seconds: num("STALE_PHASE_SECONDS", 420u64),
            stale_queued_seconds: num("STALE_QUEUED_SECONDS", 900u64),
            stale_backlog_seconds: num("STALE_BACKLOG_SECONDS", 3600u64),
            sdk_operation_timeout: Duration::from_millis(num("SDK_OPERATION_TIMEOUT_MS", 4000u64)),
            quotas_table: var("QUOTAS_TABLE", "campaign-autostart-quotas"),
            quotas: Quotas::from_env(),
        }
    }

    /// Defaults for tests (nothing read from the environment).
    pub fn for_tests() -> Self {
        Self {
            campaigns_table: "campaigns".into(),
            personas_table: "personas".into(),
            proxies_table: "proxies".into(),
            domains_table: "domains".into(),
            idempotency_table: "idempotency".into(),
            connections_table: "connections".into(),
            subscriptions_table: "subscriptions".into(),
            autostart_queue_url: "autostart".into(),
            phase_work_queue_url: "phase-work".into(),
            stream_failure_queue_url: "stream-failures".into(),
            ws_management_endpoint: None,
            discovery_chunk_size: 1000,
            backoff_base_seconds: 1,
            backoff_cap_seconds: 2,
            autostart_max_receive_count: 10,
            phase_chunk_budget_seconds: 5,
            stale_phase_seconds: 10,
            stale_queued_seconds: 20,
            stale_backlog_seconds: 120,
            sdk_operation_timeout: Duration::from_secs(4),
            quotas_table: "quotas".into(),
            quotas: Quotas::default(),
        }
    }
}
