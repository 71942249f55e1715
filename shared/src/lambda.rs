//! Event-source glue shared by the worker functions: SQS batches with partial batch responses,
//! DynamoDB stream batches with the first failed sequence number, each record in its own span,
//! panics caught per record.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::{FutureExt, StreamExt};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::domain::Campaign;
use crate::error::AppError;
use crate::messages::CORRELATION_ATTRIBUTE;

/// What a handler gets to know about the SQS message besides its body.
#[derive(Debug, Clone)]
pub struct MessageMeta {
    pub message_id: String,
    pub receipt_handle: String,
    /// `ApproximateReceiveCount`: 1 on the first delivery.
    pub receive_count: u32,
    pub correlation_id: String,
}

impl MessageMeta {
    pub fn of(message: &SqsMessage) -> Self {
        Self {
            message_id: message.message_id.clone().unwrap_or_default(),
            receipt_handle: message.receipt_handle.clone().unwrap_or_default(),
            receive_count: message
                .attributes
                .get("ApproximateReceiveCount")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            correlation_id: message
                .message_attributes
                .get(CORRELATION_ATTRIBUTE)
                .and_then(|a| a.string_value.clone())
                .unwrap_or_default(),
        }
    }
}

/// Runs `handler` on every message of the batch concurrently and reports the failed ones
/// (`Err`, an unparseable body, or a panic) as batch item failures, so only they are retried.
pub async fn sqs_batch<T, F, Fut>(event: SqsEvent, handler: F) -> SqsBatchResponse
where
    T: DeserializeOwned,
    F: Fn(T, MessageMeta) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let handler = &handler;
    let runs = event.records.into_iter().map(|message| async move {
        let meta = MessageMeta::of(&message);
        let span = tracing::info_span!(
            "message",
            messageId = %meta.message_id,
            correlationId = %meta.correlation_id,
            receiveCount = meta.receive_count,
        );
        let id = meta.message_id.clone();
        let work = async move {
            let body: T = serde_json::from_str(message.body.as_deref().unwrap_or_default())
                .map_err(|e| {
                    AppError::bad_request(format!("unreadable message body: {e}"), None)
                })?;
            handler(body, meta).await
        };
        let result = AssertUnwindSafe(work.instrument(span.clone()))
            .catch_unwind()
            .await;
        let _enter = span.enter();
        match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, code = e.code(), "message failed; it will be retried");
                Some(id)
            }
            Err(_) => {
                tracing::error!("handler panicked; the message will be retried");
                Some(id)
            }
        }
    });
    let failed = futures_util::future::join_all(runs).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .flatten()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// A campaign change read from a stream record.
#[derive(Debug, Clone)]
pub struct CampaignChange {
    pub event_name: String,
    pub old: Option<Campaign>,
    pub new: Option<Campaign>,
    pub sequence_number: Option<String>,
    pub approximate_at: chrono::DateTime<chrono::Utc>,
}

impl CampaignChange {
    pub fn from_record(record: &EventRecord) -> Result<Self, AppError> {
        let image = |item: &serde_dynamo::Item| -> Result<Option<Campaign>, AppError> {
            if item.is_empty() {
                Ok(None)
            } else {
                Ok(Some(serde_dynamo::from_item(item.clone())?))
            }
        };
        Ok(Self {
            event_name: record.event_name.clone(),
            old: image(&record.change.old_image)?,
            new: image(&record.change.new_image)?,
            sequence_number: record.change.sequence_number.clone(),
            approximate_at: record.change.approximate_creation_date_time,
        })
    }

    pub fn campaign_id(&self) -> Option<uuid::Uuid> {
        self.new.as_ref().or(self.old.as_ref()).map(|c| c.id)
    }

    pub fn correlation_id(&self) -> &str {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .map(|c| c.correlation_id.as_str())
            .unwrap_or_default()
    }
}

/// A change and its position in the batch.
pub type Positioned = (usize, CampaignChange);

/// How many campaigns' records a stream batch works on at once.
pub const STREAM_CAMPAIGN_CONCURRENCY: usize = 16;

/// A stream batch's records grouped by campaign: each group in stream order, the groups in the
/// order of their campaign's first record. An unreadable record, or one without a campaign
/// image, is logged and skipped (retrying cannot fix it).
pub fn group_by_campaign(event: &StreamEvent) -> Vec<Vec<Positioned>> {
    let changes = event.records.iter().enumerate().filter_map(|(pos, record)| {
        match CampaignChange::from_record(record) {
            Ok(c) => Some((pos, c)),
            Err(e) => {
                tracing::error!(error = %e, eventId = %record.event_id, "unreadable stream record skipped");
                None
            }
        }
    });
    group_changes(changes)
}

/// Positioned changes grouped by campaign, as [`group_by_campaign`] does; a change without a
/// campaign image is logged and skipped.
pub fn group_changes(changes: impl IntoIterator<Item = Positioned>) -> Vec<Vec<Positioned>> {
    let mut groups: Vec<Vec<Positioned>> = Vec::new();
    let mut index: std::collections::HashMap<uuid::Uuid, usize> = Default::default();
    for (pos, change) in changes {
        let Some(id) = change.campaign_id() else {
            tracing::error!(
                position = pos,
                "stream record without a campaign image skipped"
            );
            continue;
        };
        let group = *index.entry(id).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[group].push((pos, change));
    }
    groups
}

