//! Structured JSON logs and CloudWatch Embedded Metric Format metrics.

use std::io::Write;

use serde_json::json;

/// JSON logs on stdout (CloudWatch reads them as structured logs); level from `RUST_LOG`.
/// Span fields (`correlationId`, `campaignId`) are flattened into each line.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .try_init();
}

pub const NAMESPACE: &str = "CampaignAutoStart";
pub const AUTO_START_SUCCESS: &str = "campaign.auto_start.success";
pub const AUTO_START_FAILURES: &str = "campaign.auto_start.failures_total";
pub const AUTO_START_LATENCY: &str = "campaign.auto_start.latency_ms";
pub const RECOVERED: &str = "campaign.recovered";

/// One EMF document: `{"_aws": {...}, "<metric>": value, dims...}` on a line of its own.
pub fn emf_line(
    metric: &str,
    value: f64,
    unit: &str,
    dimensions: &[(&str, &str)],
    timestamp_ms: i64,
) -> String {
    let dim_names: Vec<&str> = dimensions.iter().map(|(k, _)| *k).collect();
    let mut doc = json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                // The metric both per dimension set and in total (empty set), so alarms can use
                // either without metric math over unknown dimension values.
                "Dimensions": if dim_names.is_empty() { json!([[]]) } else { json!([dim_names, []]) },
                "Metrics": [{"Name": metric, "Unit": unit}],
            }],
        },
        metric: value,
    });
    for (k, v) in dimensions {
        doc[*k] = json!(v);
    }
    doc.to_string()
}

fn emit(line: String) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
}

pub fn auto_start_success(latency_ms: i64) {
    let now = chrono::Utc::now().timestamp_millis();
    emit(emf_line(AUTO_START_SUCCESS, 1.0, "Count", &[], now));
    emit(emf_line(
        AUTO_START_LATENCY,
        latency_ms as f64,
        "Milliseconds",
        &[],
        now,
    ));
}

/// `reason` is an error code: `INVALID_CONFIG`, `RETRIES_EXHAUSTED`, `ENQUEUE_FAILED`, `THROTTLED`…
pub fn auto_start_failure(reason: &str) {
    emit(emf_line(
        AUTO_START_FAILURES,
        1.0,
        "Count",
        &[("reason", reason)],
        chrono::Utc::now().timestamp_millis(),
    ));
}

/// The sweeper re-drove something; `reason`: `stale_queued`, `stalled_phase`, `stream_failure`.
pub fn recovered(reason: &str) {
    emit(emf_line(
        RECOVERED,
        1.0,
        "Count",
        &[("reason", reason)],
        chrono::Utc::now().timestamp_millis(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_shape() {
        let line = emf_line(
            AUTO_START_FAILURES,
            1.0,
            "Count",
            &[("reason", "INVALID_CONFIG")],
            42,
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 42);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], NAMESPACE);
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["reason"], []])
        );
        assert_eq!(
            v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            AUTO_START_FAILURES
        );
        assert_eq!(v[AUTO_START_FAILURES], 1.0);
        assert_eq!(v["reason"], "INVALID_CONFIG");
        let plain: serde_json::Value =
            serde_json::from_str(&emf_line(AUTO_START_SUCCESS, 1.0, "Count", &[], 1)).unwrap();
        assert_eq!(
            plain["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([[]])
        );
    }
}
