//! [`AppState`]: what every handler gets — the settings and the store ports — and the two ways to
//! build it: on AWS (the deployed functions, and the local stack on moto) or in memory (tests).
//! This is the only `impl AppState`.
//!
//! On AWS every store is built on its handler's first use ([`Lazy`]), so a function's binary links
//! only the stores, clients and operations its handler uses.

use std::sync::Arc;

use crate::domain::resources::{Persona, Proxy};
use crate::net::AddressPolicy;
use crate::settings::Settings;
use crate::store::aws::Aws;
use crate::store::lazy::Lazy;
use crate::store::memory::{Memory, MemoryResources};
use crate::store::{
    CampaignStore, ChunkStore, IdempotencyStore, Queues, ResourceStore, StreamReader, WsStore,
};

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub policy: AddressPolicy,
    pub campaigns: Lazy<dyn CampaignStore>,
    pub personas: Lazy<dyn ResourceStore<Persona>>,
    pub proxies: Lazy<dyn ResourceStore<Proxy>>,
    pub chunks: Lazy<dyn ChunkStore>,
    pub idempotency: Lazy<dyn IdempotencyStore>,
    pub ws: Lazy<dyn WsStore>,
    pub queues: Lazy<dyn Queues>,
    pub streams: Lazy<dyn StreamReader>,
    /// The AWS clients behind the stores (`None` in memory).
    pub aws: Option<Arc<Aws>>,
}

impl AppState {
    /// The stores on AWS, each built on first use from `aws` and `settings` (see [`Lazy`]; the
    /// clients themselves are built on first use too, see [`Aws`]).
    pub fn on_aws(aws: Arc<Aws>, settings: Settings) -> Self {
        let settings = Arc::new(settings);
        let (a, s) = (&aws, &settings);
        Self {
            policy: AddressPolicy::from_env().clone(),
            campaigns: Lazy::on_aws(a.clone(), s.clone()),
            personas: Lazy::on_aws(a.clone(), s.clone()),
            proxies: Lazy::on_aws(a.clone(), s.clone()),
            chunks: Lazy::on_aws(a.clone(), s.clone()),
            idempotency: Lazy::on_aws(a.clone(), s.clone()),
            ws: Lazy::on_aws(a.clone(), s.clone()),
            queues: Lazy::on_aws(a.clone(), s.clone()),
            streams: Lazy::on_aws(a.clone(), s.clone()),
            aws: Some(aws.clone()),
            settings,
        }
    }

    /// What every Lambda function does in its init phase: settings and SDK config from Lambda's
    /// environment ([`crate::sdk_lambda`]); no client is built until a handler uses it.
    pub async fn from_env() -> Self {
        let sdk = crate::sdk_lambda::lambda_sdk_config();
        Self::on_aws(Aws::new(sdk), Settings::from_env())
    }

    /// Everything in memory (tests); the [`Memory`] is returned for inspection.
    pub fn in_memory(settings: Settings, policy: AddressPolicy) -> (Self, Arc<Memory>) {
        let memory = Memory::new();
        let state = Self {
            settings: Arc::new(settings),
            policy,
            campaigns: Lazy::ready(memory.clone()),
            personas: Lazy::ready(Arc::new(MemoryResources {
                memory: memory.clone(),
                proxies: false,
            })),
            proxies: Lazy::ready(Arc::new(MemoryResources {
                memory: memory.clone(),
                proxies: true,
            })),
            chunks: Lazy::ready(memory.clone()),
            idempotency: Lazy::ready(memory.clone()),
            ws: Lazy::ready(memory.clone()),
            queues: Lazy::ready(memory.clone()),
            streams: Lazy::ready(memory.clone()),
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
