//! One scenario: (arm chaos,) run the wizards, (disarm,) settle, audit, measure.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::generated_domains;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::api::{Api, ChaosSwitch};
use super::audit::{self, Findings};
use super::socket::{Entry, EventLog};
use super::wizard::{CampaignRecord, Flow, Shared, Wizard, is_discovery_start};
use super::{ALL_SCENARIOS, Config};
use crate::percentiles;

/// What a scenario does.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub flow: Flow,
    pub campaigns: usize,
    pub chaos: Option<Value>,
    pub ws_drop: f64,
    pub restart: bool,
}

pub fn spec(name: &str, cfg: &Config) -> Option<Spec> {
    let mut s = Spec {
        name: name.to_string(),
        flow: Flow::ServerDriven,
        campaigns: cfg.campaigns,
        chaos: None,
        ws_drop: 0.0,
        restart: false,
    };
    match name {
        "baseline" => {}
        "seed" => {
            s.flow = Flow::Seed;
            s.campaigns = cfg.seed_campaigns;
        }
        "ddb-throttle" => s.chaos = Some(json!({"ddbThrottle": 0.2})),
        "sqs-send" => s.chaos = Some(json!({"sqsSendFailure": 0.5})),
        "worker-crash" => s.chaos = Some(json!({"workerCrash": 0.2})),
        "stream-failure" => s.chaos = Some(json!({"streamFailure": 0.2, "pushFailure": 0.1})),
        "ws-drop" => s.ws_drop = cfg.ws_drop,
        "moto-restart" => s.restart = true,
        _ => return None,
    }
    if s.chaos.is_some() || s.ws_drop > 0.0 || s.restart {
        s.campaigns = cfg.chaos_campaigns;
    }
    Some(s)
}

/// The invariant results of a scenario (every count must be 0).
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invariants {
    /// Created (201) but missing (404) or discovery not started at the end.
    pub lost: Findings,
    /// Discovery entered `running` more than once (stream).
    pub double_started: Findings,
    /// Invariant 1: still `queued`, or not started without a reason.
    pub invariant1: Findings,
    /// Discovery started but did not complete within the settle wait.
    pub not_completed: Findings,
    /// Completed with other than exactly `numDomains` distinct, expected domains.
    pub wrong_domain_counts: Findings,
    /// Messages left in a consumed queue after the drain wait.
    pub queued_leftovers: Findings,
    /// Stream versions not +1 per write, events applied or delivered out of version order.
    pub version_regressions: Findings,
    /// Events whose version/status is not what the stream committed at that version.
    pub event_mismatches: Findings,
    /// Stream and status disagree (started per status but no start record, no INSERT, …).
    pub stream_gaps: Findings,
}

