//! The in-memory backend: every store port with DynamoDB's and SQS's semantics as far as the
//! services rely on them (conditional writes, the idempotency transaction, run-guarded chunk
//! writes, sparse sweep index, owner isolation), plus what a test needs to drive the system
//! without AWS: the campaign changes in commit order (an in-memory stream) and the messages sent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use aws_lambda_events::dynamodb::EventRecord;
use uuid::Uuid;

use super::dynamo_chunks::slot;
use super::dynamo_idempotency::{RecordStatus, StoredRecord};
use super::dynamo_quota::{Quota, quota_error};
use super::{
    CampaignStore, ChunkOutput, ChunkStore, Connection, IdempotencyClaim, IdempotencyRecord,
    IdempotencyStore, Page, QueueName, ReceivedMessage, ResourceStore, StoreFuture, StoredResponse,
    Subscriber, Usage, Write,
};
use crate::domain::Campaign;
use crate::domain::resources::OwnedResource;
use crate::error::AppError;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub(super) fn ready<T: Send + 'static>(v: Result<T, AppError>) -> StoreFuture<'static, T> {
    Box::pin(std::future::ready(v))
}

fn done(ok: bool) -> Write {
    if ok { Write::Done } else { Write::Conflict }
}

/// One committed campaign change, in commit order: `(old, new)` like a stream record's images.
pub type Change = (Option<Campaign>, Option<Campaign>);

/// A message sent to a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    AutoStart(AutoStartMessage),
    Work(PhaseWorkMessage),
}

#[derive(Default)]
pub struct Memory {
    pub campaigns: Mutex<HashMap<Uuid, Campaign>>,
    pub changes: Mutex<VecDeque<Change>>,
    pub personas: Mutex<HashMap<(String, Uuid), serde_json::Value>>,
    pub proxies: Mutex<HashMap<(String, Uuid), serde_json::Value>>,
    pub chunks: Mutex<BTreeMap<(Uuid, u64), ChunkOutput>>,
    pub idempotency: Mutex<HashMap<String, StoredRecord>>,
    pub connections: Mutex<HashMap<String, Connection>>,
    pub subscriptions: Mutex<BTreeMap<(String, String), Subscriber>>,
    /// Topic lookups made (`WsStore::subscribers`), for the tests that count them.
    pub subscriber_reads: std::sync::atomic::AtomicUsize,
    pub sent: Mutex<VecDeque<Sent>>,
    pub retries: Mutex<Vec<(QueueName, String, i32)>>,
    pub stream_failures: Mutex<VecDeque<ReceivedMessage>>,
    /// The next this many sends answer `Unavailable` (an SQS outage, for the tests).
    pub refuse_sends: std::sync::atomic::AtomicUsize,
    pub stream_records: Mutex<Vec<EventRecord>>,
    /// Quota counters by key (`active#<owner>`, `domains#<owner>#<day>`), as in `dynamo_quota`.
    pub quotas: Mutex<HashMap<String, i64>>,
}

impl Memory {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn commit(&self, old: Option<Campaign>, new: Option<Campaign>) {
        lock(&self.changes).push_back((old, new));
    }

    /// Checks `usage` against the counters and applies it, or refuses it with the quota's 429
    /// (changing nothing). Called while the campaign's own condition holds.
    fn count(&self, usage: &Usage) -> Result<(), AppError> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut counters = lock(&self.quotas);
        let active_key = format!("active#{}", usage.owner);
        let domains_key = format!("domains#{}#{}", usage.owner, usage.day);
        let slots = counters.get(&active_key).copied().unwrap_or(0);
        let domains = counters.get(&domains_key).copied().unwrap_or(0);
        if usage.active > 0 && slots >= usage.active_limit as i64 {
            return Err(quota_error(usage, Quota::Active, slots.max(0) as u64));
        }
        if usage.domains > 0 && domains + usage.domains as i64 > usage.domains_limit as i64 {
            return Err(quota_error(usage, Quota::Domains, domains.max(0) as u64));
        }
        *counters.entry(active_key).or_default() += i64::from(usage.active);
        *counters.entry(domains_key).or_default() += usage.domains as i64;
        Ok(())
    }

    /// The changes committed since the last call, oldest first.
    pub fn take_changes(&self) -> Vec<Change> {
        lock(&self.changes).drain(..).collect()
    }

    /// The messages sent since the last call, oldest first.
    pub fn take_sent(&self) -> Vec<Sent> {
        lock(&self.sent).drain(..).collect()
    }
}

impl CampaignStore for Memory {
    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Campaign>> {
        ready(Ok(lock(&self.campaigns).get(&id).cloned()))
    }

