//! The load and chaos run behind `load-bench` (`src/load.rs`): simulated wizards against the
//! running local stack, an invariant audit of every campaign they created (status, the
//! campaigns table's DynamoDB stream read independently of the WebSocket, the domains, the
//! queues, each user's listing), the seed's client-driven 3-call flow for comparison, and chaos
//! scenarios that arm the local gateway's fault injection (`/_local/chaos`) or drive the phase
//! controls themselves (the pause/resume storm).
//!
//! Everything talks to 127.0.0.1 only and is bounded: a run deadline, a budget per scenario,
//! and a timeout on every wait.

pub mod api;
pub mod audit;
pub mod cost;
pub mod report;
pub mod scenario;
pub mod socket;
pub mod wizard;

use std::time::Duration;

use crate::env;

/// Every scenario, in the order `LOAD_SCENARIOS=all` runs them.
pub const ALL_SCENARIOS: &[&str] = &[
    "baseline",
    "seed",
    "ddb-throttle",
    "sqs-send",
    "worker-crash",
    "stream-failure",
    "ws-drop",
    "api-crash-after-write",
    "dispatcher-outage",
    "pause-resume-storm",
    "one-bad-connection",
    "moto-restart",
];

/// The run's settings (environment variables `LOAD_*`).
#[derive(Debug, Clone)]
pub struct Config {
    pub wizards: usize,
    pub campaigns: usize,
    /// Campaigns of each chaos scenario (`LOAD_CHAOS_CAMPAIGNS`, default `LOAD_CAMPAIGNS`).
    pub chaos_campaigns: usize,
    pub seed_campaigns: usize,
    pub domains: u64,
    pub scenarios: Vec<String>,
    pub smoke: bool,
    pub restart_cmd: Option<String>,
    /// The whole run.
    pub deadline: Duration,
    /// The wizards' part of one scenario (creating and waiting for starts).
    pub scenario_budget: Duration,
    /// The audit's wait for every campaign to settle (discovery completed, nothing queued).
    pub settle: Duration,
    /// How long chaos stays armed after the wizards stopped, while the work they queued is still
    /// being processed (until the queues are empty; 0 = disarm as soon as the wizards stop).
    pub chaos_hold: Duration,
    /// How long a create (or a start by hand) is retried.
    pub retry_budget: Duration,
    /// No event for this long → the status poll (EVENTS.md).
    pub event_silence: Duration,
    /// How long a wizard waits for one campaign's start at most (event, resync or poll).
    pub start_wait: Duration,
    /// Probability that a wizard drops its socket after a create (scenario `ws-drop`).
    pub ws_drop: f64,
    /// Domains per campaign of the pause/resume storm (`LOAD_STORM_DOMAINS`, 5,000, smoke 3,000:
    /// several chunks of 1,000, so pauses land mid-phase).
    pub storm_domains: u64,
    /// `one-bad-connection`'s WebSocket subscribers (`LOAD_BAD_CONNECTION_SUBSCRIBERS`, 1,000,
    /// smoke 50), the connections the stack allows one user (`QUOTA_WS_CONNECTIONS`, 10), and
    /// its creates per second (`LOAD_BAD_CONNECTION_RATE`, 1, smoke 2: below what the local
    /// stack sustains on the shared 2-core machine — at 2/s with 1,000 sockets moto fell behind
    /// and latencies grew step after step — so both conditions measure the fan-out, not a
    /// backlog).
    pub bad_connection_subscribers: usize,
    pub ws_connection_quota: usize,
    /// Its fault steps, alternating with baseline steps (`LOAD_BAD_CONNECTION_ROUNDS`, 3, smoke 2).
    pub bad_connection_rounds: usize,
    pub bad_connection_rate: f64,
    /// The longest a dispatcher outage lasts (it ends earlier once a batch went to the stream's
    /// on-failure destination and the wizards stopped).
    pub outage_max: Duration,
    /// Invariant 5's limits: the stack's stale thresholds plus one sweep (its interval and a
    /// slack for its run).
    pub stale: audit::StaleBounds,
}

