//! Waiting for a campaign's discovery to start, as the product's client does: the event on the
//! socket first, a resync from the `subscribe` answer after a reconnect, the status poll after
//! 20 s without an event, and a start by hand (once) after the auto-start reported a failure.

use std::time::{Duration, Instant};

use integration_tests::phase;
use reqwest::Method;
use serde_json::{Value, json};

use super::super::api::{Retried, describe};
use super::super::ms;
use super::super::socket::Entry;
use super::{CampaignRecord, Shared, Wizard, is_discovery_start};

/// The answer to a resync (`subscribe` with the campaign id after a reconnect).
pub(super) enum Resync {
    Status(Value),
    NotFound,
    Unknown,
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

impl Wizard {
    /// Reconnects and resyncs the open campaign from the `subscribe` answer's status.
    pub(super) async fn reconnect_and_resync(
        &mut self,
        sh: &Shared,
        reason: &str,
        id: &str,
    ) -> Resync {
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

    /// `POST /campaigns/{id}/phases/discovery/start`, retried within the retry budget.
    pub(super) async fn start_discovery(&self, sh: &Shared, id: &str) -> Retried {
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
    pub(super) async fn await_start(&mut self, sh: &Shared, rec: &mut CampaignRecord) {
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
