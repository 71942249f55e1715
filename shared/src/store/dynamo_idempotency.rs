//! Idempotency records of `POST /campaigns` on DynamoDB, keyed `pk` = `owner#key`:
//! `{status: IN_PROGRESS | COMPLETED, hash, claimToken, lockExpiresAt, expiresAt (TTL),
//! responseStatus?, body?, headers?, campaignId?}`. The claim is a conditional put; completion
//! happens in the campaign insert's transaction (see `dynamo_campaigns`).

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue as Av;
use serde::{Deserialize, Serialize};

use super::aws::Aws;
use super::dynamo_campaigns::{conditional, read_item, to_item};
use super::{
    IdempotencyClaim, IdempotencyRecord, IdempotencyStore, StoreFuture, StoredResponse, Write,
};
use crate::error::{AppError, classify_sdk_error};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordStatus {
    InProgress,
    Completed,
}

/// The stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRecord {
    pub pk: String,
    pub status: RecordStatus,
    pub hash: String,
    pub claim_token: String,
    pub lock_expires_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// JSON text of `[[name, value], …]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<String>,
}

impl StoredRecord {
    pub fn new(claim: &IdempotencyClaim, now: i64, lock_seconds: i64, ttl_seconds: i64) -> Self {
        Self {
            pk: claim.pk.clone(),
            status: RecordStatus::InProgress,
            hash: claim.hash.clone(),
            claim_token: claim.token.clone(),
            lock_expires_at: now + lock_seconds,
            expires_at: now + ttl_seconds,
            response_status: None,
            body: None,
            headers: None,
            campaign_id: None,
        }
    }

    /// The record as the service sees it; a completed one without its response is unreadable.
    pub fn view(self) -> Result<IdempotencyRecord, AppError> {
        match self.status {
            RecordStatus::InProgress => Ok(IdempotencyRecord::InProgress {
                hash: self.hash,
                token: self.claim_token,
            }),
            RecordStatus::Completed => {
                let missing = || {
                    AppError::internal(format!(
                        "idempotency record {} is completed without its response",
                        self.pk
                    ))
                };
                let headers: Vec<(String, String)> = match &self.headers {
                    Some(h) => serde_json::from_str(h).map_err(AppError::internal)?,
                    None => Vec::new(),
                };
                Ok(IdempotencyRecord::Completed {
                    response: StoredResponse {
                        status: self.response_status.ok_or_else(missing)?,
                        body: self.body.clone().ok_or_else(missing)?,
                        headers,
                    },
                    hash: self.hash,
                })
            }
        }
    }
}

pub struct DynamoIdempotency {
    pub aws: Arc<Aws>,
    pub table: String,
}

impl IdempotencyStore for DynamoIdempotency {
    fn claim<'a>(
        &'a self,
        claim: &'a IdempotencyClaim,
        now: i64,
        lock_seconds: i64,
        ttl_seconds: i64,
    ) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            let record = StoredRecord::new(claim, now, lock_seconds, ttl_seconds);
            let res = self
                .aws
                .ddb()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&record)?))
                .condition_expression(
                    "attribute_not_exists(pk) OR expiresAt < :now OR (#st = :inprogress AND lockExpiresAt < :now)",
                )
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":now", Av::N(now.to_string()))
                .expression_attribute_values(":inprogress", Av::S("IN_PROGRESS".into()))
                .send()
                .await;
            conditional(res)
        })
    }

    fn get<'a>(&'a self, pk: &'a str) -> StoreFuture<'a, Option<IdempotencyRecord>> {
        Box::pin(async move {
            let out = self
                .aws
                .ddb()
                .get_item()
                .table_name(&self.table)
                .key("pk", Av::S(pk.to_string()))
                .consistent_read(true)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            match out.item {
                None => Ok(None),
                Some(item) => read_item::<StoredRecord>(&self.table, pk, item)?
                    .view()
                    .map(Some),
            }
        })
    }

    fn release<'a>(&'a self, claim: &'a IdempotencyClaim) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let res = self
                .aws
                .ddb()
                .delete_item()
                .table_name(&self.table)
                .key("pk", Av::S(claim.pk.clone()))
                .condition_expression("claimToken = :token AND #st = :inprogress")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":token", Av::S(claim.token.clone()))
                .expression_attribute_values(":inprogress", Av::S("IN_PROGRESS".into()))
                .send()
                .await;
            conditional(res).map(|_| ())
        })
    }
}
