//! Real-time events (EVENTS.md) against the running local stack, with a real WebSocket client:
//! stream → publisher → WebSocket push, subscriptions and their ownership, the 410 clean-up, the
//! handshake's token check, the status poll as the fallback, and redelivery after a publisher
//! failure.

use std::time::{Duration, Instant};

use integration_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap_or_default())
        .collect()
}

fn position(events: &[Value], kind: &str) -> usize {
    events
        .iter()
        .position(|e| e["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", kinds(events)))
}

fn is(kind: &'static str, phase: &'static str) -> impl Fn(&Value) -> bool {
    move |e| e["type"] == kind && e["phase"] == phase
}

fn assert_versions_never_decrease(events: &[Value]) {
    for pair in events.windows(2) {
        let (a, b) = (
            pair[0]["version"].as_u64().unwrap(),
            pair[1]["version"].as_u64().unwrap(),
        );
        assert!(
            a <= b,
            "version went back from {a} to {b}: {:?}",
            kinds(events)
        );
    }
}

/// The event envelope of EVENTS.md.
fn assert_envelope(e: &Value, campaign: &Value) {
    for field in [
        "type",
        "campaignId",
        "phase",
        "status",
        "version",
        "correlationId",
        "at",
        "data",
    ] {
        assert!(e.get(field).is_some(), "{field} missing in {e}");
    }
    assert_eq!(e["campaignId"], campaign["id"]);
    assert_eq!(
        e["correlationId"], campaign["correlationId"],
        "the campaign's correlation id"
    );
    let at = e["at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z') && at.len() == 24,
        "RFC 3339 millis: {at}"
    );
    assert!(e["data"].is_object());
}

/// Waits until nothing runs or waits to run any more, then returns the status.
async fn settled(c: &Client, id: &str) -> Value {
    c.wait_status(id, WAIT, |s| {
        s["autoStart"]["status"] != "queued"
            && s["phases"]
                .as_array()
                .is_some_and(|p| p.iter().all(|p| p["status"] != "running"))
    })
    .await
}

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

#[tokio::test]
async fn other_users_never_see_the_events_nor_subscribe_to_the_campaign() {
    let alice = Client::new_user().await;
    let bob = Client::new_user().await;
    let mut a = Socket::connect(&alice).await;
    let mut b = Socket::connect(&bob).await;
    a.subscribe("*").await;
    b.subscribe("*").await;

    let campaign = alice
        .create_campaign(&campaign_body("full_sequence", 1000))
        .await;
    let id = campaign["id"].as_str().unwrap();
    let denied = b.subscribe(id).await;
    assert_eq!(denied["type"], "error");
    assert_eq!(denied["code"], "NOT_FOUND");
    assert!(denied["message"].is_string());
    let unknown = b.subscribe(&uuid::Uuid::new_v4().to_string()).await;
    assert_eq!(
        unknown["code"], "NOT_FOUND",
        "someone else's campaign looks exactly like a missing one"
    );

    a.events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    settled(&alice, id).await;
    let leaked = b.drain(Duration::from_millis(500)).await;
    assert!(leaked.is_empty(), "bob received {leaked:?}");

    // Malformed messages are answered, and the connection stays open.
    for (message, code) in [
        (json!({"action": "dance"}), "BAD_REQUEST"),
        (json!({"campaignId": "*"}), "BAD_REQUEST"),
        (
            json!({"action": "subscribe", "campaignId": "not-an-id"}),
            "BAD_REQUEST",
        ),
        (json!({"action": "subscribe"}), "BAD_REQUEST"),
        (json!(["subscribe"]), "BAD_REQUEST"),
    ] {
        let answer = b.request(&message).await;
        assert_eq!(
            (answer["type"].as_str(), answer["code"].as_str()),
            (Some("error"), Some(code)),
            "{message}"
        );
    }
    assert_eq!(
        b.request(&json!({"action": "ping"})).await,
        json!({"type": "pong"})
    );
}

