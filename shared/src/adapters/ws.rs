//! WebSocket connections and subscriptions (DynamoDB), and pushes to connections through the API
//! Gateway Management API.
//!
//! - Connection item `{connectionId, ownerId, connectedAt, expiresAt, topics}` (`topics`: a string
//!   set of the connection's subscription topics, so a disconnect finds them without a scan).
//! - Subscription item `{topic, connectionId, ownerId, expiresAt}` with `topic` =
//!   `campaign#<id>` or `owner#<sub>` (a `*` subscription): the publisher finds the subscribers of
//!   a campaign with two `Query`s, never a `Scan`.
//! - Both expire by TTL (`expiresAt`, epoch seconds) with the connection: API Gateway closes a
//!   connection after 2 hours at the latest.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use chrono::{DateTime, Utc};
use uuid::Uuid;

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

impl Topic {
    pub fn key(&self) -> String {
        match self {
            Self::Campaign(id) => format!("campaign#{id}"),
            Self::Owner(sub) => format!("owner#{sub}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub connection_id: String,
    pub owner_id: String,
    pub connected_at: DateTime<Utc>,
    /// Epoch seconds (the TTL attribute).
    pub expires_at: i64,
    pub topics: Vec<String>,
}

/// One subscription found for a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub connection_id: String,
    pub owner_id: String,
    pub expires_at: i64,
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

fn text(item: &HashMap<String, Av>, name: &str) -> String {
    match item.get(name) {
        Some(Av::S(v)) => v.clone(),
        _ => String::new(),
    }
}

fn number(item: &HashMap<String, Av>, name: &str) -> i64 {
    match item.get(name) {
        Some(Av::N(v)) => v.parse().unwrap_or_default(),
        _ => 0,
    }
}

/// The connections and subscriptions tables.
#[derive(Clone, Copy)]
pub struct WsRepo<'a> {
    pub ddb: &'a Client,
    pub connections: &'a str,
    pub subscriptions: &'a str,
}

impl<'a> WsRepo<'a> {
    pub fn new(ddb: &'a Client, connections: &'a str, subscriptions: &'a str) -> Self {
        Self {
            ddb,
            connections,
            subscriptions,
        }
    }

    pub async fn put_connection(&self, c: &Connection) -> Result<(), AppError> {
        let mut req = self
            .ddb
            .put_item()
            .table_name(self.connections)
            .item("connectionId", s(&c.connection_id))
            .item("ownerId", s(&c.owner_id))
            .item(
                "connectedAt",
                s(c.connected_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            )
            .item("expiresAt", Av::N(c.expires_at.to_string()));
        if !c.topics.is_empty() {
            req = req.item("topics", Av::Ss(c.topics.clone()));
        }
        req.send().await.map_err(classify_sdk_error)?;
        Ok(())
    }

    pub async fn get_connection(
        &self,
        connection_id: &str,
    ) -> Result<Option<Connection>, AppError> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.connections)
            .key("connectionId", s(connection_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(out.item.map(|item| Connection {
            connection_id: text(&item, "connectionId"),
            owner_id: text(&item, "ownerId"),
            connected_at: DateTime::parse_from_rfc3339(&text(&item, "connectedAt"))
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
            expires_at: number(&item, "expiresAt"),
            topics: match item.get("topics") {
                Some(Av::Ss(topics)) => topics.clone(),
                _ => Vec::new(),
            },
        }))
    }

    /// Records a subscription and adds its topic to the connection's `topics`. Returns `false` when
    /// the connection item does not exist (any more): the subscription is then left to its TTL.
    pub async fn subscribe(
        &self,
        connection_id: &str,
        owner: &str,
        topic: &Topic,
        expires_at: i64,
    ) -> Result<bool, AppError> {
        let key = topic.key();
        let put = self
            .ddb
            .put_item()
            .table_name(self.subscriptions)
            .item("topic", s(&key))
            .item("connectionId", s(connection_id))
            .item("ownerId", s(owner))
            .item("expiresAt", Av::N(expires_at.to_string()))
            .send();
        let update = self
            .ddb
            .update_item()
            .table_name(self.connections)
            .key("connectionId", s(connection_id))
            .update_expression("ADD topics :t")
            .condition_expression("attribute_exists(connectionId)")
            .expression_attribute_values(":t", Av::Ss(vec![key.clone()]))
            .send();
        let (put, update) = futures_util::future::join(put, update).await;
        put.map_err(classify_sdk_error)?;
        match update {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify_sdk_error(e)),
        }
    }

    /// Removes a subscription (absent is fine) and its topic from the connection.
    pub async fn unsubscribe(&self, connection_id: &str, topic: &Topic) -> Result<(), AppError> {
        let key = topic.key();
        let delete = self.delete_subscription(&key, connection_id);
        let update = self
            .ddb
            .update_item()
            .table_name(self.connections)
            .key("connectionId", s(connection_id))
            .update_expression("DELETE topics :t")
            .condition_expression("attribute_exists(connectionId)")
            .expression_attribute_values(":t", Av::Ss(vec![key.clone()]))
            .send();
        let (delete, update) = futures_util::future::join(delete, update).await;
        delete?;
        match update {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify_sdk_error(e)),
        }
    }

    async fn delete_subscription(&self, topic: &str, connection_id: &str) -> Result<(), AppError> {
        self.ddb
            .delete_item()
            .table_name(self.subscriptions)
            .key("topic", s(topic))
            .key("connectionId", s(connection_id))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// Every live subscription of a topic (a `Query` on the partition, paginated).
    pub async fn subscribers(
        &self,
        topic: &Topic,
        now_epoch: i64,
    ) -> Result<Vec<Subscriber>, AppError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .ddb
                .query()
                .table_name(self.subscriptions)
                .key_condition_expression("topic = :t")
                .expression_attribute_values(":t", s(topic.key()))
                .projection_expression("connectionId, ownerId, expiresAt")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            for item in page.items.unwrap_or_default() {
                let sub = Subscriber {
                    connection_id: text(&item, "connectionId"),
                    owner_id: text(&item, "ownerId"),
                    expires_at: number(&item, "expiresAt"),
                };
                // TTL deletes lazily: an expired item is a connection API Gateway already closed.
                if sub.expires_at > now_epoch && !sub.connection_id.is_empty() {
                    out.push(sub);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes a connection and every subscription it has (those listed on the connection item,
    /// plus `also`, topics the caller knows about). Missing items are fine.
    pub async fn forget(&self, connection_id: &str, also: &[String]) -> Result<(), AppError> {
        let mut topics: Vec<String> = self
            .get_connection(connection_id)
            .await?
            .map(|c| c.topics)
            .unwrap_or_default();
        for t in also {
            if !topics.contains(t) {
                topics.push(t.clone());
            }
        }
        let deletes = topics
            .iter()
            .map(|t| self.delete_subscription(t, connection_id));
        for r in futures_util::future::join_all(deletes).await {
            r?;
        }
        self.ddb
            .delete_item()
            .table_name(self.connections)
            .key("connectionId", s(connection_id))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }
}

/// Why a push failed.
#[derive(Debug)]
pub enum PushError {
    /// 410 `GoneException`: the connection is closed; forget it and move on.
    Gone,
    /// Refused for good (403, payload too large, …): retrying cannot help; skip this connection.
    Rejected(String),
    /// Throttling, 5xx, time-out: worth retrying.
    Transient(AppError),
}

/// Sends messages to connections (`PostToConnection`).
#[derive(Clone, Debug)]
pub struct Push {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Push {
    /// A client for `endpoint` (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`,
    /// or the local gateway's), built from the shared SDK config.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> Self {
        let mut builder = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .build(),
        );
        match endpoint {
            Some(e) => builder = builder.endpoint_url(e),
            None => tracing::warn!(
                "WS_MANAGEMENT_ENDPOINT is not set; pushes to WebSocket clients will fail"
            ),
        }
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(builder.build()),
        }
    }

    pub fn client(&self) -> &aws_sdk_apigatewaymanagement::Client {
        &self.client
    }

    pub async fn send(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        if let Some(service) = err.as_service_error() {
            if service.is_gone_exception() {
                return Err(PushError::Gone);
            }
            if service.is_limit_exceeded_exception() {
                return Err(PushError::Transient(AppError::Throttled(
                    "LimitExceededException".into(),
                )));
            }
            if service.is_forbidden_exception() || service.is_payload_too_large_exception() {
                return Err(PushError::Rejected(format!("{service:?}")));
            }
            let status = err
                .raw_response()
                .map(|r| r.status().as_u16())
                .unwrap_or_default();
            if (400..500).contains(&status) && status != 429 {
                return Err(PushError::Rejected(format!("{status}: {service:?}")));
            }
        }
        Err(PushError::Transient(classify_sdk_error(err)))
    }
}
