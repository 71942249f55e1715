use campaign_shared::realtime::{Publisher, Push};
use campaign_shared::{AppState, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let state = AppState::from_env().await;
    let publisher = Publisher::new(Push::of(&state));
    let (state, publisher) = (&state, &publisher);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        sweeper::handler(state, publisher, event)
    }))
    .await
}
