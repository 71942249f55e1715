//! One scenario's section of the report: its latency table, then one line per aspect
//! (throughput, settling, retries, how starts were observed, events, the stream's totals, what
//! proves the fault struck, listings, final states, queues, chaos, the moto restart), then its
//! failures and a few client errors.

use serde_json::Value;

use super::{count, n};
use crate::row;

fn latency_rows(s: &Value) -> Vec<String> {
    let l = &s["latency"];
    let rows: [(&str, &str); 10] = [
        (
            "POST /campaigns (request → 201, the answered attempt)",
            "createMs",
        ),
        (
            "POST /campaigns incl. retries (first attempt → 201)",
            "createWithRetriesMs",
        ),
        (
            "create → `phase_auto_started` (client, event)",
            "createToPhaseAutoStartedMs",
        ),
        (
            "seed: create → third call answered (202 / 409)",
            "seedCallsMs",
        ),
        (
            "create → discovery start event (client)",
            "createToDiscoveryStartEventMs",
        ),
        (
            "create → start observed (event / resync / poll)",
            "createToStartObservedMs",
        ),
        (
            "autoStart.latencyMs (server: requestedAt → start commit)",
            "serverAutoStartLatencyMs",
        ),
        (
            "201 → discovery completed (server `completedAt`)",
            "createdToDiscoveryCompletedMs",
        ),
        (
            "event delivery (receipt − `at`), every event",
            "eventDeliveryMs",
        ),
        (
            "event delivery, `phase_auto_started`",
            "eventDeliveryByTypeMs",
        ),
    ];
    rows.iter()
        .filter_map(|(label, key)| {
            let p = if *key == "eventDeliveryByTypeMs" {
                &l[key]["phase_auto_started"]
            } else {
                &l[key]
            };
            (!p.is_null()).then(|| row(label, p))
        })
        .collect()
}

fn counters_line(s: &Value) -> String {
    let c = &s["counters"];
    let create: Vec<String> = ["429", "5xx", "409", "transport"]
        .iter()
        .filter(|k| n(&c[format!("create_retries_{k}")]) > 0)
        .map(|k| format!("{k} {}", n(&c[format!("create_retries_{k}")])))
        .collect();
    let mut parts = vec![format!(
        "create retries {}{}",
        n(&c["create_retries"]),
        if create.is_empty() {
            String::new()
        } else {
            format!(" ({})", create.join(", "))
        }
    )];
    for (k, label) in [
        ("create_failures", "creates given up"),
        ("seed_call_retries", "seed call retries"),
        ("hand_start_retries", "start-by-hand retries"),
        ("hand_start_failures", "starts by hand failed"),
        ("poll_fallbacks", "status-poll fallbacks"),
        ("poll_errors", "poll errors"),
        ("ws_drops", "socket drops"),
        ("reconnects_after_drop", "reconnects after a drop"),
        (
            "reconnects_socket_closed",
            "reconnects (socket closed by the server)",
        ),
        ("reconnects_after_restart", "reconnects after the restart"),
        ("connect_failures", "connect/subscribe failures"),
        ("resyncs", "resyncs"),
        ("resync_errors", "resync errors"),
        ("gone", "campaigns gone (404)"),
        ("start_not_observed", "starts not observed"),
    ] {
        if n(&c[k]) > 0 {
            parts.push(format!("{label} {}", n(&c[k])));
        }
    }
    parts.push(format!("client errors {}", count(&s["errors"])));
    parts.join("; ")
}

