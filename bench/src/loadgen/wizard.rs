//! One simulated wizard: one user, one WebSocket subscribed to `*`, creating campaigns one after
//! another and waiting for each one's discovery to start, the way the product's client does it
//! (`start.rs`: the event first, a resync after a reconnect, the status poll after 20 s without
//! an event, and a start by hand when the auto-start reports that it failed). Each campaign is
//! named after its create's `Idempotency-Key`, so the audit can tell one create from another in
//! the listing.
//! In the storm flow the wizard then pauses, resumes, stops and starts its campaign again at
//! random (`storm.rs`).

mod start;
mod storm;

pub use storm::maybe_applied;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::campaign_body;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use super::api::{Api, describe};
use super::socket::{Conn, EventLog};
use super::{Config, backoff, ms};

/// Which client flow the wizards run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Create in `full_sequence`; the server starts discovery.
    ServerDriven,
    /// The seed's 3 calls: create `step_by_step`, `PUT …/mode full_sequence`, `POST …/start`.
    Seed,
    /// Server-driven, then a storm of pause / resume / stop / start again on discovery.
    Storm,
}

/// What the wizards of one scenario share.
pub struct Shared {
    pub cfg: Config,
    pub flow: Flow,
    pub total: usize,
    /// Domains per campaign.
    pub domains: u64,
    pub ws_drop: f64,
    /// Campaign slots handed out (a wizard takes one before each create).
    pub next: AtomicUsize,
    /// Creates answered 201.
    pub created: AtomicUsize,
    /// Bumped when every wizard must reconnect (after a moto restart).
    pub epoch: watch::Receiver<u64>,
    pub deadline: Instant,
    pub started: Instant,
    pub http: reqwest::Client,
}

impl Shared {
    /// Seconds since the scenario started.
    pub fn offset(&self, t: Instant) -> f64 {
        t.saturating_duration_since(self.started).as_secs_f64()
    }
}

/// One campaign a wizard created.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignRecord {
    pub id: String,
    /// The campaign's name: `load <Idempotency-Key>`.
    pub name: String,
    pub wizard: usize,
    #[serde(skip)]
    pub t0: Instant,
    /// Seconds since the scenario started: the first create attempt, the 201.
    pub first_attempt_s: f64,
    pub created_s: f64,
    /// Wall-clock time of the 201 (for server timestamps such as discovery's `completedAt`).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The answered attempt (request → 201).
    pub create_ms: f64,
    /// First attempt → 201, retries included.
    pub create_total_ms: f64,
    pub create_attempts: u32,
    /// How the start was seen: `event`, `resync`, `poll`, `none` (not within the wait) or
    /// `gone` (404: the campaign no longer exists).
    pub observed: &'static str,
    /// First create attempt → start observed (however it was observed).
    pub start_ms: Option<f64>,
    /// Seed flow: first create attempt → the third call answered 202/409.
    pub calls_ms: Option<f64>,
    pub seed_start_status: Option<u16>,
    /// Why the wizard started discovery by hand (the `auto_start_failed` code), if it did.
    pub recovered_by_hand: Option<String>,
    /// Storm flow: each control call's outcome (`pause_202`, `resume_409`, `stop_none`, …).
    pub controls: BTreeMap<String, u32>,
    pub problems: Vec<String>,
}

/// Whether an event is discovery's start (by the server or by hand).
pub fn is_discovery_start(e: &Value) -> bool {
    matches!(
        e["type"].as_str(),
        Some("phase_auto_started" | "phase_started")
    ) && e["phase"] == "discovery"
}

/// Opens a socket and subscribes it to `*`.
async fn open_subscribed(token: &str, log: Arc<EventLog>, number: u32) -> Result<Conn, String> {
    let mut conn = Conn::open(token, log, number).await?;
    match conn
        .request(&json!({"action": "subscribe", "campaignId": "*"}))
        .await
    {
        Ok(a) if a["type"] == "subscribed" => Ok(conn),
        Ok(a) => {
            conn.drop_abruptly();
            Err(format!("subscribe *: {a}"))
        }
        Err(e) => {
            conn.drop_abruptly();
            Err(e)
        }
    }
}

