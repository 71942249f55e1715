//! The one error type of the service and its mapping onto the HTTP status/code table of API.md.
//!
//! Errors stay typed all the way: workers decide retry-or-not from [`AppError::retry_class`],
//! never from message text.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::error::SdkError;
use serde::{Deserialize, Serialize};

/// One problem with one input field, as listed in `error.details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// e.g. `config.discovery.numDomains`, `config.discovery.tlds[1]`, `limit`.
    pub field: String,
    pub problem: String,
}

impl FieldProblem {
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// 409 codes: the resource is in the wrong state for the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictCode {
    PhaseAlreadyRunning,
    PhaseAlreadyCompleted,
    PhaseOrder,
    PhaseNotRunning,
    PhaseNotPaused,
    IdempotencyInProgress,
    ResourceInUse,
}

impl ConflictCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PhaseAlreadyRunning => "PHASE_ALREADY_RUNNING",
            Self::PhaseAlreadyCompleted => "PHASE_ALREADY_COMPLETED",
            Self::PhaseOrder => "PHASE_ORDER",
            Self::PhaseNotRunning => "PHASE_NOT_RUNNING",
            Self::PhaseNotPaused => "PHASE_NOT_PAUSED",
            Self::IdempotencyInProgress => "IDEMPOTENCY_IN_PROGRESS",
            Self::ResourceInUse => "RESOURCE_IN_USE",
        }
    }
}

/// 422 codes: well-formed but not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidCode {
    InvalidConfig,
    IdempotencyKeyReused,
}

impl InvalidCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
        }
    }
}

/// Whether a failed operation may succeed when tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryClass {
    /// Throttling, time-outs, 5xx from a dependency, or an unexpected error: try again later.
    Transient,
    /// The input or the state makes it fail every time: do not retry.
    Permanent,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("missing, invalid or expired token")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    MethodNotAllowed {
        message: String,
        allow: &'static str,
    },
    #[error("{message}")]
    Conflict { code: ConflictCode, message: String },
    #[error("the resource has changed since version {expected}; current version is {current}")]
    VersionMismatch { expected: u64, current: u64 },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{message}")]
    Invalid {
        code: InvalidCode,
        message: String,
        details: Vec<FieldProblem>,
    },
    /// A per-user limit (API.md "Limits"): `quota` names it (`activeCampaigns`, `domainsPerDay`,
    /// `wsConnections`, `subscriptions`); `retry_after` is set where the quota resets.
    #[error("quota {quota} exceeded: {problem}")]
    QuotaExceeded {
        quota: &'static str,
        problem: String,
        retry_after: Option<u64>,
    },
    #[error("a dependency is throttling requests: {0}")]
    Throttled(String),
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(message: impl Into<String>, field: Option<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
            field,
        }
    }

    pub fn conflict(code: ConflictCode, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    pub fn invalid_config(details: Vec<FieldProblem>) -> Self {
        Self::Invalid {
            code: InvalidCode::InvalidConfig,
            message: format!("the configuration has {} problem(s)", details.len()),
            details,
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal(message.to_string())
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized => 401,
            Self::NotFound(_) => 404,
            Self::MethodNotAllowed { .. } => 405,
            Self::Conflict { .. } => 409,
            Self::VersionMismatch { .. } => 412,
            Self::PayloadTooLarge { .. } => 413,
            Self::Invalid { .. } => 422,
            Self::QuotaExceeded { .. } | Self::Throttled(_) => 429,
            Self::Unavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "BAD_REQUEST",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::Conflict { code, .. } => code.as_str(),
            Self::VersionMismatch { .. } => "VERSION_MISMATCH",
            Self::PayloadTooLarge { .. } => "PAYLOAD_TOO_LARGE",
            Self::Invalid { code, .. } => code.as_str(),
            Self::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            Self::Throttled(_) => "THROTTLED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// The field-level details of the error body (`error.details`).
    pub fn details(&self) -> Vec<FieldProblem> {
        match self {
            Self::Invalid { details, .. } => details.clone(),
            Self::QuotaExceeded { quota, problem, .. } => {
                vec![FieldProblem::new(format!("quota.{quota}"), problem.clone())]
            }
            Self::BadRequest {
                field: Some(f),
                message,
            } => vec![FieldProblem::new(f.clone(), message.clone())],
            _ => Vec::new(),
        }
    }

    /// The message shown to clients. Internal errors never leak their text.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error".to_string(),
            Self::Throttled(_) => "a dependency is throttling requests; retry later".to_string(),
            Self::Unavailable(_) => "a dependency is unavailable; retry later".to_string(),
            other => other.to_string(),
        }
    }

    pub fn retry_class(&self) -> RetryClass {
        match self {
            Self::Throttled(_) | Self::Unavailable(_) | Self::Internal(_) => RetryClass::Transient,
            _ => RetryClass::Permanent,
        }
    }

    /// The error body of API.md: `{"error": {code, message, correlationId, details?}}`.
    pub fn body(&self, correlation_id: &str) -> serde_json::Value {
        let mut error = serde_json::json!({
            "code": self.code(),
            "message": self.public_message(),
            "correlationId": correlation_id,
        });
        let details = self.details();
        if !details.is_empty() {
            error["details"] = serde_json::to_value(details).unwrap_or_default();
        }
        serde_json::json!({ "error": error })
    }
}

