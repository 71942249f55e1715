//! WebSocket `$connect` (after the REQUEST authorizer accepted the `?token=`): records the
//! connection with its owner, the authorizer context's `sub`; at the owner's limit, asks the
//! Management API (`push`) which of the owner's other connections are gone.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use campaign_shared::realtime::{self, Push, ws_event};
use campaign_shared::{AppError, AppState};
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    push: &Push,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let e = &event.payload;
    let Some(owner) = ws_event::owner(e) else {
        tracing::warn!("connect without an authorizer sub; refused");
        return Ok(ws_event::response(401));
    };
    match realtime::connect(
        state,
        Some(push),
        ws_event::connection_id(e),
        owner,
        ws_event::connected_at(e),
    )
    .await
    {
        Ok(()) => Ok(ws_event::response(200)),
        Err(AppError::Unauthorized) => Ok(ws_event::response(401)),
        Err(err) => {
            tracing::error!(error = %err, "could not record the connection");
            Ok(ws_event::response(err.status()))
        }
    }
}
