//! Real-time events (EVENTS.md) against the running local stack, with a real WebSocket client:
//! stream → publisher → WebSocket push, subscriptions and their ownership, the 410 clean-up, the
//! handshake's token check, the status poll as the fallback, and redelivery after a publisher
//! failure.

use std::time::{Duration, Instant};

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

mod redelivery;
mod sequence;
mod subscriptions;

const WAIT: Duration = Duration::from_secs(30);

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect()
}

fn position(events: &[Value], kind: &str) -> usize {
    events
        .iter()
        .position(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(events)))
}

fn is(kind: &'static str, phase: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind && e["phase"] == phase
}

fn assert_versions_never_decrease(events: &[Value]) {
    for pair in events.windows(2) {
        let (a, b) = (
            pair[0]["version"].as_u64().unwrap(),
            pair[1]["version"].as_u64().unwrap(),
        );
        assert!(
            a <= b,
            "version went back from {a} to {b}: {:?}",
            kinds(events)
        );
    }
}

/// The event envelope of EVENTS.md.
fn assert_envelope(e: &Value, campaign: &Value) {
    for field in [
        "type",
        "campaignId",
        "phase",
        "status",
        "version",
        "correlationId",
        "at",
        "data",
    ] {
        assert!(e.get(field).is_some(), "{field} missing in {e}");
    }
    assert_eq!(e["campaignId"], campaign["id"]);
    assert_eq!(
        e["correlationId"], campaign["correlationId"],
        "the campaign's correlation id"
    );
    let at = e["at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z') && at.len() == 24,
        "RFC 3339 millis: {at}"
    );
    assert!(e["data"].is_object());
}

/// Waits until nothing runs or waits to run any more, then returns the status.
async fn settled(c: &Client, id: &str) -> Value {
    c.wait_status(id, WAIT, |s| {
        s["autoStart"]["status"] != "queued"
            && s["phases"]
                .as_array()
                .is_some_and(|p| p.iter().all(|p| p["status"] != "running"))
    })
    .await
}
