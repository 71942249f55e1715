//! The API Gateway HTTP API (payload format 2.0) event the `api` handler receives: headers,
//! query, body, and the JWT authorizer's claims in the request context.

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::http::{HeaderMap, Method};
use base64::Engine;
use serde_json::{Value, json};

/// Builds the API Gateway HTTP API (payload format 2.0) event for a request.
pub fn apigw_event(
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    claims: Option<&[(String, String)]>,
) -> Value {
    let path = uri.path();
    let raw_query = uri.query().unwrap_or_default();
    let mut header_map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let v = String::from_utf8_lossy(value.as_bytes()).to_string();
        header_map
            .entry(name.as_str().to_string())
            .and_modify(|e| *e = format!("{e},{v}"))
            .or_insert(v);
    }
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    if let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(uri) {
        for (k, v) in pairs {
            query
                .entry(k)
                .and_modify(|e| *e = format!("{e},{v}"))
                .or_insert(v);
        }
    }
    let is_health = path == "/health";
    let route_key = if is_health {
        "GET /health".to_string()
    } else {
        "ANY /{proxy+}".to_string()
    };
    let now = chrono::Utc::now();
    let (body_text, is_base64) = match std::str::from_utf8(body) {
        Ok(t) => (t.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": header_map.get("host").cloned().unwrap_or_else(|| "127.0.0.1".into()),
        "domainPrefix": "local",
        "http": {
            "method": method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": header_map.get("user-agent").cloned().unwrap_or_default(),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    });
    if let Some(claims) = claims {
        let claims: serde_json::Map<String, Value> = claims
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        context["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": header_map,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    });
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !is_health {
        event["pathParameters"] = json!({"proxy": path.trim_start_matches('/')});
    }
    if !body.is_empty() {
        event["body"] = Value::String(body_text);
    }
    event
}
