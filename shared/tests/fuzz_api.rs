//! Fuzzing the request parsers (issue 17.7) with proptest, on the in-memory backend: random
//! methods, paths (from the routes, with random segments), query strings, headers and bodies
//! (JSON built from the request shapes with random values, and arbitrary bytes) go through the
//! whole HTTP API as API Gateway would deliver them. Whatever comes in, the answer is never a
//! 5xx or a panic, always a JSON body, and every error body names its code and correlation id.
//! `make test` runs it briefly (`PROPTEST_CASES`, 256 by default).

use std::sync::OnceLock;

use campaign_shared::net::AddressPolicy;
use campaign_shared::{AppState, Settings};
use proptest::prelude::*;
use serde_json::{Value, json};

fn state() -> &'static AppState {
    static STATE: OnceLock<AppState> = OnceLock::new();
    STATE.get_or_init(|| AppState::in_memory(Settings::for_tests(), AddressPolicy::default()).0)
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    })
}

/// The API Gateway payload-v2 event of one request, with the caller's claims.
fn event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> String {
    let mut h = serde_json::Map::new();
    h.insert("content-type".into(), json!("application/json"));
    for (k, v) in headers {
        h.insert(k.to_lowercase(), json!(v));
    }
    json!({
        "version": "2.0", "routeKey": "ANY /{proxy+}", "rawPath": path, "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "fuzz", "domainName": "fuzz", "domainPrefix": "fuzz",
            "authorizer": {"jwt": {"claims": {"sub": "fuzzer", "iss": "i", "aud": "a"}, "scopes": null}},
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.1", "userAgent": "fuzz"},
            "requestId": "r", "routeKey": "ANY /{proxy+}", "stage": "$default", "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0
        },
        "body": body, "isBase64Encoded": false
    })
    .to_string()
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("campaigns".to_string()),
        Just("personas".to_string()),
        Just("proxies".to_string()),
        Just("phases".to_string()),
        Just("discovery".to_string()),
        Just("validation".to_string()),
        prop_oneof![
            Just("start"),
            Just("pause"),
            Just("resume"),
            Just("stop"),
            Just("config"),
            Just("mode"),
            Just("status"),
            Just("domains")
        ]
        .prop_map(str::to_string),
        Just("00000000-0000-0000-0000-000000000000".to_string()),
        "[a-z0-9%.-]{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,40}".prop_map(Value::from),
        prop_oneof![
            Just("prefix"),
            Just("suffix"),
            Just("both"),
            Just("full_sequence"),
            Just("step_by_step"),
            Just("dns"),
            Just("http"),
            Just("http://127.0.0.1:1")
        ]
        .prop_map(Value::from),
    ]
}

/// Bodies shaped like the API's requests, with random values in every field.
fn config() -> impl Strategy<Value = Value> {
    let discovery = prop::collection::btree_map(
        prop_oneof![
            Just("patternType"),
            Just("constantString"),
            Just("variableLength"),
            Just("characterSet"),
            Just("tlds"),
            Just("numDomains")
        ]
        .prop_map(str::to_string),
        prop_oneof![
            scalar(),
            prop::collection::vec(scalar(), 0..4).prop_map(Value::from)
        ],
        0..7,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()));
    (
        discovery,
        prop::collection::vec(scalar(), 0..3),
        any::<bool>(),
    )
        .prop_map(|(d, ids, with_ids)| {
            let mut c = json!({"discovery": d});
            if with_ids {
                c["personaIds"] = Value::from(ids);
            }
            c
        })
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        (scalar(), scalar(), config())
            .prop_map(|(name, mode, config)| json!({"name": name, "mode": mode, "config": config})),
        config(),
        (scalar(), scalar(), scalar()).prop_map(
            |(name, kind, c)| json!({"name": name, "kind": kind, "config": {"resolvers": [c]}})
        ),
        (scalar(), scalar())
            .prop_map(|(address, enabled)| json!({"address": address, "enabled": enabled})),
        scalar().prop_map(|mode| json!({"mode": mode})),
        scalar(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256), ..ProptestConfig::default() })]

    #[test]
    fn no_request_gets_a_5xx_or_a_malformed_answer(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("PATCH"), Just("DELETE"), Just("OPTIONS")],
        segments in prop::collection::vec(segment(), 0..6),
        query in "[a-z=&0-9%]{0,20}",
        json_body in body(),
        raw in prop::option::of("\\PC{0,60}"),
        if_match in prop::option::of("\\PC{0,12}"),
        key in prop::option::of("[ -~]{0,20}"),
    ) {
        let path = format!("/{}", segments.join("/"));
        let body = raw.unwrap_or_else(|| json_body.to_string());
        let mut headers = Vec::new();
        if let Some(v) = if_match { headers.push(("if-match".to_string(), v)); }
        if let Some(k) = key { headers.push(("idempotency-key".to_string(), k)); }
        let Ok(req) = lambda_http::request::from_str(&event(method, &path, &query, &headers, Some(&body))) else {
            return Ok(()); // API Gateway would not deliver it
        };
        let response = runtime().block_on(campaign_shared::api::handle(state(), req));
        let status = response.status().as_u16();
        prop_assert!(status < 500, "{method} {path}?{query} {body:?} → {status}: {:?}", response.body());
        if let lambda_http::Body::Text(text) = response.body() {
            let value: Value = serde_json::from_str(text).map_err(|e| TestCaseError::fail(format!("not JSON: {e}: {text}")))?;
            if status >= 400 {
                prop_assert!(value["error"]["code"].is_string(), "{text}");
                prop_assert!(value["error"]["correlationId"].is_string(), "{text}");
            }
        }
        prop_assert!(response.headers().contains_key("x-correlation-id"));
    }
}
