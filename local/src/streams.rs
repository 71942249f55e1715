//! DynamoDB stream event source mappings, against moto: one poller per consumer (each has its
//! own shard iterators, like two event source mappings), records in order per shard, retry from
//! the first reported failure with backoff up to `maximumRetryAttempts` (a function error or
//! time-out bisects the batch, as `BisectBatchOnFunctionError` does), then the batch's
//! invocation record goes to the on-failure destination ([`crate::on_failure`]) and the poller
//! moves on.
//!
//! When to read: at once after a write to the table by any handler of this gateway
//! ([`crate::sdk_http::StreamWrites`] — every writer of the local stack's tables), otherwise on
//! an idle timer that starts at [`IDLE_MIN`] and doubles up to [`IDLE_MAX`] (writes from outside
//! the gateway, and a safety net). A read that returns a full batch is followed by another at
//! once.
//!
//! Like Lambda's mapping, a poller keeps its place per shard (the last record it handed on): a
//! shard iterator expires 15 minutes after it was handed out, and a delivery that outlasts that
//! (a stalled machine, long retries) would otherwise leave the consumer with an iterator that is
//! refused for ever. On `ExpiredIteratorException` it asks for a new one after that record (from
//! the shard's start when it has handed on none yet: a duplicate is harmless, a loss is not).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use futures_util::future::BoxFuture;
use tokio::sync::watch;
use uuid::Uuid;

use crate::on_failure::{self, Destination, Discarded, LastOutcome};
use crate::pollers::StreamHandler;
use crate::{Gateway, chaos, profile};

/// The idle poll interval right after activity, and its ceiling: the idle poll only catches
/// writes made from outside the gateway (a developer's CLI), so a quiet stack reads each stream
/// every 4 s (two consumers: 0.5 `GetRecords`/s; at 1 s they were most of the idle requests).
pub const IDLE_MIN: Duration = Duration::from_millis(50);
pub const IDLE_MAX: Duration = Duration::from_secs(4);
/// How often the table's stream and shards are looked up again.
const REFRESH: Duration = Duration::from_secs(5);

pub struct StreamConsumer {
    pub function: String,
    pub function_arn: String,
    pub timeout: Duration,
    pub batch_size: i32,
    pub maximum_retry_attempts: u32,
    pub handler: StreamHandler,
    pub on_failure: Destination,
}

/// Where a batch was read.
struct Source<'a> {
    stream_arn: &'a str,
    shard_id: &'a str,
}

/// The campaign id (the table's key) of a stream record.
fn record_campaign(record: &EventRecord) -> Option<Uuid> {
    match record.change.keys.get("id")? {
        serde_dynamo::AttributeValue::S(id) => id.parse().ok(),
        _ => None,
    }
}

fn campaigns(records: &[EventRecord]) -> Vec<String> {
    records
        .iter()
        .filter_map(record_campaign)
        .map(|c| c.to_string())
        .collect()
}

/// Invokes the consumer on `records`, retrying from the first failure; returns when the batch
/// is done (or discarded). A function error or time-out splits the batch in two, each half
/// retried on its own (the template's `BisectBatchOnFunctionError`), so one poisonous or slow
/// record does not hold its whole batch hostage.
fn deliver<'a>(
    gw: &'a Gateway,
    consumer: &'a StreamConsumer,
    source: &'a Source<'a>,
    records: Vec<EventRecord>,
    attempt: u32,
) -> BoxFuture<'a, ()> {
    Box::pin(deliver_batch(gw, consumer, source, records, attempt))
}

