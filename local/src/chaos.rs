//! Chaos: probabilistic fault injection across the whole local stack (never in deployed code).
//!
//! `POST /_local/chaos {"ddbThrottle", "sqsSendFailure", "workerCrash", "streamFailure",
//! "pushFailure"}` (probabilities 0–1, each optional) turns it on; `GET /_local/chaos` reports
//! the configuration and how many faults each kind injected; `DELETE /_local/chaos` turns it
//! off (the counters stay readable until the next `POST` resets them).
//!
//! Where each kind strikes — always at the boundary a real failure would come from, so the
//! handlers run unchanged:
//! - `ddbThrottle`: every DynamoDB request of the HTTP API handler, the SQS workers and the
//!   stream consumers goes through this gateway's `/_local/chaos/ddb` proxy, which answers a
//!   share of them with DynamoDB's real `ThrottlingException` body. The SDK's standard retries
//!   stay on, as deployed.
//! - `sqsSendFailure`: the same for `SendMessage`/`SendMessageBatch` of those handlers
//!   (`/_local/chaos/sqs`, SQS's `InternalFailure`, HTTP 500).
//! - `workerCrash`: an SQS worker invocation is killed after a random 0–25 ms, mid-batch, like a
//!   Lambda runtime crash: its effects so far stay, nothing is reported, the whole batch comes
//!   back. (Lambda leaves the messages invisible for the queue's visibility timeout, 60–360 s;
//!   the local poller makes them visible again after [`CRASH_REDELIVERY_SECONDS`] so a run stays
//!   short. The redelivery path is the same.)
//! - `streamFailure`: a stream consumer invocation runs, then is reported failed (as if it
//!   timed out after its side effects), so the batch is retried and events repeat.
//! - `pushFailure`: the Management API answers `POST /@connections/{id}` with a 500.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// How long the messages of a crashed batch stay invisible before they are redelivered.
pub const CRASH_REDELIVERY_SECONDS: i32 = 1;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ChaosConfig {
    pub ddb_throttle: f64,
    pub sqs_send_failure: f64,
    pub worker_crash: f64,
    pub stream_failure: f64,
    pub push_failure: f64,
}

impl ChaosConfig {
    /// The probability that is out of 0–1, if any.
    pub fn invalid(&self) -> Option<&'static str> {
        [
            ("ddbThrottle", self.ddb_throttle),
            ("sqsSendFailure", self.sqs_send_failure),
            ("workerCrash", self.worker_crash),
            ("streamFailure", self.stream_failure),
            ("pushFailure", self.push_failure),
        ]
        .into_iter()
        .find(|(_, p)| !(0.0..=1.0).contains(p))
        .map(|(name, _)| name)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    DdbThrottle,
    SqsSendFailure,
    WorkerCrash,
    StreamFailure,
    PushFailure,
}

const KINDS: [(Kind, &str); 5] = [
    (Kind::DdbThrottle, "ddbThrottle"),
    (Kind::SqsSendFailure, "sqsSendFailure"),
    (Kind::WorkerCrash, "workerCrash"),
    (Kind::StreamFailure, "streamFailure"),
    (Kind::PushFailure, "pushFailure"),
];

#[derive(Clone, Default)]
pub struct Chaos {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    config: RwLock<Option<ChaosConfig>>,
    injected: [AtomicU64; 5],
}

impl Chaos {
    pub fn set(&self, config: ChaosConfig) {
        for c in &self.inner.injected {
            c.store(0, Ordering::Relaxed);
        }
        *self.inner.config.write().expect("chaos lock") = Some(config);
    }

    pub fn clear(&self) {
        *self.inner.config.write().expect("chaos lock") = None;
    }

    fn config(&self) -> Option<ChaosConfig> {
        *self.inner.config.read().expect("chaos lock")
    }

    /// Whether handlers should get the clients that go through the chaos proxies.
    pub fn proxies_clients(&self) -> bool {
        self.config()
            .is_some_and(|c| c.ddb_throttle > 0.0 || c.sqs_send_failure > 0.0)
    }

