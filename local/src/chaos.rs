//! Chaos: probabilistic fault injection across the whole local stack (never in deployed code).
//!
//! `POST /_local/chaos {"ddbThrottle", "sqsSendFailure", "workerCrash", "streamFailure",
//! "pushFailure", "apiCrashAfterWrite", "dispatcherFailure"}` (probabilities 0–1, each optional)
//! turns it on; `GET /_local/chaos` reports the configuration, how many faults each kind
//! injected, and how many stream batches (and records) went to the on-failure destination
//! meanwhile (`streamDiscards`: what a long enough outage must produce); `DELETE /_local/chaos`
//! turns it off (the counters stay readable until the next `POST` resets them).
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
//! - `apiCrashAfterWrite`: the `api` Lambda dies right after one of its writes to a table with a
//!   stream (the campaigns table) succeeded — e.g. a create after its transaction was applied,
//!   before the auto-start send and before the answer. The SDK's HTTP client of the gateway (the
//!   boundary where DynamoDB's answer reaches the function) draws once per such write of an API
//!   invocation ([`Chaos::api_invocation`] marks the invocation); on a hit the invocation is
//!   dropped where it stands, and the client gets what API Gateway answers for a function that
//!   failed: 502 `{"message": "Internal server error"}`. The write stays applied.
//! - `dispatcherFailure`: a `phase-dispatcher` invocation fails without running (a function
//!   error: a bad deploy, or its runtime dying at init). At 1.0 it is an outage; longer than the
//!   stream's retries (`maximumRetryAttempts`, with bisection) it sends batches to the on-failure
//!   destination, which only the sweeper reads.

use std::future::Future;
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
    pub api_crash_after_write: f64,
    pub dispatcher_failure: f64,
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
            ("apiCrashAfterWrite", self.api_crash_after_write),
            ("dispatcherFailure", self.dispatcher_failure),
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
    ApiCrashAfterWrite,
    DispatcherFailure,
}

const KINDS: [(Kind, &str); 7] = [
    (Kind::DdbThrottle, "ddbThrottle"),
    (Kind::SqsSendFailure, "sqsSendFailure"),
    (Kind::WorkerCrash, "workerCrash"),
    (Kind::StreamFailure, "streamFailure"),
    (Kind::PushFailure, "pushFailure"),
    (Kind::ApiCrashAfterWrite, "apiCrashAfterWrite"),
    (Kind::DispatcherFailure, "dispatcherFailure"),
];

/// The stream consumer `dispatcherFailure` takes down.
const DISPATCHER: &str = "phase-dispatcher";

tokio::task_local! {
    /// Set while an API invocation runs that `apiCrashAfterWrite` may kill.
    static API_INVOCATION: CrashSwitch;
}

#[derive(Clone, Default)]
pub struct Chaos {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    config: RwLock<Option<ChaosConfig>>,
    injected: [AtomicU64; 7],
    /// Stream batches, and their records, sent to the on-failure destination since the last `set`.
    discarded_batches: AtomicU64,
    discarded_records: AtomicU64,
}

/// One API invocation's kill switch: fired by the SDK's HTTP client after a write, awaited by
/// the HTTP API, which then drops the invocation.
#[derive(Clone)]
pub struct CrashSwitch {
    chaos: Chaos,
    fired: Arc<tokio::sync::Notify>,
}

impl CrashSwitch {
    /// The switch of the API invocation running on this task, if `apiCrashAfterWrite` is on.
    pub fn current() -> Option<Self> {
        API_INVOCATION.try_with(Self::clone).ok()
    }

    /// After a successful write to a table with a stream: draws whether the invocation dies now,
    /// and if so fires the switch (the caller then never returns the answer to the function).
    pub fn strike_after_write(&self) -> bool {
        let hit = self.chaos.strike(Kind::ApiCrashAfterWrite);
        if hit {
            self.fired.notify_one();
        }
        hit
    }
}