/// Service error codes that mean "slow down" across DynamoDB and SQS.
const THROTTLING_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "Throttling",
    "KMS.ThrottlingException",
];

/// Classifies any AWS SDK error: throttling → [`AppError::Throttled`], transport failures and
/// 5xx → [`AppError::Unavailable`], anything else → [`AppError::Internal`] (still retried by
/// workers, surfaced as 500 by the API).
pub fn classify_sdk_error<E, R>(err: SdkError<E, R>) -> AppError
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            AppError::Unavailable(format!("{err:?}"))
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if THROTTLING_CODES.contains(&code) {
                AppError::Throttled(code.to_string())
            } else if code.is_empty()
                || code.contains("InternalServer")
                || code.contains("ServiceUnavailable")
            {
                AppError::Unavailable(format!("{:?}", service.err()))
            } else {
                AppError::Internal(format!("{code}: {:?}", service.err().message()))
            }
        }
        _ => AppError::Internal(format!("{err:?}")),
    }
}

impl From<serde_dynamo::Error> for AppError {
    fn from(err: serde_dynamo::Error) -> Self {
        AppError::Internal(format!("item (de)serialization: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_code_table_matches_the_contract() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::bad_request("x", None), 400, "BAD_REQUEST"),
            (AppError::Unauthorized, 401, "UNAUTHORIZED"),
            (AppError::NotFound("campaign"), 404, "NOT_FOUND"),
            (
                AppError::conflict(ConflictCode::PhaseAlreadyRunning, "x"),
                409,
                "PHASE_ALREADY_RUNNING",
            ),
            (
                AppError::conflict(ConflictCode::PhaseAlreadyCompleted, "x"),
                409,
                "PHASE_ALREADY_COMPLETED",
            ),
            (
                AppError::conflict(ConflictCode::PhaseOrder, "x"),
                409,
                "PHASE_ORDER",
            ),
            (
                AppError::conflict(ConflictCode::IdempotencyInProgress, "x"),
                409,
                "IDEMPOTENCY_IN_PROGRESS",
            ),
            (
                AppError::conflict(ConflictCode::ResourceInUse, "x"),
                409,
                "RESOURCE_IN_USE",
            ),
            (
                AppError::VersionMismatch {
                    expected: 1,
                    current: 2,
                },
                412,
                "VERSION_MISMATCH",
            ),
            (
                AppError::PayloadTooLarge { limit: 65536 },
                413,
                "PAYLOAD_TOO_LARGE",
            ),
            (AppError::invalid_config(vec![]), 422, "INVALID_CONFIG"),
            (
                AppError::Invalid {
                    code: InvalidCode::IdempotencyKeyReused,
                    message: "x".into(),
                    details: vec![],
                },
                422,
                "IDEMPOTENCY_KEY_REUSED",
            ),
            (AppError::Throttled("x".into()), 429, "THROTTLED"),
            (AppError::Unavailable("x".into()), 503, "UNAVAILABLE"),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn body_lists_details_and_hides_internal_text() {
        let err = AppError::invalid_config(vec![
            FieldProblem::new("name", "required"),
            FieldProblem::new("config.discovery.tlds", "at least one TLD"),
        ]);
        let body = err.body("corr-1");
        assert_eq!(body["error"]["code"], "INVALID_CONFIG");
        assert_eq!(body["error"]["correlationId"], "corr-1");
        assert_eq!(body["error"]["details"].as_array().unwrap().len(), 2);
        let internal = AppError::Internal("secret table name".into()).body("c");
        assert_eq!(internal["error"]["message"], "internal error");
        assert!(internal["error"].get("details").is_none());
    }

    #[test]
    fn only_dependency_failures_are_transient() {
        assert_eq!(
            AppError::Throttled("t".into()).retry_class(),
            RetryClass::Transient
        );
        assert_eq!(
            AppError::Unavailable("t".into()).retry_class(),
            RetryClass::Transient
        );
        assert_eq!(
            AppError::invalid_config(vec![]).retry_class(),
            RetryClass::Permanent
        );
        assert_eq!(
            AppError::NotFound("campaign").retry_class(),
            RetryClass::Permanent
        );
    }
}
