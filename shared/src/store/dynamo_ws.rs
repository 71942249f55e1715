//! WebSocket connections and subscriptions on DynamoDB.
//!
//! - Connection item `{connectionId, ownerId, connectedAt, expiresAt, topics}` (`topics`: a string
//!   set of the connection's subscription topics, so a disconnect finds them without a scan).
//! - Subscription item `{topic, connectionId, ownerId, expiresAt}` with `topic` =
//!   `campaign#<id>` or `owner#<sub>` (a `*` subscription): the publisher finds the subscribers of
//!   a campaign with `Query`s, never a `Scan`.
//! - Marker item `{topic: owner#<sub>, connectionId: campaigns#<connection>, ownerId, expiresAt}`:
//!   the connection has (or had) a campaign-topic subscription of this owner. Put before the
//!   campaign subscription itself, removed with the connection, so an owner whose topic holds no
//!   marker has no campaign-topic subscriber that a lookup after that read could miss: the
//!   publisher then skips the campaign topic's `Query` (one lookup per record instead of two
//!   for the usual `*` subscriber; `realtime/batch_subscribers.rs`).
//! - Both expire by TTL (`expiresAt`, epoch seconds) with the connection: API Gateway closes a
//!   connection after 2 hours at the latest.
//! - Owner item `{connectionId: "owner#<sub>", conns}` (a string set of the owner's connection
//!   ids) caps connections per user: a connect adds to it conditionally on its size, in one
//!   transaction with the connection item; ids of connections that ended without a
//!   `$disconnect` are pruned when the cap is reached. A subscribe is conditional on the size of
//!   the connection's `topics`.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue as Av, Put, TransactWriteItem, Update};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::aws::Aws;
use super::dynamo_campaigns::{conditional, read_item, to_item};
use super::{StoreFuture, Subscribed, Write, WsStore};
use crate::error::{AppError, classify_sdk_error};

/// API Gateway's maximum connection duration.
pub const CONNECTION_TTL_SECONDS: i64 = 2 * 60 * 60;

/// What a subscription listens to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// One campaign (`campaign#<id>`).
    Campaign(Uuid),
    /// Every campaign of an owner, including later ones (`owner#<sub>`, the `*` subscription).
    Owner(String),
}

/// The prefix of a one-campaign topic's key.
const CAMPAIGN_TOPIC: &str = "campaign#";

impl Topic {
    pub fn key(&self) -> String {
        match self {
            Self::Campaign(id) => format!("{CAMPAIGN_TOPIC}{id}"),
            Self::Owner(sub) => format!("owner#{sub}"),
        }
    }

    /// Whether a stored topic key (a connection's `topics`) names one campaign.
    pub fn is_campaign_key(key: &str) -> bool {
        key.starts_with(CAMPAIGN_TOPIC)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    pub connection_id: String,
    pub owner_id: String,
    pub connected_at: DateTime<Utc>,
    /// Epoch seconds (the TTL attribute).
    pub expires_at: i64,
    /// A string set in the table (added to by `subscribe`), absent while empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
}

/// The prefix of a campaign-subscription marker's `connectionId` (API Gateway's connection ids
/// are base64 and never contain `#`).
pub const CAMPAIGN_MARKER_PREFIX: &str = "campaigns#";

/// The key (`topic`, `connectionId`) of the marker of `connection`'s campaign-topic
/// subscriptions, in `owner`'s topic.
pub fn campaign_marker(owner: &str, connection: &str) -> (String, String) {
    let topic = Topic::Owner(owner.to_string()).key();
    (topic, format!("{CAMPAIGN_MARKER_PREFIX}{connection}"))
}

/// One subscription found for a topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    pub connection_id: String,
    pub owner_id: String,
    pub expires_at: i64,
}

impl Subscriber {
    /// A marker ([`campaign_marker`]), not a connection to push to.
    pub fn is_campaign_marker(&self) -> bool {
        self.connection_id.starts_with(CAMPAIGN_MARKER_PREFIX)
    }
}

pub struct DynamoWs {
    pub aws: Arc<Aws>,
    pub connections: String,
    pub subscriptions: String,
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}

fn owner_key(owner: &str) -> String {
    format!("owner#{owner}")
}

