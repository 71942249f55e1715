//! What the benchmark binaries share: settings from the environment and percentile tables.

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
