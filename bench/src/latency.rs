//! `latency-profile`: where the time of one idle create → `phase_auto_started` goes on the
//! running local stack, and what the idle stack costs.
//!
//! 1. One user with a WebSocket subscribed to `*` creates `PROFILE_CAMPAIGNS` (60) Full Auto
//!    campaigns one at a time (after `PROFILE_WARMUP`, 5, unmeasured), each after the previous
//!    one's discovery completed and the stack went quiet. For each, the gateway's profile
//!    (`/_local/profile`) gives the spans of its path; [`latency_path`] cuts it into hops and
//!    sums the floor (moto's own time on the path, measured in the same run).
//! 2. Idle: nobody calls the stack for `PROFILE_IDLE_SECONDS` (30); the CPU of the processes in
//!    `PROFILE_PIDS` (`name=pid,…`, from `/proc`) and the gateway's requests to moto per second,
//!    twice: right after the work (`afterWork`; the sweeper still at its fast pace) and once the
//!    gateway reports the stack quiet (`/_local/sweeper`; what an idle `make dev` costs).
//!
//! Prints a markdown report and writes `target/bench/latency-<label>.{json,md}` (`PROFILE_LABEL`,
//! default `STACK_PROFILE` or `dev`). Talks to 127.0.0.1 only; every wait is bounded. Exits 1
//! when a campaign's path could not be measured, 2 when the stack is not there.

mod idle_cpu;
mod latency_path;
mod latency_report;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bench::env;
use integration_tests::{Client, Socket, api_url, campaign_body};
use latency_path::{Path, Span};
use serde_json::{Value, json};

/// The 1-minute load average (other work on this machine skews every figure).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

struct Profile {
    http: reqwest::Client,
    url: String,
}

impl Profile {
    async fn call(&self, method: reqwest::Method) -> Result<Value, String> {
        let r = self
            .http
            .request(method.clone(), &self.url)
            .send()
            .await
            .map_err(|e| format!("{method} /_local/profile: {e}"))?;
        if !r.status().is_success() {
            return Err(format!("{method} /_local/profile answered {}", r.status()));
        }
        Ok(r.json().await.unwrap_or(Value::Null))
    }
    async fn restart(&self) -> Result<(), String> {
        self.call(reqwest::Method::POST).await.map(|_| ())
    }
    async fn spans(&self) -> Result<Vec<Span>, String> {
        let v = self.call(reqwest::Method::GET).await?;
        serde_json::from_value(v["spans"].clone()).map_err(|e| format!("profile spans: {e}"))
    }
}

/// Waits for an event of `campaign` matching `pred`; its receipt time (µs).
async fn wait_event(
    socket: &mut Socket,
    campaign: &str,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Option<i64> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let m = socket.next(left).await?;
        let received = now_us();
        if m["campaignId"] == campaign && pred(&m) {
            return Some(received);
        }
    }
}

/// One create: `(create ms, path)`.
async fn one(
    client: &Client,
    socket: &mut Socket,
    profile: &Profile,
    table: &str,
) -> Result<(f64, Path), String> {
    profile.restart().await?;
    let t0 = now_us();
    let created = client
        .post("/campaigns", &campaign_body("full_sequence", 10))
        .await;
    let create_ms = (now_us() - t0) as f64 / 1000.0;
    if created.status.as_u16() != 201 {
        return Err(format!("create: {} {}", created.status, created.body));
    }
    let id = created.body["id"].as_str().unwrap_or_default().to_string();
    let t1 = wait_event(socket, &id, Duration::from_secs(30), |e| {
        e["type"] == "phase_auto_started" && e["phase"] == "discovery"
    })
    .await
    .ok_or_else(|| format!("{id}: no phase_auto_started within 30 s"))?;
    // Let the campaign finish (discovery, then the next phase's auto-start outcome) so the next
    // create meets an idle stack.
    wait_event(socket, &id, Duration::from_secs(15), |e| {
        e["type"] == "phase_completed" && e["phase"] == "discovery"
    })
    .await;
    let _ = socket.drain(Duration::from_millis(300)).await;
    let spans = profile.spans().await?;
    let path =
        latency_path::analyze(&spans, &id, table, t0, t1).map_err(|e| format!("{id}: {e}"))?;
    Ok((create_ms, path))
}

/// Idle: CPU of the processes and the gateway's requests to moto, over `window`.
async fn idle(
    profile: &Profile,
    pids: &[(String, u32)],
    window: Duration,
) -> Result<Value, String> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    profile.restart().await?;
    let started = Instant::now();
    let cpu = if pids.is_empty() {
        tokio::time::sleep(window).await;
        Vec::new()
    } else {
        idle_cpu::measure(pids, window).await?
    };
    let secs = started.elapsed().as_secs_f64();
    let mut rates: BTreeMap<String, f64> = BTreeMap::new();
    for s in profile.spans().await?.iter().filter(|s| s.kind == "aws") {
        *rates.entry(s.name.clone()).or_default() += 1.0 / secs;
    }
    Ok(json!({
        "seconds": secs,
        "cpuPercent": cpu.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "totalCpuPercent": cpu.iter().map(|(_, v)| v).sum::<f64>(),
        "requestsPerSecond": rates,
        "totalRequestsPerSecond": rates.values().sum::<f64>(),
    }))
}

