//! SQS event source mappings, against moto (the DynamoDB stream ones are in `streams.rs`).
//!
//! Long-poll receive ([`LONG_POLL_SECONDS`], as Lambda's pollers do; moto answers a waiting
//! receive as soon as a message is sent or becomes visible), batch size from
//! `infra/resources.json`, one invocation per batch, delete what succeeded, leave the reported
//! batch item failures (their visibility is whatever the handler set, or the queue's timeout);
//! moto's `RedrivePolicy` moves a message to its DLQ after `maxReceiveCount` receives, as SQS
//! does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event as StreamEvent;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_lambda_events::streams::DynamoDbEventResponse;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};
use campaign_shared::AppState;
use futures_util::future::BoxFuture;
use uuid::Uuid;

use crate::{Gateway, chaos, profile};

/// A hosted handler as an event source calls it: the state, the event, its answer or error.
pub type Handler<E, R> =
    Arc<dyn Fn(AppState, E) -> BoxFuture<'static, Result<R, String>> + Send + Sync>;
pub type SqsHandler = Handler<SqsEvent, SqsBatchResponse>;
pub type StreamHandler = Handler<StreamEvent, DynamoDbEventResponse>;

/// The default Lambda function timeout (`timeoutSeconds` in infra/resources.json overrides it);
/// an invocation running longer fails, as in Lambda.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The receive's long-poll wait (SQS's maximum, what Lambda's pollers use).
pub const LONG_POLL_SECONDS: i32 = 20;

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

/// The campaigns of a batch, while the profile records (for its spans).
fn campaigns_of(messages: &[SqsMessage]) -> Vec<String> {
    if !profile::on() {
        return Vec::new();
    }
    messages
        .iter()
        .filter_map(campaign_of)
        .map(|c| c.to_string())
        .collect()
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
    let campaigns = campaigns_of(&messages);
    let mut event = SqsEvent::default();
    event.records = messages;
    let run = (mapping.handler)(state, event);
    if gw.chaos.strike(chaos::Kind::WorkerCrash) {
        // Killed mid-batch: what the handler wrote so far stays, it reports nothing.
        let after = Duration::from_millis(rand::random_range(0..=25));
        let _ = profile::invocation(
            &mapping.function,
            || campaigns,
            |_| false,
            tokio::time::timeout(after, run),
        )
        .await;
        tracing::warn!(function = %mapping.function, messages = ids.len(), ?after, "chaos: invocation crashed mid-batch");
        return Outcome {
            failed: ids,
            crashed: true,
        };
    }
    let result = profile::invocation(
        &mapping.function,
        || campaigns,
        |r| matches!(r, Ok(Ok(_))),
        tokio::time::timeout(mapping.timeout, run),
    )
    .await;
    let failed = match result {
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

/// The SDK's time-outs for a long poll: the shared configuration's attempt time-out (2 s, meant
/// for calls that answer at once) would cut every wait short, and each cut retry would leave a
/// waiting request behind on moto until its connection limit is reached.
fn long_poll_timeouts() -> aws_sdk_sqs::config::Builder {
    let wait = Duration::from_secs(LONG_POLL_SECONDS as u64);
    aws_sdk_sqs::config::Builder::default().timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(2))
            .operation_attempt_timeout(wait + Duration::from_secs(5))
            .operation_timeout(wait * 2 + Duration::from_secs(10))
            .build(),
    )
}

/// One poller loop of an SQS mapping (several run per mapping, like Lambda's concurrent pollers).
pub async fn run_sqs(gw: Gateway, mapping: Arc<SqsMapping>) {
    let function = mapping.function.clone();
    profile::poller(&function, poll_sqs(gw, mapping)).await
}

async fn poll_sqs(gw: Gateway, mapping: Arc<SqsMapping>) {
    loop {
        let started = profile::now_us();
        #[allow(deprecated)]
        let received = gw
            .sqs()
            .receive_message()
            .queue_url(&mapping.queue_url)
            .max_number_of_messages(mapping.batch_size)
            .wait_time_seconds(LONG_POLL_SECONDS)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .config_override(long_poll_timeouts())
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
        profile::delivered(
            "sqs-receive",
            &mapping.function,
            started,
            campaigns_of(&messages),
        );
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
        if entries.is_empty() {
            continue;
        }
        match gw
            .sqs()
            .delete_message_batch()
            .queue_url(&mapping.queue_url)
            .set_entries(Some(entries))
            .send()
            .await
        {
            // A batch call succeeds even when some of its deletes did not: each is reported.
            Ok(out) => {
                for failed in out.failed {
                    tracing::warn!(function = %mapping.function, id = %failed.id, code = %failed.code, "delete refused; the message will be redelivered");
                }
            }
            Err(e) => {
                tracing::warn!(function = %mapping.function, error = ?e, "delete failed; the messages will be redelivered");
            }
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