    fn insert<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write> {
        let mut all = lock(&self.campaigns);
        let ok = !all.contains_key(&campaign.id);
        if ok {
            if let Err(e) = self.count(usage) {
                return ready(Err(e));
            }
            all.insert(campaign.id, campaign.clone());
            self.commit(None, Some(campaign.clone()));
        }
        ready(Ok(done(ok)))
    }

    fn save<'a>(
        &'a self,
        campaign: &'a Campaign,
        expected_version: u64,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write> {
        let mut all = lock(&self.campaigns);
        let old = all.get(&campaign.id).cloned();
        let ok = old.as_ref().is_some_and(|c| c.version == expected_version);
        if ok {
            if let Err(e) = self.count(usage) {
                return ready(Err(e));
            }
            all.insert(campaign.id, campaign.clone());
            self.commit(old, Some(campaign.clone()));
        }
        ready(Ok(done(ok)))
    }

    fn delete<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write> {
        let mut all = lock(&self.campaigns);
        let ok = all
            .get(&campaign.id)
            .is_some_and(|c| c.version == campaign.version);
        if ok {
            if let Err(e) = self.count(usage) {
                return ready(Err(e));
            }
            let old = all.remove(&campaign.id);
            self.commit(old, None);
        }
        ready(Ok(done(ok)))
    }

    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<Campaign>> {
        let mut mine: Vec<Campaign> = lock(&self.campaigns)
            .values()
            .filter(|c| c.owner_id == owner)
            .cloned()
            .collect();
        mine.sort_by(|a, b| b.created_key.cmp(&a.created_key));
        let after = match cursor.map(|c| c.split_once('|')) {
            None => None,
            Some(Some((o, key))) if o == owner => Some(key.to_string()),
            Some(_) => {
                return ready(Err(AppError::bad_request(
                    "the cursor is not valid",
                    Some("cursor".into()),
                )));
            }
        };
        let page: Vec<Campaign> = mine
            .into_iter()
            .filter(|c| after.as_ref().is_none_or(|k| c.created_key < *k))
            .take(limit.max(1) as usize)
            .collect();
        let next = (page.len() == limit as usize)
            .then(|| page.last().map(|c| format!("{owner}|{}", c.created_key)))
            .flatten();
        ready(Ok((page, next)))
    }

    fn sweep_due<'a>(&'a self, shard: &'a str, before_ms: i64) -> StoreFuture<'a, Vec<Uuid>> {
        let ids = lock(&self.campaigns)
            .values()
            .filter(|c| c.sweep_shard.as_deref() == Some(shard))
            .filter(|c| c.sweep_at.is_some_and(|t| t <= before_ms))
            .map(|c| c.id)
            .collect();
        ready(Ok(ids))
    }

    fn insert_with_idempotency<'a>(
        &'a self,
        campaign: &'a Campaign,
        claim: &'a IdempotencyClaim,
        response: &'a StoredResponse,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write> {
        let mut all = lock(&self.campaigns);
        let mut records = lock(&self.idempotency);
        let record = records
            .get_mut(&claim.pk)
            .filter(|r| r.status == RecordStatus::InProgress && r.claim_token == claim.token);
        let (Some(record), false) = (record, all.contains_key(&campaign.id)) else {
            return ready(Ok(Write::Conflict));
        };
        if let Err(e) = self.count(usage) {
            return ready(Err(e));
        }
        record.status = RecordStatus::Completed;
        record.response_status = Some(response.status);
        record.body = Some(response.body.clone());
        record.headers = Some(serde_json::to_string(&response.headers).unwrap_or_default());
        record.campaign_id = Some(campaign.id.to_string());
        all.insert(campaign.id, campaign.clone());
        self.commit(None, Some(campaign.clone()));
        ready(Ok(Write::Done))
    }

    fn usage<'a>(&'a self, owner: &'a str, day: &'a str) -> StoreFuture<'a, (u64, u64)> {
        let counters = lock(&self.quotas);
        let get = |k: String| counters.get(&k).copied().unwrap_or(0).max(0) as u64;
        ready(Ok((
            get(format!("active#{owner}")),
            get(format!("domains#{owner}#{day}")),
        )))
    }
}

/// Personas or proxies in memory (stored as JSON, as a table stores items, not as live objects).
pub struct MemoryResources {
    pub memory: Arc<Memory>,
    pub proxies: bool,
}

impl MemoryResources {
    fn table(&self) -> MutexGuard<'_, HashMap<(String, Uuid), serde_json::Value>> {
        lock(if self.proxies {
            &self.memory.proxies
        } else {
            &self.memory.personas
        })
    }
}

