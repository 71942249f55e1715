//! `load-bench`: the load and chaos run against the running local stack.
//!
//! `LOAD_WIZARDS` (50) simulated wizards — one user and one WebSocket subscribed to `*` each —
//! share `LOAD_CAMPAIGNS` (1000) Full Auto campaigns of `LOAD_DOMAINS` (20) domains: create with
//! an `Idempotency-Key` (retried with the same key on 429/5xx/409 IDEMPOTENCY_IN_PROGRESS or a
//! transport error, up to 45 s), then wait for `phase_auto_started` on the socket (status poll
//! after 20 s without an event; a start by hand after `auto_start_failed`). After each scenario
//! every campaign it created is audited (`loadgen/audit`): settled and not `queued`, each phase
//! started at most once according to the campaigns table's DynamoDB stream (read from
//! TRIM_HORIZON, independently of the WebSocket), `version` + 1 per write and never backwards in
//! what the wizards applied, nothing running without moving or queued past the stale threshold
//! plus one sweep and no paused phase moving by itself, exactly the domains of an uninterrupted
//! run, one campaign per create in each user's listing, every queue drained.
//!
//! `LOAD_SCENARIOS` (`baseline,seed`; `all` for every one): `baseline`, `seed` (the seed's 3-call
//! flow, `LOAD_SEED_CAMPAIGNS` = 200), the chaos scenarios `ddb-throttle`, `sqs-send`,
//! `worker-crash`, `stream-failure`, `api-crash-after-write`, `dispatcher-outage` (the gateway's
//! `/_local/chaos`), `ws-drop` (the wizards drop their sockets), `pause-resume-storm` (the wizards
//! pause, resume, stop and start again at random; `LOAD_STORM_DOMAINS` domains each),
//! `one-bad-connection` (`LOAD_BAD_CONNECTION_SUBSCRIBERS` = 1,000 sockets, smoke 50, one of
//! them refused every push; `scenario/one_bad/`), `moto-restart` (runs `LOAD_MOTO_RESTART_CMD`
//! halfway), `cost` (not in `all`: what Full Auto campaigns of 1,000 domains cost in AWS, by
//! phase, `loadgen/cost`, `LOAD_COST_*`); chaos scenarios create `LOAD_CHAOS_CAMPAIGNS` (default
//! `LOAD_CAMPAIGNS`) campaigns (`one-bad-connection`: that many with the fault and as many
//! without). `LOAD_SMOKE=1`: 5
//! wizards, 20 campaigns (seed 10), every scenario. Bounds: `LOAD_DEADLINE_SECONDS` (3600) for the
//! run, `LOAD_SCENARIO_SECONDS` (900) for a scenario's wizards, `LOAD_SETTLE_SECONDS` (600) for the
//! audit's wait until every campaign settled (it returns as soon as all did),
//! `LOAD_CHAOS_HOLD_SECONDS` (180) for how long chaos stays armed after the wizards stopped while
//! the queues still hold their work (0: turned off as soon as the wizards stop),
//! `LOAD_OUTAGE_SECONDS` (120) for the longest dispatcher outage. Invariant 5's limits come from
//! the stack's `STALE_PHASE_SECONDS`, `STALE_QUEUED_SECONDS`, `LOCAL_SWEEP_SECONDS` plus
//! `LOAD_SWEEP_SLACK_SECONDS` (10).
//!
//! Prints a markdown report and writes `target/bench/load.json` and `target/bench/load.md`
//! (relative to the current directory). Exits 1 when an invariant fails in any scenario, 2 when
//! the stack is not there. Talks to 127.0.0.1 only.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::loadgen::api::{ChaosSwitch, http_client};
use bench::loadgen::audit::StreamCache;
use bench::loadgen::{Config, cost, is_loopback, report, scenario};
use serde_json::{Value, json};

fn write_outputs(run: &Value) -> String {
    let md = report::markdown(run);
    let _ = std::fs::create_dir_all("target/bench");
    if let Err(e) = std::fs::write(
        "target/bench/load.json",
        serde_json::to_string_pretty(run).unwrap_or_default(),
    ) {
        eprintln!("could not write target/bench/load.json: {e}");
    }
    if let Err(e) = std::fs::write("target/bench/load.md", &md) {
        eprintln!("could not write target/bench/load.md: {e}");
    }
    md
}

