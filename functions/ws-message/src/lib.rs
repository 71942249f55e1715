//! WebSocket `subscribe`, `unsubscribe`, `ping` and `$default`: one-way routes, answered through
//! the management API (`PostToConnection`) with `subscribed`, `unsubscribed`, `pong` or `error`.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use campaign_shared::AppState;
use campaign_shared::realtime::Push;
use campaign_shared::realtime::{self, ws_event};
use lambda_runtime::{Error, LambdaEvent};

pub async fn handler(
    state: &AppState,
    push: &Push,
    event: LambdaEvent<ApiGatewayWebsocketProxyRequest>,
) -> Result<ApiGatewayProxyResponse, Error> {
    let e = &event.payload;
    let sender = ws_event::sender(e);
    let route = e.request_context.route_key.as_deref().unwrap_or_default();
    let answer = realtime::answer(state, &sender, e.body.as_deref()).await;
    tracing::info!(connectionId = %sender.connection_id, %route, answer = %answer["type"], "message");
    realtime::reply(push, sender.connection_id, &answer).await?;
    Ok(ws_event::response(200))
}