    /// Draws whether a fault of `kind` strikes now, and counts it when it does.
    pub fn strike(&self, kind: Kind) -> bool {
        let Some(c) = self.config() else {
            return false;
        };
        let p = match kind {
            Kind::DdbThrottle => c.ddb_throttle,
            Kind::SqsSendFailure => c.sqs_send_failure,
            Kind::WorkerCrash => c.worker_crash,
            Kind::StreamFailure => c.stream_failure,
            Kind::PushFailure => c.push_failure,
        };
        let hit = p > 0.0 && rand::random::<f64>() < p;
        if hit {
            self.inner.injected[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    pub fn report(&self) -> Value {
        let injected: serde_json::Map<String, Value> = KINDS
            .iter()
            .map(|(k, name)| {
                (
                    name.to_string(),
                    json!(self.inner.injected[*k as usize].load(Ordering::Relaxed)),
                )
            })
            .collect();
        json!({"config": self.config(), "injected": injected})
    }
}

/// The error body of an injected fault for a proxied AWS JSON request, or `None` to forward it.
pub fn proxied_fault(chaos: &Chaos, service: &str, target: &str) -> Option<(u16, &'static str)> {
    let operation = target.rsplit('.').next().unwrap_or_default();
    match service {
        "ddb" if chaos.strike(Kind::DdbThrottle) => Some((400, crate::faults::DDB_THROTTLE_BODY)),
        "sqs"
            if matches!(operation, "SendMessage" | "SendMessageBatch")
                && chaos.strike(Kind::SqsSendFailure) =>
        {
            Some((
                500,
                r#"{"__type":"com.amazon.coral.service#InternalFailure","message":"injected fault (chaos)"}"#,
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_never_strikes_and_certain_always_does() {
        let chaos = Chaos::default();
        assert!(!chaos.strike(Kind::DdbThrottle));
        chaos.set(ChaosConfig {
            worker_crash: 1.0,
            ..Default::default()
        });
        assert!(chaos.strike(Kind::WorkerCrash));
        assert!(!chaos.strike(Kind::DdbThrottle));
        assert!(!chaos.proxies_clients());
        assert_eq!(chaos.report()["injected"]["workerCrash"], 1);
        chaos.clear();
        assert!(!chaos.strike(Kind::WorkerCrash));
        assert_eq!(chaos.report()["injected"]["workerCrash"], 1);
        assert!(chaos.report()["config"].is_null());
    }

    #[test]
    fn strikes_at_about_the_configured_rate() {
        let chaos = Chaos::default();
        chaos.set(ChaosConfig {
            ddb_throttle: 0.2,
            ..Default::default()
        });
        let hits = (0..10_000)
            .filter(|_| proxied_fault(&chaos, "ddb", "DynamoDB_20120810.PutItem").is_some())
            .count();
        assert!((1_700..2_300).contains(&hits), "{hits} of 10,000");
    }

    #[test]
    fn only_sends_fail_on_sqs() {
        let chaos = Chaos::default();
        chaos.set(ChaosConfig {
            sqs_send_failure: 1.0,
            ..Default::default()
        });
        assert!(proxied_fault(&chaos, "sqs", "AmazonSQS.SendMessage").is_some());
        assert!(proxied_fault(&chaos, "sqs", "AmazonSQS.ChangeMessageVisibility").is_none());
        assert!(proxied_fault(&chaos, "ddb", "DynamoDB_20120810.PutItem").is_none());
    }

    #[test]
    fn rejects_probabilities_out_of_range() {
        let c: ChaosConfig = serde_json::from_str(r#"{"ddbThrottle": 1.5}"#).unwrap();
        assert_eq!(c.invalid(), Some("ddbThrottle"));
        assert!(serde_json::from_str::<ChaosConfig>(r#"{"nope": 1}"#).is_err());
    }
}
