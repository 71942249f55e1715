//! The storm flow (scenario `pause-resume-storm`): after discovery started by itself, the wizard
//! pauses, resumes, stops and starts its campaign's discovery again at random — 2 to 6 calls,
//! 0–250 ms apart, each chosen from the state the last answer showed — then leaves it to
//! complete (resumes a paused phase, starts a stopped or failed one again). 409s are expected
//! (the phase completed or changed meanwhile: the wizard reads the status and goes on). Every
//! call's outcome is counted on the campaign's record (`pause_202`, `resume_409`, `stop_none`
//! for no answer, `<action>_retried` when an earlier attempt may have been applied), which the
//! audit holds the stream's transitions against.

use std::time::{Duration, Instant};

use integration_tests::{campaign_body, phase};
use reqwest::Method;
use serde_json::json;

use super::{CampaignRecord, Shared, Wizard};
use crate::loadgen::api::describe;

/// Picks one of `choices` by weight.
fn pick(choices: &[(&'static str, u32)]) -> &'static str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut at = rand::random_range(0..total);
    for &(name, weight) in choices {
        if at < weight {
            return name;
        }
        at -= weight;
    }
    choices[choices.len() - 1].0
}

impl Wizard {
    pub(super) async fn one_storm(&mut self, sh: &Shared) {
        let body = campaign_body("full_sequence", sh.domains);
        let Some(mut rec) = self.create(sh, &body).await else {
            return;
        };
        self.await_start(sh, &mut rec).await;
        if !matches!(rec.observed, "none" | "gone") {
            self.storm(sh, &mut rec).await;
        }
        self.records.push(rec);
    }

    async fn storm(&mut self, sh: &Shared, rec: &mut CampaignRecord) {
        let mut status = self.discovery_status(&rec.id).await;
        for _ in 0..rand::random_range(2..=6) {
            let pause = Duration::from_millis(rand::random_range(0..=250));
            tokio::time::sleep(pause).await;
            let action = match status.as_deref() {
                Some("running") => pick(&[("pause", 60), ("stop", 25), ("wait", 15)]),
                Some("paused") => pick(&[("resume", 65), ("stop", 35)]),
                Some("stopped" | "failed") => "start",
                _ => break,
            };
            status = if action == "wait" {
                self.discovery_status(&rec.id).await
            } else {
                self.control(sh, rec, action).await
            };
        }
        // Leave it to complete.
        for _ in 0..5 {
            let action = match status.as_deref() {
                Some("paused") => "resume",
                Some("stopped" | "failed") => "start",
                Some(_) => return,
                None => break,
            };
            status = self.control(sh, rec, action).await;
        }
        let e = format!(
            "discovery still {} after the storm's last calls",
            status.as_deref().unwrap_or("unknown")
        );
        rec.problems.push(e.clone());
        self.errors.push(format!("campaign {}: {e}", rec.id));
    }

    /// Discovery's status now (`None` when it cannot be read in 5 tries: the storm then ends
    /// without its last calls, and the campaign may be left paused, which the audit reports).
    async fn discovery_status(&mut self, id: &str) -> Option<String> {
        for attempt in 1..=5 {
            match self.api.get(&format!("/campaigns/{id}/status")).await {
                Ok(r) if r.status == 200 => {
                    return phase(&r.body, "discovery")["status"]
                        .as_str()
                        .map(str::to_string);
                }
                _ => {
                    self.count("storm_status_errors");
                    tokio::time::sleep(crate::loadgen::backoff(attempt)).await;
                }
            }
        }
        None
    }

    /// One control call on discovery, retried on 429/5xx/no answer; discovery's status after it
    /// (the 202's campaign, or a fresh read).
    async fn control(
        &mut self,
        sh: &Shared,
        rec: &mut CampaignRecord,
        action: &str,
    ) -> Option<String> {
        let until = (Instant::now() + sh.cfg.retry_budget).min(sh.deadline);
        let path = format!("/campaigns/{}/phases/discovery/{action}", rec.id);
        let r = self
            .api
            .call_retrying(Method::POST, &path, Some(&json!({})), &[], until)
            .await;
        let outcome = match &r.outcome {
            Ok(x) => x.status.to_string(),
            Err(_) => "none".to_string(),
        };
        *rec.controls
            .entry(format!("{action}_{outcome}"))
            .or_default() += 1;
        if !r.reasons.is_empty() {
            *rec.controls.entry(format!("{action}_retried")).or_default() += 1;
        }
        self.count(&format!("storm_{action}_{outcome}"));
        match &r.outcome {
            Ok(x) if x.status == 202 => phase(&x.body, "discovery")["status"]
                .as_str()
                .map(str::to_string),
            Ok(x) if x.status == 409 => self.discovery_status(&rec.id).await,
            other => {
                let e = format!("{action}: {}", describe(other));
                rec.problems.push(e.clone());
                self.errors.push(format!("campaign {}: {e}", rec.id));
                self.discovery_status(&rec.id).await
            }
        }
    }
}

/// How many calls of `action` on a record may have been applied: answered 202, or retried or
/// unanswered (an attempt may have landed before the answer was lost).
pub fn maybe_applied(rec: &CampaignRecord, action: &str) -> u32 {
    ["202", "retried", "none"]
        .iter()
        .filter_map(|o| rec.controls.get(&format!("{action}_{o}")))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_weight() {
        assert_eq!(pick(&[("only", 1)]), "only");
        let pauses = (0..10_000)
            .filter(|_| pick(&[("pause", 60), ("stop", 40)]) == "pause")
            .count();
        assert!((5_500..6_500).contains(&pauses), "{pauses}");
    }
}
