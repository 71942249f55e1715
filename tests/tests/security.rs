//! Security checks on the local stack (issue 17.7): bad tokens on both APIs and every route, no
//! cross-user access through any route or subscription, resolvers in every blocked range refused,
//! oversized bodies and strings refused on every write route.

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Claims a valid local token has, with one field changed by `edit`.
fn token_with(edit: impl FnOnce(&mut Value)) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({"sub": "mallory", "iss": "campaign-autostart-local",
                            "aud": "campaign-autostart", "exp": now + 600});
    edit(&mut claims);
    sign(&claims, LOCAL_SECRET)
}

fn bad_tokens() -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    vec![
        (
            "wrong audience",
            token_with(|c| c["aud"] = json!("someone-else")),
        ),
        (
            "wrong issuer",
            token_with(|c| c["iss"] = json!("someone-else")),
        ),
        ("expired", token_with(|c| c["exp"] = json!(now - 5))),
        ("not yet valid", token_with(|c| c["nbf"] = json!(now + 600))),
        (
            "no sub",
            token_with(|c| {
                c.as_object_mut().unwrap().remove("sub");
            }),
        ),
        (
            "forged",
            sign(
                &json!({"sub": "mallory", "iss": "campaign-autostart-local", "aud": "campaign-autostart", "exp": now + 600}),
                "guess",
            ),
        ),
        (
            "alg none",
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtYWxsb3J5In0.".to_string(),
        ),
        ("garbage", "x.y.z".to_string()),
    ]
}

/// Every authenticated route (with ids that exist for `owner`).
fn routes(campaign: &str, persona: &str, proxy: &str) -> Vec<(Method, String)> {
    let c = format!("/campaigns/{campaign}");
    vec![
        (Method::GET, "/campaigns".into()),
        (Method::POST, "/campaigns".into()),
        (Method::GET, c.clone()),
        (Method::DELETE, c.clone()),
        (Method::GET, format!("{c}/status")),
        (Method::GET, format!("{c}/domains?include=results")),
        (Method::PUT, format!("{c}/config")),
        (Method::PUT, format!("{c}/mode")),
        (Method::POST, format!("{c}/phases/discovery/start")),
        (Method::POST, format!("{c}/phases/discovery/pause")),
        (Method::POST, format!("{c}/phases/discovery/resume")),
        (Method::POST, format!("{c}/phases/discovery/stop")),
        (Method::GET, "/personas".into()),
        (Method::POST, "/personas".into()),
        (Method::GET, format!("/personas/{persona}")),
        (Method::PATCH, format!("/personas/{persona}")),
        (Method::DELETE, format!("/personas/{persona}")),
        (Method::GET, "/proxies".into()),
        (Method::POST, "/proxies".into()),
        (Method::GET, format!("/proxies/{proxy}")),
        (Method::PATCH, format!("/proxies/{proxy}")),
        (Method::DELETE, format!("/proxies/{proxy}")),
    ]
}

