//! One phase of `one-bad-connection`: paced creates, then what the subscribers had to get and
//! what they got.
//!
//! Campaign `i` is created at `i / rate` seconds (open loop, so both phases offer the same
//! load): the first by user 0 (the bad connection's: every phase has events for it), the others
//! by users 1, 2, … in turn, going on where the previous phase stopped (`offset`); Full Auto, with an `Idempotency-Key` (retried on 429/5xx/
//! transport errors). Then: every campaign settled (status polls, `audit::wait_settled`), the
//! table's stream read (every record of these campaigns, with the events the publisher derives
//! from it), and a wait until every subscriber that must have them holds at least as many
//! entries as its campaigns' required events (at most [`DELIVERY_WAIT`]); the verdict then
//! checks them exactly.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use integration_tests::campaign_body;
use reqwest::Method;
use serde_json::json;

use super::fleet::Fleet;
use super::verdict::{CampaignEvents, Got, Received};
use crate::loadgen::audit::{self, StreamCache};
use crate::loadgen::socket::Entry;

/// How long after the stream was read the subscribers may still be receiving.
pub const DELIVERY_WAIT: Duration = Duration::from_secs(30);

/// What one phase produced.
#[derive(Default)]
pub struct PhaseRun {
    /// (campaign id, owner user).
    pub created: Vec<(String, usize)>,
    pub create_failures: Vec<String>,
    pub create_seconds: f64,
    pub unsettled: usize,
    pub settled_seconds: Option<f64>,
    pub stream_records: usize,
    pub expected: HashMap<String, CampaignEvents>,
    pub failures: Vec<String>,
    /// From the stream read until every subscriber held its events (`None`: not within
    /// [`DELIVERY_WAIT`]).
    pub delivered_seconds: Option<f64>,
    pub received: Vec<Received>,
}

impl PhaseRun {
    /// Two runs of the same condition as one (their campaigns are distinct; `other`'s
    /// subscribers are the same sockets, in the same order).
    pub fn merge(mut self, other: PhaseRun) -> PhaseRun {
        self.created.extend(other.created);
        self.create_failures.extend(other.create_failures);
        self.create_seconds += other.create_seconds;
        self.unsettled += other.unsettled;
        self.settled_seconds = self
            .settled_seconds
            .zip(other.settled_seconds)
            .map(|(a, b)| a.max(b));
        self.stream_records += other.stream_records;
        self.expected.extend(other.expected);
        self.failures.extend(other.failures);
        self.delivered_seconds = self
            .delivered_seconds
            .zip(other.delivered_seconds)
            .map(|(a, b)| a.max(b));
        if self.received.is_empty() {
            self.received = other.received;
        } else {
            for (mine, theirs) in self.received.iter_mut().zip(other.received) {
                mine.by_campaign.extend(theirs.by_campaign);
            }
        }
        self
    }
}

/// The settings of one phase.
pub struct PhaseSpec {
    pub campaigns: usize,
    pub rate: f64,
    pub domains: u64,
    pub settle: Duration,
    /// The bad connection does not count when waiting for delivery.
    pub skip_bad: bool,
    /// Where the turn of users 1, 2, … starts.
    pub offset: usize,
}

/// The user who creates campaign `i` of a phase.
pub fn owner(i: usize, offset: usize, users: usize) -> usize {
    if i == 0 || users < 2 {
        0
    } else {
        1 + (offset + i - 1) % (users - 1)
    }
}

async fn create_all(fleet: &Fleet, spec: &PhaseSpec, run: &mut PhaseRun) {
    let started = tokio::time::Instant::now();
    let users = fleet.users.len();
    let creates = (0..spec.campaigns).map(|i| {
        let user = owner(i, spec.offset, users);
        let api = fleet.users[user].clone();
        let at = started + Duration::from_secs_f64(i as f64 / spec.rate);
        let mut body = campaign_body("full_sequence", spec.domains);
        let key = uuid::Uuid::new_v4().to_string();
        body["name"] = json!(format!("one-bad-connection {key}"));
        async move {
            tokio::time::sleep_until(at).await;
            let until = Instant::now() + Duration::from_secs(45);
            let r = api
                .call_retrying(
                    Method::POST,
                    "/campaigns",
                    Some(&body),
                    &[("Idempotency-Key", &key)],
                    until,
                )
                .await;
            match &r.outcome {
                Ok(x) if x.status == 201 && x.body["id"].is_string() => {
                    Ok((x.body["id"].as_str().unwrap_or_default().to_string(), user))
                }
                other => Err(format!(
                    "create by user {user}: {}",
                    crate::loadgen::api::describe(other)
                )),
            }
        }
    });
    for r in futures_util::future::join_all(creates).await {
        match r {
            Ok(c) => run.created.push(c),
            Err(e) => run.create_failures.push(e),
        }
    }
    run.create_seconds = started.elapsed().as_secs_f64();
}