impl DynamoWs {
    /// Puts the connection and adds it to its owner's set, unless the set is full.
    async fn try_connect(&self, c: &Connection, limit: u64) -> Result<bool, AppError> {
        let put = Put::builder()
            .table_name(&self.connections)
            .set_item(Some(to_item(c)?))
            .build()
            .map_err(AppError::internal)?;
        let add = Update::builder()
            .table_name(&self.connections)
            .key("connectionId", s(owner_key(&c.owner_id)))
            .update_expression("ADD conns :id")
            .condition_expression("attribute_not_exists(conns) OR size(conns) < :max")
            .expression_attribute_values(":id", Av::Ss(vec![c.connection_id.clone()]))
            .expression_attribute_values(":max", Av::N(limit.to_string()))
            .build()
            .map_err(AppError::internal)?;
        let res = self
            .aws
            .ddb()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().update(add).build())
            .send()
            .await;
        Ok(conditional(res)? == Write::Done)
    }

    /// Removes from the owner's set the connections that ended without a `$disconnect` (their
    /// item is gone or expired); returns how many.
    async fn prune(&self, owner: &str, now: i64) -> Result<usize, AppError> {
        let mut dead = Vec::new();
        for (id, record) in self.owner_records(owner).await? {
            match record {
                Some(c) if c.expires_at > now => {}
                _ => dead.push(id),
            }
        }
        if !dead.is_empty() {
            self.remove_from_owner(owner, dead.clone()).await?;
        }
        Ok(dead.len())
    }

    /// Each id of the owner's set with its connection item, if that still exists (read at once).
    async fn owner_records(
        &self,
        owner: &str,
    ) -> Result<Vec<(String, Option<Connection>)>, AppError> {
        let ids = self.owner_set(owner).await?;
        let reads = ids.iter().map(|id| self.get_connection(id));
        let records = futures_util::future::join_all(reads).await;
        ids.into_iter()
            .zip(records)
            .map(|(id, record)| Ok((id, record?)))
            .collect()
    }

    /// The owner's set of connection ids (empty when it has none).
    async fn owner_set(&self, owner: &str) -> Result<Vec<String>, AppError> {
        let out = self
            .aws
            .ddb()
            .get_item()
            .table_name(&self.connections)
            .key("connectionId", s(owner_key(owner)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(match out.item.as_ref().and_then(|i| i.get("conns")) {
            Some(Av::Ss(ids)) => ids.clone(),
            _ => Vec::new(),
        })
    }

    async fn remove_from_owner(&self, owner: &str, ids: Vec<String>) -> Result<(), AppError> {
        self.aws
            .ddb()
            .update_item()
            .table_name(&self.connections)
            .key("connectionId", s(owner_key(owner)))
            .update_expression("DELETE conns :ids")
            .expression_attribute_values(":ids", Av::Ss(ids))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    async fn put_subscription(
        &self,
        topic: &str,
        connection_id: &str,
        owner: &str,
        expires_at: i64,
    ) -> Result<(), AppError> {
        let sub = Subscriber {
            connection_id: connection_id.to_string(),
            owner_id: owner.to_string(),
            expires_at,
        };
        let mut item = to_item(&sub)?;
        item.insert("topic".into(), s(topic));
        self.aws
            .ddb()
            .put_item()
            .table_name(&self.subscriptions)
            .set_item(Some(item))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    async fn delete_subscription(&self, topic: &str, connection_id: &str) -> Result<(), AppError> {
        self.aws
            .ddb()
            .delete_item()
            .table_name(&self.subscriptions)
            .key("topic", s(topic))
            .key("connectionId", s(connection_id))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }
}

impl WsStore for DynamoWs {
    fn connect<'a>(&'a self, c: &'a Connection, limit: u64, now: i64) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            for attempt in 0..2 {
                if self.try_connect(c, limit).await? {
                    return Ok(true);
                }
                if attempt == 0 && self.prune(&c.owner_id, now).await? == 0 {
                    return Ok(false);
                }
            }
            Ok(false)
        })
    }

    fn get_connection<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Connection>> {
        Box::pin(async move {
            let out = self
                .aws
                .ddb()
                .get_item()
                .table_name(&self.connections)
                .key("connectionId", s(id))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            out.item
                .map(|item| read_item(&self.connections, id, item))
                .transpose()
        })
    }

    fn owner_connections<'a>(&'a self, owner: &'a str) -> StoreFuture<'a, Vec<Connection>> {
        Box::pin(async move {
            let records = self.owner_records(owner).await?;
            Ok(records.into_iter().filter_map(|(_, c)| c).collect())
        })
    }

    fn subscribe<'a>(
        &'a self,
        connection: &'a str,
        owner: &'a str,
        topic: &'a Topic,
        expires_at: i64,
        limit: u64,
    ) -> StoreFuture<'a, Subscribed> {
        Box::pin(async move {
            let key = topic.key();
            let update = self
                .aws
                .ddb()
                .update_item()
                .table_name(&self.connections)
                .key("connectionId", s(connection))
                .update_expression("ADD topics :t")
                .condition_expression(
                    "attribute_exists(connectionId) AND (attribute_not_exists(topics) OR size(topics) < :max OR contains(topics, :one))",
                )
                .expression_attribute_values(":t", Av::Ss(vec![key.clone()]))
                .expression_attribute_values(":one", s(&key))
                .expression_attribute_values(":max", Av::N(limit.to_string()))
                .send()
                .await;
            let outcome = match update {
                Ok(_) => Subscribed::Yes,
                Err(e) if is_condition_failure(&e) => {
                    match self.get_connection(connection).await? {
                        Some(_) => return Ok(Subscribed::AtLimit),
                        None => Subscribed::NoConnection,
                    }
                }
                Err(e) => return Err(classify_sdk_error(e)),
            };
            if matches!(topic, Topic::Campaign(_)) {
                // First, so a lookup that misses the marker also missed the subscription.
                let (owners, marker) = campaign_marker(owner, connection);
                self.put_subscription(&owners, &marker, owner, expires_at)
                    .await?;
            }
            self.put_subscription(&key, connection, owner, expires_at)
                .await?;
            Ok(outcome)
        })
    }

    fn unsubscribe<'a>(&'a self, connection: &'a str, topic: &'a Topic) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = topic.key();
            let delete = self.delete_subscription(&key, connection);
            let update = self
                .aws
                .ddb()
                .update_item()
                .table_name(&self.connections)
                .key("connectionId", s(connection))
                .update_expression("DELETE topics :t")
                .condition_expression("attribute_exists(connectionId)")
                .expression_attribute_values(":t", Av::Ss(vec![key.clone()]))
                .send();
            let (delete, update) = futures_util::future::join(delete, update).await;
            delete?;
            match update {
                Ok(_) => Ok(()),
                Err(e) if is_condition_failure(&e) => Ok(()),
                Err(e) => Err(classify_sdk_error(e)),
            }
        })
    }

    fn subscribers<'a>(&'a self, topic: &'a Topic, now: i64) -> StoreFuture<'a, Vec<Subscriber>> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut start = None;
            loop {
                let page = self
                    .aws
                    .ddb()
                    .query()
                    .table_name(&self.subscriptions)
                    .key_condition_expression("topic = :t")
                    .expression_attribute_values(":t", s(topic.key()))
                    .projection_expression("connectionId, ownerId, expiresAt")
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(classify_sdk_error)?;
                for item in page.items.unwrap_or_default() {
                    let sub: Subscriber = read_item(&self.subscriptions, &topic.key(), item)?;
                    // TTL deletes lazily: an expired item is a connection API Gateway closed.
                    if sub.expires_at > now && !sub.connection_id.is_empty() {
                        out.push(sub);
                    }
                }
                match page.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => return Ok(out),
                }
            }
        })
    }

    fn forget<'a>(&'a self, connection: &'a str, extra_topics: &'a [Topic]) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let known = self.get_connection(connection).await?;
            if let Some(c) = &known {
                self.remove_from_owner(&c.owner_id, vec![connection.to_string()])
                    .await?;
            }
            let owner = known.as_ref().map(|c| c.owner_id.clone());
            let mut topics: Vec<String> = known.map(|c| c.topics).unwrap_or_default();
            for t in extra_topics {
                let key = t.key();
                if !topics.contains(&key) {
                    topics.push(key);
                }
            }
            let mut items: Vec<(String, String)> = topics
                .iter()
                .map(|t| (t.clone(), connection.to_string()))
                .collect();
            if let Some(owner) = owner
                && topics.iter().any(|t| Topic::is_campaign_key(t))
            {
                items.push(campaign_marker(&owner, connection));
            }
            let deletes = items.iter().map(|(t, c)| self.delete_subscription(t, c));
            for r in futures_util::future::join_all(deletes).await {
                r?;
            }
            self.aws
                .ddb()
                .delete_item()
                .table_name(&self.connections)
                .key("connectionId", s(connection))
                .send()
                .await
                .map_err(classify_sdk_error)?;
            Ok(())
        })
    }
}
