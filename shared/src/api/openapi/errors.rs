//! The error answers, from `AppError` itself: one error of every kind ([`every_error`]) gives
//! each status its codes (`AppError::code`) and its headers (what `error_response` sets), so a new
//! code or a header change shows in the document without editing it here.

use std::collections::BTreeMap;

use ::http::header::{ALLOW, RETRY_AFTER};
use serde_json::{Map, Value, json};

use super::schemas::Schemas;
use crate::api::http::error_response;
use crate::error::{AppError, ConflictCode, FieldProblem, InvalidCode};

/// One error of every kind the API can answer with.
pub fn every_error() -> Vec<AppError> {
    use ConflictCode::*;
    let mut errors = vec![
        AppError::bad_request("", None),
        AppError::Unauthorized,
        AppError::NotFound("route"),
        AppError::MethodNotAllowed {
            message: String::new(),
            allow: "GET",
        },
        AppError::VersionMismatch {
            expected: 1,
            current: 2,
        },
        AppError::PayloadTooLarge { limit: 0 },
        AppError::QuotaExceeded {
            quota: "domainsPerDay",
            problem: String::new(),
            retry_after: Some(1),
        },
        AppError::QuotaExceeded {
            quota: "activeCampaigns",
            problem: String::new(),
            retry_after: None,
        },
        AppError::Throttled(String::new()),
        AppError::Unavailable(String::new()),
        AppError::Internal(String::new()),
    ];
    let conflicts = [
        PhaseAlreadyRunning,
        PhaseAlreadyCompleted,
        PhaseOrder,
        PhaseNotRunning,
        PhaseNotPaused,
        IdempotencyInProgress,
        ResourceInUse,
    ];
    errors.extend(conflicts.map(|c| AppError::conflict(c, "")));
    for code in [
        InvalidCode::InvalidConfig,
        InvalidCode::IdempotencyKeyReused,
    ] {
        errors.push(AppError::Invalid {
            code,
            message: String::new(),
            details: Vec::new(),
        });
    }
    for e in &errors {
        listed(e);
    }
    errors
}

/// Fails to compile when `AppError`, `ConflictCode` or `InvalidCode` gains a variant: add it to
/// [`every_error`] too.
fn listed(e: &AppError) {
    use ConflictCode::*;
    match e {
        AppError::Conflict { code, .. } => match code {
            PhaseAlreadyRunning
            | PhaseAlreadyCompleted
            | PhaseOrder
            | PhaseNotRunning
            | PhaseNotPaused
            | IdempotencyInProgress
            | ResourceInUse => {}
        },
        AppError::Invalid { code, .. } => match code {
            InvalidCode::InvalidConfig | InvalidCode::IdempotencyKeyReused => {}
        },
        AppError::BadRequest { .. }
        | AppError::Unauthorized
        | AppError::NotFound(_)
        | AppError::MethodNotAllowed { .. }
        | AppError::VersionMismatch { .. }
        | AppError::PayloadTooLarge { .. }
        | AppError::QuotaExceeded { .. }
        | AppError::Throttled(_)
        | AppError::Unavailable(_)
        | AppError::Internal(_) => {}
    }
}

/// The component name and description of an error status's response.
fn describe(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "BadRequest",
            "malformed JSON, wrong types, unknown enum value, bad limit/cursor/status/include, bad Idempotency-Key",
        ),
        401 => ("Unauthorized", "missing, invalid or expired token"),
        404 => (
            "NotFound",
            "unknown route, campaign, persona, proxy or phase, or not the caller's",
        ),
        405 => (
            "MethodNotAllowed",
            "a listed path with a method it does not list (answered for every path, not listed per operation)",
        ),
        409 => ("Conflict", "wrong state for the action"),
        412 => ("PreconditionFailed", "`If-Match` given and stale"),
        413 => ("PayloadTooLarge", "a request body over 64 KiB"),
        422 => (
            "Unprocessable",
            "well-formed but not acceptable; `details` lists every problem field",
        ),
        429 => ("Throttled", "a limit was reached or a dependency throttled"),
        500 => ("Internal", "an unexpected error (its text is not shown)"),
        503 => ("Unavailable", "a dependency is down after retries"),
        other => panic!("no description for error status {other}: add one in openapi/errors.rs"),
    }
}

