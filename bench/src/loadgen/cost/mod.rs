//! The cost scenario (`LOAD_SCENARIOS=…,cost`): what Full Auto campaigns of `LOAD_COST_DOMAINS`
//! (1,000) domains ask of each AWS service, measured by the local stack's meters
//! (`/_local/usage`), and priced at the published on-demand prices (`prices.rs`).
//!
//! Three runs of `LOAD_COST_CAMPAIGNS` (20) campaigns each, one user watching each campaign on
//! its own WebSocket (`session.rs`), all campaigns of a run at once:
//! 1. discovery only (no persona: validation's auto-start fails visibly, as the product does);
//! 2. discovery and validation (a DNS persona: `LOAD_COST_RESOLVED_PERCENT` % of the domains
//!    resolve; keywords' auto-start fails);
//! 3. all three phases (also an HTTP persona and `config.keywords`: every resolved domain's page
//!    is fetched and scanned).
//!
//! Each run is bracketed by two readings of the meters, taken after its users and personas were
//! made (once per user, not per campaign) and after its last campaign ended; their difference is
//! priced (`model.rs`). Per phase: discovery = run 1, validation = run 2 − run 1, keywords =
//! run 3 − run 2. Scaled to 1,000 campaigns by campaign count only (× 1,000 / campaigns): every
//! campaign of a run does the same work. Writes `target/bench/cost.json` and `cost.md`.

pub mod model;
pub mod prices;
mod report;
mod session;
mod site;
pub mod usage;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use self::session::Variant;
use crate::env;

/// The cost run's settings (`LOAD_COST_*`).
#[derive(Debug, Clone)]
pub struct CostConfig {
    pub campaigns: usize,
    pub domains: usize,
    pub resolved_percent: usize,
    /// The longest one run (its campaigns) may take.
    pub run_budget: Duration,
    pub functions_json: String,
    pub resources_json: String,
}

impl CostConfig {
    pub fn from_env() -> Self {
        Self {
            campaigns: env("LOAD_COST_CAMPAIGNS", 20).clamp(1, 1000) as usize,
            domains: env("LOAD_COST_DOMAINS", 1000).clamp(1, 100_000) as usize,
            resolved_percent: env("LOAD_COST_RESOLVED_PERCENT", 50).clamp(0, 100) as usize,
            run_budget: Duration::from_secs(env("LOAD_COST_SECONDS", 900)),
            functions_json: std::env::var("COST_FUNCTIONS_JSON")
                .unwrap_or_else(|_| "target/bench/functions.json".into()),
            resources_json: "infra/resources.json".into(),
        }
    }
}

fn failed(why: String) -> Value {
    eprintln!("cost: FAILED: {why}");
    json!({"name": "cost", "ok": false, "failures": [why]})
}

/// One run of `cfg.campaigns` campaigns of `variant`: readings around it, priced.
async fn one_run(
    cfg: &CostConfig,
    http: &reqwest::Client,
    site: &site::Site,
    variant: Variant,
    priced_with: &(
        std::collections::BTreeMap<String, model::FunctionConfig>,
        std::collections::BTreeSet<String>,
    ),
    deadline: Instant,
) -> Result<Value, String> {
    let api_url = integration_tests::api_url();
    let prepared: Vec<_> = futures_util::stream::iter(0..cfg.campaigns)
        .map(|_| session::prepare(http, site, variant, deadline))
        .buffer_unordered(8)
        .collect()
        .await;
    let prepared: Vec<session::Prepared> = prepared.into_iter().collect::<Result<_, _>>()?;
    // Let the stream consumers finish with anything earlier before the first reading.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = usage::read(http, &api_url).await?;
    let started = Instant::now();
    let outcomes = futures_util::future::join_all(
        prepared
            .iter()
            .enumerate()
            .map(|(i, p)| session::run(p, variant, i as u32, deadline)),
    )
    .await;
    let wall = started.elapsed().as_secs_f64();
    let outcomes: Vec<session::Outcome> = outcomes.into_iter().collect::<Result<_, _>>()?;
    // The last events' own pushes and the sockets' $disconnect are part of the run.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = usage::read(http, &api_url).await?;
    let used = usage::delta(&before, &after)?;
    let priced = model::price(&used, &priced_with.0, &priced_with.1)?;
    eprintln!(
        "cost: {variant:?}: {} campaigns ended in {wall:.1} s; ${:.4} for them",
        outcomes.len(),
        model::Priced::total(&priced.lines)
    );
    Ok(json!({
        "variant": variant,
        "lastPhase": variant.last_phase(),
        "campaigns": outcomes.len(),
        "wallSeconds": wall,
        "outcomes": outcomes,
        "usage": used,
        "priced": priced,
    }))
}

/// Runs the three cost runs and writes `target/bench/cost.{json,md}`.
pub async fn run(http: &reqwest::Client, run_deadline: Instant) -> Value {
    let cfg = CostConfig::from_env();
    let priced_with = match (
        model::load_functions(&cfg.functions_json),
        model::retained_tables(&cfg.resources_json),
    ) {
        (Ok(f), Ok(r)) => (f, r),
        (Err(e), _) | (_, Err(e)) => return failed(e),
    };
    eprintln!(
        "cost: {} campaigns of {} domains per run, {} % resolving",
        cfg.campaigns, cfg.domains, cfg.resolved_percent
    );
    if let Err(e) = usage::units_on(http, &integration_tests::api_url()).await {
        return failed(e);
    }
    let started = Instant::now();
    let site = site::Site::start(cfg.domains, cfg.resolved_percent).await;
    let mut runs = Vec::new();
    for variant in Variant::ALL {
        let deadline = (Instant::now() + cfg.run_budget).min(run_deadline);
        match one_run(&cfg, http, &site, variant, &priced_with, deadline).await {
            Ok(r) => runs.push(r),
            Err(e) => return failed(format!("{variant:?} run: {e}")),
        }
    }
    let out = json!({
        "name": "cost",
        "ok": true,
        "failures": [],
        "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "machine": super::report::machine(),
        "config": {
            "campaigns": cfg.campaigns, "domains": cfg.domains, "resolvedPercent": cfg.resolved_percent,
            "resolvedDomains": site.resolved, "functions": cfg.functions_json,
        },
        "prices": {"date": prices::PRICE_DATE, "region": prices::REGION, "sources": prices::SOURCES},
        "wallSeconds": started.elapsed().as_secs_f64(),
        "runs": runs,
    });
    let md = report::markdown(&out);
    let _ = std::fs::create_dir_all("target/bench");
    for (path, text) in [
        (
            "target/bench/cost.json",
            serde_json::to_string_pretty(&out).unwrap_or_default(),
        ),
        ("target/bench/cost.md", md.clone()),
    ] {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("could not write {path}: {e}");
        }
    }
    let mut out = out;
    out["markdown"] = json!(md);
    out
}
