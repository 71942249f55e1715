//! Reading back the campaigns-stream records a consumer gave up on. Lambda's on-failure
//! destination for a DynamoDB stream does not carry the records, only where they are
//! (`DDBStreamBatchInfo`: stream, shard, first and last sequence number); the records stay
//! readable for the stream's 24-hour retention.

use std::sync::Arc;

use aws_lambda_events::dynamodb::{EventRecord, StreamRecord, StreamViewType};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use serde::Deserialize;

use super::aws::Aws;
use super::{StoreFuture, StreamReader};
use crate::error::{AppError, classify_sdk_error};

/// The on-failure message of a stream event source mapping (the parts the sweeper reads).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OnFailureMessage {
    #[serde(rename = "requestContext")]
    pub request_context: RequestContext,
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: BatchInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext {
    /// The consumer that gave up (`…:function:<name>`).
    pub function_arn: String,
    #[serde(default)]
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
    pub stream_arn: String,
    #[serde(default)]
    pub batch_size: u32,
}

/// Sequence numbers are decimal strings of up to 40 digits: compare them as numbers.
fn seq_le(a: &str, b: &str) -> bool {
    (a.len(), a) <= (b.len(), b)
}

/// Converts a stream record (the DynamoDB Streams API's shape) into the Lambda event's.
pub fn to_lambda_record(r: aws_sdk_dynamodbstreams::types::Record, arn: &str) -> EventRecord {
    let mut out = EventRecord::default();
    out.event_id = r.event_id.unwrap_or_default();
    out.event_name = r
        .event_name
        .map(|n| n.as_str().to_string())
        .unwrap_or_default();
    out.event_version = r.event_version;
    out.event_source = Some("aws:dynamodb".into());
    out.aws_region = r.aws_region.unwrap_or_else(|| "us-east-1".into());
    out.event_source_arn = Some(arn.to_string());
    if let Some(d) = r.dynamodb {
        let mut change = StreamRecord::default();
        if let Some(t) = d.approximate_creation_date_time {
            change.approximate_creation_date_time =
                chrono::DateTime::from_timestamp_millis(t.to_millis().unwrap_or_default())
                    .unwrap_or_default();
        }
        change.keys = serde_dynamo::Item::from(d.keys.unwrap_or_default());
        change.new_image = serde_dynamo::Item::from(d.new_image.unwrap_or_default());
        change.old_image = serde_dynamo::Item::from(d.old_image.unwrap_or_default());
        change.sequence_number = d.sequence_number;
        change.size_bytes = d.size_bytes.unwrap_or_default();
        change.stream_view_type = Some(StreamViewType::NewAndOldImages);
        out.change = change;
    }
    out
}

pub struct DynamoStreams {
    pub aws: Arc<Aws>,
}

/// At most this many `GetRecords` pages per failed batch (a batch is at most 100 records).
const MAX_PAGES: usize = 20;

impl StreamReader for DynamoStreams {
    fn failed_batch<'a>(&'a self, batch: &'a BatchInfo) -> StoreFuture<'a, Vec<EventRecord>> {
        Box::pin(async move {
            let client = self.aws.streams();
            let mut iterator = client
                .get_shard_iterator()
                .stream_arn(&batch.stream_arn)
                .shard_id(&batch.shard_id)
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .sequence_number(&batch.start_sequence_number)
                .send()
                .await
                .map_err(classify_sdk_error)?
                .shard_iterator;
            let mut out = Vec::new();
            for _ in 0..MAX_PAGES {
                let Some(it) = iterator.take() else { break };
                let page = client
                    .get_records()
                    .shard_iterator(it)
                    .send()
                    .await
                    .map_err(classify_sdk_error)?;
                let records = page.records.unwrap_or_default();
                let empty = records.is_empty();
                for r in records {
                    let seq = r
                        .dynamodb
                        .as_ref()
                        .and_then(|d| d.sequence_number.clone())
                        .unwrap_or_default();
                    if !seq_le(&seq, &batch.end_sequence_number) {
                        return Ok(out);
                    }
                    out.push(to_lambda_record(r, &batch.stream_arn));
                }
                if empty {
                    break;
                }
                iterator = page.next_shard_iterator;
            }
            if out.is_empty() {
                return Err(AppError::internal(format!(
                    "no stream records found from {} on {}",
                    batch.start_sequence_number, batch.shard_id
                )));
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_aws_on_failure_message() {
        let body = r#"{
          "requestContext": {"requestId": "316aa6d0", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:phase-dispatcher",
                             "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
          "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
          "version": "1.0", "timestamp": "2026-11-29T00:13:49.717Z",
          "DDBStreamBatchInfo": {"shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362", "endSequenceNumber": "800000000003126276399",
            "approximateArrivalOfFirstRecord": "2026-11-29T00:13:19Z", "approximateArrivalOfLastRecord": "2026-11-29T00:13:19Z",
            "batchSize": 3, "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/campaigns/stream/2026-11-29T00:00:00.000"}
        }"#;
        let m: OnFailureMessage = serde_json::from_str(body).unwrap();
        assert!(
            m.request_context
                .function_arn
                .ends_with(":phase-dispatcher")
        );
        assert_eq!(m.batch.batch_size, 3);
        assert!(seq_le(
            &m.batch.start_sequence_number,
            &m.batch.end_sequence_number
        ));
        assert!(seq_le("99", "100") && !seq_le("100", "99"));
    }
}
