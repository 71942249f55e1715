//! The AWS SDK configuration every function shares: region, credentials and endpoints from the
//! environment (`AWS_ENDPOINT_URL*` point it at moto locally), and operation time-outs below the
//! function time-out, so a hung call fails in time for the handler to report it (and for the
//! message or record to be retried) instead of the whole invocation timing out.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;

/// `SDK_OPERATION_TIMEOUT_MS` (default 4000): one operation, all its retries included.
pub fn operation_timeout() -> Duration {
    let ms = std::env::var("SDK_OPERATION_TIMEOUT_MS")
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<u64>()
                .unwrap_or_else(|_| panic!("SDK_OPERATION_TIMEOUT_MS={v:?} is not a number"))
        })
        .unwrap_or(4000);
    Duration::from_millis(ms)
}

pub fn timeouts() -> TimeoutConfig {
    let operation = operation_timeout();
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(operation.min(Duration::from_secs(2)).max(operation / 2))
        .operation_timeout(operation)
        .build()
}

pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts())
        .load()
        .await
}
