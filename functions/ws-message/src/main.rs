use campaign_shared::realtime::Push;
use campaign_shared::{AppState, telemetry};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let state = AppState::from_env().await;
    let push = Push::of(&state);
    let (state, push) = (&state, &push);
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        ws_message::handler(state, push, event)
    }))
    .await
}
