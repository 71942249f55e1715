//! WebSocket event benchmarks against the running local stack (`make bench`):
//!
//! 1. commit → client latency with `BENCH_WS_CLIENTS` (100) connected clients: each client is its
//!    own user with one socket subscribed to `*`; each creates one Full Auto campaign of 2,000
//!    domains, `BENCH_WS_RATE` (10) creations per second (open loop), and reads its events until
//!    discovery completes. Latency = receive time − the event's `at` (the commit's `updatedAt`, ms
//!    precision, set just before the conditional write), over every event received.
//! 2. fan-out with `BENCH_WS_SUBSCRIBERS` sockets (at most, and by default,
//!    `QUOTA_WS_CONNECTIONS`: one user's sockets) subscribed to one campaign: a manual
//!    start of `BENCH_WS_FANOUT_DOMAINS` (50,000) domains, then a delete; for each event pushed
//!    to all of them, the latency to the first, the median and the last socket.
//!
//! Prints markdown tables and writes `target/bench/ws.json`. Talks to 127.0.0.1 only (the
//! stack's URLs); every loop is bounded in count and time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bench::{env, percentiles, row};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use integration_tests::{Client, Socket, campaign_body, token_for};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Reads events until `stop` holds (or `deadline`); returns (event, receive time) pairs.
async fn collect(
    ws: &mut Socket,
    campaign: &str,
    deadline: Instant,
    stop: impl Fn(&Value) -> bool,
) -> Vec<(Value, DateTime<Utc>)> {
    let mut out = Vec::new();
    while let Some(m) = ws
        .next(deadline.saturating_duration_since(Instant::now()))
        .await
    {
        let received = Utc::now();
        if m["campaignId"] != campaign {
            continue;
        }
        let done = stop(&m);
        out.push((m, received));
        if done {
            break;
        }
    }
    out
}

fn discovery_completed(e: &Value) -> bool {
    e["type"] == "phase_completed" && e["phase"] == "discovery"
}

/// Scenario 1: one user per client, one Full Auto campaign each.
async fn latency_with_clients(
    clients: usize,
    rate: f64,
) -> (Value, BTreeMap<String, Vec<f64>>, usize) {
    let users = futures_util::stream::iter(0..clients)
        .map(|_| Client::new_user())
        .buffer_unordered(20)
        .collect::<Vec<_>>()
        .await;
    let mut sockets = Vec::new();
    for chunk in users.chunks(20) {
        let opened = futures_util::future::join_all(chunk.iter().map(|c| async move {
            let mut s = Socket::connect(c).await;
            s.subscribe("*").await;
            s
        }))
        .await;
        sockets.extend(opened);
    }
    // Open loop: creation i starts at i / rate seconds, whatever the stack's pace.
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let runs = users
        .into_iter()
        .zip(sockets)
        .enumerate()
        .map(|(i, (c, mut ws))| {
            let at = start + Duration::from_secs_f64(i as f64 / rate);
            async move {
                let body = campaign_body("full_sequence", 2000);
                let id = {
                    tokio::time::sleep_until(at).await;
                    let r = c.post("/campaigns", &body).await;
                    if r.status.as_u16() != 201 {
                        return Err(format!("create: {} {}", r.status, r.body));
                    }
                    r.body["id"].as_str().unwrap_or_default().to_string()
                };
                let deadline = Instant::now() + Duration::from_secs(60);
                let events = collect(&mut ws, &id, deadline, discovery_completed).await;
                ws.close().await;
                if !events.last().is_some_and(|(e, _)| discovery_completed(e)) {
                    return Err(format!(
                        "campaign {id}: discovery completion not received in 60 s"
                    ));
                }
                Ok(events)
            }
        });
    let results = futures_util::future::join_all(runs).await;
    let mut all = Vec::new();
    let mut by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut errors = 0;
    for r in results {
        match r {
            Ok(events) => {
                for (e, received) in events {
                    if let Some(ms) = bench::event_latency_ms(&e, received) {
                        all.push(ms);
                        by_type
                            .entry(e["type"].as_str().unwrap_or_default().to_string())
                            .or_default()
                            .push(ms);
                    }
                }
            }
            Err(e) => {
                errors += 1;
                eprintln!("error: {e}");
            }
        }
    }
    (percentiles(all), by_type, errors)
}

