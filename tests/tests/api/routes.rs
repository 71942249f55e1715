//! Personas and proxies, unknown routes, domain paging, CORS and 405.

use super::*;

#[tokio::test]
async fn personas_and_proxies_crud() {
    let c = Client::new_user().await;
    let p = c
        .post(
            "/personas",
            &json!({"name": "resolver", "kind": "dns", "config": {"resolvers": ["127.0.0.1:53"]}}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(p["enabled"], true);
    assert_eq!(p["kind"], "dns");
    let pid = p["id"].as_str().unwrap();
    c.post("/personas", &json!({"name": "x", "kind": "smtp"}))
        .await
        .expect_error(400, "BAD_REQUEST");
    let r = c
        .post("/personas", &json!({"name": ""}))
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"].as_array().unwrap().len(), 2);
    let patched = c
        .patch(
            &format!("/personas/{pid}"),
            &json!({"enabled": false, "name": "renamed"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["name"], "renamed");
    assert_eq!(
        c.get("/personas").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let x = c
        .post(
            "/proxies",
            &json!({"address": "socks5://proxy.local:1080", "enabled": false}),
        )
        .await
        .expect(201)
        .body;
    let xid = x["id"].as_str().unwrap();
    assert_eq!(x["enabled"], false);
    let r = c
        .post("/proxies", &json!({"address": "ftp://nope"}))
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"][0]["field"], "address");
    c.patch(
        &format!("/proxies/{xid}"),
        &json!({"address": "http://x:99999"}),
    )
    .await
    .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        c.patch(&format!("/proxies/{xid}"), &json!({"enabled": true}))
            .await
            .expect(200)
            .body["enabled"],
        true
    );

    // referenced → 409 RESOURCE_IN_USE; after the campaign is gone → 204
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["proxyIds"] = json!([xid]);
    body["config"]["personaIds"] = json!([pid]);
    let cid = c.create_campaign(&body).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.delete(&format!("/proxies/{xid}"))
        .await
        .expect_error(409, "RESOURCE_IN_USE");
    c.delete(&format!("/personas/{pid}"))
        .await
        .expect_error(409, "RESOURCE_IN_USE");
    c.delete(&format!("/campaigns/{cid}")).await.expect(204);
    c.delete(&format!("/proxies/{xid}")).await.expect(204);
    c.delete(&format!("/personas/{pid}")).await.expect(204);
    c.get(&format!("/proxies/{xid}"))
        .await
        .expect_error(404, "NOT_FOUND");
    c.get(&format!("/personas/{pid}"))
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn unknown_routes_and_odd_ids_are_404() {
    let c = Client::new_user().await;
    for path in [
        "/nope",
        "/campaigns/not-a-uuid",
        "/campaigns/..%2F..%2Fetc%2Fpasswd",
        "/campaigns/%00",
        "/personas/a/b/c",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status.as_u16(), 404, "{path}: {}", r.body);
    }
    let missing = uuid::Uuid::new_v4();
    c.get(&format!("/campaigns/{missing}"))
        .await
        .expect_error(404, "NOT_FOUND");
    c.post(
        &format!("/campaigns/{missing}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
    let r = c.send(Method::PATCH, "/campaigns", None, &[]).await;
    assert_eq!(r.status.as_u16(), 405);
}

#[tokio::test]
async fn domains_page_through_exactly_num_domains() {
    let c = Client::new_user().await;
    let n = 2_345u64;
    let id = create(&c, "step_by_step", n).await;
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, Duration::from_secs(20), |s| {
        phase(s, "discovery")["status"] == "completed"
    })
    .await;
    let all = c.all_domains(&id).await;
    assert_eq!(all.len() as u64, n);
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len() as u64,
        n,
        "all distinct"
    );
    assert_eq!(all[0], "aaashop.com");
    assert_eq!(all[1], "aaashop.net");
}

#[tokio::test]
async fn cors_preflight_is_answered_for_every_path() {
    for path in [
        "/campaigns",
        "/campaigns/x/mode",
        "/_local/token",
        "/health",
    ] {
        let res = reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}{path}", api_url()))
            .header("Origin", "http://127.0.0.1:8080")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type,idempotency-key",
            )
            .send()
            .await
            .expect("preflight");
        assert_eq!(res.status().as_u16(), 204, "{path}");
        let allow = res
            .headers()
            .get("access-control-allow-headers")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            allow.contains("idempotency-key") && allow.contains("authorization"),
            "{path}: {allow}"
        );
    }
}

#[tokio::test]
async fn a_persona_config_round_trips_exactly_and_405_says_what_is_allowed() {
    let c = Client::new_user().await;
    let config = json!({
        "userAgent": "Bot/1.0 (ünïcödé; +https://example.com/bot)",
        "headers": {"Accept-Language": "de-CH, fr;q=0.8", "X-Empty": ""},
        "scheme": "http", "port": 8080, "timeoutMs": 100, "concurrency": 128,
        "rateLimitPerSecond": 1000, "maxBodyBytes": 1048576, "followRedirects": 0
    });
    let p = c
        .post(
            "/personas",
            &json!({"name": "odd", "kind": "http", "config": config}),
        )
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().unwrap();
    assert_eq!(p["config"], config);
    assert_eq!(
        c.get(&format!("/personas/{id}")).await.expect(200).body["config"],
        config
    );
    assert_eq!(
        c.get("/personas").await.expect(200).body["items"][0]["config"],
        config
    );
    let r = c.send(Method::PATCH, "/campaigns", None, &[]).await;
    assert_eq!(r.status.as_u16(), 405);
    assert_eq!(r.code(), "METHOD_NOT_ALLOWED");
    assert_eq!(r.header("allow").as_deref(), Some("GET, POST"));
}
