//! [`AppState`]: what every handler gets — the settings and the store ports — and the two ways to
//! build it: on AWS (the deployed functions, and the local stack on moto) or in memory (tests).
//! This is the only `impl AppState`.

use std::sync::Arc;

use crate::domain::resources::{Persona, Proxy};
use crate::net::AddressPolicy;
use crate::settings::Settings;
use crate::store::aws::Aws;
use crate::store::dynamo_campaigns::DynamoCampaigns;
use crate::store::dynamo_chunks::DynamoChunks;
use crate::store::dynamo_idempotency::DynamoIdempotency;
use crate::store::dynamo_resources::DynamoResources;
use crate::store::dynamo_ws::DynamoWs;
use crate::store::memory::{Memory, MemoryResources};
use crate::store::sqs::SqsQueues;
use crate::store::streams::DynamoStreams;
use crate::store::{
    CampaignStore, ChunkStore, IdempotencyStore, Queues, ResourceStore, StreamReader, WsStore,
};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub policy: AddressPolicy,
    pub campaigns: Arc<dyn CampaignStore>,
    pub personas: Arc<dyn ResourceStore<Persona>>,
    pub proxies: Arc<dyn ResourceStore<Proxy>>,
    pub chunks: Arc<dyn ChunkStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub ws: Arc<dyn WsStore>,
    pub queues: Arc<dyn Queues>,
    pub streams: Arc<dyn StreamReader>,
    /// The AWS clients behind the stores (`None` in memory).
    pub aws: Option<Arc<Aws>>,
}

impl AppState {
    /// The stores on AWS, with clients built lazily from `aws` (see [`Aws`]).
    pub fn on_aws(aws: Arc<Aws>, settings: Settings) -> Self {
        let s = &settings;
        Self {
            policy: AddressPolicy::from_env().clone(),
            campaigns: Arc::new(DynamoCampaigns {
                aws: aws.clone(),
                table: s.campaigns_table.clone(),
                idempotency_table: s.idempotency_table.clone(),
                quotas_table: s.quotas_table.clone(),
            }),
            personas: Arc::new(DynamoResources::new(aws.clone(), s.personas_table.clone())),
            proxies: Arc::new(DynamoResources::new(aws.clone(), s.proxies_table.clone())),
            chunks: Arc::new(DynamoChunks {
                aws: aws.clone(),
                table: s.domains_table.clone(),
            }),
            idempotency: Arc::new(DynamoIdempotency {
                aws: aws.clone(),
                table: s.idempotency_table.clone(),
            }),
            ws: Arc::new(DynamoWs {
                aws: aws.clone(),
                connections: s.connections_table.clone(),
                subscriptions: s.subscriptions_table.clone(),
            }),
            queues: Arc::new(SqsQueues {
                aws: aws.clone(),
                autostart_url: s.autostart_queue_url.clone(),
                phase_work_url: s.phase_work_queue_url.clone(),
                stream_failure_url: s.stream_failure_queue_url.clone(),
            }),
            streams: Arc::new(DynamoStreams { aws: aws.clone() }),
            aws: Some(aws),
            settings: Arc::new(settings),
        }
    }

    /// What every Lambda function does in its init phase: settings and SDK config from the
    /// environment; no client is built until a handler uses it.
    pub async fn from_env() -> Self {
        let sdk = crate::sdk::load_sdk_config().await;
        Self::on_aws(Aws::new(sdk), Settings::from_env())
    }

    /// Everything in memory (tests); the [`Memory`] is returned for inspection.
    pub fn in_memory(settings: Settings, policy: AddressPolicy) -> (Self, Arc<Memory>) {
        let memory = Memory::new();
        let state = Self {
            settings: Arc::new(settings),
            policy,
            campaigns: memory.clone(),
            personas: Arc::new(MemoryResources {
                memory: memory.clone(),
                proxies: false,
            }),
            proxies: Arc::new(MemoryResources {
                memory: memory.clone(),
                proxies: true,
            }),
            chunks: memory.clone(),
            idempotency: memory.clone(),
            ws: memory.clone(),
            queues: memory.clone(),
            streams: memory.clone(),
            aws: None,
        };
        (state, memory)
    }

    /// The same stores with other settings (tests and the local gateway).
    pub fn with_settings(&self, settings: Settings) -> Self {
        Self {
            settings: Arc::new(settings),
            ..self.clone()
        }
    }
}
