//! The phase-work dead-letter handler: fails the phase whose chunk used up its receives.

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
            campaign_shared::service::phase_work::handle_dead_letter(state, &msg, &meta).await
        })
        .await,
    )
}
