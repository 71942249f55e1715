//! Settling: every campaign's final status, polled until nothing more will change by itself.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::Method;
use serde::Serialize;
use serde_json::{Value, json};

use super::status::{discovery_status, settled};
use crate::loadgen::api::{Api, Resp};

/// A campaign's state at the end of the settle wait.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalState {
    pub status: Option<Value>,
    pub not_found: bool,
    pub settled: bool,
    /// Discovery had failed and was restarted by hand during the wait.
    pub resumed_by_hand: bool,
}

/// Polls every campaign's status until it settled or `until`. Like the product's client, it
/// polls a campaign when something new arrived for it on the wizard's socket (`news` = how many
/// entries its log has), and otherwise only as a slow fallback (every 20 s, longer with many
/// campaigns pending), so the audit does not compete with the workers for moto. A discovery
/// that failed (the phase-work DLQ after repeated worker crashes) is restarted by hand once, as
/// the user would. Returns how long it took when every campaign settled.
pub async fn wait_settled(
    campaigns: &[(String, Api)],
    news: &(dyn Fn(&str) -> usize + Sync),
    until: Instant,
) -> (HashMap<String, FinalState>, Option<Duration>) {
    let started = Instant::now();
    let mut states: HashMap<String, FinalState> = campaigns
        .iter()
        .map(|(id, _)| {
            (
                id.clone(),
                FinalState {
                    status: None,
                    not_found: false,
                    settled: false,
                    resumed_by_hand: false,
                },
            )
        })
        .collect();
    // Per campaign: when it was last polled and how much news it had then.
    let mut polled: HashMap<&str, (Instant, usize)> = HashMap::new();
    loop {
        let pending: Vec<&(String, Api)> = campaigns
            .iter()
            .filter(|(id, _)| !states[id].settled)
            .collect();
        if pending.is_empty() {
            return (states, Some(started.elapsed()));
        }
        let last_round = Instant::now() >= until;
        let fallback =
            Duration::from_secs(20).max(Duration::from_millis(100) * pending.len() as u32);
        let due: Vec<(&(String, Api), usize)> = pending
            .into_iter()
            .map(|c| (c, news(&c.0)))
            .filter(|((id, _), count)| {
                last_round
                    || polled
                        .get(id.as_str())
                        .is_none_or(|(at, seen)| seen != count || at.elapsed() >= fallback)
            })
            .collect();
        let results: Vec<(String, usize, Result<Resp, String>)> =
            futures_util::stream::iter(due.into_iter().map(|((id, api), count)| async move {
                (
                    id.clone(),
                    count,
                    api.get(&format!("/campaigns/{id}/status")).await,
                )
            }))
            .buffer_unordered(8)
            .collect()
            .await;
        let mut resume = Vec::new();
        for (id, count, r) in results {
            if let Some((key, _)) = campaigns.iter().find(|(c, _)| *c == id) {
                polled.insert(key.as_str(), (Instant::now(), count));
            }
            let state = states.get_mut(&id).expect("state");
            match r {
                Ok(r) if r.status == 200 => {
                    if discovery_status(&r.body) == "failed" {
                        if state.resumed_by_hand {
                            state.settled = true;
                        } else {
                            resume.push(id.clone());
                        }
                    } else {
                        state.settled = settled(&r.body);
                    }
                    state.status = Some(r.body);
                }
                Ok(r) if r.status == 404 => {
                    state.not_found = true;
                    state.settled = true;
                }
                _ => {}
            }
        }
        for id in resume {
            if let Some((_, api)) = campaigns.iter().find(|(c, _)| *c == id) {
                let _ = api
                    .call_retrying(
                        Method::POST,
                        &format!("/campaigns/{id}/phases/discovery/start"),
                        Some(&json!({})),
                        &[],
                        (Instant::now() + Duration::from_secs(30)).min(until),
                    )
                    .await;
                if let Some(s) = states.get_mut(&id) {
                    s.resumed_by_hand = true;
                }
                polled.remove(id.as_str());
            }
        }
        if last_round {
            let all = states.values().all(|s| s.settled);
            return (states, all.then(|| started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
