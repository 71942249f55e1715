//! The phase dispatcher: campaign table stream → phase-work and auto-advance messages.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use campaign_shared::AppState;
use campaign_shared::lambda::stream_batch;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    Ok(stream_batch(event.payload, |change| {
        campaign_shared::service::dispatch::handle_change(state, change)
    })
    .await)
}
