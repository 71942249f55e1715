//! One user watching one Full Auto campaign through its phases, as the product's wizard does: a
//! WebSocket subscribed to `*` before the create, the create (with an `Idempotency-Key`), the
//! events until the campaign's last phase of this variant ended, the status poll only after 20 s
//! without an event (EVENTS.md), then a clean close.
//!
//! The user and its personas are made in [`prepare`], before the cost run's first reading: a real
//! user makes them once, not per campaign.

use std::time::{Duration, Instant};

use integration_tests::{campaign_body, phase};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::super::api::{Api, describe};
use super::super::socket::{Conn, Entry, EventLog};
use super::site::{Site, keywords};

/// How far the campaigns of one cost run go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// No persona: discovery completes, validation's auto-start fails visibly (`autoStart`
    /// failed, `readiness` says what is missing), as the product does without a DNS persona.
    Discovery,
    /// A DNS persona, no keywords: discovery and validation complete, keywords' auto-start fails.
    Validation,
    /// A DNS and an HTTP persona and `config.keywords`: all three phases complete.
    Keywords,
}

impl Variant {
    pub const ALL: [Variant; 3] = [Variant::Discovery, Variant::Validation, Variant::Keywords];

    pub fn last_phase(self) -> &'static str {
        match self {
            Variant::Discovery => "discovery",
            Variant::Validation => "validation",
            Variant::Keywords => "keywords",
        }
    }

    /// The phase whose auto-start must fail visibly to end the run.
    fn refused_phase(self) -> Option<&'static str> {
        match self {
            Variant::Discovery => Some("validation"),
            Variant::Validation => Some("keywords"),
            Variant::Keywords => None,
        }
    }
}

pub struct Prepared {
    pub api: Api,
    pub body: Value,
}

/// A user, its personas, and the body of its campaign.
pub async fn prepare(
    http: &reqwest::Client,
    site: &Site,
    variant: Variant,
    deadline: Instant,
) -> Result<Prepared, String> {
    let api = Api::new_user(http, deadline).await?;
    let mut body = campaign_body("full_sequence", site.domains as u64);
    body["name"] = json!(format!("cost {variant:?}"));
    let mut personas = Vec::new();
    let wanted: &[Value] = match variant {
        Variant::Discovery => &[],
        Variant::Validation => &[site.dns_persona()],
        Variant::Keywords => &[site.dns_persona(), site.http_persona()],
    };
    for p in wanted {
        let r = api
            .call_retrying(Method::POST, "/personas", Some(p), &[], deadline)
            .await;
        match &r.outcome {
            Ok(x) if x.status == 201 => personas.push(x.body["id"].clone()),
            _ => return Err(format!("persona: {}", describe(&r.outcome))),
        }
    }
    if !personas.is_empty() {
        body["config"]["personaIds"] = json!(personas);
    }
    if variant == Variant::Keywords {
        body["config"]["keywords"] = keywords();
    }
    Ok(Prepared { api, body })
}

/// What one session saw.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub id: String,
    pub seconds: f64,
    pub events: usize,
    pub status_polls: u32,
}

/// Whether a status body shows the end of this variant's run.
fn ended(variant: Variant, s: &Value) -> bool {
    let last_done = phase(s, variant.last_phase())["status"] == "completed";
    match variant.refused_phase() {
        None => last_done,
        Some(next) => last_done && phase(s, next)["autoStart"]["status"] == "failed",
    }
}

/// Whether the events seen so far show the end of this variant's run.
fn ended_by_events(variant: Variant, entries: &[Entry]) -> bool {
    let seen = |kind: &str, ph: &str| {
        entries.iter().any(|e| match e {
            Entry::Event { event, .. } => event["type"] == kind && event["phase"] == ph,
            Entry::Snapshot { status, .. } => ended(variant, status),
        })
    };
    let last_done = seen("phase_completed", variant.last_phase());
    match variant.refused_phase() {
        None => last_done,
        Some(next) => last_done && seen("auto_start_failed", next),
    }
}

/// Runs one campaign of `variant` to its end (or `deadline`).
pub async fn run(
    p: &Prepared,
    variant: Variant,
    number: u32,
    deadline: Instant,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let log = EventLog::new();
    let mut conn = Conn::open(&p.api.token, log.clone(), number).await?;
    let answer = conn
        .request(&json!({"action": "subscribe", "campaignId": "*"}))
        .await?;
    if answer["type"] != "subscribed" {
        return Err(format!("subscribe answered {answer}"));
    }
    let key = uuid::Uuid::new_v4().to_string();
    let r = p
        .api
        .call_retrying(
            Method::POST,
            "/campaigns",
            Some(&p.body),
            &[("Idempotency-Key", key.as_str())],
            deadline,
        )
        .await;
    let id = match &r.outcome {
        Ok(x) if x.status == 201 => x.body["id"].as_str().unwrap_or_default().to_string(),
        _ => return Err(format!("create: {}", describe(&r.outcome))),
    };
    let mut tick = log.watch();
    let (mut polls, mut last_news, mut seen) = (0u32, Instant::now(), 0usize);
    loop {
        let entries = log.since(&id, 0);
        if ended_by_events(variant, &entries) {
            break;
        }
        if entries.len() > seen {
            (seen, last_news) = (entries.len(), Instant::now());
        }
        if last_news.elapsed() >= Duration::from_secs(20) {
            polls += 1;
            last_news = Instant::now();
            if let Ok(s) = p.api.get(&format!("/campaigns/{id}/status")).await
                && s.status == 200
                && ended(variant, &s.body)
            {
                break;
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "campaign {id} ({variant:?}) did not end before the deadline ({} events)",
                entries.len()
            ));
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), tick.changed()).await;
    }
    let events = log.count(&id);
    conn.close().await;
    Ok(Outcome {
        id,
        seconds: started.elapsed().as_secs_f64(),
        events,
        status_polls: polls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variant_ends_with_its_last_phase_and_the_next_ones_refusal() {
        let s = json!({"phases": [
            {"phase": "discovery", "status": "completed", "autoStart": {"status": "started"}},
            {"phase": "validation", "status": "not_started", "autoStart": {"status": "failed"}},
            {"phase": "keywords", "status": "not_started"}
        ]});
        assert!(ended(Variant::Discovery, &s));
        assert!(!ended(Variant::Validation, &s));
        assert!(!ended(Variant::Keywords, &s));
    }
}
