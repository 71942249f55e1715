use campaign_shared::adapters::ws::Push;
use campaign_shared::{AppState, Settings, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let sdk = campaign_shared::config::load_sdk_config().await;
    let settings = Settings::from_env();
    let push = Push::new(&sdk, settings.ws_management_endpoint.as_deref());
    let state = AppState::new(&sdk, settings);
    let (state, push) = (&state, &push);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        ws_message::handler(state, push, event)
    }))
    .await
}
