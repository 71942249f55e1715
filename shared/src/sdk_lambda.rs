//! The SDK configuration of a deployed function ([`crate::AppState::from_env`]): only what
//! Lambda's environment gives, built without `aws_config::defaults()`.
//!
//! Why: `aws_config::defaults().load()` reads profile files and links every credential and
//! region provider it might fall back to — IMDS, ECS, web identity and assume-role (a whole STS
//! client), SSO, credential processes — into every function, although a Lambda function's
//! credentials and region are always its environment variables (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, set by Lambda for the execution
//! role). docs/DEPLOY.md "Build sizes and cold start" has what it saves.
//!
//! What it keeps of the standard configuration: the credentials from those variables (re-read
//! when the cached ones expire), the region from `AWS_REGION` (or `AWS_DEFAULT_REGION`),
//! endpoints from `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL` (the bootstrap test points
//! the functions at moto this way), the HTTPS client and time-outs of [`crate::sdk`], the standard
//! retry mode, tokio's sleep. Not read: profile files, `AWS_PROFILE`, `AWS_RETRY_MODE`,
//! `AWS_MAX_ATTEMPTS`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`, FIPS and dual-stack settings.
//!
//! Invariant: no region is an init error (a panic with the reason), never a silent default.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{AsyncSleep, SharedCredentialsProvider, Sleep};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::sdk::{https_client, timeouts};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The configuration described in the module docs.
pub fn lambda_sdk_config() -> SdkConfig {
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .expect("AWS_REGION is not set (Lambda sets it for every function)");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client())
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard())
        .sleep_impl(TokioSleep)
        .service_config(EndpointVariables)
        .build()
}

/// The SDK's sleep on tokio's timer (what `rt-tokio` gives `aws_config::defaults`).
#[derive(Debug)]
struct TokioSleep;

impl AsyncSleep for TokioSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep::new(tokio::time::sleep(duration))
    }
}

/// Per-service settings from environment variables only: `<KEY>_<SERVICE ID>` first (e.g.
/// `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`), then `<KEY>` (`AWS_ENDPOINT_URL`), as the SDK's own
/// environment lookup does.
#[derive(Debug)]
struct EndpointVariables;

impl LoadServiceConfig for EndpointVariables {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        env(&service_variable(key.env(), key.service_id())).or_else(|| env(key.env()))
    }
}

/// `AWS_ENDPOINT_URL` + `DynamoDB Streams` → `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`.
fn service_variable(key: &str, service_id: &str) -> String {
    format!(
        "{key}_{}",
        service_id.to_ascii_uppercase().replace([' ', '-'], "_")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_variables_are_named_as_the_sdk_names_them() {
        assert_eq!(
            service_variable("AWS_ENDPOINT_URL", "DynamoDB Streams"),
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"
        );
        assert_eq!(
            service_variable("AWS_ENDPOINT_URL", "SQS"),
            "AWS_ENDPOINT_URL_SQS"
        );
        assert_eq!(
            service_variable("AWS_ENDPOINT_URL", "ApiGatewayManagementApi"),
            "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
        );
    }
}