impl Invariants {
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, f: &Findings| {
            if f.count > 0 {
                out.push(format!(
                    "{name}: {} (e.g. {})",
                    f.count,
                    f.examples
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        };
        check("lost", &self.lost);
        check("double-started", &self.double_started);
        check("invariant 1 (queued / no reason)", &self.invariant1);
        check("discovery not completed", &self.not_completed);
        check("wrong domain counts", &self.wrong_domain_counts);
        check("left queued", &self.queued_leftovers);
        check("version regressions", &self.version_regressions);
        check("event/stream mismatches", &self.event_mismatches);
        check("stream gaps", &self.stream_gaps);
        out
    }
}

/// When the moto restart ran (seconds since the scenario started).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartInfo {
    pub command: String,
    pub started_s: f64,
    pub ended_s: f64,
    pub ok: bool,
    pub error: Option<String>,
    pub log: String,
}

fn failed(name: &str, why: String) -> Value {
    eprintln!("{name}: FAILED: {why}");
    json!({"name": name, "ok": false, "failures": [why]})
}

async fn run_command(cmd: &str, until: Instant, log_path: &Path) -> Result<(), String> {
    let log = std::fs::File::create(log_path).map_err(|e| format!("{log_path:?}: {e}"))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("bash")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("could not run `{cmd}`: {e}"))?;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("`{cmd}` exited with {status}")),
            Ok(None) => {}
            Err(e) => return Err(format!("`{cmd}`: {e}")),
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("`{cmd}` did not finish in time; killed"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Halfway through (half the campaigns created), runs the restart command, then tells every
/// wizard to reconnect.
async fn restart_moto(
    sh: Arc<Shared>,
    cmd: String,
    epoch: watch::Sender<u64>,
) -> Option<RestartInfo> {
    let half = sh.total.div_ceil(2);
    while sh.created.load(Ordering::SeqCst) < half {
        // Every wizard takes one slot past the total when it stops.
        let all_stopped = sh.next.load(Ordering::SeqCst) >= sh.total + sh.cfg.wizards;
        if Instant::now() >= sh.deadline || all_stopped {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    eprintln!("moto-restart: {half} campaigns created; running `{cmd}`");
    let _ = std::fs::create_dir_all("target/bench");
    let log = "target/bench/moto-restart.log";
    let r = run_command(&cmd, started + Duration::from_secs(180), Path::new(log)).await;
    let ended = Instant::now();
    eprintln!(
        "moto-restart: done in {:.1} s ({})",
        (ended - started).as_secs_f64(),
        r.as_ref().err().map_or("ok", String::as_str)
    );
    epoch.send_modify(|e| *e += 1);
    Some(RestartInfo {
        command: cmd,
        started_s: sh.offset(started),
        ended_s: sh.offset(ended),
        ok: r.is_ok(),
        error: r.err(),
        log: log.into(),
    })
}

fn events_of<'a>(
    logs: &'a [(usize, HashMap<String, Vec<Entry>>)],
    rec: &CampaignRecord,
) -> impl Iterator<Item = (&'a Value, Instant, Option<f64>)> {
    logs.iter()
        .filter(move |(w, _)| *w == rec.wizard)
        .flat_map(move |(_, log)| log.get(&rec.id).into_iter().flatten())
        .filter_map(|e| match e {
            Entry::Event {
                event,
                received,
                latency_ms,
                ..
            } => Some((event, *received, *latency_ms)),
            Entry::Snapshot { .. } => None,
        })
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
    let mut failures: Vec<String> = Vec::new();

    // Queue depths every 2 s while the wizards run and the campaigns settle.
    let (sampling_stop, sampling) = watch::channel(false);
    let sampler = tokio::spawn(audit::sample_queues(sdk.clone(), started, sampling));

    // --- the wizards ---------------------------------------------------------------------
    let (epoch_tx, epoch_rx) = watch::channel(0u64);
    let sh = Arc::new(Shared {
        cfg: cfg.clone(),
        flow: spec.flow,
        total: spec.campaigns,
        ws_drop: spec.ws_drop,
        next: AtomicUsize::new(0),
        created: AtomicUsize::new(0),
        epoch: epoch_rx,
        deadline,
        started,
        http: http.clone(),
    });
    let handles: Vec<_> = (0..cfg.wizards)
        .map(|i| {
            let sh = sh.clone();
            tokio::spawn(async move {
                let w = Wizard::start(i, &sh).await?;
                Ok::<_, String>(w.run(sh).await)
            })
        })
        .collect();
    let restart = match (&cfg.restart_cmd, spec.restart) {
        (Some(cmd), true) => Some(tokio::spawn(restart_moto(
            sh.clone(),
            cmd.clone(),
            epoch_tx,
        ))),
        _ => None,
    };
    let mut wizards: Vec<Wizard> = Vec::new();
    let mut errors = Findings::default();
    for h in handles {
        let abort = h.abort_handle();
        match tokio::time::timeout_at((deadline + Duration::from_secs(150)).into(), h).await {
            Ok(Ok(Ok(w))) => wizards.push(w),
            Ok(Ok(Err(e))) => errors.add(format!("a wizard could not start: {e}")),
            Ok(Err(e)) => errors.add(format!("a wizard task failed: {e}")),
            Err(_) => {
                abort.abort();
                errors.add("a wizard did not finish in time (aborted)".into());
            }
        }
    }
    let wizards_done = Instant::now();
    let restart: Option<RestartInfo> = match restart {
        Some(h) => {
            let abort = h.abort_handle();
            match tokio::time::timeout(Duration::from_secs(200), h).await {
                Ok(Ok(info)) => info,
                _ => {
                    abort.abort();
                    None
                }
            }
        }
        None => None,
    };
    if spec.restart {
        match &restart {
            None => {
                failures.push("the moto restart never ran (not enough campaigns created)".into())
            }
            Some(r) if !r.ok => failures.push(format!(
                "the moto restart command failed: {} (log: {})",
                r.error.clone().unwrap_or_default(),
                r.log
            )),
            Some(_) => {}
        }
    }

    // --- chaos off ---------------------------------------------------------------------------
    // The workers and stream consumers are still processing what the wizards queued: chaos
    // stays armed until the queues are empty (bounded), so the faults reach that work too.
    let mut injected = Value::Null;
    let mut chaos_held = None;
    if spec.chaos.is_some() && !cfg.chaos_hold.is_zero() {
        let hold = Instant::now();
        let drained =
            audit::wait_queues_quiet(sdk, (hold + cfg.chaos_hold).min(run_deadline)).await;
        chaos_held =
            Some(json!({"seconds": hold.elapsed().as_secs_f64(), "queuesDrained": drained}));
        eprintln!(
            "{name}: chaos kept on {:.1} s after the wizards stopped ({})",
            hold.elapsed().as_secs_f64(),
            if drained {
                "until the queues were empty"
            } else {
                "the queues were not empty yet"
            }
        );
    }
    if spec.chaos.is_some() {
        if let Err(e) = chaos.disarm().await {
            failures.push(format!("could not disarm chaos: {e}"));
        }
        match chaos.report().await {
            Ok(Some(r)) => injected = r["injected"].clone(),
            Ok(None) => failures.push("GET /_local/chaos answered 404".into()),
            Err(e) => failures.push(e),
        }
    }

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
        (wizards_done - started).as_secs_f64(),
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
    let queue_depths = match tokio::time::timeout(Duration::from_secs(30), sampler).await {
        Ok(Ok(series)) => json!(series),
        _ => json!(null),
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

    let mut inv = Invariants::default();
    let mut final_states: BTreeMap<String, usize> = BTreeMap::new();
    let mut resumed_by_hand = 0;
    for (id, _) in &items {
        let Some(f) = finals.get(id) else { continue };
        *final_states.entry(audit::state_key(f)).or_default() += 1;
        if f.resumed_by_hand {
            resumed_by_hand += 1;
        }
        if f.not_found {
            inv.lost.add(format!("{id}: 404 at the end"));
            continue;
        }
        let Some(s) = &f.status else {
            inv.lost.add(format!("{id}: no status could be read"));
            continue;
        };
        if !audit::started(s) {
            inv.lost
                .add(format!("{id}: never started ({})", audit::brief(Some(s))));
        } else if !audit::completed(s) {
            inv.not_completed
                .add(format!("{id}: {}", audit::brief(Some(s))));
        }
        if let Err(e) = audit::invariant1(s) {
            inv.invariant1.add(format!("{id}: {e}"));
        }
    }

    // --- 2. the stream -----------------------------------------------------------------------
    let ids: HashSet<String> = items.iter().map(|(id, _)| id.clone()).collect();
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    let mut stream_summary = json!(null);
    let mut images: HashMap<String, HashMap<u64, audit::Image>> = HashMap::new();
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
    match read {
        Err(e) => failures.push(format!("stream audit failed: {e}")),
        Ok(read) => {
            let (mut starts, mut resumes, mut recs) = (0, 0, 0);
            for (id, _) in &items {
                let list = read
                    .by_campaign
                    .get(id)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let v = audit::judge_stream(list);
                starts += v.starts;
                resumes += v.resumes;
                recs += v.records;
                let status = finals.get(id).and_then(|f| f.status.as_ref());
                let started_per_status = status.is_some_and(audit::started);
                if v.starts > 1 {
                    inv.double_started.add(format!(
                        "{id}: discovery entered running {} times",
                        v.starts
                    ));
                }
                if started_per_status && v.starts == 0 {
                    inv.stream_gaps.add(format!(
                        "{id}: started per status, no start record in the stream"
                    ));
                }
                if !started_per_status && v.starts > 0 {
                    inv.stream_gaps.add(format!(
                        "{id}: a start record in the stream, but the status says {}",
                        audit::brief(status)
                    ));
                }
                if !v.has_insert {
                    inv.stream_gaps
                        .add(format!("{id}: no INSERT record in the stream"));
                }
                for p in v.version_problems {
                    inv.version_regressions.add(format!("{id}: {p}"));
                }
                images.insert(
                    id.clone(),
                    list.iter()
                        .filter_map(|r| r.new.clone())
                        .map(|i| (i.version, i))
                        .collect(),
                );
            }
            if read.undecodable.count > 0 {
                failures.push(format!(
                    "{} stream records could not be decoded (e.g. {:?})",
                    read.undecodable.count,
                    read.undecodable.examples.first()
                ));
            }
            stream_summary = json!({
                "recordsInStream": read.records_total, "recordsOfTheseCampaigns": recs,
                "readSeconds": stream_seconds,
                "discoveryStarts": starts, "discoveryResumes": resumes,
                "undecodable": read.undecodable,
            });
        }
    }

    // --- 3. events vs the stream, the client's ordering rule -----------------------------------
    let plain_logs: Vec<HashMap<String, Vec<Entry>>> =
        logs.iter().map(|(_, l)| l.clone()).collect();
    let events = audit::audit_events(&plain_logs, &images);
    for f in [&events.out_of_order, &events.applied_regressions] {
        for e in &f.examples {
            inv.version_regressions.add(format!("event: {e}"));
        }
        inv.version_regressions.count += f.count - f.examples.len();
    }
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
    let expected = generated_domains(cfg.domains as usize);
    let (domains_checked, domains_exact, domain_problems) = audit::check_domains(
        &completed,
        &expected,
        Instant::now() + Duration::from_secs(120),
    )
    .await;
    inv.wrong_domain_counts = domain_problems;

    // --- 5. queues ---------------------------------------------------------------------------
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
    let mut observed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut hand: BTreeMap<String, usize> = BTreeMap::new();
    let (mut auto_started, mut start_event, mut server, mut delivery) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut delivery_by_type: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut start_times = Vec::new();
    for rec in &records {
        *observed.entry(rec.observed).or_default() += 1;
        if let Some(r) = &rec.recovered_by_hand {
            *hand.entry(r.clone()).or_default() += 1;
        }
        if let Some(ms) = rec.start_ms {
            start_times.push(rec.first_attempt_s + ms / 1000.0);
        }
        let mut first_start = true;
        for (event, received, latency) in events_of(&logs, rec) {
            if let Some(l) = latency {
                delivery.push(l);
                delivery_by_type
                    .entry(event["type"].as_str().unwrap_or("?").to_string())
                    .or_default()
                    .push(l);
            }
            if is_discovery_start(event) && first_start {
                first_start = false;
                let ms = super::ms(received.saturating_duration_since(rec.t0));
                start_event.push(ms);
                if event["type"] == "phase_auto_started" {
                    auto_started.push(ms);
                    if let Some(l) = event["data"]["latencyMs"].as_f64() {
                        server.push(l);
                    }
                }
            }
        }
    }
    // 201 → discovery's completion commit (server `completedAt`), for the audited campaigns.
    let to_completed: Vec<f64> = audited
        .iter()
        .filter_map(|r| {
            let s = finals.get(&r.id)?.status.as_ref()?;
            let done = integration_tests::phase(s, "discovery")["completedAt"].as_str()?;
            let done = chrono::DateTime::parse_from_rfc3339(done).ok()?;
            Some((done.with_timezone(&chrono::Utc) - r.created_at).num_milliseconds() as f64)
        })
        .collect();
    let first = records
        .iter()
        .map(|r| r.first_attempt_s)
        .fold(f64::INFINITY, f64::min);
    let last_created = records.iter().map(|r| r.created_s).fold(0.0, f64::max);
    let last_started = start_times.iter().copied().fold(0.0, f64::max);
    let rate = |n: usize, end: f64| {
        if n == 0 || end <= first {
            0.0
        } else {
            n as f64 / (end - first)
        }
    };
    let latency = json!({
        "createMs": percentiles(records.iter().map(|r| r.create_ms).collect()),
        "createWithRetriesMs": percentiles(records.iter().map(|r| r.create_total_ms).collect()),
        "createToPhaseAutoStartedMs": percentiles(auto_started),
        "createToDiscoveryStartEventMs": percentiles(start_event),
        "createToStartObservedMs": percentiles(records.iter().filter_map(|r| r.start_ms).collect()),
        "seedCallsMs": percentiles(records.iter().filter_map(|r| r.calls_ms).collect()),
        "serverAutoStartLatencyMs": percentiles(server),
        "createdToDiscoveryCompletedMs": percentiles(to_completed),
        "eventDeliveryMs": percentiles(delivery),
        "eventDeliveryByTypeMs": delivery_by_type.into_iter().map(|(k, v)| (k, percentiles(v))).collect::<serde_json::Map<_, _>>(),
    });

    // --- verdict -------------------------------------------------------------------------------
    failures.extend(inv.failures());
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
        "injected": injected,
        "chaosHeldAfterWizards": chaos_held,
        "wsDropProbability": spec.ws_drop,
        "restart": restart,
        "wallSeconds": started.elapsed().as_secs_f64(),
        "wizardSeconds": (wizards_done - started).as_secs_f64(),
        "settledAfterSeconds": settled_after.map(|d| d.as_secs_f64()),
        "unsettledAfterSettleWait": unsettled,
        "settleWaitSeconds": cfg.settle.as_secs_f64(),
        "throughput": {
            "createdPerSecond": rate(records.len(), last_created),
            "startedPerSecond": rate(start_times.len(), last_started),
        },
        "latency": latency,
        "counters": counters,
        "errors": errors,
        "observed": observed,
        "recoveredByHand": hand.values().sum::<usize>(),
        "recoveredByHandReasons": hand,
        "discoveryResumedByHand": resumed_by_hand,
        "invariants": inv,
        "finalStates": final_states,
        "stream": stream_summary,
        "events": events,
        "domains": {"checked": domains_checked, "exact": domains_exact, "expectedPerCampaign": cfg.domains},
        "queues": queues,
        "queueDepths": queue_depths,
        "records": records,
    })
}
