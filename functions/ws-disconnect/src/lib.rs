//! WebSocket `$disconnect` (best effort in API Gateway): deletes the connection and its
//! subscriptions. What it misses, the publisher's 410 handling and the TTL clean up.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use campaign_shared::AppState;
use campaign_shared::realtime::{self, ws_event};
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    match realtime::disconnect(state, ws_event::connection_id(&event.payload)).await {
        Ok(()) => Ok(ws_event::response(200)),
        Err(err) => {
            tracing::warn!(error = %err, "could not forget the connection; left to the TTL");
            Ok(ws_event::response(err.status()))
        }
    }
}
