//! Phase output on DynamoDB: one item per (campaign, chunk, phase), keyed `campaignId` +
//! `slot` = `chunk · 16 + phase index`, so a chunk's outputs sit next to each other in chunk order
//! and each phase's output has a whole item (400 KB) to itself. A write is conditional on the
//! run: an output of an older run never overwrites a newer one.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue as Av, DeleteRequest, WriteRequest};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::aws::Aws;
use super::dynamo_campaigns::{conditional, read_item, to_item};
use super::{ChunkOutput, ChunkStore, StoreFuture, Write};
use crate::domain::PhaseName;
use crate::error::{AppError, classify_sdk_error};

/// Slots per chunk (room for 16 phases).
pub const SLOTS_PER_CHUNK: u64 = 16;

pub fn slot(chunk: u64, phase: PhaseName) -> u64 {
    chunk * SLOTS_PER_CHUNK + phase.index() as u64
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredOutput {
    pub campaign_id: Uuid,
    pub slot: u64,
    pub chunk: u64,
    pub phase: PhaseName,
    pub run: u32,
    pub count: u64,
    pub data: String,
}

impl StoredOutput {
    pub fn new(campaign_id: Uuid, o: &ChunkOutput) -> Self {
        Self {
            campaign_id,
            slot: slot(o.chunk, o.phase),
            chunk: o.chunk,
            phase: o.phase,
            run: o.run,
            count: o.count,
            data: o.data.clone(),
        }
    }

    pub fn output(self) -> ChunkOutput {
        ChunkOutput {
            phase: self.phase,
            chunk: self.chunk,
            run: self.run,
            count: self.count,
            data: self.data,
        }
    }
}

pub struct DynamoChunks {
    pub aws: Arc<Aws>,
    pub table: String,
}

fn s(v: impl Into<String>) -> Av {
    Av::S(v.into())
}

impl ChunkStore for DynamoChunks {
    fn put<'a>(&'a self, campaign: Uuid, output: &'a ChunkOutput) -> StoreFuture<'a, Write> {
        Box::pin(async move {
            let item = to_item(&StoredOutput::new(campaign, output))?;
            let res = self
                .aws
                .ddb()
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(campaignId) OR #run <= :run")
                .expression_attribute_names("#run", "run")
                .expression_attribute_values(":run", Av::N(output.run.to_string()))
                .send()
                .await;
            conditional(res)
        })
    }

    fn range(&self, campaign: Uuid, from: u64, count: u64) -> StoreFuture<'_, Vec<ChunkOutput>> {
        Box::pin(async move {
            let (lo, hi) = (from * SLOTS_PER_CHUNK, (from + count) * SLOTS_PER_CHUNK - 1);
            let mut out = Vec::new();
            let mut start = None;
            loop {
                let page = self
                    .aws
                    .ddb()
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("campaignId = :c AND #slot BETWEEN :lo AND :hi")
                    .expression_attribute_names("#slot", "slot")
                    .expression_attribute_values(":c", s(campaign.to_string()))
                    .expression_attribute_values(":lo", Av::N(lo.to_string()))
                    .expression_attribute_values(":hi", Av::N(hi.to_string()))
                    .consistent_read(true)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(classify_sdk_error)?;
                for item in page.items.unwrap_or_default() {
                    let key = format!("{campaign}/{:?}", item.get("slot"));
                    out.push(read_item::<StoredOutput>(&self.table, &key, item)?.output());
                }
                match page.last_evaluated_key {
                    Some(k) => start = Some(k),
                    None => return Ok(out),
                }
            }
        })
    }

    fn delete_all(&self, campaign: Uuid) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            loop {
                let out = self
                    .aws
                    .ddb()
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("campaignId = :c")
                    .expression_attribute_values(":c", s(campaign.to_string()))
                    .projection_expression("campaignId, #slot")
                    .expression_attribute_names("#slot", "slot")
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
                        .aws
                        .ddb()
                        .batch_write_item()
                        .request_items(&self.table, requests)
                        .send()
                        .await
                        .map_err(classify_sdk_error)?;
                    requests = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.table))
                        .unwrap_or_default();
                }
            }
        })
    }
}