/// Scenario 2: `subscribers` sockets on one campaign.
async fn fan_out(subscribers: usize, domains: u64) -> Result<Value, String> {
    let c = Client::new_user().await;
    let token = token_for(&c.user).await;
    let mut body = campaign_body("step_by_step", domains);
    body["config"]["discovery"]["variableLength"] = json!(4);
    let created = c.post("/campaigns", &body).await;
    if created.status.as_u16() != 201 {
        return Err(format!("create: {} {}", created.status, created.body));
    }
    let id = created.body["id"].as_str().unwrap_or_default().to_string();

    let connect_started = Instant::now();
    let mut sockets = Vec::with_capacity(subscribers);
    for _ in 0..subscribers.div_ceil(50) {
        let batch = (subscribers - sockets.len()).min(50);
        let opened = futures_util::future::join_all((0..batch).map(|_| async {
            let mut s = Socket::open(Some(&token))
                .await
                .map_err(|status| format!("handshake: {status}"))?;
            let answer = s.subscribe(&id).await;
            if answer["type"] != "subscribed" {
                return Err(format!("subscribe: {answer}"));
            }
            // Events up to this version are covered by the status the answer carries.
            let seen = answer["status"]["version"].as_u64().unwrap_or_default();
            Ok::<_, String>((s, seen))
        }))
        .await;
        for s in opened {
            sockets.push(s?);
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();

    // Every socket reports (type, version, latency) until the campaign is deleted.
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, u64, f64)>();
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|(mut ws, seen)| {
            let (tx, id) = (tx.clone(), id.clone());
            tokio::spawn(async move {
                let deadline = Instant::now() + Duration::from_secs(120);
                let events =
                    collect(&mut ws, &id, deadline, |e| e["type"] == "campaign_deleted").await;
                for (e, received) in events
                    .into_iter()
                    .filter(|(e, _)| e["version"].as_u64() > Some(seen))
                {
                    let kind = e["type"].as_str().unwrap_or_default().to_string();
                    let _ = tx.send((
                        kind,
                        e["version"].as_u64().unwrap_or_default(),
                        bench::event_latency_ms(&e, received).unwrap_or(f64::NAN),
                    ));
                }
                ws.close().await;
            })
        })
        .collect();
    drop(tx);

    let r = c
        .post(
            &format!("/campaigns/{id}/phases/discovery/start"),
            &json!({}),
        )
        .await;
    if r.status.as_u16() != 202 {
        return Err(format!("start: {} {}", r.status, r.body));
    }
    c.wait_status(&id, Duration::from_secs(120), |s| {
        s["phases"]
            .as_array()
            .is_some_and(|p| p.iter().all(|p| p["status"] != "running"))
    })
    .await;
    let r = c.delete(&format!("/campaigns/{id}")).await;
    if r.status.as_u16() != 204 {
        return Err(format!("delete: {} {}", r.status, r.body));
    }
    futures_util::future::join_all(readers).await;

    // Per pushed event: how long until the first, the median and the last socket had it.
    let mut per_event: BTreeMap<(u64, String), Vec<f64>> = BTreeMap::new();
    let mut all = Vec::new();
    while let Some((kind, version, ms)) = rx.recv().await {
        all.push(ms);
        per_event.entry((version, kind)).or_default().push(ms);
    }
    let mut first = Vec::new();
    let mut median = Vec::new();
    let mut last = Vec::new();
    let mut incomplete = 0;
    let mut events = Vec::new();
    for ((version, kind), mut v) in per_event {
        v.sort_by(|a, b| a.total_cmp(b));
        if v.len() < subscribers {
            incomplete += 1;
        }
        first.push(v[0]);
        median.push(v[v.len() / 2]);
        last.push(v[v.len() - 1]);
        events.push(json!({"version": version, "type": kind, "received": v.len(), "firstMs": v[0], "lastMs": v[v.len() - 1]}));
    }
    Ok(json!({
        "subscribers": subscribers, "domains": domains, "connectAndSubscribeSeconds": connect_secs,
        "events": events.len(), "eventsNotReceivedByAll": incomplete,
        "clientLatencyMs": percentiles(all),
        "firstSocketMs": percentiles(first), "medianSocketMs": percentiles(median), "lastSocketMs": percentiles(last),
        "perEvent": events,
    }))
}

