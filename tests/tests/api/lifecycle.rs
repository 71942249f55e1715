//! Create, read, list and idempotent create: status, headers and bodies.

use super::*;

#[tokio::test]
async fn create_returns_201_with_location_etag_and_correlation() {
    let c = Client::new_user().await;
    let r = c
        .send(
            Method::POST,
            "/campaigns",
            Some(&campaign_body("step_by_step", 10)),
            &[("X-Correlation-Id", "test-corr-123")],
        )
        .await
        .expect(201);
    let id = r.body["id"].as_str().unwrap();
    assert_eq!(r.header("location").unwrap(), format!("/campaigns/{id}"));
    assert_eq!(r.header("etag").unwrap(), "\"1\"");
    assert_eq!(r.header("x-correlation-id").unwrap(), "test-corr-123");
    assert_eq!(r.body["correlationId"], "test-corr-123");
    assert_eq!(r.body["mode"], "step_by_step");
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["autoStart"]["status"], "not_requested");
    assert_eq!(phase(&r.body, "discovery")["status"], "not_started");
    assert!(
        r.body.get("ownerId").is_none(),
        "internal fields stay internal"
    );
    // mode defaults to step_by_step; config.discovery may be omitted (a draft)
    let draft = c
        .post("/campaigns", &json!({"name": "draft"}))
        .await
        .expect(201);
    assert_eq!(draft.body["mode"], "step_by_step");
    assert!(draft.body["config"]["discovery"].is_null());
    // an invalid correlation id is replaced by a generated one
    let r = c
        .send(
            Method::GET,
            "/campaigns",
            None,
            &[("X-Correlation-Id", "bad id with spaces")],
        )
        .await
        .expect(200);
    assert_ne!(r.header("x-correlation-id").unwrap(), "bad id with spaces");
}

#[tokio::test]
async fn get_etag_and_304() {
    let c = Client::new_user().await;
    let id = create(&c, "step_by_step", 10).await;
    let r = c.get(&format!("/campaigns/{id}")).await.expect(200);
    let etag = r.header("etag").unwrap();
    assert_eq!(etag, "\"1\"");
    c.send(
        Method::GET,
        &format!("/campaigns/{id}"),
        None,
        &[("If-None-Match", &etag)],
    )
    .await
    .expect(304);
    let s = c.get(&format!("/campaigns/{id}/status")).await.expect(200);
    assert_eq!(s.header("etag").unwrap(), etag);
    for key in [
        "campaignId",
        "mode",
        "version",
        "autoStart",
        "phases",
        "updatedAt",
    ] {
        assert!(s.body.get(key).is_some(), "status has {key}");
    }
    c.send(
        Method::GET,
        &format!("/campaigns/{id}/status"),
        None,
        &[("If-None-Match", &etag)],
    )
    .await
    .expect(304);
    c.send(
        Method::GET,
        &format!("/campaigns/{id}/status"),
        None,
        &[("If-None-Match", "\"999\"")],
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn list_is_newest_first_with_cursor_paging() {
    let c = Client::new_user().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create(&c, "step_by_step", 10).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cur) => format!("/campaigns?limit=2&cursor={cur}"),
            None => "/campaigns?limit=2".to_string(),
        };
        let page = c.get(&path).await.expect(200).body;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["nextCursor"].as_str() {
            Some(n) => cursor = Some(n.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    // another user's cursor is refused
    let other = Client::new_user().await;
    let first = c.get("/campaigns?limit=1").await.expect(200).body;
    let cur = first["nextCursor"].as_str().unwrap();
    other
        .get(&format!("/campaigns?cursor={cur}"))
        .await
        .expect_error(400, "BAD_REQUEST");
}

#[tokio::test]
async fn idempotent_create() {
    let c = Client::new_user().await;
    let body = campaign_body("step_by_step", 10);
    let key = uuid::Uuid::new_v4().to_string();
    let first = c
        .send(
            Method::POST,
            "/campaigns",
            Some(&body),
            &[("Idempotency-Key", &key)],
        )
        .await
        .expect(201);
    let again = c
        .send(
            Method::POST,
            "/campaigns",
            Some(&body),
            &[("Idempotency-Key", &key)],
        )
        .await
        .expect(201);
    assert_eq!(first.body["id"], again.body["id"]);
    assert_eq!(first.header("location"), again.header("location"));
    let mut other = body.clone();
    other["name"] = json!("another");
    c.send(
        Method::POST,
        "/campaigns",
        Some(&other),
        &[("Idempotency-Key", &key)],
    )
    .await
    .expect_error(422, "IDEMPOTENCY_KEY_REUSED");
    // another user may use the same key
    let d = Client::new_user().await;
    let theirs = d
        .send(
            Method::POST,
            "/campaigns",
            Some(&body),
            &[("Idempotency-Key", &key)],
        )
        .await
        .expect(201);
    assert_ne!(theirs.body["id"], first.body["id"]);
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // a burst of the same request (a double click): one campaign; the others replay or see 409
    let key2 = uuid::Uuid::new_v4().to_string();
    let headers = [("Idempotency-Key", key2.as_str())];
    let burst = (0..5).map(|_| c.send(Method::POST, "/campaigns", Some(&body), &headers));
    let results = futures_util::future::join_all(burst).await;
    let mut ids = HashSet::new();
    for r in &results {
        match r.status.as_u16() {
            201 => {
                ids.insert(r.body["id"].as_str().unwrap().to_string());
            }
            409 => assert_eq!(r.code(), "IDEMPOTENCY_IN_PROGRESS"),
            s => panic!("unexpected {s}: {}", r.body),
        }
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}
