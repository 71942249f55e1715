//! Mode and config changes (If-Match, 412, racing writers) and the manual start's rules.

use super::*;

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
