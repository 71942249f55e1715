//! Pushes to WebSocket connections through the API Gateway Management API
//! (`PostToConnection`), with the failure classes the publisher acts on.

use std::time::Duration;

use aws_sdk_apigatewaymanagement::primitives::Blob;
use futures_util::future::BoxFuture;

use crate::error::{AppError, classify_sdk_error};

/// Why a push failed.
#[derive(Debug)]
pub enum PushError {
    /// 410 `GoneException`: the connection is closed; forget it and move on.
    Gone,
    /// Refused for good (403, payload too large, …): retrying cannot help; skip this connection.
    Rejected(String),
    /// Throttling, 5xx, time-out: worth retrying.
    Transient(AppError),
}

/// Sends messages to connections (`PostToConnection`).
#[derive(Clone, Debug)]
pub struct Push {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Push {
    /// A client for `endpoint` (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`,
    /// or the local gateway's), built from the shared SDK config.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<&str>) -> Self {
        let mut builder = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(2))
                .operation_attempt_timeout(Duration::from_secs(3))
                .build(),
        );
        match endpoint {
            Some(e) => builder = builder.endpoint_url(e),
            None => tracing::warn!(
                "WS_MANAGEMENT_ENDPOINT is not set; pushes to WebSocket clients will fail"
            ),
        }
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(builder.build()),
        }
    }

    /// The deployed functions' client: the state's SDK config and `WS_MANAGEMENT_ENDPOINT`.
    pub fn of(state: &crate::state::AppState) -> Self {
        let sdk = state.aws.as_ref().expect("the functions run on AWS").sdk();
        Self::new(sdk, state.settings.ws_management_endpoint.as_deref())
    }

    /// The same client without the SDK's retries (standard mode: three attempts, up to 1 s and
    /// then 2 s apart): for a caller with its own bounded retries.
    pub fn without_sdk_retries(&self) -> Self {
        let config = self
            .client
            .config()
            .to_builder()
            .retry_config(aws_sdk_apigatewaymanagement::config::retry::RetryConfig::disabled())
            .build();
        Self {
            client: aws_sdk_apigatewaymanagement::Client::from_conf(config),
        }
    }

    pub fn client(&self) -> &aws_sdk_apigatewaymanagement::Client {
        &self.client
    }

    pub async fn send(&self, connection_id: &str, data: &[u8]) -> Result<(), PushError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data))
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        if let Some(service) = err.as_service_error() {
            if service.is_gone_exception() {
                return Err(PushError::Gone);
            }
            if service.is_limit_exceeded_exception() {
                return Err(PushError::Transient(AppError::Throttled(
                    "LimitExceededException".into(),
                )));
            }
            if service.is_forbidden_exception() || service.is_payload_too_large_exception() {
                return Err(PushError::Rejected(format!("{service:?}")));
            }
            let status = err
                .raw_response()
                .map(|r| r.status().as_u16())
                .unwrap_or_default();
            if (400..500).contains(&status) && status != 429 {
                return Err(PushError::Rejected(format!("{status}: {service:?}")));
            }
        }
        Err(PushError::Transient(classify_sdk_error(err)))
    }

    /// Whether the connection is gone: the Management API's `GetConnection` answered 410
    /// `GoneException` (any other failure is an error, not an answer).
    pub async fn is_gone(&self, connection_id: &str) -> Result<bool, AppError> {
        match self
            .client
            .get_connection()
            .connection_id(connection_id)
            .send()
            .await
        {
            Ok(_) => Ok(false),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_gone_exception()) =>
            {
                Ok(true)
            }
            Err(err) => Err(classify_sdk_error(err)),
        }
    }
}

/// Tells whether a WebSocket connection is gone ([`Push::is_gone`]; the tests' own answers).
pub trait Liveness: Sync {
    fn is_gone<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<bool, AppError>>;
}

impl Liveness for Push {
    fn is_gone<'a>(&'a self, connection_id: &'a str) -> BoxFuture<'a, Result<bool, AppError>> {
        Box::pin(Push::is_gone(self, connection_id))
    }
}