impl Chaos {
    pub fn set(&self, config: ChaosConfig) {
        for c in &self.inner.injected {
            c.store(0, Ordering::Relaxed);
        }
        self.inner.discarded_batches.store(0, Ordering::Relaxed);
        self.inner.discarded_records.store(0, Ordering::Relaxed);
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
            Kind::ApiCrashAfterWrite => c.api_crash_after_write,
            Kind::DispatcherFailure => c.dispatcher_failure,
        };
        let hit = p > 0.0 && rand::random::<f64>() < p;
        if hit {
            self.inner.injected[kind as usize].fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Runs one invocation of the `api` function; `None` when `apiCrashAfterWrite` killed it
    /// after one of its writes (see [`CrashSwitch`]). Without that kind armed it just runs.
    pub async fn api_invocation<F: Future>(&self, invocation: F) -> Option<F::Output> {
        if self.config().is_none_or(|c| c.api_crash_after_write <= 0.0) {
            return Some(invocation.await);
        }
        let switch = CrashSwitch {
            chaos: self.clone(),
            fired: Arc::default(),
        };
        let fired = switch.fired.clone();
        tokio::select! {
            biased;
            () = fired.notified() => None,
            out = API_INVOCATION.scope(switch, invocation) => Some(out),
        }
    }

    /// Whether this invocation of the stream consumer `function` fails without running.
    pub fn consumer_fails(&self, function: &str) -> bool {
        function == DISPATCHER && self.strike(Kind::DispatcherFailure)
    }

    /// Counts a stream batch of `records` records sent to the on-failure destination.
    pub fn note_discarded(&self, records: usize) {
        self.inner.discarded_batches.fetch_add(1, Ordering::Relaxed);
        self.inner
            .discarded_records
            .fetch_add(records as u64, Ordering::Relaxed);
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
        json!({
            "config": self.config(),
            "injected": injected,
            "streamDiscards": {
                "batches": self.inner.discarded_batches.load(Ordering::Relaxed),
                "records": self.inner.discarded_records.load(Ordering::Relaxed),
            },
        })
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

    #[tokio::test]
    async fn an_api_invocation_dies_only_when_its_switch_fires() {
        let chaos = Chaos::default();
        // Off: runs, and no switch is visible inside.
        assert_eq!(
            chaos
                .api_invocation(async { CrashSwitch::current().is_none() })
                .await,
            Some(true)
        );
        chaos.set(ChaosConfig {
            api_crash_after_write: 1.0,
            ..Default::default()
        });
        let after = Arc::new(AtomicU64::new(0));
        let seen = after.clone();
        let out = chaos
            .api_invocation(async move {
                let switch = CrashSwitch::current().expect("a switch inside the invocation");
                assert!(switch.strike_after_write());
                // What the HTTP client does after a hit: never hand the answer back.
                std::future::pending::<()>().await;
                seen.fetch_add(1, Ordering::Relaxed);
            })
            .await;
        assert!(out.is_none());
        assert_eq!(
            after.load(Ordering::Relaxed),
            0,
            "nothing ran after the write"
        );
        assert_eq!(chaos.report()["injected"]["apiCrashAfterWrite"], 1);
        // Armed but not struck (no write): the invocation answers.
        assert_eq!(chaos.api_invocation(async { 7 }).await, Some(7));
    }

    #[test]
    fn only_the_dispatcher_goes_down_and_discards_are_counted() {
        let chaos = Chaos::default();
        chaos.set(ChaosConfig {
            dispatcher_failure: 1.0,
            ..Default::default()
        });
        assert!(chaos.consumer_fails("phase-dispatcher"));
        assert!(!chaos.consumer_fails("stream-publisher"));
        chaos.note_discarded(3);
        assert_eq!(chaos.report()["streamDiscards"]["records"], 3);
        assert_eq!(chaos.report()["streamDiscards"]["batches"], 1);
        chaos.set(ChaosConfig::default());
        assert_eq!(chaos.report()["streamDiscards"]["batches"], 0);
        assert_eq!(chaos.report()["injected"]["dispatcherFailure"], 0);
    }

    #[test]
    fn rejects_probabilities_out_of_range() {
        let c: ChaosConfig = serde_json::from_str(r#"{"ddbThrottle": 1.5}"#).unwrap();
        assert_eq!(c.invalid(), Some("ddbThrottle"));
        assert!(serde_json::from_str::<ChaosConfig>(r#"{"nope": 1}"#).is_err());
    }
}
