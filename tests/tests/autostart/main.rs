//! The auto-start pipeline (BEHAVIOUR.md "Modes and auto-start", "Invariants", "Phase execution")
//! on the running local stack: SQS, the worker, retries with backoff, the DLQ, idempotency and
//! resumable discovery.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::*;
use serde_json::{Value, json};

mod idempotency;
mod refusals;
mod retries;
mod starts;

const WAIT: Duration = Duration::from_secs(30);

fn discovery_status(s: &Value) -> String {
    phase(s, "discovery")["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn assert_exact_domains(c: &Client, id: &str, n: usize) {
    let domains = c.all_domains(id).await;
    assert_eq!(domains.len(), n, "exactly numDomains domains");
    assert_eq!(
        domains.iter().collect::<HashSet<_>>().len(),
        n,
        "no duplicate domain"
    );
}

/// Creates a Manual campaign, arms a fault for it, then switches it to Full Auto. Returns the
/// campaign id and the fault rule id.
async fn full_auto_with_fault(c: &Client, n: u64, fault: Value) -> (String, u64) {
    let id = c.create_campaign(&campaign_body("step_by_step", n)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rule = fault;
    rule["campaignId"] = json!(id);
    let rule_id = arm_fault(&rule).await;
    c.put(
        &format!("/campaigns/{id}/mode"),
        &json!({"mode": "full_sequence"}),
    )
    .await
    .expect(200);
    (id, rule_id)
}

/// Waits until a Full Auto campaign without a DNS persona has finished discovery and its
/// auto-advance to validation has failed visibly (pre-start validation: no DNS persona).
async fn settled(c: &Client, id: &str) -> Value {
    let s = c
        .wait_status(id, WAIT, |s| {
            discovery_status(s) == "completed"
                && s["autoStart"]["phase"] == "validation"
                && s["autoStart"]["status"] == "failed"
        })
        .await;
    assert_eq!(s["autoStart"]["error"]["code"], "INVALID_CONFIG");
    assert_eq!(
        s["autoStart"]["error"]["details"][0]["field"],
        "config.personaIds"
    );
    assert_eq!(phase(&s, "validation")["status"], "not_started");
    s
}
