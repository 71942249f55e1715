//! The stream mappings' on-failure destination, as Lambda does it: when a stream batch has used
//! up its `MaximumRetryAttempts`, one message goes to the on-failure SQS queue (the template's
//! `DestinationConfig.OnFailure`, `StreamFailureQueue`), and the poller moves on.
//!
//! The message is Lambda's invocation record for DynamoDB stream sources, field for field as
//! AWS documents it ("Retaining discarded records for a DynamoDB event source"): it names the
//! discarded records by position (shard, first and last sequence number), it does not carry
//! them — a reader re-reads them with `GetShardIterator` `AT_SEQUENCE_NUMBER`.
//!
//! Invariants: one message per discarded (sub-)batch; `functionArn` names the consumer, so a
//! reader can tell which mapping gave up; the send is retried, and a batch whose record could
//! not be sent at all is logged at error level with the whole record.

use std::time::Duration;

use aws_lambda_events::dynamodb::EventRecord;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::Gateway;

/// Where a consumer's discarded batches go.
#[derive(Debug, Clone)]
pub struct Destination {
    pub queue_url: String,
}

/// How the last invocation of a discarded batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastOutcome {
    /// The function returned an error or timed out (Lambda: `functionError: "Unhandled"`).
    FunctionError,
    /// The function returned normally and reported failed records (`batchItemFailures`).
    ReportedFailures,
}

/// The discarded batch: where it was read, and what was tried.
pub struct Discarded<'a> {
    pub function_arn: &'a str,
    pub stream_arn: &'a str,
    pub shard_id: &'a str,
    pub records: &'a [EventRecord],
    /// Invocations of this batch (the first one plus its retries).
    pub invoke_count: u32,
    /// The request id of the last invocation.
    pub request_id: String,
    pub outcome: LastOutcome,
}

/// `arn:aws:lambda:<region>:<account>:function:<name>` of a local consumer.
pub fn function_arn(function: &str) -> String {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    format!("arn:aws:lambda:{region}:123456789012:function:{function}")
}

fn arrival(record: Option<&EventRecord>) -> String {
    let t: DateTime<Utc> = record
        .map(|r| r.change.approximate_creation_date_time)
        .unwrap_or_default();
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Lambda's invocation record for a discarded DynamoDB stream batch.
pub fn invocation_record(d: &Discarded<'_>, now: DateTime<Utc>) -> Value {
    let sequence = |r: Option<&EventRecord>| {
        r.and_then(|r| r.change.sequence_number.clone())
            .unwrap_or_default()
    };
    let mut response = json!({"statusCode": 200, "executedVersion": "$LATEST"});
    if d.outcome == LastOutcome::FunctionError {
        response["functionError"] = json!("Unhandled");
    }
    json!({
        "requestContext": {
            "requestId": d.request_id,
            "functionArn": d.function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": d.invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "DDBStreamBatchInfo": {
            "shardId": d.shard_id,
            "startSequenceNumber": sequence(d.records.first()),
            "endSequenceNumber": sequence(d.records.last()),
            "approximateArrivalOfFirstRecord": arrival(d.records.first()),
            "approximateArrivalOfLastRecord": arrival(d.records.last()),
            "batchSize": d.records.len(),
            "streamArn": d.stream_arn,
        },
    })
}

/// Sends the invocation record of a discarded batch (up to 5 tries, 200 ms apart).
pub async fn send(gw: &Gateway, destination: &Destination, discarded: Discarded<'_>) {
    let record = invocation_record(&discarded, Utc::now());
    let body = record.to_string();
    let mut last_error = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match gw
            .sqs()
            .send_message()
            .queue_url(&destination.queue_url)
            .message_body(&body)
            .send()
            .await
        {
            Ok(_) => {
                gw.chaos.note_discarded(discarded.records.len());
                tracing::error!(function = %discarded.function_arn, records = discarded.records.len(),
                    start = record["DDBStreamBatchInfo"]["startSequenceNumber"].as_str().unwrap_or_default(),
                    "retries exhausted; batch sent to the on-failure destination");
                return;
            }
            Err(e) => last_error = format!("{}", aws_sdk_sqs::error::DisplayErrorContext(e)),
        }
    }
    tracing::error!(error = %last_error, record = %body, "retries exhausted and the on-failure destination could not be reached; the batch is lost");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: &str, secs: i64) -> EventRecord {
        let mut r = EventRecord::default();
        r.change.sequence_number = Some(seq.into());
        r.change.approximate_creation_date_time = DateTime::from_timestamp(secs, 0).unwrap();
        r
    }

    #[test]
    fn matches_lambdas_documented_record() {
        let records = [
            record("800000000003126276362", 1_573_690_399),
            record("800000000003126276363", 1_573_690_400),
        ];
        let now = DateTime::parse_from_rfc3339("2019-11-14T00:13:49.717Z")
            .unwrap()
            .to_utc();
        let v = invocation_record(
            &Discarded {
                function_arn: "arn:aws:lambda:us-east-1:123456789012:function:phase-dispatcher",
                stream_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2019-11-14T00:04:06.388",
                shard_id: "shardId-00000001573689847184-864758bb",
                records: &records,
                invoke_count: 11,
                request_id: "316aa6d0-8154-4d42-9af7-85d5f4a6bc81".into(),
                outcome: LastOutcome::FunctionError,
            },
            now,
        );
        let expected = json!({
            "requestContext": {
                "requestId": "316aa6d0-8154-4d42-9af7-85d5f4a6bc81",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:phase-dispatcher",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 11
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": "2019-11-14T00:13:49.717Z",
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362",
                "endSequenceNumber": "800000000003126276363",
                "approximateArrivalOfFirstRecord": "2019-11-14T00:13:19Z",
                "approximateArrivalOfLastRecord": "2019-11-14T00:13:20Z",
                "batchSize": 2,
                "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2019-11-14T00:04:06.388"
            }
        });
        assert_eq!(v, expected);
    }

    #[test]
    fn reported_failures_are_not_a_function_error() {
        let records = [record("1", 0)];
        let v = invocation_record(
            &Discarded {
                function_arn: &function_arn("stream-publisher"),
                stream_arn: "s",
                shard_id: "x",
                records: &records,
                invoke_count: 3,
                request_id: "r".into(),
                outcome: LastOutcome::ReportedFailures,
            },
            Utc::now(),
        );
        assert!(v["responseContext"].get("functionError").is_none());
        assert!(
            v["requestContext"]["functionArn"]
                .as_str()
                .unwrap()
                .ends_with(":function:stream-publisher")
        );
    }
}