async fn deliver_batch(
    gw: &Gateway,
    consumer: &StreamConsumer,
    source: &Source<'_>,
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
        let request_id = Uuid::new_v4().to_string();
        let run = tokio::time::timeout(consumer.timeout, (consumer.handler)(state, event));
        let result = if gw.chaos.consumer_fails(&consumer.function) {
            Ok(Err("chaos: the function failed without running".to_string()))
        } else {
            profile::invocation(
                &consumer.function,
                || campaigns(&records),
                |r| matches!(r, Ok(Ok(_))),
                run,
            )
            .await
        };
        // `Some(position)`: the function reported its first failed record; `None`: it failed.
        let failed_at = match result {
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
            let discarded = match failed_at {
                Some(position) => &records[position.min(records.len() - 1)..],
                None => &records[..],
            };
            let outcome = match failed_at {
                Some(_) => LastOutcome::ReportedFailures,
                None => LastOutcome::FunctionError,
            };
            on_failure::send(
                gw,
                &consumer.on_failure,
                Discarded {
                    function_arn: &consumer.function_arn,
                    stream_arn: source.stream_arn,
                    shard_id: source.shard_id,
                    records: discarded,
                    invoke_count: attempt,
                    request_id,
                    outcome,
                },
            )
            .await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50u64 << attempt.min(6))).await;
        match failed_at {
            Some(position) => {
                records.drain(..position);
            }
            None if records.len() > 1 => {
                let right = records.split_off(records.len() / 2);
                deliver(gw, consumer, source, records, attempt).await;
                deliver(gw, consumer, source, right, attempt).await;
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

/// Polls the stream of `table` for one consumer, forever; `writes` ticks after each write to it.
pub async fn run_stream(
    gw: Gateway,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    consumer: Arc<StreamConsumer>,
    writes: watch::Receiver<u64>,
) {
    let function = consumer.function.clone();
    profile::poller(&function, poll(gw, streams, table, consumer, writes)).await
}

async fn poll(
    gw: Gateway,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    consumer: Arc<StreamConsumer>,
    mut writes: watch::Receiver<u64>,
) {
    let mut arn = loop {
        if let Some(arn) = stream_arn(&gw, &table).await {
            break arn;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut iterators: HashMap<String, Option<String>> = HashMap::new();
    // The sequence number of the last record handed to the consumer, by shard.
    let mut checkpoints: HashMap<String, String> = HashMap::new();
    let mut last_refresh = Instant::now() - REFRESH * 2;
    let mut first = true;
    let mut idle = IDLE_MIN;
    loop {
        if last_refresh.elapsed() > REFRESH {
            last_refresh = Instant::now();
            // A table created anew (moto restarted and the gateway re-created it) has a new
            // stream: read that one from its beginning.
            if let Some(latest) = stream_arn(&gw, &table).await
                && latest != arn
            {
                tracing::warn!(function = %consumer.function, stream = %latest, "the table has a new stream; reading it from the start");
                arn = latest;
                iterators.clear();
                checkpoints.clear();
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
        // Writes from here on wake the wait below, even those during this read.
        writes.borrow_and_update();
        let mut more = false;
        for (shard_id, iterator) in iterators.iter_mut() {
            let Some(it) = iterator.clone() else { continue };
            let started = profile::now_us();
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
                        .map(|r| campaign_shared::store::streams::to_lambda_record(r, &arn))
                        .collect();
                    if records.is_empty() {
                        continue;
                    }
                    profile::delivered(
                        "stream-records",
                        &consumer.function,
                        started,
                        campaigns(&records),
                    );
                    if let Some(seq) = records
                        .last()
                        .and_then(|r| r.change.sequence_number.clone())
                    {
                        checkpoints.insert(shard_id.clone(), seq);
                    }
                    more |= records.len() >= consumer.batch_size as usize;
                    idle = IDLE_MIN;
                    let source = Source {
                        stream_arn: &arn,
                        shard_id,
                    };
                    deliver(&gw, &consumer, &source, records, 0).await;
                }
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|e| e.is_expired_iterator_exception()) =>
                {
                    let checkpoint = checkpoints.get(shard_id.as_str());
                    tracing::warn!(function = %consumer.function, shard = %shard_id, after = ?checkpoint, "the shard iterator expired; reading on after the last record handed on");
                    let (kind, sequence) = match checkpoint {
                        Some(seq) => (ShardIteratorType::AfterSequenceNumber, Some(seq.clone())),
                        None => (ShardIteratorType::TrimHorizon, None),
                    };
                    match streams
                        .get_shard_iterator()
                        .stream_arn(&arn)
                        .shard_id(shard_id.as_str())
                        .shard_iterator_type(kind)
                        .set_sequence_number(sequence)
                        .send()
                        .await
                    {
                        Ok(out) if out.shard_iterator.is_some() => *iterator = out.shard_iterator,
                        // Keep the expired one: the next read fails the same way and tries again.
                        other => {
                            tracing::warn!(function = %consumer.function, answer = ?other, "no new shard iterator");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(function = %consumer.function, error = ?e, "get records failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // Check the stream again soon (it may be gone with a restarted moto).
                    last_refresh =
                        last_refresh.min(Instant::now() - REFRESH + Duration::from_secs(1));
                }
            }
        }
        if more {
            continue;
        }
        tokio::select! {
            changed = writes.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(idle).await;
                }
                idle = IDLE_MIN;
            }
            _ = tokio::time::sleep(idle) => idle = (idle * 2).min(IDLE_MAX),
        }
    }
}
