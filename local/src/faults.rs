//! Fault injection for tests, in the local stack only (never in deployed code paths).
//!
//! `POST /_local/faults {"function", "campaignId", "times", "operation"?, "table"?, "error"?}`
//! arms a rule: the next `times` invocations of `function` for that campaign get a DynamoDB
//! client whose endpoint is this gateway's `/_local/ddb/{rule}` proxy. The proxy answers the
//! matching requests (`operation` like `PutItem`, `table`; all when omitted) with a real
//! DynamoDB error body (`ThrottlingException` or `InternalServerError`) and forwards the rest
//! to moto, so the handler sees exactly what the SDK reports for such a failure. For a stream
//! consumer (`phase-dispatcher`, `stream-publisher`) an invocation "for that campaign" is a batch
//! holding one of its records; the stream then retries from the first failed record.
//!
//! `"error": "drop"` on an SQS function loses the campaign's messages instead: the poller deletes
//! them without invoking the function (a message lost between send and handler — what the
//! sweeper must recover from). `"after": n` lets the first `n` matching invocations through
//! before the rule's `times` begin (e.g. a phase that stalls after a few chunks, whatever the
//! machine's speed). `DELETE /_local/faults/{rule}` disarms one rule.
//!
//! `POST /_local/faults {"connectionId", "error"?, "times"?}` arms a connection rule instead: the
//! Management API (`management.rs`) answers pushes to that live connection with
//! `429 LimitExceededException` (`"error": "limitExceeded"`, the default: the client's buffer is
//! full or it is posted to too fast) or `500` (`"internal"`), the next `times` pushes or every
//! push while the rule is armed. Every other connection is untouched: one bad connection.
//! `GET /_local/faults/{rule}` counts the pushes it failed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use uuid::Uuid;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultRule {
    pub function: String,
    pub campaign_id: Uuid,
    pub times: u32,
    /// Matching invocations to let through before the first faulty one.
    #[serde(default)]
    pub after: u32,
    pub operation: Option<String>,
    pub table: Option<String>,
    #[serde(default = "default_error")]
    pub error: String,
}

/// DynamoDB's error body for a throttled request (what the SDK parses as `ThrottlingException`).
pub const DDB_THROTTLE_BODY: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"injected fault"}"#;

fn default_error() -> String {
    "throttle".into()
}

/// What a connection rule answers a push with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PushFault {
    /// 429 `LimitExceededException`.
    #[default]
    LimitExceeded,
    /// 500 `InternalServerErrorException`.
    Internal,
}

/// Pushes to one connection fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushFaultRule {
    pub connection_id: String,
    #[serde(default)]
    pub error: PushFault,
    /// How many pushes fail; every push while the rule is armed when omitted.
    pub times: Option<u32>,
}

#[derive(Default, Clone)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Default)]
struct FaultState {
    next_id: u64,
    armed: HashMap<u64, FaultRule>,
    /// Rules by id, kept after they are used up so in-flight invocations still fail.
    all: HashMap<u64, FaultRule>,
    /// Armed connection rules.
    pushes: HashMap<u64, PushFaultRule>,
    /// Every connection rule's id, kept after it is used up or disarmed.
    push_ids: std::collections::HashSet<u64>,
    /// Requests answered with an injected error, by rule.
    injected: HashMap<u64, u64>,
}

impl Faults {
    pub fn arm(&self, rule: FaultRule) -> u64 {
        let mut s = self.inner.lock().expect("faults lock");
        s.next_id += 1;
        let id = s.next_id;
        s.all.insert(id, rule.clone());
        s.armed.insert(id, rule);
        id
    }

    pub fn arm_push(&self, rule: PushFaultRule) -> u64 {
        let mut s = self.inner.lock().expect("faults lock");
        s.next_id += 1;
        let id = s.next_id;
        s.push_ids.insert(id);
        s.pushes.insert(id, rule);
        id
    }

    /// Whether a push to `connection_id` fails now, and how (counted when it does).
    pub fn push_fault(&self, connection_id: &str) -> Option<PushFault> {
        let mut s = self.inner.lock().expect("faults lock");
        let (&id, rule) = s
            .pushes
            .iter_mut()
            .find(|(_, r)| r.connection_id == connection_id)?;
        let fault = rule.error;
        if let Some(times) = rule.times.as_mut() {
            *times = times.saturating_sub(1);
            if *times == 0 {
                s.pushes.remove(&id);
            }
        }
        *s.injected.entry(id).or_default() += 1;
        Some(fault)
    }

    /// Disarms one rule (its counts stay readable); `false` when it was not armed.
    pub fn disarm(&self, rule_id: u64) -> bool {
        let mut s = self.inner.lock().expect("faults lock");
        s.armed.remove(&rule_id).is_some() | s.pushes.remove(&rule_id).is_some()
    }

