//! The phase dispatcher: campaign table stream → phase-work and auto-advance messages.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use campaign_shared::AppState;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    Ok(campaign_shared::service::dispatch::handle_batch(state, event.payload).await)
}