async fn fixtures(c: &Client) -> (String, String, String) {
    let campaign = c.create_campaign(&campaign_body("step_by_step", 10)).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let persona = c
        .post(
            "/personas",
            &json!({"name": "p", "kind": "http", "config": {"userAgent": "ua"}}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let proxy = c
        .post("/proxies", &json!({"address": "http://127.0.0.1:3128"}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    (campaign, persona, proxy)
}

#[tokio::test]
async fn bad_tokens_are_refused_on_every_route_and_the_websocket() {
    let owner = Client::new_user().await;
    let (campaign, persona, proxy) = fixtures(&owner).await;
    for (what, token) in bad_tokens() {
        let client = Client::with_token(&token);
        for (method, path) in routes(&campaign, &persona, &proxy) {
            let r = client
                .send(method.clone(), &path, Some(&json!({})), &[])
                .await;
            assert_eq!(
                r.status.as_u16(),
                401,
                "{what}: {method} {path} → {} {}",
                r.status,
                r.body
            );
            assert_eq!(r.code(), "UNAUTHORIZED");
        }
        assert_eq!(
            Socket::open(Some(&token)).await.err(),
            Some(401),
            "{what}: WebSocket handshake"
        );
    }
    assert_eq!(Socket::open(None).await.err(), Some(401), "no token");
    // nothing was changed by any of them
    owner
        .get(&format!("/campaigns/{campaign}"))
        .await
        .expect(200);
}

#[tokio::test]
async fn another_user_reaches_nothing_through_any_route_or_subscription() {
    let owner = Client::new_user().await;
    let (campaign, persona, proxy) = fixtures(&owner).await;
    let other = Client::new_user().await;
    for (method, path) in routes(&campaign, &persona, &proxy) {
        if path == "/campaigns" || path == "/personas" || path == "/proxies" {
            continue;
        }
        let body = json!({"mode": "full_sequence", "name": "x", "enabled": false, "discovery": discovery(5)});
        let r = other.send(method.clone(), &path, Some(&body), &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (404, "NOT_FOUND"),
            "{method} {path}: {}",
            r.body
        );
    }
    // referencing someone else's persona or proxy is "not found" too
    let mut body = campaign_body("step_by_step", 5);
    body["config"]["personaIds"] = json!([persona]);
    body["config"]["proxyIds"] = json!([proxy]);
    let r = other
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"].as_array().unwrap().len(), 2);
    let mut socket = Socket::connect(&other).await;
    let answer = socket.subscribe(&campaign).await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some("NOT_FOUND"))
    );
    // and the owner's data is intact
    let s = owner
        .get(&format!("/campaigns/{campaign}"))
        .await
        .expect(200)
        .body;
    assert_eq!(s["mode"], "step_by_step");
}

#[tokio::test]
async fn resolvers_in_blocked_ranges_are_refused_at_config_time() {
    let c = Client::new_user().await;
    // 127.0.0.0/8 is allowed on the local stack (ALLOWED_PRIVATE_CIDRS); everything else private is not
    for addr in [
        "10.0.0.2:53",
        "172.16.5.5:53",
        "192.168.1.1:53",
        "169.254.169.254:53",
        "100.64.0.1:53",
        "0.0.0.0:53",
        "224.0.0.251:53",
        "240.0.0.1:53",
        "192.0.2.1:53",
        "[::1]:53",
        "[fd00::1]:53",
        "[fe80::1]:53",
        "[::ffff:10.0.0.1]:53",
        "[ff02::1]:53",
    ] {
        let r = c
            .post(
                "/personas",
                &json!({"name": "dns", "kind": "dns", "config": {"resolvers": [addr]}}),
            )
            .await
            .expect_error(422, "INVALID_CONFIG");
        assert_eq!(
            r.body["error"]["details"][0]["field"], "config.resolvers[0]",
            "{addr}: {}",
            r.body
        );
    }
    let ok = c
        .post("/personas", &json!({"name": "dns", "kind": "dns", "config": {"resolvers": ["127.0.0.1:53", "1.1.1.1:53"]}}))
        .await
        .expect(201);
    let id = ok.body["id"].as_str().unwrap();
    c.patch(
        &format!("/personas/{id}"),
        &json!({"config": {"resolvers": ["169.254.169.254:53"]}}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
}

#[tokio::test]
async fn oversized_bodies_and_strings_are_refused_on_every_write_route() {
    let c = Client::new_user().await;
    let (campaign, persona, proxy) = fixtures(&c).await;
    let huge = json!({"name": "x".repeat(70 * 1024)});
    for (method, path) in routes(&campaign, &persona, &proxy) {
        if matches!(method, Method::GET | Method::DELETE) {
            continue;
        }
        let r = c.send(method.clone(), &path, Some(&huge), &[]).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (413, "PAYLOAD_TOO_LARGE"),
            "{method} {path}"
        );
    }
    let long = "x".repeat(121);
    c.post("/campaigns", &json!({"name": long, "config": {}}))
        .await
        .expect_error(422, "INVALID_CONFIG");
    c.post(
        "/personas",
        &json!({"name": long, "kind": "dns", "config": {"resolvers": ["1.1.1.1:53"]}}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    let big_config: serde_json::Map<String, Value> = (0..400)
        .map(|i| (format!("k{i}"), json!("v".repeat(50))))
        .collect();
    c.post(
        "/personas",
        &json!({"name": "p", "kind": "http", "config": big_config}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["discovery"]["characterSet"] = json!("abcdefghijklmnopqrstuvwxyz0123456789-a");
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.discovery.characterSet"
    );
    let key = "k".repeat(256);
    c.send(
        Method::POST,
        "/campaigns",
        Some(&campaign_body("step_by_step", 1)),
        &[("Idempotency-Key", &key)],
    )
    .await
    .expect_error(400, "BAD_REQUEST");
}
