//! The report of `latency-profile` (`src/latency.rs`): the hops' percentiles and shares, the
//! floor and the ratio to it, the moto calls on the path, CPU per campaign and idle — as JSON
//! and as markdown.

use std::collections::BTreeMap;

use bench::percentiles;
use serde_json::{Value, json};

use crate::latency_path::{self, HOPS, Path};

fn ms(us: i64) -> f64 {
    us as f64 / 1000.0
}

fn p(v: &Value, k: &str) -> String {
    v[k].as_f64()
        .map(|x| format!("{x:.1}"))
        .unwrap_or_else(|| "–".into())
}

pub fn report(
    label: &str,
    paths: &[Path],
    create: &[f64],
    idle: &Value,
    cpu_per_campaign: &BTreeMap<String, f64>,
    load: (Option<f64>, Option<f64>),
    errors: &[String],
) -> (Value, String) {
    let total = percentiles(paths.iter().map(|p| ms(p.total_us)).collect());
    let floor = percentiles(paths.iter().map(|p| ms(p.floor_us)).collect());
    let ratios = percentiles(
        paths
            .iter()
            .map(|p| p.total_us as f64 / p.floor_us.max(1) as f64)
            .collect(),
    );
    let p95_ratio =
        total["p95"].as_f64().unwrap_or(0.0) / floor["p95"].as_f64().unwrap_or(f64::NAN);
    let hops: Vec<Value> = HOPS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let len = percentiles(paths.iter().map(|p| ms(p.hops[i].0)).collect());
            let moto = percentiles(paths.iter().map(|p| ms(p.hops[i].1)).collect());
            let share = paths
                .iter()
                .map(|p| p.hops[i].0 as f64 / p.total_us.max(1) as f64)
                .sum::<f64>()
                / paths.len().max(1) as f64;
            json!({"hop": name, "ms": len, "motoMs": moto, "share": share})
        })
        .collect();
    let calls: Vec<Value> = latency_path::calls_by_label(paths)
        .into_iter()
        .map(|(label, v)| {
            let per = v.len() as f64 / paths.len().max(1) as f64;
            json!({"call": label, "perCreate": per, "ms": percentiles(v)})
        })
        .collect();
    let result = json!({
        "label": label,
        "machine": bench::loadgen::report::machine(),
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "campaigns": paths.len(),
        "loadAverage": {"start": load.0, "end": load.1},
        "errors": errors,
        "createToAutoStartedMs": total,
        "floorMs": floor,
        "ratioToFloor": {"p50OfPerCreate": ratios["p50"], "p95OfPerCreate": ratios["p95"], "p95TotalOverP95Floor": p95_ratio},
        "createMs": percentiles(create.to_vec()),
        "hops": hops,
        "motoCalls": calls,
        "idle": idle,
        "cpuMsPerCampaign": cpu_per_campaign,
        "samples": paths.iter().map(|p| json!({
            "totalMs": ms(p.total_us),
            "floorMs": ms(p.floor_us),
            "hopsMs": p.hops.iter().map(|h| ms(h.0)).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    let mut md = vec![
        format!(
            "## Idle create → `phase_auto_started` (gateway `{label}`, {} campaigns one at a time)",
            paths.len()
        ),
        String::new(),
        format!(
            "1-minute load average of the machine at the start / end: {} / {} (2 cores; other work shares them)",
            load.0.map_or("?".into(), |l| format!("{l:.1}")),
            load.1.map_or("?".into(), |l| format!("{l:.1}"))
        ),
        String::new(),
        "| measure | p50 ms | p95 ms | max ms |".into(),
        "|---|---|---|---|".into(),
        format!(
            "| create → `phase_auto_started` (client) | {} | {} | {} |",
            p(&total, "p50"),
            p(&total, "p95"),
            p(&total, "max")
        ),
        format!(
            "| floor: moto's own time on the path | {} | {} | {} |",
            p(&floor, "p50"),
            p(&floor, "p95"),
            p(&floor, "max")
        ),
        format!(
            "| POST /campaigns (client) | {} | {} | {} |",
            p(&result["createMs"], "p50"),
            p(&result["createMs"], "p95"),
            p(&result["createMs"], "max")
        ),
        String::new(),
        format!(
            "ratio to the floor: p50 of per-create ratios {:.2}, p95 {:.2}; p95 total / p95 floor {:.2}",
            ratios["p50"].as_f64().unwrap_or(f64::NAN),
            ratios["p95"].as_f64().unwrap_or(f64::NAN),
            p95_ratio
        ),
        String::new(),
        "| hop | p50 ms | p95 ms | share (mean) | moto p50 ms |".into(),
        "|---|---|---|---|---|".into(),
    ];
    for h in &hops {
        md.push(format!(
            "| {} | {} | {} | {:.0} % | {} |",
            h["hop"].as_str().unwrap_or_default(),
            p(&h["ms"], "p50"),
            p(&h["ms"], "p95"),
            h["share"].as_f64().unwrap_or(0.0) * 100.0,
            p(&h["motoMs"], "p50"),
        ));
    }
    md.push(String::new());
    md.push("| moto call on the path | per create | p50 ms | p95 ms |".into());
    md.push("|---|---|---|---|".into());
    for c in &calls {
        md.push(format!(
            "| {} | {:.1} | {} | {} |",
            c["call"].as_str().unwrap_or_default(),
            c["perCreate"].as_f64().unwrap_or(0.0),
            p(&c["ms"], "p50"),
            p(&c["ms"], "p95")
        ));
    }
    md.push(String::new());
    if !cpu_per_campaign.is_empty() {
        let parts: Vec<String> = cpu_per_campaign
            .iter()
            .map(|(k, v)| format!("{k} {v:.0} ms"))
            .collect();
        md.push(format!(
            "CPU per campaign (create, auto-start, discovery of 10 domains, events): {:.0} ms ({})",
            cpu_per_campaign.values().sum::<f64>(),
            parts.join(", ")
        ));
    }
    for (what, w) in [
        (
            "right after the work (sweeper at its fast pace)",
            &idle["afterWork"],
        ),
        ("idle (the stack quiet, sweeper at its slow pace)", idle),
    ] {
        idle_lines(&mut md, what, w);
    }
    for e in errors.iter().take(5) {
        md.push(format!("- error: {e}"));
    }
    (result, md.join("\n"))
}

/// CPU and requests to moto of one idle window.
fn idle_lines(md: &mut Vec<String>, what: &str, w: &Value) {
    if let Some(cpu) = w["cpuPercent"].as_object() {
        let parts: Vec<String> = cpu
            .iter()
            .map(|(k, v)| format!("{k} {:.1} %", v.as_f64().unwrap_or(0.0)))
            .collect();
        md.push(format!(
            "{what}, {:.0} s: CPU {:.1} % of one core ({})",
            w["seconds"].as_f64().unwrap_or(0.0),
            w["totalCpuPercent"].as_f64().unwrap_or(0.0),
            parts.join(", ")
        ));
    }
    if let Some(rates) = w["requestsPerSecond"].as_object() {
        let parts: Vec<String> = rates
            .iter()
            .map(|(k, v)| format!("{k} {:.2}", v.as_f64().unwrap_or(0.0)))
            .collect();
        md.push(format!(
            "{what}: requests to moto per second {:.2} ({})",
            w["totalRequestsPerSecond"].as_f64().unwrap_or(0.0),
            parts.join(", ")
        ));
    }
}
