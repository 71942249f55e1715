//! The markdown report of a load run (`target/bench/load.md`).

use serde_json::Value;

use crate::row;

/// `nproc`, memory and architecture of this machine.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or("?".to_string(), |kb| format!("{:.0}", kb / 1024.0 / 1024.0));
    let profile = std::env::var("STACK_PROFILE")
        .map(|p| format!("gateway profile `{p}`"))
        .unwrap_or_else(|_| "gateway profile `dev` (STACK_PROFILE unset)".into());
    format!(
        "{cores} cores, {mem_gib} GiB, {}; local stack on moto 5.2.5 ({profile})",
        std::env::consts::ARCH
    )
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

fn count(v: &Value) -> u64 {
    v["count"].as_u64().unwrap_or(0)
}

/// The `injected` column: the chaos counters, or what the bench itself did.
fn injected(s: &Value) -> String {
    if let Some(map) = s["injected"].as_object() {
        let parts: Vec<String> = map
            .iter()
            .filter(|(_, v)| n(v) > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        return if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        };
    }
    if s["wsDropProbability"].as_f64().unwrap_or(0.0) > 0.0 {
        return format!("{} socket drops (client)", n(&s["counters"]["ws_drops"]));
    }
    if !s["restart"].is_null() {
        return format!(
            "moto restarted at {:.1} s ({:.1} s)",
            s["restart"]["startedS"].as_f64().unwrap_or(0.0),
            s["restart"]["endedS"].as_f64().unwrap_or(0.0)
                - s["restart"]["startedS"].as_f64().unwrap_or(0.0)
        );
    }
    "–".into()
}

fn summary_row(s: &Value) -> String {
    let name = s["name"].as_str().unwrap_or("?");
    if let Some(why) = s["skipped"].as_str() {
        return format!("| {name} | – | – | – | – | – | – | – | skipped: {why} |");
    }
    if s["invariants"].is_null() {
        let why = s["failures"][0].as_str().unwrap_or("failed");
        return format!("| {name} | – | – | – | – | – | – | – | ❌ {why} |");
    }
    let inv = &s["invariants"];
    let mut campaigns = format!("{}", n(&s["audited"]));
    if n(&s["beforeRestart"]) > 0 || n(&s["straddlingRestart"]) > 0 {
        campaigns += &format!(
            " after the restart (+{} before it, lost with moto; {} during it, not audited)",
            n(&s["beforeRestart"]),
            n(&s["straddlingRestart"])
        );
    }
    let domains = if count(&inv["wrongDomainCounts"]) == 0 && count(&inv["notCompleted"]) == 0 {
        format!(
            "yes ({}/{})",
            n(&s["domains"]["exact"]),
            n(&s["domains"]["checked"])
        )
    } else {
        format!(
            "no ({} wrong, {} not completed)",
            count(&inv["wrongDomainCounts"]),
            count(&inv["notCompleted"])
        )
    };
    let verdict = if s["ok"] == true {
        "✅ hold".to_string()
    } else {
        format!(
            "❌ {}",
            s["failures"]
                .as_array()
                .map(|f| f.len())
                .unwrap_or_default()
        ) + " failed"
    };
    let hand = n(&s["recoveredByHand"]) + n(&s["discoveryResumedByHand"]);
    format!(
        "| {name} | {} | {campaigns} | {} | {} | {domains} | {} | {hand} | {verdict} |",
        injected(s),
        count(&inv["lost"]),
        count(&inv["doubleStarted"]),
        count(&inv["queuedLeftovers"]),
    )
}

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

fn scenario_section(s: &Value, out: &mut Vec<String>) {
    let name = s["name"].as_str().unwrap_or("?");
    out.push(format!("## {name}"));
    out.push(String::new());
    if let Some(why) = s["skipped"].as_str() {
        out.push(format!("Skipped: {why}."));
        out.push(String::new());
        return;
    }
    if s["latency"].is_null() {
        for f in s["failures"].as_array().into_iter().flatten() {
            out.push(format!("- ❌ {}", f.as_str().unwrap_or_default()));
        }
        out.push(String::new());
        return;
    }
    let flow = if s["flow"] == "seed" {
        "the seed's 3-call flow"
    } else {
        "server-driven Full Auto"
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
    lines.push(format!(
        "stream (read from TRIM_HORIZON, independent of the WebSocket; {} records in the stream, read in {:.1} s): {} records of these campaigns, {} discovery starts, {} restarts of a failed discovery",
        n(&s["stream"]["recordsInStream"]),
        s["stream"]["readSeconds"].as_f64().unwrap_or(0.0),
        n(&s["stream"]["recordsOfTheseCampaigns"]),
        n(&s["stream"]["discoveryStarts"]),
        n(&s["stream"]["discoveryResumes"])
    ));
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
            if h["queuesDrained"] == true {
                "until the work queues were empty"
            } else {
                "the work queues were not empty yet"
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

/// The whole report.
pub fn markdown(run: &Value) -> String {
    let scenarios = run["scenarios"].as_array().cloned().unwrap_or_default();
    let mut out = vec![
        "# Load and chaos run".to_string(),
        String::new(),
        format!(
            "{}; machine: {}; {} wizards, {} campaigns per scenario (chaos scenarios {}, seed {}), {} domains per campaign; wall {:.1} s.",
            run["date"].as_str().unwrap_or_default(),
            run["machine"].as_str().unwrap_or_default(),
            n(&run["config"]["wizards"]),
            n(&run["config"]["campaigns"]),
            n(&run["config"]["chaosCampaigns"]),
            n(&run["config"]["seedCampaigns"]),
            n(&run["config"]["domains"]),
            run["wallSeconds"].as_f64().unwrap_or(0.0),
        ),
        String::new(),
        "| scenario | injected | campaigns | lost | double-started | domain counts exact | left queued | recovered by hand | invariants |".into(),
        "|---|---|---|---|---|---|---|---|---|".into(),
    ];
    out.extend(scenarios.iter().map(summary_row));
    out.push(String::new());

    let find = |name: &str| {
        scenarios
            .iter()
            .find(|s| s["name"] == name && !s["latency"].is_null())
    };
    if let (Some(b), Some(seed)) = (find("baseline"), find("seed")) {
        out.push(
            "| create → discovery running, at the client | n | p50 ms | p95 ms | p99 ms | max ms |"
                .into(),
        );
        out.push("|---|---|---|---|---|---|".into());
        out.push(row(
            "server-driven: create → `phase_auto_started` event",
            &b["latency"]["createToPhaseAutoStartedMs"],
        ));
        out.push(row(
            "seed 3-call flow: create → third call answered",
            &seed["latency"]["seedCallsMs"],
        ));
        out.push(row(
            "seed 3-call flow: create → discovery start event",
            &seed["latency"]["createToDiscoveryStartEventMs"],
        ));
        out.push(String::new());
    }
    for s in &scenarios {
        scenario_section(s, &mut out);
    }
    out.join("\n")
}