/// Whether every subscriber that must have them holds at least as many entries as the required
/// events of its user's campaigns.
fn all_arrived(fleet: &Fleet, run: &PhaseRun, skip_bad: bool) -> bool {
    fleet.subs.iter().filter(|s| !(skip_bad && s.bad)).all(|s| {
        run.expected
            .iter()
            .filter(|(_, c)| c.owner == s.user)
            .all(|(id, c)| s.log.count(id) >= c.required.len())
    })
}

/// Runs one phase on the fleet's sockets.
pub async fn run_phase(
    fleet: &Fleet,
    spec: &PhaseSpec,
    sdk: &aws_config::SdkConfig,
    stream: &mut StreamCache,
) -> PhaseRun {
    let mut run = PhaseRun::default();
    create_all(fleet, spec, &mut run).await;

    // Settle: poll a campaign when its owner's first good socket got something new for it.
    let items: Vec<(String, crate::loadgen::api::Api)> = run
        .created
        .iter()
        .map(|(id, u)| (id.clone(), fleet.users[*u].clone()))
        .collect();
    let first_socket: HashMap<usize, &std::sync::Arc<crate::loadgen::socket::EventLog>> = fleet
        .subs
        .iter()
        .rev()
        .filter(|s| !s.bad)
        .map(|s| (s.user, &s.log))
        .collect();
    let owner: HashMap<&str, usize> = run
        .created
        .iter()
        .map(|(id, u)| (id.as_str(), *u))
        .collect();
    let news = |id: &str| {
        owner
            .get(id)
            .and_then(|u| first_socket.get(u))
            .map_or(0, |l| l.count(id))
    };
    let (finals, settled) = audit::wait_settled(&items, &news, Instant::now() + spec.settle).await;
    run.unsettled = finals.values().filter(|f| !f.settled).count();
    run.settled_seconds = settled.map(|d| d.as_secs_f64());

    // The stream: what the publisher had to push.
    let ids: HashSet<String> = run.created.iter().map(|(id, _)| id.clone()).collect();
    let table =
        std::env::var("CAMPAIGNS_TABLE").unwrap_or_else(|_| "campaign-autostart-campaigns".into());
    match audit::read_stream(
        stream,
        sdk,
        &table,
        &ids,
        Instant::now() + Duration::from_secs(300),
    )
    .await
    {
        Err(e) => run.failures.push(format!("stream read failed: {e}")),
        Ok(read) => {
            if read.undecodable.count > 0 {
                run.failures.push(format!(
                    "{} stream records could not be decoded (e.g. {:?})",
                    read.undecodable.count,
                    read.undecodable.examples.first()
                ));
            }
            for (id, user) in &run.created {
                let mut c = CampaignEvents {
                    owner: *user,
                    ..Default::default()
                };
                for rec in read.by_campaign.get(id).into_iter().flatten() {
                    run.stream_records += 1;
                    for k in &rec.events {
                        if k.1 == "phase_progress" {
                            c.progress.insert(k.clone());
                        } else {
                            c.required.insert(k.clone());
                        }
                    }
                }
                if c.required.is_empty() {
                    run.failures
                        .push(format!("{id}: no event derived from the stream"));
                }
                run.expected.insert(id.clone(), c);
            }
        }
    }

    // Wait for the deliveries still on their way.
    let read_at = Instant::now();
    while !all_arrived(fleet, &run, spec.skip_bad) && read_at.elapsed() < DELIVERY_WAIT {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if all_arrived(fleet, &run, spec.skip_bad) {
        run.delivered_seconds = Some(read_at.elapsed().as_secs_f64());
    }
    // A moment for anything extra (repeats, events the stream did not produce) to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;

    run.received = fleet
        .subs
        .iter()
        .map(|s| {
            let mut by_campaign = HashMap::new();
            for id in &ids {
                let got: Vec<Got> = s
                    .log
                    .since(id, 0)
                    .into_iter()
                    .filter_map(|e| match e {
                        Entry::Event {
                            event, latency_ms, ..
                        } => Some(Got {
                            key: (
                                event["version"].as_u64().unwrap_or_default(),
                                event["type"].as_str().unwrap_or_default().to_string(),
                                event["phase"].as_str().unwrap_or_default().to_string(),
                            ),
                            latency_ms,
                        }),
                        Entry::Snapshot { .. } => None,
                    })
                    .collect();
                if !got.is_empty() {
                    by_campaign.insert(id.clone(), got);
                }
            }
            Received {
                user: s.user,
                bad: s.bad,
                by_campaign,
            }
        })
        .collect();
    run
}

#[cfg(test)]
mod tests {
    use super::owner;

    #[test]
    fn user_0_first_then_the_others_in_turn() {
        let first: Vec<usize> = (0..5).map(|i| owner(i, 0, 4)).collect();
        assert_eq!(first, [0, 1, 2, 3, 1]);
        let next: Vec<usize> = (0..3).map(|i| owner(i, 4, 4)).collect();
        assert_eq!(next, [0, 2, 3]);
        assert_eq!(owner(3, 0, 1), 0);
    }
}
