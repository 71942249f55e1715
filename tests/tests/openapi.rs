//! docs/openapi.json and the router agree, against the running local stack: every operation the
//! document lists is served (with real ids it is never a routing miss — 404 "route not found"
//! or 405 — and answers a status the document lists for it), and every method or path it does
//! not list is a routing miss. A route added to the code without the document, or documented but
//! not served, fails here. (scripts/schemathesis.sh checks the bodies against the schemas.)

use std::collections::BTreeSet;

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// Follows a local `$ref` (`#/components/...`), once or more.
fn resolve<'a>(spec: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let pointer = r.strip_prefix('#').expect("only local $refs");
        node = spec
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling $ref {r}"));
    }
    node
}

/// The documented operations: (method, path template, operation object, path-level parameters).
fn operations(spec: &Value) -> Vec<(Method, String, &Value, &Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (key, op) in item.as_object().expect("path item") {
            if let Ok(method) = key.to_uppercase().parse::<Method>()
                && METHODS.contains(&method.as_str())
            {
                out.push((method, path.clone(), op, &item["parameters"]));
            }
        }
    }
    out
}

/// The values to try for a path parameter: its enum, or the id of the resource the path is under.
fn path_values(spec: &Value, path: &str, params: &[&Value], name: &str, ids: &Ids) -> Vec<String> {
    let param = params
        .iter()
        .map(|p| resolve(spec, p))
        .find(|p| p["in"] == "path" && p["name"] == name)
        .unwrap_or_else(|| panic!("{path}: path parameter {{{name}}} is not declared"));
    let schema = resolve(spec, &param["schema"]);
    if let Some(values) = schema["enum"].as_array() {
        return values
            .iter()
            .map(|v| v.as_str().expect("string enum").to_string())
            .collect();
    }
    let id = match path.split('/').nth(1) {
        Some("campaigns") => &ids.campaign,
        Some("personas") => &ids.persona,
        Some("proxies") => &ids.proxy,
        other => panic!("{path}: no test id for a path under {other:?}"),
    };
    vec![id.clone()]
}

/// Every concrete path for a template: each `{param}` replaced by each of its values.
fn expand(spec: &Value, path: &str, params: &[&Value], ids: &Ids) -> Vec<String> {
    let mut paths = vec![String::new()];
    for segment in path.split('/').skip(1) {
        let values = match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => path_values(spec, path, params, name, ids),
            None => vec![segment.to_string()],
        };
        paths = paths
            .iter()
            .flat_map(|p| values.iter().map(move |v| format!("{p}/{v}")))
            .collect();
    }
    paths
}

/// The documented example of the operation's JSON request body (`{}` when it has none).
fn example_body(spec: &Value, op: &Value) -> Option<Value> {
    let body = resolve(spec, op.get("requestBody")?);
    let media = &body["content"]["application/json"];
    let schema = resolve(spec, &media["schema"]);
    Some(
        media
            .get("example")
            .or_else(|| schema.get("example"))
            .cloned()
            .unwrap_or_else(|| json!({})),
    )
}

struct Ids {
    campaign: String,
    persona: String,
    proxy: String,
}

fn routing_miss(r: &Reply) -> bool {
    r.status == 405 || (r.status == 404 && r.body["error"]["message"] == "route not found")
}

