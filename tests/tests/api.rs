//! The HTTP API contract (API.md) against the running local stack: every route, status and
//! error code, auth, owner isolation, idempotency and optimistic concurrency.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn create(c: &Client, mode: &str, n: u64) -> String {
    c.create_campaign(&campaign_body(mode, n)).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn health_needs_no_token() {
    let r = Client::anonymous().get("/health").await.expect(200);
    assert_eq!(r.body, json!({"status": "ok"}));
    assert!(r.header("x-correlation-id").is_some());
}

#[tokio::test]
async fn missing_bad_expired_and_forged_tokens_get_401() {
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": "mallory", "iss": "campaign-autostart-local", "aud": "campaign-autostart", "exp": now + 600});
    let mut expired = good.clone();
    expired["exp"] = json!(now - 10);
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("someone-else");
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    // alg "none": header {"alg":"none"} with no signature
    let none_alg = format!(
        "{}.{}.",
        base64url(br#"{"alg":"none","typ":"JWT"}"#),
        base64url(good.to_string().as_bytes())
    );
    let tokens = vec![
        sign(&good, "wrong-secret"),
        sign(&expired, LOCAL_SECRET),
        sign(&wrong_iss, LOCAL_SECRET),
        sign(&no_sub, LOCAL_SECRET),
        none_alg,
        "not-a-jwt".to_string(),
    ];
    let r = Client::anonymous().get("/campaigns").await;
    r.expect_error(401, "UNAUTHORIZED");
    for t in tokens {
        let r = Client::with_token(&t).get("/campaigns").await;
        assert!(r.body["error"]["correlationId"].is_string());
        r.expect_error(401, "UNAUTHORIZED");
    }
    // the same claims, properly signed, are accepted
    Client::with_token(&sign(&good, LOCAL_SECRET))
        .get("/campaigns")
        .await
        .expect(200);
}

fn base64url(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

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
async fn another_users_resources_are_404_everywhere() {
    let alice = Client::new_user().await;
    let bob = Client::new_user().await;
    let id = create(&alice, "step_by_step", 10).await;
    let persona = alice
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
    let proxy = alice
        .post("/proxies", &json!({"address": "http://10.0.0.1:8080"}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cid = format!("/campaigns/{id}");
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, cid.clone(), None),
        (Method::GET, format!("{cid}/status"), None),
        (Method::GET, format!("{cid}/domains"), None),
        (
            Method::PUT,
            format!("{cid}/mode"),
            Some(json!({"mode": "full_sequence"})),
        ),
        (
            Method::PUT,
            format!("{cid}/config"),
            Some(json!({"personaIds": []})),
        ),
        (Method::POST, format!("{cid}/phases/discovery/start"), None),
        (Method::DELETE, cid.clone(), None),
        (Method::GET, format!("/personas/{persona}"), None),
        (
            Method::PATCH,
            format!("/personas/{persona}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/personas/{persona}"), None),
        (Method::GET, format!("/proxies/{proxy}"), None),
        (
            Method::PATCH,
            format!("/proxies/{proxy}"),
            Some(json!({"enabled": false})),
        ),
        (Method::DELETE, format!("/proxies/{proxy}"), None),
    ];
    for (m, path, body) in attempts {
        let r = bob.send(m.clone(), &path, body.as_ref(), &[]).await;
        assert_eq!(r.status.as_u16(), 404, "{m} {path}: {}", r.body);
        assert_eq!(r.code(), "NOT_FOUND");
    }
    // bob cannot reference alice's persona either
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["personaIds"] = json!([persona]);
    let r = bob
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.personaIds[0]"
    );
    // and lists are per owner
    assert_eq!(
        bob.get("/campaigns").await.expect(200).body["items"],
        json!([])
    );
    assert_eq!(
        bob.get("/personas").await.expect(200).body["items"],
        json!([])
    );
    // nothing changed for alice
    let a = alice.get(&cid).await.expect(200);
    assert_eq!(a.body["version"], 1);
    assert_eq!(
        alice
            .get(&format!("/personas/{persona}"))
            .await
            .expect(200)
            .body["enabled"],
        true
    );
}

#[tokio::test]
async fn malformed_bodies_get_400_with_the_field() {
    let c = Client::new_user().await;
    let r = c
        .raw(
            Method::POST,
            "/campaigns",
            b"{not json".to_vec(),
            &[("content-type", "application/json")],
        )
        .await;
    r.expect_error(400, "BAD_REQUEST");
    let r = c
        .post("/campaigns", &json!({"name": 42}))
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(r.body["error"]["details"][0]["field"], "name");
    let r = c
        .post("/campaigns", &json!({"name": "x", "mode": "turbo"}))
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(r.body["error"]["details"][0]["field"], "mode");
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["discovery"]["patternType"] = json!("middle");
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(400, "BAD_REQUEST");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.discovery.patternType"
    );
    c.post("/campaigns", &json!([1, 2]))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.raw(Method::POST, "/campaigns", Vec::new(), &[])
        .await
        .expect_error(400, "BAD_REQUEST");
    // deeply nested JSON is refused, not a crash
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    c.raw(Method::POST, "/campaigns", deep.into_bytes(), &[])
        .await
        .expect_error(400, "BAD_REQUEST");
    let id = create(&c, "step_by_step", 10).await;
    c.put(&format!("/campaigns/{id}/mode"), &json!({"mode": "fast"}))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.put(&format!("/campaigns/{id}/mode"), &json!({}))
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?limit=0")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?limit=101")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get("/campaigns?cursor=garbage")
        .await
        .expect_error(400, "BAD_REQUEST");
    c.get(&format!("/campaigns/{id}/domains?cursor=x"))
        .await
        .expect_error(400, "BAD_REQUEST");
    // nothing was half-written by any of this
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn bodies_over_64_kib_get_413() {
    let c = Client::new_user().await;
    let big = json!({"name": "x".repeat(65 * 1024)});
    c.post("/campaigns", &big)
        .await
        .expect_error(413, "PAYLOAD_TOO_LARGE");
    let id = create(&c, "step_by_step", 10).await;
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"personaIds": [], "pad": "y".repeat(65 * 1024)}),
    )
    .await
    .expect_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn invalid_config_lists_every_bad_field() {
    let c = Client::new_user().await;
    let body = json!({
        "name": "",
        "config": {
            "discovery": {
                "patternType": "prefix",
                "constantString": "Shop!",
                "variableLength": 13,
                "characterSet": "a",
                "tlds": ["com", ".net", ".net"],
                "numDomains": 0
            },
            "proxyIds": [uuid::Uuid::new_v4()]
        }
    });
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    let fields: HashSet<String> = r.body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_string())
        .collect();
    for f in [
        "name",
        "config.discovery.constantString",
        "config.discovery.variableLength",
        "config.discovery.characterSet",
        "config.discovery.tlds[0]",
        "config.discovery.tlds[2]",
        "config.discovery.numDomains",
        "config.proxyIds[0]",
    ] {
        assert!(fields.contains(f), "{f} missing in {fields:?}");
    }
    // more domains than the pattern can make
    let mut body = campaign_body("step_by_step", 10);
    body["config"]["discovery"]["variableLength"] = json!(1);
    body["config"]["discovery"]["numDomains"] = json!(73);
    let r = c
        .post("/campaigns", &body)
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(
        r.body["error"]["details"][0]["field"],
        "config.discovery.numDomains"
    );
    // required fields missing → 422 with each of them
    let r = c
        .post(
            "/campaigns",
            &json!({"name": "x", "config": {"discovery": {}}}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"].as_array().unwrap().len(), 5);
    assert_eq!(
        c.get("/campaigns").await.expect(200).body["items"],
        json!([])
    );
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
async fn mode_change_with_if_match_and_412() {
    let c = Client::new_user().await;
    let id = create(&c, "step_by_step", 10).await;
    let path = format!("/campaigns/{id}/mode");
    // same mode → 200, no change
    let r = c
        .put(&path, &json!({"mode": "step_by_step"}))
        .await
        .expect(200);
    assert_eq!(r.body["version"], 1);
    // stale If-Match → 412, nothing written
    c.send(
        Method::PUT,
        &path,
        Some(&json!({"mode": "full_sequence"})),
        &[("If-Match", "\"7\"")],
    )
    .await
    .expect_error(412, "VERSION_MISMATCH");
    assert_eq!(c.get(&format!("/campaigns/{id}")).await.body["version"], 1);
    // current If-Match → applied; full_sequence queues the auto-start
    let r = c
        .send(
            Method::PUT,
            &path,
            Some(&json!({"mode": "full_sequence"})),
            &[("If-Match", "\"1\"")],
        )
        .await
        .expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["mode"], "full_sequence");
    assert!(
        matches!(
            r.body["autoStart"]["status"].as_str(),
            Some("queued" | "started")
        ),
        "{}",
        r.body
    );
    assert_eq!(r.header("etag").unwrap(), "\"2\"");
}

#[tokio::test]
async fn racing_mode_changes_lose_no_update() {
    let c = Client::new_user().await;
    let id = create(&c, "step_by_step", 10).await;
    // two writers with the same If-Match: exactly one wins, the other gets 412
    let path = format!("/campaigns/{id}/mode");
    let to_full = json!({"mode": "full_sequence"});
    let if_match = [("If-Match", "\"1\"")];
    let a = c.send(Method::PUT, &path, Some(&to_full), &if_match);
    let b = c.send(Method::PUT, &path, Some(&to_full), &if_match);
    let (a, b) = tokio::join!(a, b);
    let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert_eq!(statuses, vec![200, 412], "{} / {}", a.body, b.body);

    // without If-Match, every one of many concurrent changes is applied exactly once
    let d = create(&c, "step_by_step", 10).await;
    let dpath = format!("/campaigns/{d}/config");
    let persona_ids: Vec<String> = {
        let mut v = Vec::new();
        for i in 0..6 {
            v.push(
                c.post(
                    "/personas",
                    &json!({"name": format!("p{i}"), "kind": "http", "config": {"userAgent": "ua"}}),
                )
                .await
                .expect(201)
                .body["id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        v
    };
    let bodies: Vec<Value> = persona_ids
        .iter()
        .map(|p| json!({"personaIds": [p]}))
        .collect();
    let writes = bodies.iter().map(|b| c.put(&dpath, b));
    let results = futures_util::future::join_all(writes).await;
    let mut versions: Vec<u64> = results
        .iter()
        .map(|r| r.status.as_u16())
        .zip(results.iter())
        .map(|(s, r)| {
            assert_eq!(s, 200, "{}", r.body);
            r.body["version"].as_u64().unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(
        versions,
        (2..=7).collect::<Vec<u64>>(),
        "each write got its own version"
    );
    let last = c.get(&format!("/campaigns/{d}")).await.expect(200).body;
    assert_eq!(last["version"], 7);
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

#[tokio::test]
async fn manual_start_rules() {
    let c = Client::new_user().await;
    // unknown phase → 404; no discovery config → 422
    let draft = c
        .post("/campaigns", &json!({"name": "draft"}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.post(&format!("/campaigns/{draft}/phases/nope/start"), &json!({}))
        .await
        .expect_error(404, "NOT_FOUND");
    let r = c
        .post(
            &format!("/campaigns/{draft}/phases/discovery/start"),
            &json!({}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert_eq!(r.body["error"]["details"][0]["field"], "config.discovery");

    // a long discovery: running → 409 PHASE_ALREADY_RUNNING, and the campaign cannot be deleted
    let mut long = campaign_body("step_by_step", 200_000);
    long["config"]["discovery"]["variableLength"] = json!(4);
    let id = c.create_campaign(&long).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .post(
            &format!("/campaigns/{id}/phases/discovery/start"),
            &json!({}),
        )
        .await
        .expect(202);
    assert_eq!(phase(&r.body, "discovery")["status"], "running");
    assert_eq!(phase(&r.body, "discovery")["trigger"], "manual");
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_RUNNING");
    c.delete(&format!("/campaigns/{id}"))
        .await
        .expect_error(409, "RESOURCE_IN_USE");
    c.put(
        &format!("/campaigns/{id}/config"),
        &json!({"discovery": discovery(5)}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_RUNNING");

    // a short one: completed → 409 PHASE_ALREADY_COMPLETED
    let short = create(&c, "step_by_step", 10).await;
    c.post(
        &format!("/campaigns/{short}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&short, Duration::from_secs(10), |s| {
        phase(s, "discovery")["status"] == "completed"
    })
    .await;
    c.post(
        &format!("/campaigns/{short}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_COMPLETED");
    c.put(
        &format!("/campaigns/{short}/config"),
        &json!({"discovery": discovery(5)}),
    )
    .await
    .expect_error(409, "PHASE_ALREADY_COMPLETED");
    c.delete(&format!("/campaigns/{short}")).await.expect(204);
    c.get(&format!("/campaigns/{short}"))
        .await
        .expect_error(404, "NOT_FOUND");
    c.delete(&format!("/campaigns/{short}"))
        .await
        .expect_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn config_update_then_start() {
    let c = Client::new_user().await;
    let id = c
        .post("/campaigns", &json!({"name": "draft"}))
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = c
        .put(
            &format!("/campaigns/{id}/config"),
            &json!({"discovery": {"patternType": "suffix"}}),
        )
        .await
        .expect_error(422, "INVALID_CONFIG");
    assert!(r.body["error"]["details"].as_array().unwrap().len() >= 4);
    c.send(
        Method::PUT,
        &format!("/campaigns/{id}/config"),
        Some(&json!({"discovery": discovery(20)})),
        &[("If-Match", "\"5\"")],
    )
    .await
    .expect_error(412, "VERSION_MISMATCH");
    let r = c
        .put(
            &format!("/campaigns/{id}/config"),
            &json!({"discovery": discovery(20)}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["version"], 2);
    assert_eq!(r.body["config"]["discovery"]["numDomains"], 20);
    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    c.wait_status(&id, Duration::from_secs(10), |s| {
        phase(s, "discovery")["status"] == "completed"
    })
    .await;
    let domains = c
        .get(&format!("/campaigns/{id}/domains?limit=100"))
        .await
        .expect(200)
        .body;
    assert_eq!(domains["items"].as_array().unwrap().len(), 20);
    assert!(domains["nextCursor"].is_null());
}

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
