//! The measures of one scenario (what the report's latency table and throughput line show):
//! create latency, create → discovery start at the client, the server's auto-start latency,
//! 201 → discovery completed, event delivery, and how each start was observed.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde_json::{Value, json};

use super::super::audit::FinalState;
use super::super::socket::Entry;
use super::super::wizard::{CampaignRecord, is_discovery_start};
use crate::percentiles;

/// Every wizard's log: (wizard index, entries by campaign).
pub type Logs = [(usize, HashMap<String, Vec<Entry>>)];

fn events_of<'a>(
    logs: &'a Logs,
    rec: &CampaignRecord,
) -> impl Iterator<Item = (&'a Value, Instant, Option<f64>)> {
    logs.iter()
        .filter(move |(w, _)| *w == rec.wizard)
        .flat_map(move |(_, log)| log.get(&rec.id).into_iter().flatten())
        .filter_map(|e| match e {
            Entry::Event {
                event,
                received,
                latency_ms,
                ..
            } => Some((event, *received, *latency_ms)),
            Entry::Snapshot { .. } => None,
        })
}

/// What the measures say.
pub struct Measures {
    pub latency: Value,
    pub throughput: Value,
    pub observed: BTreeMap<&'static str, usize>,
    /// `auto_start_failed` codes the wizards started discovery by hand after.
    pub hand: BTreeMap<String, usize>,
}

pub fn measure(
    records: &[CampaignRecord],
    audited: &[&CampaignRecord],
    finals: &HashMap<String, FinalState>,
    logs: &Logs,
) -> Measures {
    let mut observed: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut hand: BTreeMap<String, usize> = BTreeMap::new();
    let (mut auto_started, mut start_event, mut server, mut delivery) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut delivery_by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut start_times = Vec::new();
    for rec in records {
        *observed.entry(rec.observed).or_default() += 1;
        if let Some(r) = &rec.recovered_by_hand {
            *hand.entry(r.clone()).or_default() += 1;
        }
        if let Some(ms) = rec.start_ms {
            start_times.push(rec.first_attempt_s + ms / 1000.0);
        }
        let mut first_start = true;
        for (event, received, latency) in events_of(logs, rec) {
            if let Some(l) = latency {
                delivery.push(l);
                delivery_by_type
                    .entry(event["type"].as_str().unwrap_or("?").to_string())
                    .or_default()
                    .push(l);
            }
            if is_discovery_start(event) && first_start {
                first_start = false;
                let ms = super::super::ms(received.saturating_duration_since(rec.t0));
                start_event.push(ms);
                if event["type"] == "phase_auto_started" {
                    auto_started.push(ms);
                    if let Some(l) = event["data"]["latencyMs"].as_f64() {
                        server.push(l);
                    }
                }
            }
        }
    }
    // 201 → discovery's completion commit (server `completedAt`), for the audited campaigns.
    let to_completed: Vec<f64> = audited
        .iter()
        .filter_map(|r| {
            let s = finals.get(&r.id)?.status.as_ref()?;
            let done = integration_tests::phase(s, "discovery")["completedAt"].as_str()?;
            let done = chrono::DateTime::parse_from_rfc3339(done).ok()?;
            Some((done.with_timezone(&chrono::Utc) - r.created_at).num_milliseconds() as f64)
        })
        .collect();
    let first = records
        .iter()
        .map(|r| r.first_attempt_s)
        .fold(f64::INFINITY, f64::min);
    let last_created = records.iter().map(|r| r.created_s).fold(0.0, f64::max);
    let last_started = start_times.iter().copied().fold(0.0, f64::max);
    let rate = |n: usize, end: f64| {
        if n == 0 || end <= first {
            0.0
        } else {
            n as f64 / (end - first)
        }
    };
    let latency = json!({
        "createMs": percentiles(records.iter().map(|r| r.create_ms).collect()),
        "createWithRetriesMs": percentiles(records.iter().map(|r| r.create_total_ms).collect()),
        "createToPhaseAutoStartedMs": percentiles(auto_started),
        "createToDiscoveryStartEventMs": percentiles(start_event),
        "createToStartObservedMs": percentiles(records.iter().filter_map(|r| r.start_ms).collect()),
        "seedCallsMs": percentiles(records.iter().filter_map(|r| r.calls_ms).collect()),
        "serverAutoStartLatencyMs": percentiles(server),
        "createdToDiscoveryCompletedMs": percentiles(to_completed),
        "eventDeliveryMs": percentiles(delivery),
        "eventDeliveryByTypeMs": delivery_by_type.into_iter().map(|(k, v)| (k, percentiles(v))).collect::<serde_json::Map<_, _>>(),
    });
    Measures {
        latency,
        throughput: json!({
            "createdPerSecond": rate(records.len(), last_created),
            "startedPerSecond": rate(start_times.len(), last_started),
        }),
        observed,
        hand,
    }
}
