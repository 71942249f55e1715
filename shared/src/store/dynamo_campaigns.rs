//! Campaign items on DynamoDB: full-item `PutItem`s conditional on the version read, the owner
//! index for listings, the sparse sweep index, and the create-with-idempotency transaction.

use std::sync::Arc;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue as Av, Delete, Put, TransactWriteItem};
use uuid::Uuid;

use super::aws::Aws;
use super::cursor::{self, Item};
use super::dynamo_idempotency::{RecordStatus, StoredRecord};
use super::dynamo_quota::{read_usage, transact};
use super::{
    CampaignStore, IDEMPOTENCY_TTL_SECONDS, IdempotencyClaim, Page, StoreFuture, StoredResponse,
    Usage, Write,
};
use crate::domain::Campaign;
use crate::error::{AppError, classify_sdk_error};

pub const OWNER_INDEX: &str = "byOwner";
pub const SWEEP_INDEX: &str = "bySweep";

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

/// Maps a conditional write's result: a failed condition is a [`Write::Conflict`], not an error.
pub fn conditional<O, E, R>(res: Result<O, SdkError<E, R>>) -> Result<Write, AppError>
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match res {
        Ok(_) => Ok(Write::Done),
        Err(SdkError::ServiceError(e))
            if matches!(
                e.err().code(),
                Some("ConditionalCheckFailedException" | "TransactionCanceledException")
            ) =>
        {
            Ok(Write::Conflict)
        }
        Err(e) => Err(classify_sdk_error(e)),
    }
}

/// Reads a stored item; an unreadable one is an error naming its table and key, never a default.
pub fn read_item<T: serde::de::DeserializeOwned>(
    table: &str,
    key: &str,
    item: Item,
) -> Result<T, AppError> {
    serde_dynamo::from_item(item).map_err(|e| {
        tracing::error!(table, key, error = %e, "unreadable stored item");
        AppError::internal(format!("unreadable item {key} in {table}: {e}"))
    })
}

pub fn to_item<T: serde::Serialize>(value: &T) -> Result<Item, AppError> {
    serde_dynamo::to_item(value).map_err(|e| AppError::internal(format!("item serialization: {e}")))
}

pub struct DynamoCampaigns {
    pub aws: Arc<Aws>,
    pub table: String,
    pub idempotency_table: String,
    pub quotas_table: String,
}

impl DynamoCampaigns {
    fn put_op(
        &self,
        campaign: &Campaign,
        condition: Option<u64>,
    ) -> Result<TransactWriteItem, AppError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(campaign)?));
        let put = match condition {
            None => put.condition_expression("attribute_not_exists(id)"),
            Some(v) => put
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", Av::N(v.to_string())),
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(AppError::internal)?)
            .build())
    }

    fn read(&self, item: Item) -> Result<Campaign, AppError> {
        let key = match item.get("id") {
            Some(Av::S(id)) => id.clone(),
            _ => "?".into(),
        };
        read_item(&self.table, &key, item)
    }
}

