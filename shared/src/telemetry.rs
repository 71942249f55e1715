//! Structured JSON logs and CloudWatch Embedded Metric Format metrics.

use std::io::Write;

use serde_json::json;

/// JSON logs on stdout (CloudWatch reads them as structured logs); levels from `RUST_LOG`
/// ([`log_filter`]). Span fields (`correlationId`, `campaignId`) are flattened into each line.
pub fn init_tracing() {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(std::env::var("RUST_LOG").ok().as_deref(), std::io::stdout).try_init();
}

/// The subscriber [`init_tracing`] installs, writing to `writer`.
fn subscriber<W>(rust_log: Option<&str>, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        // `RUST_LOG` decides (the layer below): the builder's own default would also stop every
        // event under `info`, so `RUST_LOG=campaign_shared=debug` printed no debug line.
        .with_max_level(tracing::level_filters::LevelFilter::TRACE)
        .finish()
        .with(log_filter(rust_log))
}

/// `RUST_LOG` as `tracing_subscriber`'s [`Targets`](tracing_subscriber::filter::Targets): a level
/// (`info`) and/or `target=level` pairs (`warn,campaign_shared=debug`), `info` when unset. Span
/// and field filters (`EnvFilter`'s regex syntax) are not supported: `EnvFilter` links a regex
/// engine into every function (about half a megabyte). A value that does not parse is reported on
/// stderr and `info` is used.
pub fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    let info = || Targets::new().with_default(LevelFilter::INFO);
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => info(),
        Some(v) => v.parse::<Targets>().unwrap_or_else(|e| {
            eprintln!("RUST_LOG={v:?} is not a list of levels and target=level pairs ({e}); logging at info");
            info()
        }),
    }
}

pub const NAMESPACE: &str = "CampaignAutoStart";
pub const AUTO_START_SUCCESS: &str = "campaign.auto_start.success";
pub const AUTO_START_FAILURES: &str = "campaign.auto_start.failures_total";
pub const AUTO_START_LATENCY: &str = "campaign.auto_start.latency_ms";
pub const RECOVERED: &str = "campaign.recovered";
pub const EVENTS_DROPPED: &str = "campaign.events.dropped";

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

/// The publisher gave up pushing `count` events to connections whose pushes kept failing
/// transiently (EVENTS.md: those clients catch up through their status poll).
pub fn events_dropped(count: usize) {
    emit(emf_line(
        EVENTS_DROPPED,
        count as f64,
        "Count",
        &[],
        chrono::Utc::now().timestamp_millis(),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_levels_and_targets() {
        use tracing::Level;
        let at = |f: &tracing_subscriber::filter::Targets, target: &str, level: Level| {
            f.would_enable(target, &level)
        };
        let default = log_filter(None);
        assert!(at(&default, "x", Level::INFO) && !at(&default, "x", Level::DEBUG));
        let warn = log_filter(Some("warn,campaign_shared=debug"));
        assert!(!at(&warn, "local_gateway", Level::INFO));
        assert!(at(&warn, "campaign_shared::store", Level::DEBUG));
        let bad = log_filter(Some("[span{x=1}]=trace,=="));
        assert!(at(&bad, "x", Level::INFO) && !at(&bad, "x", Level::DEBUG));
    }

    /// The installed subscriber, not just the filter: debug lines appear when `RUST_LOG` asks
    /// for them, and only for the targets it names.
    #[test]
    fn debug_lines_are_written_when_rust_log_asks_for_them() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("buffer").extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let written = |rust_log: &str| {
            let buffer = Buffer::default();
            let writer = buffer.clone();
            let sub = subscriber(Some(rust_log), move || writer.clone());
            tracing::subscriber::with_default(sub, || {
                tracing::debug!(target: "campaign_shared::service::dispatch", "shown-debug");
                tracing::debug!(target: "hyper::client", "hidden-debug");
                tracing::info!(target: "local_gateway", "shown-info");
            });
            let bytes = buffer.0.lock().expect("buffer").clone();
            String::from_utf8(bytes).expect("utf-8")
        };
        let out = written("info,campaign_shared=debug");
        assert!(
            out.contains("shown-debug") && out.contains("shown-info"),
            "{out}"
        );
        assert!(!out.contains("hidden-debug"), "{out}");
        let out = written("info");
        assert!(
            !out.contains("shown-debug") && out.contains("shown-info"),
            "{out}"
        );
    }

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