#[tokio::main]
async fn main() {
    let clients = env("BENCH_WS_CLIENTS", 100).clamp(1, 1000) as usize;
    let rate = env("BENCH_WS_RATE", 10).max(1) as f64;
    // One campaign's events go only to its owner's sockets, at most `QUOTA_WS_CONNECTIONS` of
    // them (API.md "Limits"): the stack would refuse more. Fan-out across 1,000 sockets of many
    // users is the `one-bad-connection` load scenario's baseline.
    let quota = env("QUOTA_WS_CONNECTIONS", 10).max(1);
    let subscribers = env("BENCH_WS_SUBSCRIBERS", quota).clamp(1, quota) as usize;
    let domains = env("BENCH_WS_FANOUT_DOMAINS", 50_000).clamp(1, 1_000_000);
    let started = Instant::now();

    let (latency_all, by_type, errors) = tokio::time::timeout(
        Duration::from_secs(300),
        latency_with_clients(clients, rate),
    )
    .await
    .expect("scenario 1 within 5 min");
    println!(
        "| commit → client ({clients} connected clients, one Full Auto campaign each, {rate} creations/s) | n | p50 ms | p95 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|---|");
    println!("{}", row("every event", &latency_all));
    let mut types = serde_json::Map::new();
    for (kind, v) in by_type {
        let p = percentiles(v);
        println!("{}", row(&kind, &p));
        types.insert(kind, p);
    }
    println!();

    let fan = tokio::time::timeout(Duration::from_secs(300), fan_out(subscribers, domains))
        .await
        .expect("scenario 2 within 5 min");
    let fan = match fan {
        Ok(v) => v,
        Err(e) => {
            eprintln!("fan-out failed: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "| fan-out: {subscribers} sockets on one campaign, {} events pushed to all | n | p50 ms | p95 ms | p99 ms | max ms |",
        fan["events"]
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "{}",
        row("commit → first socket, per event", &fan["firstSocketMs"])
    );
    println!(
        "{}",
        row("commit → median socket, per event", &fan["medianSocketMs"])
    );
    println!(
        "{}",
        row(
            "commit → last socket (fan-out complete), per event",
            &fan["lastSocketMs"]
        )
    );
    println!(
        "{}",
        row("commit → client, every delivery", &fan["clientLatencyMs"])
    );
    println!();
    println!(
        "connect + subscribe {subscribers} sockets: {:.1} s; events not received by every socket: {}; scenario 1 errors: {errors}; wall {:.1} s",
        fan["connectAndSubscribeSeconds"]
            .as_f64()
            .unwrap_or_default(),
        fan["eventsNotReceivedByAll"],
        started.elapsed().as_secs_f64()
    );

    let result = json!({
        "machine": "2 cores, x86_64; local stack on moto; gateway and clients on 127.0.0.1",
        "latency": {"clients": clients, "creationsPerSecond": rate, "errors": errors, "everyEventMs": latency_all, "byType": types},
        "fanOut": fan,
    });
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write(
        "target/bench/ws.json",
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    );
    if errors > 0 || fan["eventsNotReceivedByAll"].as_u64() != Some(0) {
        std::process::exit(1);
    }
}