/// Waits until the gateway's sweeper is at its quiet pace (`/_local/sweeper`), `limit` at most.
async fn wait_quiet(http: &reqwest::Client, limit: Duration) -> Result<(), String> {
    let url = format!("{}/_local/sweeper", api_url());
    let started = Instant::now();
    loop {
        let v: Value = http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("GET /_local/sweeper: {e}"))?
            .json()
            .await
            .map_err(|e| format!("GET /_local/sweeper: {e}"))?;
        match v["busy"].as_bool() {
            Some(false) => return Ok(()),
            Some(true) if started.elapsed() < limit => {
                tokio::time::sleep(Duration::from_secs(1)).await
            }
            Some(true) => return Err(format!("the stack was still busy after {limit:?}: {v}")),
            None => return Err(format!("GET /_local/sweeper answered {v}")),
        }
    }
}

#[tokio::main]
async fn main() {
    let campaigns = env("PROFILE_CAMPAIGNS", 60) as usize;
    let warmup = env("PROFILE_WARMUP", 5) as usize;
    let idle_secs = env("PROFILE_IDLE_SECONDS", 30);
    let label = std::env::var("PROFILE_LABEL")
        .or_else(|_| std::env::var("STACK_PROFILE"))
        .unwrap_or_else(|_| "dev".into());
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    let pids = match idle_cpu::parse_pids(&std::env::var("PROFILE_PIDS").unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if !bench::loadgen::is_loopback(&api_url()) {
        eprintln!("CAMPAIGN_API_URL={} is not on 127.0.0.1", api_url());
        std::process::exit(2);
    }
    let profile = Profile {
        http: reqwest::Client::new(),
        url: format!("{}/_local/profile", api_url()),
    };
    if let Err(e) = profile.restart().await {
        eprintln!(
            "the local stack's profile is not there ({e}); start it with scripts/stack.sh start"
        );
        std::process::exit(2);
    }
    let load_start = load_average();
    let client = Client::new_user().await;
    let mut socket = Socket::connect(&client).await;
    socket.subscribe("*").await;
    let (mut paths, mut create, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let cpu_before = idle_cpu::snapshot(&pids);
    for i in 0..warmup + campaigns {
        match tokio::time::timeout(
            Duration::from_secs(60),
            one(&client, &mut socket, &profile, &table),
        )
        .await
        {
            Ok(Ok((c, path))) if i >= warmup => {
                create.push(c);
                paths.push(path);
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => errors.push(e),
            Err(_) => errors.push("a create took more than 60 s".into()),
        }
    }
    socket.close().await;
    // CPU per campaign (its whole life: create, auto-start, discovery, events): what the stack
    // costs per unit of work, whatever else runs on the machine.
    let cpu_per_campaign: BTreeMap<String, f64> =
        match cpu_before.and_then(|b| idle_cpu::ms_since(&pids, &b)) {
            Ok(v) => v
                .into_iter()
                .map(|(k, ms)| (k, ms / (warmup + campaigns).max(1) as f64))
                .collect(),
            Err(e) => {
                errors.push(format!("CPU per campaign: {e}"));
                BTreeMap::new()
            }
        };
    // Right after the work (the sweeper still at its fast pace), then once the gateway says the
    // stack is quiet (local/src/schedule.rs): the figure a developer's idle `make dev` costs.
    let window = Duration::from_secs(idle_secs);
    let mut measure = async |what: &str| match idle(&profile, &pids, window).await {
        Ok(v) => v,
        Err(e) => {
            errors.push(format!("{what} measurement: {e}"));
            Value::Null
        }
    };
    let after_work = measure("after-work").await;
    let mut idle = Value::Null;
    match wait_quiet(&profile.http, Duration::from_secs(180)).await {
        Ok(()) => idle = measure("idle").await,
        Err(e) => errors.push(e),
    }
    if let Value::Object(m) = &mut idle {
        m.insert("afterWork".into(), after_work);
    }
    let _ = profile.call(reqwest::Method::DELETE).await;
    let load = (load_start, load_average());
    let (result, md) = latency_report::report(
        &label,
        &paths,
        &create,
        &idle,
        &cpu_per_campaign,
        load,
        &errors,
    );
    println!("{md}");
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write(
        format!("target/bench/latency-{label}.json"),
        serde_json::to_string_pretty(&result).unwrap_or_default(),
    );
    let _ = std::fs::write(format!("target/bench/latency-{label}.md"), md + "\n");
    if !errors.is_empty() || paths.is_empty() {
        std::process::exit(1);
    }
}
