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

/// Runs the per-campaign groups of a stream batch ([`group_by_campaign`]), up to
/// [`STREAM_CAMPAIGN_CONCURRENCY`] at once, so a batch of 100 records costs a few sequential
/// round trips rather than 100 (one slow dependency call per record must not push the batch
/// past the function timeout); each group runs its campaign's records in order and yields the
/// position of its first failed record, if any. Answers the earliest of those: the event source
/// retries from there ([`retry_from`]), so nothing after it is skipped; records of other
/// campaigns after it that succeeded run again, which every stream handler tolerates
/// (at-least-once).
pub async fn run_campaign_groups<Fut>(runs: impl Iterator<Item = Fut>) -> Option<usize>
where
    Fut: Future<Output = Option<usize>>,
{
    let failed: Vec<Option<usize>> = futures_util::stream::iter(runs)
        .buffer_unordered(STREAM_CAMPAIGN_CONCURRENCY)
        .collect()
        .await;
    failed.into_iter().flatten().min()
}

#[cfg(test)]
mod tests {
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

    /// Campaign `b` fails at its second record (sequence 4) and `a` at its third (5), `b`'s group
    /// finishing first: the batch reports the earliest failed record, sequence 4.
    #[tokio::test]
    async fn the_batch_is_retried_from_the_earliest_failed_record() {
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
        let groups = group_by_campaign(&event);
        assert_eq!(groups.len(), 2);
        let runs = groups.into_iter().map(|group| async move {
            let failing =
                |(_, c): &&Positioned| matches!(c.sequence_number.as_deref(), Some("4" | "5"));
            let first = group.iter().find(failing).map(|(pos, _)| *pos);
            if first == Some(4) {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            first
        });
        let failed_at = run_campaign_groups(runs).await;
        assert_eq!(failed_at, Some(3));
        let response = retry_from(&event, failed_at);
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(
            response.batch_item_failures[0].item_identifier.as_deref(),
            Some("4")
        );
        assert!(retry_from(&event, None).batch_item_failures.is_empty());
    }
}
