//! The in-memory backend's WebSocket tables, queues and stream reader (see [`super::memory`]).

use aws_lambda_events::dynamodb::EventRecord;

use super::memory::{Memory, Sent, lock, ready};
use super::streams::BatchInfo;
use super::{
    Connection, QueueName, Queues, ReceivedMessage, StoreFuture, StreamReader, Subscribed,
    Subscriber, Topic, WsStore, campaign_marker,
};
use std::sync::atomic::Ordering;

use crate::error::AppError;
use crate::messages::{AutoStartMessage, PhaseWorkMessage};

impl WsStore for Memory {
    fn connect<'a>(&'a self, c: &'a Connection, limit: u64, now: i64) -> StoreFuture<'a, bool> {
        let mut connections = lock(&self.connections);
        let live = connections
            .values()
            .filter(|o| o.owner_id == c.owner_id && o.expires_at > now)
            .count() as u64;
        if live >= limit {
            return ready(Ok(false));
        }
        connections.insert(c.connection_id.clone(), c.clone());
        ready(Ok(true))
    }

    fn get_connection<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Connection>> {
        ready(Ok(lock(&self.connections).get(id).cloned()))
    }

    fn owner_connections<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<Connection>> {
        let mut owned: Vec<Connection> = lock(&self.connections)
            .values()
            .filter(|c| c.owner_id == owner)
            .cloned()
            .collect();
        owned.sort_by(|a, b| a.connection_id.cmp(&b.connection_id));
        ready(Ok(owned))
    }

    fn subscribe<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
        topic: &'a Topic,
        expires_at: i64,
        limit: u64,
    ) -> StoreFuture<'a, Subscribed> {
        let key = topic.key();
        let mut connections = lock(&self.connections);
        let outcome = match connections.get_mut(connection) {
            Some(c) if c.topics.contains(&key) => Subscribed::Yes,
            Some(c) if c.topics.len() as u64 >= limit => Subscribed::AtLimit,
            Some(c) => {
                c.topics.push(key.clone());
                Subscribed::Yes
            }
            None => Subscribed::NoConnection,
        };
        if outcome != Subscribed::AtLimit {
            let mut subs = lock(&self.subscriptions);
            if matches!(topic, Topic::Campaign(_)) {
                let (owners, marker) = campaign_marker(owner, connection);
                subs.insert(
                    (owners, marker.clone()),
                    Subscriber {
                        connection_id: marker,
                        owner_id: owner.to_string(),
                        expires_at,
                    },
                );
            }
            subs.insert(
                (key, connection.to_string()),
                Subscriber {
                    connection_id: connection.to_string(),
                    owner_id: owner.to_string(),
                    expires_at,
                },
            );
        }
        ready(Ok(outcome))
    }

    fn unsubscribe<'a>(&'a self, connection: &'a str, topic: &'a Topic) -> StoreFuture<'a, ()> {
        let key = topic.key();
        lock(&self.subscriptions).remove(&(key.clone(), connection.to_string()));
        if let Some(c) = lock(&self.connections).get_mut(connection) {
            c.topics.retain(|t| *t != key);
        }
        ready(Ok(()))
    }

    fn subscribers<'a>(&'a self, topic: &'a Topic, now: i64) -> StoreFuture<'a, Vec<Subscriber>> {
        let key = topic.key();
        self.subscriber_reads.fetch_add(1, Ordering::Relaxed);
        let subs = lock(&self.subscriptions)
            .iter()
            .filter(|((t, _), s)| *t == key && s.expires_at > now)
            .map(|(_, s)| s.clone())
            .collect();
        ready(Ok(subs))
    }

    fn forget<'a>(&'a self, connection: &'a str, extra_topics: &'a [Topic]) -> StoreFuture<'a, ()> {
        let known = lock(&self.connections).remove(connection);
        let mut subs = lock(&self.subscriptions);
        if let Some(c) = &known
            && c.topics.iter().any(|t| Topic::is_campaign_key(t))
        {
            subs.remove(&campaign_marker(&c.owner_id, connection));
        }
        let topics = known.map(|c| c.topics).unwrap_or_default();
        for t in topics
            .into_iter()
            .chain(extra_topics.iter().map(Topic::key))
        {
            subs.remove(&(t, connection.to_string()));
        }
        ready(Ok(()))
    }
}

impl Memory {
    /// Queues `m`, unless a refused send is still owed ([`Memory::refuse_sends`]).
    fn send(&self, m: Sent) -> StoreFuture<'static, ()> {
        let owed = self
            .refuse_sends
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if owed.is_ok() {
            return ready(Err(AppError::Unavailable("send refused (test)".into())));
        }
        lock(&self.sent).push_back(m);
        ready(Ok(()))
    }
}

impl Queues for Memory {
    fn send_auto_start<'a>(
        &'a self,
        m: &'a AutoStartMessage,
        _delay_seconds: i32,
    ) -> StoreFuture<'a, ()> {
        self.send(Sent::AutoStart(m.clone()))
    }

    fn send_work<'a>(&'a self, m: &'a PhaseWorkMessage) -> StoreFuture<'a, ()> {
        self.send(Sent::Work(m.clone()))
    }

    fn retry_later<'a>(
        &'a self,
        queue: QueueName,
        receipt_handle: &'a str,
        seconds: i32,
    ) -> StoreFuture<'a, ()> {
        lock(&self.retries).push((queue, receipt_handle.to_string(), seconds));
        ready(Ok(()))
    }

    fn receive_stream_failures(&self, max: i32) -> StoreFuture<'_, Vec<ReceivedMessage>> {
        let queue = lock(&self.stream_failures);
        ready(Ok(queue
            .iter()
            .take(max.max(1) as usize)
            .cloned()
            .collect()))
    }

    fn delete_stream_failure<'a>(&'a self, receipt_handle: &'a str) -> StoreFuture<'a, ()> {
        lock(&self.stream_failures).retain(|m| m.receipt_handle != receipt_handle);
        ready(Ok(()))
    }

    fn backlog(&self, queue: QueueName) -> StoreFuture<'_, u64> {
        let waiting = lock(&self.sent)
            .iter()
            .filter(|m| match m {
                Sent::AutoStart(_) => queue == QueueName::AutoStart,
                Sent::Work(_) => queue == QueueName::PhaseWork,
            })
            .count();
        ready(Ok(waiting as u64))
    }
}

impl StreamReader for Memory {
    fn failed_batch<'a>(&'a self, batch: &'a BatchInfo) -> StoreFuture<'a, Vec<EventRecord>> {
        let num = |s: &str| s.parse::<u128>().unwrap_or_default();
        let (lo, hi) = (
            num(&batch.start_sequence_number),
            num(&batch.end_sequence_number),
        );
        let records = lock(&self.stream_records)
            .iter()
            .filter(|r| {
                let seq = num(r.change.sequence_number.as_deref().unwrap_or_default());
                (lo..=hi).contains(&seq)
            })
            .cloned()
            .collect();
        ready(Ok(records))
    }
}
