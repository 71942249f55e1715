//! Event-source pollers: what Lambda's event source mappings do, against moto.
//!
//! SQS: long-poll receive (batch size from `infra/resources.json`), one invocation per batch,
//! delete what succeeded, leave the reported batch item failures (their visibility is whatever
//! the handler set, or the queue's timeout); moto's `RedrivePolicy` moves a message to its DLQ
//! after `maxReceiveCount` receives, as SQS does.
//!
//! DynamoDB stream: one poller per consumer (each has its own shard iterators, like two event
//! source mappings), records in order per shard, retry from the first reported failure with
//! backoff up to `maximumRetryAttempts`, then the batch is logged as sent to the on-failure
//! destination and skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::{
    Event as StreamEvent, EventRecord, StreamRecord, StreamViewType,
};
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};
use campaign_shared::AppState;
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::{Gateway, chaos};

pub type SqsHandler = Arc<
    dyn Fn(AppState, SqsEvent) -> BoxFuture<'static, Result<SqsBatchResponse, String>>
        + Send
        + Sync,
>;
pub type StreamHandler = Arc<
    dyn Fn(AppState, StreamEvent) -> BoxFuture<'static, Result<DynamoDbEventResponse, String>>
        + Send
        + Sync,
>;

/// The default Lambda function timeout (`timeoutSeconds` in infra/resources.json overrides it);
/// an invocation running longer fails, as in Lambda.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SqsMapping {
    pub function: String,
    pub timeout: Duration,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: i32,
    pub handler: SqsHandler,
}

fn to_lambda_message(m: aws_sdk_sqs::types::Message, arn: &str) -> SqsMessage {
    let mut out = SqsMessage::default();
    out.message_id = m.message_id;
    out.receipt_handle = m.receipt_handle;
    out.body = m.body;
    out.md5_of_body = m.md5_of_body;
    out.attributes = m
        .attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k.as_str().to_string(), v))
        .collect();
    out.message_attributes = m
        .message_attributes
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let mut a = SqsMessageAttribute::default();
            a.string_value = v.string_value;
            a.data_type = Some(v.data_type);
            (k, a)
        })
        .collect();
    out.event_source = Some("aws:sqs".into());
    out.event_source_arn = Some(arn.to_string());
    out.aws_region = Some("us-east-1".into());
    out
}

fn campaign_of(message: &SqsMessage) -> Option<Uuid> {
    let body: serde_json::Value = serde_json::from_str(message.body.as_deref()?).ok()?;
    body["campaignId"].as_str()?.parse().ok()
}

/// What became of one invocation: the messages to leave on the queue, and whether it crashed.
struct Outcome {
    failed: HashSet<String>,
    crashed: bool,
}

async fn invoke_sqs(
    gw: &Gateway,
    mapping: &SqsMapping,
    state: AppState,
    messages: Vec<SqsMessage>,
) -> Outcome {
    let ids: HashSet<String> = messages
        .iter()
        .filter_map(|m| m.message_id.clone())
        .collect();
    let mut event = SqsEvent::default();
    event.records = messages;
    let run = (mapping.handler)(state, event);
    if gw.chaos.strike(chaos::Kind::WorkerCrash) {
        // Killed mid-batch: what the handler wrote so far stays, it reports nothing.
        let after = Duration::from_millis(rand::random_range(0..=25));
        let _ = tokio::time::timeout(after, run).await;
        tracing::warn!(function = %mapping.function, messages = ids.len(), ?after, "chaos: invocation crashed mid-batch");
        return Outcome {
            failed: ids,
            crashed: true,
        };
    }
    let failed = match tokio::time::timeout(mapping.timeout, run).await {
        Ok(Ok(response)) => response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect(),
        Ok(Err(e)) => {
            tracing::error!(function = %mapping.function, error = %e, "invocation failed; the whole batch is retried");
            ids
        }
        Err(_) => {
            tracing::error!(function = %mapping.function, "invocation timed out; the whole batch is retried");
            ids
        }
    };
    Outcome {
        failed,
        crashed: false,
    }
}

