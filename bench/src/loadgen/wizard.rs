//! One simulated wizard: one user, one WebSocket subscribed to `*`, creating campaigns one after
//! another and waiting for each one's discovery to start, the way the product's client does it:
//! the event first, a resync after a reconnect, the status poll after 20 s without an event, and
//! a start by hand when the auto-start reports that it failed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::{campaign_body, phase};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;
use uuid::Uuid;

use super::api::{Api, Retried, describe};
use super::socket::{Conn, Entry, EventLog};
use super::{Config, backoff, ms};

/// Which client flow the wizards run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flow {
    /// Create in `full_sequence`; the server starts discovery.
    ServerDriven,
    /// The seed's 3 calls: create `step_by_step`, `PUT …/mode full_sequence`, `POST …/start`.
    Seed,
}

/// What the wizards of one scenario share.
pub struct Shared {
    pub cfg: Config,
    pub flow: Flow,
    pub total: usize,
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
    pub problems: Vec<String>,
}

/// The answer to a resync (`subscribe` with the campaign id after a reconnect).
enum Resync {
    Status(Value),
    NotFound,
    Unknown,
}

/// Whether an event is discovery's start (by the server or by hand).
pub fn is_discovery_start(e: &Value) -> bool {
    matches!(
        e["type"].as_str(),
        Some("phase_auto_started" | "phase_started")
    ) && e["phase"] == "discovery"
}

/// Whether a status body shows discovery started (running, or already further).
fn status_started(s: &Value) -> bool {
    matches!(
        phase(s, "discovery")["status"].as_str(),
        Some("running" | "completed" | "failed")
    )
}

