//! Store ports: what the services ask of DynamoDB, SQS and the DynamoDB stream, one small trait
//! per store, with two backends — AWS ([`aws`], the deployed one and the local stack's on moto)
//! and in memory ([`memory`], for fast service tests). Services only see [`crate::AppState`]'s
//! trait objects, so one test body runs over both (`crate::testkit`).
//!
//! Conditional writes report a failed condition as [`Write::Conflict`], never as an error; every
//! other failure is an [`AppError`] whose retry class the workers act on.

use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::domain::resources::{Persona, Proxy};
use crate::domain::{Campaign, PhaseName};
use crate::error::AppError;
use crate::messages::{AutoStartMessage, Dispatch, PhaseWorkMessage};

pub mod aws;
pub mod cursor;
pub mod dynamo_campaigns;
pub mod dynamo_chunks;
pub mod dynamo_idempotency;
pub mod dynamo_quota;
pub mod dynamo_resources;
pub mod dynamo_ws;
pub mod lazy;
pub mod memory;
mod memory_io;
pub mod sqs;
pub mod streams;

pub use dynamo_ws::{Connection, Subscriber, Topic, campaign_marker};

pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, AppError>>;

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Done,
    /// The condition failed: someone else wrote first (or the item is not there).
    Conflict,
}

/// A page of items and the cursor of the next page.
pub type Page<T> = (Vec<T>, Option<String>);

/// The owner's quota counters a campaign write changes, committed in the same transaction
/// (API.md "Limits"): nothing, or a slot taken/released, or a day's domains counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub owner: String,
    /// +1: the campaign starts holding an active slot (refused at `active_limit`); -1: it stops.
    pub active: i8,
    pub active_limit: u64,
    /// Domains discovery is about to generate, counted on UTC day `day` (refused beyond
    /// `domains_limit`).
    pub domains: u64,
    pub domains_limit: u64,
    pub day: String,
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.active == 0 && self.domains == 0
    }
}

/// Campaign items: full-item writes conditional on the version read. A write with a non-empty
/// [`Usage`] changes the owner's counters in the same transaction, or fails with
/// `AppError::QuotaExceeded` and changes nothing.
pub trait CampaignStore: Send + Sync {
    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Campaign>>;
    /// Inserts a new campaign (`attribute_not_exists(id)`).
    fn insert<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write>;
    /// Writes `campaign` if the stored version is still `expected_version`.
    fn save<'a>(
        &'a self,
        campaign: &'a Campaign,
        expected_version: u64,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write>;
    /// Deletes the campaign if it is still at `campaign.version`.
    fn delete<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write>;
    /// One page of the owner's campaigns, newest first.
    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<Campaign>>;
    /// Ids of the campaigns in sweep shard `shard` whose `sweepAt` is at or before `before_ms`
    /// (the sparse index: only campaigns that can stall are in it).
    fn sweep_due<'a>(&'a self, shard: &'a str, before_ms: i64) -> StoreFuture<'a, Vec<Uuid>>;
    /// Inserts `campaign` and completes the idempotency claim `claim` with `response` in one
    /// transaction: both happen or neither does.
    fn insert_with_idempotency<'a>(
        &'a self,
        campaign: &'a Campaign,
        claim: &'a IdempotencyClaim,
        response: &'a StoredResponse,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write>;
    /// The owner's counters now: active slots held, and domains counted on UTC day `day`.
    fn usage<'a>(&'a self, owner: &'a str, day: &'a str) -> StoreFuture<'a, (u64, u64)>;
}

/// Personas or proxies (one table each, keyed `(ownerId, id)`): another owner's item is simply
/// not found.
pub trait ResourceStore<T>: Send + Sync {
    fn get<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Option<T>>;
    /// Inserts (`expected_version` `None`) or replaces the item at `expected_version`.
    fn put<'a>(&'a self, resource: &'a T, expected_version: Option<u64>) -> StoreFuture<'a, Write>;
    fn delete<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Write>;
    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<T>>;
}

/// The output of one chunk of one phase run (discovery: the domains, newline-joined; later
/// phases: their per-domain results as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOutput {
    pub phase: PhaseName,
    pub chunk: u64,
    pub run: u32,
    pub count: u64,
    pub data: String,
}

/// Phase output, one item per (campaign, chunk, phase).
pub trait ChunkStore: Send + Sync {
    /// Writes an output unless a later run already wrote that chunk of that phase (then
    /// `Conflict`: the writer is stale). A rewrite by the same run is allowed (idempotent).
    fn put<'a>(&'a self, campaign: Uuid, output: &'a ChunkOutput) -> StoreFuture<'a, Write>;
    /// Every phase's outputs of chunks `from..from + count`, ordered by chunk then phase.
    fn range(&self, campaign: Uuid, from: u64, count: u64) -> StoreFuture<'_, Vec<ChunkOutput>>;
    fn delete_all(&self, campaign: Uuid) -> StoreFuture<'_, ()>;
}

/// How long an idempotency key's record answers repeats (API.md: "within 24 h").
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;

/// A claimed `(owner, Idempotency-Key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub pk: String,
    pub hash: String,
    /// This request's claim token (a later request may take over an expired lock).
    pub token: String,
}

