use campaign_shared::{AppState, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    telemetry::init_tracing();
    let state = AppState::from_env().await;
    let state = &state;
    lambda_http::run(lambda_http::service_fn(move |req| api::handler(state, req))).await
}
