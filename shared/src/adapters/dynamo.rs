//! DynamoDB repositories. Every campaign write is conditional on the version it read
//! (optimistic concurrency); resources are keyed by owner, so another owner's item is simply
//! not found.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::types::{AttributeValue as Av, DeleteRequest, WriteRequest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

use crate::adapters::dns::DnsCheck;
use crate::domain::Campaign;
use crate::domain::resources::OwnedResource;
use crate::error::{AppError, classify_sdk_error};

pub type Item = HashMap<String, Av>;

/// Result of a conditional write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Done,
    /// The condition failed: someone else wrote first.
    Conflict,
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

/// Opaque page cursors: the last evaluated key, base64url JSON of its string attributes.
pub fn encode_cursor(key: &Item) -> String {
    let map: HashMap<&str, String> = key
        .iter()
        .filter_map(|(k, v)| match v {
            Av::S(s) => Some((k.as_str(), s.clone())),
            Av::N(n) => Some((k.as_str(), format!("#{n}"))),
            _ => None,
        })
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).unwrap_or_default())
}

/// Decodes a cursor and checks it names the caller's own keys (`owner_attr` = caller) and only
/// the attributes a key of this listing has.
pub fn decode_cursor(
    cursor: &str,
    owner_attr: &str,
    owner: &str,
    attrs: &[&str],
) -> Result<Item, AppError> {
    let bad = || AppError::bad_request("the cursor is not valid", Some("cursor".into()));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if map.get(owner_attr).map(String::as_str) != Some(owner)
        || map.len() != attrs.len()
        || !attrs.iter().all(|a| map.contains_key(*a))
    {
        return Err(bad());
    }
    Ok(map
        .into_iter()
        .map(|(k, v)| match v.strip_prefix('#') {
            Some(n) => (k, Av::N(n.to_string())),
            None => (k, Av::S(v)),
        })
        .collect())
}

/// Maps a conditional write's result: a failed condition is a [`Write::Conflict`], not an error.
fn conditional<O, E, R>(res: Result<O, SdkError<E, R>>) -> Result<Write, AppError>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match res {
        Ok(_) => Ok(Write::Done),
        Err(SdkError::ServiceError(e))
            if e.err().code() == Some("ConditionalCheckFailedException") =>
        {
            Ok(Write::Conflict)
        }
        Err(e) => Err(classify_sdk_error(e)),
    }
}

/// One page of a query: the items, and a cursor when the page is full and more may follow.
fn page<T: serde::de::DeserializeOwned>(
    out: QueryOutput,
    limit: i32,
) -> Result<(Vec<T>, Option<String>), AppError> {
    let items = out
        .items
        .unwrap_or_default()
        .into_iter()
        .map(serde_dynamo::from_item)
        .collect::<Result<Vec<T>, _>>()?;
    let next = out
        .last_evaluated_key
        .filter(|_| items.len() as i32 == limit)
        .map(|k| encode_cursor(&k));
    Ok((items, next))
}

#[derive(Clone, Copy)]
pub struct CampaignRepo<'a> {
    pub ddb: &'a Client,
    pub table: &'a str,
}

pub const OWNER_INDEX: &str = "byOwner";

impl<'a> CampaignRepo<'a> {
    pub fn new(ddb: &'a Client, table: &'a str) -> Self {
        Self { ddb, table }
    }