/// The first response to an idempotent request, replayed to its repeats.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyRecord {
    InProgress {
        hash: String,
        token: String,
    },
    Completed {
        hash: String,
        response: StoredResponse,
    },
}

/// Idempotency records of `POST /campaigns` (Powertools semantics).
pub trait IdempotencyStore: Send + Sync {
    /// Claims `claim.pk` unless a live record exists (none, expired, or an in-progress one whose
    /// lock ran out because its request died).
    fn claim<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        now: i64,
        lock_seconds: i64,
        ttl_seconds: i64,
    ) -> StoreFuture<'a, Write>;
    fn get<'a>(&'a self, pk: &'a str) -> StoreFuture<'a, Option<IdempotencyRecord>>;
    /// Releases this request's claim (its request failed), so the client can retry.
    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> StoreFuture<'a, ()>;
}

/// What a `subscribe` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    Yes,
    /// The connection item does not exist (any more); the subscription is left to its TTL.
    NoConnection,
    /// The connection already has `limit` subscriptions (a repeat of one it has is fine).
    AtLimit,
}

/// WebSocket connections and subscriptions, with the per-user caps of API.md "Limits".
pub trait WsStore: Send + Sync {
    /// Records a connection unless its owner already has `limit` live ones (`Ok(false)`);
    /// connections that ended without a `$disconnect` (gone or expired) do not count.
    fn connect<'a>(&'a self, c: &'a Connection, limit: u64, now: i64) -> StoreFuture<'a, bool>;
    fn get_connection<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Connection>>;
    /// The connections recorded for `owner` (live, expired or gone alike).
    fn owner_connections<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<Connection>>;
    fn subscribe<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
        topic: &'a Topic,
        expires_at: i64,
        limit: u64,
    ) -> StoreFuture<'a, Subscribed>;
    fn unsubscribe<'a>(&'a self, connection: &'a str, topic: &'a Topic) -> StoreFuture<'a, ()>;
    /// Live subscribers of a topic (`now` in epoch seconds filters expired ones).
    fn subscribers<'a>(&'a self, topic: &'a Topic, now: i64) -> StoreFuture<'a, Vec<Subscriber>>;
    /// Deletes a connection and its subscriptions (`extra_topics`: ones it may not list).
    fn forget<'a>(&'a self, connection: &'a str, extra_topics: &'a [Topic]) -> StoreFuture<'a, ()>;
}

/// Which work queue a failed message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueName {
    AutoStart,
    PhaseWork,
}

/// A message received from the stream on-failure queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    pub receipt_handle: String,
    pub body: String,
}

/// The SQS queues.
pub trait Queues: Send + Sync {
    /// Sends an auto-start message, hidden for `delay_seconds` first (SQS `DelaySeconds`; the
    /// memory queue ignores it: its tests hand messages over themselves).
    fn send_auto_start<'a>(
        &'a self,
        m: &'a AutoStartMessage,
        delay_seconds: i32,
    ) -> StoreFuture<'a, ()>;
    fn send_work<'a>(&'a self, m: &'a PhaseWorkMessage) -> StoreFuture<'a, ()>;
    /// Sends one message to its queue.
    fn send_dispatch<'a>(&'a self, d: &'a Dispatch) -> StoreFuture<'a, ()> {
        match d {
            Dispatch::Work(m) => self.send_work(m),
            Dispatch::AutoStart(m, delay) => self.send_auto_start(m, *delay),
        }
    }
    /// Sends `messages` (to either queue) in as few requests as it can: SQS `SendMessageBatch`,
    /// ten to a request; a store without batches, one at a time. Answers, for each message in
    /// order, whether it was sent; a request that failed as a whole fails each of its messages.
    fn send_all<'a>(
        &'a self,
        messages: &'a [Dispatch],
    ) -> BoxFuture<'a, Vec<Result<(), AppError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(messages.len());
            for d in messages {
                out.push(self.send_dispatch(d).await);
            }
            out
        })
    }
    /// Hides a received message for `seconds` (its retry backoff).
    fn retry_later<'a>(
        &'a self,
        queue: QueueName,
        receipt_handle: &'a str,
        seconds: i32,
    ) -> StoreFuture<'a, ()>;
    fn receive_stream_failures(&self, max: i32) -> StoreFuture<'_, Vec<ReceivedMessage>>;
    fn delete_stream_failure<'a>(&'a self, receipt_handle: &'a str) -> StoreFuture<'a, ()>;
    /// How many messages wait in `queue` to be received (visible or delayed; SQS's figure is
    /// approximate). Not counted: messages being handled or backing off.
    fn backlog(&self, queue: QueueName) -> StoreFuture<'_, u64>;
}

/// Reads back the stream records a stream consumer gave up on (its on-failure message names the
/// shard and the sequence-number range).
pub trait StreamReader: Send + Sync {
    fn failed_batch<'a>(
        &'a self,
        batch: &'a streams::BatchInfo,
    ) -> StoreFuture<'a, Vec<aws_lambda_events::dynamodb::EventRecord>>;
}

/// What the store ports know about the resource tables' items.
pub type PersonaStore = dyn ResourceStore<Persona>;
pub type ProxyStore = dyn ResourceStore<Proxy>;
