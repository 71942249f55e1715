//! SQS messages of the pipeline and the adapter that sends them. The correlation id travels as a
//! message attribute as well as in the body.

use aws_sdk_sqs::types::MessageAttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::PhaseName;
use crate::error::{AppError, classify_sdk_error};

pub const CORRELATION_ATTRIBUTE: &str = "correlationId";

/// `{campaignId, phase, correlationId, requestedAt}` on the auto-start queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoStartMessage {
    pub campaign_id: Uuid,
    pub phase: PhaseName,
    pub correlation_id: String,
    pub requested_at: DateTime<Utc>,
}

/// One chunk of phase work on the phase-work queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PhaseWorkMessage {
    pub campaign_id: Uuid,
    pub phase: PhaseName,
    pub chunk: u64,
    pub correlation_id: String,
}

#[derive(Clone, Copy)]
pub struct Queue<'a> {
    pub sqs: &'a aws_sdk_sqs::Client,
    pub url: &'a str,
}

impl<'a> Queue<'a> {
    pub fn new(sqs: &'a aws_sdk_sqs::Client, url: &'a str) -> Self {
        Self { sqs, url }
    }

    pub async fn send<T: Serialize>(
        &self,
        message: &T,
        correlation_id: &str,
    ) -> Result<(), AppError> {
        let body = serde_json::to_string(message).map_err(AppError::internal)?;
        let attribute = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(correlation_id)
            .build()
            .map_err(AppError::internal)?;
        self.sqs
            .send_message()
            .queue_url(self.url)
            .message_body(body)
            .message_attributes(CORRELATION_ATTRIBUTE, attribute)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }

    /// Hides a message for `seconds` from now (the retry backoff of a failed message).
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        seconds: i32,
    ) -> Result<(), AppError> {
        self.sqs
            .change_message_visibility()
            .queue_url(self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        Ok(())
    }
}

impl Queue<'_> {
    /// Hides a failed message for its retry backoff (exponential in its receive count, with
    /// jitter) and returns the delay. A failure to do so is logged: the queue's visibility timeout
    /// then applies, so the message is still retried.
    pub async fn retry_later(
        &self,
        meta: &crate::lambda::MessageMeta,
        settings: &crate::config::Settings,
    ) -> i32 {
        let delay = backoff_seconds(
            meta.receive_count,
            settings.backoff_base_seconds,
            settings.backoff_cap_seconds,
            rand::random::<f64>(),
        );
        if let Err(e) = self.change_visibility(&meta.receipt_handle, delay).await {
            tracing::warn!(error = %e, "could not set the retry backoff; the queue's visibility timeout applies");
        }
        delay
    }
}

/// Exponential backoff with full jitter for receive number `receive_count` (1-based):
/// `random(0..=min(cap, base·2^(n-1)))`, at least 1 s so the message is not received at once.
pub fn backoff_seconds(receive_count: u32, base: u32, cap: u32, jitter: f64) -> i32 {
    let exp = base.saturating_mul(1u32 << receive_count.saturating_sub(1).min(20));
    let ceiling = exp.min(cap).max(1);
    let jittered = (f64::from(ceiling) * jitter.clamp(0.0, 1.0)).round() as i32;
    jittered.clamp(1, 43_200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap() {
        assert_eq!(backoff_seconds(1, 2, 300, 1.0), 2);
        assert_eq!(backoff_seconds(2, 2, 300, 1.0), 4);
        assert_eq!(backoff_seconds(5, 2, 300, 1.0), 32);
        assert_eq!(backoff_seconds(30, 2, 300, 1.0), 300);
        assert_eq!(
            backoff_seconds(3, 2, 300, 0.0),
            1,
            "never 0: the message must not come straight back"
        );
        assert_eq!(backoff_seconds(3, 2, 300, 0.5), 4);
    }

    #[test]
    fn messages_have_the_contract_shape() {
        let m = AutoStartMessage {
            campaign_id: Uuid::nil(),
            phase: PhaseName::Discovery,
            correlation_id: "c".into(),
            requested_at: DateTime::from_timestamp_millis(0).unwrap(),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["phase"], "discovery");
        assert!(
            v.get("campaignId").is_some()
                && v.get("requestedAt").is_some()
                && v.get("correlationId").is_some()
        );
    }
}
