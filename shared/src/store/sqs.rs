//! The SQS queues: sends with the correlation id as a message attribute, the retry backoff of
//! failed messages, and the sweeper's reads of the stream on-failure queue.

use std::sync::Arc;

use futures_util::future::BoxFuture;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName, SendMessageBatchRequestEntry};
use serde::Serialize;

use super::aws::Aws;
use super::{QueueName, Queues, ReceivedMessage, StoreFuture};
use crate::error::{AppError, classify_sdk_error};
use crate::messages::{AutoStartMessage, CORRELATION_ATTRIBUTE, Dispatch, PhaseWorkMessage};

pub struct SqsQueues {
    pub aws: Arc<Aws>,
    pub autostart_url: String,
    pub phase_work_url: String,
    pub stream_failure_url: String,
}

impl SqsQueues {
    fn url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::AutoStart => &self.autostart_url,
            QueueName::PhaseWork => &self.phase_work_url,
        }
    }

    async fn send<T: Serialize>(
        &self,
        url: &str,
        message: &T,
        correlation_id: &str,
        delay_seconds: i32,
    ) -> Result<(), AppError> {
        let body = serde_json::to_string(message).map_err(AppError::internal)?;
        self.aws
            .sqs()
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(CORRELATION_ATTRIBUTE, correlation(correlation_id)?)
            .set_delay_seconds((delay_seconds > 0).then_some(delay_seconds))
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// One `SendMessageBatch` of at most ten `messages`, all to `queue`: each one's outcome.
    async fn send_batch(
        &self,
        queue: QueueName,
        messages: &[&Dispatch],
    ) -> Vec<Result<(), AppError>> {
        let entries: Result<Vec<_>, AppError> = messages
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let (body, delay) = match d {
                    Dispatch::Work(m) => (serde_json::to_string(m), 0),
                    Dispatch::AutoStart(m, delay) => (serde_json::to_string(m), *delay),
                };
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body.map_err(AppError::internal)?)
                    .message_attributes(CORRELATION_ATTRIBUTE, correlation(d.correlation_id())?)
                    .set_delay_seconds((delay > 0).then_some(delay))
                    .build()
                    .map_err(AppError::internal)
            })
            .collect();
        let sent = match entries {
            Ok(entries) => self
                .aws
                .sqs()
                .send_message_batch()
                .queue_url(self.url(queue))
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(classify_sdk_error),
            Err(e) => Err(e),
        };
        let out = match sent {
            Ok(out) => out,
            Err(e) => return messages.iter().map(|_| Err(e.clone())).collect(),
        };
        // Every entry must be answered one way or the other; one that is not stays an error.
        let mut results: Vec<Result<(), AppError>> = messages
            .iter()
            .map(|_| {
                Err(AppError::Unavailable(
                    "SendMessageBatch did not answer for it".into(),
                ))
            })
            .collect();
        let count = results.len();
        let index = |id: &str| id.parse::<usize>().ok().filter(|i| *i < count);
        for ok in out.successful() {
            if let Some(i) = index(ok.id()) {
                results[i] = Ok(());
            }
        }
        for failed in out.failed() {
            if let Some(i) = index(failed.id()) {
                let problem = format!(
                    "SendMessageBatch entry {}: {} {}",
                    failed.id(),
                    failed.code(),
                    failed.message().unwrap_or_default()
                );
                results[i] = Err(if failed.sender_fault() {
                    AppError::Internal(problem)
                } else {
                    AppError::Unavailable(problem)
                });
            }
        }
        results
    }
}

/// The correlation id as a message attribute.
fn correlation(correlation_id: &str) -> Result<MessageAttributeValue, AppError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(correlation_id)
        .build()
        .map_err(AppError::internal)
}

/// The queue a message goes to.
fn queue_of(d: &Dispatch) -> QueueName {
    match d {
        Dispatch::Work(_) => QueueName::PhaseWork,
        Dispatch::AutoStart(..) => QueueName::AutoStart,
    }
}