/// The answer that makes the event source retry `event` from the record at `failed_at` (none:
/// the whole batch succeeded).
pub fn retry_from(event: &StreamEvent, failed_at: Option<usize>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(record) = failed_at.and_then(|pos| event.records.get(pos)) {
        let mut f = DynamoDbBatchItemFailure::default();
        f.item_identifier = record.change.sequence_number.clone();
        response.batch_item_failures.push(f);
    }
    response
}

/// The span a stream record is handled in.
pub fn record_span(change: &CampaignChange) -> tracing::Span {
    tracing::info_span!(
        "record",
        campaignId = %change.campaign_id().map(|id| id.to_string()).unwrap_or_default(),
        correlationId = %change.correlation_id(),
        eventName = %change.event_name,
    )
}

/// Runs `handler` on a stream batch. Records are grouped by campaign ([`group_by_campaign`]): one
/// campaign's records run in order and its group stops at its first failure; different campaigns
/// run concurrently (up to [`STREAM_CAMPAIGN_CONCURRENCY`]), so a batch of 100 records costs a
/// few sequential round trips rather than 100 (one slow dependency call per record must not push
/// the batch past the function timeout). The batch reports the earliest failed record: the event
/// source retries from there, so nothing after it is skipped; records of other campaigns after
/// it that succeeded run again, which every stream handler tolerates (at-least-once).
pub async fn stream_batch<F, Fut>(event: StreamEvent, handler: F) -> DynamoDbEventResponse
where
    F: Fn(CampaignChange) -> Fut,
    Fut: Future<Output = Result<(), AppError>>,
{
    let handler = &handler;
    let runs = group_by_campaign(&event)
        .into_iter()
        .map(|group| async move {
            for (pos, change) in group {
                let span = record_span(&change);
                let sequence = change.sequence_number.clone();
                let result = AssertUnwindSafe(handler(change).instrument(span.clone()))
                    .catch_unwind()
                    .await;
                let _e = span.enter();
                match result {
                    Ok(Ok(())) => continue,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "stream record failed; retrying from here")
                    }
                    Err(_) => tracing::error!("stream handler panicked; retrying from here"),
                }
                return Some((pos, sequence));
            }
            None
        });
    run_campaign_groups(runs).await
}

/// Runs the per-campaign groups of a stream batch, up to [`STREAM_CAMPAIGN_CONCURRENCY`] at
/// once; each yields the position and sequence number of its first failed record, if any. The
/// response reports the earliest of those, from which the event source retries.
pub async fn run_campaign_groups<Fut>(runs: impl Iterator<Item = Fut>) -> DynamoDbEventResponse
where
    Fut: Future<Output = Option<(usize, Option<String>)>>,
{
    let failed: Vec<Option<(usize, Option<String>)>> = futures_util::stream::iter(runs)
        .buffer_unordered(STREAM_CAMPAIGN_CONCURRENCY)
        .collect()
        .await;
    let mut response = DynamoDbEventResponse::default();
    if let Some((_, sequence)) = failed.into_iter().flatten().min_by_key(|(pos, _)| *pos) {
        let mut f = DynamoDbBatchItemFailure::default();
        f.item_identifier = sequence;
        response.batch_item_failures.push(f);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::domain::{CampaignConfig, Mode};

    fn record(campaign: &Campaign, sequence: u64) -> EventRecord {
        let mut r = EventRecord::default();
        r.event_name = "MODIFY".into();
        r.change.new_image = serde_dynamo::to_item(campaign).expect("image");
        r.change.sequence_number = Some(sequence.to_string());
        r
    }

    fn campaign() -> Campaign {
        Campaign::new(
            uuid::Uuid::new_v4(),
            "owner",
            "c".into(),
            Mode::FullSequence,
            CampaignConfig::default(),
            "corr".into(),
            chrono::Utc::now(),
        )
    }

    /// Campaign `b` fails at its second record: the batch reports that record; `a`'s records
    /// all ran, `b`'s third did not (its order is kept), and nothing before the failure is lost.
    #[tokio::test]
    async fn stream_batch_keeps_order_per_campaign_and_reports_the_earliest_failure() {
        let (a, b) = (campaign(), campaign());
        let mut event = StreamEvent::default();
        event.records = vec![
            record(&a, 1),
            record(&b, 2),
            record(&a, 3),
            record(&b, 4),
            record(&a, 5),
            record(&b, 6),
        ];
        let ran = Mutex::new(Vec::new());
        let response = stream_batch(event, |change| {
            let seq: u64 = change.sequence_number.clone().unwrap().parse().unwrap();
            ran.lock().unwrap().push(seq);
            async move {
                if seq == 4 {
                    Err(AppError::internal("boom"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        let mut ran = ran.into_inner().unwrap();
        ran.sort();
        assert_eq!(ran, vec![1, 2, 3, 4, 5]);
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(
            response.batch_item_failures[0].item_identifier.as_deref(),
            Some("4")
        );
    }
}
