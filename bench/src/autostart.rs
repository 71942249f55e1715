//! Auto-start benchmarks against the running local stack (`make bench`):
//!
//! 1. create → discovery running: `BENCH_CAMPAIGNS` (200) Full Auto campaigns created by
//!    `BENCH_CONCURRENCY` (10) clients; the client watches `GET /status` every 25 ms. Reports the
//!    create latency, the client-observed create → running time, and the server's
//!    `autoStart.latencyMs` (requestedAt → startedAt commit), p50/p95/p99/max.
//! 2. discovery throughput: one manual campaign of `BENCH_DOMAINS` (100,000) domains, from the
//!    start commit to the completion commit (server timestamps).
//!
//! Prints a markdown table and writes `target/bench/autostart.json`. Talks to 127.0.0.1 only;
//! every loop is bounded in count and time.

use std::time::{Duration, Instant};

use bench::{env, percentiles, phase_seconds, row, run_phase_by_hand};
use integration_tests::{Client, campaign_body, ms, phase};
use serde_json::json;

async fn one_campaign(c: &Client) -> Result<(f64, f64, f64), String> {
    let t0 = Instant::now();
    let created = c
        .post("/campaigns", &campaign_body("full_sequence", 10))
        .await;
    let create_ms = ms(t0.elapsed());
    if created.status.as_u16() != 201 {
        return Err(format!("create: {} {}", created.status, created.body));
    }
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = c.get(&format!("/campaigns/{id}/status")).await.body;
        if s["autoStart"]["status"] == "started" {
            let observed = ms(t0.elapsed());
            let server = s["autoStart"]["latencyMs"].as_f64().unwrap_or(f64::NAN);
            return Ok((create_ms, observed, server));
        }
        if s["autoStart"]["status"] == "failed" || Instant::now() > deadline {
            return Err(format!("auto-start did not start: {s}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::main]
async fn main() {
    let campaigns = env("BENCH_CAMPAIGNS", 200);
    let concurrency = env("BENCH_CONCURRENCY", 10).max(1);
    let domains = env("BENCH_DOMAINS", 100_000);

    // 1. create → running
    let started = Instant::now();
    let per_client = campaigns.div_ceil(concurrency);
    let clients =
        futures_util::future::join_all((0..concurrency).map(|_| Client::new_user())).await;
    let runs = clients.iter().map(|c| async move {
        let mut out = Vec::new();
        for _ in 0..per_client {
            out.push(one_campaign(c).await);
        }
        out
    });
    let results: Vec<Result<(f64, f64, f64), String>> = futures_util::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let elapsed = started.elapsed().as_secs_f64();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let ok: Vec<(f64, f64, f64)> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let create = percentiles(ok.iter().map(|r| r.0).collect());
    let observed = percentiles(ok.iter().map(|r| r.1).collect());
    let server = percentiles(ok.iter().map(|r| r.2).collect());

    // 2. discovery throughput
    let c = Client::new_user().await;
    let mut body = campaign_body("step_by_step", domains);
    body["config"]["discovery"]["variableLength"] = json!(4);
    let id = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let done = run_phase_by_hand(&c, &id, "discovery", Duration::from_secs(600)).await;
    let secs = phase_seconds(phase(&done, "discovery"));
    let rate = domains as f64 / secs.max(0.001);

    let result = json!({
        "machine": "2 cores, 24 GiB, x86_64; local stack on moto 5.2.5",
        "campaigns": campaigns, "concurrency": concurrency, "errors": errors.len(), "wallSeconds": elapsed,
        "createMs": create, "createToRunningObservedMs": observed, "autoStartLatencyServerMs": server,
        "discovery": {"domains": domains, "seconds": secs, "domainsPerSecond": rate},
    });
    println!(
        "| measure ({} campaigns, {concurrency} concurrent clients) | n | p50 ms | p95 ms | p99 ms | max ms |",
        campaigns
    );
    println!("|---|---|---|---|---|---|");
    println!("{}", row("POST /campaigns", &create));
    println!(
        "{}",
        row(
            "create → discovery running (client, 25 ms polls)",
            &observed
        )
    );
    println!(
        "{}",
        row("autoStart.latencyMs (requestedAt → start commit)", &server)
    );
    println!();
    println!(
        "discovery: {domains} domains in {secs:.2} s = {rate:.0} domains/s; errors: {}",
        errors.len()
    );
    for e in errors.iter().take(5) {
        println!("error: {e}");
    }
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write(
        "target/bench/autostart.json",
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    );
    if !errors.is_empty() {
        std::process::exit(1);
    }
}
