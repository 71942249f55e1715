//! What the benchmark binaries share: settings from the environment, percentile tables, event
//! latency and phases run by hand.

use std::time::Duration;

use chrono::{DateTime, Utc};
use integration_tests::{Client, phase};
use serde_json::{Value, json};

pub mod loadgen;

/// A numeric setting from the environment, or its default.
pub fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `{n, p50, p95, p99, max}` of the samples (nearest rank), or `null` when there are none.
pub fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return json!(null);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    json!({"n": v.len(), "p50": p(0.50), "p95": p(0.95), "p99": p(0.99), "max": v[v.len() - 1]})
}

/// A markdown table row of [`percentiles`].
pub fn row(name: &str, p: &Value) -> String {
    let f = |k: &str| {
        p[k].as_f64()
            .map(|x| format!("{x:.1}"))
            .unwrap_or_else(|| "–".into())
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} |",
        p["n"],
        f("p50"),
        f("p95"),
        f("p99"),
        f("max")
    )
}

/// Milliseconds from an event's `at` to `received`.
pub fn event_latency_ms(event: &Value, received: DateTime<Utc>) -> Option<f64> {
    let at = DateTime::parse_from_rfc3339(event["at"].as_str()?).ok()?;
    Some((received - at.with_timezone(&Utc)).num_microseconds()? as f64 / 1000.0)
}

/// Starts phase `name` of campaign `id` by hand (asserting 202) and waits until it completed;
/// returns the final status body.
pub async fn run_phase_by_hand(c: &Client, id: &str, name: &str, timeout: Duration) -> Value {
    c.post(&format!("/campaigns/{id}/phases/{name}/start"), &json!({}))
        .await
        .expect(202);
    c.wait_status(id, timeout, |s| phase(s, name)["status"] == "completed")
        .await
}

/// Seconds from a phase's `startedAt` to its `completedAt` (server timestamps).
pub fn phase_seconds(phase: &Value) -> f64 {
    let t = |k: &str| {
        DateTime::parse_from_rfc3339(phase[k].as_str().unwrap_or_default())
            .map(|t| t.timestamp_millis())
            .unwrap_or(0)
    };
    (t("completedAt") - t("startedAt")) as f64 / 1000.0
}