pub struct Wizard {
    pub index: usize,
    pub api: Api,
    pub log: Arc<EventLog>,
    pub conn: Option<Conn>,
    connections: u32,
    epoch_seen: u64,
    pub counters: BTreeMap<String, u64>,
    pub errors: Vec<String>,
    pub records: Vec<CampaignRecord>,
    /// Names of the creates given up after the retry budget.
    pub given_up: Vec<String>,
}

impl Wizard {
    /// A new user with its socket subscribed to `*`.
    pub async fn start(index: usize, sh: &Shared) -> Result<Self, String> {
        let until = (Instant::now() + Duration::from_secs(30)).min(sh.deadline);
        let api = Api::new_user(&sh.http, until).await?;
        let mut w = Self {
            index,
            api,
            log: EventLog::new(),
            conn: None,
            connections: 0,
            epoch_seen: *sh.epoch.borrow(),
            counters: BTreeMap::new(),
            errors: Vec::new(),
            records: Vec::new(),
            given_up: Vec::new(),
        };
        w.connect(sh).await?;
        Ok(w)
    }

    fn count(&mut self, what: &str) {
        *self.counters.entry(what.to_string()).or_default() += 1;
    }

    /// (Re)connects and subscribes to `*`, retrying with backoff for the retry budget.
    async fn connect(&mut self, sh: &Shared) -> Result<(), String> {
        if let Some(old) = self.conn.take() {
            old.drop_abruptly();
        }
        let epoch = *sh.epoch.borrow();
        let until = (Instant::now() + sh.cfg.retry_budget).min(sh.deadline);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.connections += 1;
            match open_subscribed(&self.api.token, self.log.clone(), self.connections).await {
                Ok(conn) => {
                    self.conn = Some(conn);
                    self.epoch_seen = epoch;
                    return Ok(());
                }
                Err(e) => {
                    self.count("connect_failures");
                    let pause = backoff(attempt);
                    if Instant::now() + pause >= until {
                        return Err(format!("no WebSocket after {attempt} attempts: {e}"));
                    }
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }

    /// Why the socket must be (re)opened, if it must.
    fn reconnect_reason(&self, sh: &Shared) -> Option<&'static str> {
        match &self.conn {
            None => Some("reconnects_after_drop"),
            Some(c) if c.is_closed() => Some("reconnects_socket_closed"),
            Some(_) if *sh.epoch.borrow() != self.epoch_seen => Some("reconnects_after_restart"),
            Some(_) => None,
        }
    }

    /// Runs campaigns until the scenario's slots are taken or its deadline passed.
    pub async fn run(mut self, sh: Arc<Shared>) -> Self {
        loop {
            if Instant::now() >= sh.deadline {
                self.count("stopped_by_deadline");
                break;
            }
            if sh.next.fetch_add(1, Ordering::SeqCst) >= sh.total {
                break;
            }
            if let Some(reason) = self.reconnect_reason(&sh) {
                self.count(reason);
                if let Err(e) = self.connect(&sh).await {
                    self.count("reconnect_failures");
                    self.errors.push(e);
                }
            }
            match sh.flow {
                Flow::ServerDriven => self.one_server_driven(&sh).await,
                Flow::Seed => self.one_seed(&sh).await,
                Flow::Storm => self.one_storm(&sh).await,
            }
        }
        self
    }

    /// `POST /campaigns` with an `Idempotency-Key` (and named after it), retried with the same
    /// key.
    async fn create(&mut self, sh: &Shared, body: &Value) -> Option<CampaignRecord> {
        let key = Uuid::new_v4().to_string();
        let name = format!("load {key}");
        let mut body = body.clone();
        body["name"] = json!(name);
        let body = &body;
        let t0 = Instant::now();
        let until = (t0 + sh.cfg.retry_budget).min(sh.deadline);
        let r = self
            .api
            .call_retrying(
                Method::POST,
                "/campaigns",
                Some(body),
                &[("Idempotency-Key", &key)],
                until,
            )
            .await;
        for reason in &r.reasons {
            self.count("create_retries");
            self.count(&format!("create_retries_{reason}"));
        }
        let attempts = r.reasons.len() as u32 + 1;
        match &r.outcome {
            Ok(x) if x.status == 201 && x.body["id"].is_string() => {
                sh.created.fetch_add(1, Ordering::SeqCst);
                let now = Instant::now();
                Some(CampaignRecord {
                    id: x.body["id"].as_str().unwrap_or_default().to_string(),
                    name,
                    wizard: self.index,
                    t0,
                    first_attempt_s: sh.offset(t0),
                    created_s: sh.offset(now),
                    created_at: chrono::Utc::now(),
                    create_ms: r.last_ms,
                    create_total_ms: ms(now - t0),
                    create_attempts: attempts,
                    observed: "none",
                    start_ms: None,
                    calls_ms: None,
                    seed_start_status: None,
                    recovered_by_hand: None,
                    controls: BTreeMap::new(),
                    problems: Vec::new(),
                })
            }
            other => {
                self.count("create_failures");
                self.given_up.push(name);
                self.errors.push(format!(
                    "create gave up after {attempts} attempts ({:.1} s): {}",
                    t0.elapsed().as_secs_f64(),
                    describe(other)
                ));
                None
            }
        }
    }

    async fn one_server_driven(&mut self, sh: &Shared) {
        let body = campaign_body("full_sequence", sh.domains);
        let Some(mut rec) = self.create(sh, &body).await else {
            return;
        };
        if sh.ws_drop > 0.0
            && rand::random_bool(sh.ws_drop)
            && let Some(conn) = self.conn.take()
        {
            conn.drop_abruptly();
            self.count("ws_drops");
        }
        self.await_start(sh, &mut rec).await;
        self.records.push(rec);
    }

    async fn one_seed(&mut self, sh: &Shared) {
        let body = campaign_body("step_by_step", sh.domains);
        let Some(mut rec) = self.create(sh, &body).await else {
            return;
        };
        let until = (Instant::now() + sh.cfg.retry_budget).min(sh.deadline);
        let mode = self
            .api
            .call_retrying(
                Method::PUT,
                &format!("/campaigns/{}/mode", rec.id),
                Some(&json!({"mode": "full_sequence"})),
                &[],
                until,
            )
            .await;
        for _ in &mode.reasons {
            self.count("seed_call_retries");
        }
        if !matches!(&mode.outcome, Ok(r) if r.status == 200) {
            let e = format!("PUT mode: {}", describe(&mode.outcome));
            rec.problems.push(e.clone());
            self.errors.push(format!("campaign {}: {e}", rec.id));
        }
        let start = self.start_discovery(sh, &rec.id).await;
        for _ in &start.reasons {
            self.count("seed_call_retries");
        }
        match &start.outcome {
            Ok(r) if r.status == 202 => {
                self.count("seed_start_202_manual_won");
                rec.seed_start_status = Some(202);
                rec.calls_ms = Some(ms(rec.t0.elapsed()));
            }
            Ok(r)
                if r.status == 409
                    && matches!(
                        r.code(),
                        "PHASE_ALREADY_RUNNING" | "PHASE_ALREADY_COMPLETED"
                    ) =>
            {
                self.count("seed_start_409_server_won");
                rec.seed_start_status = Some(409);
                rec.calls_ms = Some(ms(rec.t0.elapsed()));
            }
            other => {
                let e = format!("POST start: {}", describe(other));
                rec.problems.push(e.clone());
                self.errors.push(format!("campaign {}: {e}", rec.id));
            }
        }
        self.await_start(sh, &mut rec).await;
        self.records.push(rec);
    }
}
