//! HTTP plumbing of the API: request reading (JSON bodies, query parameters, conditional
//! headers, the caller's claims, the correlation id) and response building (JSON, ETag, errors).

use http::header::{CONTENT_TYPE, ETAG, HeaderName, HeaderValue};
use http::{HeaderMap, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::AppError;

pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The correlation id of a request: the caller's `X-Correlation-Id` when it is a sane token
/// (1–128 chars of `[A-Za-z0-9._:-]`), otherwise a new UUID.
pub fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

/// The caller's `sub` from the JWT claims API Gateway's authorizer put in the request context.
pub fn caller_sub(req: &Request) -> Option<String> {
    let ctx = req.request_context_ref()?;
    let authorizer = match ctx {
        RequestContext::ApiGatewayV2(c) => c.authorizer.as_ref()?,
        _ => ctx.authorizer()?,
    };
    authorizer
        .jwt
        .as_ref()?
        .claims
        .get("sub")
        .filter(|s| !s.is_empty())
        .cloned()
}

pub fn error_response(err: &AppError, correlation: &str) -> Response<Body> {
    let mut response = json_response(err.status(), &err.body(correlation));
    if let AppError::MethodNotAllowed { allow, .. } = err {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    if matches!(err, AppError::Throttled(_) | AppError::Unavailable(_)) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if let AppError::QuotaExceeded {
        retry_after: Some(seconds),
        ..
    } = err
    {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(*seconds));
    }
    response
}

pub fn json_response<T: Serialize + ?Sized>(status: u16, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).expect("a response body serializes");
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

pub fn with_etag(mut response: Response<Body>, etag: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(etag) {
        response.headers_mut().insert(ETAG, v);
    }
    response
}

pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

/// Parses a JSON body: 413 over 64 KiB, 400 with the failing field for malformed JSON, wrong
/// types or unknown enum values.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("a JSON body is required", None));
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        AppError::bad_request(format!("invalid JSON body: {}", e.inner()), field)
    })?;
    de.end()
        .map_err(|e| AppError::bad_request(format!("invalid JSON body: {e}"), None))?;
    Ok(value)
}

pub fn body_bytes(req: &Request) -> &[u8] {
    req.body().as_ref()
}

pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_string)
}

pub fn limit_param(req: &Request, default: i32, max: i32) -> Result<i32, AppError> {
    match query(req, "limit") {
        None => Ok(default),
        Some(v) => v
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                AppError::bad_request(
                    format!("limit must be an integer from 1 to {max}"),
                    Some("limit".into()),
                )
            }),
    }
}

/// `If-Match`: `"3"`, `W/"3"`, `3` or `*` (any). A value that cannot be a version never matches.
pub fn if_match(headers: &HeaderMap) -> Option<u64> {
    let raw = headers.get(http::header::IF_MATCH)?.to_str().ok()?.trim();
    if raw == "*" {
        return None;
    }
    let v = raw.trim_start_matches("W/").trim_matches('"');
    Some(v.parse().unwrap_or(u64::MAX))
}

pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(http::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag)
        })
}

pub fn path_id(segment: &str, what: &'static str) -> Result<Uuid, AppError> {
    Uuid::parse_str(segment).map_err(|_| AppError::NotFound(what))
}

pub fn method_not_allowed(allow: &'static str) -> AppError {
    AppError::MethodNotAllowed {
        message: format!("this route allows {allow}"),
        allow,
    }
}

/// `?cursor=` of the domains listing (an index).
pub fn cursor_param(req: &Request) -> Result<Option<u64>, AppError> {
    query(req, "cursor")
        .map(|c| {
            c.parse::<u64>().map_err(|_| {
                AppError::bad_request("the cursor is not valid", Some("cursor".into()))
            })
        })
        .transpose()
}

/// Sets `name: value` when the value is a valid header value.
pub fn set_header(response: &mut Response<Body>, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, v);
    }
}
