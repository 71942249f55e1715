//! [`Lazy`]: one store of an [`crate::AppState`], built on its first use.
//!
//! Why: a function's binary must contain only the stores (and so the AWS clients and operations)
//! its handler uses. A store built eagerly as `Arc<dyn Store>` puts its vtable — every method,
//! every SDK operation it calls — into every binary that builds an `AppState`, used or not, and
//! link-time optimization cannot remove it (ws-connect linked SQS's `SendMessage` and Streams'
//! `GetRecords`). Here the code that builds a DynamoDB/SQS store lives in that store's own
//! `Deref` impl, so it is linked only where a handler dereferences that field.
//!
//! Invariants: a store is built at most once per `Lazy` (and its clones made after the first
//! use share it); on AWS it is built from the `Aws` clients and the settings the state was made
//! with; in memory (tests) it is given ready-made. Call sites are unchanged: `state.campaigns.get(…)`
//! goes through `Deref`, `state.personas.as_ref()` through `AsRef`.

use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use crate::domain::resources::{Persona, Proxy};
use crate::settings::Settings;
use crate::store::aws::Aws;
use crate::store::dynamo_campaigns::DynamoCampaigns;
use crate::store::dynamo_chunks::DynamoChunks;
use crate::store::dynamo_idempotency::DynamoIdempotency;
use crate::store::dynamo_resources::DynamoResources;
use crate::store::dynamo_ws::DynamoWs;
use crate::store::sqs::SqsQueues;
use crate::store::streams::DynamoStreams;
use crate::store::{
    CampaignStore, ChunkStore, IdempotencyStore, Queues, ResourceStore, StreamReader, WsStore,
};

/// A store, built on first use from `source` (or given ready-made).
pub struct Lazy<T: ?Sized> {
    cell: OnceLock<Arc<T>>,
    source: Option<(Arc<Aws>, Arc<Settings>)>,
}

impl<T: ?Sized> Lazy<T> {
    /// A store already built (in memory, tests).
    pub fn ready(store: Arc<T>) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(store);
        Self { cell, source: None }
    }

    /// A store to build from these clients and settings when first used.
    pub fn on_aws(aws: Arc<Aws>, settings: Arc<Settings>) -> Self {
        Self {
            cell: OnceLock::new(),
            source: Some((aws, settings)),
        }
    }

    fn get_or_build(&self, build: impl FnOnce(&Arc<Aws>, &Settings) -> Arc<T>) -> &T {
        self.cell.get_or_init(|| {
            let (aws, settings) = self
                .source
                .as_ref()
                .expect("a store without clients is built ready (Lazy::ready)");
            build(aws, settings)
        })
    }
}

impl<T: ?Sized> Clone for Lazy<T> {
    fn clone(&self) -> Self {
        let cell = OnceLock::new();
        if let Some(store) = self.cell.get() {
            let _ = cell.set(store.clone());
        }
        Self {
            cell,
            source: self.source.clone(),
        }
    }
}

/// `Deref` and `AsRef` of `Lazy<dyn $store>`, building `$build` from `|$aws, $s|` on first use.
macro_rules! lazy_store {
    ($store:ty, |$aws:ident, $s:ident| $build:expr) => {
        impl Deref for Lazy<$store> {
            type Target = $store;
            fn deref(&self) -> &Self::Target {
                self.get_or_build(|$aws, $s| {
                    let store: Arc<$store> = Arc::new($build);
                    store
                })
            }
        }
        impl AsRef<$store> for Lazy<$store> {
            fn as_ref(&self) -> &<Self as Deref>::Target {
                self.deref()
            }
        }
    };
}

lazy_store!(dyn CampaignStore, |aws, s| DynamoCampaigns {
    aws: aws.clone(),
    table: s.campaigns_table.clone(),
    idempotency_table: s.idempotency_table.clone(),
    quotas_table: s.quotas_table.clone(),
});
lazy_store!(dyn ResourceStore<Persona>, |aws, s| DynamoResources::new(
    aws.clone(),
    s.personas_table.clone()
));
lazy_store!(dyn ResourceStore<Proxy>, |aws, s| DynamoResources::new(
    aws.clone(),
    s.proxies_table.clone()
));
lazy_store!(dyn ChunkStore, |aws, s| DynamoChunks {
    aws: aws.clone(),
    table: s.domains_table.clone(),
});
lazy_store!(dyn IdempotencyStore, |aws, s| DynamoIdempotency {
    aws: aws.clone(),
    table: s.idempotency_table.clone(),
});
lazy_store!(dyn WsStore, |aws, s| DynamoWs {
    aws: aws.clone(),
    connections: s.connections_table.clone(),
    subscriptions: s.subscriptions_table.clone(),
});
lazy_store!(dyn Queues, |aws, s| SqsQueues {
    aws: aws.clone(),
    autostart_url: s.autostart_queue_url.clone(),
    phase_work_url: s.phase_work_queue_url.clone(),
    stream_failure_url: s.stream_failure_queue_url.clone(),
});
lazy_store!(dyn StreamReader, |aws, _s| DynamoStreams {
    aws: aws.clone()
});