/// The code of a failed discovery auto-start in a status body, if discovery has not started.
fn status_auto_failed(s: &Value) -> Option<String> {
    (phase(s, "discovery")["status"] == "not_started" && s["autoStart"]["status"] == "failed").then(
        || {
            s["autoStart"]["error"]["code"]
                .as_str()
                .unwrap_or("UNKNOWN")
                .to_string()
        },
    )
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

    /// Reconnects and resyncs the open campaign from the `subscribe` answer's status.
    async fn reconnect_and_resync(&mut self, sh: &Shared, reason: &str, id: &str) -> Resync {
        self.count(reason);
        if let Err(e) = self.connect(sh).await {
            self.count("reconnect_failures");
            self.errors.push(e);
            return Resync::Unknown;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Resync::Unknown;
        };
        match conn
            .request(&json!({"action": "subscribe", "campaignId": id}))
            .await
        {
            Ok(a) if a["type"] == "subscribed" => {
                let status = a["status"].clone();
                self.log.push(
                    id,
                    Entry::Snapshot {
                        version: status["version"].as_u64().unwrap_or_default(),
                        status: status.clone(),
                        received: Instant::now(),
                    },
                );
                self.count("resyncs");
                Resync::Status(status)
            }
            Ok(a) if a["code"] == "NOT_FOUND" => Resync::NotFound,
            Ok(_) | Err(_) => {
                self.count("resync_errors");
                Resync::Unknown
            }
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
            }
        }
        self
    }

    /// `POST /campaigns` with an `Idempotency-Key`, retried with the same key.
    async fn create(&mut self, sh: &Shared, body: &Value) -> Option<CampaignRecord> {
        let key = Uuid::new_v4().to_string();
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
                    problems: Vec::new(),
                })
            }
            other => {
                self.count("create_failures");
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
        let body = campaign_body("full_sequence", sh.cfg.domains);
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
        let body = campaign_body("step_by_step", sh.cfg.domains);
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

    /// `POST /campaigns/{id}/phases/discovery/start`, retried within the retry budget.
    async fn start_discovery(&self, sh: &Shared, id: &str) -> Retried {
        let until = (Instant::now() + sh.cfg.retry_budget).min(sh.deadline);
        self.api
            .call_retrying(
                Method::POST,
                &format!("/campaigns/{id}/phases/discovery/start"),
                Some(&json!({})),
                &[],
                until,
            )
            .await
    }

    /// Starts discovery by hand (once per campaign), as the product lets the user do after a
    /// failed auto-start: 202, or 409 already running/completed, is fine.
    async fn start_by_hand(&mut self, sh: &Shared, rec: &mut CampaignRecord, reason: String) {
        if rec.recovered_by_hand.is_some() {
            return;
        }
        rec.recovered_by_hand = Some(reason);
        self.count("recovered_by_hand");
        let r = self.start_discovery(sh, &rec.id).await;
        for _ in &r.reasons {
            self.count("hand_start_retries");
        }
        match &r.outcome {
            Ok(x) if x.status == 202 => self.count("hand_start_202"),
            Ok(x)
                if x.status == 409
                    && matches!(
                        x.code(),
                        "PHASE_ALREADY_RUNNING" | "PHASE_ALREADY_COMPLETED"
                    ) =>
            {
                self.count("hand_start_409")
            }
            other => {
                self.count("hand_start_failures");
                let e = format!("start by hand: {}", describe(other));
                rec.problems.push(e.clone());
                self.errors.push(format!("campaign {}: {e}", rec.id));
            }
        }
    }

    fn observe(rec: &mut CampaignRecord, how: &'static str, at: Instant) {
        rec.observed = how;
        rec.start_ms = Some(ms(at.saturating_duration_since(rec.t0)));
    }

    /// Waits for discovery's start of `rec`: its event on the socket; a resync when the socket
    /// had to be reopened; the status poll after 20 s without an event; a start by hand after an
    /// `auto_start_failed`. Bounded by the start wait and the scenario deadline.
    async fn await_start(&mut self, sh: &Shared, rec: &mut CampaignRecord) {
        let id = rec.id.clone();
        let mut tick = self.log.watch();
        let mut scanned = 0usize;
        let mut last_news = Instant::now();
        let hard = (Instant::now() + sh.cfg.start_wait).min(sh.deadline);
        loop {
            if let Some(reason) = self.reconnect_reason(sh) {
                match self.reconnect_and_resync(sh, reason, &id).await {
                    Resync::Status(s) => {
                        last_news = Instant::now();
                        if status_started(&s) {
                            Self::observe(rec, "resync", Instant::now());
                            return;
                        }
                        if let Some(code) = status_auto_failed(&s) {
                            self.start_by_hand(sh, rec, code).await;
                        }
                    }
                    Resync::NotFound => {
                        rec.observed = "gone";
                        self.count("gone");
                        return;
                    }
                    Resync::Unknown => {}
                }
                tick = self.log.watch();
            }
            let new = self.log.since(&id, scanned);
            scanned += new.len();
            for entry in new {
                let Entry::Event {
                    event, received, ..
                } = entry
                else {
                    continue;
                };
                last_news = last_news.max(received);
                if is_discovery_start(&event) {
                    Self::observe(rec, "event", received);
                    return;
                }
                if event["type"] == "auto_start_failed" && event["phase"] == "discovery" {
                    let code = event["data"]["code"]
                        .as_str()
                        .unwrap_or("UNKNOWN")
                        .to_string();
                    self.start_by_hand(sh, rec, code).await;
                }
            }
            let now = Instant::now();
            if now >= hard {
                self.give_up(rec);
                return;
            }
            let silence = now.saturating_duration_since(last_news);
            if silence >= sh.cfg.event_silence {
                self.poll_start(sh, rec, hard).await;
                return;
            }
            let wait = (sh.cfg.event_silence - silence)
                .min(Duration::from_secs(1))
                .min(hard - now);
            let _ = tokio::time::timeout(wait, tick.changed()).await;
        }
    }

    fn give_up(&mut self, rec: &mut CampaignRecord) {
        rec.observed = "none";
        self.count("start_not_observed");
        rec.problems
            .push("discovery start not observed within the wait".into());
    }

    /// The fallback: `GET /campaigns/{id}/status` every 500 ms until discovery started.
    async fn poll_start(&mut self, sh: &Shared, rec: &mut CampaignRecord, hard: Instant) {
        self.count("poll_fallbacks");
        let path = format!("/campaigns/{}/status", rec.id);
        loop {
            match self.api.get(&path).await {
                Ok(s) if s.status == 200 => {
                    if status_started(&s.body) {
                        Self::observe(rec, "poll", Instant::now());
                        return;
                    }
                    if let Some(code) = status_auto_failed(&s.body)
                        && rec.recovered_by_hand.is_none()
                    {
                        self.start_by_hand(sh, rec, code).await;
                        continue;
                    }
                }
                Ok(s) if s.status == 404 => {
                    rec.observed = "gone";
                    self.count("gone");
                    return;
                }
                Ok(_) | Err(_) => self.count("poll_errors"),
            }
            if Instant::now() >= hard {
                self.give_up(rec);
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