/// The error body with `codes`.
fn body(codes: &[&str], description: &str, problem: &Value) -> Value {
    json!({
        "description": description,
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "correlationId"],
                "properties": {
                    "code": {"type": "string", "enum": codes},
                    "message": {"type": "string"},
                    "correlationId": {"type": "string", "description": "the request's X-Correlation-Id"},
                    "details": {
                        "type": "array", "minItems": 1, "items": problem,
                        "description": "every problem field (422), or the one failing field (400)"
                    }
                }
            }
        }
    })
}

/// Adds the error bodies (`Error<status>`, and `Error` with every code) to `schemas`; returns the
/// error responses by status for `components.responses` (named by [`describe`]).
pub fn responses(schemas: &mut Schemas) -> BTreeMap<u16, (String, Value)> {
    let problem = schemas.add::<FieldProblem>();
    let errors = every_error();
    let mut by_status: BTreeMap<u16, Vec<&AppError>> = BTreeMap::new();
    for e in &errors {
        by_status.entry(e.status()).or_default().push(e);
    }
    let all = distinct(errors.iter().map(AppError::code));
    schemas.insert(
        "Error",
        body(&all, "the error body of every non-2xx answer", &problem),
    );
    let mut out = BTreeMap::new();
    for (status, errors) in by_status {
        let (name, description) = describe(status);
        let codes = distinct(errors.iter().map(|e| e.code()));
        let schema = schemas.insert(
            &format!("Error{status}"),
            body(&codes, description, &problem),
        );
        let mut headers = Map::new();
        headers.insert(
            "X-Correlation-Id".into(),
            json!({"$ref": "#/components/headers/XCorrelationId"}),
        );
        let answers: Vec<_> = errors.iter().map(|e| error_response(e, "c")).collect();
        for (header, mut definition) in [
            (
                RETRY_AFTER,
                json!({"description": "seconds to wait before retrying", "schema": {"type": "string", "pattern": "^[0-9]+$"}}),
            ),
            (
                ALLOW,
                json!({"description": "the methods the path serves", "schema": {"type": "string"}}),
            ),
        ] {
            let with = answers
                .iter()
                .filter(|r| r.headers().contains_key(&header))
                .count();
            if with > 0 {
                definition["required"] = json!(with == answers.len());
                headers.insert(canonical(header.as_str()), definition);
            }
        }
        let code_list = codes
            .iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(
            status,
            (
                name.to_string(),
                json!({
                    "description": format!("{status} {code_list}: {description}"),
                    "headers": headers,
                    "content": {"application/json": {"schema": schema}}
                }),
            ),
        );
    }
    out
}

/// The codes in first-seen order, each once (one code can have several answers, e.g. a quota with
/// and without `Retry-After`).
fn distinct<'a>(codes: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for c in codes {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// `retry-after` → `Retry-After`.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect::<Vec<_>>()
        .join("-")
}

/// A `$ref` to the response of an error status.
pub fn response_ref(responses: &BTreeMap<u16, (String, Value)>, status: u16) -> Value {
    let (name, _) = responses
        .get(&status)
        .unwrap_or_else(|| panic!("no AppError answers {status}"));
    json!({"$ref": format!("#/components/responses/{name}")})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_the_contract_is_answered() {
        let statuses: std::collections::BTreeSet<u16> =
            every_error().iter().map(AppError::status).collect();
        for s in [400, 401, 404, 405, 409, 412, 413, 422, 429, 503] {
            assert!(statuses.contains(&s), "{s}");
        }
    }
}
