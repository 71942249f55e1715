//! The phase worker: executes one chunk of phase work per message.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use campaign_shared::AppState;
use campaign_shared::lambda::sqs_batch;
use campaign_shared::messages::PhaseWorkMessage;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    Ok(
        sqs_batch(event.payload, |msg: PhaseWorkMessage, meta| async move {
            campaign_shared::service::phase_work::handle_message(state, &msg, &meta).await
        })
        .await,
    )
}