async fn fixtures(c: &Client) -> Ids {
    let campaign = c.create_campaign(&campaign_body("step_by_step", 10)).await;
    let persona = c
        .post(
            "/personas",
            &json!({"name": "openapi", "kind": "http", "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body;
    let proxy = c
        .post("/proxies", &json!({"address": "http://127.0.0.1:8080"}))
        .await
        .expect(201)
        .body;
    Ids {
        campaign: campaign["id"].as_str().unwrap().to_string(),
        persona: persona["id"].as_str().unwrap().to_string(),
        proxy: proxy["id"].as_str().unwrap().to_string(),
    }
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else() {
    let spec = spec();
    let c = Client::new_user().await;
    let ids = fixtures(&c).await;
    let ops = operations(&spec);
    assert!(ops.len() >= 20, "only {} operations documented", ops.len());
    let mut problems = Vec::new();

    // Not documented (first, while every resource exists): the other methods of every
    // documented path, and paths that are not there.
    let campaign = &ids.campaign;
    let mut misses: Vec<(Method, String)> = Vec::new();
    for (template, item) in spec["paths"].as_object().unwrap() {
        let mut all_params: Vec<&Value> = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        for op in item.as_object().unwrap().values() {
            all_params.extend(op["parameters"].as_array().into_iter().flatten());
        }
        for method in METHODS {
            if item.get(method.to_lowercase()).is_none() {
                for path in expand(&spec, template, &all_params, &ids) {
                    misses.push((method.parse().unwrap(), path));
                }
            }
        }
    }
    for (method, path) in [
        ("GET", "/".to_string()),
        ("GET", "/nope".to_string()),
        ("GET", "/health/nope".to_string()),
        ("GET", "/campaign".to_string()),
        ("GET", format!("/campaigns/{campaign}/nope")),
        ("GET", format!("/campaigns/{campaign}/phases")),
        ("GET", format!("/campaigns/{campaign}/phases/discovery")),
        (
            "POST",
            format!("/campaigns/{campaign}/phases/discovery/restart"),
        ),
        ("GET", format!("/campaigns/{campaign}/config/extra")),
        ("GET", format!("/personas/{}/config", ids.persona)),
        ("DELETE", format!("/proxies/{}/enabled", ids.proxy)),
    ] {
        misses.push((method.parse().unwrap(), path));
    }
    for (method, path) in misses {
        let r = c.send(method.clone(), &path, Some(&json!({})), &[]).await;
        if !routing_miss(&r) {
            problems.push(format!(
                "{method} {path} is not in docs/openapi.json but answered {} {}",
                r.status, r.body
            ));
        }
    }

    // Documented: never a routing miss, always a documented status. Deletes last, so that the
    // other operations still find the resources.
    let mut ordered: Vec<_> = ops.iter().collect();
    ordered.sort_by_key(|(m, p, _, _)| (*m == Method::DELETE, p.clone()));
    for (method, template, op, path_params) in ordered {
        let mut params: Vec<&Value> = Vec::new();
        for list in [*path_params, &op["parameters"]] {
            params.extend(list.as_array().into_iter().flatten());
        }
        let documented: BTreeSet<&str> = op["responses"]
            .as_object()
            .expect("responses")
            .keys()
            .map(String::as_str)
            .collect();
        let public = op["security"].as_array().is_some_and(Vec::is_empty);
        let client = if public {
            Client::anonymous()
        } else {
            c.clone()
        };
        let body = example_body(&spec, op);
        for path in expand(&spec, template, &params, &ids) {
            let r = client.send(method.clone(), &path, body.as_ref(), &[]).await;
            let what = format!("{method} {path} (documented as {method} {template})");
            if routing_miss(&r) {
                problems.push(format!("{what}: routing miss {} {}", r.status, r.body));
            } else if !documented.contains(r.status.as_str()) {
                problems.push(format!(
                    "{what}: {} is not among the documented {documented:?}; body {}",
                    r.status, r.body
                ));
            } else if r.status.is_server_error() || r.status == 401 {
                problems.push(format!("{what}: {} {}", r.status, r.body));
            }
            if r.header("x-correlation-id").is_none() {
                problems.push(format!("{what}: no X-Correlation-Id"));
            }
        }
    }

    assert!(
        problems.is_empty(),
        "docs/openapi.json and the router disagree:\n  {}",
        problems.join("\n  ")
    );
}

/// The document's phase enum is the pipeline: every campaign lists each phase exactly once.
#[tokio::test]
async fn documented_phases_are_the_pipeline() {
    let spec = spec();
    let documented: BTreeSet<String> = spec["components"]["schemas"]["PhaseName"]["enum"]
        .as_array()
        .expect("PhaseName enum")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let c = Client::new_user().await;
    let campaign = c.create_campaign(&campaign_body("step_by_step", 10)).await;
    let served: BTreeSet<String> = campaign["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(documented, served, "PhaseName in docs/openapi.json");
    let id = campaign["id"].as_str().unwrap();
    c.post(&format!("/campaigns/{id}/phases/nope/start"), &json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
}
