//! The cost run's markdown (`target/bench/cost.md`, also a section of `load.md`): $ per 1,000
//! Full Auto campaigns by service and phase, storage per month, the Lambda functions and DynamoDB
//! tables behind the totals, and what is not per campaign.
//!
//! Invariant: every figure is the run's JSON scaled by 1,000 / campaigns of that run; nothing is
//! typed in here but the prices' sources and the sweeper's schedule (one run a minute).

use serde_json::Value;

/// Sweeper runs in a 30.4-day month at EventBridge's `rate(1 minute)`.
const SWEEPS_PER_MONTH: f64 = 43_800.0;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

fn usd(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("${x:.0}")
    } else if x.abs() >= 1.0 {
        format!("${x:.2}")
    } else {
        format!("${x:.4}")
    }
}

fn qty(x: f64) -> String {
    if x.abs() >= 1000.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

/// Per 1,000 campaigns.
fn scale(run: &Value) -> f64 {
    1000.0 / f(&run["campaigns"]).max(1.0)
}

/// `(service, item)` → (quantity, $) of one run's lines, scaled.
fn lines(run: &Value, key: &str) -> Vec<(String, String, String, f64, f64)> {
    let k = scale(run);
    run["priced"][key]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["service"].as_str().unwrap_or_default().to_string(),
                l["item"].as_str().unwrap_or_default().to_string(),
                l["unit"].as_str().unwrap_or_default().to_string(),
                f(&l["quantity"]) * k,
                f(&l["usd"]) * k,
            )
        })
        .collect()
}

fn find(lines: &[(String, String, String, f64, f64)], service: &str, item: &str) -> (f64, f64) {
    lines
        .iter()
        .find(|l| l.0 == service && l.1 == item)
        .map_or((0.0, 0.0), |l| (l.3, l.4))
}