impl CampaignStore for DynamoCampaigns {
    fn get(&self, id: Uuid) -> StoreFuture<'_, Option<Campaign>> {
        Box::pin(async move {
            let out = self
                .aws
                .ddb()
                .get_item()
                .table_name(&self.table)
                .key("id", s(id.to_string()))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            out.item.map(|i| self.read(i)).transpose()
        })
    }

    fn insert<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            if !usage.is_empty() {
                let ops = vec![self.put_op(campaign, None)?];
                return transact(&self.aws, &self.quotas_table, ops, usage).await;
            }
            let res = self
                .aws
                .ddb()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(campaign)?))
                .condition_expression("attribute_not_exists(id)")
                .send()
                .await;
            conditional(res)
        })
    }

    fn save<'a>(
        &'a self,
        campaign: &'a Campaign,
        expected_version: u64,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            if !usage.is_empty() {
                let ops = vec![self.put_op(campaign, Some(expected_version))?];
                return transact(&self.aws, &self.quotas_table, ops, usage).await;
            }
            let res = self
                .aws
                .ddb()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(campaign)?))
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", Av::N(expected_version.to_string()))
                .send()
                .await;
            conditional(res)
        })
    }

    fn delete<'a>(&'a self, campaign: &'a Campaign, usage: &'a Usage) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            let key = s(campaign.id.to_string());
            let version = Av::N(campaign.version.to_string());
            if !usage.is_empty() {
                let delete = Delete::builder()
                    .table_name(&self.table)
                    .key("id", key)
                    .condition_expression("#v = :expected")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":expected", version)
                    .build()
                    .map_err(AppError::internal)?;
                let ops = vec![TransactWriteItem::builder().delete(delete).build()];
                return transact(&self.aws, &self.quotas_table, ops, usage).await;
            }
            let res = self
                .aws
                .ddb()
                .delete_item()
                .table_name(&self.table)
                .key("id", key)
                .condition_expression("#v = :expected")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":expected", version)
                .send()
                .await;
            conditional(res)
        })
    }

    fn list<'a>(
        &'a self,
        owner: &'a str,
        limit: i32,
        cursor: Option<&'a str>,
    ) -> StoreFuture<'a, Page<Campaign>> {
        Box::pin(async move {
            let start = cursor
                .map(|c| cursor::decode(c, "ownerId", owner, &["ownerId", "createdKey", "id"]))
                .transpose()?;
            let out = self
                .aws
                .ddb()
                .query()
                .table_name(&self.table)
                .index_name(OWNER_INDEX)
                .key_condition_expression("ownerId = :o")
                .expression_attribute_values(":o", s(owner))
                .scan_index_forward(false)
                .limit(limit)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            let items = out
                .items
                .unwrap_or_default()
                .into_iter()
                .map(|i| self.read(i))
                .collect::<Result<Vec<_>, _>>()?;
            let next = out
                .last_evaluated_key
                .filter(|_| items.len() as i32 == limit)
                .map(|k| cursor::encode(&k));
            Ok((items, next))
        })
    }

    fn sweep_due<'a>(&'a self, shard: &'a str, before_ms: i64) -> StoreFuture<'a, Vec<Uuid>> {
        Box::pin(async move {
            let mut ids = Vec::new();
            let mut start = None;
            loop {
                let out = self
                    .aws
                    .ddb()
                    .query()
                    .table_name(&self.table)
                    .index_name(SWEEP_INDEX)
                    .key_condition_expression("sweepShard = :s AND sweepAt <= :t")
                    .expression_attribute_values(":s", s(shard))
                    .expression_attribute_values(":t", Av::N(before_ms.to_string()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(classify_sdk_error)?;
                for item in out.items.unwrap_or_default() {
                    if let Some(Av::S(id)) = item.get("id") {
                        ids.push(id.parse().map_err(AppError::internal)?);
                    }
                }
                match out.last_evaluated_key {
                    Some(k) if ids.len() < 1000 => start = Some(k),
                    _ => return Ok(ids),
                }
            }
        })
    }

    fn insert_with_idempotency<'a>(
        &'a self,
        campaign: &'a Campaign,
        claim: &'a IdempotencyClaim,
        response: &'a StoredResponse,
        usage: &'a Usage,
    ) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            // The completed record replaces the claim whole, on the claim's own condition: a
            // Put, not a five-attribute Update (the same write, and no update expression for
            // moto to parse; decision 51). Its 24 h count from the completion.
            let now = chrono::Utc::now().timestamp();
            let record = StoredRecord {
                pk: claim.pk.clone(),
                status: RecordStatus::Completed,
                hash: claim.hash.clone(),
                claim_token: claim.token.clone(),
                lock_expires_at: now,
                expires_at: now + IDEMPOTENCY_TTL_SECONDS,
                response_status: Some(response.status),
                body: Some(response.body.clone()),
                headers: Some(
                    serde_json::to_string(&response.headers).map_err(AppError::internal)?,
                ),
                campaign_id: Some(campaign.id.to_string()),
            };
            let complete = Put::builder()
                .table_name(&self.idempotency_table)
                .set_item(Some(to_item(&record)?))
                .condition_expression("#st = :inprogress AND claimToken = :token")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":inprogress", s("IN_PROGRESS"))
                .expression_attribute_values(":token", s(&claim.token))
                .build()
                .map_err(AppError::internal)?;
            let ops = vec![
                self.put_op(campaign, None)?,
                TransactWriteItem::builder().put(complete).build(),
            ];
            transact(&self.aws, &self.quotas_table, ops, usage).await
        })
    }

    fn usage<'a>(&'a self, owner: &'a str, day: &'a str) -> StoreFuture<'a, (u64, u64)> {
        Box::pin(read_usage(&self.aws, &self.quotas_table, owner, day))
    }
}
