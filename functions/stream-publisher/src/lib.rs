//! The stream publisher: campaign table stream → real-time events → every subscribed WebSocket
//! connection (EVENTS.md). Each campaign's records are published in order, different campaigns of
//! a batch concurrently; a record fails (and the stream retries from it) only on a transient
//! error, so a closed or refusing connection never holds back the others. See
//! [`Publisher::handle_batch`].

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use campaign_shared::AppState;
use campaign_shared::realtime::Publisher;
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    publisher: &Publisher,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    Ok(publisher.handle_batch(state, event.payload).await)
}
