//! The local stack as a `campaign_shared::testkit::Backend`: the services run in this process
//! against moto (the same tables and queues as the gateway), the gateway's pollers run the
//! dispatcher and the workers, and lost messages are the gateway's `"drop"` faults.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use campaign_shared::domain::Campaign;
use campaign_shared::service::write::load;
use campaign_shared::store::aws::Aws;
use campaign_shared::testkit::Backend;
use campaign_shared::{AppState, Settings};
use futures_util::future::BoxFuture;
use serde_json::json;
use uuid::Uuid;

use crate::{arm_fault, disarm_fault};

pub struct LocalStack {
    state: AppState,
    rules: Mutex<HashMap<Uuid, Vec<u64>>>,
}

impl LocalStack {
    pub async fn new() -> Self {
        let sdk = campaign_shared::sdk::load_sdk_config().await;
        Self {
            state: AppState::on_aws(Aws::new(sdk), Settings::from_env()),
            rules: Mutex::new(HashMap::new()),
        }
    }
}

/// How long `settle` waits for the local stack.
const SETTLE: Duration = Duration::from_secs(60);

impl Backend for LocalStack {
    fn name(&self) -> &'static str {
        "local stack"
    }

    fn state(&self) -> &AppState {
        &self.state
    }

    fn settle<'a>(
        &'a self,
        id: Uuid,
        what: &'a str,
        done: &'a (dyn Fn(&Campaign) -> bool + Send + Sync),
    ) -> BoxFuture<'a, Campaign> {
        Box::pin(async move {
            let started = Instant::now();
            loop {
                let c = load(&self.state, id, None).await.expect("campaign");
                if done(&c) {
                    return c;
                }
                assert!(
                    started.elapsed() < SETTLE,
                    "local stack: {what} did not happen within {SETTLE:?}; last state {c:#?}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    }

    fn lose_messages(&self, id: Uuid) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let mut ids = Vec::new();
            for function in ["autostart-worker", "phase-worker"] {
                let rule = json!({"function": function, "campaignId": id, "times": 1_000_000, "error": "drop"});
                ids.push(arm_fault(&rule).await);
            }
            self.rules.lock().unwrap().insert(id, ids);
        })
    }

    fn restore_messages(&self, id: Uuid) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let ids = self.rules.lock().unwrap().remove(&id).unwrap_or_default();
            // The in-memory backend has delivered (and lost) every message by now; here the
            // outbox's copy may still be on its way through the stream. Restore only once no
            // message has been lost for a while, so a late one is not delivered after all.
            let (mut last, mut since, start) = (u64::MAX, Instant::now(), Instant::now());
            while start.elapsed() < Duration::from_secs(20) {
                let mut lost = 0;
                for rule in &ids {
                    lost += crate::fault_injected(*rule).await;
                }
                if lost != last {
                    (last, since) = (lost, Instant::now());
                } else if since.elapsed() > Duration::from_secs(2) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            for rule in ids {
                disarm_fault(rule).await;
            }
        })
    }
}
