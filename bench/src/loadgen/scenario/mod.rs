//! One scenario: (arm chaos,) run the wizards, (turn the chaos off once it did its work,) settle,
//! audit every campaign the wizards created, measure. `spec.rs` says what each scenario does,
//! `verdict.rs` judges the campaigns, `measures.rs` measures them. `one-bad-connection` is a
//! fan-out scenario of its own (`one_bad/`).

mod faults;
mod measures;
pub mod one_bad;
mod restart;
pub mod spec;
mod verdict;
mod wizards;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::generated_domains;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::api::{Api, ChaosSwitch};
use super::audit::{self, Asked, Invariants};
use super::socket::{Entry, EventLog};
use super::wizard::CampaignRecord;
use super::{ALL_SCENARIOS, Config};
pub use restart::RestartInfo;
pub use spec::{Spec, spec};

fn failed(name: &str, why: String) -> Value {
    eprintln!("{name}: FAILED: {why}");
    json!({"name": name, "ok": false, "failures": [why]})
}

/// Runs one scenario and returns its full result (`ok` false when an invariant failed).
pub async fn run(
    cfg: &Config,
    name: &str,
    http: &reqwest::Client,
    sdk: &aws_config::SdkConfig,
    stream: &mut audit::StreamCache,
    run_deadline: Instant,
) -> Value {
    if name == one_bad::NAME {
        return one_bad::run(cfg, http, sdk, stream, run_deadline).await;
    }
    let Some(spec) = spec(name, cfg) else {
        return failed(
            name,
            format!("unknown scenario; known: {}", ALL_SCENARIOS.join(", ")),
        );
    };
    if spec.restart && cfg.restart_cmd.is_none() {
        eprintln!("moto-restart: skipped (LOAD_MOTO_RESTART_CMD is not set)");
        return json!({"name": name, "ok": true, "skipped": "LOAD_MOTO_RESTART_CMD is not set", "failures": []});
    }
    if Instant::now() >= run_deadline {
        return failed(
            name,
            "the run's deadline passed before this scenario".into(),
        );
    }
    let started = Instant::now();
    let deadline = (started + cfg.scenario_budget).min(run_deadline);
    let chaos = ChaosSwitch::new(http);
    if let Some(c) = &spec.chaos
        && let Err(e) = chaos.arm(c).await
    {
        return failed(name, format!("could not arm chaos: {e}"));
    }

    // Queue depths every 2 s while the wizards run and the campaigns settle.
    let (sampling_stop, sampling) = watch::channel(false);
    let sampler = tokio::spawn(audit::sample_queues(sdk.clone(), started, sampling));

    let ran = wizards::run_wizards(cfg, &spec, http, started, deadline).await;
    let mut failures = ran.failures;
    let (mut wizards, mut errors, restart) = (ran.wizards, ran.errors, ran.restart);
    let end = faults::end_chaos(&spec, cfg, sdk, &chaos, started, run_deadline).await;
    failures.extend(end.failures.iter().cloned());

    // --- which campaigns to audit ------------------------------------------------------------
    let records: Vec<CampaignRecord> = wizards.iter().flat_map(|w| w.records.clone()).collect();
    let (audited, before_restart, straddling): (Vec<&CampaignRecord>, usize, usize) = match &restart
    {
        Some(r) => {
            let before = records.iter().filter(|c| c.created_s < r.started_s).count();
            let after: Vec<&CampaignRecord> = records
                .iter()
                .filter(|c| c.first_attempt_s >= r.ended_s)
                .collect();
            let straddling = records.len() - before - after.len();
            (after, before, straddling)
        }
        None => (records.iter().collect(), 0, 0),
    };
    let apis: HashMap<usize, Api> = wizards.iter().map(|w| (w.index, w.api.clone())).collect();
    let items: Vec<(String, Api)> = audited
        .iter()
        .filter_map(|r| Some((r.id.clone(), apis.get(&r.wizard)?.clone())))
        .collect();
    eprintln!(
        "{name}: {} campaigns created in {:.1} s; settling and auditing {}",
        records.len(),
        (ran.done - started).as_secs_f64(),
        items.len()
    );

    // --- 1. settle ---------------------------------------------------------------------------
    let settle_until = (Instant::now() + cfg.settle).min(run_deadline + Duration::from_secs(120));
    let campaign_logs: HashMap<&str, Arc<EventLog>> = {
        let by_wizard: HashMap<usize, Arc<EventLog>> =
            wizards.iter().map(|w| (w.index, w.log.clone())).collect();
        audited
            .iter()
            .filter_map(|r| Some((r.id.as_str(), by_wizard.get(&r.wizard)?.clone())))
            .collect()
    };
    let news = |id: &str| campaign_logs.get(id).map_or(0, |l| l.count(id));
    let (finals, settled_after) = audit::wait_settled(&items, &news, settle_until).await;
    let unsettled = finals.values().filter(|f| !f.settled).count();
    eprintln!(
        "{name}: {}",
        match settled_after {
            Some(d) => format!(
                "every campaign settled {:.1} s into the settle wait",
                d.as_secs_f64()
            ),
            None => format!(
                "{unsettled} campaigns not settled after {:.0} s",
                cfg.settle.as_secs_f64()
            ),
        }
    );
    let _ = sampling_stop.send(true);
    let (queue_depths, backlogs) =
        match tokio::time::timeout(Duration::from_secs(30), sampler).await {
            Ok(Ok(mut series)) => {
                let mut waiting = |name: &str| {
                    series
                        .get_mut(name)
                        .map(|s| std::mem::take(&mut s.waiting))
                        .unwrap_or_default()
                };
                let backlogs = audit::Backlogs {
                    phase_work: waiting("campaign-autostart-phase-work"),
                    auto_start: waiting("campaign-autostart-autostart"),
                };
                (json!(series), backlogs)
            }
            _ => (json!(null), audit::Backlogs::default()),
        };
    // Trailing events (completion, the validation auto-start's failure), then close the sockets.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    futures_util::future::join_all(
        wizards
            .iter_mut()
            .filter_map(|w| w.conn.take())
            .map(|c| c.close()),
    )
    .await;
    let logs: Vec<(usize, HashMap<String, Vec<Entry>>)> = wizards
        .iter()
        .map(|w| (w.index, w.log.snapshot()))
        .collect();

    let by_id: HashMap<&str, &CampaignRecord> =
        audited.iter().map(|r| (r.id.as_str(), *r)).collect();
    let inputs = verdict::Inputs {
        cfg,
        items: &items,
        finals: &finals,
        records: &by_id,
        backlogs: &backlogs,
    };
    let mut inv = Invariants::default();
    let (final_states, resumed_by_hand) = verdict::judge_finals(&inputs, &mut inv);

    // --- 2. the stream -----------------------------------------------------------------------
    let ids: HashSet<String> = items.iter().map(|(id, _)| id.clone()).collect();
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    let stream_started = Instant::now();
    let read = audit::read_stream(
        stream,
        sdk,
        &table,
        &ids,
        Instant::now() + Duration::from_secs(300),
    )
    .await;
    let stream_seconds = stream_started.elapsed().as_secs_f64();
    let (stream_summary, totals, images) = match read {
        Err(e) => {
            failures.push(format!("stream audit failed: {e}"));
            (
                json!(null),
                verdict::StreamTotals::default(),
                HashMap::new(),
            )
        }
        Ok(read) => {
            let now_ms = chrono::Utc::now().timestamp_millis();
            let (totals, images) =
                verdict::judge_streams(&inputs, &read.by_campaign, now_ms, &mut inv);
            if read.undecodable.count > 0 {
                failures.push(format!(
                    "{} stream records could not be decoded (e.g. {:?})",
                    read.undecodable.count,
                    read.undecodable.examples.first()
                ));
            }
            let summary = json!({
                "recordsInStream": read.records_total, "readSeconds": stream_seconds,
                "totals": totals, "staleBounds": cfg.stale, "undecodable": read.undecodable,
            });
            (summary, totals, images)
        }
    };

    // --- 3. events vs the stream, the client's ordering rule -----------------------------------
    let plain_logs: Vec<HashMap<String, Vec<Entry>>> =
        logs.iter().map(|(_, l)| l.clone()).collect();
    let events = audit::audit_events(&plain_logs, &images);
    inv.version_regressions
        .extend(&events.out_of_order, "event: ");
    inv.version_regressions
        .extend(&events.applied_regressions, "event: ");
    inv.event_mismatches = events.mismatches.clone();

    // --- 4. domains --------------------------------------------------------------------------
    let completed: Vec<(String, Api)> = items
        .iter()
        .filter(|(id, _)| {
            finals
                .get(id)
                .and_then(|f| f.status.as_ref())
                .is_some_and(audit::completed)
        })
        .cloned()
        .collect();
    let expected = generated_domains(spec.domains as usize);
    let (domains_checked, domains_exact, domain_problems) = audit::check_domains(
        &completed,
        &expected,
        Instant::now() + Duration::from_secs(120),
    )
    .await;
    inv.wrong_domain_counts = domain_problems;

    // --- 5. one create, one campaign ---------------------------------------------------------
    let asked: Vec<Asked> = wizards
        .iter()
        .map(|w| Asked {
            api: w.api.clone(),
            created: w
                .records
                .iter()
                .map(|r| (r.name.clone(), r.id.clone()))
                .collect(),
            given_up: w.given_up.iter().cloned().collect(),
        })
        .collect();
    let listing =
        match audit::check_listings(&asked, Instant::now() + Duration::from_secs(120)).await {
            Ok(l) => {
                inv.double_created = l.double_created.clone();
                json!(l)
            }
            Err(e) => {
                failures.push(format!("listing check failed: {e}"));
                json!(null)
            }
        };

    // --- 6. queues ---------------------------------------------------------------------------
    let queues = match audit::drain_queues(sdk, Instant::now() + Duration::from_secs(60)).await {
        Ok(q) => {
            for q in q.iter().filter(|q| q.checked && q.total() > 0) {
                inv.queued_leftovers.add(format!(
                    "{}: {} visible, {} in flight, {} delayed",
                    q.name, q.visible, q.in_flight, q.delayed
                ));
            }
            json!(q)
        }
        Err(e) => {
            failures.push(format!("queue check failed: {e}"));
            json!(null)
        }
    };

    // --- measures ----------------------------------------------------------------------------
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    for w in &wizards {
        for (k, v) in &w.counters {
            *counters.entry(k.clone()).or_default() += v;
        }
        for e in &w.errors {
            errors.add(e.clone());
        }
    }
    let m = measures::measure(&records, &audited, &finals, &logs);

    // --- verdict -------------------------------------------------------------------------------
    failures.extend(inv.failures(spec.strict()));
    let proof = match verdict::proof(&spec, &end.injected, &end.discards, &totals) {
        Ok(p) => p,
        Err(e) => {
            failures.push(format!("the scenario tested nothing: {e}"));
            json!(null)
        }
    };
    let create_failures = counters.get("create_failures").copied().unwrap_or(0);
    if create_failures > 0 && !spec.restart {
        failures.push(format!(
            "{create_failures} creates gave up after the retry budget"
        ));
    }
    if spec.chaos.is_none() && !spec.restart && spec.ws_drop == 0.0 && errors.count > 0 {
        failures.push(format!(
            "{} client errors (e.g. {})",
            errors.count,
            errors.examples.first().cloned().unwrap_or_default()
        ));
    }
    if records.len() + (create_failures as usize) < spec.campaigns && !spec.restart {
        failures.push(format!(
            "only {} of {} campaigns were attempted before the scenario's deadline",
            records.len() + create_failures as usize,
            spec.campaigns
        ));
    }
    let ok = failures.is_empty();
    eprintln!(
        "{name}: {} ({:.1} s)",
        if ok { "invariants hold" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    for f in &failures {
        eprintln!("  - {f}");
    }
    json!({
        "name": name,
        "ok": ok,
        "failures": failures,
        "flow": spec.flow,
        "wizards": cfg.wizards,
        "wizardsRunning": wizards.len(),
        "campaignsRequested": spec.campaigns,
        "created": records.len(),
        "audited": items.len(),
        "beforeRestart": before_restart,
        "straddlingRestart": straddling,
        "chaos": spec.chaos,
        "injected": end.injected,
        "streamDiscards": end.discards,
        "proof": proof,
        "chaosHeldAfterWizards": end.held,
        "wsDropProbability": spec.ws_drop,
        "restart": restart,
        "wallSeconds": started.elapsed().as_secs_f64(),
        "wizardSeconds": (ran.done - started).as_secs_f64(),
        "settledAfterSeconds": settled_after.map(|d| d.as_secs_f64()),
        "unsettledAfterSettleWait": unsettled,
        "settleWaitSeconds": cfg.settle.as_secs_f64(),
        "throughput": m.throughput,
        "latency": m.latency,
        "counters": counters,
        "errors": errors,
        "observed": m.observed,
        "recoveredByHand": m.hand.values().sum::<usize>(),
        "recoveredByHandReasons": m.hand,
        "discoveryResumedByHand": resumed_by_hand,
        "invariants": inv,
        "finalStates": final_states,
        "stream": stream_summary,
        "events": events,
        "domains": {"checked": domains_checked, "exact": domains_exact, "expectedPerCampaign": spec.domains},
        "listing": listing,
        "queues": queues,
        "queueDepths": queue_depths,
        "records": records,
    })
}