    pub async fn get(&self, id: Uuid) -> Result<Option<Campaign>, AppError> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.table)
            .key("id", s(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        match out.item {
            Some(item) => Ok(Some(serde_dynamo::from_item(item)?)),
            None => Ok(None),
        }
    }

    /// The caller's campaign; someone else's is reported exactly like a missing one.
    pub async fn get_owned(&self, id: Uuid, owner: &str) -> Result<Campaign, AppError> {
        match self.get(id).await? {
            Some(c) if c.owner_id == owner => Ok(c),
            _ => Err(AppError::NotFound("campaign")),
        }
    }

    pub async fn insert(&self, campaign: &Campaign) -> Result<Write, AppError> {
        let item: Item = serde_dynamo::to_item(campaign)?;
        let res = self
            .ddb
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        conditional(res)
    }

    /// Writes `campaign` if the stored version is still `expected_version`.
    pub async fn save(
        &self,
        campaign: &Campaign,
        expected_version: u64,
    ) -> Result<Write, AppError> {
        let item: Item = serde_dynamo::to_item(campaign)?;
        let res = self
            .ddb
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", Av::N(expected_version.to_string()))
            .send()
            .await;
        conditional(res)
    }

    pub async fn delete(&self, campaign: &Campaign) -> Result<Write, AppError> {
        let res = self
            .ddb
            .delete_item()
            .table_name(self.table)
            .key("id", s(campaign.id.to_string()))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", Av::N(campaign.version.to_string()))
            .send()
            .await;
        conditional(res)
    }

    /// One page of the owner's campaigns, newest first.
    pub async fn list(
        &self,
        owner: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<Campaign>, Option<String>), AppError> {
        let start = cursor
            .map(|c| decode_cursor(c, "ownerId", owner, &["ownerId", "createdKey", "id"]))
            .transpose()?;
        let out = self
            .ddb
            .query()
            .table_name(self.table)
            .index_name(OWNER_INDEX)
            .key_condition_expression("ownerId = :o")
            .expression_attribute_values(":o", s(owner))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        page(out, limit)
    }

    /// Every campaign of an owner (for reference checks before deleting a resource).
    pub async fn all_of_owner(&self, owner: &str) -> Result<Vec<Campaign>, AppError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = self.list(owner, 100, cursor.as_deref()).await?;
            all.extend(page);
            match next {
                Some(n) => cursor = Some(n),
                None => return Ok(all),
            }
        }
    }
}

/// Personas and proxies: one table each, keyed `(ownerId, id)`.
#[derive(Clone, Copy)]
pub struct ResourceRepo<'a> {
    pub ddb: &'a Client,
    pub table: &'a str,
}

impl<'a> ResourceRepo<'a> {
    pub fn new(ddb: &'a Client, table: &'a str) -> Self {
        Self { ddb, table }
    }

    pub async fn get<T: OwnedResource>(
        &self,
        owner: &str,
        id: Uuid,
    ) -> Result<Option<T>, AppError> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.table)
            .key("ownerId", s(owner))
            .key("id", s(id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        out.item
            .map(serde_dynamo::from_item)
            .transpose()
            .map_err(Into::into)
    }

    /// Inserts a new resource, or replaces an existing one when `must_exist`.
    pub async fn put<T: OwnedResource>(
        &self,
        resource: &T,
        must_exist: bool,
    ) -> Result<Write, AppError> {
        let item: Item = serde_dynamo::to_item(resource)?;
        let cond = if must_exist {
            "attribute_exists(id)"
        } else {
            "attribute_not_exists(id)"
        };
        let res = self
            .ddb
            .put_item()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression(cond)
            .send()
            .await;
        conditional(res)
    }

    pub async fn delete(&self, owner: &str, id: Uuid) -> Result<Write, AppError> {
        let res = self
            .ddb
            .delete_item()
            .table_name(self.table)
            .key("ownerId", s(owner))
            .key("id", s(id.to_string()))
            .condition_expression("attribute_exists(id)")
            .send()
            .await;
        conditional(res)
    }

    pub async fn list<T: OwnedResource>(
        &self,
        owner: &str,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), AppError> {
        let start = cursor
            .map(|c| decode_cursor(c, "ownerId", owner, &["ownerId", "id"]))
            .transpose()?;
        let out = self
            .ddb
            .query()
            .table_name(self.table)
            .key_condition_expression("ownerId = :o")
            .expression_attribute_values(":o", s(owner))
            .limit(limit)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        page(out, limit)
    }
}