pub fn scenario_section(s: &Value, out: &mut Vec<String>) {
    let name = s["name"].as_str().unwrap_or("?");
    out.push(format!("## {name}"));
    out.push(String::new());
    if let Some(why) = s["skipped"].as_str() {
        out.push(format!("Skipped: {why}."));
        out.push(String::new());
        return;
    }
    if s["kind"] == "oneBadConnection" {
        super::one_bad::section(s, out);
        return;
    }
    if s["latency"].is_null() {
        for f in s["failures"].as_array().into_iter().flatten() {
            out.push(format!("- ❌ {}", f.as_str().unwrap_or_default()));
        }
        out.push(String::new());
        return;
    }
    let flow = match s["flow"].as_str() {
        Some("seed") => "the seed's 3-call flow",
        Some("storm") => "server-driven Full Auto, then a pause/resume/stop/start storm",
        _ => "server-driven Full Auto",
    };
    out.push(format!(
        "| measure ({} campaigns, {} wizards, {flow}) | n | p50 ms | p95 ms | p99 ms | max ms |",
        n(&s["created"]),
        n(&s["wizardsRunning"])
    ));
    out.push("|---|---|---|---|---|---|".into());
    out.extend(latency_rows(s));
    out.push(String::new());
    let mut lines = vec![
        format!(
            "throughput: {:.1} campaigns/s created, {:.1} campaigns/s started (wizards {:.1} s, with settle and audit {:.1} s)",
            s["throughput"]["createdPerSecond"].as_f64().unwrap_or(0.0),
            s["throughput"]["startedPerSecond"].as_f64().unwrap_or(0.0),
            s["wizardSeconds"].as_f64().unwrap_or(0.0),
            s["wallSeconds"].as_f64().unwrap_or(0.0),
        ),
        match s["settledAfterSeconds"].as_f64() {
            Some(t) => format!(
                "settled (discovery completed, nothing queued) {t:.1} s into the settle wait (which starts when the wizards stopped and chaos was off)"
            ),
            None => format!(
                "**{} campaigns not settled** within the {:.0} s settle wait",
                n(&s["unsettledAfterSettleWait"]),
                s["settleWaitSeconds"].as_f64().unwrap_or(0.0)
            ),
        },
        format!("errors and retries: {}", counters_line(s)),
        format!(
            "starts observed by: {}; recovered by hand: {} {}{}",
            s["observed"]
                .as_object()
                .map(|m| m
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            n(&s["recoveredByHand"]),
            s["recoveredByHandReasons"],
            if n(&s["discoveryResumedByHand"]) > 0 {
                format!(
                    "; failed discoveries restarted by hand: {}",
                    n(&s["discoveryResumedByHand"])
                )
            } else {
                String::new()
            }
        ),
    ];
    if s["flow"] == "seed" {
        lines.push(format!(
            "seed start call: 202 (manual start won) {}, 409 PHASE_ALREADY_RUNNING (the server had started it) {}",
            n(&s["counters"]["seed_start_202_manual_won"]),
            n(&s["counters"]["seed_start_409_server_won"])
        ));
    }
    let e = &s["events"];
    lines.push(format!(
        "events: {} received, {} applied, {} duplicates, {} superseded by a resync, {} out of order, {} not matching the stream",
        n(&e["received"]),
        n(&e["applied"]),
        n(&e["duplicates"]),
        n(&e["supersededByResync"]),
        count(&e["outOfOrder"]),
        count(&e["mismatches"])
    ));
    let t = &s["stream"]["totals"];
    lines.push(format!(
        "stream (read from TRIM_HORIZON, independent of the WebSocket; {} records in the stream, read in {:.1} s): {} records of these campaigns; discovery: {} starts, {} pauses, {} resumes, {} stops, {} restarts; {} campaigns interrupted ({} of them completed); sweeper re-drives {}; longest a running phase stood still {:.1} s, an auto-start stayed queued {:.1} s (limits {:.0} s / {:.0} s; the longest wait a queue's backlog explained {:.1} s)",
        n(&s["stream"]["recordsInStream"]),
        s["stream"]["readSeconds"].as_f64().unwrap_or(0.0),
        n(&t["records"]),
        n(&t["discoveryStarts"]),
        n(&t["discoveryPauses"]),
        n(&t["discoveryResumes"]),
        n(&t["discoveryStops"]),
        n(&t["discoveryRestarts"]),
        n(&t["interrupted"]),
        n(&t["interruptedCompleted"]),
        t["recoveries"],
        t["longestStillMs"].as_f64().unwrap_or(0.0) / 1000.0,
        t["longestQueuedMs"].as_f64().unwrap_or(0.0) / 1000.0,
        s["stream"]["staleBounds"]["phaseMs"].as_f64().unwrap_or(0.0) / 1000.0,
        s["stream"]["staleBounds"]["queuedMs"].as_f64().unwrap_or(0.0) / 1000.0,
        t["longestBacklogWaitMs"].as_f64().unwrap_or(0.0) / 1000.0,
    ));
    if !s["proof"].is_null() {
        lines.push(format!("what proves the fault struck: {}", s["proof"]));
    }
    if !s["listing"].is_null() {
        lines.push(format!(
            "listings: {} campaigns listed for {} users, {} double-created, {} left by creates given up",
            n(&s["listing"]["listed"]),
            n(&s["listing"]["users"]),
            count(&s["listing"]["doubleCreated"]),
            n(&s["listing"]["ofGivenUpCreates"])
        ));
    }
    if let Some(states) = s["finalStates"].as_object() {
        lines.push(format!(
            "final states: {}",
            states
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    if let Some(q) = s["queues"].as_array() {
        lines.push(format!(
            "queues at the end (visible/in flight/delayed, most seen while draining): {}",
            q.iter()
                .map(|q| format!(
                    "{} {}/{}/{} ({}){}",
                    q["name"].as_str().unwrap_or("?"),
                    n(&q["visible"]),
                    n(&q["inFlight"]),
                    n(&q["delayed"]),
                    n(&q["maxSeen"]),
                    if q["checked"] == true {
                        ""
                    } else {
                        " [not consumed; reported only]"
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(h) = s["chaosHeldAfterWizards"].as_object() {
        lines.push(format!(
            "chaos {} kept armed {:.1} s after the wizards stopped ({}), then turned off before settling",
            s["chaos"],
            h["seconds"].as_f64().unwrap_or(0.0),
            match (
                h.get("until").and_then(Value::as_str),
                h.get("queuesDrained") == Some(&Value::Bool(true)),
            ) {
                (Some(until), _) => until,
                (None, true) => "until the work queues were empty",
                (None, false) => "the work queues were not empty yet",
            }
        ));
    }
    if let Some(d) = s["queueDepths"].as_object() {
        lines.push(format!(
            "queue depth during the run (max, at s): {}",
            d.iter()
                .map(|(k, v)| format!(
                    "{k} {} ({:.0} s)",
                    n(&v["max"]),
                    v["maxAtS"].as_f64().unwrap_or(0.0)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(r) = s["restart"].as_object() {
        lines.push(format!(
            "moto restart: `{}` from {:.1} s to {:.1} s ({}); {} campaigns created before it (lost with moto, not audited), {} during it (not audited), {} after it (audited)",
            r["command"].as_str().unwrap_or_default(),
            r["startedS"].as_f64().unwrap_or(0.0),
            r["endedS"].as_f64().unwrap_or(0.0),
            if r["ok"] == true { "ok" } else { "failed" },
            n(&s["beforeRestart"]),
            n(&s["straddlingRestart"]),
            n(&s["audited"])
        ));
    }
    for l in lines {
        out.push(format!("- {l}"));
    }
    for f in s["failures"].as_array().into_iter().flatten() {
        out.push(format!("- ❌ {}", f.as_str().unwrap_or_default()));
    }
    for e in s["errors"]["examples"]
        .as_array()
        .into_iter()
        .flatten()
        .take(5)
    {
        out.push(format!(
            "- client error: {}",
            e.as_str().unwrap_or_default()
        ));
    }
    out.push(String::new());
}
