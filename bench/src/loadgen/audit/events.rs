//! The events the wizards received, against the stream: EVENTS.md's client rule applied to
//! every wizard's log (duplicates by `(version, type, phase)` dropped, nothing older than what
//! was applied), and every event checked against the stream image of its version (invariant 3:
//! what clients see is exactly what was committed, in version order).

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::Value;

use super::Findings;
use super::image::Image;
use crate::loadgen::socket::Entry;

#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventAudit {
    pub received: usize,
    pub snapshots: usize,
    /// The same `(version, type, phase)` again (at-least-once delivery; dropped by the client).
    pub duplicates: usize,
    /// Older than what a resync snapshot already covered (dropped; expected after a resync).
    pub superseded_by_resync: usize,
    /// A new event older than an event already applied: delivery out of version order.
    pub out_of_order: Findings,
    pub applied: usize,
    /// Applied versions going backwards (the client's rule makes this impossible; checked).
    pub applied_regressions: Findings,
    /// Events whose version or status does not match the stream image of that version.
    pub mismatches: Findings,
}

/// Applies EVENTS.md's client rule to every wizard's log (campaigns in `images` only) and
/// checks each event against the stream image with its version.
pub fn audit_events(
    logs: &[HashMap<String, Vec<Entry>>],
    images: &HashMap<String, HashMap<u64, Image>>,
) -> EventAudit {
    let mut a = EventAudit::default();
    for log in logs {
        for (campaign, entries) in log {
            let Some(versions) = images.get(campaign) else {
                continue;
            };
            let mut seen: HashSet<(u64, String, String)> = HashSet::new();
            let mut last_applied = 0u64;
            let mut last_event = 0u64;
            let mut applied_versions: Vec<u64> = Vec::new();
            for entry in entries {
                match entry {
                    Entry::Snapshot { version, .. } => {
                        a.snapshots += 1;
                        last_applied = last_applied.max(*version);
                    }
                    Entry::Event { event, .. } => {
                        a.received += 1;
                        let version = event["version"].as_u64().unwrap_or_default();
                        let kind = event["type"].as_str().unwrap_or_default().to_string();
                        let phase = event["phase"].as_str().unwrap_or_default().to_string();
                        if !seen.insert((version, kind.clone(), phase)) {
                            a.duplicates += 1;
                            continue;
                        }
                        check_against_stream(&mut a, campaign, event, versions);
                        if version < last_applied {
                            if version < last_event {
                                a.out_of_order.add(format!(
                                    "{campaign}: {kind} v{version} arrived after v{last_event}"
                                ));
                            } else {
                                a.superseded_by_resync += 1;
                            }
                            continue;
                        }
                        if let Some(&before) = applied_versions.last()
                            && version < before
                        {
                            a.applied_regressions
                                .add(format!("{campaign}: applied v{version} after v{before}"));
                        }
                        applied_versions.push(version);
                        a.applied += 1;
                        last_applied = version;
                        last_event = last_event.max(version);
                    }
                }
            }
        }
    }
    a
}

fn check_against_stream(
    a: &mut EventAudit,
    campaign: &str,
    event: &Value,
    versions: &HashMap<u64, Image>,
) {
    let version = event["version"].as_u64().unwrap_or_default();
    let kind = event["type"].as_str().unwrap_or_default();
    if kind == "campaign_deleted" {
        return;
    }
    let Some(image) = versions.get(&version) else {
        a.mismatches.add(format!(
            "{campaign}: {kind} v{version}: no stream record with that version"
        ));
        return;
    };
    let status = event["status"].as_str();
    if kind.starts_with("phase_") {
        let name = event["phase"].as_str().unwrap_or_default();
        if status != Some(image.phase(name)) {
            a.mismatches.add(format!(
                "{campaign}: {kind} v{version} says {name} {status:?}, the image says {}",
                image.phase(name)
            ));
        }
    } else if kind.starts_with("auto_start_") {
        let name = event["phase"].as_str().unwrap_or_default();
        if status != Some(image.auto_start(name)) {
            a.mismatches.add(format!(
                "{campaign}: {kind} v{version} says {name}'s autoStart {status:?}, the image says {}",
                image.auto_start(name)
            ));
        }
    } else if kind == "campaign_created" && version != 1 {
        a.mismatches
            .add(format!("{campaign}: campaign_created at v{version}"));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use serde_json::json;

    use super::super::fixtures::normal_history;
    use super::*;

    fn event(kind: &str, version: u64, status: &str) -> Entry {
        Entry::Event {
            event: json!({"type": kind, "campaignId": "c", "phase": "discovery", "status": status, "version": version}),
            latency_ms: None,
            received: Instant::now(),
            connection: 1,
        }
    }

    fn images() -> HashMap<String, HashMap<u64, Image>> {
        let versions = normal_history()
            .into_iter()
            .filter_map(|r| r.new)
            .map(|i| (i.version, i))
            .collect();
        [("c".to_string(), versions)].into()
    }

    #[test]
    fn duplicates_are_dropped_and_order_violations_counted() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("auto_start_queued", 1, "queued"),
                event("phase_auto_started", 2, "running"),
                event("phase_auto_started", 2, "running"),
                event("phase_completed", 3, "completed"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!((a.received, a.applied, a.duplicates), (4, 3, 1));
        assert_eq!(a.out_of_order.count + a.mismatches.count, 0);

        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("phase_completed", 3, "completed"),
                event("phase_auto_started", 2, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!(a.out_of_order.count, 1);
        assert_eq!(a.applied, 1);
    }

    #[test]
    fn events_older_than_a_resync_are_superseded_not_out_of_order() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                Entry::Snapshot {
                    version: 3,
                    status: json!({}),
                    received: Instant::now(),
                },
                event("phase_auto_started", 2, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!((a.superseded_by_resync, a.out_of_order.count), (1, 0));
    }

    #[test]
    fn events_that_do_not_match_the_stream_are_mismatches() {
        let log: HashMap<String, Vec<Entry>> = [(
            "c".to_string(),
            vec![
                event("phase_auto_started", 3, "running"),
                event("phase_progress", 9, "running"),
            ],
        )]
        .into();
        let a = audit_events(&[log], &images());
        assert_eq!(a.mismatches.count, 2, "{:?}", a.mismatches);
    }
}