fn run_value(cfg: &Config, scenarios: Vec<Value>, started: Instant, note: Option<&str>) -> Value {
    json!({
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": report::machine(),
        "config": {
            "wizards": cfg.wizards, "campaigns": cfg.campaigns, "chaosCampaigns": cfg.chaos_campaigns, "seedCampaigns": cfg.seed_campaigns,
            "domains": cfg.domains, "scenarios": cfg.scenarios, "smoke": cfg.smoke,
            "motoRestartCmd": cfg.restart_cmd, "deadlineSeconds": cfg.deadline.as_secs(),
            "scenarioSeconds": cfg.scenario_budget.as_secs(), "settleSeconds": cfg.settle.as_secs(),
            "chaosHoldSeconds": cfg.chaos_hold.as_secs(),
        },
        "wallSeconds": started.elapsed().as_secs_f64(),
        "note": note,
        "ok": scenarios.iter().all(|s| s["ok"] == true),
        "scenarios": scenarios,
    })
}

#[tokio::main]
async fn main() {
    let cfg = Config::from_env();
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into());
    for (name, url) in [
        ("CAMPAIGN_API_URL", integration_tests::api_url()),
        ("CAMPAIGN_WS_URL", integration_tests::ws_url()),
        ("AWS_ENDPOINT_URL", endpoint),
    ] {
        if !is_loopback(&url) {
            eprintln!("{name}={url} is not on 127.0.0.1; load-bench only targets this machine");
            std::process::exit(2);
        }
    }
    let http = http_client();
    let health = format!("{}/health", integration_tests::api_url());
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), http.get(&health).send()).await,
        Ok(Ok(r)) if r.status().is_success()
    ) {
        eprintln!(
            "the local stack is not answering at {health}; start it with scripts/stack.sh start \
             (and `source scripts/lib.sh` for the environment)"
        );
        std::process::exit(2);
    }
    let sdk = campaign_shared::sdk::load_sdk_config().await;
    let chaos = ChaosSwitch::new(&http);
    if let Ok(Some(r)) = chaos.report().await
        && !r["config"].is_null()
    {
        eprintln!("chaos was still on ({}); turning it off first", r["config"]);
        let _ = chaos.disarm().await;
    }
    eprintln!(
        "load-bench: scenarios {:?}, {} wizards, {} campaigns (seed {}), {} domains each{}",
        cfg.scenarios,
        cfg.wizards,
        cfg.campaigns,
        cfg.seed_campaigns,
        cfg.domains,
        if cfg.smoke { " (smoke)" } else { "" }
    );

    let started = Instant::now();
    let run_deadline = started + cfg.deadline;
    let results: Arc<Mutex<Vec<Value>>> = Arc::default();
    let run = {
        let (cfg, results) = (cfg.clone(), results.clone());
        async move {
            let mut stream = StreamCache::default();
            for name in &cfg.scenarios {
                eprintln!("== {name}");
                let r = if name == "cost" {
                    cost::run(&http, run_deadline).await
                } else {
                    scenario::run(&cfg, name, &http, &sdk, &mut stream, run_deadline).await
                };
                results.lock().unwrap_or_else(|e| e.into_inner()).push(r);
            }
        }
    };
    // The scenarios bound themselves; this is the backstop (and Ctrl-C turns chaos off).
    let note = tokio::select! {
        _ = run => None,
        _ = tokio::time::sleep(cfg.deadline + Duration::from_secs(900)) => Some("stopped: the run's hard deadline passed"),
        _ = tokio::signal::ctrl_c() => Some("interrupted (Ctrl-C)"),
    };
    if let Some(why) = note {
        eprintln!("{why}; turning chaos off");
        let _ = chaos.disarm().await;
    }
    let scenarios = results.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let run = run_value(&cfg, scenarios, started, note);
    println!("{}", write_outputs(&run));
    eprintln!("wrote target/bench/load.json and target/bench/load.md");
    if run["ok"] != true || note.is_some() {
        std::process::exit(1);
    }
}