    /// Whether a rule loses messages (`"error": "drop"`); counts the message as injected.
    pub fn drops(&self, rule_id: u64) -> bool {
        let mut s = self.inner.lock().expect("faults lock");
        let drop = s.all.get(&rule_id).is_some_and(|r| r.error == "drop");
        if drop {
            *s.injected.entry(rule_id).or_default() += 1;
        }
        drop
    }

    pub fn clear(&self) {
        let mut s = self.inner.lock().expect("faults lock");
        s.armed.clear();
        s.pushes.clear();
    }

    /// Takes one invocation of an armed rule for this function and campaign.
    pub fn take(&self, function: &str, campaign_id: Uuid) -> Option<u64> {
        let mut s = self.inner.lock().expect("faults lock");
        let id = *s
            .armed
            .iter()
            .find(|(_, r)| r.function == function && r.campaign_id == campaign_id)?
            .0;
        let rule = s.armed.get_mut(&id)?;
        if rule.after > 0 {
            rule.after -= 1;
            return None;
        }
        rule.times = rule.times.saturating_sub(1);
        if rule.times == 0 {
            s.armed.remove(&id);
        }
        Some(id)
    }

    /// How many requests a rule has failed so far (tests check their fault really fired).
    pub fn injected(&self, rule_id: u64) -> Option<u64> {
        let s = self.inner.lock().expect("faults lock");
        (s.all.contains_key(&rule_id) || s.push_ids.contains(&rule_id))
            .then(|| s.injected.get(&rule_id).copied().unwrap_or(0))
    }

    /// The error to answer for a proxied request, or `None` to forward it.
    pub fn error_for(&self, rule_id: u64, target: &str, body: &[u8]) -> Option<(u16, String)> {
        let mut s = self.inner.lock().expect("faults lock");
        let rule = s.all.get(&rule_id)?;
        let operation = target.rsplit('.').next().unwrap_or_default();
        if rule.operation.as_deref().is_some_and(|op| op != operation) {
            return None;
        }
        if let Some(table) = &rule.table {
            let value: serde_json::Value = serde_json::from_slice(body).ok()?;
            if value["TableName"].as_str() != Some(table.as_str()) {
                return None;
            }
        }
        let kind = rule.error.clone();
        *s.injected.entry(rule_id).or_default() += 1;
        Some(match kind.as_str() {
            "internal" => (
                500,
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected fault"}"#.into(),
            ),
            _ => (400, DDB_THROTTLE_BODY.into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(campaign_id: Uuid, times: u32, after: u32) -> FaultRule {
        serde_json::from_value(serde_json::json!({
            "function": "phase-worker", "campaignId": campaign_id, "times": times,
            "after": after, "error": "drop"
        }))
        .expect("a rule")
    }

    #[test]
    fn after_lets_the_first_invocations_through() {
        let (faults, c, other) = (Faults::default(), Uuid::new_v4(), Uuid::new_v4());
        let id = faults.arm(rule(c, 2, 3));
        let taken: Vec<bool> = (0..7)
            .map(|_| faults.take("phase-worker", c).is_some())
            .collect();
        assert_eq!(taken, [false, false, false, true, true, false, false]);
        assert_eq!(faults.take("phase-worker", other), None);
        assert!(!faults.disarm(id), "used up, so no longer armed");
    }

    #[test]
    fn a_connection_rule_strikes_its_connection_only() {
        let faults = Faults::default();
        let rule: PushFaultRule = serde_json::from_value(serde_json::json!({
            "connectionId": "bad=", "times": 2, "error": "internal"
        }))
        .expect("a push rule");
        let id = faults.arm_push(rule);
        assert_eq!(faults.push_fault("good="), None);
        assert_eq!(faults.push_fault("bad="), Some(PushFault::Internal));
        assert_eq!(faults.push_fault("bad="), Some(PushFault::Internal));
        assert_eq!(faults.push_fault("bad="), None, "used up");
        assert_eq!(faults.injected(id), Some(2));
        assert!(!faults.disarm(id));

        let always = faults.arm_push(
            serde_json::from_value(serde_json::json!({"connectionId": "bad="})).expect("a rule"),
        );
        for _ in 0..50 {
            assert_eq!(faults.push_fault("bad="), Some(PushFault::LimitExceeded));
        }
        assert!(faults.disarm(always));
        assert_eq!(faults.push_fault("bad="), None);
        assert_eq!(faults.injected(always), Some(50));
        assert!(
            serde_json::from_value::<PushFaultRule>(
                serde_json::json!({"connectionId": "x", "function": "api"})
            )
            .is_err(),
            "a connection rule has no function"
        );
    }

    #[test]
    fn after_defaults_to_zero() {
        let rule: FaultRule = serde_json::from_value(serde_json::json!({
            "function": "phase-worker", "campaignId": Uuid::new_v4(), "times": 1
        }))
        .expect("a rule");
        assert_eq!((rule.after, rule.error.as_str()), (0, "throttle"));
    }
}