pub fn markdown(out: &Value) -> String {
    let runs = out["runs"].as_array().cloned().unwrap_or_default();
    let cfg = &out["config"];
    let mut md = vec![
        "# What a campaign costs".to_string(),
        String::new(),
        format!(
            "{}; machine: {}; {} campaigns of {} domains per run, {} of them resolving ({} %), all campaigns of a run at once, one user and WebSocket per campaign; wall {:.0} s.",
            out["date"].as_str().unwrap_or_default(),
            out["machine"].as_str().unwrap_or_default(),
            cfg["campaigns"],
            cfg["domains"],
            cfg["resolvedDomains"],
            cfg["resolvedPercent"],
            f(&out["wallSeconds"]),
        ),
        format!(
            "Prices: on-demand list prices, {}, read {} (sources below); no free tier.",
            out["prices"]["region"].as_str().unwrap_or_default(),
            out["prices"]["date"].as_str().unwrap_or_default()
        ),
        String::new(),
    ];
    if runs.len() != 3 {
        md.push("(incomplete: not all three runs ended)".into());
        return md.join("\n");
    }
    let per_run: Vec<_> = runs.iter().map(|r| lines(r, "lines")).collect();
    md.push(format!(
        "## $ per 1,000 Full Auto campaigns of {} domains",
        cfg["domains"]
    ));
    md.push(String::new());
    md.push("Discovery = the discovery-only run; validation and keywords = what each run added to the one before. The last two columns: the campaigns that ran all three phases.".into());
    md.push(String::new());
    md.push("| service | item | unit | discovery | validation | keywords | all three: quantity | all three: $ |".into());
    md.push("|---|---|---|---:|---:|---:|---:|---:|".into());
    let mut totals = [0.0f64; 4];
    for (service, item, unit, _, _) in &per_run[2] {
        let [a, b, c] = [0, 1, 2].map(|i| find(&per_run[i], service, item));
        let (d, v, k) = (a.1, b.1 - a.1, c.1 - b.1);
        totals[0] += d;
        totals[1] += v;
        totals[2] += k;
        totals[3] += c.1;
        md.push(format!(
            "| {service} | {item} | {unit} | {} | {} | {} | {} | {} |",
            usd(d),
            usd(v),
            usd(k),
            qty(c.0),
            usd(c.1)
        ));
    }
    md.push(format!(
        "| **total** | | | **{}** | **{}** | **{}** | | **{}** |",
        usd(totals[0]),
        usd(totals[1]),
        usd(totals[2]),
        usd(totals[3])
    ));
    md.push(String::new());

    let all = &runs[2];
    let k = scale(all);
    md.push("## Storage, per 1,000 campaigns (all three phases) and month kept".into());
    md.push(String::new());
    md.push("| item | GB-month | $ per month |".into());
    md.push("|---|---:|---:|".into());
    let storage = lines(all, "storage");
    for (_, item, _, q, d) in storage.iter().filter(|l| l.4.abs() > 0.0) {
        md.push(format!("| {item} | {} | {} |", qty(*q), usd(*d)));
    }
    md.push(format!(
        "| **total** | | **{}** |",
        usd(storage.iter().map(|l| l.4).sum())
    ));
    md.push(String::new());

    md.push("## Lambda by function (all three phases, per 1,000 campaigns)".into());
    md.push(String::new());
    md.push("| function | invocations | billed ms per invocation | its SDK requests' time per invocation (moto; concurrent requests add up) | GB-s | $ |".into());
    md.push("|---|---:|---:|---:|---:|---:|".into());
    for (name, c) in all["priced"]["functions"].as_object().into_iter().flatten() {
        let n = f(&c["invocations"]).max(1.0);
        md.push(format!(
            "| {name} | {} | {:.1} | {:.1} | {} | {} |",
            qty(f(&c["invocations"]) * k),
            f(&c["billedMs"]) / n,
            f(&c["awsWaitMs"]) / n,
            qty(f(&c["gbSeconds"]) * k),
            usd(f(&c["usd"]) * k)
        ));
    }
    md.push(String::new());

    md.push("## DynamoDB by table (all three phases, per 1,000 campaigns)".into());
    md.push(String::new());
    md.push("| table (/index) | requests | WRU | GSI WRU | RRU | $ |".into());
    md.push("|---|---:|---:|---:|---:|---:|".into());
    for (table, t) in all["priced"]["tables"].as_object().into_iter().flatten() {
        let w = f(&t["wru"]) + f(&t["indexWru"]);
        let dollars = w * super::prices::DYNAMODB_WRU + f(&t["rru"]) * super::prices::DYNAMODB_RRU;
        md.push(format!(
            "| {} | {} | {} | {} | {} | {} |",
            if table.is_empty() {
                "(TransactWriteItems requests; their units are under each table)"
            } else {
                table
            },
            qty(f(&t["requests"]) * k),
            qty(f(&t["wru"]) * k),
            qty(f(&t["indexWru"]) * k),
            qty(f(&t["rru"]) * k),
            usd(dollars * k)
        ));
    }
    md.push(String::new());

    md.push("## Not per campaign".into());
    md.push(String::new());
    let apart = lines(all, "apart");
    let runs_swept = f(&all["priced"]["sweeperRuns"]).max(1.0);
    let sweep_usd: f64 = apart
        .iter()
        .filter(|l| l.1.starts_with("sweeper"))
        .map(|l| l.4 / k)
        .sum::<f64>()
        / runs_swept;
    md.push(format!(
        "- **Sweeper**: {runs_swept:.0} runs during the run cost {} each on average (its Lambda request and duration, its index query and re-drives) with {} campaigns in flight: at one run a minute, {} a month.",
        usd(sweep_usd),
        all["campaigns"],
        usd(sweep_usd * SWEEPS_PER_MONTH)
    ));
    let (idle, _) = find(
        &apart,
        "SQS",
        "empty receives of the event-source mappings (idle polling)",
    );
    md.push(format!(
        "- **Idle polling**: the local pollers' empty receives ({:.0} in the run) are a matter of time, not of campaigns; in AWS, Lambda's pollers of each SQS mapping make their own (docs/DEPLOY.md).",
        idle / k
    ));
    md.push(format!(
        "- **Not priced**: {:.0} requests of the local stack itself and of the load generator (`gateway`, `other`), never made in AWS.",
        f(&all["priced"]["unpricedRequests"])
    ));
    md.push(String::new());
    md.push("Sources:".into());
    for s in out["prices"]["sources"].as_array().into_iter().flatten() {
        md.push(format!(
            "- {}: {}",
            s[0].as_str().unwrap_or_default(),
            s[1].as_str().unwrap_or_default()
        ));
    }
    md.join("\n")
}