/// One poller loop of an SQS mapping (several run per mapping, like Lambda's concurrent pollers).
pub async fn run_sqs(gw: Gateway, mapping: Arc<SqsMapping>) {
    loop {
        #[allow(deprecated)]
        let received = gw
            .sqs()
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(mapping.batch_size)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(function = %mapping.function, error = ?e, "receive failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let messages: Vec<SqsMessage> = messages
            .into_iter()
            .map(|m| to_lambda_message(m, &mapping.queue_arn))
            .collect();
        let handles: HashMap<String, String> = messages
            .iter()
            .filter_map(|m| Some((m.message_id.clone()?, m.receipt_handle.clone()?)))
            .collect();
        // Messages of a campaign with an armed fault run alone, with the faulty DynamoDB client.
        let mut normal = Vec::new();
        let mut invocations = Vec::new();
        // A lost message (`"drop"` fault) is neither invoked nor failed: it is deleted below.
        for m in messages {
            match campaign_of(&m).and_then(|c| gw.faults.take(&mapping.function, c)) {
                Some(rule) if gw.faults.drops(rule) => {
                    tracing::warn!(function = %mapping.function, rule, "fault: message lost");
                }
                Some(rule) => invocations.push((gw.faulty_state(rule), vec![m])),
                None => normal.push(m),
            }
        }
        if !normal.is_empty() {
            invocations.push((gw.handler_state(), normal));
        }
        let results = futures_util::future::join_all(
            invocations
                .into_iter()
                .map(|(state, batch)| invoke_sqs(&gw, &mapping, state, batch)),
        )
        .await;
        let mut failed = HashSet::new();
        let mut crashed = Vec::new();
        for outcome in results {
            if outcome.crashed {
                crashed.extend(outcome.failed.iter().cloned());
            }
            failed.extend(outcome.failed);
        }
        redeliver_soon(&gw, &mapping, &handles, &crashed).await;
        let entries: Vec<DeleteMessageBatchRequestEntry> = handles
            .iter()
            .filter(|(id, _)| !failed.contains(*id))
            .filter_map(|(id, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(handle)
                    .build()
                    .ok()
            })
            .collect();
        if !entries.is_empty()
            && let Err(e) = gw
                .sqs()
                .delete_message_batch()
                .queue_url(&mapping.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
        {
            tracing::warn!(function = %mapping.function, error = ?e, "delete failed; the messages will be redelivered");
        }
    }
}

/// Makes the messages of a crashed invocation visible again after
/// [`chaos::CRASH_REDELIVERY_SECONDS`] instead of the queue's visibility timeout (see `chaos.rs`).
async fn redeliver_soon(
    gw: &Gateway,
    mapping: &SqsMapping,
    handles: &HashMap<String, String>,
    crashed: &[String],
) {
    let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = crashed
        .iter()
        .filter_map(|id| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(id)
                .receipt_handle(handles.get(id)?)
                .visibility_timeout(chaos::CRASH_REDELIVERY_SECONDS)
                .build()
                .ok()
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    if let Err(e) = gw
        .sqs()
        .change_message_visibility_batch()
        .queue_url(&mapping.queue_url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        tracing::warn!(function = %mapping.function, error = ?e, "could not shorten the visibility of a crashed batch");
    }
}

pub struct StreamConsumer {
    pub function: String,
    pub timeout: Duration,
    pub batch_size: i32,
    pub maximum_retry_attempts: u32,
    pub handler: StreamHandler,
}

fn to_lambda_record(r: aws_sdk_dynamodbstreams::types::Record, arn: &str) -> EventRecord {
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

/// The campaign id (the table's key) of a stream record.
fn record_campaign(record: &EventRecord) -> Option<Uuid> {
    match record.change.keys.get("id")? {
        serde_dynamo::AttributeValue::S(id) => id.parse().ok(),
        _ => None,
    }
}

/// Invokes the consumer on `records`, retrying from the first failure; returns when the batch
/// is done (or given up on). A function error or time-out splits the batch in two, each half
/// retried on its own (the template's `BisectBatchOnFunctionError`), so one poisonous or slow
/// record does not hold its whole batch hostage.
fn deliver<'a>(
    gw: &'a Gateway,
    consumer: &'a StreamConsumer,
    records: Vec<EventRecord>,
    attempt: u32,
) -> BoxFuture<'a, ()> {
    Box::pin(deliver_batch(gw, consumer, records, attempt))
}

async fn deliver_batch(
    gw: &Gateway,
    consumer: &StreamConsumer,
    mut records: Vec<EventRecord>,
    mut attempt: u32,
) {
    while !records.is_empty() {
        let mut event = StreamEvent::default();
        event.records = records.clone();
        // A batch with a record of a campaign that has an armed fault for this consumer runs with
        // the faulty DynamoDB client (as if the table throttled during that invocation).
        let state = match records
            .iter()
            .filter_map(record_campaign)
            .find_map(|c| gw.faults.take(&consumer.function, c))
        {
            Some(rule) => {
                tracing::info!(function = %consumer.function, rule, "stream invocation with an injected DynamoDB fault");
                gw.faulty_state(rule)
            }
            None => gw.handler_state(),
        };
        // `Some(position)`: the function reported its first failed record; `None`: it failed.
        let failed_at = match tokio::time::timeout(
            consumer.timeout,
            (consumer.handler)(state, event),
        )
        .await
        {
            Ok(Ok(_)) if gw.chaos.strike(chaos::Kind::StreamFailure) => {
                tracing::warn!(function = %consumer.function, "chaos: invocation reported failed after it ran");
                None
            }
            Ok(Ok(response)) => match response.batch_item_failures.first() {
                None => return,
                Some(f) => Some(
                    records
                        .iter()
                        .position(|r| r.change.sequence_number == f.item_identifier)
                        .unwrap_or(0),
                ),
            },
            Ok(Err(e)) => {
                tracing::error!(function = %consumer.function, error = %e, "stream invocation failed");
                None
            }
            Err(_) => {
                tracing::error!(function = %consumer.function, records = records.len(), "stream invocation timed out");
                None
            }
        };
        attempt += 1;
        if attempt > consumer.maximum_retry_attempts {
            tracing::error!(function = %consumer.function, records = records.len(), "retries exhausted; batch sent to the on-failure destination");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50u64 << attempt.min(6))).await;
        match failed_at {
            Some(position) => {
                records.drain(..position);
            }
            None if records.len() > 1 => {
                let right = records.split_off(records.len() / 2);
                deliver(gw, consumer, records, attempt).await;
                deliver(gw, consumer, right, attempt).await;
                return;
            }
            None => {}
        }
    }
}

/// The table's current stream, if the table exists.
async fn stream_arn(gw: &Gateway, table: &str) -> Option<String> {
    match gw.ddb().describe_table().table_name(table).send().await {
        Ok(out) => out.table.and_then(|t| t.latest_stream_arn),
        Err(e) => {
            tracing::warn!(error = ?e, "describe table failed");
            None
        }
    }
}

/// Polls the stream of `table` for one consumer, forever.
pub async fn run_stream(
    gw: Gateway,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    consumer: Arc<StreamConsumer>,
) {
    let mut arn = loop {
        if let Some(arn) = stream_arn(&gw, &table).await {
            break arn;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    let mut last_refresh = std::time::Instant::now() - Duration::from_secs(60);
    let mut first = true;
    loop {
        if last_refresh.elapsed() > Duration::from_secs(5) {
            last_refresh = std::time::Instant::now();
            // A table created anew (moto restarted and the gateway re-created it) has a new
            // stream: read that one from its beginning.
            if let Some(latest) = stream_arn(&gw, &table).await
                && latest != arn
            {
                tracing::warn!(function = %consumer.function, stream = %latest, "the table has a new stream; reading it from the start");
                arn = latest;
                iterators.clear();
                first = false;
            }
            if let Ok(out) = streams.describe_stream().stream_arn(&arn).send().await {
                for shard in out
                    .stream_description
                    .and_then(|d| d.shards)
                    .unwrap_or_default()
                {
                    let Some(id) = shard.shard_id else { continue };
                    if iterators.contains_key(&id) {
                        continue;
                    }
                    // Shards that exist at start-up are read from now on; shards that appear later
                    // are read from their beginning.
                    let kind = if first {
                        ShardIteratorType::Latest
                    } else {
                        ShardIteratorType::TrimHorizon
                    };
                    let it = streams
                        .get_shard_iterator()
                        .stream_arn(&arn)
                        .shard_id(&id)
                        .shard_iterator_type(kind)
                        .send()
                        .await;
                    iterators.insert(id, it.ok().and_then(|o| o.shard_iterator));
                }
                first = false;
            }
        }
        let mut got_any = false;
        for iterator in iterators.values_mut() {
            let Some(it) = iterator.clone() else { continue };
            match streams
                .get_records()
                .shard_iterator(&it)
                .limit(consumer.batch_size)
                .send()
                .await
            {
                Ok(out) => {
                    *iterator = out.next_shard_iterator;
                    let records: Vec<EventRecord> = out
                        .records
                        .unwrap_or_default()
                        .into_iter()
                        .map(|r| to_lambda_record(r, &arn))
                        .collect();
                    if !records.is_empty() {
                        got_any = true;
                        deliver(&gw, &consumer, records, 0).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(function = %consumer.function, error = ?e, "get records failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // Check the stream again soon (it may be gone with a restarted moto).
                    last_refresh =
                        last_refresh.min(std::time::Instant::now() - Duration::from_secs(4));
                }
            }
        }
        if !got_any {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
