use campaign_shared::{AppState, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let state = AppState::from_env().await;
    let state = &state;
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        phase_worker::handler(state, event)
    }))
    .await
}
