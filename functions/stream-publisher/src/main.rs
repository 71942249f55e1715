use campaign_shared::adapters::ws::Push;
use campaign_shared::realtime::Publisher;
use campaign_shared::{AppState, Settings, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let sdk = campaign_shared::config::load_sdk_config().await;
    let settings = Settings::from_env();
    let publisher = Publisher::new(Push::new(&sdk, settings.ws_management_endpoint.as_deref()));
    let state = AppState::new(&sdk, settings);
    let (state, publisher) = (&state, &publisher);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        stream_publisher::handler(state, publisher, event)
    }))
    .await
}
