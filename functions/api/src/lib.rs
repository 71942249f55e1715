//! The HTTP API function: every route of API.md. Parsing, routing and error mapping live in
//! `campaign_shared::api`; this crate only wires the Lambda runtime to it.

use campaign_shared::AppState;
use lambda_http::{Body, Error, Request, Response};

pub async fn handler(state: &AppState, req: Request) -> Result<Response<Body>, Error> {
    Ok(campaign_shared::api::handle(state, req).await)
}
