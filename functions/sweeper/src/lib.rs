//! The sweeper: invoked on a schedule (EventBridge `rate(1 minute)`; the local gateway every few
//! seconds), it re-drives what may be stuck (`campaign_shared::service::sweeper`). The event's
//! content does not matter; the answer is the sweep's report, or an error when a re-drive failed
//! (after every due campaign was tried), so that the sweeper-failing alarm counts the run.

use aws_lambda_events::dynamodb::{Event as StreamEvent, EventRecord};
use campaign_shared::AppError;
use campaign_shared::AppState;
use campaign_shared::realtime::Publisher;
use campaign_shared::service::sweeper;
use futures_util::FutureExt;
use lambda_runtime::{Error, LambdaEvent};
use serde_json::{Value, json};

pub async fn handler(
    state: &AppState,
    publisher: &Publisher,
    _event: LambdaEvent<Value>,
) -> Result<Value, Error> {
    // A publisher's failed records are published again by the same code the publisher runs.
    let republish = |records: Vec<EventRecord>| {
        async move {
            let mut event = StreamEvent::default();
            event.records = records;
            let response = publisher.handle_batch(state, event).await;
            if response.batch_item_failures.is_empty() {
                Ok(())
            } else {
                Err(AppError::Unavailable(
                    "events could not be published again".into(),
                ))
            }
        }
        .boxed()
    };
    let report = sweeper::sweep(state, chrono::Utc::now(), Some(&republish)).await?;
    if report.failed > 0 {
        // Every due campaign was tried; the run still counts as failed for the alarm.
        return Err(AppError::Unavailable(format!(
            "{} of {} re-drives failed",
            report.failed, report.examined
        ))
        .into());
    }
    Ok(json!({
        "examined": report.examined,
        "redriven": report.redriven.len(),
        "stalled": report.stalled.len(),
        "streamFailures": report.stream_failures,
        "republishedRecords": report.republished_records,
    }))
}