impl Config {
    pub fn from_env() -> Self {
        let smoke = std::env::var("LOAD_SMOKE").is_ok_and(|v| v == "1" || v == "true");
        let (wizards, campaigns, seed, deadline, budget, settle) = if smoke {
            (5, 20, 10, 900, 180, 120)
        } else {
            (50, 1000, 200, 3600, 900, 600)
        };
        let scenarios = std::env::var("LOAD_SCENARIOS")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| {
                if smoke {
                    "all".into()
                } else {
                    "baseline,seed".into()
                }
            });
        let scenarios: Vec<String> = scenarios
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .flat_map(|s| {
                if s == "all" {
                    ALL_SCENARIOS.iter().map(|s| s.to_string()).collect()
                } else {
                    vec![s]
                }
            })
            .collect();
        let campaigns = env("LOAD_CAMPAIGNS", campaigns).clamp(1, 100_000);
        Self {
            wizards: env("LOAD_WIZARDS", wizards).clamp(1, 1000) as usize,
            campaigns: campaigns as usize,
            chaos_campaigns: env("LOAD_CHAOS_CAMPAIGNS", campaigns).clamp(1, 100_000) as usize,
            seed_campaigns: env("LOAD_SEED_CAMPAIGNS", seed).clamp(1, 100_000) as usize,
            domains: env("LOAD_DOMAINS", 20).clamp(1, 100_000),
            scenarios,
            smoke,
            restart_cmd: std::env::var("LOAD_MOTO_RESTART_CMD")
                .ok()
                .filter(|c| !c.trim().is_empty()),
            deadline: Duration::from_secs(env("LOAD_DEADLINE_SECONDS", deadline)),
            scenario_budget: Duration::from_secs(env("LOAD_SCENARIO_SECONDS", budget)),
            settle: Duration::from_secs(env("LOAD_SETTLE_SECONDS", settle)),
            chaos_hold: Duration::from_secs(env("LOAD_CHAOS_HOLD_SECONDS", 180)),
            retry_budget: Duration::from_secs(45),
            event_silence: Duration::from_secs(20),
            start_wait: Duration::from_secs(120),
            ws_drop: 0.3,
            storm_domains: env("LOAD_STORM_DOMAINS", if smoke { 3000 } else { 5000 })
                .clamp(1, 1_000_000),
            bad_connection_subscribers: env(
                "LOAD_BAD_CONNECTION_SUBSCRIBERS",
                if smoke { 50 } else { 1000 },
            )
            .clamp(2, 5000) as usize,
            ws_connection_quota: env("QUOTA_WS_CONNECTIONS", 10).clamp(2, 1000) as usize,
            bad_connection_rounds: env("LOAD_BAD_CONNECTION_ROUNDS", if smoke { 2 } else { 3 })
                .clamp(1, 20) as usize,
            bad_connection_rate: env("LOAD_BAD_CONNECTION_RATE", if smoke { 2 } else { 1 })
                .clamp(1, 100) as f64,
            outage_max: Duration::from_secs(env("LOAD_OUTAGE_SECONDS", 120)),
            stale: stale_bounds(),
        }
    }
}

/// Invariant 5's limits from the stack's settings (`STALE_PHASE_SECONDS`, `STALE_QUEUED_SECONDS`,
/// `LOCAL_SWEEP_SECONDS`, defaults as `scripts/lib.sh` sets them) plus `LOAD_SWEEP_SLACK_SECONDS`
/// (10: the sweep's own run and its writes on a busy moto).
pub fn stale_bounds() -> audit::StaleBounds {
    let sweep = env("LOCAL_SWEEP_SECONDS", 2) + env("LOAD_SWEEP_SLACK_SECONDS", 10);
    audit::StaleBounds {
        phase_ms: ((env("STALE_PHASE_SECONDS", 10) + sweep) * 1000) as i64,
        queued_ms: ((env("STALE_QUEUED_SECONDS", 25) + sweep) * 1000) as i64,
        sweep_ms: (sweep * 1000) as i64,
    }
}

/// Exponential backoff with jitter for retry `attempt` (1-based): 100 ms doubling, capped at 2 s,
/// 50–100 % of that.
pub fn backoff(attempt: u32) -> Duration {
    let base = (100u64 << attempt.saturating_sub(1).min(5)).min(2000) as f64;
    Duration::from_millis((base * (0.5 + rand::random::<f64>() * 0.5)) as u64)
}

/// Whether a URL points at this machine (127.0.0.1, localhost, ::1).
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split(['/', '?']).next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Milliseconds as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(is_loopback("http://127.0.0.1:3000"));
        assert!(is_loopback("ws://localhost:3001/"));
        assert!(is_loopback("http://[::1]:4566"));
        assert!(!is_loopback("https://example.com"));
        assert!(!is_loopback("http://10.0.0.1:3000/x"));
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            assert!(d <= Duration::from_secs(2), "{d:?}");
            assert!(d >= Duration::from_millis(50), "{d:?}");
        }
    }
}
