//! The event sequence of a Full Auto and of a Manual campaign over the socket (envelope, version
//! order, correlation id), a campaign subscription's status answer, and the status poll as the
//! fallback (it agrees with what the subscriber reached, and 304s on that version).

use super::*;

#[tokio::test]
async fn full_sequence_events_arrive_in_version_order_with_the_correlation_id() {
    let c = Client::new_user().await;
    let mut ws = Socket::connect(&c).await;
    assert_eq!(
        ws.subscribe("*").await,
        json!({"type": "subscribed", "campaignId": "*"})
    );

    let created = Instant::now();
    let campaign = c
        .create_campaign(&campaign_body("full_sequence", 6000))
        .await;
    let id = campaign["id"].as_str().unwrap();
    let events = ws
        .events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    let elapsed = created.elapsed();

    let k = kinds(&events);
    assert_eq!(k[0], "campaign_created", "{k:?}");
    assert_eq!(k[1], "auto_start_queued", "{k:?}");
    let started = position(&events, "phase_auto_started");
    let progress = position(&events, "phase_progress");
    assert!(started < progress && progress < events.len() - 1, "{k:?}");
    assert!(
        !k.contains(&"phase_started"),
        "an automatic start is not a manual one: {k:?}"
    );
    assert_versions_never_decrease(&events);
    for e in &events {
        assert_envelope(e, &campaign);
    }

    let e = &events[0];
    assert_eq!(e["version"], 1);
    assert_eq!((&e["phase"], &e["status"]), (&Value::Null, &Value::Null));
    assert_eq!(
        e["data"],
        json!({"name": "Shoes Q4", "mode": "full_sequence"})
    );
    let time = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(time(&e["at"]), time(&campaign["createdAt"]));
    let e = &events[1];
    assert_eq!(
        (e["version"].as_u64(), &e["phase"], &e["status"]),
        (Some(1), &json!("discovery"), &json!("queued"))
    );
    let e = &events[started];
    assert_eq!(
        (&e["phase"], &e["status"]),
        (&json!("discovery"), &json!("running"))
    );
    assert!(
        e["data"]["latencyMs"].as_i64().is_some() && e["data"]["attempts"].as_u64().is_some(),
        "{e}"
    );
    for e in events.iter().filter(|e| e["type"] == "phase_progress") {
        let (done, total) = (
            e["data"]["done"].as_u64().unwrap(),
            e["data"]["total"].as_u64().unwrap(),
        );
        assert!(done > 0 && done < total && total == 6000, "{e}");
    }
    let e = events.last().unwrap();
    assert_eq!(e["status"], "completed");
    assert_eq!(e["data"]["total"], 6000);
    assert!(e["data"]["durationMs"].as_i64().is_some());
    eprintln!(
        "create → phase_completed over the socket: {:.0} ms, {} events",
        ms(elapsed),
        events.len()
    );

    // The poll agrees with what the subscriber reached, and 304s on that version.
    let status = settled(&c, id).await;
    let version = status["version"].as_u64().unwrap();
    let last = events.last().unwrap()["version"].as_u64().unwrap();
    let rest = if version > last {
        ws.events_until(id, Duration::from_secs(5), |e| {
            e["version"].as_u64() == Some(version)
        })
        .await
    } else {
        Vec::new()
    };
    let reached = rest.last().unwrap_or(events.last().unwrap())["version"]
        .as_u64()
        .unwrap();
    assert_eq!(
        reached, version,
        "the subscriber reaches the version the poll reports"
    );
    let r = c.get(&format!("/campaigns/{id}/status")).await.expect(200);
    assert_eq!(r.body, status);
    let etag = r.header("etag").unwrap();
    assert_eq!(etag, format!("\"{version}\""));
    c.send(
        Method::GET,
        &format!("/campaigns/{id}/status"),
        None,
        &[("if-none-match", &etag)],
    )
    .await
    .expect(304);
    ws.close().await;
}

#[tokio::test]
async fn manual_mode_starts_only_when_asked_and_a_campaign_subscription_gets_the_status() {
    let c = Client::new_user().await;
    let mut all = Socket::connect(&c).await;
    all.subscribe("*").await;
    let campaign = c
        .create_campaign(&campaign_body("step_by_step", 1500))
        .await;
    let id = campaign["id"].as_str().unwrap();
    let first = all.events_until(id, WAIT, |_| true).await;
    assert_eq!(kinds(&first), vec!["campaign_created"]);
    assert_eq!(first[0]["data"]["mode"], "step_by_step");

    // A second socket subscribes to the campaign itself: the answer is the status body.
    let mut one = Socket::connect(&c).await;
    let answer = one.subscribe(id).await;
    assert_eq!(answer["type"], "subscribed");
    assert_eq!(answer["campaignId"], id);
    let status = c
        .get(&format!("/campaigns/{id}/status"))
        .await
        .expect(200)
        .body;
    assert_eq!(
        answer["status"], status,
        "the same body as GET /campaigns/{{id}}/status"
    );

    // Nothing starts by itself.
    let quiet = all.drain(Duration::from_millis(600)).await;
    assert!(
        quiet.iter().all(|m| m["campaignId"] != id),
        "manual mode pushed {quiet:?}"
    );

    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    for socket in [&mut all, &mut one] {
        let events = socket
            .events_until(id, WAIT, is("phase_completed", "discovery"))
            .await;
        let k = kinds(&events);
        assert_eq!(k[0], "phase_started", "{k:?}");
        assert!(
            !k.contains(&"phase_auto_started") && !k.contains(&"auto_start_queued"),
            "{k:?}"
        );
        assert_eq!(events[0]["version"], 2);
        assert_eq!(events[0]["status"], "running");
        assert_versions_never_decrease(&events);
        for e in &events {
            assert_envelope(e, &campaign);
        }
    }

    // Unsubscribed: no more events on that socket (the `*` socket still gets them).
    assert_eq!(
        one.request(&json!({"action": "unsubscribe", "campaignId": id}))
            .await,
        json!({"type": "unsubscribed", "campaignId": id})
    );
    c.delete(&format!("/campaigns/{id}")).await.expect(204);
    let deleted = all
        .events_until(id, WAIT, |e| e["type"] == "campaign_deleted")
        .await;
    let e = deleted.last().unwrap();
    assert_eq!((&e["phase"], &e["data"]), (&Value::Null, &json!({})));
    assert!(
        one.drain(Duration::from_millis(400))
            .await
            .iter()
            .all(|m| m["campaignId"] != id)
    );
}