#[tokio::test]
async fn an_abruptly_dropped_client_is_forgotten_on_the_next_push_and_others_still_get_events() {
    let c = Client::new_user().await;
    let topic = format!("owner#{}", c.user);
    let mut stays = Socket::connect(&c).await;
    stays.subscribe("*").await;
    let before = subscribed_connections(&topic).await;
    let mut drops = Socket::connect(&c).await;
    drops.subscribe("*").await;
    let both = subscribed_connections(&topic).await;
    assert_eq!(both.len(), 2);
    let dropped_id = both.iter().find(|id| !before.contains(id)).unwrap().clone();
    assert!(connection_stored(&dropped_id).await);

    drop(drops); // no close frame: the gateway delivers no $disconnect
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        subscribed_connections(&topic).await.len(),
        2,
        "still there until a push finds it gone"
    );

    let campaign = c.create_campaign(&campaign_body("step_by_step", 10)).await;
    let id = campaign["id"].as_str().unwrap();
    stays
        .events_until(id, WAIT, |e| e["type"] == "campaign_created")
        .await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while subscribed_connections(&topic).await.len() != 1 {
        assert!(
            Instant::now() < deadline,
            "the gone connection's subscription was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(subscribed_connections(&topic).await, before);
    assert!(
        !connection_stored(&dropped_id).await,
        "the gone connection's item was deleted"
    );

    c.post(
        &format!("/campaigns/{id}/phases/discovery/start"),
        &json!({}),
    )
    .await
    .expect(202);
    let events = stays
        .events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    assert_eq!(kinds(&events)[0], "phase_started");

    // A clean close removes the connection and its subscriptions right away ($disconnect).
    let stays_id = before[0].clone();
    stays.close().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while connection_stored(&stays_id).await || !subscribed_connections(&topic).await.is_empty() {
        assert!(Instant::now() < deadline, "$disconnect did not clean up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_handshake_needs_a_valid_token() {
    let now = chrono::Utc::now().timestamp();
    let good = json!({"sub": "mallory", "iss": "campaign-autostart-local", "aud": "campaign-autostart", "exp": now + 600});
    let mut expired = good.clone();
    expired["exp"] = json!(now - 10);
    let mut no_sub = good.clone();
    no_sub.as_object_mut().unwrap().remove("sub");
    assert_eq!(Socket::open(None).await.err(), Some(401));
    for token in [
        sign(&good, "wrong-secret"),
        sign(&expired, LOCAL_SECRET),
        sign(&no_sub, LOCAL_SECRET),
        "garbage".into(),
    ] {
        assert_eq!(Socket::open(Some(&token)).await.err(), Some(401), "{token}");
    }
    let mut ok = Socket::open(Some(&sign(&good, LOCAL_SECRET)))
        .await
        .expect("a valid token connects");
    assert_eq!(
        ok.request(&json!({"action": "ping"})).await,
        json!({"type": "pong"})
    );
}

#[tokio::test]
async fn a_publisher_failure_is_redelivered_without_losing_events() {
    let c = Client::new_user().await;
    let other = Client::new_user().await;
    let mut ws = Socket::connect(&c).await;
    let mut other_ws = Socket::connect(&other).await;
    ws.subscribe("*").await;
    other_ws.subscribe("*").await;
    let campaign = c
        .create_campaign(&campaign_body("step_by_step", 3000))
        .await;
    let id = campaign["id"].as_str().unwrap();
    ws.events_until(id, WAIT, |e| e["type"] == "campaign_created")
        .await;

    // The publisher's next invocation with a record of this campaign fails on DynamoDB.
    let rule =
        arm_fault(&json!({"function": "stream-publisher", "campaignId": id, "times": 1})).await;
    // Another user's campaign is created at the same moment, so it may share the failing batch.
    let (mode_path, full, other_body) = (
        format!("/campaigns/{id}/mode"),
        json!({"mode": "full_sequence"}),
        campaign_body("step_by_step", 10),
    );
    let (changed, other_campaign) =
        tokio::join!(c.put(&mode_path, &full), other.create_campaign(&other_body));
    changed.expect(200);
    let events = ws
        .events_until(id, WAIT, is("phase_completed", "discovery"))
        .await;
    assert!(fault_injected(rule).await > 0, "the injected fault fired");

    let k = kinds(&events);
    let mode = position(&events, "mode_changed");
    assert_eq!(k[mode + 1], "auto_start_queued", "{k:?}");
    assert!(mode < position(&events, "phase_auto_started"), "{k:?}");
    assert_eq!(events[mode]["version"], 2);
    assert_eq!(
        events[mode]["data"],
        json!({"from": "step_by_step", "to": "full_sequence"})
    );
    assert_versions_never_decrease(&events);
    for e in &events {
        assert_envelope(e, &campaign);
    }
    // Every version from the mode change to the completion arrived (progress may be throttled,
    // so only versions carrying other events are required).
    let completed = events.last().unwrap()["version"].as_u64().unwrap();
    let status = c.get(&format!("/campaigns/{id}")).await.expect(200).body;
    assert!(status["version"].as_u64().unwrap() >= completed);

    let other_id = other_campaign["id"].as_str().unwrap();
    let theirs = other_ws
        .events_until(other_id, WAIT, |e| e["type"] == "campaign_created")
        .await;
    assert_eq!(theirs.len(), 1);
}