fn decode<T: OwnedResource>(v: &serde_json::Value) -> Result<T, AppError> {
    serde_json::from_value(v.clone()).map_err(AppError::internal)
}

impl<T: OwnedResource> ResourceStore<T> for MemoryResources {
    fn get<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Option<T>> {
        let found = self
            .table()
            .get(&(owner.to_string(), id))
            .map(decode)
            .transpose();
        ready(found)
    }

    fn put<'a>(&'a self, resource: &'a T, expected_version: Option<u64>) -> StoreFuture<'a, Write> {
        let mut table = self.table();
        let key = (resource.owner().to_string(), resource.id());
        let current = table.get(&key).map(decode::<T>).transpose();
        let ok = match (current, expected_version) {
            (Err(e), _) => return ready(Err(e)),
            (Ok(None), None) => true,
            (Ok(Some(c)), Some(v)) => c.version() == v,
            _ => false,
        };
        if ok {
            match serde_json::to_value(resource) {
                Ok(v) => {
                    table.insert(key, v);
                }
                Err(e) => return ready(Err(AppError::internal(e))),
            }
        }
        ready(Ok(done(ok)))
    }

    fn delete<'a>(&'a self, owner: &'a str, id: Uuid) -> StoreFuture<'a, Write> {
        let ok = self.table().remove(&(owner.to_string(), id)).is_some();
        ready(Ok(done(ok)))
    }

    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<T>> {
        let table = self.table();
        let mut ids: Vec<Uuid> = table
            .keys()
            .filter(|(o, _)| o == owner)
            .map(|(_, id)| *id)
            .collect();
        ids.sort();
        let after: Option<Uuid> = match cursor.map(str::parse) {
            None => None,
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                return ready(Err(AppError::bad_request(
                    "the cursor is not valid",
                    Some("cursor".into()),
                )));
            }
        };
        let page: Vec<Uuid> = ids
            .into_iter()
            .filter(|id| after.is_none_or(|a| *id > a))
            .take(limit.max(1) as usize)
            .collect();
        let items = page
            .iter()
            .map(|id| decode(&table[&(owner.to_string(), *id)]))
            .collect::<Result<Vec<T>, _>>();
        let next = (page.len() == limit as usize)
            .then(|| page.last().map(Uuid::to_string))
            .flatten();
        ready(items.map(|i| (i, next)))
    }
}

impl ChunkStore for Memory {
    fn put<'a>(&'a self, campaign: Uuid, output: &'a ChunkOutput) -> StoreFuture<'a, Write> {
        let mut chunks = lock(&self.chunks);
        let key = (campaign, slot(output.chunk, output.phase));
        let ok = chunks.get(&key).is_none_or(|o| o.run <= output.run);
        if ok {
            chunks.insert(key, output.clone());
        }
        ready(Ok(done(ok)))
    }

    fn range(&self, campaign: Uuid, from: u64, count: u64) -> StoreFuture<'_, Vec<ChunkOutput>> {
        let lo = (campaign, from * super::dynamo_chunks::SLOTS_PER_CHUNK);
        let hi = (
            campaign,
            (from + count) * super::dynamo_chunks::SLOTS_PER_CHUNK,
        );
        let out = lock(&self.chunks)
            .range(lo..hi)
            .map(|(_, o)| o.clone())
            .collect();
        ready(Ok(out))
    }

    fn delete_all(&self, campaign: Uuid) -> StoreFuture<'_, ()> {
        lock(&self.chunks).retain(|(c, _), _| *c != campaign);
        ready(Ok(()))
    }
}

impl IdempotencyStore for Memory {
    fn claim<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        now: i64,
        lock_seconds: i64,
        ttl_seconds: i64,
    ) -> StoreFuture<'a, Write> {
        let mut records = lock(&self.idempotency);
        let ok = records.get(&claim.pk).is_none_or(|r| {
            r.expires_at < now || (r.status == RecordStatus::InProgress && r.lock_expires_at < now)
        });
        if ok {
            records.insert(
                claim.pk.clone(),
                StoredRecord::new(claim, now, lock_seconds, ttl_seconds),
            );
        }
        ready(Ok(done(ok)))
    }

    fn get<'a>(&'a self, pk: &'a str) -> StoreFuture<'a, Option<IdempotencyRecord>> {
        let record = lock(&self.idempotency).get(pk).cloned();
        ready(record.map(StoredRecord::view).transpose())
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> StoreFuture<'a, ()> {
        let mut records = lock(&self.idempotency);
        if records
            .get(&claim.pk)
            .is_some_and(|r| r.claim_token == claim.token && r.status == RecordStatus::InProgress)
        {
            records.remove(&claim.pk);
        }
        ready(Ok(()))
    }
}
