//! `components.parameters` and `components.headers`: what the routes read from the path, the
//! query and the request headers (`api::http`), and the headers they answer with.

use serde_json::{Value, json};

use super::schemas::reference;
use crate::service::domains::known_statuses;

/// Page sizes: `limit_param(req, default, max)` of the listings.
const LIST_LIMIT: (u32, u32) = (20, 100);
const DOMAIN_LIMIT: (u32, u32) = (100, 1000);

fn id(what: &str) -> Value {
    json!({
        "name": "id", "in": "path", "required": true,
        "schema": {"type": "string", "format": "uuid"},
        "description": format!("a {what} id; anything that is not a UUID is answered 404")
    })
}

fn limit((default, max): (u32, u32)) -> Value {
    json!({
        "name": "limit", "in": "query", "required": false,
        "schema": {"type": "integer", "minimum": 1, "maximum": max, "default": default},
        "description": format!("page size; outside 1–{max} → 400")
    })
}

pub fn parameters() -> Value {
    json!({
        "CampaignId": id("campaign"),
        "PersonaId": id("persona"),
        "ProxyId": id("proxy"),
        "Phase": {
            "name": "phase", "in": "path", "required": true,
            "schema": reference("PhaseName"),
            "description": "an unknown phase is answered 404"
        },
        "Limit100": limit(LIST_LIMIT),
        "DomainLimit": limit(DOMAIN_LIMIT),
        "Cursor": {
            "name": "cursor", "in": "query", "required": false, "schema": {"type": "string"},
            "description": "the `nextCursor` of the previous page; an invalid or someone else's cursor → 400"
        },
        "DomainCursor": {
            "name": "cursor", "in": "query", "required": false,
            "schema": {"type": "string", "pattern": "^[0-9]{1,19}$"},
            "description": "the `nextCursor` of the previous page (a domain index); not a number → 400"
        },
        "DomainStatus": {
            "name": "status", "in": "query", "required": false,
            "schema": {"type": "string", "enum": known_statuses()},
            "description": "only domains whose result from the latest phase that ran (and knows the status) has this status; `pending`: no result from it yet. Items become objects. Another value → 400"
        },
        "Include": {
            "name": "include", "in": "query", "required": false,
            "schema": {"type": "string", "enum": ["results"]},
            "description": "`results`: items become objects with every phase's result so far; another value → 400"
        },
        "XCorrelationId": {
            "name": "X-Correlation-Id", "in": "header", "required": false,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"},
            "description": "echoed in the response (and stored on a created campaign); another value is replaced by a new UUID"
        },
        "IdempotencyKey": {
            "name": "Idempotency-Key", "in": "header", "required": false,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
            "description": "same key + same body within 24 h → the same 201 (with `Idempotent-Replayed: true`); same key + another body → 422 `IDEMPOTENCY_KEY_REUSED`; first request still running → 409 `IDEMPOTENCY_IN_PROGRESS`; an empty or over-255-character key → 400"
        },
        "IfMatch": {
            "name": "If-Match", "in": "header", "required": false,
            "schema": {"type": "string", "pattern": "^(\\*|(W/)?\"[0-9]{1,19}\"|[0-9]{1,19})$"},
            "description": "`\"<version>\"` (also `W/\"3\"`, `3`, or `*` for any): a stale version → 412 `VERSION_MISMATCH`"
        },
        "IfNoneMatch": {
            "name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"},
            "description": "the ETag of the last answer (a list, or `*`): still current → 304 with no body"
        }
    })
}

pub fn headers() -> Value {
    json!({
        "XCorrelationId": {
            "description": "the request's X-Correlation-Id when it is 1–128 characters of `[A-Za-z0-9._:-]`, otherwise a new UUID",
            "required": true,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,128}$"}
        },
        "ETag": {
            "description": "the campaign's version, quoted",
            "required": true,
            "schema": {"type": "string", "pattern": "^\"[0-9]+\"$"},
            "example": "\"3\""
        },
        "Location": {
            "description": "the new campaign's path",
            "required": true,
            "schema": {"type": "string", "pattern": "^/campaigns/[0-9a-f-]{36}$"}
        },
        "IdempotentReplayed": {
            "description": "`true` when this is the stored response of an earlier request with the same Idempotency-Key and body",
            "required": false,
            "schema": {"type": "string", "enum": ["true"]}
        }
    })
}
