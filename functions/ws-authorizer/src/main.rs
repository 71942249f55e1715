use campaign_shared::telemetry;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    telemetry::init_tracing();
    let verifier = ws_authorizer::Verifier::from_env();
    let verifier = &verifier;
    lambda_runtime::run(lambda_runtime::service_fn(move |event| {
        ws_authorizer::handler(verifier, event)
    }))
    .await
}