impl Queues for SqsQueues {
    fn send_auto_start<'a>(
        &'a self,
        m: &'a AutoStartMessage,
        delay_seconds: i32,
    ) -> StoreFuture<'a, ()> {
        Box::pin(self.send(&self.autostart_url, m, &m.correlation_id, delay_seconds))
    }

    fn send_work<'a>(&'a self, m: &'a PhaseWorkMessage) -> StoreFuture<'a, ()> {
        Box::pin(self.send(&self.phase_work_url, m, &m.correlation_id, 0))
    }

    fn send_all<'a>(
        &'a self,
        messages: &'a [Dispatch],
    ) -> BoxFuture<'a, Vec<Result<(), AppError>>> {
        Box::pin(async move {
            // Ten to a request per queue, the requests at once; answers back in `messages`' order.
            let mut requests: Vec<(QueueName, Vec<usize>)> = Vec::new();
            for queue in [QueueName::AutoStart, QueueName::PhaseWork] {
                let of_queue: Vec<usize> = (0..messages.len())
                    .filter(|i| queue_of(&messages[*i]) == queue)
                    .collect();
                requests.extend(of_queue.chunks(10).map(|c| (queue, c.to_vec())));
            }
            let answers = futures_util::future::join_all(requests.iter().map(|(queue, ids)| {
                let batch: Vec<&Dispatch> = ids.iter().map(|i| &messages[*i]).collect();
                async move { self.send_batch(*queue, &batch).await }
            }))
            .await;
            let mut out: Vec<Result<(), AppError>> = messages
                .iter()
                .map(|_| Err(AppError::Internal("not sent".into())))
                .collect();
            for ((_, ids), results) in requests.iter().zip(answers) {
                for (i, r) in ids.iter().zip(results) {
                    out[*i] = r;
                }
            }
            out
        })
    }

    fn retry_later<'a>(
        &'a self,
        queue: QueueName,
        receipt_handle: &'a str,
        seconds: i32,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.aws
                .sqs()
                .change_message_visibility()
                .queue_url(self.url(queue))
                .receipt_handle(receipt_handle)
                .visibility_timeout(seconds)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            Ok(())
        })
    }

    fn receive_stream_failures(&self, max: i32) -> StoreFuture<'_, Vec<ReceivedMessage>> {
        Box::pin(async move {
            let out = self
                .aws
                .sqs()
                .receive_message()
                .queue_url(&self.stream_failure_url)
                .max_number_of_messages(max.clamp(1, 10))
                .wait_time_seconds(0)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            Ok(out
                .messages
                .unwrap_or_default()
                .into_iter()
                .filter_map(|m| {
                    Some(ReceivedMessage {
                        receipt_handle: m.receipt_handle?,
                        body: m.body.unwrap_or_default(),
                    })
                })
                .collect())
        })
    }

    fn delete_stream_failure<'a>(&'a self, receipt_handle: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            self.aws
                .sqs()
                .delete_message()
                .queue_url(&self.stream_failure_url)
                .receipt_handle(receipt_handle)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            Ok(())
        })
    }

    fn backlog(&self, queue: QueueName) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let out = self
                .aws
                .sqs()
                .get_queue_attributes()
                .queue_url(self.url(queue))
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .send()
                .await
                .map_err(classify_sdk_error)?;
            let attributes = out.attributes.unwrap_or_default();
            let mut total = 0u64;
            for name in [
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            ] {
                let value = attributes.get(&name).ok_or_else(|| {
                    AppError::Internal(format!("GetQueueAttributes answered no {name}"))
                })?;
                total += value.parse::<u64>().map_err(|e| {
                    AppError::Internal(format!("GetQueueAttributes {name} = {value:?}: {e}"))
                })?;
            }
            Ok(total)
        })
    }
}

/// Exponential backoff with "equal jitter" for receive number `receive_count` (1-based): with
/// `ceiling = min(cap, base·2^(n-1))`, a delay in `ceiling/2 ..= ceiling`, at least 1 s. The half
/// that is not random gives the retry budget a floor (DEPLOY.md: at least 5 minutes in AWS).
pub fn backoff_seconds(receive_count: u32, base: u32, cap: u32, jitter: f64) -> i32 {
    let exp = base.saturating_mul(1u32 << receive_count.saturating_sub(1).min(20));
    let ceiling = f64::from(exp.min(cap).max(1));
    let delay = ceiling / 2.0 + ceiling / 2.0 * jitter.clamp(0.0, 1.0);
    (delay.round() as i32).clamp(1, 43_200)
}

/// The sum of the smallest and of the largest backoffs a message goes through before the
/// dead-letter queue takes it: `max_receive` receives, a backoff after each failed one but the
/// last (which sends it to the DLQ at once).
pub fn retry_budget_seconds(max_receive: u32, base: u32, cap: u32) -> (i64, i64) {
    (1..max_receive).fold((0, 0), |(lo, hi), n| {
        (
            lo + i64::from(backoff_seconds(n, base, cap, 0.0)),
            hi + i64::from(backoff_seconds(n, base, cap, 1.0)),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_a_floor() {
        assert_eq!(backoff_seconds(1, 2, 300, 1.0), 2);
        assert_eq!(backoff_seconds(2, 2, 300, 1.0), 4);
        assert_eq!(backoff_seconds(5, 2, 300, 1.0), 32);
        assert_eq!(backoff_seconds(30, 2, 300, 1.0), 300);
        assert_eq!(
            backoff_seconds(5, 2, 300, 0.0),
            16,
            "never below half the ceiling"
        );
        assert_eq!(
            backoff_seconds(1, 1, 2, 0.0),
            1,
            "never 0: the message must not come straight back"
        );
    }

    #[test]
    fn the_aws_retry_budget_rides_out_five_minutes() {
        let (lo, hi) = retry_budget_seconds(10, 2, 300);
        assert!(lo >= 300, "{lo}");
        assert_eq!(
            (lo, hi),
            (405, 810),
            "the template's check computes the same"
        );
    }
}
