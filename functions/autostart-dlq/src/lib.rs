//! The auto-start dead-letter handler: marks requests that used up their receives as failed (RETRIES_EXHAUSTED).

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use campaign_shared::AppState;
use campaign_shared::lambda::sqs_batch;
use campaign_shared::messages::AutoStartMessage;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(
        sqs_batch(event.payload, |msg: AutoStartMessage, meta| async move {
            campaign_shared::service::autostart::handle_dead_letter(state, &msg, &meta).await
        })
        .await,
    )
}
