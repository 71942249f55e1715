//! The markdown report of a load run (`target/bench/load.md`): the summary table (one row per
//! scenario) here, each scenario's section in `section.rs`.

mod one_bad;
mod section;

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
        let mut text = if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(", ")
        };
        let discarded = n(&s["streamDiscards"]["batches"]);
        if discarded > 0 {
            text += &format!(
                "; {discarded} stream batches ({} records) to the on-failure queue",
                n(&s["streamDiscards"]["records"])
            );
        }
        return text;
    }
    if s["flow"] == "storm" {
        let t = &s["stream"]["totals"];
        return format!(
            "storm (client): {} pauses, {} resumes, {} stops, {} restarts landed",
            n(&t["discoveryPauses"]),
            n(&t["discoveryResumes"]),
            n(&t["discoveryStops"]),
            n(&t["discoveryRestarts"])
        );
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
    if s["kind"] == "oneBadConnection" {
        return one_bad::summary_row(s);
    }
    if name == "cost" {
        let verdict = match s["failures"][0].as_str() {
            Some(why) => format!("❌ {why}"),
            None => "measured (section below)".into(),
        };
        return format!(
            "| cost | – | 3 runs of {} | – | – | – | – | – | – | – | {verdict} |",
            s["config"]["campaigns"]
        );
    }
    if let Some(why) = s["skipped"].as_str() {
        return format!("| {name} | – | – | – | – | – | – | – | – | – | skipped: {why} |");
    }
    if s["invariants"].is_null() {
        let why = s["failures"][0].as_str().unwrap_or("failed");
        return format!("| {name} | – | – | – | – | – | – | – | – | – | ❌ {why} |");
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
        "| {name} | {} | {campaigns} | {} | {} | {} | {} | {domains} | {} | {hand} | {verdict} |",
        injected(s),
        count(&inv["lost"]),
        count(&inv["doubleCreated"]),
        count(&inv["doubleStarted"]),
        count(&inv["stuck"]) + count(&inv["pausedMoved"]),
        count(&inv["queuedLeftovers"]),
    )
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
        "| scenario | injected | campaigns | lost | double-created | double-started | stuck (inv. 5) | domain counts exact | left queued | recovered by hand | invariants |".into(),
        "|---|---|---|---|---|---|---|---|---|---|---|".into(),
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
        match s["markdown"].as_str() {
            Some(cost) => out.extend([String::new(), cost.replacen("# ", "## ", 1)]),
            None => section::scenario_section(s, &mut out),
        }
    }
    out.join("\n")
}
