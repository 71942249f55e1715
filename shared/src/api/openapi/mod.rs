//! The OpenAPI 3.1 document of the HTTP API (`docs/openapi.json`), generated: the schemas are the
//! API types' own (`#[derive(utoipa::ToSchema)]` on the views, inputs and errors), the phase
//! enum, the configuration sections, the per-domain results and the `?status=` values follow
//! `PIPELINE` and the phase modules, the error answers come from `AppError`; this module adds
//! what a type cannot say (routes, parameters, headers, examples, links).
//!
//! - [`schemas`]: `components.schemas`; [`phases`]: what each phase adds to them;
//! - [`errors`]: the error bodies and answers; [`params`]: parameters and headers;
//! - [`paths`]: the operations.
//!
//! Invariants: the output is deterministic (sorted keys); every object a response can contain
//! is closed (`additionalProperties: false`, so schemathesis catches a field the document does
//! not list), request bodies stay open (the server ignores unknown fields).
//!
//! `shared/tests/openapi.rs` fails when the committed `docs/openapi.json` differs from
//! [`to_json`]; `UPDATE_OPENAPI=1 cargo test -p campaign-shared --test openapi` rewrites it
//! (then `npm --prefix web run gen:api` regenerates the wizard's `web/src/api/schema.ts`; `make
//! openapi` does both).

mod errors;
mod params;
mod paths;
mod phases;
mod schemas;

use serde_json::{Map, Value, json};

/// The document.
pub fn document() -> Value {
    let mut s = schemas::Schemas::default();
    let refs = schemas::all(&mut s);
    let errors = errors::responses(&mut s);
    let paths = paths::paths(&refs, &errors);
    let mut responses: Map<String, Value> = errors.into_values().collect();
    responses.insert(
        "NotModified".into(),
        json!({
            "description": "304: the `If-None-Match` ETag is current; no body",
            "headers": {
                "ETag": {"$ref": "#/components/headers/ETag"},
                "X-Correlation-Id": {"$ref": "#/components/headers/XCorrelationId"}
            }
        }),
    );
    responses.insert(
        "NoContent".into(),
        json!({
            "description": "204: deleted; no body",
            "headers": {"X-Correlation-Id": {"$ref": "#/components/headers/XCorrelationId"}}
        }),
    );
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Campaign Auto-Start API",
            "version": "1.0.0",
            "description": "The HTTP API as `shared/src/api` serves it, generated from its Rust types by `shared/src/api/openapi` (schema names are the Rust type names); the contract is shared/spec/API.md, the choices where it was silent are docs/DECISIONS.md. JSON in and out, camelCase fields, RFC 3339 UTC times, UUID ids. Every response carries `X-Correlation-Id`. Every route but `GET /health` needs a bearer JWT (the caller is its `sub`); a campaign, persona or proxy of someone else is answered exactly like a missing one (404). A path that is not listed here is answered 404 `NOT_FOUND` (\"route not found\"); a listed path with a method it does not list is answered 405 `METHOD_NOT_ALLOWED` (components.responses.MethodNotAllowed). A request body over 64 KiB is answered 413 `PAYLOAD_TOO_LARGE`. Kept honest by tests/tests/openapi.rs (every route here is served, nothing else is) and scripts/schemathesis.sh (responses match these schemas)."
        },
        "servers": [{"url": "http://127.0.0.1:3000", "description": "the local stack (CAMPAIGN_API_URL)"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": "health"}, {"name": "campaigns"}, {"name": "personas"}, {"name": "proxies"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "In AWS the HTTP API JWT authorizer; locally HS256 with `LOCAL_JWT_SECRET`, iss `campaign-autostart-local`, aud `campaign-autostart`, `exp` and `sub` required (a dev token: `POST /_local/token {\"sub\": \"…\"}`)."
                }
            },
            "schemas": s.0,
            "parameters": params::parameters(),
            "headers": params::headers(),
            "responses": responses
        }
    });
    close_responses(&mut doc);
    doc
}

/// The document as committed: pretty JSON with a final newline.
pub fn to_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("the document serializes");
    text.push('\n');
    text
}

/// Sets `additionalProperties: false` on every object schema a response body can contain (the
/// named schemas reachable from a response, and the inline objects in them), unless it says
/// otherwise. Objects under `allOf` are left open (closing one part would reject the others').
fn close_responses(doc: &mut Value) {
    let mut names = Vec::new();
    let mut roots = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            for response in op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
            {
                roots.push(response.clone());
            }
        }
    }
    roots.extend(
        doc["components"]["responses"]
            .as_object()
            .into_iter()
            .flat_map(|r| r.values().cloned()),
    );
    for root in &roots {
        refs(&root["content"], &mut names);
    }
    let schemas = doc["components"]["schemas"].clone();
    let mut i = 0;
    while i < names.len() {
        let name = names[i].clone();
        refs(&schemas[&name], &mut names);
        i += 1;
    }
    for name in names {
        if let Some(schema) = doc["components"]["schemas"].get_mut(&name) {
            close(schema);
        }
    }
}

/// The schema names `value` refers to (not through `allOf`), added to `names` once each.
fn refs(value: &Value, names: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) = map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_string());
            }
            for (key, v) in map {
                if key != "allOf" {
                    refs(v, names);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| refs(v, names)),
        _ => {}
    }
}

fn close(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (key, v) in map.iter_mut() {
                if key != "allOf" {
                    close(v);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(close),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        out.push(v);
        match v {
            Value::Object(m) => m.values().for_each(|x| walk(x, out)),
            Value::Array(l) => l.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut nodes = Vec::new();
        walk(&doc, &mut nodes);
        for node in nodes {
            if let Some(r) = node.get("$ref").and_then(Value::as_str) {
                let pointer = r.strip_prefix('#').expect("only local references");
                assert!(doc.pointer(pointer).is_some(), "dangling {r}");
            }
        }
    }

    #[test]
    fn every_link_names_an_operation_and_its_path_parameters() {
        let doc = document();
        let mut operations = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if method != "parameters" {
                    operations.insert(op["operationId"].as_str().unwrap(), path.clone());
                }
            }
        }
        let mut nodes = Vec::new();
        walk(&doc["paths"], &mut nodes);
        let links = nodes
            .iter()
            .filter_map(|n| n.get("links"))
            .flat_map(|l| l.as_object().unwrap().values());
        let mut count = 0;
        for link in links {
            let target = link["operationId"].as_str().unwrap();
            let path = operations
                .get(target)
                .unwrap_or_else(|| panic!("link to unknown {target}"));
            for name in link["parameters"].as_object().unwrap().keys() {
                assert!(
                    path.contains(&format!("{{{name}}}")),
                    "{target} has no path parameter {name}"
                );
            }
            count += 1;
        }
        assert!(count >= 20, "only {count} links");
    }

    #[test]
    fn response_objects_are_closed_and_request_bodies_open() {
        let doc = document();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["CampaignView"]["additionalProperties"], false);
        assert_eq!(
            schemas["DomainItem"]["properties"]["dns"]["additionalProperties"],
            false
        );
        assert_eq!(
            schemas["Error409"]["properties"]["error"]["additionalProperties"],
            false
        );
        assert!(
            schemas["CreateCampaignInput"]
                .get("additionalProperties")
                .is_none()
        );
        assert!(
            schemas["DiscoveryInput"]
                .get("additionalProperties")
                .is_none()
        );
    }
}