/// One stored chunk: discovery's domains and, once validated, their DNS results (same order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkItem {
    pub chunk: u64,
    pub domains: Vec<String>,
    pub validation: Option<Vec<DnsCheck>>,
}

/// Discovery output: one item per chunk, `(campaignId, chunk)`, domains newline-joined.
#[derive(Clone, Copy)]
pub struct DomainRepo<'a> {
    pub ddb: &'a Client,
    pub table: &'a str,
}

impl<'a> DomainRepo<'a> {
    pub fn new(ddb: &'a Client, table: &'a str) -> Self {
        Self { ddb, table }
    }

    /// Idempotent: a retried chunk overwrites the item with the same content.
    pub async fn put_chunk(
        &self,
        campaign_id: Uuid,
        chunk: u64,
        domains: &[String],
    ) -> Result<(), AppError> {
        self.ddb
            .put_item()
            .table_name(self.table)
            .item("campaignId", s(campaign_id.to_string()))
            .item("chunk", Av::N(chunk.to_string()))
            .item("count", Av::N(domains.len().to_string()))
            .item("domains", s(domains.join("\n")))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// One chunk's domains, if it was written.
    pub async fn chunk(
        &self,
        campaign_id: Uuid,
        chunk: u64,
    ) -> Result<Option<Vec<String>>, AppError> {
        Ok(self
            .chunks_from(campaign_id, chunk, 1)
            .await?
            .into_iter()
            .find(|c| c.chunk == chunk)
            .map(|c| c.domains))
    }

    /// Stores the validation results of a chunk next to its domains (idempotent overwrite).
    pub async fn put_validation(
        &self,
        campaign_id: Uuid,
        chunk: u64,
        checks: &[DnsCheck],
    ) -> Result<(), AppError> {
        let json = serde_json::to_string(checks).map_err(AppError::internal)?;
        self.ddb
            .update_item()
            .table_name(self.table)
            .key("campaignId", s(campaign_id.to_string()))
            .key("chunk", Av::N(chunk.to_string()))
            .update_expression("SET validation = :v")
            .condition_expression("attribute_exists(campaignId)")
            .expression_attribute_values(":v", s(json))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// Chunks `from..` of a campaign, at most `max_chunks`, in order.
    pub async fn chunks_from(
        &self,
        campaign_id: Uuid,
        from: u64,
        max_chunks: i32,
    ) -> Result<Vec<ChunkItem>, AppError> {
        let out = self
            .ddb
            .query()
            .table_name(self.table)
            .key_condition_expression("campaignId = :c AND #k >= :from")
            .expression_attribute_names("#k", "chunk")
            .expression_attribute_values(":c", s(campaign_id.to_string()))
            .expression_attribute_values(":from", Av::N(from.to_string()))
            .limit(max_chunks)
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        let mut chunks = Vec::new();
        for item in out.items.unwrap_or_default() {
            let chunk = match item.get("chunk") {
                Some(Av::N(n)) => n.parse().map_err(AppError::internal)?,
                _ => return Err(AppError::internal("domain chunk without a number")),
            };
            let domains = match item.get("domains") {
                Some(Av::S(joined)) if !joined.is_empty() => {
                    joined.split('\n').map(str::to_string).collect()
                }
                _ => Vec::new(),
            };
            let validation = match item.get("validation") {
                Some(Av::S(json)) => Some(serde_json::from_str(json).map_err(AppError::internal)?),
                _ => None,
            };
            chunks.push(ChunkItem {
                chunk,
                domains,
                validation,
            });
        }
        Ok(chunks)
    }

    /// Removes every chunk of a campaign (after the campaign itself was deleted).
    pub async fn delete_all(&self, campaign_id: Uuid) -> Result<(), AppError> {
        loop {
            let out = self
                .ddb
                .query()
                .table_name(self.table)
                .key_condition_expression("campaignId = :c")
                .expression_attribute_values(":c", s(campaign_id.to_string()))
                .projection_expression("campaignId, #k")
                .expression_attribute_names("#k", "chunk")
                .limit(25)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            let keys = out.items.unwrap_or_default();
            if keys.is_empty() {
                return Ok(());
            }
            let mut requests: Vec<WriteRequest> = keys
                .into_iter()
                .map(|key| {
                    let delete = DeleteRequest::builder()
                        .set_key(Some(key))
                        .build()
                        .map_err(AppError::internal)?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<Result<_, AppError>>()?;
            while !requests.is_empty() {
                let out = self
                    .ddb
                    .batch_write_item()
                    .request_items(self.table, requests)
                    .send()
                    .await
                    .map_err(classify_sdk_error)?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(self.table))
                    .unwrap_or_default();
            }
        }
    }
}

/// Idempotency records for `POST /campaigns` (Powertools semantics).
#[derive(Clone, Copy)]
pub struct IdempotencyRepo<'a> {
    pub ddb: &'a Client,
    pub table: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyRecord {
    InProgress {
        hash: String,
    },
    Completed {
        hash: String,
        status: u16,
        body: String,
        headers: Vec<(String, String)>,
    },
}

impl<'a> IdempotencyRepo<'a> {
    pub fn new(ddb: &'a Client, table: &'a str) -> Self {
        Self { ddb, table }
    }

    /// Claims `key` for a new request: succeeds when no live record exists (none, expired, or an
    /// in-progress one whose lock ran out because its request died).
    pub async fn claim(
        &self,
        key: &str,
        hash: &str,
        now: i64,
        lock_seconds: i64,
        ttl_seconds: i64,
    ) -> Result<Write, AppError> {
        let res = self
            .ddb
            .put_item()
            .table_name(self.table)
            .item("pk", s(key))
            .item("status", s("IN_PROGRESS"))
            .item("hash", s(hash))
            .item("lockExpiresAt", Av::N((now + lock_seconds).to_string()))
            .item("expiresAt", Av::N((now + ttl_seconds).to_string()))
            .condition_expression(
                "attribute_not_exists(pk) OR expiresAt < :now OR (#st = :inprogress AND lockExpiresAt < :now)",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":now", Av::N(now.to_string()))
            .expression_attribute_values(":inprogress", s("IN_PROGRESS"))
            .send()
            .await;
        conditional(res)
    }

    pub async fn get(&self, key: &str) -> Result<Option<IdempotencyRecord>, AppError> {
        let out = self
            .ddb
            .get_item()
            .table_name(self.table)
            .key("pk", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        let Some(item) = out.item else {
            return Ok(None);
        };
        let text = |name: &str| match item.get(name) {
            Some(Av::S(v)) => v.clone(),
            _ => String::new(),
        };
        let hash = text("hash");
        if text("status") == "COMPLETED" {
            let headers: Vec<(String, String)> =
                serde_json::from_str(&text("headers")).unwrap_or_default();
            let status = text("responseStatus").parse().unwrap_or(201);
            Ok(Some(IdempotencyRecord::Completed {
                hash,
                status,
                body: text("body"),
                headers,
            }))
        } else {
            Ok(Some(IdempotencyRecord::InProgress { hash }))
        }
    }

    pub async fn complete(
        &self,
        key: &str,
        status: u16,
        body: &str,
        headers: &[(String, String)],
    ) -> Result<(), AppError> {
        self.ddb
            .update_item()
            .table_name(self.table)
            .key("pk", s(key))
            .update_expression(
                "SET #st = :done, body = :body, headers = :headers, responseStatus = :rs",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":done", s("COMPLETED"))
            .expression_attribute_values(":body", s(body))
            .expression_attribute_values(
                ":headers",
                s(serde_json::to_string(headers).unwrap_or_default()),
            )
            .expression_attribute_values(":rs", s(status.to_string()))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// Releases a claim whose request failed, so the client can retry with the same key.
    pub async fn release(&self, key: &str) -> Result<(), AppError> {
        self.ddb
            .delete_item()
            .table_name(self.table)
            .key("pk", s(key))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }
}
