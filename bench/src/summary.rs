//! `bench-summary`: the figures of one `make bench` run side by side, against issue 19's goals —
//! idle create → `phase_auto_started` and its ratio to the floor (`latency-profile`, in each
//! build it ran against), idle CPU, the 50-wizard load and the seed's 3-call flow (`load-bench`),
//! and the time from the load's last create to its last discovery completion.
//!
//! Reads `target/bench/latency-*.json` and `target/bench/load.json`; the discovery completion
//! times are read from the campaigns table (the load's campaigns are still there while the stack
//! runs). Prints markdown and writes `target/bench/summary.md`. Talks to 127.0.0.1 only.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Utc};
use serde_json::Value;

fn read(path: &str) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

fn f(v: &Value) -> String {
    v.as_f64()
        .map(|x| {
            if x >= 100.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.1}")
            }
        })
        .unwrap_or_else(|| "–".into())
}

fn pair(p: &Value) -> String {
    format!("{} / {}", f(&p["p50"]), f(&p["p95"]))
}

/// Discovery's `completedAt` of each campaign, from the campaigns table.
async fn completions(ids: &[String]) -> Result<HashMap<String, DateTime<Utc>>, String> {
    let sdk = campaign_shared::sdk::load_sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    let mut out = HashMap::new();
    for chunk in ids.chunks(100) {
        let keys = chunk
            .iter()
            .map(|id| HashMap::from([("id".to_string(), AttributeValue::S(id.clone()))]))
            .collect();
        let mut request = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .build()
                .map_err(|e| e.to_string())?,
        );
        while let Some(r) = request.take() {
            let got = ddb
                .batch_get_item()
                .request_items(&table, r)
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
            for item in got
                .responses
                .and_then(|mut m| m.remove(&table))
                .unwrap_or_default()
            {
                let v: Value = serde_dynamo::from_item(item).map_err(|e| e.to_string())?;
                let done = integration_tests::phase(&v, "discovery")["completedAt"]
                    .as_str()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
                if let (Some(id), Some(done)) = (v["id"].as_str(), done) {
                    out.insert(id.to_string(), done.with_timezone(&Utc));
                }
            }
            request = got
                .unprocessed_keys
                .and_then(|mut m| m.remove(&table))
                .filter(|k| !k.keys().is_empty());
        }
    }
    Ok(out)
}

/// Last create (201) → last discovery completion of a scenario's campaigns, in seconds, and how
/// many of them completed.
async fn last_create_to_last_completion(scenario: &Value) -> Result<(f64, usize, usize), String> {
    let records = scenario["records"].as_array().ok_or("no records")?;
    let created: Vec<(String, DateTime<Utc>)> = records
        .iter()
        .filter_map(|r| {
            let at = DateTime::parse_from_rfc3339(r["createdAt"].as_str()?).ok()?;
            Some((r["id"].as_str()?.to_string(), at.with_timezone(&Utc)))
        })
        .collect();
    let last_create = created.iter().map(|c| c.1).max().ok_or("no creates")?;
    let ids: Vec<String> = created.iter().map(|c| c.0.clone()).collect();
    let done = completions(&ids).await?;
    let last_done = done.values().max().ok_or("no discovery completed")?;
    Ok((
        (*last_done - last_create).num_milliseconds() as f64 / 1000.0,
        done.len(),
        ids.len(),
    ))
}

#[tokio::main]
async fn main() {
    let mut md = vec![
        "## make bench: issue 19's figures side by side".to_string(),
        String::new(),
        "| measure | figure | goal |".into(),
        "|---|---|---|".into(),
    ];
    let mut labels: Vec<String> = std::fs::read_dir("target/bench")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    Some(
                        name.strip_prefix("latency-")?
                            .strip_suffix(".json")?
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    labels.sort();
    for label in &labels {
        let Some(l) = read(&format!("target/bench/latency-{label}.json")) else {
            continue;
        };
        let load = &l["loadAverage"];
        md.push(format!(
            "| idle create → `phase_auto_started` p50 / p95, gateway `{label}` ({} campaigns, load average {}–{}) | {} ms | p95 ≤ 100 ms (`dev`) |",
            l["campaigns"],
            f(&load["start"]),
            f(&load["end"]),
            pair(&l["createToAutoStartedMs"])
        ));
        md.push(format!(
            "| floor (moto's own time on the path) p50 / p95, `{label}` | {} ms | – |",
            pair(&l["floorMs"])
        ));
        md.push(format!(
            "| ratio to the floor (p95 / p95; p50 of per-create ratios), `{label}` | {} ({}) | ≤ 1.5 |",
            f(&l["ratioToFloor"]["p95TotalOverP95Floor"]),
            f(&l["ratioToFloor"]["p50OfPerCreate"])
        ));
        if !l["idle"]["totalCpuPercent"].is_null() {
            md.push(format!(
                "| idle stack CPU over {:.0} s (moto + moto-sqs + gateway), `{label}` | {} % of a core | ≤ 3 % |",
                l["idle"]["seconds"].as_f64().unwrap_or(0.0),
                f(&l["idle"]["totalCpuPercent"])
            ));
        }
    }
    if let Some(load) = read("target/bench/load.json") {
        for s in load["scenarios"].as_array().into_iter().flatten() {
            let lat = &s["latency"];
            match s["name"].as_str() {
                Some("baseline") => {
                    md.push(format!(
                        "| {} wizards, {} campaigns: create → `phase_auto_started` p50 / p95 | {} ms | p50 ≤ 1,000 ms |",
                        s["wizardsRunning"],
                        s["created"],
                        pair(&lat["createToPhaseAutoStartedMs"])
                    ));
                    let figure = match last_create_to_last_completion(s).await {
                        Ok((secs, done, all)) => format!("{secs:.1} s ({done} of {all} completed)"),
                        Err(e) => format!("not measured: {e}"),
                    };
                    md.push(format!(
                        "| same run: last create → last discovery completed | {figure} | ≤ 60 s |"
                    ));
                }
                Some("seed") => {
                    md.push(format!(
                        "| seed's 3-call flow ({} campaigns): create → third call answered p50 / p95 | {} ms | – |",
                        s["created"],
                        pair(&lat["seedCallsMs"])
                    ));
                    md.push(format!(
                        "| seed's 3-call flow: create → discovery start event p50 / p95 | {} ms | – |",
                        pair(&lat["createToDiscoveryStartEventMs"])
                    ));
                }
                _ => {}
            }
        }
    }
    md.push(String::new());
    md.push(format!(
        "machine: {} (other work on it shares the cores: see the load averages)",
        bench::loadgen::report::machine()
    ));
    let md = md.join("\n");
    println!("{md}");
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write("target/bench/summary.md", md + "\n");
}
